//! Exact-bytes tests of the encoders, mostly against frames captured from nats-server 2.15.1
//! (PROTOCOL.md §1.5, §2.5, §2.6). Round trips through the parser live in `protocol::tests`.

use super::*;

fn enc(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = b"prefix|".to_vec(); // encoders append, never overwrite
    f(&mut out);
    assert!(out.starts_with(b"prefix|"));
    out.split_off(7)
}

fn s(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn decimal_edges() {
    for (n, text) in [(0u64, "0"), (7, "7"), (10, "10"), (1_048_576, "1048576")] {
        assert_eq!(s(&enc(|o| decimal(o, n))), text);
    }
    assert_eq!(s(&enc(|o| decimal(o, u64::MAX))), u64::MAX.to_string());
}

#[test]
fn simple_frames() {
    assert_eq!(s(&enc(|o| info(o, br#"{"a":1}"#))), "INFO {\"a\":1} \r\n");
    assert_eq!(s(&enc(|o| connect(o, b"{}"))), "CONNECT {}\r\n");
    assert_eq!(s(&enc(ping)), "PING\r\n");
    assert_eq!(s(&enc(pong)), "PONG\r\n");
    assert_eq!(s(&enc(ok)), "+OK\r\n");
    assert_eq!(
        s(&enc(|o| err(o, b"Unknown Protocol Operation"))),
        "-ERR 'Unknown Protocol Operation'\r\n"
    );
}

#[test]
fn msg_and_hmsg_as_captured() {
    assert_eq!(
        s(&enc(|o| msg(o, b"foo.bar", b"3", Some(b"reply.1"), b"abc"))),
        "MSG foo.bar 3 reply.1 3\r\nabc\r\n"
    );
    assert_eq!(
        s(&enc(|o| msg(o, b"foo", b"1", None, b"hello"))),
        "MSG foo 1 5\r\nhello\r\n"
    );
    assert_eq!(
        s(&enc(|o| msg(o, b"x", b"2", None, b""))),
        "MSG x 2 0\r\n\r\n"
    );
    let hdr = b"NATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n";
    assert_eq!(
        s(&enc(|o| hmsg(o, b"foo.bar.baz", b"3", None, hdr, b"hi"))),
        "HMSG foo.bar.baz 3 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n"
    );
    let status = b"NATS/1.0 503\r\nNats-Subject: nobody.listens\r\n\r\n";
    assert_eq!(
        s(&enc(|o| hmsg(o, b"_INBOX.abc.1", b"9", None, status, b""))),
        "HMSG _INBOX.abc.1 9 46 46\r\nNATS/1.0 503\r\nNats-Subject: nobody.listens\r\n\r\n\r\n"
    );
    assert_eq!(
        s(&enc(|o| hmsg(
            o,
            b"foo",
            b"1",
            Some(b"_INBOX.r1"),
            hdr,
            b""
        ))),
        "HMSG foo 1 _INBOX.r1 37 37\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n\r\n"
    );
}

#[test]
fn client_frames() {
    assert_eq!(
        s(&enc(|o| publish(
            o,
            b"foo.bar",
            Some(b"reply.1"),
            None,
            b"abc"
        ))),
        "PUB foo.bar reply.1 3\r\nabc\r\n"
    );
    assert_eq!(
        s(&enc(|o| publish(o, b"$JS.ACK.x", None, None, b""))),
        "PUB $JS.ACK.x 0\r\n\r\n"
    );
    assert_eq!(
        s(&enc(|o| publish(
            o,
            b"foo.bar.baz",
            None,
            Some(b"NATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n"),
            b"hi"
        ))),
        "HPUB foo.bar.baz 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n"
    );
    assert_eq!(
        s(&enc(|o| publish(
            o,
            b"a",
            Some(b"r"),
            Some(b"NATS/1.0\r\n\r\n"),
            b""
        ))),
        "HPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\n"
    );
    assert_eq!(
        s(&enc(|o| sub(o, b"foo.*", Some(b"q1"), b"2"))),
        "SUB foo.* q1 2\r\n"
    );
    assert_eq!(s(&enc(|o| sub(o, b"foo", None, b"1"))), "SUB foo 1\r\n");
    assert_eq!(s(&enc(|o| unsub(o, b"1", Some(2)))), "UNSUB 1 2\r\n");
    assert_eq!(s(&enc(|o| unsub(o, b"99", None))), "UNSUB 99\r\n");
}

#[test]
fn leaf_interest_as_captured() {
    assert_eq!(
        s(&enc(|o| leaf_sub(o, b"edge.sub", None))),
        "LS+ edge.sub\r\n"
    );
    assert_eq!(
        s(&enc(|o| leaf_sub(o, b"edge.q", Some((b"workers", 1))))),
        "LS+ edge.q workers 1\r\n"
    );
    assert_eq!(
        s(&enc(|o| leaf_unsub(o, b"hub.work", Some(b"grp")))),
        "LS- hub.work grp\r\n"
    );
    assert_eq!(
        s(&enc(|o| leaf_unsub(o, b"hub.plain", None))),
        "LS- hub.plain\r\n"
    );
}

#[test]
fn leaf_messages_as_captured() {
    let cases: [(Vec<u8>, &str); 7] = [
        (
            enc(|o| leaf_msg(o, b"edge.sub", None, &[], None, b"hello")),
            "LMSG edge.sub 5\r\nhello\r\n",
        ),
        (
            enc(|o| {
                leaf_msg(
                    o,
                    b"edge.sub",
                    Some(b"_INBOX.hub.77"),
                    &[],
                    None,
                    b"with-reply",
                )
            }),
            "LMSG edge.sub _INBOX.hub.77 10\r\nwith-reply\r\n",
        ),
        (
            enc(|o| {
                leaf_msg(
                    o,
                    b"edge.sub",
                    None,
                    &[],
                    Some(b"NATS/1.0\r\nX-A: 1\r\n\r\n"),
                    b"hdr",
                )
            }),
            "HMSG edge.sub 20 23\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhdr\r\n",
        ),
        (
            enc(|o| leaf_msg(o, b"edge.q", None, &[b"workers"], None, b"to-queue")),
            "LMSG edge.q | workers 8\r\nto-queue\r\n",
        ),
        (
            enc(|o| {
                leaf_msg(
                    o,
                    b"edge.q",
                    Some(b"_INBOX.hub.78"),
                    &[b"workers"],
                    None,
                    b"to-queue-r",
                )
            }),
            "LMSG edge.q + _INBOX.hub.78 workers 10\r\nto-queue-r\r\n",
        ),
        (
            enc(|o| {
                leaf_msg(
                    o,
                    b"s",
                    None,
                    &[b"q1", b"q2"],
                    Some(b"NATS/1.0\r\n\r\n"),
                    b"x",
                )
            }),
            "HMSG s | q1 q2 12 13\r\nNATS/1.0\r\n\r\nx\r\n",
        ),
        (
            enc(|o| {
                leaf_msg(
                    o,
                    b"s",
                    Some(b"r"),
                    &[b"q1", b"q2"],
                    Some(b"NATS/1.0\r\n\r\n"),
                    b"",
                )
            }),
            "HMSG s + r q1 q2 12 12\r\nNATS/1.0\r\n\r\n\r\n",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(s(&got), want);
    }
}
