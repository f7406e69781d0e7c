//! Unit tests of the forwarding state machine in `uplink/forward.rs`, by concept: sending
//! (`window`), the wire format (`wire`), what goes wrong (`faults`), asking the hub what it
//! holds (`resolve`) and records lost before forwarding (`lost`). This file holds the shared
//! fixtures: an in-memory local stream, a forwarder, and the hub's answers.

mod faults;
mod lost;
mod resolve;
mod window;
mod wire;

use super::*;
use crate::store::StoredMsg;
use base64::Engine as _;

use crate::jetstream::headers::header_value;

const NODE: &str = "edge1";
const STREAM: &str = "SENSORS";
const EPOCH: u64 = 42;
const PREFIX: &str = "edge1";
const INBOX: &[u8] = b"_INBOX.up.fwd.";
const NOW_NS: i64 = 1_000_000_000_000;

/// The local stream in memory: live records in seq order, and a durable limit that plays
/// `last_seq` (records above it exist but are not yet durable, so must not be sent).
struct Mem {
    msgs: Vec<StoredMsg>,
    durable: u64,
}

impl Mem {
    /// Records `1..=n` on `sensors.t`, all durable.
    fn with(n: u64) -> Mem {
        let mut m = Mem {
            msgs: Vec::new(),
            durable: 0,
        };
        for seq in 1..=n {
            m.push(seq, b"sensors.t", b"");
        }
        m.durable = n;
        m
    }

    fn push(&mut self, seq: u64, subject: &[u8], headers: &[u8]) {
        self.msgs.push(StoredMsg {
            seq,
            timestamp_ns: NOW_NS,
            subject: subject.to_vec(),
            headers: headers.to_vec(),
            payload: format!("m{seq}").into_bytes(),
        });
    }

    /// Removes every record with `seq <= through` (limits, purge).
    fn remove_through(&mut self, through: u64) {
        self.msgs.retain(|m| m.seq > through);
    }
}

impl Records for Mem {
    fn next_from(&self, from: u64) -> Result<Option<StoredMsg>, String> {
        Ok(self.msgs.iter().find(|m| m.seq >= from).cloned())
    }

    fn first_seq(&self) -> u64 {
        self.msgs.first().map_or(self.last_seq() + 1, |m| m.seq)
    }

    fn last_seq(&self) -> u64 {
        self.durable
    }

    fn pending_from(&self, from: u64) -> (u64, u64) {
        self.msgs
            .iter()
            .filter(|m| m.seq >= from && m.seq <= self.durable)
            .fold((0, 0), |(n, b), m| (n + 1, b + m.payload.len() as u64))
    }
}

fn forwarder(cursor: u64) -> Forwarder {
    Forwarder::new(
        NODE,
        STREAM,
        Some(PREFIX),
        EPOCH,
        &["sensors.>".to_owned()],
        cursor,
    )
}

/// A PubAck from the hub stream `HUB`.
fn ack_json(seq: u64, duplicate: bool) -> Vec<u8> {
    if duplicate {
        format!(r#"{{"stream":"HUB","seq":{seq},"duplicate":true}}"#).into_bytes()
    } else {
        format!(r#"{{"stream":"HUB","seq":{seq}}}"#).into_bytes()
    }
}

/// An API error answer.
fn error_json(code: u16, err_code: u32, description: &str) -> Vec<u8> {
    format!(r#"{{"error":{{"code":{code},"err_code":{err_code},"description":"{description}"}}}}"#)
        .into_bytes()
}

/// A `STREAM.MSG.GET` answer whose message carries `Nats-Msg-Id: id`.
fn msg_get_json(id: &str) -> Vec<u8> {
    let block = format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n");
    let hdrs = base64::engine::general_purpose::STANDARD.encode(block);
    format!(
        r#"{{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{{"subject":"edge1.sensors.t","seq":99,"hdrs":"{hdrs}","data":"","time":"2024-01-01T00:00:00Z"}}}}"#
    )
    .into_bytes()
}

fn pump(fw: &mut Forwarder, src: &Mem, now: Instant) -> Vec<Frame> {
    let mut out = Vec::new();
    fw.pump(src, now, usize::MAX, &mut |_| true, INBOX, &mut out);
    out
}

/// What a frame's reply subject answers (the part after the inbox prefix).
fn reply_to(frame: &Frame) -> ReplyTo {
    let suffix = frame
        .reply
        .strip_prefix(INBOX)
        .unwrap_or_else(|| panic!("reply {:?} not under the inbox", frame.reply));
    ReplyTo::parse(suffix).unwrap_or_else(|| panic!("unparsable reply {:?}", frame.reply))
}

fn resolve_gen(frame: &Frame) -> u64 {
    match reply_to(frame) {
        ReplyTo::Resolve(gen) => gen,
        other => panic!("expected a resolve reply, got {other:?}"),
    }
}

/// The seq a publish frame carries, checked against its reply subject.
fn frame_seq(frame: &Frame) -> u64 {
    match reply_to(frame) {
        ReplyTo::Ack(seq) => seq,
        other => panic!("expected an ack reply, got {other:?}"),
    }
}

fn seqs(frames: &[Frame]) -> Vec<u64> {
    frames.iter().map(frame_seq).collect()
}

/// Answers the resolve requests the next two pumps make: the names request with `HUB`, the
/// last-by-subject request with `last` (`None`: no message on the filter yet).
fn resolve(fw: &mut Forwarder, src: &Mem, now: Instant, last: Option<&str>) {
    let out = pump(fw, src, now);
    assert_eq!(out.len(), 1, "one names request: {out:?}");
    assert_eq!(out[0].subject, b"$JS.API.STREAM.NAMES");
    assert_eq!(out[0].headers, None);
    let body: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(body["subject"], "edge1.sensors.>");
    let gen = resolve_gen(&out[0]);
    fw.on_reply(ReplyTo::Resolve(gen), None, br#"{"streams":["HUB"]}"#, now);

    let out = pump(fw, src, now);
    assert_eq!(out.len(), 1, "one last-message request: {out:?}");
    assert_eq!(out[0].subject, b"$JS.API.STREAM.MSG.GET.HUB");
    let body: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(body["last_by_subj"], "edge1.sensors.>");
    let gen = resolve_gen(&out[0]);
    let answer = match last {
        Some(id) => msg_get_json(id),
        None => error_json(404, 10037, "no message found"),
    };
    fw.on_reply(ReplyTo::Resolve(gen), None, &answer, now);
}

/// A forwarder over `src` with the link up and resolved (hub holds nothing of ours).
fn ready(src: &Mem, cursor: u64, now: Instant) -> Forwarder {
    let mut fw = forwarder(cursor);
    fw.link_ready();
    resolve(&mut fw, src, now, None);
    fw
}

fn ack(fw: &mut Forwarder, seq: u64, now: Instant) {
    fw.on_reply(ReplyTo::Ack(seq), None, &ack_json(100 + seq, false), now);
}

fn status(fw: &mut Forwarder, src: &Mem, now: Instant) -> ForwardStatus {
    fw.status(Some(src), now, NOW_NS)
}
