//! Unit tests for [`MetaStore`]: round trips, cascading removes, the epoch across reopens,
//! sync on another thread, and a crash-ish reopen of the on-disk state right after a sync.

use std::path::Path;

use super::*;

const CACHE: u64 = 1 << 20;

fn open(dir: &Path) -> MetaStore {
    MetaStore::open(dir, CACHE).unwrap()
}

fn pairs(items: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

#[test]
fn streams_consumers_and_cursors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let meta = open(dir.path());
    assert_eq!(meta.streams().unwrap(), vec![]);
    meta.put_stream("ORDERS", b"{\"a\":1}").unwrap();
    meta.put_stream("EVENTS", b"{}").unwrap();
    meta.put_stream("ORDERS", b"{\"a\":2}").unwrap();
    assert_eq!(
        meta.streams().unwrap(),
        pairs(&[("EVENTS", b"{}"), ("ORDERS", b"{\"a\":2}")])
    );
    meta.put_consumer("ORDERS", "c1", b"one").unwrap();
    meta.put_consumer("ORDERS", "c2", b"two").unwrap();
    meta.put_consumer("EVENTS", "c1", b"other").unwrap();
    assert_eq!(
        meta.consumers("ORDERS").unwrap(),
        pairs(&[("c1", b"one"), ("c2", b"two")])
    );
    meta.remove_consumer("ORDERS", "c1").unwrap();
    meta.remove_consumer("ORDERS", "missing").unwrap();
    assert_eq!(meta.consumers("ORDERS").unwrap(), pairs(&[("c2", b"two")]));
    assert_eq!(meta.consumers("NONE").unwrap(), vec![]);

    assert_eq!(meta.cursor("uplink/ORDERS").unwrap(), None);
    meta.put_cursor("uplink/ORDERS", 42).unwrap();
    meta.put_cursor("uplink/ORDERS", u64::MAX).unwrap();
    assert_eq!(meta.cursor("uplink/ORDERS").unwrap(), Some(u64::MAX));
    // Cursors and streams live in different key spaces.
    meta.put_cursor("ORDERS", 7).unwrap();
    assert_eq!(meta.streams().unwrap().len(), 2);

    drop(meta);
    let meta = open(dir.path());
    assert_eq!(meta.streams().unwrap().len(), 2);
    assert_eq!(
        meta.consumers("EVENTS").unwrap(),
        pairs(&[("c1", b"other")])
    );
    assert_eq!(meta.cursor("uplink/ORDERS").unwrap(), Some(u64::MAX));
}

#[test]
fn remove_stream_removes_its_consumers_only() {
    let dir = tempfile::tempdir().unwrap();
    let meta = open(dir.path());
    for stream in ["A", "AB", "B"] {
        meta.put_stream(stream, b"cfg").unwrap();
        meta.put_consumer(stream, "x", b"state").unwrap();
        meta.put_consumer(stream, "y", b"state").unwrap();
    }
    meta.remove_stream("A").unwrap();
    meta.remove_stream("never-there").unwrap();
    let names: Vec<String> = meta.streams().unwrap().into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["AB", "B"]);
    assert_eq!(meta.consumers("A").unwrap(), vec![]);
    assert_eq!(meta.consumers("AB").unwrap().len(), 2);
    assert_eq!(meta.consumers("B").unwrap().len(), 2);
    // A consumer written for a stream that was re-created starts from nothing.
    meta.put_stream("A", b"cfg2").unwrap();
    assert_eq!(meta.consumers("A").unwrap(), vec![]);
}

#[test]
fn epoch_starts_at_one_and_increments_on_every_open() {
    let dir = tempfile::tempdir().unwrap();
    for want in 1..=3 {
        let meta = open(dir.path());
        assert_eq!(meta.epoch(), want);
    }
    assert!(dir.path().join("meta").join("db").is_file());
}

#[test]
fn bad_names_and_values_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let meta = open(dir.path());
    let bad: Vec<Result<(), StoreError>> = vec![
        meta.put_stream("", b""),
        meta.put_stream("a/b", b""),
        meta.put_consumer("A", "x/y", b""),
        meta.put_consumer("A/", "x", b""),
        meta.remove_stream("a/b"),
        meta.put_cursor("", 1),
        meta.consumers("").map(drop),
    ];
    for result in bad {
        let e = result.unwrap_err().to_string();
        assert!(e.starts_with("metadata store "), "{e}");
        assert!(e.contains(&meta.path().display().to_string()), "{e}");
    }
    // A cursor value of the wrong length reads as an error, not a panic.
    meta.db.insert("k/short", &[1u8, 2, 3][..]).unwrap();
    let e = meta.cursor("short").unwrap_err().to_string();
    assert!(
        e.ends_with("value of k/short is 3 bytes, expected 8"),
        "{e}"
    );
}

#[test]
fn second_open_of_the_same_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let _meta = open(dir.path());
    let e = MetaStore::open(dir.path(), CACHE).unwrap_err().to_string();
    assert!(e.contains("meta"), "{e}");
}

#[test]
fn sync_runs_here_and_on_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    let meta = open(dir.path());
    meta.put_stream("S", b"v").unwrap();
    meta.sync().unwrap();
    // A value past sled's blob threshold (segment / 4) goes to a file under blobs/.
    meta.put_consumer("S", "big", &vec![7u8; 300 * 1024])
        .unwrap();
    let handle = meta.sync_handle();
    std::thread::spawn(move || handle.run())
        .join()
        .unwrap()
        .unwrap();
    let blobs = std::fs::read_dir(meta.path().join("blobs"))
        .unwrap()
        .count();
    assert!(blobs >= 1, "expected the big value in blobs/");
    meta.sync().unwrap();
    assert_eq!(meta.consumers("S").unwrap()[0].1.len(), 300 * 1024);
}

/// Copies sled's files while the store is still open and writing: the copy is what a crash
/// right after `sync` leaves on disk (sled holds no state that a `sync` leaves only in memory).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn synced_writes_survive_a_crash_without_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let meta = open(dir.path());
    for i in 0..200 {
        meta.put_stream(&format!("S{i}"), format!("cfg{i}").as_bytes())
            .unwrap();
        meta.put_consumer(&format!("S{i}"), "c", b"state").unwrap();
    }
    meta.remove_stream("S0").unwrap();
    meta.put_cursor("uplink", 99).unwrap();
    meta.sync().unwrap();
    copy_dir(meta.path(), &crashed.path().join("meta"));
    meta.put_stream("LATE", b"unsynced").unwrap();

    let back = open(crashed.path());
    assert_eq!(back.epoch(), 2);
    let streams = back.streams().unwrap();
    assert_eq!(streams.len(), 199);
    assert!(streams.iter().any(|(n, v)| n == "S199" && v == b"cfg199"));
    assert_eq!(back.consumers("S0").unwrap(), vec![]);
    assert_eq!(back.consumers("S5").unwrap(), pairs(&[("c", b"state")]));
    assert_eq!(back.cursor("uplink").unwrap(), Some(99));
    drop(meta);
}
