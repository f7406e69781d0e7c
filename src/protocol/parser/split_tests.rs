//! Parser robustness: fuzzed input fed in arbitrary pieces never panics, never exceeds the
//! limits and parses the same as the whole buffer; big payloads and long lines arriving in
//! pieces are not rescanned.

use proptest::prelude::*;

use super::feed::{msg, run, LIMITS};
use super::*;

const ROLES: [Role; 3] = [Role::Server, Role::Client, Role::Leaf];

/// Pieces that make up (almost) valid protocol, so fuzzing reaches past the verb.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let words: &[&[u8]] = &[
        b"PUB",
        b"pub",
        b"HPUB",
        b"SUB",
        b"UNSUB",
        b"MSG",
        b"HMSG",
        b"LMSG",
        b"LS+",
        b"ls-",
        b"PING",
        b"PONG",
        b"+OK",
        b"-ERR",
        b"INFO",
        b"CONNECT",
        b" ",
        b"  ",
        b"\t",
        b"\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"0",
        b"1",
        b"2",
        b"5",
        b"12",
        b"foo",
        b"+",
        b"|",
        b"'",
        b"NATS/1.0\r\n\r\n",
    ];
    prop_oneof![
        4 => prop::sample::select(words).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..4),
    ]
}

fn protocolish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..40).prop_map(|parts| parts.concat())
}

fn limits() -> impl Strategy<Value = ParserLimits> {
    (0usize..48, 0usize..24).prop_map(|(max_control_line, max_payload)| ParserLimits {
        max_control_line,
        max_payload,
    })
}

/// Whole-buffer and piecewise runs agree, and every op respects the limits.
fn check(role: Role, limits: ParserLimits, input: &[u8], mut cuts: Vec<usize>) {
    let whole = run(role, limits, input, [input.len()]);
    cuts.sort_unstable();
    cuts.push(input.len());
    assert_eq!(run(role, limits, input, cuts), whole);
    let bound = limits.max_control_line + line::LINE_SLACK + 4 + limits.max_payload;
    for (op, used) in &whole.ops {
        assert!(*used <= bound, "consumed {used} > {bound}");
        if let Op::Pub(m) | Op::Msg { msg: m, .. } | Op::LeafMsg { msg: m, .. } = op {
            let size = m.headers.map_or(0, <[u8]>::len) + m.payload.len();
            assert!(
                size <= limits.max_payload,
                "payload {size} > {}",
                limits.max_payload
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // Nothing may be written outside src/protocol; failures found become unit tests.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(
        role in prop::sample::select(&ROLES[..]),
        limits in limits(),
        input in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(0usize..200, 0..6),
    ) {
        check(role, limits, &input, cuts);
    }

    #[test]
    fn protocol_like_bytes_parse_the_same_in_any_pieces(
        role in prop::sample::select(&ROLES[..]),
        limits in limits(),
        input in protocolish(),
        cuts in prop::collection::vec(0usize..400, 0..8),
    ) {
        check(role, limits, &input, cuts);
    }

    /// A buffer that starts somewhere other than where the parser left off (a caller bug)
    /// still must not panic.
    #[test]
    fn misuse_never_panics(a in protocolish(), b in protocolish()) {
        let mut parser = Parser::new(Role::Leaf, LIMITS);
        let _ = parser.parse(&a);
        let _ = parser.parse(&b);
        let _ = parser.parse(&a[..a.len() / 2]);
    }
}

#[test]
fn big_payload_in_small_pieces_is_not_rescanned() {
    let size = 1 << 20;
    let mut input = format!("PUB big.payload _INBOX.r {size}\r\n").into_bytes();
    let line = input.len();
    input.extend((0..size).map(|i| (i % 251) as u8));
    input.extend_from_slice(b"\r\n");
    let mut parser = Parser::new(Role::Server, LIMITS);
    let (mut arrived, mut calls) = (0, 0);
    let (op, used) = loop {
        arrived = (arrived + 4096).min(input.len());
        calls += 1;
        match parser.parse(&input[..arrived]) {
            Ok(Some(done)) => break done,
            Ok(None) => assert_eq!(parser.needed(), Some(input.len())),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(used, input.len());
    assert_eq!(
        op,
        Op::Pub(msg(
            b"big.payload",
            Some(b"_INBOX.r"),
            None,
            &input[line..line + size]
        ))
    );
    // The line is scanned once; each payload call is O(1).
    assert!(
        parser.work <= line + calls,
        "work {} for {calls} calls",
        parser.work
    );
}

#[test]
fn long_line_byte_by_byte_is_scanned_once() {
    let mut input = b"CONNECT {\"name\":\"".to_vec();
    input.resize(4000, b'n');
    input.extend_from_slice(b"\"}\r\n");
    let mut parser = Parser::new(Role::Server, LIMITS);
    for end in 1..input.len() {
        assert_eq!(parser.parse(&input[..end]), Ok(None));
    }
    let (op, _) = parser.parse(&input).unwrap().expect("complete line");
    assert!(matches!(op, Op::Connect(json) if json.len() == 4000 - 8 + 2));
    assert!(parser.work <= input.len(), "work {}", parser.work);
}

#[test]
fn every_role_survives_every_prefix_of_every_error() {
    // Each erroneous input, cut anywhere, either waits or fails the same way as whole.
    let inputs: &[&[u8]] = &[
        b"PUB foo 2\r\nhello\r\n",
        b"SUB a b c d\r\n",
        b"LS+ q w\r\n",
        b"HMSG a | q 5 3\r\n",
        b"-ERR 'x'\r\nINFO {}\r\nFOO\r\n",
    ];
    for role in ROLES {
        for input in inputs {
            for cut in 0..=input.len() {
                check(role, LIMITS, input, vec![cut]);
            }
        }
    }
}
