//! The resumable op parser.
//!
//! Owns: [`Parser`], which turns the bytes at the start of a read buffer into one [`Op`] at a
//! time, borrowing arguments and payloads from that buffer. Between calls it remembers only
//! offsets (how far the CRLF search got; the parsed control line while a payload arrives), so
//! a line or payload that arrives in pieces is never rescanned.
//! Must not: own or copy the buffer, allocate per op, validate subjects (a non-pedantic
//! nats-server accepts `PUB foo.* 2`), or act on an op.
//! Hands off to: the link (which keeps the buffer, calls again with more bytes, and on error
//! writes the `-ERR` and closes) and, through it, the router.
//!
//! Mirrors nats-server's `server/parser.go`: case-insensitive verbs matched byte by byte,
//! arguments separated by runs of spaces/tabs, lines ended by `\n` with an optional `\r`
//! before it, payloads skipped by their declared length and required to end in `\r\n`, size
//! limits checked before anything is buffered.

mod line;
mod verb;

use line::Line;
use verb::{match_verb, VerbMatch};

use super::error::{ErrorKind, ProtocolError};
use super::{Message, Op, ParserLimits, Role};

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod feed;
#[cfg(test)]
mod split_tests;
#[cfg(test)]
mod tests;

/// Byte range of an argument inside the buffer given to [`Parser::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    const EMPTY: Span = Span { start: 0, end: 0 };

    fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or_default()
    }
}

/// What a message's control line said it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PayloadKind {
    /// PUB / HPUB.
    Pub,
    /// MSG / HMSG from a server.
    Msg { sid: Span },
    /// LMSG / leaf HMSG, with the span of its queue names (empty when none).
    Leaf { queues: Span },
}

/// What decides how a line parses: the role, the limits and whether HPUB is allowed.
#[derive(Debug, Clone, Copy)]
struct Rules {
    role: Role,
    limits: ParserLimits,
    /// Whether HPUB is allowed (the client's CONNECT said `headers:true`).
    headers: bool,
}

/// A parsed message control line waiting for its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    kind: PayloadKind,
    subject: Span,
    reply: Option<Span>,
    /// Header size (HPUB / HMSG), part of `total`.
    hdr: Option<usize>,
    /// Headers + body, at most `max_payload`.
    total: usize,
    /// Offset of the first payload byte (just after the control line's `\n`).
    body: usize,
}

impl Pending {
    /// Offset just past the payload, where its `\r\n` must be.
    fn end(&self) -> usize {
        self.body.saturating_add(self.total)
    }

    /// Bytes the whole op needs, trailing `\r\n` included.
    fn needed(&self) -> usize {
        self.end().saturating_add(2)
    }
}

/// Parses NATS protocol ops for one connection, resumably and without copying.
///
/// The caller owns the read buffer. It passes the bytes starting at the next op; on
/// `Ok(None)` it reads more and calls again with the same start and the new bytes appended;
/// on `Ok(Some((op, consumed)))` it drops `consumed` bytes (after using `op`, which borrows
/// them) and calls again for the next op. After an error the connection must be closed.
///
/// ```
/// use leafd::protocol::{Op, Parser, ParserLimits, Role};
///
/// let limits = ParserLimits { max_control_line: 4096, max_payload: 1 << 20 };
/// let mut parser = Parser::new(Role::Server, limits);
/// let input = b"PUB foo 5\r\nhello\r\nPING\r\n";
/// assert_eq!(parser.parse(&input[..8]), Ok(None));
/// let (op, used) = parser.parse(input).unwrap().unwrap();
/// assert!(matches!(op, Op::Pub(m) if m.payload == b"hello"));
/// assert_eq!(parser.parse(&input[used..]), Ok(Some((Op::Ping, 6))));
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    rules: Rules,
    /// Bytes of the current control line already searched for `\n`.
    scanned: usize,
    /// The message whose payload is still arriving.
    pending: Option<Pending>,
    /// Bytes examined, to prove in tests that nothing is rescanned.
    #[cfg(test)]
    work: usize,
}

impl Parser {
    /// A parser for `role` with `limits`. HPUB is accepted until [`Parser::set_headers`]
    /// says otherwise.
    pub fn new(role: Role, limits: ParserLimits) -> Parser {
        Parser {
            rules: Rules {
                role,
                limits,
                headers: true,
            },
            scanned: 0,
            pending: None,
            #[cfg(test)]
            work: 0,
        }
    }

    /// Changes the limits. They apply from the next control line on; a payload already
    /// being waited for keeps the size it was accepted with.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.rules.limits = limits;
    }

    /// Whether HPUB is allowed on this connection (Server role). nats-server closes a
    /// connection without `-ERR` when it sends HPUB without `headers:true` in its CONNECT,
    /// at the control line; the link calls this after CONNECT to get the same.
    pub fn set_headers(&mut self, allowed: bool) {
        self.rules.headers = allowed;
    }

    /// After `parse` returned `Ok(None)`: the total number of bytes (from the start of the
    /// buffer) the pending op needs, when known, i.e. once its control line has been parsed.
    /// Never more than `max_control_line + max_payload` plus a small constant.
    pub fn needed(&self) -> Option<usize> {
        self.pending.map(|p| p.needed())
    }

    /// Parses the op at the start of `buf`.
    ///
    /// Returns `Ok(Some((op, consumed)))` with `consumed` covering the op's trailing CRLF,
    /// or `Ok(None)` if `buf` holds only part of an op (call again with the same start and
    /// more bytes).
    ///
    /// # Errors
    ///
    /// Any [`ProtocolError`]; its [`ErrorKind::err_text`] is what nats-server would send
    /// before closing. Limits are enforced before the bytes they guard arrive.
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<Option<(Op<'b>, usize)>, ProtocolError> {
        let result = match self.pending {
            Some(pending) => self.payload(buf, pending),
            None => self.control_line(buf),
        };
        if result.is_err() {
            self.scanned = 0;
            self.pending = None;
        }
        result
    }

    fn control_line<'b>(
        &mut self,
        buf: &'b [u8],
    ) -> Result<Option<(Op<'b>, usize)>, ProtocolError> {
        // A line that fits the limits has its `\n` within this window.
        let window = buf.len().min(
            self.rules
                .limits
                .max_control_line
                .saturating_add(line::LINE_SLACK + 2),
        );
        let from = self.scanned.min(window);
        let found = buf[from..window].iter().position(|b| *b == b'\n');
        #[cfg(test)]
        {
            self.work += found.map_or(window - from, |i| i + 1);
        }
        let Some(nl) = found.map(|i| from + i) else {
            self.scanned = window;
            self.check_partial(&buf[..window])?;
            return Ok(None);
        };
        self.scanned = 0;
        let (verb, verb_len) = match match_verb(&buf[..=nl], self.rules.role) {
            VerbMatch::Found { verb, len } => (verb, len),
            VerbMatch::Unknown(at) => return Err(ProtocolError::new(ErrorKind::UnknownOp, at)),
            // A `\n` is never part of a verb name, so a complete line cannot match partially;
            // blame the `\n` should that ever change.
            VerbMatch::Partial => return Err(ProtocolError::new(ErrorKind::UnknownOp, nl)),
        };
        let line = line::parse_line(buf, nl, verb, verb_len, &self.rules)?;
        match line {
            Line::Op(op) => Ok(Some((op, nl + 1))),
            Line::Payload(pending) => {
                self.pending = Some(pending);
                self.payload(buf, pending)
            }
        }
    }

    /// Checks a line whose `\n` has not arrived: an unknown verb or an over-long line is
    /// reported now, as nats-server does, instead of after buffering up to the CRLF.
    fn check_partial(&self, partial: &[u8]) -> Result<(), ProtocolError> {
        match match_verb(partial, self.rules.role) {
            VerbMatch::Partial => Ok(()),
            VerbMatch::Unknown(at) => Err(ProtocolError::new(ErrorKind::UnknownOp, at)),
            VerbMatch::Found { len, .. } => {
                // A `\r` at the end may be the start of the terminator.
                let content = partial.strip_suffix(b"\r").unwrap_or(partial);
                line::check_line_len(content, len, &self.rules.limits)
            }
        }
    }

    /// Waits for, then checks and yields, the payload of `pending`. O(1) per call.
    fn payload<'b>(
        &mut self,
        buf: &'b [u8],
        pending: Pending,
    ) -> Result<Option<(Op<'b>, usize)>, ProtocolError> {
        #[cfg(test)]
        {
            self.work += 1;
        }
        let end = pending.end();
        let unknown = |at| Err(ProtocolError::new(ErrorKind::UnknownOp, at));
        // Declared length shorter than what was sent: the next bytes would be read as a verb
        // by nats-server (capture 02: `PUB foo 2` + `hello`). Report it as soon as it shows.
        match buf.get(end..) {
            None | Some([]) => return Ok(None),
            Some([b'\r']) => return Ok(None),
            Some([b'\r', b'\n', ..]) => {}
            Some([b'\r', ..]) => return unknown(end + 1),
            Some(_) => return unknown(end),
        }
        self.pending = None;
        let body = buf.get(pending.body..end).unwrap_or_default();
        let (headers, payload) = match pending.hdr {
            Some(hdr) => {
                // hdr <= total was checked on the control line.
                let (headers, payload) = body.split_at(hdr.min(body.len()));
                (Some(headers), payload)
            }
            None => (None, body),
        };
        let msg = Message {
            subject: pending.subject.of(buf),
            reply: pending.reply.map(|r| r.of(buf)),
            headers,
            payload,
        };
        let op = match pending.kind {
            PayloadKind::Pub => Op::Pub(msg),
            PayloadKind::Msg { sid } => Op::Msg {
                sid: sid.of(buf),
                msg,
            },
            PayloadKind::Leaf { queues } => Op::LeafMsg {
                msg,
                queues: queues.of(buf),
            },
        };
        Ok(Some((op, pending.needed())))
    }
}
