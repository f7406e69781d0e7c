//! Tests of `SegmentLog` on real files: round trips, rolling, reopen, deletes, eviction,
//! disk usage, torn tails and quarantine. Owns nothing else; the model test is beside it.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::log::{LogConfig, SegmentLog, StoredMsg};
use super::recovery::Damage;
use super::segment::SEG_HEADER_LEN;

fn cfg(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        max_record: 4096,
        write_buffer: 512,
        compact_below: 0.5,
    }
}

fn open(dir: &Path, segment_bytes: u64) -> SegmentLog {
    SegmentLog::open(dir, cfg(segment_bytes)).expect("open").0
}

fn payload(i: u64) -> Vec<u8> {
    format!("payload-{i}-{}", "x".repeat((i % 50) as usize)).into_bytes()
}

fn fill(log: &mut SegmentLog, n: u64) {
    for i in 0..n {
        let seq = log
            .append(format!("s.{i}").as_bytes(), b"", &payload(i), i as i64)
            .expect("append");
        assert_eq!(seq, i + 1);
    }
}

fn contents(log: &SegmentLog) -> Vec<StoredMsg> {
    (1..=log.last_seq())
        .filter_map(|s| log.get(s).expect("get"))
        .collect()
}

fn segs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn append_get_roll_reopen() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 200);
    let m = log.get(17).expect("get").expect("present");
    assert_eq!(
        (m.seq, m.subject.as_slice(), m.payload, m.timestamp_ns),
        (17, &b"s.16"[..], payload(16), 16)
    );
    assert!(log.get(0).expect("get").is_none() && log.get(201).expect("get").is_none());
    let before = contents(&log);
    assert_eq!(before.len(), 200);
    assert!(segs(tmp.path()).len() > 5, "rolled into several segments");
    assert_eq!(log.sync().expect("sync"), 200);
    let (bytes, msgs) = (log.bytes(), log.msgs());
    drop(log);
    let (log, rec) = SegmentLog::open(tmp.path(), cfg(1024)).expect("reopen");
    assert_eq!(
        (
            rec.records,
            rec.bytes_truncated - rec.zero_tail,
            rec.quarantined.len(),
            rec.gaps.len()
        ),
        (200, 0, 0, 0)
    );
    assert_eq!(contents(&log), before);
    assert_eq!(
        (log.bytes(), log.msgs(), log.first_seq(), log.last_seq()),
        (bytes, msgs, 1, 200)
    );
}

#[test]
fn reads_served_from_buffer_and_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1 << 20);
    fill(&mut log, 3); // still in the user-space buffer
    assert_eq!(
        log.get(2).expect("get").expect("buffered").payload,
        payload(1)
    );
    log.flush().expect("flush");
    assert_eq!(
        log.get(2).expect("get").expect("written").payload,
        payload(1)
    );
}

#[test]
fn record_too_large_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1 << 20);
    let err = log.append(b"s", b"", &[0; 5000], 0).expect_err("too large");
    assert!(err.to_string().starts_with("record too large"), "{err}");
    assert_eq!(log.append(b"s", b"", b"ok", 0).expect("fits"), 1);
}

#[test]
fn deletes_survive_reopen() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 100);
    for s in [5, 50, 51, 99, 3] {
        assert!(log.delete(s).expect("delete"));
    }
    assert!(!log.delete(5).expect("delete") && !log.delete(1000).expect("delete"));
    assert!(log.get(50).expect("get").is_none());
    log.sync().expect("sync");
    let before = contents(&log);
    let bytes = log.bytes();
    drop(log);
    let log = open(tmp.path(), 1024);
    assert_eq!(contents(&log), before);
    assert_eq!((log.msgs(), log.bytes()), (95, bytes));
}

#[test]
fn evict_and_purge_delete_whole_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 100);
    log.delete(1).expect("delete");
    log.sync().expect("sync");
    let n = segs(tmp.path()).len();
    let e = log.evict_oldest_segment().expect("evict").expect("evicted");
    assert_eq!(e.first, 1);
    assert_eq!(log.first_seq(), e.last + 1);
    assert_eq!(e.msgs, e.last - e.first); // seq 1 was already deleted
    assert_eq!(segs(tmp.path()).len(), n - 1);
    assert!(!tmp.path().join(format!("{:020}.del", 1)).exists());
    let p = log.purge_before(60).expect("purge").expect("purged");
    assert_eq!((p.first, p.last), (e.last + 1, 59));
    assert_eq!((log.first_seq(), log.msgs()), (60, 41));
    assert!(log.get(59).expect("get").is_none() && log.get(60).expect("get").is_some());
    log.sync().expect("sync");
    drop(log);
    let mut log = open(tmp.path(), 1024);
    assert_eq!((log.first_seq(), log.last_seq(), log.msgs()), (60, 100, 41));
    // Evict everything, including the active segment: seqs keep counting.
    while log.evict_oldest_segment().expect("evict").is_some() {}
    assert_eq!(
        (log.first_seq(), log.last_seq(), log.msgs(), log.bytes()),
        (101, 100, 0, 0)
    );
    drop(log);
    let mut log = open(tmp.path(), 1024);
    assert_eq!(log.append(b"s", b"", b"p", 0).expect("append"), 101);
}

#[test]
fn disk_bytes_matches_block_usage() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 4096);
    fill(&mut log, 300);
    log.delete(7).expect("delete");
    log.sync().expect("sync");
    let sum: u64 = fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("meta"))
        .filter(|m| m.is_file())
        .map(|m| m.blocks() * 512)
        .sum();
    assert_eq!(log.disk_bytes().expect("du"), sum);
    assert!(sum >= log.bytes());
}

#[test]
fn torn_tail_is_truncated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1 << 20);
    fill(&mut log, 10);
    log.sync().expect("sync");
    let path = log.active_path().expect("active").to_path_buf();
    let len = log.active_end();
    drop(log);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len - 5)
        .expect("cut");
    let (mut log, rec) = SegmentLog::open(tmp.path(), cfg(1 << 20)).expect("reopen");
    assert_eq!((rec.records, rec.quarantined.len()), (9, 0));
    assert!(rec.bytes_truncated > 0);
    assert_eq!((log.last_seq(), log.msgs()), (9, 9));
    assert_eq!(log.append(b"s", b"", b"new", 0).expect("append"), 10);
}

#[test]
fn corrupt_middle_segment_is_quarantined() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 100);
    log.sync().expect("sync");
    let before = contents(&log);
    drop(log);
    let files = segs(tmp.path());
    assert!(files.len() >= 4);
    let victim = &files[1];
    let mut bytes = fs::read(victim).expect("read");
    let mid = SEG_HEADER_LEN + (bytes.len() - SEG_HEADER_LEN) / 2;
    bytes[mid] ^= 0xff;
    fs::write(victim, &bytes).expect("write");
    let (log, rec) = SegmentLog::open(tmp.path(), cfg(1024)).expect("reopen never refuses");
    assert_eq!(rec.quarantined.len(), 1, "{rec:?}");
    let q = &rec.quarantined[0];
    assert!(q.file.starts_with(tmp.path().join("quarantine")) && q.file.exists());
    assert!(matches!(q.damage, Damage::Record(_)));
    assert_eq!(rec.gaps.len(), 1);
    let (lo, hi) = rec.gaps[0];
    assert_eq!(lo, q.kept_until);
    for m in &before {
        let got = log.get(m.seq).expect("get");
        if (lo..=hi).contains(&m.seq) {
            assert!(got.is_none());
        } else {
            assert_eq!(got.as_ref(), Some(m), "seq {} intact", m.seq);
        }
    }
    assert_eq!(log.last_seq(), 100);
}

#[test]
fn bad_segment_header_is_quarantined_whole() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 100);
    log.sync().expect("sync");
    drop(log);
    let files = segs(tmp.path());
    let mut bytes = fs::read(&files[0]).expect("read");
    bytes[3] ^= 1;
    fs::write(&files[0], &bytes).expect("write");
    let (log, rec) = SegmentLog::open(tmp.path(), cfg(1024)).expect("reopen");
    assert_eq!(rec.quarantined.len(), 1);
    assert_eq!(rec.quarantined[0].damage, Damage::Header);
    assert!(!files[0].exists());
    assert!(log.first_seq() > 1 && log.last_seq() == 100);
}

#[test]
fn sync_handle_runs_on_another_thread() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 50);
    let handle = log.sync_handle().expect("handle");
    fill_more(&mut log);
    let seq = std::thread::spawn(move || handle.run())
        .join()
        .expect("thread")
        .expect("sync");
    assert_eq!(seq, 50);
    log.synced(seq);
    assert_eq!(log.durable_seq(), 50);
    assert_eq!(log.sync().expect("sync"), 51);
}

fn fill_more(log: &mut SegmentLog) {
    log.append(b"late", b"", b"after the handle", 0)
        .expect("append");
}

#[test]
fn foreign_and_odd_files_do_not_stop_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(tmp.path().join(format!("{:020}.seg", 0)), b"zero base").expect("write");
    fs::write(
        tmp.path().join(format!("{:020}.seg", u64::MAX)),
        b"huge base",
    )
    .expect("write");
    fs::write(tmp.path().join(format!("{:020}.del", 77)), b"orphan marks").expect("write");
    fs::write(tmp.path().join("notes.txt"), b"operator notes").expect("write");
    let mut log = open(tmp.path(), 1024);
    assert_eq!(log.append(b"s", b"", b"p", 0).expect("append"), 1);
    assert!(!tmp.path().join(format!("{:020}.del", 77)).exists());
}

#[test]
fn torn_header_of_new_last_segment_is_rewritten() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1 << 20);
    fill(&mut log, 5);
    log.sync().expect("sync");
    drop(log);
    // A segment created just before a crash, header only partly on disk.
    let header = super::segment::encode_header(6);
    fs::write(tmp.path().join(format!("{:020}.seg", 6)), &header[..10]).expect("write");
    let (mut log, rec) = SegmentLog::open(tmp.path(), cfg(1 << 20)).expect("reopen");
    assert!(rec.quarantined.is_empty() && rec.gaps.is_empty(), "{rec:?}");
    assert_eq!(log.append(b"s", b"", b"p", 0).expect("append"), 6);
    assert_eq!(contents(&log).len(), 6);
}

#[test]
fn stale_delete_mark_does_not_delete_a_reused_seq() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1 << 20);
    fill(&mut log, 3);
    log.sync().expect("sync");
    let path = log.active_path().expect("active").to_path_buf();
    let synced = log.active_end();
    log.append(b"s", b"", b"unsynced", 0).expect("append");
    assert!(log.delete(4).expect("delete"));
    log.flush().expect("flush"); // the mark for 4 reaches the .del file
    drop(log);
    // Crash: seq 4's record is torn away, its delete mark is not.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(synced)
        .expect("cut");
    let mut log = open(tmp.path(), 1 << 20);
    assert_eq!(log.last_seq(), 3);
    assert_eq!(log.append(b"s", b"", b"reused", 0).expect("append"), 4);
    log.sync().expect("sync");
    drop(log);
    let log = open(tmp.path(), 1 << 20);
    assert_eq!(
        log.get(4).expect("get").expect("not born deleted").payload,
        b"reused"
    );
}

#[test]
fn dead_oldest_segments_are_evicted_live_ones_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 100);
    let n = segs(tmp.path()).len();
    assert_eq!(log.evict_dead_segments().expect("evict"), 0);
    // Delete the oldest messages one by one until the first segment holds none.
    let mut seq = 1;
    while segs(tmp.path()).len() == n {
        assert!(log.delete(seq).expect("delete"));
        log.evict_dead_segments().expect("evict");
        seq += 1;
    }
    assert_eq!(segs(tmp.path()).len(), n - 1);
    assert_eq!((log.first_seq(), log.msgs()), (seq, 100 - (seq - 1)));
    // A dead segment behind a live one stays (only the oldest go).
    log.sync().expect("sync");
    drop(log);
    let log = open(tmp.path(), 1024);
    assert_eq!((log.first_seq(), log.last_seq()), (seq, 100));
}

/// A record written once, then a hot subject updated with each update deleting the previous:
/// the segments behind the old record go as soon as they are all dead, the removed ranges
/// are listed in `holes`, and reopening reports no gap and keeps both live records.
#[test]
fn dead_segments_behind_a_live_record_are_removed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    log.append(b"static", b"", b"kept", 0).expect("append");
    let mut prev = None;
    for i in 0..2_000u64 {
        let seq = log.append(b"hot", b"", &payload(i), 1).expect("append");
        if let Some(p) = prev {
            assert!(log.delete(p).expect("delete"));
        }
        prev = Some(seq);
        log.evict_dead_segments().expect("evict dead");
    }
    let last = prev.expect("appended");
    assert_eq!(log.msgs(), 2);
    let files = segs(tmp.path());
    assert!(
        files.len() <= 3,
        "only the first, the newest and the active: {files:?}"
    );
    log.sync().expect("sync");
    let holes = fs::read_to_string(tmp.path().join("holes")).expect("holes written");
    assert!(holes.lines().count() > 10, "{holes}");
    assert_eq!(log.get(1).expect("get").expect("static").payload, b"kept");
    assert!(log.get(2).expect("get").is_none());
    drop(log);
    let (log, rec) = SegmentLog::open(tmp.path(), cfg(1024)).expect("reopen");
    assert!(rec.gaps.is_empty() && rec.quarantined.is_empty(), "{rec:?}");
    assert_eq!(log.msgs(), 2);
    assert_eq!(log.last_seq(), last);
    assert_eq!(log.get(1).expect("get").expect("static").payload, b"kept");
    assert!(log.get(last).expect("get").is_some());
}

/// Issue 6: every sealed segment kept its write buffer (256 KiB by default), so RSS grew
/// with the data stored: 137 MiB for a full 4 GiB store on the rpi4 profile.
#[test]
fn issue_6_sealed_segments_let_go_of_their_write_buffer() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = open(tmp.path(), 1024);
    fill(&mut log, 200);
    let held = log.buffer_capacities();
    assert!(held.len() > 5, "the fill rolls segments: {held:?}");
    let (active, sealed) = held.split_last().expect("an active segment");
    assert!(*active > 0, "the active segment keeps its buffer");
    assert!(
        sealed.iter().all(|&c| c == 0),
        "sealed segments hold buffers: {held:?}"
    );
}

/// Issue 6: `quarantine/` grew by one copy per damaged tail, forever, inside the disk
/// budget (a gateway whose power is cut daily). Open keeps it within two segments, newest
/// first.
#[test]
fn issue_6_quarantine_is_kept_within_two_segments() {
    use std::time::{Duration, UNIX_EPOCH};
    let tmp = tempfile::tempdir().expect("tmp");
    let q = tmp.path().join("quarantine");
    fs::create_dir_all(&q).expect("mkdir");
    // Six 16 KiB copies, oldest first; two segments of 32 KiB hold the newest two.
    for i in 0..6u64 {
        let path = q.join(format!("{}.seg", i * 100 + 1));
        fs::write(&path, vec![0xa5; 16 * 1024]).expect("write");
        let f = OpenOptions::new().write(true).open(&path).expect("open");
        f.set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000 + i))
            .expect("set mtime");
    }
    let (_log, rec) = SegmentLog::open(tmp.path(), cfg(16 * 1024)).expect("open");
    let mut left: Vec<String> = fs::read_dir(&q)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["401.seg", "501.seg"], "the newest copies are kept");
    assert_eq!(rec.quarantine_pruned, 4 * 16 * 1024, "{rec:?}");
}
