//! The NATS wire codec, sans I/O: bytes in → [`Op`]s out, frames → bytes.
//!
//! Owns: the resumable op parser ([`Parser`]), the frame encoders ([`encode`]) and the
//! protocol error kinds ([`ProtocolError`]) with the exact `-ERR` texts nats-server sends.
//! Must not: touch sockets, timers or broker state; allocate per op on the hot path.
//! Hands off to: the router (ops from clients and the hub) and the link (bytes to write).
//!
//! One parser serves all three roles leafd plays on the wire ([`Role`]): the server side of
//! a client connection, the client side (the bench load generator) and the leaf side of an
//! uplink to a hub. Verbs that are not valid for the role are `Unknown Protocol Operation`.
//!
//! Layout: `parser/` (`mod.rs` the resumable state, `verb.rs` verb recognition, `line.rs`
//! arguments), `encode.rs`, `error.rs`; round-trip tests in `tests.rs`.

pub mod encode;
mod error;
mod parser;
#[cfg(test)]
mod tests;

pub use error::{ErrorKind, ProtocolError, Verb};
pub use parser::Parser;

/// Which side of which connection a [`Parser`] reads for; decides the verbs it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We are the server; the peer is a NATS client (CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG).
    ///
    /// Like nats-server, this role also reads INFO, +OK and -ERR from a client; the router
    /// should ignore the first two (nats-server JSON-checks INFO, closing on bad JSON) and
    /// close the connection, without `-ERR`, on the third.
    Server,
    /// We are a client; the peer is a NATS server (INFO, MSG, HMSG, PING, PONG, +OK, -ERR).
    Client,
    /// We are a leaf node; the peer is a hub's leafnode port
    /// (INFO, LS+, LS-, LMSG, HMSG in its leaf form, PING, PONG, +OK, -ERR).
    Leaf,
}

/// Size limits checked before anything is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Longest control line accepted, counted like nats-server: the arguments after the verb
    /// and its blanks, without CRLF (the verb and blanks get a small fixed allowance). 4096 on
    /// client connections, 16 times that on leaf connections in nats-server.
    pub max_control_line: usize,
    /// Largest payload (headers + body for HPUB/HMSG) accepted.
    pub max_payload: usize,
}

/// A message as it appears on the wire, borrowed from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'b> {
    /// The subject it was published to.
    pub subject: &'b [u8],
    /// Where replies go, if anywhere.
    pub reply: Option<&'b [u8]>,
    /// The header block (`NATS/1.0...\r\n\r\n`) for HPUB/HMSG, `None` for PUB/MSG.
    pub headers: Option<&'b [u8]>,
    /// The body, without headers.
    pub payload: &'b [u8],
}

/// One protocol operation, its arguments borrowed from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'b> {
    /// `CONNECT {json}`: the raw JSON text.
    Connect(&'b [u8]),
    /// `INFO {json}`: the raw JSON text (trailing whitespace trimmed).
    Info(&'b [u8]),
    /// `PUB` (headers `None`) or `HPUB` (headers `Some`).
    Pub(Message<'b>),
    /// `SUB <subject> [queue] <sid>`.
    Sub {
        /// Subject filter, possibly with wildcards.
        subject: &'b [u8],
        /// Queue group, if any.
        queue: Option<&'b [u8]>,
        /// The client's subscription id token.
        sid: &'b [u8],
    },
    /// `UNSUB <sid> [max]`.
    Unsub {
        /// The client's subscription id token.
        sid: &'b [u8],
        /// Auto-unsubscribe after this many messages in total on the sid.
        max: Option<u64>,
    },
    /// `MSG` / `HMSG` from a server (client role).
    Msg {
        /// The subscription id it was delivered on.
        sid: &'b [u8],
        /// The message.
        msg: Message<'b>,
    },
    /// `LS+ <subject> [<queue> <weight>]` (leaf role).
    LeafSub {
        /// Subject filter.
        subject: &'b [u8],
        /// Queue group and its weight (members on the sender's side).
        queue: Option<(&'b [u8], u32)>,
    },
    /// `LS- <subject> [queue]` (leaf role).
    LeafUnsub {
        /// Subject filter.
        subject: &'b [u8],
        /// Queue group, if any.
        queue: Option<&'b [u8]>,
    },
    /// `LMSG` / leaf-form `HMSG` (leaf role).
    LeafMsg {
        /// The message.
        msg: Message<'b>,
        /// Queue groups named for this message: space-separated names (empty when none).
        /// Iterate with [`queue_names`].
        queues: &'b [u8],
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR '<text>'`: the text without quotes.
    Err(&'b [u8]),
}

/// Splits the space/tab separated queue list of an [`Op::LeafMsg`] into names.
pub fn queue_names(queues: &[u8]) -> impl Iterator<Item = &[u8]> {
    queues
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|name| !name.is_empty())
}
