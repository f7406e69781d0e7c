//! Store-and-forward for one `[[uplink.forward]]` stream: which records go to the hub next,
//! the window of publishes in flight, and the cursor (the highest sequence the hub has
//! acknowledged, every record below it acknowledged too).
//!
//! Owns: the forwarding state machine (DESIGN.md §5). After each link comes up it first asks
//! the hub what it already holds from this node (`STREAM.NAMES` for the hub stream, then
//! `STREAM.MSG.GET last_by_subj` on each hub-side filter, reading our own `Nats-Msg-Id` back),
//! so a record whose PubAck was lost with the link is not sent again even when the outage
//! outlasted the hub stream's duplicate window. Then it sends records after the cursor as
//! JetStream publishes with `Nats-Msg-Id: <node>:<stream>:<epoch>:<seq>` and advances the
//! cursor in order as PubAcks arrive (a duplicate ack counts). Hub errors pause it with a
//! capped backoff; a PubAck that does not come within [`ACK_TIMEOUT`] halves the window and
//! asks the hub again what it holds before resending.
//!
//! | file | holds |
//! |---|---|
//! | `forward.rs` | the [`Forwarder`]: phases, window and byte budget, sending, PubAcks |
//! | `resolve` | asking the hub what it holds from this node |
//! | [`status`] | [`ForwardStatus`] |
//! | `wire` | frames, reply subjects, message ids, hub-side subjects, the hub's JSON |
//!
//! Must not: touch sockets, the store or the clock (the caller passes records, `now`, and
//! takes the [`Frame`]s to send). Hands off to: the router, which encodes the frames on the
//! hub link and persists the cursor.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::store::StoredMsg;

mod resolve;
pub mod status;
mod wire;

pub use status::ForwardStatus;
use wire::PubAckJson;
pub use wire::{forward_headers, hub_subject, msg_id, Frame, ReplyTo};

/// A PubAck later than this rewinds the window to the cursor.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// A resolve request (names, last message) answered later than this is asked again.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Publishes in flight: the window starts here, grows by one per ack up to
/// [`MAX_WINDOW`], and halves on a timeout down to [`MIN_WINDOW`].
const START_WINDOW: usize = 256;
const MIN_WINDOW: usize = 4;
const MAX_WINDOW: usize = 1024;
/// First and longest pause after a hub error.
const MIN_PAUSE: Duration = Duration::from_millis(500);
/// Bytes in flight are kept to what the hub acknowledges in this long, so a PING or an
/// interest update queued behind the replay (in our outbox and the sockets' buffers) waits
/// about this long however slow the link: keepalives on either side never time out.
const QUEUE_TIME: f64 = 0.5;
/// The bytes-in-flight budget before the acknowledged rate is known, and its bounds.
const START_BYTES: usize = 16 * 1024;
const MIN_BYTES: usize = 4 * 1024;
const MAX_BYTES: usize = 8 << 20;
/// The acknowledged rate is sampled over at least this long.
const RATE_SAMPLE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The records of the local stream, as the forwarder reads them.
pub trait Records {
    /// The first live record with `seq >= from`.
    ///
    /// # Errors
    /// The store could not read it (the text says why).
    fn next_from(&self, from: u64) -> Result<Option<StoredMsg>, String>;
    /// The lowest live seq (`last_seq() + 1` when empty).
    fn first_seq(&self) -> u64;
    /// The highest seq ever assigned.
    fn last_seq(&self) -> u64;
    /// Live records with `seq >= from` and their bytes (for status).
    fn pending_from(&self, from: u64) -> (u64, u64);
}

/// Where the forwarder is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No link to the hub.
    Down,
    /// Finding the hub stream (`filter` index -1 = the names request) and what it holds.
    Resolving {
        /// -1: looking for the stream's name; else the hub filter being asked about.
        step: isize,
        /// When the request went out (`None`: not sent yet).
        asked: Option<Instant>,
    },
    /// Sending records.
    Sending,
    /// Waiting after a hub error until `until`.
    Paused { until: Instant },
}

/// One publish in flight.
#[derive(Debug, Clone, Copy)]
struct Flight {
    seq: u64,
    acked: bool,
    sent: Instant,
    /// Wire bytes of the publish.
    bytes: usize,
}

/// One forwarded stream.
#[derive(Debug)]
pub struct Forwarder {
    node: String,
    stream: String,
    prefix: Option<String>,
    /// The local stream's identity (its creation time): part of every message id, so a
    /// stream deleted and created again never collides with its earlier records at the hub.
    epoch: u64,
    /// Hub-side subject filters (the stream's subjects under the prefix).
    hub_filters: Vec<String>,
    cursor: u64,
    cursor_dirty: bool,
    next: u64,
    in_flight: VecDeque<Flight>,
    window: usize,
    phase: Phase,
    /// Numbers resolve requests, so a late answer to an earlier one is ignored.
    gen: u64,
    pause: Duration,
    last_error: Option<String>,
    hub_stream: String,
    hub_seq: u64,
    forwarded: u64,
    duplicates: u64,
    lost: u64,
    rate_mark: Option<(Instant, u64)>,
    rate: f64,
    /// The lowest seq the hub refused since the last one it took: the resolve step never
    /// moves the cursor past it (a record after it that the hub holds is resent rather
    /// than the refused one skipped).
    refused: Option<u64>,
    in_flight_bytes: usize,
    /// Smoothed acknowledged bytes/s while backlogged (0: not measured yet).
    ack_rate: f64,
    /// The current rate sample: since when, and bytes acknowledged since.
    sample: Option<(Instant, usize)>,
    /// The last pump stopped at the window or the byte budget, not for lack of records.
    backlogged: bool,
}

impl Forwarder {
    /// A forwarder for `stream` of node `node`, resuming after `cursor`.
    pub fn new(
        node: &str,
        stream: &str,
        prefix: Option<&str>,
        epoch: u64,
        subjects: &[String],
        cursor: u64,
    ) -> Forwarder {
        Forwarder {
            node: node.to_owned(),
            stream: stream.to_owned(),
            prefix: prefix.map(str::to_owned),
            epoch,
            hub_filters: subjects
                .iter()
                .map(|s| String::from_utf8_lossy(&hub_subject(prefix, s.as_bytes())).into_owned())
                .collect(),
            cursor,
            cursor_dirty: false,
            next: cursor + 1,
            in_flight: VecDeque::new(),
            window: START_WINDOW,
            phase: Phase::Down,
            gen: 0,
            pause: MIN_PAUSE,
            last_error: None,
            hub_stream: String::new(),
            hub_seq: 0,
            forwarded: 0,
            duplicates: 0,
            lost: 0,
            rate_mark: None,
            rate: 0.0,
            refused: None,
            in_flight_bytes: 0,
            ack_rate: 0.0,
            sample: None,
            backlogged: false,
        }
    }

    /// The local stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The highest seq the hub acknowledged (every record below it too).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The local stream's epoch (its identity in message ids and cursor keys).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The cursor, if it moved since the last call (for the caller to persist).
    pub fn take_dirty_cursor(&mut self) -> Option<u64> {
        std::mem::take(&mut self.cursor_dirty).then_some(self.cursor)
    }

    /// The link went down: nothing is in flight any more.
    pub fn link_down(&mut self) {
        self.phase = Phase::Down;
        self.rewind();
    }

    /// The link is up and the hub's interest is known: find out what the hub holds.
    pub fn link_ready(&mut self) {
        self.rewind();
        self.start_resolving();
    }

    fn start_resolving(&mut self) {
        self.phase = Phase::Resolving {
            step: -1,
            asked: None,
        };
    }

    fn rewind(&mut self) {
        self.in_flight.clear();
        self.in_flight_bytes = 0;
        self.sample = None;
        self.next = self.cursor + 1;
    }

    /// Bytes that may be in flight: half a second of the acknowledged rate.
    fn byte_budget(&self) -> usize {
        if self.ack_rate <= 0.0 {
            return START_BYTES;
        }
        ((self.ack_rate * QUEUE_TIME) as usize).clamp(MIN_BYTES, MAX_BYTES)
    }

    /// Room for more publishes (an eighth of the window and of the byte budget, so refills
    /// come in batches).
    fn has_room(&self, batch: bool) -> bool {
        let (w, b) = if batch {
            (self.window / 8, self.byte_budget() / 8)
        } else {
            (1, 1)
        };
        self.in_flight.len() + w <= self.window && self.in_flight_bytes + b <= self.byte_budget()
    }

    /// Whether [`Forwarder::pump`] may have something to do: records waiting to be sent with
    /// room in the window, or a request not asked yet. Cheap, for the publish path.
    pub fn wants_pump(&self, last_seq: u64) -> bool {
        match &self.phase {
            // Refill in batches of an eighth of the window: fewer, larger writes on the link
            // cost the hub less per message than one publish per PubAck.
            Phase::Sending => self.has_room(true) && last_seq >= self.next,
            Phase::Resolving { asked, .. } => asked.is_none(),
            Phase::Down | Phase::Paused { .. } => false,
        }
    }

    /// Moves the forwarder on: asks the hub what it needs to, or sends records while the
    /// window and `room` (bytes the hub link may take now) allow. `hub_wants` says whether the
    /// hub has interest in a subject (no interest: no hub stream captures it, so sending
    /// would be lost). Frames to send are pushed to `out`.
    pub fn pump(
        &mut self,
        src: &dyn Records,
        now: Instant,
        mut room: usize,
        hub_wants: &mut dyn FnMut(&[u8]) -> bool,
        reply_prefix: &[u8],
        out: &mut Vec<Frame>,
    ) {
        if let Phase::Paused { until } = self.phase {
            if now < until {
                return;
            }
            self.start_resolving();
        }
        if let Some(front) = self
            .in_flight
            .front()
            .filter(|_| self.phase == Phase::Sending)
        {
            if now.duration_since(front.sent) >= ACK_TIMEOUT {
                // Resending blindly would duplicate whatever the hub stored if its duplicate
                // window is shorter than the wait: ask what it holds first.
                log::warn!(
                    "uplink: stream {}: no PubAck for seq {} within {ACK_TIMEOUT:?}; asking the hub what it holds, then resending with a smaller window",
                    self.stream,
                    front.seq
                );
                self.window = (self.window / 2).max(MIN_WINDOW);
                self.rewind();
                self.start_resolving();
            }
        }
        if let Phase::Resolving { step, asked } = self.phase.clone() {
            return self.ask_hub(step, asked, now, reply_prefix, out);
        }
        if self.phase != Phase::Sending {
            return;
        }
        self.skip_lost(src);
        self.backlogged = false;
        while self.next <= src.last_seq() {
            if !self.has_room(false) || room == 0 {
                self.backlogged = true;
                break;
            }
            let rec = match src.next_from(self.next) {
                Ok(Some(rec)) if rec.seq <= src.last_seq() => rec,
                Ok(_) => break,
                Err(e) => {
                    self.pause_for(format!("reading the local stream failed: {e}"), now);
                    return;
                }
            };
            let subject = hub_subject(self.prefix.as_deref(), &rec.subject);
            if !hub_wants(&subject) {
                let subject = String::from_utf8_lossy(&subject).into_owned();
                self.pause_for(
                    format!("the hub has no interest in {subject:?}: no hub stream captures it"),
                    now,
                );
                return;
            }
            let id = msg_id(&self.node, &self.stream, self.epoch, rec.seq);
            let headers = forward_headers(&rec.headers, &id);
            let reply = self.reply(reply_prefix, ReplyTo::Ack(rec.seq));
            let bytes = subject.len() + reply.len() + headers.len() + rec.payload.len() + 24;
            room = room.saturating_sub(bytes);
            out.push(Frame {
                reply,
                subject,
                headers: Some(headers),
                payload: rec.payload,
            });
            self.in_flight.push_back(Flight {
                seq: rec.seq,
                acked: false,
                sent: now,
                bytes,
            });
            self.in_flight_bytes += bytes;
            self.next = rec.seq + 1;
        }
    }

    /// Records removed locally before the hub acknowledged them: counted, logged, skipped.
    fn skip_lost(&mut self, src: &dyn Records) {
        let first = src.first_seq();
        if first > self.cursor + 1 && self.in_flight.is_empty() {
            let (from, to) = (self.cursor + 1, first - 1);
            log::warn!(
                "uplink: stream {}: records {from}..={to} were removed locally (limits, purge or disk budget) before the hub acknowledged them; {} record(s) not forwarded",
                self.stream,
                to - from + 1
            );
            self.lost += to - from + 1;
            self.cursor = to;
            self.cursor_dirty = true;
            self.next = self.next.max(first);
        }
    }

    fn reply(&self, prefix: &[u8], to: ReplyTo) -> Vec<u8> {
        let mut r = prefix.to_vec();
        r.extend_from_slice(to.suffix().as_bytes());
        r
    }

    fn pause_for(&mut self, reason: String, now: Instant) {
        if self.last_error.as_deref() != Some(reason.as_str()) {
            log::warn!(
                "uplink: stream {}: {reason}; retrying in {:?} (backing off up to {MAX_PAUSE:?})",
                self.stream,
                self.pause
            );
            self.last_error = Some(reason);
        }
        self.phase = Phase::Paused {
            until: now + self.pause,
        };
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        self.rewind();
    }

    fn clear_error(&mut self) {
        if let Some(e) = self.last_error.take() {
            log::info!(
                "uplink: stream {}: forwarding again (was: {e})",
                self.stream
            );
        }
        self.pause = MIN_PAUSE;
    }

    /// An answer from the hub to one of our requests.
    pub fn on_reply(&mut self, to: ReplyTo, headers: Option<&[u8]>, payload: &[u8], now: Instant) {
        match to {
            ReplyTo::Ack(seq) => self.on_ack(seq, headers, payload, now),
            ReplyTo::Resolve(gen) if gen == self.gen => self.on_resolve(payload, now),
            ReplyTo::Resolve(_) => {}
        }
    }

    fn on_ack(&mut self, seq: u64, headers: Option<&[u8]>, payload: &[u8], now: Instant) {
        if headers.is_some_and(|h| h.starts_with(b"NATS/1.0 503")) {
            self.pause_for(
                "the hub has no responders for the stream subject".into(),
                now,
            );
            return;
        }
        let ack: PubAckJson = match serde_json::from_slice(payload) {
            Ok(a) => a,
            Err(e) => {
                self.pause_for(format!("unreadable PubAck from the hub: {e}"), now);
                return;
            }
        };
        if let Some(err) = ack.error {
            self.refused = Some(self.refused.map_or(seq, |r| r.min(seq)));
            self.pause_for(format!("the hub refused seq {seq}: {}", err.text()), now);
            return;
        }
        let Ok(i) = self.in_flight.binary_search_by_key(&seq, |f| f.seq) else {
            return; // an ack for a publish already given up on; the resend gets its own
        };
        self.in_flight[i].acked = true;
        let bytes = self.in_flight[i].bytes;
        self.in_flight_bytes = self.in_flight_bytes.saturating_sub(bytes);
        self.note_acked(bytes, now);
        self.refused = None;
        self.forwarded += 1;
        self.duplicates += u64::from(ack.duplicate);
        self.hub_stream = ack.stream;
        self.hub_seq = ack.seq;
        while self.in_flight.front().is_some_and(|f| f.acked) {
            if let Some(f) = self.in_flight.pop_front() {
                self.cursor = f.seq;
                self.cursor_dirty = true;
            }
        }
        self.window = (self.window + 1).min(MAX_WINDOW);
        self.clear_error();
    }

    /// Samples the acknowledged byte rate, only while backlogged (an idle forwarder says
    /// nothing about the link's speed).
    fn note_acked(&mut self, bytes: usize, now: Instant) {
        if !self.backlogged {
            self.sample = None;
            return;
        }
        let (since, acked) = self.sample.get_or_insert((now, 0));
        *acked += bytes;
        let secs = now.duration_since(*since);
        if secs >= RATE_SAMPLE {
            let rate = *acked as f64 / secs.as_secs_f64();
            self.ack_rate = if self.ack_rate <= 0.0 {
                rate
            } else {
                0.7 * self.ack_rate + 0.3 * rate
            };
            self.sample = Some((now, 0));
        }
    }
}

#[cfg(test)]
mod tests;
