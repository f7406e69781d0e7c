//! One control line, once its verb is known: the argument-length limit and the arguments.
//!
//! Owns: the per-verb argument rules of nats-server's `processPub`, `processHeaderPub`,
//! `parseSub`, `processUnsub`, `processLeafSub`, `processLeafMsgArgs` and
//! `processLeafHeaderMsgArgs` (argument counts, the order of their checks, `parseSize`), and
//! the control line limit.
//! Must not: look past the line's `\n`, keep state between calls, or validate subjects.
//! Hands off to: [`super::Parser`], as an [`Op`] or as a [`Pending`] payload wait.

use super::{PayloadKind, Pending, Rules, Span};
use crate::protocol::error::{ErrorKind, ProtocolError, Verb};
use crate::protocol::{Op, ParserLimits, Role};

/// Room for the verb and the whitespace after it, on top of `max_control_line` (which, as in
/// nats-server, bounds the arguments only). Bounds what a line can make the caller buffer.
pub(super) const LINE_SLACK: usize = 64;

/// A space or tab: the argument separators.
fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Offset of the first non-blank byte at or after `from` (or `line.len()`).
fn skip_ws(line: &[u8], from: usize) -> usize {
    from + line
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| is_ws(**b))
        .count()
}

/// Enforces the size limits on a line (complete or not) whose verb is `verb_len` bytes long.
/// `content` excludes the `\n` and a `\r` before it (or at the end, for a partial line).
/// nats-server measures the arguments only; the slack bounds the verb and the blanks after it.
pub(super) fn check_line_len(
    content: &[u8],
    verb_len: usize,
    limits: &ParserLimits,
) -> Result<(), ProtocolError> {
    let mcl = limits.max_control_line;
    let too_long = ProtocolError::new(ErrorKind::ControlLineTooLong, 0);
    if content.len() > mcl.saturating_add(LINE_SLACK) {
        return Err(too_long);
    }
    // Only pay for finding the arguments when they could be too long.
    if content.len() > mcl && content.len().saturating_sub(skip_ws(content, verb_len)) > mcl {
        return Err(too_long);
    }
    Ok(())
}

/// Space/tab separated arguments, as absolute spans: the first `F`, the last `L`, and a count.
struct Args<const F: usize, const L: usize> {
    first: [Span; F],
    last: [Span; L],
    n: usize,
}

impl<const F: usize, const L: usize> Args<F, L> {
    fn split(line: &[u8], base: usize) -> Self {
        let mut args = Args {
            first: [Span::EMPTY; F],
            last: [Span::EMPTY; L],
            n: 0,
        };
        let mut start = None;
        for (i, b) in line.iter().copied().chain([b' ']).enumerate() {
            match (is_ws(b), start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    args.push(Span {
                        start: base + s,
                        end: base + i,
                    });
                    start = None;
                }
                _ => {}
            }
        }
        args
    }

    fn push(&mut self, span: Span) {
        if let Some(slot) = self.first.get_mut(self.n) {
            *slot = span;
        }
        if L > 0 {
            self.last.rotate_left(1);
            self.last[L - 1] = span;
        }
        self.n += 1;
    }

    /// Argument `i` counted from the start (`i < F`).
    fn at(&self, i: usize) -> Span {
        self.first.get(i).copied().unwrap_or(Span::EMPTY)
    }

    /// Argument `k` counted from the end, 0 = last (`k < L`).
    fn back(&self, k: usize) -> Span {
        L.checked_sub(1 + k)
            .and_then(|i| self.last.get(i))
            .copied()
            .unwrap_or(Span::EMPTY)
    }
}

/// nats-server `parseSize`: 1 to 9 ASCII digits, nothing else.
pub(super) fn parse_size(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

/// A complete control line: an op without payload, or a payload to wait for.
pub(super) enum Line<'b> {
    Op(Op<'b>),
    Payload(Pending),
}

/// Parses the line `buf[..nl]` (`buf[nl] == b'\n'`) whose verb `match_verb` found.
/// `nl < buf.len()`: the caller found the `\n` there.
pub(super) fn parse_line<'b>(
    buf: &'b [u8],
    nl: usize,
    verb: Verb,
    verb_len: usize,
    rules: &Rules,
) -> Result<Line<'b>, ProtocolError> {
    let line = &buf[..nl];
    let content = line.strip_suffix(b"\r").unwrap_or(line);
    check_line_len(content, verb_len, &rules.limits)?;
    let from = skip_ws(content, verb_len);
    let rest = content.get(from..).unwrap_or_default();
    let bad = |kind| Err(ProtocolError::new(kind, 0));
    let op = match verb {
        Verb::Connect => Op::Connect(trim_blanks(rest)),
        Verb::Info => Op::Info(trim_blanks(rest)),
        Verb::Ping => Op::Ping,
        Verb::Pong => Op::Pong,
        Verb::Ok => Op::Ok,
        Verb::Err => Op::Err(unquote(trim_blanks(rest))),
        Verb::Sub => {
            let a = Args::<3, 0>::split(rest, from);
            let (queue, sid) = match a.n {
                2 => (None, a.at(1)),
                3 => (Some(a.at(1).of(buf)), a.at(2)),
                _ => return bad(ErrorKind::BadArguments { verb }),
            };
            Op::Sub {
                subject: a.at(0).of(buf),
                queue,
                sid: sid.of(buf),
            }
        }
        Verb::Unsub => {
            let a = Args::<2, 0>::split(rest, from);
            // nats-server reads an unparsable max as -1, i.e. "no max": remove now.
            let max = match a.n {
                1 => None,
                2 => parse_size(a.at(1).of(buf)).and_then(|m| u64::try_from(m).ok()),
                _ => return bad(ErrorKind::BadArguments { verb }),
            };
            Op::Unsub {
                sid: a.at(0).of(buf),
                max,
            }
        }
        Verb::LeafSub => {
            let a = Args::<3, 0>::split(rest, from);
            let queue = match a.n {
                1 => None,
                // nats-server would store an unparsable weight as -1; hubs never send one,
                // and a u32 cannot carry it, so it is refused like a missing weight.
                3 => match parse_size(a.at(2).of(buf)).and_then(|w| u32::try_from(w).ok()) {
                    Some(w) => Some((a.at(1).of(buf), w)),
                    None => return bad(ErrorKind::BadArguments { verb }),
                },
                _ => return bad(ErrorKind::BadArguments { verb }),
            };
            Op::LeafSub {
                subject: a.at(0).of(buf),
                queue,
            }
        }
        Verb::LeafUnsub => {
            let a = Args::<2, 0>::split(rest, from);
            let queue = match a.n {
                1 => None,
                2 => Some(a.at(1).of(buf)),
                _ => return bad(ErrorKind::BadArguments { verb }),
            };
            Op::LeafUnsub {
                subject: a.at(0).of(buf),
                queue,
            }
        }
        Verb::Pub | Verb::Hpub | Verb::Msg | Verb::Hmsg | Verb::Lmsg => {
            let body = nl + 1;
            return msg_args(buf, rest, from, body, verb, rules).map(Line::Payload);
        }
    };
    Ok(Line::Op(op))
}

/// Without trailing spaces/tabs (`rest` has no leading ones). Other bytes, even other ASCII
/// whitespace, belong to the argument, as in nats-server.
fn trim_blanks(rest: &[u8]) -> &[u8] {
    let keep = rest.len() - rest.iter().rev().take_while(|b| is_ws(**b)).count();
    &rest[..keep]
}

/// `-ERR 'text'` → `text`; text without both quotes is returned as is.
fn unquote(text: &[u8]) -> &[u8] {
    match text {
        [b'\'', inner @ .., b'\''] => inner,
        _ => text,
    }
}

/// The argument layout of the message verbs, in nats-server's order of checks:
/// headers allowed → argument count / reply indicator → header size → total size →
/// header ≤ total → max payload.
fn msg_args(
    buf: &[u8],
    rest: &[u8],
    from: usize,
    body: usize,
    verb: Verb,
    rules: &Rules,
) -> Result<Pending, ProtocolError> {
    let err = |kind| ProtocolError::new(kind, 0);
    if verb == Verb::Hpub && !rules.headers {
        return Err(err(ErrorKind::HeadersNotSupported));
    }
    let sizes = if matches!(verb, Verb::Hpub | Verb::Hmsg) {
        2
    } else {
        1
    };
    let a = Args::<4, 3>::split(rest, from);
    let bad_args = err(ErrorKind::BadArguments { verb });
    // Arguments between the subject and the size(s).
    let middle = a.n.checked_sub(1 + sizes).ok_or(bad_args)?;
    let leaf_form = verb == Verb::Lmsg || (verb == Verb::Hmsg && rules.role == Role::Leaf);
    let (kind, reply) = if matches!(verb, Verb::Pub | Verb::Hpub) {
        match middle {
            0 => (PayloadKind::Pub, None),
            1 => (PayloadKind::Pub, Some(a.at(1))),
            _ => return Err(bad_args),
        }
    } else if !leaf_form {
        // MSG / HMSG from a server: `subject sid [reply] [hdr] size`.
        match middle {
            1 => (PayloadKind::Msg { sid: a.at(1) }, None),
            2 => (PayloadKind::Msg { sid: a.at(1) }, Some(a.at(2))),
            _ => return Err(bad_args),
        }
    } else {
        let no_queues = PayloadKind::Leaf {
            queues: Span::EMPTY,
        };
        match middle {
            0 => (no_queues, None),
            // Even `+` or `|` here is a reply subject, as in nats-server.
            1 => (no_queues, Some(a.at(1))),
            _ => {
                let (reply, q_first) = match a.at(1).of(buf) {
                    b"+" => (Some(a.at(2)), 3),
                    b"|" => (None, 2),
                    _ => return Err(bad_args),
                };
                // Queue names run from q_first up to the size(s); `+ reply` may have none.
                let queues = if q_first < a.n - sizes {
                    Span {
                        start: a.at(q_first).start,
                        end: a.back(sizes).end,
                    }
                } else {
                    Span::EMPTY
                };
                (PayloadKind::Leaf { queues }, reply)
            }
        }
    };
    let bad_size = err(ErrorKind::BadSize { verb });
    let hdr = match sizes {
        2 => Some(parse_size(a.back(1).of(buf)).ok_or(bad_size)?),
        _ => None,
    };
    let total = parse_size(a.back(0).of(buf)).ok_or(bad_size)?;
    if hdr.is_some_and(|h| h > total) {
        return Err(err(ErrorKind::HeaderTooLarge { verb }));
    }
    if total > rules.limits.max_payload {
        return Err(err(ErrorKind::MaxPayload));
    }
    Ok(Pending {
        kind,
        subject: a.at(0),
        reply,
        hdr,
        total,
        body,
    })
}
