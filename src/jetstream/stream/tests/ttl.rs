//! Per-message TTLs (`Nats-TTL`), `never` against `max_age`, subject delete markers, and
//! TTLs surviving a reopen.

use super::*;

const SEC: i64 = 1_000_000_000;

fn ttl_pub(s: &mut Stream, subject: &str, ttl: &str, at: u64) -> u64 {
    let h = hdrs(&[("Nats-TTL", ttl)]);
    s.publish(subject.as_bytes(), Some(&h), b"v", t(at))
        .expect("publish with TTL")
        .seq
}

#[test]
fn ttl_expires_its_message_without_max_age() {
    each_storage(config(|c| c.allow_msg_ttl = true), |s| {
        let a = ttl_pub(s, "s.a", "5s", 1);
        ttl_pub(s, "s.b", "2", 1);
        let c = publish(s, "s.c", "no ttl");
        assert_eq!(s.next_expiry(), Some(t(3)));
        assert_eq!(s.expire(t(2)).expect("nothing due"), 0);
        assert_eq!(s.expire(t(3)).expect("b due"), 1);
        assert_eq!(live(s), vec![a, c]);
        assert_eq!(s.next_expiry(), Some(t(6)));
        assert_eq!(s.expire(t(6)).expect("a due"), 1);
        assert_eq!(live(s), vec![c]);
        assert_eq!(s.next_expiry(), None, "no max_age, no TTL left");
        assert_eq!(s.take_evictions().iter().map(|e| e.msgs).sum::<u64>(), 2);
    });
}

#[test]
fn ttl_never_outlives_max_age_and_long_ttl_does_not() {
    each_storage(
        config(|c| {
            c.allow_msg_ttl = true;
            c.max_age = 10 * SEC;
        }),
        |s| {
            let never = ttl_pub(s, "s.a", "never", 1);
            let long = ttl_pub(s, "s.b", "1h", 1);
            let plain = publish(s, "s.c", "x");
            assert_eq!(s.next_expiry(), Some(t(11)));
            assert_eq!(s.expire(t(11)).expect("aged"), 2);
            assert_eq!(live(s), vec![never], "{long} and {plain} aged out");
            assert_eq!(s.next_expiry(), None, "only an exempt message is left");
            let later = publish(s, "s.d", "x");
            assert_eq!(s.next_expiry(), Some(t(11)));
            assert_eq!(s.expire(t(11)).expect("aged"), 1);
            assert_eq!(live(s), vec![never]);
            assert!(later > never);
        },
    );
}

#[test]
fn ttl_zero_digits_mean_no_ttl_and_need_no_permission() {
    each_storage(config(|_| {}), |s| {
        let h = hdrs(&[("Nats-TTL", "00")]);
        s.publish(b"s.a", Some(&h), b"v", t(1))
            .expect("no TTL asked");
        let h = hdrs(&[("Nats-TTL", "5")]);
        let err = s.publish(b"s.a", Some(&h), b"v", t(1)).unwrap_err();
        assert_eq!(err.err_code, 10166);
        assert_eq!(s.next_expiry(), None);
    });
}

#[test]
fn subject_delete_marker_replaces_the_last_message() {
    let cfg = config(|c| {
        c.max_age = 10 * SEC;
        c.subject_delete_marker_ttl = 60 * SEC;
    });
    assert!(
        cfg.allow_msg_ttl && cfg.allow_rollup_hdrs,
        "markers turn both on"
    );
    each_storage(cfg, |s| {
        publish(s, "s.a", "1");
        publish(s, "s.a", "2");
        publish(s, "s.b", "3");
        // All three age out at t(11): s.a's first goes, its second and s.b's only
        // message are each replaced by a marker.
        assert_eq!(s.expire(t(11)).expect("aged"), 3);
        assert_eq!(live(s), vec![4, 5]);
        for (seq, subject) in [(4, "s.a"), (5, "s.b")] {
            let m = s.get(seq).expect("get").expect("marker");
            assert_eq!(m.subject, subject.as_bytes());
            assert!(m.payload.is_empty());
            assert_eq!(
                m.headers,
                b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 1m0s\r\nNats-Rollup: sub\r\n\r\n"
            );
        }
        // Markers expire after their own TTL (also past max_age: they are aged like any
        // message) and leave nothing behind.
        assert_eq!(s.next_expiry(), Some(t(21)));
        assert_eq!(s.expire(t(21)).expect("markers aged"), 2);
        assert!(live(s).is_empty());
    });
}

#[test]
fn marker_ttl_raises_shorter_message_ttls() {
    each_storage(
        config(|c| {
            c.subject_delete_marker_ttl = 30 * SEC;
        }),
        |s| {
            let seq = ttl_pub(s, "s.a", "5s", 1);
            let m = s.get(seq).expect("get").expect("stored");
            assert_eq!(header_value(&m.headers, "Nats-TTL"), Some(&b"30"[..]));
            assert_eq!(s.next_expiry(), Some(t(31)));
            // A KV purge marker that expires leaves no marker behind.
            let h = hdrs(&[("KV-Operation", "PURGE"), ("Nats-TTL", "40")]);
            let purge = s.publish(b"s.b", Some(&h), b"", t(1)).expect("purge").seq;
            assert_eq!(s.expire(t(31)).expect("due"), 1);
            assert_eq!(live(s), vec![purge, purge + 1], "s.a's marker follows");
            assert_eq!(s.expire(t(41)).expect("purge due"), 1);
            assert_eq!(live(s), vec![purge + 1]);
        },
    );
}

#[test]
fn ttls_survive_reopen_and_removal_forgets_them() {
    let cfg = config(|c| c.allow_msg_ttl = true);
    let tmp = tempfile::tempdir().expect("tmp");
    {
        let mut s = open(&cfg, Some(tmp.path()));
        ttl_pub(&mut s, "s.a", "5s", 1);
        let gone = ttl_pub(&mut s, "s.b", "2s", 1);
        ttl_pub(&mut s, "s.c", "never", 1);
        assert!(s.delete(gone).expect("delete"));
        s.sync_now().expect("sync");
    }
    let mut s = open(&cfg, Some(tmp.path()));
    assert_eq!(
        s.next_expiry(),
        Some(t(6)),
        "the deleted 2s TTL is not armed"
    );
    assert_eq!(s.expire(t(6)).expect("due"), 1);
    assert_eq!(live(&s), vec![3]);
    assert_eq!(s.next_expiry(), None);
}
