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
//! capped backoff; a PubAck that does not come within [`ACK_TIMEOUT`] rewinds to the cursor
//! (the hub's dedupe absorbs the resend) and halves the window.
//!
//! Must not: touch sockets, the store or the clock (the caller passes records, `now`, and
//! takes the [`Frame`]s to send). Hands off to: the router, which encodes the frames on the
//! hub link and persists the cursor.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::jetstream::headers::header_value;
use crate::store::StoredMsg;

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

/// A message the forwarder wants sent to the hub (as `LMSG`/`HMSG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Subject at the hub.
    pub subject: Vec<u8>,
    /// Where the hub's answer goes (under the uplink's reply inbox).
    pub reply: Vec<u8>,
    /// Header block, if any.
    pub headers: Option<Vec<u8>>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What a reply under the forwarder's inbox answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    /// The PubAck for record `seq`.
    Ack(u64),
    /// The answer to resolve request number `gen`.
    Resolve(u64),
}

impl ReplyTo {
    /// The reply subject suffix: `a.<seq>` or `r.<gen>`.
    fn suffix(self) -> String {
        match self {
            ReplyTo::Ack(seq) => format!("a.{seq}"),
            ReplyTo::Resolve(gen) => format!("r.{gen}"),
        }
    }

    /// Parses a suffix made by [`ReplyTo::suffix`].
    pub fn parse(suffix: &[u8]) -> Option<ReplyTo> {
        let s = std::str::from_utf8(suffix).ok()?;
        let (kind, n) = s.split_once('.')?;
        let n: u64 = n.parse().ok()?;
        match kind {
            "a" => Some(ReplyTo::Ack(n)),
            "r" => Some(ReplyTo::Resolve(n)),
            _ => None,
        }
    }
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

/// Counters and state for `leafd status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForwardStatus {
    /// The local stream.
    pub stream: String,
    /// `down`, `resolving`, `sending`, `idle` or `paused`.
    pub state: String,
    /// Highest seq the hub acknowledged (all below it too).
    pub cursor: u64,
    /// The hub stream that acknowledged last.
    pub hub_stream: String,
    /// The hub's seq for the last acknowledged record.
    pub hub_seq: u64,
    /// Local records not yet acknowledged by the hub, and their bytes.
    pub pending_msgs: u64,
    /// Bytes of those.
    pub pending_bytes: u64,
    /// Age in seconds of the oldest pending record (0 when none).
    pub oldest_pending_age_secs: f64,
    /// Publishes in flight and the window.
    pub in_flight: usize,
    /// The current window.
    pub window: usize,
    /// Records acknowledged since start (duplicates included).
    pub forwarded: u64,
    /// Acks that said `duplicate` (resent records the hub already held).
    pub duplicates: u64,
    /// Records removed locally (limits, purge, disk budget) before the hub acknowledged them.
    pub lost: u64,
    /// Acknowledged records per second over the last status interval.
    pub rate: f64,
    /// Bytes in flight now.
    pub in_flight_bytes: usize,
    /// Acknowledged bytes per second while there was a backlog (smoothed; 0 until known):
    /// bytes in flight are kept to half a second of it.
    pub acked_bytes_per_sec: u64,
    /// The last hub error, if the forwarder is paused by it.
    pub last_error: Option<String>,
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

/// The id leafd gives record `seq` at the hub.
pub fn msg_id(node: &str, stream: &str, epoch: u64, seq: u64) -> String {
    format!("{node}:{stream}:{epoch}:{seq}")
}

/// The hub-side subject of a local subject.
pub fn hub_subject(prefix: Option<&str>, subject: &[u8]) -> Vec<u8> {
    match prefix {
        Some(p) => {
            let mut s = Vec::with_capacity(p.len() + 1 + subject.len());
            s.extend_from_slice(p.as_bytes());
            s.push(b'.');
            s.extend_from_slice(subject);
            s
        }
        None => subject.to_vec(),
    }
}

/// The record's headers for the hub: its own, minus the ones that would make the hub act on
/// them again (`Nats-Msg-Id`, `Nats-Expected-*`, which were checked here), plus our id.
pub fn forward_headers(original: &[u8], id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.len() + id.len() + 32);
    out.extend_from_slice(b"NATS/1.0\r\n");
    if original.starts_with(b"NATS/1.0") {
        let body = original
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(&[][..], |i| &original[i + 2..]);
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty()
                || line.starts_with(b"Nats-Msg-Id:")
                || line.starts_with(b"Nats-Expected-")
            {
                continue;
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Nats-Msg-Id: ");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out
}

#[derive(Deserialize)]
struct ApiErrorJson {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    err_code: u32,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct PubAckJson {
    #[serde(default)]
    stream: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    duplicate: bool,
    error: Option<ApiErrorJson>,
}

#[derive(Deserialize)]
struct NamesJson {
    #[serde(default)]
    streams: Option<Vec<String>>,
    error: Option<ApiErrorJson>,
}

#[derive(Deserialize)]
struct StoredJson {
    #[serde(default)]
    hdrs: Option<String>,
}

#[derive(Deserialize)]
struct MsgGetJson {
    message: Option<StoredJson>,
    error: Option<ApiErrorJson>,
}

impl ApiErrorJson {
    fn text(&self) -> String {
        format!(
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
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
            match asked {
                Some(at) if now.duration_since(at) < RESOLVE_TIMEOUT => return,
                Some(_) => log::warn!(
                    "uplink: stream {}: the hub did not answer within {RESOLVE_TIMEOUT:?}; asking again",
                    self.stream
                ),
                None => {}
            }
            self.gen += 1;
            let reply = self.reply(reply_prefix, ReplyTo::Resolve(self.gen));
            let frame = if step < 0 {
                let Some(filter) = self.hub_filters.first() else {
                    self.phase = Phase::Sending;
                    return;
                };
                Frame {
                    subject: b"$JS.API.STREAM.NAMES".to_vec(),
                    reply,
                    headers: None,
                    payload: serde_json::json!({ "subject": filter })
                        .to_string()
                        .into_bytes(),
                }
            } else {
                let filter = &self.hub_filters[step.unsigned_abs()];
                Frame {
                    subject: format!("$JS.API.STREAM.MSG.GET.{}", self.hub_stream).into_bytes(),
                    reply,
                    headers: None,
                    payload: serde_json::json!({ "last_by_subj": filter })
                        .to_string()
                        .into_bytes(),
                }
            };
            out.push(frame);
            self.phase = Phase::Resolving {
                step,
                asked: Some(now),
            };
            return;
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

    fn on_resolve(&mut self, payload: &[u8], now: Instant) {
        let Phase::Resolving { step, .. } = self.phase else {
            return;
        };
        if step < 0 {
            let names: NamesJson = match serde_json::from_slice(payload) {
                Ok(n) => n,
                Err(e) => {
                    return self.pause_for(format!("unreadable STREAM.NAMES reply: {e}"), now)
                }
            };
            if let Some(err) = names.error {
                return self.pause_for(
                    format!("STREAM.NAMES at the hub failed: {}", err.text()),
                    now,
                );
            }
            match names.streams.unwrap_or_default().into_iter().next() {
                Some(name) => {
                    self.hub_stream = name;
                    self.phase = Phase::Resolving {
                        step: 0,
                        asked: None,
                    };
                }
                None => {
                    let filter = self.hub_filters.first().cloned().unwrap_or_default();
                    self.pause_for(format!("no hub stream captures {filter:?}"), now);
                }
            }
            return;
        }
        let got: MsgGetJson = match serde_json::from_slice(payload) {
            Ok(g) => g,
            Err(e) => return self.pause_for(format!("unreadable MSG.GET reply: {e}"), now),
        };
        match (got.message, got.error) {
            (Some(m), _) => self.learn_last(m.hdrs.as_deref()),
            // 10037: no message on that filter yet.
            (None, Some(e)) if e.err_code == 10037 => {}
            (None, Some(e)) => {
                return self.pause_for(format!("MSG.GET at the hub failed: {}", e.text()), now)
            }
            (None, None) => {}
        }
        let next = step.unsigned_abs() + 1;
        if next < self.hub_filters.len() {
            self.phase = Phase::Resolving {
                step: step + 1,
                asked: None,
            };
        } else {
            self.phase = Phase::Sending;
            self.rewind();
            log::info!(
                "uplink: stream {}: forwarding to hub stream {} after seq {}",
                self.stream,
                self.hub_stream,
                self.cursor
            );
        }
    }

    /// The hub's last record on a filter: if it is one of ours (same node, stream and epoch)
    /// beyond the cursor, the hub already holds everything up to it.
    fn learn_last(&mut self, hdrs: Option<&str>) {
        let Some(block) =
            hdrs.and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
        else {
            return;
        };
        let Some(id) = header_value(&block, "Nats-Msg-Id") else {
            return;
        };
        let id = String::from_utf8_lossy(id);
        let mut parts = id.rsplitn(4, ':');
        let (Some(seq), Some(epoch), Some(stream), Some(node)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        if node != self.node || stream != self.stream || epoch != self.epoch.to_string() {
            return;
        }
        if let Ok(seq) = seq.parse::<u64>() {
            let seq = self.refused.map_or(seq, |r| seq.min(r.saturating_sub(1)));
            if seq > self.cursor {
                log::info!(
                    "uplink: stream {}: the hub already holds up to seq {seq} (its PubAck was lost); moving the cursor from {}",
                    self.stream,
                    self.cursor
                );
                self.cursor = seq;
                self.cursor_dirty = true;
            }
        }
    }

    /// State for `leafd status`.
    pub fn status(
        &mut self,
        src: Option<&dyn Records>,
        now: Instant,
        now_ns: i64,
    ) -> ForwardStatus {
        if let Some((at, n)) = self.rate_mark {
            let secs = now.duration_since(at).as_secs_f64();
            if secs >= 1.0 {
                self.rate = (self.forwarded - n) as f64 / secs;
                self.rate_mark = Some((now, self.forwarded));
            }
        } else {
            self.rate_mark = Some((now, self.forwarded));
        }
        let (pending_msgs, pending_bytes, oldest) = match src {
            Some(src) => {
                let (n, b) = src.pending_from(self.cursor + 1);
                let age = match src.next_from(self.cursor + 1) {
                    Ok(Some(rec)) => (now_ns - rec.timestamp_ns).max(0) as f64 / 1e9,
                    _ => 0.0,
                };
                (n, b, age)
            }
            None => (0, 0, 0.0),
        };
        let state = match &self.phase {
            Phase::Down => "down",
            Phase::Resolving { .. } => "resolving",
            Phase::Sending if pending_msgs == 0 => "idle",
            Phase::Sending => "sending",
            Phase::Paused { .. } => "paused",
        };
        ForwardStatus {
            stream: self.stream.clone(),
            state: state.into(),
            cursor: self.cursor,
            hub_stream: self.hub_stream.clone(),
            hub_seq: self.hub_seq,
            pending_msgs,
            pending_bytes,
            oldest_pending_age_secs: oldest,
            in_flight: self.in_flight.len(),
            window: self.window,
            forwarded: self.forwarded,
            duplicates: self.duplicates,
            lost: self.lost,
            rate: self.rate,
            in_flight_bytes: self.in_flight_bytes,
            acked_bytes_per_sec: self.ack_rate as u64,
            last_error: self.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
