//! Parser error tests: capture 02's cases with their exact `-ERR` texts, nats-server's silent
//! closes on bad arguments, and the limits checked before the bytes they guard arrive. Every
//! case is also fed split at every byte, so early detection is shown to change nothing.

use super::feed::{msg, run, same_every_way, LIMITS};
use super::*;
use crate::protocol::error::Verb;

/// Parses `input` every way; expects `ok_ops` ops, then an error of `kind` at `offset` of
/// the buffer starting at the failing op.
fn check_err(
    role: Role,
    limits: ParserLimits,
    input: &[u8],
    ok_ops: usize,
    kind: ErrorKind,
    offset: usize,
) {
    let got = same_every_way(role, limits, input);
    assert_eq!(
        got.ops.len(),
        ok_ops,
        "ops before the error in {:?}",
        String::from_utf8_lossy(input)
    );
    let err = got.err.expect("an error");
    assert_eq!(
        (err.kind(), err.offset()),
        (kind, offset),
        "{:?}",
        String::from_utf8_lossy(input)
    );
}

fn err(role: Role, input: &[u8], kind: ErrorKind, offset: usize) {
    check_err(role, LIMITS, input, 0, kind, offset);
}

const SMALL: ParserLimits = ParserLimits {
    max_control_line: 16,
    max_payload: 8,
};

#[test]
fn capture_02_errors_send_what_nats_server_sends() {
    let unknown = ErrorKind::UnknownOp;
    err(Role::Server, b"FOO bar\r\n", unknown, 0);
    assert_eq!(unknown.err_text(), Some("Unknown Protocol Operation"));
    // Declared 2, sent `hello`: the byte after `he` should have been `\r`.
    check_err(
        Role::Server,
        LIMITS,
        b"SUB foo 1\r\nPUB foo 2\r\nhello\r\nPING\r\n",
        1,
        unknown,
        13,
    );
    // Max payload exceeded: reported on the control line, no body needed.
    err(
        Role::Server,
        b"PUB foo 2000000\r\n",
        ErrorKind::MaxPayload,
        0,
    );
    assert_eq!(
        ErrorKind::MaxPayload.err_text(),
        Some("Maximum Payload Violation")
    );
    // Max control line: 5004 bytes without CRLF.
    let mut long = b"PUB ".to_vec();
    long.resize(5004, b'a');
    let got = run(Role::Server, LIMITS, &long, [long.len()]);
    assert_eq!(
        got.err.map(|e| e.kind()),
        Some(ErrorKind::ControlLineTooLong)
    );
    assert_eq!(
        ErrorKind::ControlLineTooLong.err_text(),
        Some("maximum control line exceeded")
    );
    // SUB with too many arguments: closed without -ERR.
    let sub = ErrorKind::BadArguments { verb: Verb::Sub };
    err(Role::Server, b"SUB a b c d\r\nPING\r\n", sub, 0);
    assert_eq!(sub.err_text(), None);
    // HPUB on a connection whose CONNECT had no headers: closed without -ERR, on the line.
    let mut parser = Parser::new(Role::Server, LIMITS);
    parser.set_headers(false);
    let hpub = parser.parse(b"HPUB foo 12 14\r\n").map_err(|e| e.kind());
    assert_eq!(hpub, Err(ErrorKind::HeadersNotSupported));
    assert_eq!(ErrorKind::HeadersNotSupported.err_text(), None);
}

#[test]
fn unknown_verbs_are_reported_at_the_offending_byte() {
    use ErrorKind::UnknownOp as U;
    err(Role::Server, b"PUB\r\n", U, 3); // PUB needs a blank
    err(Role::Server, b"PUBX foo 1\r\n", U, 3);
    err(Role::Server, b"PIN\r\n", U, 3);
    err(Role::Server, b" PING\r\n", U, 0); // nats-server has no leading blanks
    err(Role::Server, b"\r\n", U, 0);
    err(Role::Server, b"-ERR\r\n", U, 4);
    err(Role::Server, b"MSG foo 1 1\r\nx\r\n", U, 0); // not from a client
    err(Role::Server, b"HMSG foo 1 1 1\r\nx\r\n", U, 1);
    err(Role::Server, b"LS+ foo\r\n", U, 0);
    err(Role::Client, b"PUB foo 1\r\nx\r\n", U, 1);
    err(Role::Client, b"CONNECT {}\r\n", U, 0);
    err(Role::Client, b"LMSG a 1\r\nx\r\n", U, 0);
    err(Role::Leaf, b"LS* a\r\n", U, 2);
    err(Role::Leaf, b"SUB a 1\r\n", U, 0);
    err(Role::Leaf, b"MSG a 1 1\r\nx\r\n", U, 0);
    // Reported before the line's CRLF arrives, as nats-server does.
    let mut parser = Parser::new(Role::Server, LIMITS);
    assert_eq!(
        parser.parse(b"PUX").map_err(|e| (e.kind(), e.offset())),
        Err((U, 2))
    );
}

#[test]
fn payload_must_be_followed_by_crlf() {
    use ErrorKind::UnknownOp as U;
    err(Role::Server, b"PUB a 1\r\nx\nPING\r\n", U, 10);
    err(Role::Server, b"PUB a 1\r\nx\rPING\r\n", U, 11);
    err(Role::Server, b"PUB a 1\r\nxy\r\n", U, 10);
    err(Role::Client, b"MSG a 1 1\r\nxy\r\n", U, 12);
    err(Role::Leaf, b"HMSG a 1 2\r\n\r\nxy\r\n", U, 14);
}

#[test]
fn bad_arguments_close_silently() {
    let args = |verb| ErrorKind::BadArguments { verb };
    let size = |verb| ErrorKind::BadSize { verb };
    let cases: &[(Role, &[u8], ErrorKind)] = &[
        (Role::Server, b"PUB foo\r\n", args(Verb::Pub)),
        (Role::Server, b"PUB \r\n", args(Verb::Pub)),
        (Role::Server, b"PUB a b c 1\r\n", args(Verb::Pub)),
        (Role::Server, b"PUB foo bar\r\n", size(Verb::Pub)),
        (Role::Server, b"PUB foo -1\r\n", size(Verb::Pub)),
        (Role::Server, b"PUB foo +1\r\n", size(Verb::Pub)),
        // Ten digits is a bad size in nats-server's parseSize, not a max payload violation.
        (Role::Server, b"PUB foo 1000000000\r\n", size(Verb::Pub)),
        (Role::Server, b"HPUB foo 3\r\n", args(Verb::Hpub)),
        (Role::Server, b"HPUB foo r x 3\r\n", size(Verb::Hpub)),
        (Role::Server, b"HPUB foo 3 x\r\n", size(Verb::Hpub)),
        (
            Role::Server,
            b"HPUB foo 5 3\r\n",
            ErrorKind::HeaderTooLarge { verb: Verb::Hpub },
        ),
        (Role::Server, b"SUB foo\r\n", args(Verb::Sub)),
        (Role::Server, b"UNSUB\t\r\n", args(Verb::Unsub)),
        (Role::Server, b"UNSUB 1 2 3\r\n", args(Verb::Unsub)),
        (Role::Client, b"MSG foo 1\r\n", args(Verb::Msg)),
        (Role::Client, b"MSG foo 1 r x 1\r\n", args(Verb::Msg)),
        (Role::Client, b"HMSG foo 1 2\r\n", args(Verb::Hmsg)),
        (
            Role::Client,
            b"HMSG foo 1 3 2\r\n",
            ErrorKind::HeaderTooLarge { verb: Verb::Hmsg },
        ),
        // Captured: `LS+ subj queue` without a weight makes the hub close silently.
        (Role::Leaf, b"LS+ edge.q2 workers\r\n", args(Verb::LeafSub)),
        (Role::Leaf, b"LS+ a q w\r\n", args(Verb::LeafSub)),
        (Role::Leaf, b"LS+ a q 1 x\r\n", args(Verb::LeafSub)),
        (Role::Leaf, b"LS- a q x\r\n", args(Verb::LeafUnsub)),
        (Role::Leaf, b"LMSG a\r\n", args(Verb::Lmsg)),
        (Role::Leaf, b"LMSG a x q 5\r\n", args(Verb::Lmsg)),
        (Role::Leaf, b"LMSG a ++ r q 5\r\n", args(Verb::Lmsg)),
        (Role::Leaf, b"LMSG a + r q x\r\n", size(Verb::Lmsg)),
        (Role::Leaf, b"HMSG a 5\r\n", args(Verb::Hmsg)),
        (
            Role::Leaf,
            b"HMSG a | q 5 3\r\n",
            ErrorKind::HeaderTooLarge { verb: Verb::Hmsg },
        ),
        (Role::Leaf, b"HMSG a | q x 3\r\n", size(Verb::Hmsg)),
    ];
    for &(role, input, kind) in cases {
        err(role, input, kind, 0);
        assert_eq!(kind.err_text(), None);
        assert!(kind.closes());
    }
}

#[test]
fn control_line_limit_counts_arguments_and_is_checked_before_the_crlf() {
    let too_long = ErrorKind::ControlLineTooLong;
    // 16 argument bytes pass, 17 do not (nats-server measures arguments, not the verb).
    let ok = same_every_way(Role::Server, SMALL, b"SUB abcdefghijkl 123\r\n");
    assert_eq!(
        ok.ops,
        [(
            Op::Sub {
                subject: b"abcdefghijkl",
                queue: None,
                sid: b"123"
            },
            22
        )]
    );
    check_err(
        Role::Server,
        SMALL,
        b"SUB abcdefghijkl 1234\r\n",
        0,
        too_long,
        0,
    );
    // Detected as soon as the 17th argument byte arrives, without any CRLF.
    let mut parser = Parser::new(Role::Server, SMALL);
    assert_eq!(parser.parse(b"SUB abcdefghijkl 123"), Ok(None));
    assert_eq!(parser.parse(b"SUB abcdefghijkl 123\r"), Ok(None)); // `\r` may end the line
    assert_eq!(
        parser.parse(b"SUB abcdefghijkl 1234").map_err(|e| e.kind()),
        Err(too_long)
    );
    // Lines nats-server never buffers are bounded too: PING garbage, runs of blanks.
    check_err(
        Role::Server,
        SMALL,
        b"PINGxxxxxxxxxxxxxxxxx\r\n",
        0,
        too_long,
        0,
    );
    let blanks = [&b"SUB"[..], &[b' '; 80], b"a 1\r\n"].concat();
    check_err(Role::Server, SMALL, &blanks, 0, too_long, 0);
    // A line that is long only because of blanks within the slack is fine.
    let some_blanks = [&b"SUB"[..], &[b' '; 40], b"abcdefghijkl 123\r\n"].concat();
    assert_eq!(same_every_way(Role::Server, SMALL, &some_blanks).err, None);
    // A huge buffer without `\n` is not scanned past the limit.
    let mut parser = Parser::new(Role::Server, LIMITS);
    let junk = [&b"CONNECT "[..], &vec![b'x'; 1 << 20]].concat();
    assert_eq!(parser.parse(&junk).map_err(|e| e.kind()), Err(too_long));
    assert!(parser.work < 5000, "scanned {}", parser.work);
}

#[test]
fn max_payload_is_checked_on_the_control_line() {
    let max = ErrorKind::MaxPayload;
    let ok = same_every_way(
        Role::Server,
        SMALL,
        b"PUB a 8\r\n12345678\r\nHPUB a 3 8\r\n12345678\r\n",
    );
    assert_eq!(ok.err, None);
    assert_eq!(ok.ops.len(), 2);
    // The body never arrives: the error must not wait for it.
    check_err(Role::Server, SMALL, b"PUB a 9\r\n", 0, max, 0);
    check_err(Role::Server, SMALL, b"HPUB a 3 9\r\n", 0, max, 0);
    check_err(Role::Client, SMALL, b"MSG a 1 9\r\n", 0, max, 0);
    check_err(Role::Client, SMALL, b"HMSG a 1 r 0 9\r\n", 0, max, 0);
    check_err(Role::Leaf, SMALL, b"LMSG a | q 9\r\n", 0, max, 0);
    check_err(Role::Leaf, SMALL, b"HMSG a + r q 1 9\r\n", 0, max, 0);
    check_err(
        Role::Leaf,
        SMALL,
        b"PING\r\nLMSG a 8\r\n12345678\r\nLMSG b 9\r\n",
        2,
        max,
        0,
    );
}

#[test]
fn set_limits_applies_from_the_next_control_line() {
    let mut parser = Parser::new(Role::Leaf, SMALL);
    assert_eq!(parser.parse(b"LMSG a 4\r\n"), Ok(None));
    parser.set_limits(ParserLimits {
        max_control_line: 16,
        max_payload: 2,
    });
    let (op, _) = parser
        .parse(b"LMSG a 4\r\nabcd\r\n")
        .unwrap()
        .expect("accepted before");
    assert_eq!(
        op,
        Op::LeafMsg {
            msg: msg(b"a", None, None, b"abcd"),
            queues: b""
        }
    );
    let err = parser.parse(b"LMSG a 4\r\n").map_err(|e| e.kind());
    assert_eq!(err, Err(ErrorKind::MaxPayload));
}
