//! Protocol errors: what went wrong while parsing, and the `-ERR` nats-server sends for it.
//!
//! Owns: [`ProtocolError`] (kind + byte offset), [`ErrorKind`] and [`Verb`], and the one-to-one
//! map from an error kind to the exact `-ERR` text nats-server v2.15 writes (or `None` where it
//! closes the connection without a word).
//! Must not: allocate, format on the hot path, or decide anything about the connection beyond
//! "this closes it".
//! Hands off to: the link, which writes `-ERR '<err_text>'` (when there is one), logs a snippet
//! of the input around [`ProtocolError::offset`] and closes.

use std::fmt;

/// A protocol verb, as named in error kinds and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `CONNECT`
    Connect,
    /// `INFO`
    Info,
    /// `PUB`
    Pub,
    /// `HPUB`
    Hpub,
    /// `SUB`
    Sub,
    /// `UNSUB`
    Unsub,
    /// `MSG` (server → client)
    Msg,
    /// `HMSG`: the client form (server → client) or the leaf form (hub ↔ leaf).
    Hmsg,
    /// `LMSG` (hub ↔ leaf)
    Lmsg,
    /// `LS+` (hub ↔ leaf)
    LeafSub,
    /// `LS-` (hub ↔ leaf)
    LeafUnsub,
    /// `PING`
    Ping,
    /// `PONG`
    Pong,
    /// `+OK`
    Ok,
    /// `-ERR`
    Err,
}

impl Verb {
    /// The verb as written on the wire (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Connect => "CONNECT",
            Verb::Info => "INFO",
            Verb::Pub => "PUB",
            Verb::Hpub => "HPUB",
            Verb::Sub => "SUB",
            Verb::Unsub => "UNSUB",
            Verb::Msg => "MSG",
            Verb::Hmsg => "HMSG",
            Verb::Lmsg => "LMSG",
            Verb::LeafSub => "LS+",
            Verb::LeafUnsub => "LS-",
            Verb::Ping => "PING",
            Verb::Pong => "PONG",
            Verb::Ok => "+OK",
            Verb::Err => "-ERR",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was wrong with the input. `Copy`, never allocates.
///
/// Every kind closes the connection, as every parse error does in nats-server; only three of
/// them are announced with an `-ERR` first (see [`ErrorKind::err_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A verb this role does not accept, a verb not followed by its separator, or a payload
    /// not followed by CRLF (the bytes after the declared length are parsed as a verb in
    /// nats-server, with the same result).
    UnknownOp,
    /// The arguments of a control line are longer than `max_control_line` (checked as the
    /// bytes arrive, before the CRLF).
    ControlLineTooLong,
    /// A PUB/HPUB/MSG/HMSG/LMSG declares more than `max_payload` bytes (headers + body),
    /// detected on the control line before the body arrives.
    MaxPayload,
    /// Wrong number of arguments, a leaf reply indicator other than `+`/`|`, or
    /// `LS+ subject queue` without a weight. nats-server closes without `-ERR`.
    BadArguments {
        /// The verb whose arguments were wrong.
        verb: Verb,
    },
    /// A size or header size that is not a decimal of 1 to 9 digits (nats-server `parseSize`).
    /// nats-server closes without `-ERR`.
    BadSize {
        /// The verb whose size was wrong.
        verb: Verb,
    },
    /// Header size larger than total size. nats-server closes without `-ERR`.
    HeaderTooLarge {
        /// The verb (HPUB or HMSG).
        verb: Verb,
    },
    /// HPUB on a connection that did not ask for headers. nats-server closes without `-ERR`.
    HeadersNotSupported,
}

impl ErrorKind {
    /// The exact text nats-server puts in `-ERR '<text>'` for this error, or `None` when it
    /// closes the connection silently.
    pub fn err_text(&self) -> Option<&'static str> {
        match self {
            ErrorKind::UnknownOp => Some("Unknown Protocol Operation"),
            ErrorKind::ControlLineTooLong => Some("maximum control line exceeded"),
            ErrorKind::MaxPayload => Some("Maximum Payload Violation"),
            ErrorKind::BadArguments { .. }
            | ErrorKind::BadSize { .. }
            | ErrorKind::HeaderTooLarge { .. }
            | ErrorKind::HeadersNotSupported => None,
        }
    }

    /// Whether the connection must be closed. Always true: nats-server closes on every parse
    /// error, and after one the parser's position in the stream is lost anyway.
    pub fn closes(&self) -> bool {
        true
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnknownOp => f.write_str("unknown protocol operation"),
            ErrorKind::ControlLineTooLong => {
                f.write_str("control line longer than max_control_line")
            }
            ErrorKind::MaxPayload => f.write_str("payload larger than max_payload"),
            ErrorKind::BadArguments { verb } => write!(f, "wrong arguments for {verb}"),
            ErrorKind::BadSize { verb } => write!(f, "bad or missing size in {verb}"),
            ErrorKind::HeaderTooLarge { verb } => {
                write!(f, "header size larger than total size in {verb}")
            }
            ErrorKind::HeadersNotSupported => {
                f.write_str("HPUB on a connection without headers support")
            }
        }
    }
}

/// A parse error and where in the buffer passed to [`Parser::parse`](super::Parser::parse) it
/// was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolError {
    kind: ErrorKind,
    offset: usize,
}

impl ProtocolError {
    /// An error of `kind` detected at byte `offset` of the parsed buffer.
    pub fn new(kind: ErrorKind, offset: usize) -> ProtocolError {
        ProtocolError { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Offset into the buffer given to `parse`: the offending byte for
    /// [`ErrorKind::UnknownOp`], the start of the control line for the others.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_texts_match_nats_server() {
        assert_eq!(
            ErrorKind::UnknownOp.err_text(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(
            ErrorKind::ControlLineTooLong.err_text(),
            Some("maximum control line exceeded")
        );
        assert_eq!(
            ErrorKind::MaxPayload.err_text(),
            Some("Maximum Payload Violation")
        );
        let silent = [
            ErrorKind::BadArguments { verb: Verb::Sub },
            ErrorKind::BadSize { verb: Verb::Pub },
            ErrorKind::HeaderTooLarge { verb: Verb::Hpub },
            ErrorKind::HeadersNotSupported,
        ];
        for kind in silent {
            assert_eq!(kind.err_text(), None, "{kind}");
            assert!(kind.closes());
        }
    }

    #[test]
    fn display_names_kind_verb_and_offset() {
        let e = ProtocolError::new(
            ErrorKind::BadArguments {
                verb: Verb::LeafSub,
            },
            7,
        );
        assert_eq!(e.to_string(), "wrong arguments for LS+ at byte 7");
        assert_eq!(
            e.kind(),
            ErrorKind::BadArguments {
                verb: Verb::LeafSub
            }
        );
        assert_eq!(e.offset(), 7);
    }
}
