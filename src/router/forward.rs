//! The router's side of store-and-forward: runs each [`Forwarder`] against its local stream
//! and the hub link, routes the hub's answers back to it, persists cursors, and answers the
//! uplink status request.
//!
//! Owns: the glue between the forwarders (pure state machines), the JetStream engine (the
//! records, the cursors) and the hub link's outbox. Forwarders read only records already
//! durable: a record sent before its fsync could be lost locally by a crash, and its seq then
//! reused for another record that the hub would drop as a duplicate.
//! Must not: do I/O. Hands off to: the hub link's outbox, the engine's metadata store.

use std::time::Instant;

use serde::Serialize;

use crate::jetstream::engine::forward::pending_from;
use crate::jetstream::source::MessageSource;
use crate::jetstream::stream::Stream;
use crate::protocol::{encode, Message};
use crate::store::StoredMsg;
use crate::uplink::{ForwardStatus, Forwarder, Records, ReplyTo};

use super::uplink::UplinkStats;
use super::Router;

/// The subject a local client asks for the uplink's status on (`leafd status` uses it).
pub const STATUS_SUBJECT: &[u8] = b"$SYS.REQ.LEAFD.UPLINK";

/// Forwarders add to the hub link's outbox only while it holds less than this, so PINGs,
/// PONGs and interest updates queued behind bulk data wait for little of it.
const FORWARD_ROOM: usize = 64 * 1024;

/// A stream as a forwarder reads it: durable records only.
struct StreamRecords<'a>(&'a Stream);

impl Records for StreamRecords<'_> {
    fn next_from(&self, from: u64) -> Result<Option<StoredMsg>, String> {
        self.0
            .next_matching(from, &[])
            .map_err(|e| e.description.to_string())
    }

    fn first_seq(&self) -> u64 {
        MessageSource::first_seq(self.0)
    }

    fn last_seq(&self) -> u64 {
        self.0.durable_seq().min(MessageSource::last_seq(self.0))
    }

    fn pending_from(&self, from: u64) -> (u64, u64) {
        pending_from(self.0, from)
    }
}

/// What the status request answers.
#[derive(Debug, Clone, Serialize)]
pub struct UplinkStatus {
    /// This node's name at the hub.
    pub node: String,
    /// The hub link is up and its interest known.
    pub connected: bool,
    /// The hub's address while connected.
    pub hub: Option<String>,
    /// Interest entries the hub announced.
    pub hub_interest: usize,
    /// Live traffic counters.
    pub live: UplinkStats,
    /// One entry per `[[uplink.forward]]`.
    pub forwards: Vec<ForwardStatus>,
}

impl Router {
    /// Lets forwarders that have work send it (after new records became durable, an ack, new
    /// hub interest).
    pub(super) fn forward_kick(&mut self) {
        self.forward_pump(true);
    }

    fn forward_pump(&mut self, only_if_wanted: bool) {
        let Router {
            uplink,
            js,
            clients,
            ..
        } = self;
        let (Some(up), Some(js)) = (uplink, js) else {
            return;
        };
        if !up.ready {
            return;
        }
        let Some(client) = up.link.and_then(|l| clients.get_mut(l.0)) else {
            return;
        };
        if client.closing.is_some() {
            return;
        }
        let now = Instant::now();
        let mut frames = Vec::new();
        let hub = &mut up.hub;
        for (slot, prefix) in up.forwards.iter_mut().zip(&up.reply_prefixes) {
            let Some(f) = slot else { continue };
            let Some(stream) = js.engine.stream(f.stream()) else {
                continue;
            };
            let src = StreamRecords(stream);
            if only_if_wanted && !f.wants_pump(src.last_seq()) {
                continue;
            }
            let room = FORWARD_ROOM.saturating_sub(client.out.pending());
            f.pump(
                &src,
                now,
                room,
                &mut |s| hub.has_interest(s),
                prefix,
                &mut frames,
            );
            for fr in frames.drain(..) {
                encode::leaf_msg(
                    &mut client.out.buf,
                    &fr.subject,
                    Some(&fr.reply),
                    &[],
                    fr.headers.as_deref(),
                    &fr.payload,
                );
            }
        }
        client.out.wake_writer();
    }

    /// A hub message under the forwarders' inbox: `<index>.a.<seq>` or `<index>.r.<gen>`.
    pub(super) fn forward_reply(&mut self, rest: &[u8], headers: Option<&[u8]>, payload: &[u8]) {
        let Some(up) = &mut self.uplink else { return };
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return;
        };
        let index = std::str::from_utf8(&rest[..dot])
            .ok()
            .and_then(|s| s.parse::<usize>().ok());
        let (Some(index), Some(to)) = (index, ReplyTo::parse(&rest[dot + 1..])) else {
            return;
        };
        if let Some(Some(f)) = up.forwards.get_mut(index) {
            f.on_reply(to, headers, payload, Instant::now());
        }
        self.forward_kick();
    }

    /// The uplink's periodic work (the server's uplink tick task calls it every 100 ms,
    /// linked or not): starts
    /// forwarders for forwarded streams that now exist (or were created again), resends what
    /// timed out, resumes after pauses, and persists moved cursors.
    pub fn uplink_tick(&mut self) {
        let Router { uplink, js, .. } = self;
        let (Some(up), Some(js)) = (uplink, js) else {
            return;
        };
        for (cfg, slot) in up.forward_cfg.iter().zip(up.forwards.iter_mut()) {
            let identity = js.engine.stream_identity(&cfg.stream);
            match (&slot, identity) {
                (Some(f), Some((epoch, _))) if f.epoch() == epoch => {}
                (_, Some((epoch, subjects))) => {
                    let cursor = js.engine.forward_cursor(&cfg.stream, epoch);
                    log::info!(
                        "uplink: forwarding stream {} (epoch {epoch}) after seq {cursor}{}",
                        cfg.stream,
                        cfg.subject_prefix
                            .as_deref()
                            .map(|p| format!(" under subject prefix {p:?}"))
                            .unwrap_or_default()
                    );
                    let mut f = Forwarder::new(
                        &up.node,
                        &cfg.stream,
                        cfg.subject_prefix.as_deref(),
                        epoch,
                        &subjects,
                        cursor,
                    );
                    if up.ready {
                        f.link_ready();
                    }
                    *slot = Some(f);
                }
                (Some(_), None) => {
                    log::warn!(
                        "uplink: forwarded stream {} no longer exists; forwarding stops until it is created again",
                        cfg.stream
                    );
                    *slot = None;
                }
                (None, None) => {}
            }
        }
        self.forward_pump(false);
        let Router { uplink, js, .. } = self;
        let (Some(up), Some(js)) = (uplink, js) else {
            return;
        };
        for f in up.forwards.iter_mut().flatten() {
            if let Some(cursor) = f.take_dirty_cursor() {
                js.engine.save_forward_cursor(f.stream(), f.epoch(), cursor);
            }
            js.engine.set_forward_hold(f.stream(), Some(f.cursor()));
        }
        self.js_flush();
    }

    /// The uplink's state for `leafd status` and the status request.
    pub fn uplink_status(&mut self) -> Option<UplinkStatus> {
        let Router {
            uplink,
            js,
            clients,
            ..
        } = self;
        let up = uplink.as_mut()?;
        let now = Instant::now();
        let now_ns = crate::jetstream::engine::now().0 as i64;
        let mut forwards = Vec::new();
        for (cfg, slot) in up.forward_cfg.iter().zip(up.forwards.iter_mut()) {
            let stream = js.as_ref().and_then(|j| j.engine.stream(&cfg.stream));
            match slot {
                Some(f) => {
                    let src = stream.map(StreamRecords);
                    forwards.push(f.status(src.as_ref().map(|s| s as &dyn Records), now, now_ns));
                }
                None => forwards.push(ForwardStatus {
                    stream: cfg.stream.clone(),
                    state: "no such stream".into(),
                    ..ForwardStatus::default()
                }),
            }
        }
        Some(UplinkStatus {
            node: up.node.clone(),
            connected: up.ready,
            hub: up
                .link
                .and_then(|l| clients.get(l.0))
                .map(|c| c.addr.to_string()),
            hub_interest: up.hub.len(),
            live: up.stats,
            forwards,
        })
    }

    /// Answers a status request from a local client; `true` when `msg` was one.
    pub(super) fn status_request(&mut self, msg: &Message<'_>) -> bool {
        if msg.subject != STATUS_SUBJECT {
            return false;
        }
        let Some(reply) = msg.reply else { return true };
        let body = match self.uplink_status() {
            Some(s) => serde_json::to_vec(&s).unwrap_or_default(),
            None => br#"{"error":"no uplink is configured"}"#.to_vec(),
        };
        self.reply_internal(reply, &body);
        true
    }
}
