//! Parser tests: every op of every role, whole, split at every byte and byte by byte.
//! Errors and limits are in `error_tests`, fuzzing and the large-payload test in `split_tests`.

use super::feed::{msg, same_every_way, LIMITS};
use super::*;

/// Parses `input` every way and checks it yields exactly `expected`, consuming all of it.
fn check_ops(role: Role, input: &[u8], expected: &[Op<'_>]) {
    let got = same_every_way(role, LIMITS, input);
    assert_eq!(got.err, None);
    let ops: Vec<Op<'_>> = got.ops.iter().map(|(op, _)| *op).collect();
    assert_eq!(ops, expected);
    assert_eq!(got.rest, input.len());
}

const HDR: &[u8] = b"NATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n";

#[test]
fn server_role_parses_every_client_op() {
    let input = b"CONNECT {\"verbose\":false,\"headers\":true}\r\n\
        PUB foo.bar 5\r\nhello\r\n\
        PUB foo.bar reply.1 3\r\nabc\r\n\
        HPUB foo.bar.baz 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n\
        HPUB foo _INBOX.r1 37 37\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n\r\n\
        PUB empty 0\r\n\r\n\
        SUB foo 1\r\nSUB foo.* q1 2\r\nUNSUB 1\r\nUNSUB 1 2\r\n\
        PING\r\nPONG\r\nINFO {} \r\n+OK\r\n-ERR 'Stale Connection'\r\n";
    check_ops(
        Role::Server,
        input,
        &[
            Op::Connect(b"{\"verbose\":false,\"headers\":true}"),
            Op::Pub(msg(b"foo.bar", None, None, b"hello")),
            Op::Pub(msg(b"foo.bar", Some(b"reply.1"), None, b"abc")),
            Op::Pub(msg(b"foo.bar.baz", None, Some(HDR), b"hi")),
            Op::Pub(msg(b"foo", Some(b"_INBOX.r1"), Some(HDR), b"")),
            Op::Pub(msg(b"empty", None, None, b"")),
            Op::Sub {
                subject: b"foo",
                queue: None,
                sid: b"1",
            },
            Op::Sub {
                subject: b"foo.*",
                queue: Some(b"q1"),
                sid: b"2",
            },
            Op::Unsub {
                sid: b"1",
                max: None,
            },
            Op::Unsub {
                sid: b"1",
                max: Some(2),
            },
            Op::Ping,
            Op::Pong,
            Op::Info(b"{}"),
            Op::Ok,
            Op::Err(b"Stale Connection"),
        ],
    );
}

#[test]
fn client_role_parses_every_server_op() {
    let input = b"INFO {\"server_id\":\"N\",\"max_payload\":1048576} \r\n\
        MSG foo 1 5\r\nhello\r\n\
        MSG foo.bar 3 reply.1 3\r\nabc\r\n\
        HMSG foo.bar.baz 3 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n\
        HMSG _INBOX.abc.1 9 46 46\r\nNATS/1.0 503\r\nNats-Subject: nobody.listens\r\n\r\n\r\n\
        HMSG foo 1 _INBOX.r1 37 37\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n\r\n\
        PING\r\nPONG\r\n+OK\r\n-ERR 'Authorization Violation'\r\n";
    check_ops(
        Role::Client,
        input,
        &[
            Op::Info(b"{\"server_id\":\"N\",\"max_payload\":1048576}"),
            Op::Msg {
                sid: b"1",
                msg: msg(b"foo", None, None, b"hello"),
            },
            Op::Msg {
                sid: b"3",
                msg: msg(b"foo.bar", Some(b"reply.1"), None, b"abc"),
            },
            Op::Msg {
                sid: b"3",
                msg: msg(b"foo.bar.baz", None, Some(HDR), b"hi"),
            },
            Op::Msg {
                sid: b"9",
                msg: msg(
                    b"_INBOX.abc.1",
                    None,
                    Some(b"NATS/1.0 503\r\nNats-Subject: nobody.listens\r\n\r\n"),
                    b"",
                ),
            },
            Op::Msg {
                sid: b"1",
                msg: msg(b"foo", Some(b"_INBOX.r1"), Some(HDR), b""),
            },
            Op::Ping,
            Op::Pong,
            Op::Ok,
            Op::Err(b"Authorization Violation"),
        ],
    );
}

#[test]
fn leaf_role_parses_every_hub_op() {
    let input = b"INFO {\"proto\":3} \r\n\
        LS+ ORDERS.*\r\nLS+ hub.work grp 2\r\nLS- hub.work grp\r\nLS- hub.plain\r\n\
        LMSG edge.sub 5\r\nhello\r\n\
        LMSG edge.sub _INBOX.hub.77 10\r\nwith-reply\r\n\
        LMSG edge.q | workers 8\r\nto-queue\r\n\
        LMSG edge.q + _INBOX.hub.78 workers 10\r\nto-queue-r\r\n\
        LMSG m | q1  q2\tq3 1\r\nx\r\n\
        LMSG m + r 1\r\ny\r\n\
        HMSG edge.sub 20 23\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhdr\r\n\
        HMSG s r 12 12\r\nNATS/1.0\r\n\r\n\r\n\
        HMSG s | q1 q2 12 13\r\nNATS/1.0\r\n\r\nz\r\n\
        HMSG s + r q1 12 12\r\nNATS/1.0\r\n\r\n\r\n\
        PING\r\nPONG\r\n+OK\r\n\
        -ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'\r\n";
    let h = b"NATS/1.0\r\n\r\n";
    check_ops(
        Role::Leaf,
        input,
        &[
            Op::Info(b"{\"proto\":3}"),
            Op::LeafSub {
                subject: b"ORDERS.*",
                queue: None,
            },
            Op::LeafSub {
                subject: b"hub.work",
                queue: Some((b"grp", 2)),
            },
            Op::LeafUnsub {
                subject: b"hub.work",
                queue: Some(b"grp"),
            },
            Op::LeafUnsub {
                subject: b"hub.plain",
                queue: None,
            },
            Op::LeafMsg {
                msg: msg(b"edge.sub", None, None, b"hello"),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"edge.sub", Some(b"_INBOX.hub.77"), None, b"with-reply"),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"edge.q", None, None, b"to-queue"),
                queues: b"workers",
            },
            Op::LeafMsg {
                msg: msg(b"edge.q", Some(b"_INBOX.hub.78"), None, b"to-queue-r"),
                queues: b"workers",
            },
            Op::LeafMsg {
                msg: msg(b"m", None, None, b"x"),
                queues: b"q1  q2\tq3",
            },
            Op::LeafMsg {
                msg: msg(b"m", Some(b"r"), None, b"y"),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(
                    b"edge.sub",
                    None,
                    Some(b"NATS/1.0\r\nX-A: 1\r\n\r\n"),
                    b"hdr",
                ),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"s", Some(b"r"), Some(h), b""),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"s", None, Some(h), b"z"),
                queues: b"q1 q2",
            },
            Op::LeafMsg {
                msg: msg(b"s", Some(b"r"), Some(h), b""),
                queues: b"q1",
            },
            Op::Ping,
            Op::Pong,
            Op::Ok,
            Op::Err(
                b"Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s",
            ),
        ],
    );
    let names: Vec<&[u8]> = crate::protocol::queue_names(b"q1  q2\tq3").collect();
    assert_eq!(names, [&b"q1"[..], b"q2", b"q3"]);
}

#[test]
fn case_blanks_and_line_ends_are_tolerated_like_nats_server() {
    // Capture 02 (lower-case verbs), capture 13 (runs of blanks, tabs), nats-py's double
    // spaces, bare `\n` line ends, trailing blanks, anything after PING/PONG/+OK, and
    // CONNECT/INFO glued to their argument (nats-server's parser needs no blank there).
    let input = b"sub lc 1\r\npub lc 2\r\nok\r\nping\r\n\
        SUB _INBOX.x.*  1\r\nSUB  spaced.subj   77\r\nPUB spaced.subj  2\r\nok\r\n\
        PUB\tspaced.subj\t2\r\nok\r\nPub foo.* 2\r\nhi\r\nhPuB a 0 1\r\nb\r\n\
        UNSUB 5 \t\r\nPING\nPONG \r\nPINGx\r\n+ok whatever\r\nCONNECT{}\nconnect\t {} \r\n\
        PUB \xc3\xa9v\xc3\xa9nement.fo*o 1\r\nu\r\n";
    check_ops(
        Role::Server,
        input,
        &[
            Op::Sub {
                subject: b"lc",
                queue: None,
                sid: b"1",
            },
            Op::Pub(msg(b"lc", None, None, b"ok")),
            Op::Ping,
            Op::Sub {
                subject: b"_INBOX.x.*",
                queue: None,
                sid: b"1",
            },
            Op::Sub {
                subject: b"spaced.subj",
                queue: None,
                sid: b"77",
            },
            Op::Pub(msg(b"spaced.subj", None, None, b"ok")),
            Op::Pub(msg(b"spaced.subj", None, None, b"ok")),
            Op::Pub(msg(b"foo.*", None, None, b"hi")),
            Op::Pub(msg(b"a", None, Some(b""), b"b")),
            Op::Unsub {
                sid: b"5",
                max: None,
            },
            Op::Ping,
            Op::Pong,
            Op::Ping,
            Op::Ok,
            Op::Connect(b"{}"),
            Op::Connect(b"{}"),
            Op::Pub(msg("événement.fo*o".as_bytes(), None, None, b"u")),
        ],
    );
}

#[test]
fn odd_but_valid_arguments_follow_nats_server() {
    // An unparsable UNSUB max is -1 in nats-server (remove now), like no max at all.
    check_ops(
        Role::Server,
        b"UNSUB 1 x\r\nUNSUB 1 0\r\nUNSUB 1 1234567890\r\n-ERR no quotes\r\n-ERR ''\r\n",
        &[
            Op::Unsub {
                sid: b"1",
                max: None,
            },
            Op::Unsub {
                sid: b"1",
                max: Some(0),
            },
            Op::Unsub {
                sid: b"1",
                max: None,
            },
            Op::Err(b"no quotes"),
            Op::Err(b""),
        ],
    );
    // With three arguments a leaf message's second one is its reply, even `|` or `+`;
    // `+ reply` without queues is fine; sizes may have leading zeros.
    check_ops(
        Role::Leaf,
        b"LMSG a | 1\r\nx\r\nHMSG a + 0 1\r\nx\r\nLMSG a + r 001\r\nx\r\nLS+ a q 0\r\n",
        &[
            Op::LeafMsg {
                msg: msg(b"a", Some(b"|"), None, b"x"),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"a", Some(b"+"), Some(b""), b"x"),
                queues: b"",
            },
            Op::LeafMsg {
                msg: msg(b"a", Some(b"r"), None, b"x"),
                queues: b"",
            },
            Op::LeafSub {
                subject: b"a",
                queue: Some((b"q", 0)),
            },
        ],
    );
}

#[test]
fn only_blanks_are_trimmed_from_info_connect_and_err() {
    // Found by the round-trip proptest: a form feed is part of the argument.
    check_ops(
        Role::Client,
        b"INFO \x0c\r\nINFO\t{}\x0b \t\r\n-ERR  'x' \r\n",
        &[Op::Info(b"\x0c"), Op::Info(b"{}\x0b"), Op::Err(b"x")],
    );
}

#[test]
fn needed_is_known_once_the_control_line_is_parsed() {
    let mut parser = Parser::new(Role::Server, LIMITS);
    let input = b"PUB foo 5\r\nhello\r\n";
    assert_eq!(parser.parse(&input[..6]), Ok(None));
    assert_eq!(parser.needed(), None);
    assert_eq!(parser.parse(&input[..13]), Ok(None));
    assert_eq!(parser.needed(), Some(input.len()));
    assert_eq!(parser.parse(&input[..input.len() - 1]), Ok(None));
    let (op, used) = parser.parse(input).unwrap().expect("complete");
    assert_eq!(op, Op::Pub(msg(b"foo", None, None, b"hello")));
    assert_eq!((used, parser.needed()), (input.len(), None));
}
