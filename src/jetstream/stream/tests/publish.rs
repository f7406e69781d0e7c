//! Publish-path tests: limits, size, expectations, dedupe, rollup, expiry, update.

use super::*;

#[test]
fn publish_get_and_state() {
    each_storage(config(|_| {}), |s| {
        assert_eq!(s.state().first_seq, 0);
        assert_eq!(s.state().first_ts, Timestamp(0));
        for (i, subj) in ["s.a", "s.b", "s.a"].iter().enumerate() {
            assert_eq!(publish(s, subj, "x"), i as u64 + 1);
        }
        let st = s.state();
        assert_eq!(
            (st.messages, st.first_seq, st.last_seq, st.num_subjects),
            (3, 1, 3, 2)
        );
        assert_eq!(st.bytes, 3 * 34);
        assert_eq!((st.first_ts, st.last_ts), (t(1), t(1)));
        let m = s.get(2).expect("get").expect("live");
        assert_eq!(
            (m.subject.as_slice(), m.payload.as_slice()),
            (&b"s.b"[..], &b"x"[..])
        );
        assert!(s.get(9).expect("get").is_none());
        assert_eq!(s.name(), "S");
        assert_eq!(s.created(), t(0));
    });
}

#[test]
fn max_msgs_discard_old_and_new() {
    each_storage(config(|c| c.max_msgs = 3), |s| {
        for _ in 0..5 {
            publish(s, "s.a", "x");
        }
        assert_eq!(live(s), vec![3, 4, 5]);
        let ev = s.take_evictions();
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].first, ev[0].last, ev[0].msgs), (1, 2, 2));
        assert!(s.take_evictions().is_empty());
    });
    each_storage(
        config(|c| {
            c.max_msgs = 2;
            c.discard = Discard::New;
        }),
        |s| {
            publish(s, "s.a", "x");
            publish(s, "s.b", "x");
            let e = s.publish(b"s.c", None, b"x", t(1)).expect_err("full");
            assert_eq!((e.code, e.err_code), (503, 10077));
            assert_eq!(e.description, "maximum messages exceeded");
            assert_eq!(live(s), vec![1, 2]);
        },
    );
}

#[test]
fn max_bytes_discard_old_and_new() {
    // Each record is 30 + 3 + 1 = 34 bytes.
    each_storage(config(|c| c.max_bytes = 100), |s| {
        for _ in 0..4 {
            publish(s, "s.a", "x");
        }
        assert_eq!(live(s), vec![3, 4]);
        assert_eq!(s.state().bytes, 68);
        assert_eq!(s.take_evictions().iter().map(|e| e.msgs).sum::<u64>(), 2);
    });
    each_storage(
        config(|c| {
            c.max_bytes = 101;
            c.discard = Discard::New;
        }),
        |s| {
            publish(s, "s.a", "x");
            publish(s, "s.a", "x");
            let e = s.publish(b"s.a", None, b"xyz", t(1)).expect_err("full");
            assert_eq!(
                (e.err_code, &*e.description),
                (10077, "maximum bytes exceeded")
            );
            publish(s, "s.a", ""); // 33 bytes: exactly at the limit
            assert_eq!(s.state().bytes, 101);
        },
    );
}

#[test]
fn per_subject_limit() {
    // Discard old: the subject's oldest goes, other subjects stay.
    each_storage(config(|c| c.max_msgs_per_subject = 2), |s| {
        for subj in ["s.a", "s.b", "s.a", "s.a", "s.a"] {
            publish(s, subj, "x");
        }
        assert_eq!(live(s), vec![2, 4, 5]);
        assert_eq!(s.subjects_state(">").get("s.a"), Some(&2));
        let ev = s.take_evictions();
        assert_eq!(ev.iter().map(|e| e.msgs).sum::<u64>(), 2);
    });
    // Discard new without the per-subject flag still replaces, and a subject at its limit
    // passes max_msgs.
    each_storage(
        config(|c| {
            c.max_msgs_per_subject = 1;
            c.max_msgs = 2;
            c.discard = Discard::New;
        }),
        |s| {
            publish(s, "s.a", "x");
            publish(s, "s.b", "x");
            publish(s, "s.a", "y");
            assert_eq!(live(s), vec![2, 3]);
            let e = s.publish(b"s.c", None, b"x", t(1)).expect_err("full");
            assert_eq!(e.description, "maximum messages exceeded");
        },
    );
    each_storage(
        config(|c| {
            c.max_msgs_per_subject = 1;
            c.discard = Discard::New;
            c.discard_new_per_subject = true;
        }),
        |s| {
            publish(s, "s.a", "x");
            let e = s.publish(b"s.a", None, b"x", t(1)).expect_err("full");
            assert_eq!(
                (e.code, e.err_code, &*e.description),
                (503, 10077, "maximum messages per subject exceeded")
            );
            publish(s, "s.b", "x");
        },
    );
}

#[test]
fn max_msg_size_and_sealed() {
    each_storage(config(|c| c.max_msg_size = 10), |s| {
        let h = hdrs(&[("A", "b")]);
        let e = s
            .publish(b"s.a", Some(&h), b"x", t(1))
            .expect_err("too big");
        assert_eq!((e.code, e.err_code), (400, 10054));
        s.publish(b"s.a", None, b"0123456789", t(1)).expect("fits");
        let e = s
            .publish(b"s.a", None, b"0123456789x", t(1))
            .expect_err("too big");
        assert_eq!(e.err_code, 10054);
    });
    each_storage(config(|c| c.sealed = true), |s| {
        let e = s.publish(b"s.a", None, b"x", t(1)).expect_err("sealed");
        assert_eq!(e.err_code, 10109);
    });
}

#[test]
fn dedupe_within_window() {
    each_storage(config(|c| c.duplicate_window = 10_000_000_000), |s| {
        let h = hdrs(&[("Nats-Msg-Id", "m1")]);
        let p = s.publish(b"s.a", Some(&h), b"x", t(1)).expect("first");
        assert_eq!(
            p,
            Published {
                seq: 1,
                duplicate: false
            }
        );
        let p = s.publish(b"s.a", Some(&h), b"x", t(5)).expect("dup");
        assert_eq!(
            p,
            Published {
                seq: 1,
                duplicate: true
            }
        );
        assert_eq!(s.state().messages, 1);
        // After the window the same id is stored again.
        let p = s.publish(b"s.a", Some(&h), b"x", t(20)).expect("again");
        assert_eq!(
            p,
            Published {
                seq: 2,
                duplicate: false
            }
        );
    });
}

#[test]
fn dedupe_window_rebuilt_on_reopen() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(|c| c.duplicate_window = 10_000_000_000);
    let mut s = open(&cfg, Some(tmp.path()));
    for (i, id) in ["old", "new"].iter().enumerate() {
        let h = hdrs(&[("Nats-Msg-Id", id)]);
        s.publish(b"s.a", Some(&h), b"x", t(i as u64 * 8))
            .expect("store");
    }
    s.sync_now().expect("sync");
    drop(s);
    let mut s = Stream::open(cfg, t(0), Some(tmp.path()), small_log(), t(12)).expect("reopen");
    let new = hdrs(&[("Nats-Msg-Id", "new")]);
    let p = s.publish(b"s.a", Some(&new), b"x", t(12)).expect("dup");
    assert_eq!(
        p,
        Published {
            seq: 2,
            duplicate: true
        }
    );
    let old = hdrs(&[("Nats-Msg-Id", "old")]);
    let p = s
        .publish(b"s.a", Some(&old), b"x", t(12))
        .expect("outside window");
    assert_eq!(
        p,
        Published {
            seq: 3,
            duplicate: false
        }
    );
    // The last msg id was rebuilt too.
    let want = hdrs(&[("Nats-Expected-Last-Msg-Id", "old")]);
    s.publish(b"s.a", Some(&want), b"x", t(12))
        .expect("last id matches");
}

#[test]
fn expectations() {
    each_storage(config(|_| {}), |s| {
        publish(s, "s.a", "x");
        publish(s, "s.b", "x");
        let bad = |s: &mut Stream, h: &[(&str, &str)]| {
            s.publish(b"s.a", Some(&hdrs(h)), b"x", t(1))
                .expect_err("refused")
        };
        assert_eq!(bad(s, &[("Nats-Expected-Stream", "T")]).err_code, 10060);
        let e = bad(s, &[("Nats-Expected-Last-Sequence", "1")]);
        assert_eq!(e.description, "wrong last sequence: 2");
        let e = bad(s, &[("Nats-Expected-Last-Subject-Sequence", "2")]);
        assert_eq!(e.description, "wrong last sequence: 1");
        let e = bad(s, &[("Nats-Expected-Last-Msg-Id", "z")]);
        assert_eq!(e.err_code, 10070);
        assert_eq!(bad(s, &[("Nats-Rollup", "sub")]).err_code, 10111);
        let ok = hdrs(&[
            ("Nats-Expected-Stream", "S"),
            ("Nats-Expected-Last-Sequence", "2"),
            ("Nats-Expected-Last-Subject-Sequence", "1"),
            ("Nats-Msg-Id", "id-3"),
        ]);
        assert_eq!(s.publish(b"s.a", Some(&ok), b"x", t(1)).expect("ok").seq, 3);
        let new_subject = hdrs(&[("Nats-Expected-Last-Subject-Sequence", "0")]);
        s.publish(b"s.new", Some(&new_subject), b"x", t(1))
            .expect("new subject");
        let e = s
            .publish(b"s.new", Some(&new_subject), b"x", t(1))
            .expect_err("subject exists");
        assert_eq!(e.description, "wrong last sequence: 4");
        let e = bad(s, &[("Nats-Expected-Last-Msg-Id", "id-3")]);
        assert_eq!(e.description, "wrong last msg ID: ");
    });
}

#[test]
fn rollup_sub_and_all() {
    each_storage(config(|c| c.allow_rollup_hdrs = true), |s| {
        for subj in ["s.a", "s.b", "s.a", "s.b"] {
            publish(s, subj, "x");
        }
        let sub = hdrs(&[("Nats-Rollup", "sub")]);
        assert_eq!(
            s.publish(b"s.a", Some(&sub), b"x", t(1))
                .expect("rollup")
                .seq,
            5
        );
        assert_eq!(live(s), vec![2, 4, 5]);
        let all = hdrs(&[("Nats-Rollup", "all")]);
        s.publish(b"s.c", Some(&all), b"x", t(1))
            .expect("rollup all");
        assert_eq!(live(s), vec![6]);
        assert!(
            s.take_evictions().is_empty(),
            "a rollup is a purge, not an eviction"
        );
    });
}

#[test]
fn max_age_expiry() {
    each_storage(config(|c| c.max_age = 10_000_000_000), |s| {
        assert_eq!(s.next_expiry(), None);
        s.publish(b"s.a", None, b"x", t(1)).expect("1");
        s.publish(b"s.a", None, b"x", t(5)).expect("2");
        s.publish(b"s.a", None, b"x", t(9)).expect("3");
        assert_eq!(s.next_expiry(), Some(t(11)));
        assert_eq!(s.expire(t(10)).expect("none yet"), 0);
        assert_eq!(s.expire(t(15)).expect("two"), 2);
        assert_eq!(live(s), vec![3]);
        assert_eq!(s.next_expiry(), Some(t(19)));
        let ev = s.take_evictions();
        assert_eq!((ev[0].first, ev[0].last, ev[0].msgs), (1, 2, 2));
        assert_eq!(s.expire(t(100)).expect("last"), 1);
        assert_eq!(s.next_expiry(), None);
    });
}

#[test]
fn update_enforces_shrunk_limits() {
    each_storage(config(|_| {}), |s| {
        for subj in ["s.a", "s.a", "s.a", "s.b", "s.b"] {
            publish(s, subj, "x");
        }
        let shrunk = config(|c| {
            c.max_msgs_per_subject = 2;
            c.max_msgs = 3;
        });
        s.update(shrunk, t(2)).expect("update");
        assert_eq!(live(s), vec![3, 4, 5]);
        assert_eq!(s.config().max_msgs, 3);
        assert_eq!(s.take_evictions().iter().map(|e| e.msgs).sum::<u64>(), 2);
    });
}

/// Large removals go through `purge_before` (whole segments) instead of one mark each.
#[test]
fn bulk_removals_by_update_and_age() {
    each_storage(config(|c| c.max_age = 10_000_000_000), |s| {
        for i in 0..300 {
            s.publish(b"s.a", None, b"0123456789", t(i / 100))
                .expect("pub");
        }
        s.update(
            config(|c| {
                c.max_age = 10_000_000_000;
                c.max_msgs = 150;
            }),
            t(3),
        )
        .expect("update");
        assert_eq!(live(s), (151..=300).collect::<Vec<_>>());
        let ev = s.take_evictions();
        assert_eq!(ev.iter().map(|e| e.msgs).sum::<u64>(), 150);
        // Seqs 201..=300 were stored at t(2): everything up to 200 expires at t(11).
        assert_eq!(s.expire(t(11)).expect("expire"), 50);
        assert_eq!(s.first_seq(), 201);
        assert_eq!(s.count_matching(0, &[]), 100);
        assert_eq!(s.expire(t(12)).expect("expire"), 100);
        assert_eq!((s.state().messages, s.state().first_seq), (0, 301));
        assert_eq!(publish(s, "s.b", "x"), 301);
    });
}
