//! Deliver policies and pull requests: batch, max_bytes, no_wait, expires, heartbeats,
//! max_waiting, request limits, close.

use crate::jetstream::consumer::{ConsumerConfig, DeliverPolicy};
use crate::jetstream::time::Timestamp;

use super::{at, at_ms, consumer, deliveries, durable, statuses, Fake, T0};

fn start_seqs(cfg: ConsumerConfig, src: &Fake) -> Vec<u64> {
    let mut c = consumer(cfg, src);
    let mut out = Vec::new();
    c.pull(b"inbox", b"100", src, at(0), &mut out);
    deliveries(&out).iter().map(|d| d.1).collect()
}

#[test]
fn deliver_policies() {
    let mut src = Fake::with(&["a.1", "a.2", "a.1", "b.1", "a.2"]);
    src.delete(1);
    let with = |f: &dyn Fn(&mut ConsumerConfig)| {
        let mut c = durable();
        f(&mut c);
        c
    };
    assert_eq!(start_seqs(durable(), &src), [2, 3, 4, 5]);
    let last = with(&|c| c.deliver_policy = DeliverPolicy::Last);
    assert_eq!(start_seqs(last, &src), [5]);
    let last_a1 = with(&|c| {
        c.deliver_policy = DeliverPolicy::Last;
        c.filter_subject = "a.1".into();
    });
    assert_eq!(start_seqs(last_a1, &src), [3]);
    let new = with(&|c| c.deliver_policy = DeliverPolicy::New);
    assert_eq!(start_seqs(new, &src), Vec::<u64>::new());
    let by_seq = with(&|c| {
        c.deliver_policy = DeliverPolicy::ByStartSequence;
        c.opt_start_seq = 4;
    });
    assert_eq!(start_seqs(by_seq, &src), [4, 5]);
    // Message 3 is stored at T0 + 3 s = 2026-11-23T17:51:25Z.
    let by_time = with(&|c| {
        c.deliver_policy = DeliverPolicy::ByStartTime;
        c.opt_start_time = Some("2026-11-23T17:51:25Z".into());
    });
    assert_eq!(
        Timestamp(T0 + 3 * super::SEC).to_rfc3339(),
        "2026-11-23T17:51:25Z"
    );
    assert_eq!(start_seqs(by_time, &src), [3, 4, 5]);
    let lps = with(&|c| {
        c.deliver_policy = DeliverPolicy::LastPerSubject;
        c.filter_subject = "a.*".into();
    });
    let mut c = consumer(lps, &src);
    let mut out = Vec::new();
    c.pull(b"inbox", b"10", &src, at(0), &mut out);
    // The last of a.1 (3) and a.2 (5), then nothing more until a new a.* message.
    assert_eq!(deliveries(&out), [(1, 3, 1, 1), (1, 5, 2, 0)]);
    src.publish("a.1", b"x");
    out.clear();
    c.poll(&src, at(1), &mut out);
    assert_eq!(deliveries(&out), [(1, 6, 3, 0)]);
}

#[test]
fn batch_then_408_with_pending_headers() {
    // Capture 04: batch 2 of 3, acks, then batch 5 gets the last one and a 408 with 4.
    let mut src = Fake::with(&["ORDERS.new", "ORDERS.new", "ORDERS.new"]);
    src.msgs[1].headers = b"NATS/1.0\r\nNats-Msg-Id: id-2\r\n\r\n".to_vec();
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    c.pull(
        b"_INBOX.a",
        br#"{"batch": 2, "expires": 1000000000}"#,
        &src,
        at(0),
        &mut out,
    );
    assert_eq!(deliveries(&out), [(1, 1, 1, 2), (1, 2, 2, 1)]);
    // Stored headers go out as they are (HMSG); none → MSG.
    assert_eq!(out[0].headers, None);
    assert_eq!(
        out[1].headers.as_deref(),
        Some(&b"NATS/1.0\r\nNats-Msg-Id: id-2\r\n\r\n"[..])
    );
    assert_eq!(out[1].payload, b"data");
    assert_eq!(out[0].to, b"_INBOX.a");
    assert_eq!(out[0].subject, b"ORDERS.new");
    assert_eq!(
        out[0].reply.as_deref().unwrap(),
        format!("$JS.ACK.S.dur.1.1.1.{}.2", T0 + super::SEC).as_bytes()
    );
    assert!(
        statuses(&out).is_empty(),
        "a filled batch ends without a status"
    );
    assert_eq!(c.num_waiting(), 0);
    out.clear();
    c.pull(
        b"_INBOX.b",
        br#"{"batch": 5, "expires": 1000000000}"#,
        &src,
        at(1),
        &mut out,
    );
    assert_eq!(deliveries(&out), [(1, 3, 3, 0)]);
    assert_eq!(c.next_deadline(), Some(at(2)));
    out.clear();
    c.poll(&src, at_ms(1999), &mut out);
    assert!(out.is_empty());
    c.poll(&src, at(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].headers.as_deref().unwrap(),
        b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 4\r\nNats-Pending-Bytes: 0\r\n\r\n"
    );
    assert_eq!(out[0].to, b"_INBOX.b");
    assert!(out[0].payload.is_empty());
}

#[test]
fn no_wait_forms_of_capture_16() {
    let mut src = Fake::with(&["nw.a"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    // Batch 5, one message: the message then 404.
    c.pull(
        b"i1",
        br#"{"batch":5,"no_wait":true}"#,
        &src,
        at(0),
        &mut out,
    );
    assert_eq!(deliveries(&out), [(1, 1, 1, 0)]);
    assert_eq!(statuses(&out), ["404 No Messages"]);
    // Nothing pending, no expires: 404 at once.
    out.clear();
    c.pull(
        b"i2",
        br#"{"batch":1,"no_wait":true}"#,
        &src,
        at(0),
        &mut out,
    );
    assert_eq!(statuses(&out), ["404 No Messages"]);
    // With expires and nothing pending: waits, then 408 with the whole batch.
    out.clear();
    c.pull(
        b"i3",
        br#"{"batch":5,"no_wait":true,"expires":1000000000}"#,
        &src,
        at(1),
        &mut out,
    );
    assert!(out.is_empty());
    c.poll(&src, at(2), &mut out);
    assert_eq!(statuses(&out), ["408 Request Timeout"]);
    assert!(String::from_utf8_lossy(out[0].headers.as_deref().unwrap())
        .contains("Nats-Pending-Messages: 5\r\n"));
    // With expires: a message that arrives meanwhile is delivered, then 404.
    out.clear();
    c.pull(
        b"i4",
        br#"{"batch":5,"no_wait":true,"expires":2000000000}"#,
        &src,
        at(3),
        &mut out,
    );
    src.publish("nw.b", b"late");
    c.poll(&src, at(4), &mut out);
    assert_eq!(deliveries(&out), [(1, 2, 2, 0)]);
    assert_eq!(statuses(&out), ["404 No Messages"]);
    assert_eq!(c.num_waiting(), 0);
}

#[test]
fn max_bytes() {
    let src = Fake::with(&["ORDERS.new", "ORDERS.new"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    // Capture 04: max_bytes 5 is smaller than the message → 409 with 1 and 5.
    c.pull(
        b"g",
        br#"{"batch": 1, "max_bytes": 5, "expires": 1000000000}"#,
        &src,
        at(0),
        &mut out,
    );
    assert_eq!(
        out[0].headers.as_deref().unwrap(),
        b"NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 5\r\n\r\n"
    );
    assert_eq!(c.num_waiting(), 0);
    // One message is subject 10 + ack subject + payload 4 bytes; room for exactly one.
    let one = 10 + format!("$JS.ACK.S.dur.1.1.1.{}.1", T0 + super::SEC).len() + 4;
    out.clear();
    let body = format!(
        r#"{{"batch": 5, "max_bytes": {}, "expires": 1000000000}}"#,
        one + 10
    );
    c.pull(b"h", body.as_bytes(), &src, at(0), &mut out);
    assert_eq!(deliveries(&out).len(), 1);
    assert_eq!(statuses(&out), ["409 Message Size Exceeds MaxBytes"]);
    assert!(String::from_utf8_lossy(out[1].headers.as_deref().unwrap())
        .contains("Nats-Pending-Messages: 4\r\nNats-Pending-Bytes: 10\r\n"));
}

#[test]
fn idle_heartbeats_then_timeout() {
    // Capture 04: expires 3 s, heartbeat 1 s → two heartbeats, then 408 with 1.
    let src = Fake::default();
    let mut c = consumer(durable(), &src);
    c.consumer_seq = 4;
    c.next_seq = 5;
    let mut out = Vec::new();
    let body = br#"{"batch": 1, "expires": 3000000000, "idle_heartbeat": 1000000000}"#;
    c.pull(b"e", body, &src, at(0), &mut out);
    assert!(out.is_empty());
    for t in 1..=3 {
        assert_eq!(c.next_deadline(), Some(at(t)));
        c.poll(&src, at(t), &mut out);
    }
    assert_eq!(
        statuses(&out),
        [
            "100 Idle Heartbeat",
            "100 Idle Heartbeat",
            "408 Request Timeout"
        ]
    );
    assert_eq!(
        out[0].headers.as_deref().unwrap(),
        b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 4\r\nNats-Last-Stream: 4\r\n\r\n"
    );
    out.clear();
    c.pull(
        b"x",
        br#"{"batch":1,"idle_heartbeat":1000}"#,
        &src,
        at(4),
        &mut out,
    );
    assert_eq!(
        statuses(&out),
        ["400 Bad Request - heartbeat value too large"]
    );
}

#[test]
fn waiting_limits_and_close() {
    let src = Fake::default();
    let mut cfg = durable();
    cfg.max_waiting = 2;
    cfg.max_request_batch = 10;
    cfg.max_request_expires = 2_000_000_000;
    cfg.max_request_max_bytes = 100;
    let mut c = consumer(cfg, &src);
    let mut out = Vec::new();
    c.pull(b"a", b"", &src, at(0), &mut out);
    c.pull(b"b", b"1", &src, at(0), &mut out);
    assert!(out.is_empty());
    assert_eq!(c.num_waiting(), 2);
    c.pull(b"c", b"1", &src, at(0), &mut out);
    // With heartbeats a full queue is silent, as nats-server.
    c.pull(
        b"d",
        br#"{"expires":10,"idle_heartbeat":1}"#,
        &src,
        at(0),
        &mut out,
    );
    c.pull(b"e", b"11", &src, at(0), &mut out);
    c.pull(b"f", br#"{"expires":3000000000}"#, &src, at(0), &mut out);
    c.pull(b"g", br#"{"max_bytes":101}"#, &src, at(0), &mut out);
    assert_eq!(
        statuses(&out),
        [
            "409 Exceeded MaxWaiting",
            "409 Exceeded MaxRequestBatch of 10",
            "409 Exceeded MaxRequestExpires of 2s",
            "409 Exceeded MaxRequestMaxBytes of 100",
        ]
    );
    out.clear();
    c.close(&mut out);
    assert_eq!(
        statuses(&out),
        ["409 Consumer Deleted", "409 Consumer Deleted"]
    );
    assert_eq!(out[0].to, b"a");
    assert!(!c.has_waiting());
}

#[test]
fn requests_are_served_round_robin() {
    let src = Fake::with(&["x", "x", "x", "x"]);
    let mut c = consumer(durable(), &src);
    let mut out = Vec::new();
    // Queue two requests while the stream looks empty, then let them share 4 messages.
    let cfg_src = Fake::default();
    c.pull(b"a", b"2", &cfg_src, at(0), &mut out);
    c.pull(b"b", b"3", &cfg_src, at(0), &mut out);
    c.poll(&src, at(1), &mut out);
    let to: Vec<&[u8]> = out.iter().map(|o| o.to.as_slice()).collect();
    assert_eq!(to, [b"a", b"b", b"a", b"b"]);
    assert_eq!(c.num_waiting(), 1);
}
