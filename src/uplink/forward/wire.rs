//! What the forwarder puts on the wire and reads back: the frames it hands the router, the
//! reply subjects it listens on, the message id and hub-side subject of a record, and the
//! hub's JSON answers (PubAcks, `STREAM.NAMES`, `STREAM.MSG.GET`).
//!
//! Owns: these formats. Must not: hold state.

use serde::Deserialize;

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
    pub(super) fn suffix(self) -> String {
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
pub(super) struct ApiErrorJson {
    #[serde(default)]
    pub(super) code: u16,
    #[serde(default)]
    pub(super) err_code: u32,
    #[serde(default)]
    pub(super) description: String,
}

#[derive(Deserialize)]
pub(super) struct PubAckJson {
    #[serde(default)]
    pub(super) stream: String,
    #[serde(default)]
    pub(super) seq: u64,
    #[serde(default)]
    pub(super) duplicate: bool,
    pub(super) error: Option<ApiErrorJson>,
}

#[derive(Deserialize)]
pub(super) struct NamesJson {
    #[serde(default)]
    pub(super) streams: Option<Vec<String>>,
    pub(super) error: Option<ApiErrorJson>,
}

#[derive(Deserialize)]
pub(super) struct StoredJson {
    #[serde(default)]
    pub(super) hdrs: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct MsgGetJson {
    pub(super) message: Option<StoredJson>,
    pub(super) error: Option<ApiErrorJson>,
}

impl ApiErrorJson {
    pub(super) fn text(&self) -> String {
        format!(
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
}
