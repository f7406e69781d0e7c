//! Model-based test of `SegmentLog` with reopen, crash and compaction steps (sled's `fuzz_model` idea):
//! random operations run against the log and a `BTreeMap` model, compared after each step.
//!
//! A crash drops the log without flushing or syncing, then cuts the active segment at a
//! random offset past its last synced length (a torn write). Afterwards every synced record
//! must be there unchanged, unsynced ones may survive only as a contiguous prefix, and
//! unsynced deletes may come back (but never corrupted).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::log::{LogConfig, SegmentLog, StoredMsg};
use super::record;

#[derive(Debug, Clone)]
enum Op {
    Append { subject: u8, len: u8 },
    Delete(u16),
    EvictOldest,
    PurgeBefore(u8),
    Sync,
    Reopen,
    Crash(u16),
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<u8>(), any::<u8>()).prop_map(|(subject, len)| Op::Append { subject, len }),
        3 => any::<u16>().prop_map(Op::Delete),
        1 => Just(Op::EvictOldest),
        1 => any::<u8>().prop_map(Op::PurgeBefore),
        2 => Just(Op::Sync),
        1 => Just(Op::Reopen),
        1 => any::<u16>().prop_map(Op::Crash),
        2 => Just(Op::Compact),
    ]
}

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 300,
        max_record: 1024,
        write_buffer: 128,
        compact_below: 0.5,
    }
}

struct Model {
    live: BTreeMap<u64, StoredMsg>,
    /// Deleted or purged since the last sync: may come back after a crash.
    ghosts: BTreeMap<u64, StoredMsg>,
    next: u64,
    durable: u64,
    /// Active segment and its length at the last sync.
    synced: (PathBuf, u64),
}

fn size(m: &StoredMsg) -> u64 {
    record::encoded_len(m.subject.len(), m.headers.len(), m.payload.len()) as u64
}

fn synced_point(log: &SegmentLog) -> (PathBuf, u64) {
    let p = log.active_path().expect("active").to_path_buf();
    let len = fs::metadata(&p).expect("meta").len();
    (p, len)
}

fn check(log: &SegmentLog, m: &Model) {
    assert_eq!(log.last_seq(), m.next - 1);
    assert_eq!(log.msgs(), m.live.len() as u64);
    assert_eq!(log.bytes(), m.live.values().map(size).sum::<u64>());
    assert_eq!(
        log.first_seq(),
        m.live.keys().next().copied().unwrap_or(m.next)
    );
    for seq in 1..m.next {
        assert_eq!(
            log.get(seq).expect("get").as_ref(),
            m.live.get(&seq),
            "seq {seq}"
        );
    }
}

fn reopen(dir: &Path) -> SegmentLog {
    let (log, rec) = SegmentLog::open(dir, cfg()).expect("open never refuses");
    assert!(rec.quarantined.is_empty(), "{rec:?}");
    log
}

fn crash(log: SegmentLog, dir: &Path, m: &mut Model, frac: u16) -> SegmentLog {
    let active = log.active_path().expect("active").to_path_buf();
    drop(log); // no flush, no sync: the user-space buffer is lost, like a kill -9
    let synced = if active == m.synced.0 { m.synced.1 } else { 0 };
    let len = fs::metadata(&active).expect("meta").len();
    let cut = synced + (len - synced) * u64::from(frac) / u64::from(u16::MAX);
    OpenOptions::new()
        .write(true)
        .open(&active)
        .expect("open")
        .set_len(cut)
        .expect("cut");
    let log = reopen(dir);
    let last = log.last_seq();
    assert!(
        last >= m.durable,
        "synced records lost: last {last} < durable {}",
        m.durable
    );
    let mut live = BTreeMap::new();
    for seq in 1..=last {
        let got = log.get(seq).expect("get");
        match (m.live.get(&seq), m.ghosts.get(&seq), got) {
            (Some(want), _, Some(got)) => assert_eq!(&got, want, "seq {seq} changed"),
            (Some(_), _, None) => panic!("live seq {seq} <= recovered last {last} is missing"),
            (None, Some(ghost), Some(got)) => assert_eq!(&got, ghost, "ghost {seq} corrupted"),
            (None, None, Some(_)) => panic!("seq {seq} appeared from nowhere"),
            (None, _, None) => continue,
        }
        live.insert(seq, log.get(seq).expect("get").expect("just read"));
    }
    m.live = live;
    m.ghosts.clear();
    m.next = last + 1;
    m.durable = last;
    m.synced = synced_point(&log);
    log
}

fn run(ops: Vec<Op>) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut log = reopen(dir);
    let mut m = Model {
        live: BTreeMap::new(),
        ghosts: BTreeMap::new(),
        next: 1,
        durable: 0,
        synced: synced_point(&log),
    };
    for op in ops {
        match op {
            Op::Append { subject, len } => {
                let subj = format!("s.{}", subject % 7).into_bytes();
                let headers = if subject % 3 == 0 {
                    b"NATS/1.0\r\n\r\n".to_vec()
                } else {
                    Vec::new()
                };
                let payload = vec![subject; usize::from(len % 80)];
                let ts = i64::from(subject) * 1000;
                let seq = log.append(&subj, &headers, &payload, ts).expect("append");
                assert_eq!(seq, m.next);
                m.next += 1;
                m.live.insert(
                    seq,
                    StoredMsg {
                        seq,
                        timestamp_ns: ts,
                        subject: subj,
                        headers,
                        payload,
                    },
                );
            }
            Op::Delete(i) => {
                let seq = m
                    .live
                    .keys()
                    .nth(usize::from(i) % (m.live.len() + 1))
                    .copied()
                    .unwrap_or(m.next);
                let removed = m.live.remove(&seq);
                assert_eq!(log.delete(seq).expect("delete"), removed.is_some());
                if let Some(msg) = removed {
                    m.ghosts.insert(seq, msg);
                }
            }
            Op::EvictOldest => match log.evict_oldest_segment().expect("evict") {
                None => assert!(m.live.is_empty()),
                Some(e) => {
                    let gone: Vec<u64> = m.live.range(e.first..=e.last).map(|(s, _)| *s).collect();
                    assert_eq!(e.msgs, gone.len() as u64);
                    assert!(m.live.keys().next().is_none_or(|&f| f >= e.first));
                    m.live.retain(|s, _| !(e.first..=e.last).contains(s));
                    m.ghosts.retain(|s, _| !(e.first..=e.last).contains(s));
                }
            },
            Op::PurgeBefore(k) => {
                let target = log.first_seq() + u64::from(k % 20);
                let e = log.purge_before(target).expect("purge");
                let keep = m.live.split_off(&target);
                let gone = std::mem::replace(&mut m.live, keep);
                assert_eq!(e.map_or(0, |e| e.msgs), gone.len() as u64);
                m.ghosts.extend(gone);
            }
            Op::Sync => {
                m.durable = log.sync().expect("sync");
                assert_eq!(m.durable, m.next - 1);
                m.ghosts.clear();
                m.synced = synced_point(&log);
            }
            Op::Reopen => {
                log.sync().expect("sync");
                drop(log);
                log = reopen(dir);
                m.ghosts.clear();
                m.durable = m.next - 1;
                m.synced = synced_point(&log);
            }
            Op::Crash(frac) => log = crash(log, dir, &mut m, frac),
            Op::Compact => {
                // Live records never change; unsynced deletes become permanent (a ghost
                // that can no longer come back is within the model).
                while let Some(job) = log.compaction_job() {
                    log.finish_compaction(job.run()).expect("compaction");
                }
            }
        }
        check(&log, &m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn log_matches_model_across_reopen_and_crash(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}

/// Found by this model test: a crash tore the header of a fresh segment whose delete mark
/// was already written; the segment restarted empty, but the stale mark deleted the seq
/// reused by the next append.
#[test]
fn regression_stale_mark_on_torn_new_segment() {
    run(vec![
        Op::Append {
            subject: 0,
            len: 24,
        },
        Op::Append {
            subject: 0,
            len: 223,
        },
        Op::Append {
            subject: 133,
            len: 67,
        },
        Op::Delete(61274),
        Op::Crash(0),
        Op::Append { subject: 0, len: 0 },
        Op::Reopen,
    ]);
}
