//! `DIRECT.GET` replies: a stored message re-sent as an `HMSG` whose header block carries the
//! message's own headers followed by nats-server's `Nats-*` metadata (PROTOCOL.md §3.10).
//!
//! Owns: the header block bytes of a direct-get hit and the miss status block. Must not: pick
//! the message or send it. Hands off to: the router (later), which frames the `HMSG`.

use super::response::StoredMsg;

/// The whole header block of a direct-get miss (captured, header length 34).
pub const NOT_FOUND: &[u8] = b"NATS/1.0 404 Message Not Found\r\n\r\n";

/// The header block of a direct-get hit: the stored block without its closing blank line
/// (or `NATS/1.0\r\n` when the message had none), then `Nats-Stream`, `Nats-Subject`,
/// `Nats-Sequence`, `Nats-Time-Stamp`, then the blank line. The payload is `m.data`.
pub fn hit_headers(stream: &str, m: &StoredMsg<'_>) -> Vec<u8> {
    let stored = m
        .hdrs
        .strip_suffix(b"\r\n\r\n")
        .filter(|h| h.starts_with(b"NATS/1.0"));
    let mut out = Vec::with_capacity(m.hdrs.len() + 128);
    match stored {
        Some(h) => {
            out.extend_from_slice(h);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"NATS/1.0\r\n"),
    }
    for (key, value) in [
        ("Nats-Stream", stream.to_owned()),
        ("Nats-Subject", m.subject.to_owned()),
        ("Nats-Sequence", m.seq.to_string()),
        ("Nats-Time-Stamp", m.time.to_rfc3339()),
    ] {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jetstream::time::Timestamp;

    fn msg<'a>(
        subject: &'a str,
        seq: u64,
        hdrs: &'a [u8],
        data: &'a [u8],
        ns: u64,
    ) -> StoredMsg<'a> {
        StoredMsg {
            subject,
            seq,
            hdrs,
            data,
            time: Timestamp(ns),
        }
    }

    /// Captures 03 and 05, with the header lengths the `HMSG` lines announced.
    #[test]
    fn captured_hits() {
        let m = msg("ORDERS.new", 1, b"", b"order-1", 1_795_456_282_988_169_157);
        let h = hit_headers("ORDERS", &m);
        assert_eq!(
            h,
            b"NATS/1.0\r\nNats-Stream: ORDERS\r\nNats-Subject: ORDERS.new\r\nNats-Sequence: 1\r\nNats-Time-Stamp: 2026-11-23T17:51:22.988169157Z\r\n\r\n"
        );
        assert_eq!((h.len(), h.len() + m.data.len()), (126, 133));

        let m = msg("$KV.cfg.color", 1, b"", b"blue", 1_795_456_325_690_041_004);
        assert_eq!(hit_headers("KV_cfg", &m).len(), 129);

        let del = msg(
            "$KV.cfg.color",
            2,
            b"NATS/1.0\r\nKV-Operation: DEL\r\n\r\n",
            b"",
            1_795_456_325_791_610_769,
        );
        let h = hit_headers("KV_cfg", &del);
        assert_eq!(
            h,
            b"NATS/1.0\r\nKV-Operation: DEL\r\nNats-Stream: KV_cfg\r\nNats-Subject: $KV.cfg.color\r\nNats-Sequence: 2\r\nNats-Time-Stamp: 2026-11-23T17:52:05.791610769Z\r\n\r\n"
        );
        assert_eq!(h.len(), 148);
        assert_eq!(NOT_FOUND.len(), 34);
    }

    #[test]
    fn malformed_stored_block_is_replaced() {
        let m = msg("a", 3, b"garbage", b"", 0);
        let h = hit_headers("S", &m);
        assert!(h.starts_with(b"NATS/1.0\r\nNats-Stream: S\r\n"));
        assert!(h.ends_with(b"Nats-Time-Stamp: 0001-01-01T00:00:00Z\r\n\r\n"));
    }
}
