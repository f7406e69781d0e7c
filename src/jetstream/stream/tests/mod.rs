//! Stream tests: every limit, dedupe, expectations, purge, delete, expiry and lookups, run
//! against memory and file storage alike, plus reopen of a file stream.
//!
//! | file | covers |
//! |---|---|
//! | `publish.rs` | limits (discard old and new, per subject), size, expectations, dedupe, rollup, expiry, update |
//! | `store.rs` | purge, delete, `MessageSource`, reopen, segment eviction, sync |
//! | `ttl.rs` | `Nats-TTL`, `never` against `max_age`, subject delete markers, TTLs after reopen |

mod publish;
mod store;
mod ttl;

use std::path::Path;

use super::*;
use crate::jetstream::config::Discard;
use crate::jetstream::source::MessageSource;

/// 2023-11-14T22:13:20Z plus `s` seconds.
pub(super) fn t(s: u64) -> Timestamp {
    Timestamp(1_700_000_000_000_000_000 + s * 1_000_000_000)
}

pub(super) fn config(edit: impl Fn(&mut StreamConfig)) -> StreamConfig {
    let mut c = StreamConfig {
        name: "S".into(),
        subjects: vec!["s.>".into()],
        ..StreamConfig::default()
    };
    edit(&mut c);
    c.normalise();
    c
}

pub(super) fn small_log() -> LogConfig {
    LogConfig {
        segment_bytes: 512,
        max_record: 4096,
        write_buffer: 256,
        compact_below: 0.5,
    }
}

pub(super) fn open(cfg: &StreamConfig, dir: Option<&Path>) -> Stream {
    Stream::open(cfg.clone(), t(0), dir, small_log(), t(0)).expect("open")
}

/// Runs `test` on a memory stream and on a file stream with `cfg`.
pub(super) fn each_storage(cfg: StreamConfig, test: impl Fn(&mut Stream)) {
    let mut mem = open(&cfg, None);
    test(&mut mem);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut file = open(&cfg, Some(tmp.path()));
    test(&mut file);
}

pub(super) fn hdrs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut h = b"NATS/1.0\r\n".to_vec();
    for (k, v) in pairs {
        h.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

pub(super) fn publish(s: &mut Stream, subject: &str, payload: &str) -> u64 {
    let p = s
        .publish(subject.as_bytes(), None, payload.as_bytes(), t(1))
        .expect("publish");
    assert!(!p.duplicate);
    p.seq
}

pub(super) fn live(s: &Stream) -> Vec<u64> {
    (1..=MessageSource::last_seq(s))
        .filter(|&q| s.get(q).expect("get").is_some())
        .collect()
}
