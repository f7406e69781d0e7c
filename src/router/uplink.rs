//! The router's side of the leaf-node uplink: local interest announced to the hub, the
//! hub's interest, live messages both ways, and the hub link's lifecycle and keepalive.
//!
//! Owns: PROTOCOL.md §2.5-2.9 as far as routing goes. Local subscriptions are counted per
//! `(subject, queue)`: the hub hears `LS+` on 0→1, `LS-` on 1→0, and for queue groups the
//! member count as the weight on every change; after each (re)connect all of it again. A
//! local publish goes up as one `LMSG`/`HMSG` when the hub has plain interest or a queue group
//! that has no member here (local members are preferred, as nats-server prefers its own),
//! naming those groups; never for `$JS.API.` (local JetStream answers it) nor for subjects a
//! forwarded stream captures (those reach the hub only through its forwarder, or the hub
//! stream would hold them twice). A hub message is delivered to local plain subscribers and
//! to one member of each group it names. Must not: do I/O (the link task does).
//! Hands off to: [`super::forward`] for replies to the forwarders' requests.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::config::Forward;
use crate::protocol::{encode, Message, Op};
use crate::uplink::{Forwarder, HubInterest};

use super::client::Client;
use super::{ClientId, CloseReason, Flow, Router};

/// Unanswered PINGs after which the hub link counts as dead.
const HUB_PING_MAX: u32 = 2;

/// Counters for status and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UplinkStats {
    /// Live messages sent to the hub.
    pub msgs_up: u64,
    /// Their bytes (headers and payload).
    pub bytes_up: u64,
    /// Messages received from the hub.
    pub msgs_down: u64,
    /// Their bytes.
    pub bytes_down: u64,
    /// Live messages dropped because the hub link's outbox was full.
    pub dropped: u64,
    /// Links established (CONNECT answered) since start.
    pub connects: u64,
}

/// `(subject, queue)` of local interest.
type Interest = (Box<[u8]>, Option<Box<[u8]>>);

/// The uplink as the router holds it.
#[derive(Debug)]
pub(crate) struct UplinkState {
    /// This node's name at the hub (and in forwarded message ids).
    pub(super) node: String,
    /// Our loop-detection subject, `$LDS.<random>`.
    lds: Vec<u8>,
    /// Prefix of the replies the forwarders ask for: `_LFD.<random>.`.
    pub(super) inbox: Vec<u8>,
    /// Each forwarder's reply prefix: `<inbox><index>.`.
    pub(super) reply_prefixes: Vec<Vec<u8>>,
    /// The hub link, from its CONNECT until it closes.
    pub(super) link: Option<ClientId>,
    /// The hub answered our first PING: its interest burst is in.
    pub(super) ready: bool,
    pings_out: u32,
    /// Local subscriptions per `(subject, queue)`.
    local: HashMap<Interest, u32>,
    /// The hub's interest.
    pub(super) hub: HubInterest,
    hub_full_warned: bool,
    /// The last `-ERR` the hub sent on the current link.
    last_error: Option<String>,
    /// `[[uplink.forward]]` entries, and their forwarders once the stream exists.
    pub(super) forward_cfg: Vec<Forward>,
    pub(super) forwards: Vec<Option<Forwarder>>,
    pub(super) stats: UplinkStats,
    /// Set while the outbox is over its cap, so the drop is logged once per episode.
    dropping: bool,
}

/// 22 random characters of NATS's nuid alphabet.
fn random_token() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

impl Router {
    /// Turns the uplink on: `node` is this node's name at the hub, `forward` the streams to
    /// replay into it.
    pub fn enable_uplink(&mut self, node: &str, forward: Vec<Forward>) {
        let max = self.limits.max_subscriptions_total;
        let inbox = format!("_LFD.{}.", random_token());
        self.uplink = Some(UplinkState {
            node: node.to_owned(),
            lds: format!("$LDS.{}", random_token()).into_bytes(),
            reply_prefixes: (0..forward.len())
                .map(|i| format!("{inbox}{i}.").into_bytes())
                .collect(),
            inbox: inbox.into_bytes(),
            link: None,
            ready: false,
            pings_out: 0,
            local: HashMap::new(),
            hub: HubInterest::new(max),
            hub_full_warned: false,
            last_error: None,
            forwards: forward.iter().map(|_| None).collect(),
            forward_cfg: forward,
            stats: UplinkStats::default(),
            dropping: false,
        });
        // Interest that exists already (none at start, but keep it exact).
        let mut all = Vec::new();
        self.sublist.for_each(|filter, queue, _| {
            all.push((filter.to_vec(), queue.map(<[u8]>::to_vec)));
        });
        for (filter, queue) in all {
            self.local_interest(&filter, queue.as_deref(), 1);
        }
        // Forwarders (and their holds on the streams' limits) exist before any timer runs.
        self.uplink_tick();
    }

    /// A new local subscription (`delta` 1) or a removed one (-1): keeps the counts and,
    /// when the link is up, tells the hub about transitions.
    pub(super) fn local_interest(&mut self, filter: &[u8], queue: Option<&[u8]>, delta: i32) {
        let Some(up) = &mut self.uplink else { return };
        let key: Interest = (filter.into(), queue.map(Into::into));
        let count = up.local.entry(key.clone()).or_insert(0);
        let before = *count;
        *count = count.saturating_add_signed(delta);
        let after = *count;
        if after == 0 {
            up.local.remove(&key);
        }
        let Some(link) = up.link else { return };
        let Some(client) = self.clients.get_mut(link.0) else {
            return;
        };
        let out = &mut client.out.buf;
        match queue {
            None if before == 0 && after > 0 => encode::leaf_sub(out, filter, None),
            None if before > 0 && after == 0 => encode::leaf_unsub(out, filter, None),
            None => return,
            Some(q) if after == 0 => encode::leaf_unsub(out, filter, Some(q)),
            Some(q) => encode::leaf_sub(out, filter, Some((q, after))),
        }
        client.out.wake_writer();
    }

    /// Keeps the hub's INFO `server_name` (shown as the link's `name` in `/leafz` and
    /// `/connz`).
    pub fn note_hub_name(&mut self, id: ClientId, name: &str) {
        if let Some(c) = self.clients.get_mut(id.0) {
            c.opts.name = Some(name.to_owned());
        }
    }

    /// Registers the hub connection (no INFO is sent to it) and queues our CONNECT, every
    /// local interest, our loop-detection subject and the forwarders' inbox, then a PING
    /// whose PONG marks the end of the hub's interest burst.
    pub fn add_hub_link(&mut self, addr: SocketAddr, connect_json: &[u8]) -> ClientId {
        let cid = self.next_cid;
        self.next_cid += 1;
        let mut client = Client::new(cid, addr);
        client.hub = true;
        client.connected = true;
        client.opts.headers = true;
        client.opts.verbose = false;
        client.opts.pedantic = false;
        let id = ClientId(self.clients.insert(client));
        let client = &mut self.clients[id.0];
        let out = &mut client.out.buf;
        encode::connect(out, connect_json);
        if let Some(up) = &mut self.uplink {
            up.link = Some(id);
            up.ready = false;
            up.pings_out = 0;
            up.last_error = None;
            up.hub.clear();
            up.hub_full_warned = false;
            for ((filter, queue), &n) in &up.local {
                encode::leaf_sub(out, filter, queue.as_deref().map(|q| (q, n)));
            }
            encode::leaf_sub(out, &up.lds, None);
            let mut inbox = up.inbox.clone();
            inbox.push(b'>');
            encode::leaf_sub(out, &inbox, None);
        }
        encode::ping(out);
        id
    }

    /// The hub link closed: forgets the hub's interest, stops the forwarders, removes the
    /// connection. Returns why in the hub's words if it said (its last `-ERR`, else what the
    /// failed read said, e.g. a TLS alert), and whether the link was ever up (the hub
    /// answered our first PING; a hub refusing the credentials or the client certificate
    /// closes before that).
    pub fn remove_hub_link(&mut self, id: ClientId) -> (Option<String>, bool) {
        let read_error = self.clients.get_mut(id.0).and_then(|c| c.read_error.take());
        self.remove_client(id);
        let Some(up) = self.uplink.as_mut() else {
            return (None, false);
        };
        let mut was_up = false;
        if up.link == Some(id) {
            was_up = up.ready;
            up.link = None;
            up.ready = false;
            up.hub.clear();
            for f in up.forwards.iter_mut().flatten() {
                f.link_down();
            }
        }
        let said = match (up.last_error.take(), read_error) {
            (Some(e), _) => Some(format!("the hub sent -ERR '{e}'")),
            (None, Some(e)) => Some(format!("read error: {e}")),
            (None, None) => None,
        };
        (said, was_up)
    }

    /// Whether the hub link is up and its interest known.
    pub fn uplink_ready(&self) -> bool {
        self.uplink.as_ref().is_some_and(|u| u.ready)
    }

    /// Applies one op from the hub.
    pub fn hub_op(&mut self, id: ClientId, op: Op<'_>) -> Flow {
        if let Some(reason) = self.closing(id) {
            return Flow::Close(reason);
        }
        let Some(up) = &mut self.uplink else {
            return Flow::Close(CloseReason::ProtocolViolation);
        };
        match op {
            Op::LeafSub { subject, queue } => {
                // The hub's own loop-detection subject is never relayed anywhere; keeping it
                // out of the table keeps it out of every decision too.
                if subject.starts_with(b"$LDS.") {
                    return Flow::Continue;
                }
                if up.hub.add(subject, queue).is_err() && !up.hub_full_warned {
                    up.hub_full_warned = true;
                    log::warn!(
                        "uplink: the hub announced more than {} interests (limits.max_subscriptions_total); ignoring the rest, so some hub subscribers will not get local messages",
                        self.limits.max_subscriptions_total
                    );
                }
                if up.ready {
                    self.forward_kick();
                }
            }
            Op::LeafUnsub { subject, queue } => {
                up.hub.remove(subject, queue);
            }
            Op::LeafMsg { msg, queues } => return self.hub_message(id, msg, queues),
            Op::Ping => self.queue_to(id, encode::pong),
            Op::Pong => {
                up.pings_out = 0;
                if !up.ready {
                    up.ready = true;
                    up.stats.connects += 1;
                    let hub = self.clients.get(id.0).map(|c| c.addr.to_string());
                    log::info!(
                        "uplink: link up to {}; the hub announced {} interest(s)",
                        hub.as_deref().unwrap_or("?"),
                        up.hub.len()
                    );
                    for f in up.forwards.iter_mut().flatten() {
                        f.link_ready();
                    }
                    self.forward_kick();
                }
            }
            Op::Err(text) => {
                let text = String::from_utf8_lossy(text).into_owned();
                log::warn!("uplink: the hub sent -ERR '{text}'");
                up.last_error = Some(text);
                self.close(id, CloseReason::ProtocolViolation);
                return Flow::Close(CloseReason::ProtocolViolation);
            }
            Op::Info(_) | Op::Ok => {}
            Op::Connect(_) | Op::Pub(_) | Op::Sub { .. } | Op::Unsub { .. } | Op::Msg { .. } => {
                log::warn!("uplink: the hub sent an op a leaf never gets; closing the link");
                self.close(id, CloseReason::ProtocolViolation);
                return Flow::Close(CloseReason::ProtocolViolation);
            }
        }
        Flow::Continue
    }

    /// Queues a control frame on connection `id`.
    fn queue_to(&mut self, id: ClientId, frame: fn(&mut Vec<u8>)) {
        if let Some(c) = self.clients.get_mut(id.0) {
            frame(&mut c.out.buf);
            c.out.wake_writer();
        }
    }

    /// A message from the hub: an answer to a forwarder, or live traffic for local
    /// subscribers (plain ones, plus one member of each group the hub named).
    fn hub_message(&mut self, id: ClientId, msg: Message<'_>, queues: &[u8]) -> Flow {
        let Some(up) = &mut self.uplink else {
            return Flow::Continue;
        };
        up.stats.msgs_down += 1;
        up.stats.bytes_down += (msg.payload.len() + msg.headers.map_or(0, <[u8]>::len)) as u64;
        if let Some(rest) = msg.subject.strip_prefix(up.inbox.as_slice()) {
            self.forward_reply(rest, msg.headers, msg.payload);
            return Flow::Continue;
        }
        self.route_filtered(id, msg.subject, msg, Some(queues));
        Flow::Continue
    }

    /// Sends a local publish up when the hub wants it (see the module docs). Returns whether
    /// it went up (then no no-responders status may be sent for it).
    pub(super) fn uplink_publish(
        &mut self,
        from: ClientId,
        msg: &Message<'_>,
        answered: bool,
    ) -> bool {
        let Router {
            uplink,
            js,
            sublist,
            clients,
            limits,
            stall_mark,
            ..
        } = self;
        let Some(up) = uplink else { return false };
        let Some(link) = up.link else { return false };
        let s = msg.subject;
        if up.hub.is_empty() || !up.hub.has_interest(s) {
            return false;
        }
        if let Some(js) = js {
            if s.starts_with(b"$JS.API.") || (answered && s.starts_with(b"$JS.")) {
                return false;
            }
            if !up.forward_cfg.is_empty() {
                if let Some(name) = js.engine.capturing_stream(s) {
                    if up.forward_cfg.iter().any(|f| f.stream == name) {
                        return false;
                    }
                }
            }
        }
        let hub = up.hub.matches(s);
        let here = sublist.matches(s);
        let queues: Vec<&[u8]> = hub
            .groups
            .iter()
            .filter(|g| !here.groups.iter().any(|l| l.name == g.name))
            .map(|g| &*g.name)
            .collect();
        if hub.plain.is_empty() && queues.is_empty() {
            return false;
        }
        let Some(client) = clients.get_mut(link.0) else {
            return false;
        };
        if client.closing.is_some() {
            return false;
        }
        let size = msg.payload.len() + msg.headers.map_or(0, <[u8]>::len);
        if client.out.pending() > limits.max_pending {
            up.stats.dropped += 1;
            if !up.dropping {
                up.dropping = true;
                log::warn!(
                    "uplink: the hub link is not keeping up ({} bytes queued, max_pending {}); dropping live messages to it until it drains",
                    client.out.pending(),
                    limits.max_pending
                );
            }
            return true;
        }
        up.dropping = false;
        encode::leaf_msg(
            &mut client.out.buf,
            s,
            msg.reply,
            &queues,
            msg.headers,
            msg.payload,
        );
        client.out.wake_writer();
        up.stats.msgs_up += 1;
        up.stats.bytes_up += size as u64;
        if client.out.pending() > *stall_mark && from != link {
            if let Some(publisher) = clients.get_mut(from.0) {
                publisher.stall_on = Some(link);
            }
        }
        true
    }

    /// One keepalive tick of the hub link: `false` once it has gone stale (closing).
    pub fn hub_ping_tick(&mut self, id: ClientId) -> bool {
        let Some(up) = &mut self.uplink else {
            return false;
        };
        if up.pings_out >= HUB_PING_MAX {
            log::warn!(
                "uplink: {HUB_PING_MAX} PINGs to the hub went unanswered; the link is stale"
            );
            self.close(id, CloseReason::StaleConnection);
            return false;
        }
        up.pings_out += 1;
        self.queue_to(id, encode::ping);
        self.closing(id).is_none()
    }
}
