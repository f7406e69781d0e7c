//! Pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` and `+NXT` acks): the body
//! forms of PROTOCOL.md §3.7 and the waiting-request record a consumer queues.
//!
//! Owns: decoding a request body the way nats-server's `nextReqFromMsg` does (empty → batch 1,
//! an integer → that batch, JSON → every field, `null`s allowed) and its heartbeat rule. Must
//! not: decide delivery (that is `deliver`). Hands off to: `Consumer::pull`.

use serde::Deserialize;

use crate::jetstream::policy::nullable;
use crate::jetstream::time::Timestamp;

/// A decoded pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullRequest {
    /// Messages wanted (at least 1).
    pub batch: u64,
    /// Nanoseconds until the request expires; 0 = never.
    pub expires: u64,
    /// Byte budget (subject + ack subject + headers + payload per message); 0 = unlimited.
    pub max_bytes: u64,
    /// End the request as soon as the stream runs dry.
    pub no_wait: bool,
    /// Nanoseconds between `100 Idle Heartbeat`s while waiting; 0 = none.
    pub heartbeat: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    #[serde(deserialize_with = "nullable")]
    batch: i64,
    #[serde(deserialize_with = "nullable")]
    expires: i64,
    #[serde(deserialize_with = "nullable")]
    max_bytes: i64,
    #[serde(deserialize_with = "nullable")]
    no_wait: bool,
    #[serde(deserialize_with = "nullable")]
    idle_heartbeat: i64,
}

/// Decodes a request body. Leading/trailing whitespace is ignored; an integer that does not
/// parse, like anything else unrecognised, means batch 1 (as nats-server).
///
/// # Errors
/// The text after `400 Bad Request - ` : the JSON error, or `heartbeat value too large` when
/// `2 × idle_heartbeat > expires`.
pub fn parse_pull(body: &[u8]) -> Result<PullRequest, String> {
    let body = body.trim_ascii();
    let mut req = PullRequest {
        batch: 1,
        expires: 0,
        max_bytes: 0,
        no_wait: false,
        heartbeat: 0,
    };
    if body.first() == Some(&b'{') {
        let b: Body = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if b.idle_heartbeat > 0 && b.idle_heartbeat.saturating_mul(2) > b.expires {
            return Err("heartbeat value too large".to_owned());
        }
        req.batch = u64::try_from(b.batch).unwrap_or(0).max(1);
        // A negative expiry lies in the past: it ends the request at the first poll.
        req.expires = match b.expires {
            0 => 0,
            e => u64::try_from(e).unwrap_or(1),
        };
        req.max_bytes = u64::try_from(b.max_bytes).unwrap_or(0);
        req.no_wait = b.no_wait;
        req.heartbeat = u64::try_from(b.idle_heartbeat).unwrap_or(0);
    } else if let Some(n) = std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    {
        req.batch = u64::try_from(n).unwrap_or(0).max(1);
    }
    Ok(req)
}

/// A pull request waiting for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    /// Where deliveries and statuses go.
    pub(crate) reply: Vec<u8>,
    /// Messages still wanted.
    pub(crate) remaining: u64,
    /// Bytes still allowed when `max_bytes` was set.
    pub(crate) bytes_left: u64,
    /// Was `max_bytes` set?
    pub(crate) limit_bytes: bool,
    /// Messages delivered so far.
    pub(crate) delivered: u64,
    /// End at the end of the stream.
    pub(crate) no_wait: bool,
    /// When it expires.
    pub(crate) expires: Option<Timestamp>,
    /// Heartbeat interval (ns), 0 = none.
    pub(crate) heartbeat: u64,
    /// When the next heartbeat is due.
    pub(crate) next_heartbeat: Option<Timestamp>,
}

/// `t + ns`, saturating.
pub(crate) fn after(t: Timestamp, ns: u64) -> Timestamp {
    Timestamp(t.0.saturating_add(ns))
}

impl Waiting {
    pub(crate) fn new(reply: &[u8], req: &PullRequest, now: Timestamp) -> Waiting {
        Waiting {
            reply: reply.to_vec(),
            remaining: req.batch,
            bytes_left: req.max_bytes,
            limit_bytes: req.max_bytes > 0,
            delivered: 0,
            no_wait: req.no_wait,
            expires: (req.expires > 0).then(|| after(now, req.expires)),
            heartbeat: req.heartbeat,
            next_heartbeat: (req.heartbeat > 0).then(|| after(now, req.heartbeat)),
        }
    }

    /// The earliest of its expiry and next heartbeat.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        match (self.expires, self.next_heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_forms() {
        let one = parse_pull(b"").unwrap();
        assert_eq!((one.batch, one.expires, one.no_wait), (1, 0, false));
        assert_eq!(parse_pull(b"5").unwrap().batch, 5);
        assert_eq!(parse_pull(b" 1\r\n").unwrap().batch, 1);
        assert_eq!(parse_pull(b"junk").unwrap().batch, 1);
        let async_nats = br#"{"batch":200,"expires":30000000000,"max_bytes":0,"idle_heartbeat":15000000000,"min_pending":null,"min_ack_pending":null,"group":null,"priority":null}"#;
        let r = parse_pull(async_nats).unwrap();
        assert_eq!(
            (r.batch, r.expires, r.heartbeat, r.max_bytes),
            (200, 30_000_000_000, 15_000_000_000, 0)
        );
        let py = parse_pull(br#"{"batch": 2, "expires": 1999900000, "no_wait": true}"#).unwrap();
        assert!(py.no_wait);
        assert_eq!(py.batch, 2);
        assert_eq!(
            parse_pull(br#"{"batch":1,"idle_heartbeat":1000}"#).unwrap_err(),
            "heartbeat value too large"
        );
        assert!(parse_pull(br#"{"batch":"x"}"#).is_err());
    }
}
