//! What goes on the wire: the headers of a forwarded record, and the reply subjects answers come back on.

use super::*;

#[test]
fn forward_headers_strips_msg_id_and_expected_headers_and_adds_ours() {
    let original = b"NATS/1.0\r\nA: 1\r\nNats-Msg-Id: theirs\r\nNats-Expected-Stream: S\r\nNats-Expected-Last-Sequence: 4\r\nB: two words\r\n\r\n";
    let out = forward_headers(original, "edge1:SENSORS:42:9");
    assert_eq!(
        out,
        b"NATS/1.0\r\nA: 1\r\nB: two words\r\nNats-Msg-Id: edge1:SENSORS:42:9\r\n\r\n".to_vec()
    );
    assert_eq!(
        header_value(&out, "Nats-Msg-Id"),
        Some(&b"edge1:SENSORS:42:9"[..])
    );
}

#[test]
fn forward_headers_of_an_empty_block() {
    assert_eq!(
        forward_headers(b"", "X"),
        b"NATS/1.0\r\nNats-Msg-Id: X\r\n\r\n"
    );
    assert_eq!(
        forward_headers(b"NATS/1.0\r\n\r\n", "X"),
        b"NATS/1.0\r\nNats-Msg-Id: X\r\n\r\n"
    );
}

#[test]
fn forwarded_records_keep_their_own_headers() {
    let now = Instant::now();
    let mut src = Mem::with(0);
    src.push(
        1,
        b"sensors.t",
        b"NATS/1.0\r\nUnit: C\r\nNats-Msg-Id: local\r\n\r\n",
    );
    src.durable = 1;
    let mut fw = ready(&src, 0, now);
    let out = pump(&mut fw, &src, now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].headers.as_deref(),
        Some(&b"NATS/1.0\r\nUnit: C\r\nNats-Msg-Id: edge1:SENSORS:42:1\r\n\r\n"[..])
    );
}

#[test]
fn reply_to_parse_round_trips_and_rejects_junk() {
    assert_eq!(ReplyTo::parse(b"a.5"), Some(ReplyTo::Ack(5)));
    assert_eq!(ReplyTo::parse(b"r.2"), Some(ReplyTo::Resolve(2)));
    for to in [ReplyTo::Ack(5), ReplyTo::Resolve(2), ReplyTo::Ack(u64::MAX)] {
        assert_eq!(ReplyTo::parse(to.suffix().as_bytes()), Some(to));
    }
    for junk in [
        &b""[..],
        b"a",
        b"a.",
        b"a5",
        b".5",
        b"x.5",
        b"a.b",
        b"a.-1",
        b"a.5.6",
        b"r. 2",
        b"\xff.1",
    ] {
        assert_eq!(
            ReplyTo::parse(junk),
            None,
            "{:?}",
            String::from_utf8_lossy(junk)
        );
    }
}
