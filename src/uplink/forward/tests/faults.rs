//! What goes wrong: hub errors, no responders and no interest pause; ack timeouts resend with a smaller window; a link drop clears what was in flight.

use super::*;

#[test]
fn error_puback_pauses_then_resolves_and_resends_from_the_cursor() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3]);
    ack(&mut fw, 1, now);

    fw.on_reply(
        ReplyTo::Ack(2),
        None,
        &error_json(503, 10077, "maximum messages exceeded"),
        now,
    );
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.cursor, 1);
    assert_eq!(st.in_flight, 0);
    let err = st.last_error.expect("the hub error is kept");
    assert!(err.contains("maximum messages exceeded"), "{err}");
    assert!(err.contains("10077"), "{err}");
    assert!(err.contains("seq 2"), "{err}");

    // Paused: nothing goes out, not even a resolve request.
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());
    assert!(pump(&mut fw, &src, now + Duration::from_millis(400)).is_empty());

    // After the pause: resolve again, then resend everything after the cursor.
    let later = now + Duration::from_millis(600);
    resolve(&mut fw, &src, later, None);
    let out = pump(&mut fw, &src, later);
    assert_eq!(seqs(&out), vec![2, 3]);

    ack(&mut fw, 2, later);
    ack(&mut fw, 3, later);
    let st = status(&mut fw, &src, later);
    assert_eq!(st.cursor, 3);
    assert_eq!(st.last_error, None, "a good ack clears the error");
}

#[test]
fn no_responders_on_a_publish_pauses() {
    let now = Instant::now();
    let src = Mem::with(1);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1]);
    fw.on_reply(ReplyTo::Ack(1), Some(b"NATS/1.0 503\r\n\r\n"), b"", now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.cursor, 0);
    assert!(st.last_error.unwrap().contains("no responders"));
}

#[test]
fn ack_timeout_resends_from_the_cursor_with_half_the_window() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    ack(&mut fw, 1, now);
    ack(&mut fw, 2, now);
    let window = status(&mut fw, &src, now).window;
    assert_eq!(window, START_WINDOW + 2, "one more per ack");

    // Not yet timed out: nothing is resent.
    let almost = now + ACK_TIMEOUT - Duration::from_millis(1);
    assert!(pump(&mut fw, &src, almost).is_empty());

    // It asks the hub what it holds before resending (here: none of the records in doubt),
    // so a duplicate window shorter than the wait cannot let a resend through twice.
    let late = now + ACK_TIMEOUT;
    resolve(&mut fw, &src, late, Some("edge1:SENSORS:42:2"));
    let out = pump(&mut fw, &src, late);
    assert_eq!(seqs(&out), (3..=10).collect::<Vec<_>>());
    let st = status(&mut fw, &src, late);
    assert_eq!(st.window, window / 2);
    assert_eq!(st.cursor, 2);
    assert_eq!(st.in_flight, 8);

    // The resend's acks move the cursor as usual.
    for seq in 3..=10 {
        ack(&mut fw, seq, late);
    }
    assert_eq!(status(&mut fw, &src, late).cursor, 10);
}

#[test]
fn ack_timeouts_never_shrink_the_window_below_the_minimum() {
    let mut now = Instant::now();
    let src = Mem::with(100);
    let mut fw = ready(&src, 0, now);
    for _ in 0..10 {
        assert!(!pump(&mut fw, &src, now).is_empty());
        now += ACK_TIMEOUT;
        resolve(&mut fw, &src, now, None);
    }
    let out = pump(&mut fw, &src, now);
    assert_eq!(status(&mut fw, &src, now).window, 4);
    assert_eq!(seqs(&out), vec![1, 2, 3, 4]);
}

#[test]
fn no_hub_stream_pauses_with_the_filter_in_the_error() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = forwarder(0);
    fw.link_ready();
    let out = pump(&mut fw, &src, now);
    let gen = resolve_gen(&out[0]);
    fw.on_reply(ReplyTo::Resolve(gen), None, br#"{"streams":null}"#, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert!(st.last_error.unwrap().contains("edge1.sensors.>"));
    assert!(pump(&mut fw, &src, now).is_empty());
}

#[test]
fn link_down_clears_in_flight_and_resending_restarts_after_the_cursor() {
    let now = Instant::now();
    let src = Mem::with(5);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3, 4, 5]);
    ack(&mut fw, 1, now);
    ack(&mut fw, 2, now);

    fw.link_down();
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "down");
    assert_eq!(st.in_flight, 0);
    assert_eq!(st.cursor, 2);
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    // A late ack from the old link is for nothing in flight.
    ack(&mut fw, 4, now);
    assert_eq!(status(&mut fw, &src, now).cursor, 2);

    fw.link_ready();
    assert!(fw.wants_pump(src.last_seq()));
    resolve(&mut fw, &src, now, None);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![3, 4, 5]);
}

#[test]
fn no_hub_interest_pauses_without_sending() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = ready(&src, 0, now);
    let mut asked = Vec::new();
    let mut out = Vec::new();
    fw.pump(
        &src,
        now,
        usize::MAX,
        &mut |s| {
            asked.push(s.to_vec());
            false
        },
        INBOX,
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(asked, vec![b"edge1.sensors.t".to_vec()]);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.in_flight, 0);
    let err = st.last_error.expect("the reason is kept");
    assert!(err.contains("edge1.sensors.t"), "{err}");
    assert!(pump(&mut fw, &src, now).is_empty());
}
