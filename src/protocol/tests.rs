//! Round trips: what the encoders write, the parser of the receiving role reads back
//! unchanged (Client reads MSG/HMSG/INFO, Server reads CONNECT/PUB/HPUB/SUB/UNSUB, Leaf reads
//! the leaf frames), whole and in arbitrary pieces.

use proptest::prelude::*;

use super::{encode, queue_names, Message, Op, Parser, ParserLimits, Role};

const LIMITS: ParserLimits = ParserLimits {
    max_control_line: 4096,
    max_payload: 1 << 20,
};

/// Parses all of `wire`, fed in pieces cut at `cuts`; every op must be complete.
fn parse_all(role: Role, wire: &[u8], mut cuts: Vec<usize>) -> Vec<Op<'_>> {
    cuts.retain(|c| *c <= wire.len());
    cuts.sort_unstable();
    cuts.push(wire.len());
    let mut parser = Parser::new(role, LIMITS);
    let (mut ops, mut pos) = (Vec::new(), 0);
    for cut in cuts {
        while pos < cut.max(pos) {
            match parser.parse(&wire[pos..cut.max(pos)]) {
                Ok(Some((op, used))) => {
                    ops.push(op);
                    pos += used;
                }
                Ok(None) => break,
                Err(e) => panic!("{e} in {:?}", String::from_utf8_lossy(&wire[pos..])),
            }
        }
    }
    assert_eq!(pos, wire.len(), "incomplete op left");
    ops
}

/// A token: subject, reply, sid, queue name. Any bytes but blanks and line ends.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no blanks", |b| !b" \t\r\n".contains(b)),
        1..12,
    )
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40)
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..200, 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        // Nothing may be written outside src/protocol; failures found become unit tests.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn server_frames_round_trip_to_the_client_role(
        subject in token(), sid in token(), reply in prop::option::of(token()),
        headers in bytes(), payload in bytes(), json in token(), cuts in cuts(),
    ) {
        let mut wire = Vec::new();
        encode::info(&mut wire, &json);
        encode::msg(&mut wire, &subject, &sid, reply.as_deref(), &payload);
        encode::hmsg(&mut wire, &subject, &sid, reply.as_deref(), &headers, &payload);
        encode::ping(&mut wire);
        encode::pong(&mut wire);
        encode::ok(&mut wire);
        encode::err(&mut wire, b"Stale Connection");
        let reply = reply.as_deref();
        let plain = Message { subject: &subject, reply, headers: None, payload: &payload };
        let with_hdr = Message { headers: Some(&headers), ..plain };
        prop_assert_eq!(parse_all(Role::Client, &wire, cuts), vec![
            Op::Info(&json),
            Op::Msg { sid: &sid, msg: plain },
            Op::Msg { sid: &sid, msg: with_hdr },
            Op::Ping, Op::Pong, Op::Ok, Op::Err(b"Stale Connection"),
        ]);
    }

    #[test]
    fn client_frames_round_trip_to_the_server_role(
        subject in token(), sid in token(), reply in prop::option::of(token()),
        queue in prop::option::of(token()), max in prop::option::of(0u64..1_000_000_000),
        headers in prop::option::of(bytes()), payload in bytes(), cuts in cuts(),
    ) {
        let mut wire = Vec::new();
        encode::connect(&mut wire, br#"{"verbose":false}"#);
        encode::publish(&mut wire, &subject, reply.as_deref(), headers.as_deref(), &payload);
        encode::sub(&mut wire, &subject, queue.as_deref(), &sid);
        encode::unsub(&mut wire, &sid, max);
        let msg = Message {
            subject: &subject, reply: reply.as_deref(), headers: headers.as_deref(), payload: &payload,
        };
        prop_assert_eq!(parse_all(Role::Server, &wire, cuts), vec![
            Op::Connect(br#"{"verbose":false}"#),
            Op::Pub(msg),
            Op::Sub { subject: &subject, queue: queue.as_deref(), sid: &sid },
            Op::Unsub { sid: &sid, max },
        ]);
    }

    #[test]
    fn leaf_frames_round_trip_to_the_leaf_role(
        subject in token(), reply in prop::option::of(token()),
        queues in prop::collection::vec(token(), 0..4), weight in 0u32..1_000_000_000,
        headers in prop::option::of(bytes()), payload in bytes(), cuts in cuts(),
    ) {
        let queue_refs: Vec<&[u8]> = queues.iter().map(Vec::as_slice).collect();
        let first = queue_refs.first().copied();
        let mut wire = Vec::new();
        encode::leaf_sub(&mut wire, &subject, first.map(|q| (q, weight)));
        encode::leaf_unsub(&mut wire, &subject, first);
        encode::leaf_msg(&mut wire, &subject, reply.as_deref(), &queue_refs, headers.as_deref(), &payload);
        let ops = parse_all(Role::Leaf, &wire, cuts);
        prop_assert_eq!(&ops[..2], &[
            Op::LeafSub { subject: &subject, queue: first.map(|q| (q, weight)) },
            Op::LeafUnsub { subject: &subject, queue: first },
        ]);
        let Op::LeafMsg { msg, queues: names } = ops[2] else {
            return Err(TestCaseError::fail(format!("not a leaf message: {:?}", ops[2])));
        };
        prop_assert_eq!(msg, Message {
            subject: &subject, reply: reply.as_deref(), headers: headers.as_deref(), payload: &payload,
        });
        prop_assert_eq!(queue_names(names).collect::<Vec<_>>(), queue_refs);
    }
}
