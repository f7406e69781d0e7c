//! Tests of segment compaction: what it gives back, that live records survive it byte for
//! byte (also across reopen), that tombstones stay deleted without their `.del` marks, that
//! deletes racing a running job stick, and that a leftover temporary file is cleaned up.

use std::fs;
use std::path::Path;

use super::log::{LogConfig, SegmentLog, StoredMsg};

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 16 << 10,
        max_record: 4096,
        write_buffer: 1024,
        compact_below: 0.5,
    }
}

fn open(dir: &Path) -> SegmentLog {
    SegmentLog::open(dir, cfg()).expect("open").0
}

fn contents(log: &SegmentLog) -> Vec<StoredMsg> {
    (1..=log.last_seq())
        .filter_map(|s| log.get(s).expect("get"))
        .collect()
}

/// 200 records of about 500 bytes over several segments; every seq not divisible by 10
/// deleted.
fn work_queue_like(dir: &Path) -> SegmentLog {
    let mut log = open(dir);
    for i in 0..200u64 {
        log.append(
            format!("q.{i}").as_bytes(),
            b"",
            &vec![b'a' + (i % 26) as u8; 500],
            i as i64,
        )
        .expect("append");
    }
    for seq in 1..=200u64 {
        if seq % 10 != 0 {
            assert!(log.delete(seq).expect("delete"));
        }
    }
    log.sync().expect("sync");
    log
}

/// Runs every compaction job the log offers, as the engine would (one at a time).
fn compact_all(log: &mut SegmentLog) -> u64 {
    let mut saved = 0;
    while let Some(job) = log.compaction_job() {
        saved += log.finish_compaction(job.run()).expect("compaction");
    }
    saved
}

#[test]
fn compaction_gives_back_dead_bytes_and_keeps_live_records() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = work_queue_like(tmp.path());
    let before = contents(&log);
    assert_eq!(before.len(), 20);
    let disk_before = log.disk_bytes().expect("du");
    assert!(
        log.compaction_candidates().count() > 0,
        "deletes made candidates"
    );
    let saved = compact_all(&mut log);
    assert!(saved > 0, "compaction gave nothing back");
    log.sync().expect("sync");
    let disk_after = log.disk_bytes().expect("du");
    assert!(
        disk_after < disk_before,
        "disk {disk_before} -> {disk_after} after saving {saved}"
    );
    assert_eq!(contents(&log), before, "live records unchanged");
    assert_eq!(log.msgs(), 20);
    drop(log);
    let (log, rec) = SegmentLog::open(tmp.path(), cfg()).expect("reopen");
    assert!(rec.quarantined.is_empty() && rec.gaps.is_empty(), "{rec:?}");
    assert_eq!(
        contents(&log),
        before,
        "live records unchanged after reopen"
    );
}

#[test]
fn tombstones_stay_deleted_without_their_marks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = work_queue_like(tmp.path());
    let before = contents(&log);
    compact_all(&mut log);
    log.sync().expect("sync");
    drop(log);
    // Lose every delete mark: the compacted segments' tombstones must still read as deleted.
    for entry in fs::read_dir(tmp.path()).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "del") {
            fs::remove_file(path).expect("remove .del");
        }
    }
    let log = open(tmp.path());
    let after = contents(&log);
    // Segments that were not compacted get their deleted records back (redelivery, never
    // loss); the compacted ones do not resurrect anything, and never an empty record.
    assert!(
        after.len() < 200,
        "compacted tombstones came back: {}",
        after.len()
    );
    for m in &after {
        assert!(
            !m.payload.is_empty(),
            "a tombstone came back as seq {}",
            m.seq
        );
    }
    for m in &before {
        assert!(after.contains(m), "live seq {} lost", m.seq);
    }
}

#[test]
fn a_delete_while_the_job_runs_sticks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = work_queue_like(tmp.path());
    let job = log.compaction_job().expect("a candidate");
    // Seq 10 is live and in the first segment, which is the first candidate.
    assert!(log.delete(10).expect("delete 10"));
    let done = job.run();
    log.finish_compaction(done).expect("finish");
    assert!(
        log.get(10).expect("get").is_none(),
        "deleted during the job"
    );
    log.sync().expect("sync");
    drop(log);
    let log = open(tmp.path());
    assert!(
        log.get(10).expect("get").is_none(),
        "still deleted after reopen"
    );
    assert!(log.get(20).expect("get").is_some());
}

#[test]
fn a_leftover_temporary_file_is_removed_at_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = work_queue_like(tmp.path());
    let before = contents(&log);
    let job = log.compaction_job().expect("a candidate");
    let done = job.run(); // the new file is written...
    drop(done); // ...and the process dies before the swap
    drop(log);
    let leftovers = |d: &Path| {
        fs::read_dir(d)
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .count()
    };
    assert_eq!(leftovers(tmp.path()), 1);
    let log = open(tmp.path());
    assert_eq!(leftovers(tmp.path()), 0);
    assert_eq!(contents(&log), before);
}

/// Segment bases, from the file names (`<base>.seg`), oldest first.
fn segment_bases(dir: &Path) -> Vec<u64> {
    let mut bases: Vec<u64> = fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().into_string().ok()?;
            name.strip_suffix(".seg")?.parse().ok()
        })
        .collect();
    bases.sort_unstable();
    bases
}

/// Records leaving the oldest segment from the front (discard old, acks in order) make no
/// compaction job: that segment leaves whole once its last record goes, and compacting it
/// on the way wrote its tail twice (js-churn-1k wrote 1.97 device bytes per payload byte).
/// The same front deletes in a younger segment, or a hole behind the live records of the
/// oldest, still make one.
#[test]
fn an_oldest_segment_trimmed_from_the_front_is_not_compacted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path());
    for i in 0..200u64 {
        log.append(b"q", b"", &[b'x'; 500], i as i64)
            .expect("append");
    }
    let bases = segment_bases(tmp.path());
    assert!(bases.len() >= 4, "several segments: {bases:?}");
    let (first, second, third) = (bases[0], bases[1], bases[2]);
    let per_segment = second - first;
    for seq in first..second - 2 {
        assert!(log.delete(seq).expect("delete"));
    }
    assert_eq!(
        log.compaction_candidates().count(),
        0,
        "the oldest segment lost only its front"
    );
    for seq in second..second + per_segment - 2 {
        assert!(log.delete(seq).expect("delete"));
    }
    assert_eq!(
        log.compaction_candidates().collect::<Vec<_>>(),
        vec![second],
        "a younger segment's dead front is only given back by compaction"
    );
    assert!(third > second);
    assert!(log.delete(second - 1).expect("delete"));
    assert_eq!(
        log.compaction_candidates().collect::<Vec<_>>(),
        vec![first, second],
        "a hole behind the oldest segment's live record"
    );
}
