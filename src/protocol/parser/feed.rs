//! Test driver: feeds an input to a [`Parser`] the way the link does, on any arrival
//! schedule, and records what came out, so schedules can be compared.

use super::*;

/// Client-port defaults of nats-server.
pub(super) const LIMITS: ParserLimits = ParserLimits {
    max_control_line: 4096,
    max_payload: 1 << 20,
};

/// What feeding an input produced: ops with their `consumed`, the error (if any) and where
/// the unparsed tail starts.
#[derive(Debug, PartialEq)]
pub(super) struct Run<'a> {
    pub(super) ops: Vec<(Op<'a>, usize)>,
    pub(super) err: Option<ProtocolError>,
    pub(super) rest: usize,
}

/// Feeds `input` to a fresh parser as it "arrives" at each point of `arrivals`, the way the
/// link does: always from the start of the current op, with everything arrived so far.
pub(super) fn run<'a>(
    role: Role,
    limits: ParserLimits,
    input: &'a [u8],
    arrivals: impl IntoIterator<Item = usize>,
) -> Run<'a> {
    let mut parser = Parser::new(role, limits);
    let mut arrivals = arrivals.into_iter().map(|a| a.min(input.len()));
    let mut arrived = arrivals.next().unwrap_or(input.len());
    let (mut ops, mut pos) = (Vec::new(), 0);
    loop {
        match parser.parse(&input[pos..arrived]) {
            Ok(Some((op, used))) => {
                assert!(
                    used > 0 && pos + used <= arrived,
                    "consumed {used} of {}",
                    arrived - pos
                );
                ops.push((op, used));
                pos += used;
            }
            Ok(None) => {
                if let Some(need) = parser.needed() {
                    assert!(
                        need > arrived - pos,
                        "needed {need} but had {}",
                        arrived - pos
                    );
                    let bound = limits.max_control_line + line::LINE_SLACK + 4 + limits.max_payload;
                    assert!(need <= bound, "needed {need} > {bound}");
                }
                match arrivals.next() {
                    Some(a) => arrived = arrived.max(a),
                    None => {
                        return Run {
                            ops,
                            err: None,
                            rest: pos,
                        }
                    }
                }
            }
            Err(err) => {
                return Run {
                    ops,
                    err: Some(err),
                    rest: pos,
                }
            }
        }
    }
}

/// Asserts that splitting `input` at every offset, and feeding it one byte at a time, gives
/// the same result as the whole buffer; returns that result.
pub(super) fn same_every_way(role: Role, limits: ParserLimits, input: &[u8]) -> Run<'_> {
    let expected = run(role, limits, input, [input.len()]);
    for split in 0..=input.len() {
        let got = run(role, limits, input, [split, input.len()]);
        assert_eq!(
            got,
            expected,
            "split at {split} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytewise = run(role, limits, input, 0..=input.len());
    assert_eq!(bytewise, expected, "byte by byte");
    expected
}

pub(super) fn msg<'a>(
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    headers: Option<&'a [u8]>,
    payload: &'a [u8],
) -> Message<'a> {
    Message {
        subject,
        reply,
        headers,
        payload,
    }
}
