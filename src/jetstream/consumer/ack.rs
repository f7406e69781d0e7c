//! The ack wire forms: the `$JS.ACK.…` reply subject of a delivery (v1, and v2 of ADR-15 when
//! parsing) and the ack payloads (`+ACK`, `-NAK`, `+WPI`, `+NXT`, `+TERM`).
//!
//! Owns: building and reading ack subjects and classifying ack payloads. Must not: touch a
//! consumer's state (that is `state`). Hands off to: `Consumer::ack`.

use crate::jetstream::time::parse_go_duration;

use serde::Deserialize;

/// The `$JS.ACK.` prefix every ack subject starts with.
pub const ACK_PREFIX: &str = "$JS.ACK.";

/// The fields of an ack subject, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckSubject<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Consumer name.
    pub consumer: &'a str,
    /// How many times this message had been delivered (1 = first delivery).
    pub delivered: u64,
    /// Stream sequence.
    pub stream_seq: u64,
    /// Consumer sequence of this delivery.
    pub consumer_seq: u64,
    /// The message's stored time, ns since the epoch.
    pub timestamp: u64,
    /// Messages pending after this one when it was delivered.
    pub pending: u64,
}

/// Reads an ack subject: v1 `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`
/// (9 tokens) or v2 `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>…]`.
/// `None` for anything else (non-numeric fields included).
pub fn parse_ack_subject(subject: &[u8]) -> Option<AckSubject<'_>> {
    let text = std::str::from_utf8(subject).ok()?;
    let rest = text.strip_prefix(ACK_PREFIX)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let fields = match tokens.len() {
        7 => &tokens[..],
        n if n >= 9 => &tokens[2..9],
        _ => return None,
    };
    let num = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let (stream, consumer) = (*fields.first()?, *fields.get(1)?);
    if stream.is_empty() || consumer.is_empty() {
        return None;
    }
    Some(AckSubject {
        stream,
        consumer,
        delivered: num(2)?,
        stream_seq: num(3)?,
        consumer_seq: num(4)?,
        timestamp: num(5)?,
        pending: num(6)?,
    })
}

/// The v1 ack subject nats-server 2.15 sends by default.
pub fn ack_subject(stream: &str, consumer: &str, ack: &AckSubject<'_>) -> String {
    format!(
        "{ACK_PREFIX}{stream}.{consumer}.{}.{}.{}.{}.{}",
        ack.delivered, ack.stream_seq, ack.consumer_seq, ack.timestamp, ack.pending
    )
}

/// What an ack payload asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckKind<'a> {
    /// Empty, `+ACK` or `+OK`.
    Ack,
    /// `-NAK`, optionally with a delay in ns (`{"delay":n}` or a Go duration like `5s`).
    Nak(Option<u64>),
    /// `+WPI`: still working, restart the ack timer.
    Progress,
    /// `+NXT`: ack, then the rest is a pull request body delivered to the ack's reply.
    Next(&'a [u8]),
    /// `+TERM`: never redeliver.
    Term,
    /// Anything else: ignored, as nats-server does.
    Unknown,
}

#[derive(Deserialize)]
struct NakDelay {
    #[serde(default)]
    delay: i64,
}

/// Classifies an ack payload. A `-NAK` delay that does not parse is a plain NAK (nats-server
/// logs it and redelivers at once).
pub fn parse_ack_payload(payload: &[u8]) -> AckKind<'_> {
    if payload.is_empty() || payload == b"+ACK" || payload == b"+OK" {
        return AckKind::Ack;
    }
    if let Some(rest) = payload.strip_prefix(b"+NXT") {
        return AckKind::Next(rest);
    }
    if let Some(rest) = payload.strip_prefix(b"-NAK") {
        return AckKind::Nak(nak_delay(rest.trim_ascii()));
    }
    if payload == b"+WPI" {
        return AckKind::Progress;
    }
    if payload.starts_with(b"+TERM") {
        return AckKind::Term;
    }
    AckKind::Unknown
}

fn nak_delay(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return None;
    }
    let ns = if arg.first() == Some(&b'{') {
        serde_json::from_slice::<NakDelay>(arg).ok()?.delay
    } else {
        i64::try_from(parse_go_duration(std::str::from_utf8(arg).ok()?.trim())?).ok()?
    };
    // A negative or zero delay redelivers at once, like nats-server's `now - ackWait + d`.
    Some(u64::try_from(ns).unwrap_or(0))
}
