//! Store-side tests: purge, delete, lookups, reopen, segment eviction, sync.

use super::*;

#[test]
fn purge_variants() {
    let fill = |s: &mut Stream| {
        for subj in ["s.a", "s.b", "s.a", "s.b", "s.a", "s.c"] {
            publish(s, subj, "x");
        }
    };
    each_storage(config(|_| {}), |s| {
        fill(s);
        assert_eq!(s.purge(Some("s.a"), None, Some(1)).expect("purge"), 2);
        assert_eq!(live(s), vec![2, 4, 5, 6]);
        assert_eq!(s.purge(Some("s.*"), Some(5), None).expect("purge"), 2);
        assert_eq!(live(s), vec![5, 6]);
        assert_eq!(s.purge(None, None, None).expect("purge all"), 2);
        let st = s.state();
        assert_eq!((st.messages, st.first_seq, st.last_seq), (0, 7, 6));
        assert_eq!(publish(s, "s.a", "x"), 7);
        assert!(s.take_evictions().is_empty());
    });
    each_storage(config(|_| {}), |s| {
        fill(s);
        assert_eq!(s.purge(None, Some(3), None).expect("below 3"), 2);
        assert_eq!(s.purge(Some(">"), None, Some(2)).expect("keep 2"), 2);
        assert_eq!(live(s), vec![5, 6]);
        assert_eq!(s.purge(None, None, Some(5)).expect("keep more"), 0);
    });
}

#[test]
fn delete_and_interior_gaps() {
    each_storage(config(|_| {}), |s| {
        for _ in 0..5 {
            publish(s, "s.a", "x");
        }
        assert!(s.delete(3).expect("delete"));
        assert!(!s.delete(3).expect("again"));
        assert!(!s.delete(99).expect("missing"));
        let st = s.state();
        assert_eq!((st.messages, st.num_deleted), (4, 1));
        assert!(s.delete(1).expect("delete"));
        assert_eq!(s.state().first_seq, 2);
        assert_eq!(s.count_matching(0, &[]), 3);
        assert_eq!(s.count_matching(3, &[]), 2);
        assert!(s.take_evictions().is_empty());
    });
}

#[test]
fn message_source() {
    each_storage(config(|_| {}), |s| {
        for (i, subj) in ["s.a", "s.b.1", "s.a", "s.b.2", "s.c"].iter().enumerate() {
            s.publish(subj.as_bytes(), None, b"x", t(i as u64 * 10))
                .expect("pub");
        }
        s.delete(3).expect("delete");
        let f = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let next = |s: &Stream, from, fl: &[&str]| {
            s.next_matching(from, &f(fl)).expect("read").map(|m| m.seq)
        };
        assert_eq!(next(s, 1, &[]), Some(1));
        assert_eq!(next(s, 2, &["s.a"]), None);
        assert_eq!(next(s, 1, &["s.b.*"]), Some(2));
        assert_eq!(next(s, 3, &["s.b.>", "s.c"]), Some(4));
        assert_eq!(next(s, 3, &[">"]), Some(4));
        assert_eq!(s.count_matching(1, &f(&[])), 4);
        assert_eq!(s.count_matching(1, &f(&["s.b.*"])), 2);
        assert_eq!(s.count_matching(3, &f(&["s.a", "s.a", "s.c"])), 1);
        assert_eq!((s.first_seq(), MessageSource::last_seq(s)), (1, 5));
        assert_eq!(s.seq_at_time(t(0)), 1);
        assert_eq!(s.seq_at_time(t(15)), 3);
        assert_eq!(s.seq_at_time(t(41)), 6);
        assert_eq!(s.last_per_subject(&f(&[])), vec![1, 2, 4, 5]);
        assert_eq!(s.last_per_subject(&f(&["s.b.*"])), vec![2, 4]);
        assert_eq!(MessageSource::get(s, 3).expect("read"), None);
        let last = s.last_by_subject(b"s.b.*").expect("read").map(|m| m.seq);
        assert_eq!(last, Some(4));
        assert_eq!(
            s.last_by_subject(b"s.a").expect("read").map(|m| m.seq),
            Some(1)
        );
        assert_eq!(
            s.next_by_subject(b"s.*", 2).expect("read").map(|m| m.seq),
            Some(5)
        );
        let subjects = s.subjects_state("s.b.>");
        assert_eq!(
            subjects.into_iter().collect::<Vec<_>>(),
            vec![("s.b.1".into(), 1), ("s.b.2".into(), 1)]
        );
    });
}

#[test]
fn file_stream_reopens_with_messages_and_indexes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(|c| c.max_msgs_per_subject = 2);
    let mut s = open(&cfg, Some(tmp.path()));
    for subj in ["s.a", "s.b", "s.a", "s.a", "s.c"] {
        publish(&mut s, subj, "x");
    }
    s.delete(5).expect("delete");
    assert!(s.begin_sync().expect("sync").is_some());
    let before = s.state();
    s.sync_now().expect("sync");
    drop(s);
    let mut s = open(&cfg, Some(tmp.path()));
    assert_eq!(s.state(), before);
    assert_eq!(live(&s), vec![2, 3, 4]);
    assert_eq!(s.subjects_state(">").len(), 2);
    assert_eq!(
        s.last_by_subject(b"s.a").expect("read").map(|m| m.seq),
        Some(4)
    );
    // The per-subject index is back: one more s.a evicts seq 3.
    publish(&mut s, "s.a", "x");
    assert_eq!(live(&s), vec![2, 4, 6]);
    assert_eq!(s.durable_seq(), 5);
    assert!(s.disk_bytes() > 0);
    s.destroy().expect("destroy");
    assert!(!tmp.path().exists());
}

#[test]
fn evicted_segments_leave_the_disk() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = open(&config(|c| c.max_msgs = 10), Some(tmp.path()));
    for _ in 0..500 {
        publish(&mut s, "s.a", "0123456789");
    }
    s.sync_now().expect("sync");
    let segs = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg"))
        })
        .count();
    assert!(segs <= 3, "{segs} segments for 10 live messages");
    assert_eq!(live(&s), (491..=500).collect::<Vec<_>>());
    let ev = s.take_evictions();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].first, ev[0].last, ev[0].msgs), (1, 490, 490));
}

#[test]
fn sync_handles_and_memory_durability() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = open(&config(|_| {}), Some(tmp.path()));
    assert!(s.begin_sync().expect("sync").is_none());
    publish(&mut s, "s.a", "x");
    s.flush().expect("flush");
    let h = s.begin_sync().expect("sync").expect("dirty");
    assert!(s.begin_sync().expect("sync").is_none());
    s.synced(h.run().expect("run"));
    assert_eq!(s.durable_seq(), 1);
    let mut m = open(&config(|_| {}), None);
    publish(&mut m, "s.a", "x");
    assert!(m.begin_sync().expect("sync").is_none());
    assert_eq!(
        (m.durable_seq(), m.sync_now().expect("sync"), m.disk_bytes()),
        (1, 1, 0)
    );
    m.destroy().expect("destroy");
}
