//! Verb recognition: which verbs each [`Role`] accepts, and matching them on a prefix.
//!
//! Owns: the verb tables and the byte-by-byte, case-insensitive matching of nats-server's
//! parser states (`OP_P`, `OP_PU`, ...), so an unknown verb is reported at the offending byte
//! before the line's CRLF arrives.
//! Must not: look at arguments.
//! Hands off to: [`super::Parser`] (partial lines) and [`super::line`] (complete ones).

use crate::protocol::error::Verb;
use crate::protocol::Role;

/// How a verb is recognised.
struct Spec {
    name: &'static [u8],
    verb: Verb,
    /// nats-server requires a space or tab right after these verbs; CONNECT, INFO, PING,
    /// PONG and +OK may be followed by anything (`PINGx\r\n` is a PING there).
    sep: bool,
}

const fn spec(name: &'static [u8], verb: Verb, sep: bool) -> Spec {
    Spec { name, verb, sep }
}

// Server role: the client-connection verbs of nats-server's parser. It also tolerates INFO
// (JSON-checked, then ignored), +OK (ignored) and -ERR (logged, connection closed) from a
// client; those are yielded as ops and the router applies that. MSG and the leaf/route verbs
// are a parse error there; so is HMSG here (nats-server sends a client's HMSG down a path that
// only routes and leafs complete, so it cannot be used from a client either).
const SERVER: &[Spec] = &[
    spec(b"CONNECT", Verb::Connect, false),
    spec(b"PUB", Verb::Pub, true),
    spec(b"HPUB", Verb::Hpub, true),
    spec(b"SUB", Verb::Sub, true),
    spec(b"UNSUB", Verb::Unsub, true),
    spec(b"PING", Verb::Ping, false),
    spec(b"PONG", Verb::Pong, false),
    spec(b"INFO", Verb::Info, false),
    spec(b"+OK", Verb::Ok, false),
    spec(b"-ERR", Verb::Err, true),
];
const CLIENT: &[Spec] = &[
    spec(b"INFO", Verb::Info, false),
    spec(b"MSG", Verb::Msg, true),
    spec(b"HMSG", Verb::Hmsg, true),
    spec(b"PING", Verb::Ping, false),
    spec(b"PONG", Verb::Pong, false),
    spec(b"+OK", Verb::Ok, false),
    spec(b"-ERR", Verb::Err, true),
];
// Leaf role: what a hub sends. nats-server's leaf parser also takes SUB/UNSUB/RS±/RMSG as
// aliases and PUB/HPUB; hubs never send them, so they are unknown here.
const LEAF: &[Spec] = &[
    spec(b"INFO", Verb::Info, false),
    spec(b"LS+", Verb::LeafSub, true),
    spec(b"LS-", Verb::LeafUnsub, true),
    spec(b"LMSG", Verb::Lmsg, true),
    spec(b"HMSG", Verb::Hmsg, true),
    spec(b"PING", Verb::Ping, false),
    spec(b"PONG", Verb::Pong, false),
    spec(b"+OK", Verb::Ok, false),
    spec(b"-ERR", Verb::Err, true),
];

fn table(role: Role) -> &'static [Spec] {
    match role {
        Role::Server => SERVER,
        Role::Client => CLIENT,
        Role::Leaf => LEAF,
    }
}

/// Result of looking for a verb at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum VerbMatch {
    /// The buffer ends inside something that may still become a verb.
    Partial,
    /// No verb of the role; the offset of the first byte that rules them all out.
    Unknown(usize),
    /// This verb, `len` bytes long.
    Found { verb: Verb, len: usize },
}

/// Recognises the verb at the start of `buf`, case-insensitively, byte by byte like
/// nats-server: `PUBX` fails at `X`, `PUB\r\n` at `\r`, `PINGX` is a PING.
pub(super) fn match_verb(buf: &[u8], role: Role) -> VerbMatch {
    let mut partial = false;
    let mut furthest = 0;
    for spec in table(role) {
        let n = spec.name.len();
        let avail = buf.len().min(n);
        let same = buf[..avail]
            .iter()
            .zip(spec.name)
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .count();
        if same < avail {
            furthest = furthest.max(same);
        } else if avail < n {
            partial = true;
        } else if !spec.sep {
            return VerbMatch::Found {
                verb: spec.verb,
                len: n,
            };
        } else {
            match buf.get(n) {
                None => partial = true,
                Some(b' ' | b'\t') => {
                    return VerbMatch::Found {
                        verb: spec.verb,
                        len: n,
                    }
                }
                Some(_) => furthest = furthest.max(n),
            }
        }
    }
    if partial {
        VerbMatch::Partial
    } else {
        VerbMatch::Unknown(furthest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_wait_mismatches_fail_where_they_happen() {
        let found = |verb, len| VerbMatch::Found { verb, len };
        assert_eq!(match_verb(b"", Role::Server), VerbMatch::Partial);
        assert_eq!(match_verb(b"p", Role::Server), VerbMatch::Partial);
        assert_eq!(match_verb(b"PUB", Role::Server), VerbMatch::Partial); // blank still due
        assert_eq!(match_verb(b"pUb\t", Role::Server), found(Verb::Pub, 3));
        assert_eq!(match_verb(b"PING", Role::Server), found(Verb::Ping, 4));
        assert_eq!(
            match_verb(b"connect{", Role::Server),
            found(Verb::Connect, 7)
        );
        assert_eq!(match_verb(b"UNSUX", Role::Server), VerbMatch::Unknown(4));
        assert_eq!(match_verb(b"ls+ ", Role::Leaf), found(Verb::LeafSub, 3));
        assert_eq!(match_verb(b"LS+ ", Role::Server), VerbMatch::Unknown(0));
        assert_eq!(match_verb(b"hmsg ", Role::Client), found(Verb::Hmsg, 4));
        assert_eq!(match_verb(b"+OK", Role::Leaf), found(Verb::Ok, 3));
        assert_eq!(match_verb(b"-ERX", Role::Leaf), VerbMatch::Unknown(3));
    }
}
