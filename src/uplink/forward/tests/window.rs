//! Sending: order and message ids, the window and the byte budget, acks and the cursor, the durable limit.

use super::*;

#[test]
fn sends_records_in_order_with_msg_ids_under_the_prefix_up_to_the_window() {
    let now = Instant::now();
    let w = START_WINDOW as u64;
    let src = Mem::with(w + 36);
    let mut fw = ready(&src, 0, now);
    assert!(fw.wants_pump(src.last_seq()));

    // The first burst stops at the starting byte budget (the window would allow more).
    let out = pump(&mut fw, &src, now);
    let n = out.len() as u64;
    assert!(n > 0 && n < w, "bounded by bytes, not the window: {n}");
    assert_eq!(seqs(&out), (1..=n).collect::<Vec<_>>());
    for f in &out {
        let seq = frame_seq(f);
        assert_eq!(f.subject, b"edge1.sensors.t");
        assert_eq!(f.reply, format!("_INBOX.up.fwd.a.{seq}").into_bytes());
        assert_eq!(f.payload, format!("m{seq}").into_bytes());
        let id = format!("edge1:SENSORS:42:{seq}");
        assert_eq!(id, msg_id(NODE, STREAM, EPOCH, seq));
        let headers = f.headers.as_deref().expect("publishes carry headers");
        assert_eq!(header_value(headers, "Nats-Msg-Id"), Some(id.as_bytes()));
        assert_eq!(
            headers,
            format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n").as_bytes()
        );
    }
    let st = status(&mut fw, &src, now);
    assert_eq!(st.in_flight as u64, n);
    assert!(
        st.in_flight_bytes < START_BYTES + 256,
        "{}",
        st.in_flight_bytes
    );
    assert_eq!(st.window, START_WINDOW);
    assert_eq!(st.state, "sending");

    // The budget is spent: nothing more until acks.
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    // Acks free bytes; refills wait for an eighth of the budget (fewer, larger writes).
    ack(&mut fw, 1, now);
    assert!(!fw.wants_pump(src.last_seq()));
    for seq in 2..=n / 4 {
        ack(&mut fw, seq, now);
    }
    assert!(
        fw.wants_pump(src.last_seq()),
        "an eighth of the budget is free"
    );
    let out = pump(&mut fw, &src, now);
    assert_eq!(seqs(&out)[0], n + 1, "continues in order");
}

#[test]
fn the_byte_budget_follows_the_acknowledged_rate() {
    let mut now = Instant::now();
    let src = Mem::with(100_000);
    let mut fw = ready(&src, 0, now);
    // A slow link: each 100 ms the hub acknowledges what was sent 100 ms earlier.
    let mut sent = Vec::new();
    for _ in 0..20 {
        sent.extend(seqs(&pump(&mut fw, &src, now)));
        now += Duration::from_millis(100);
        for seq in sent.drain(..) {
            ack(&mut fw, seq, now);
        }
    }
    let st = status(&mut fw, &src, now);
    // About START_BYTES every 100 ms was acknowledged while backlogged: the budget settles
    // near half a second of that rate (capped by the window), never below the minimum.
    assert!(st.acked_bytes_per_sec > 0, "{st:?}");
    assert!(
        st.acked_bytes_per_sec as usize >= START_BYTES * 5,
        "rate {} B/s",
        st.acked_bytes_per_sec
    );
}

#[test]
fn room_limits_how_much_one_pump_sends() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    let mut out = Vec::new();
    fw.pump(&src, now, 1, &mut |_| true, INBOX, &mut out);
    assert_eq!(
        seqs(&out),
        vec![1],
        "one record when the link has little room"
    );
    out.clear();
    fw.pump(&src, now, 0, &mut |_| true, INBOX, &mut out);
    assert!(out.is_empty(), "no room: nothing sent");
}

#[test]
fn cursor_advances_only_over_the_contiguous_acked_prefix() {
    let now = Instant::now();
    let src = Mem::with(5);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3, 4, 5]);
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 3, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 0, "3 acked but 1 and 2 are not");
    assert_eq!(st.forwarded, 1);
    assert_eq!(st.in_flight, 5);
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 1, now);
    assert_eq!(status(&mut fw, &src, now).cursor, 1);
    assert_eq!(fw.take_dirty_cursor(), Some(1));
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 2, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 3, "2 fills the gap up to the already acked 3");
    assert_eq!(st.in_flight, 2);
    assert_eq!(st.hub_stream, "HUB");
    assert_eq!(st.hub_seq, 102);
    assert_eq!(fw.take_dirty_cursor(), Some(3));
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 4, now);
    ack(&mut fw, 5, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 5);
    assert_eq!(st.forwarded, 5);
    assert_eq!(st.in_flight, 0);
    assert_eq!(st.pending_msgs, 0);
    assert_eq!(st.state, "idle");
    assert_eq!(fw.take_dirty_cursor(), Some(5));
}

#[test]
fn duplicate_ack_counts_as_an_ack() {
    let now = Instant::now();
    let src = Mem::with(2);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2]);

    fw.on_reply(ReplyTo::Ack(1), None, &ack_json(9, true), now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 1);
    assert_eq!(st.duplicates, 1);
    assert_eq!(st.forwarded, 1);
    assert_eq!(st.hub_seq, 9);
    assert_eq!(fw.take_dirty_cursor(), Some(1));

    ack(&mut fw, 2, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 2);
    assert_eq!(st.duplicates, 1, "a plain ack is not a duplicate");
    assert_eq!(st.forwarded, 2);
}

#[test]
fn records_above_the_durable_limit_are_not_sent() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    src.durable = 6;
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), (1..=6).collect::<Vec<_>>());
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    src.durable = 10;
    assert!(fw.wants_pump(src.last_seq()));
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![7, 8, 9, 10]);
}
