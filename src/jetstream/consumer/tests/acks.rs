//! Acks and redelivery: ack/nak (delay)/wpi/term/nxt/double ack, ack_wait and backoff,
//! max_deliver, max_ack_pending, ack policy all and none, persistence, inactivity.

use crate::jetstream::consumer::{parse_ack_subject, AckPolicy, Consumer, PersistedConsumer};
use crate::jetstream::source::Outgoing;

use super::{ack_of, at, at_ms, consumer, deliveries, durable, statuses, Fake};

/// Acks the delivery `d` with `payload`, returning the settled seqs.
fn ack(
    c: &mut Consumer,
    d: &Outgoing,
    payload: &[u8],
    reply: Option<&[u8]>,
    src: &Fake,
    secs: u64,
    out: &mut Vec<Outgoing>,
) -> Vec<u64> {
    let subject = d.reply.clone().unwrap();
    let a = parse_ack_subject(&subject).unwrap();
    c.ack(&a, payload, reply, src, at(secs), out)
}

#[test]
fn ack_subject_forms() {
    let v1 = parse_ack_subject(b"$JS.ACK.ORDERS.dur1.2.4.4.1795456283398231294.0").unwrap();
    assert_eq!(
        (
            v1.stream,
            v1.consumer,
            v1.delivered,
            v1.stream_seq,
            v1.consumer_seq,
            v1.pending
        ),
        ("ORDERS", "dur1", 2, 4, 4, 0)
    );
    assert_eq!(v1.timestamp, 1_795_456_283_398_231_294);
    let v2 = parse_ack_subject(b"$JS.ACK._.szMpdrwD.ORDERS.dur1.1.2.3.99.7.tok").unwrap();
    assert_eq!(
        (v2.stream, v2.consumer, v2.stream_seq, v2.pending),
        ("ORDERS", "dur1", 2, 7)
    );
    assert!(parse_ack_subject(b"$JS.ACK.ORDERS.dur1.x.4.4.1.0").is_none());
    assert!(parse_ack_subject(b"$JS.ACK.ORDERS.dur1.1.4.4.1").is_none());
    assert!(parse_ack_subject(b"$JS.API.X").is_none());
}

#[test]
fn ack_nak_delay_wpi_term_double_ack() {
    // Capture 04's dur1 flow: deliver 1-3, ack 1, double-ack 2, NAK 3 with delay.
    let src = Fake::with(&["o", "o", "o"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    c.pull(b"a", b"3", &src, at(0), &mut out);
    let d: Vec<Outgoing> = std::mem::take(&mut out);
    assert_eq!(ack(&mut c, &d[0], b"", None, &src, 1, &mut out), [1]);
    assert!(out.is_empty());
    assert_eq!(
        ack(&mut c, &d[1], b"+ACK", Some(b"_INBOX.x"), &src, 1, &mut out),
        [2]
    );
    assert_eq!(out, [Outgoing::reply(b"_INBOX.x", Vec::new())]);
    let info = c.info(&src, at(1));
    assert_eq!(
        (info.ack_floor.stream_seq, info.ack_floor.consumer_seq),
        (2, 2)
    );
    assert_eq!(info.num_ack_pending, 1);
    out.clear();
    assert!(ack(
        &mut c,
        &d[2],
        br#"-NAK {"delay":500000000}"#,
        None,
        &src,
        1,
        &mut out
    )
    .is_empty());
    // Nothing deliverable now: a no_wait pull gets 404.
    c.pull(
        b"c",
        br#"{"batch": 1, "no_wait": true}"#,
        &src,
        at(1),
        &mut out,
    );
    assert_eq!(statuses(&out), ["404 No Messages"]);
    out.clear();
    c.pull(
        b"d",
        br#"{"batch": 1, "expires": 2000000000}"#,
        &src,
        at(1),
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(c.next_deadline(), Some(at_ms(1500)));
    c.poll(&src, at_ms(1500), &mut out);
    // Redelivered: delivered count 2, consumer seq 4 (it grows on redelivery).
    assert_eq!(deliveries(&out), [(2, 3, 4, 0)]);
    let info = c.info(&src, at(2));
    assert_eq!(info.num_redelivered, 1);
    let r = out.remove(0);
    // +WPI restarts the 30 s timer; +TERM settles it.
    assert!(ack(&mut c, &r, b"+WPI", None, &src, 20, &mut out).is_empty());
    c.poll(&src, at(31), &mut out);
    assert!(out.is_empty());
    assert_eq!(ack(&mut c, &r, b"+TERM", None, &src, 21, &mut out), [3]);
    let info = c.info(&src, at(22));
    assert_eq!(
        (info.ack_floor.stream_seq, info.ack_floor.consumer_seq),
        (3, 4)
    );
    assert_eq!(
        (info.delivered.stream_seq, info.delivered.consumer_seq),
        (3, 4)
    );
    assert_eq!(info.num_ack_pending, 0);
    // Acking again is harmless and still answers a double ack.
    assert!(ack(&mut c, &r, b"+ACK", Some(b"r"), &src, 22, &mut out).is_empty());
    assert_eq!(out.len(), 1);
}

#[test]
fn nak_without_delay_and_go_duration_delay() {
    let src = Fake::with(&["o", "o"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    c.pull(b"a", b"2", &src, at(0), &mut out);
    let d: Vec<Outgoing> = std::mem::take(&mut out);
    ack(&mut c, &d[0], b"-NAK", None, &src, 0, &mut out);
    ack(&mut c, &d[1], b"-NAK 5s", None, &src, 0, &mut out);
    c.pull(b"b", b"2", &src, at(1), &mut out);
    assert_eq!(deliveries(&out), [(2, 1, 3, 0)]);
    out.clear();
    c.poll(&src, at(5), &mut out);
    assert_eq!(deliveries(&out), [(2, 2, 4, 0)]);
}

#[test]
fn ack_wait_and_backoff_redelivery_until_max_deliver() {
    let src = Fake::with(&["o"]);
    let mut cfg = durable();
    cfg.backoff = vec![1_000_000_000, 3_000_000_000];
    cfg.max_deliver = 3;
    cfg.normalise();
    let mut c = consumer(cfg, &src);
    let mut out = Vec::new();
    c.pull(
        b"a",
        br#"{"batch":10,"expires":60000000000}"#,
        &src,
        at(0),
        &mut out,
    );
    assert_eq!(deliveries(&out), [(1, 1, 1, 0)]);
    // First wait is backoff[0] = 1 s, then backoff[1] = 3 s; then max_deliver stops it.
    assert_eq!(c.next_deadline(), Some(at(1)));
    c.poll(&src, at(1), &mut out);
    assert_eq!(deliveries(&out)[1], (2, 1, 2, 0));
    assert_eq!(c.next_deadline(), Some(at(4)));
    c.poll(&src, at(4), &mut out);
    assert_eq!(deliveries(&out)[2], (3, 1, 3, 0));
    c.poll(&src, at(30), &mut out);
    assert_eq!(deliveries(&out).len(), 3);
    let info = c.info(&src, at(30));
    assert_eq!(info.num_ack_pending, 0);
    assert_eq!(info.ack_floor.stream_seq, 1);
}

#[test]
fn max_ack_pending_holds_new_messages_back() {
    let src = Fake::with(&["o", "o", "o"]);
    let mut cfg = durable();
    cfg.max_ack_pending = 2;
    let mut c = consumer(cfg, &src);
    let mut out = Vec::new();
    c.pull(b"a", b"3", &src, at(0), &mut out);
    assert_eq!(deliveries(&out).len(), 2);
    assert_eq!(c.num_waiting(), 1);
    let first = out.remove(0);
    ack(&mut c, &first, b"", None, &src, 1, &mut out);
    out.clear();
    c.poll(&src, at(1), &mut out);
    assert_eq!(deliveries(&out), [(1, 3, 3, 0)]);
}

#[test]
fn ack_all_and_ack_none() {
    let src = Fake::with(&["o", "o", "o"]);
    let mut cfg = durable();
    cfg.ack_policy = AckPolicy::All;
    let mut c = consumer(cfg, &src);
    let mut out = Vec::new();
    c.pull(b"a", b"3", &src, at(0), &mut out);
    let d: Vec<Outgoing> = std::mem::take(&mut out);
    assert_eq!(ack(&mut c, &d[1], b"", None, &src, 1, &mut out), [1, 2]);
    assert_eq!(c.info(&src, at(1)).num_ack_pending, 1);

    let mut none = durable();
    none.ack_policy = AckPolicy::None;
    none.max_ack_pending = 0;
    none.normalise();
    let mut c = consumer(none, &src);
    c.pull(b"a", b"3", &src, at(0), &mut out);
    let info = c.info(&src, at(0));
    assert_eq!((info.num_ack_pending, info.ack_floor.stream_seq), (0, 3));
    assert!(ack(&mut c, &d[0], b"", None, &src, 1, &mut out).is_empty());
}

#[test]
fn next_acks_and_pulls_to_the_reply() {
    let src = Fake::with(&["o", "o", "o"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    c.pull(b"f", b"1", &src, at(0), &mut out);
    let d = out.remove(0);
    assert_eq!(ack_of(&d).pending, 2);
    let settled = ack(
        &mut c,
        &d,
        br#"+NXT {"batch":2}"#,
        Some(b"next"),
        &src,
        1,
        &mut out,
    );
    assert_eq!(settled, [1]);
    assert_eq!(deliveries(&out), [(1, 2, 2, 1), (1, 3, 3, 0)]);
    assert!(out.iter().all(|o| o.to == b"next"));
}

#[test]
fn persisted_round_trip() {
    let src = Fake::with(&["o", "o", "o", "o"]);
    let mut c = consumer(durable(), &src);
    assert!(c.take_dirty());
    assert!(!c.take_dirty());
    let mut out = Vec::new();
    c.pull(b"a", b"3", &src, at(0), &mut out);
    let d: Vec<Outgoing> = std::mem::take(&mut out);
    ack(&mut c, &d[0], b"", None, &src, 1, &mut out);
    ack(&mut c, &d[1], b"-NAK", None, &src, 1, &mut out);
    assert!(c.take_dirty());
    let p = c.persisted();
    let json = serde_json::to_vec(&p).unwrap();
    let back: PersistedConsumer = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, p);
    let mut r = Consumer::restore("S", back);
    assert_eq!(r.persisted(), p);
    assert_eq!(r.info(&src, at(2)), c.info(&src, at(2)));
    // The restored consumer redelivers the NAK'd message first, then continues at 4.
    r.pull(b"b", b"2", &src, at(2), &mut out);
    assert_eq!(deliveries(&out), [(2, 2, 4, 1), (1, 4, 5, 0)]);
    // Message 3 is redelivered after its ack wait.
    out.clear();
    r.pull(
        b"c",
        br#"{"batch":1,"expires":60000000000}"#,
        &src,
        at(3),
        &mut out,
    );
    r.poll(&src, at(30), &mut out);
    assert_eq!(deliveries(&out), [(2, 3, 6, 0)]);
}

#[test]
fn ephemeral_expiry() {
    let src = Fake::with(&["o"]);
    let mut cfg = crate::jetstream::consumer::ConsumerConfig::default();
    cfg.normalise();
    let mut c = consumer(cfg, &src);
    assert!(!c.is_durable());
    assert_eq!(c.next_deadline(), Some(at(5)));
    assert!(!c.expired(at(4)));
    assert!(c.expired(at(5)));
    // A waiting request keeps it alive; activity restarts the clock.
    let mut out = Vec::new();
    c.pull(b"a", b"2", &src, at(6), &mut out);
    assert!(!c.expired(at(100)));
    c.retain_waiting(|_| false);
    assert!(!c.expired(at(10)));
    assert!(c.expired(at(11)));
    // Durables without a threshold never expire.
    let d = consumer(durable(), &src);
    assert!(!d.expired(at(1_000_000)));
    assert_eq!(d.next_deadline(), None);
}

#[test]
fn ack_floor_follows_redelivered_consumer_seqs() {
    let src = Fake::with(&["o", "o"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    c.pull(b"a", b"2", &src, at(0), &mut out);
    let d: Vec<Outgoing> = std::mem::take(&mut out);
    ack(&mut c, &d[0], b"-NAK", None, &src, 0, &mut out);
    c.pull(b"b", b"1", &src, at(1), &mut out);
    let again = out.remove(0);
    assert_eq!(ack_of(&again).consumer_seq, 3);
    ack(&mut c, &d[1], b"", None, &src, 1, &mut out);
    assert_eq!(c.ack_floor(), (0, 2));
    assert!(c.needs(1) && !c.needs(2) && c.needs(3));
    ack(&mut c, &again, b"", None, &src, 2, &mut out);
    assert_eq!(c.ack_floor(), (2, 3));
}
