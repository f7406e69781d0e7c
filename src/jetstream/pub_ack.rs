//! Publish acks: the JSON a stream sends to a publish's reply subject. No `type` field.
//!
//! Owns: the byte-exact ack text nats-server builds by hand (`"duplicate": true` with its
//! space, `domain` before `seq`) and the error ack shape. Must not: decide whether a message
//! is stored. Hands off to: the stream (later), which sends it to the reply subject.

use serde::Serialize;

use super::error::ApiError;

/// A publish ack, exactly as nats-server writes it by hand: `{"stream":"S","seq":1}`, with a
/// JetStream domain `{"stream":"S","domain":"d","seq":1}`, a duplicate ending in
/// `,"duplicate": true}` (with the space). No `type` field.
pub fn pub_ack(stream: &str, domain: Option<&str>, seq: u64, duplicate: bool) -> Vec<u8> {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = format!("{{\"stream\":{}", q(stream));
    if let Some(d) = domain {
        out.push_str(&format!(",\"domain\":{}", q(d)));
    }
    out.push_str(&format!(",\"seq\":{seq}"));
    out.push_str(if duplicate {
        ",\"duplicate\": true}"
    } else {
        "}"
    });
    out.into_bytes()
}

/// An error publish ack: `{"error":{…},"stream":"S","seq":0}` (captured).
pub fn pub_ack_error(stream: &str, err: &ApiError) -> Vec<u8> {
    #[derive(Serialize)]
    struct ErrAck<'a> {
        error: &'a ApiError,
        stream: &'a str,
        seq: u64,
    }
    serde_json::to_vec(&ErrAck {
        error: err,
        stream,
        seq: 0,
    })
    .unwrap_or_default()
}
