//! Publish-header expectations (PROTOCOL.md §3.5): what a message's `Nats-*` headers ask of
//! the stream, and the check against the stream's state that yields nats-server's pub-ack
//! errors.
//!
//! Owns: reading `Nats-Msg-Id`, `Nats-Expected-Stream`, `Nats-Expected-Last-Sequence`,
//! `Nats-Expected-Last-Subject-Sequence` (+ `-Subject`), `Nats-Expected-Last-Msg-Id`,
//! `Nats-Rollup`, `Nats-TTL` with nats-server's lookup, and the order in which
//! `processJetStreamMsg` checks them. Must not: look anything up; the stream fills
//! [`ExpectState`]. Hands off to: the stream (later), which stores, dedupes or answers with
//! `response::pub_ack_error`.

use super::error::ApiError;
use super::headers::header_value;
use super::time::parse_go_duration;

/// `Nats-Rollup` after a successful check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// `sub`: purge older messages on this subject.
    Subject,
    /// `all`: purge the whole stream before this message.
    All,
}

/// `Nats-TTL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// `never`: exempt from `max_age`.
    Never,
    /// Expire after this many seconds; `0` (from plain digits like `00`) means no TTL, as in
    /// nats-server.
    Seconds(u64),
}

impl Ttl {
    /// Whether this asks for anything (`Seconds(0)` does not).
    pub fn is_set(self) -> bool {
        self != Ttl::Seconds(0)
    }
}

/// What the headers ask for. Values borrow from the header block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishExpectations<'a> {
    /// `Nats-Msg-Id`: dedupe key.
    pub msg_id: Option<&'a [u8]>,
    /// `Nats-Expected-Stream`.
    pub stream: Option<&'a [u8]>,
    /// `Nats-Expected-Last-Sequence`. Non-digits read as `u64::MAX`, as Go's `parseInt64`
    /// gives -1, so the check fails with the actual sequence.
    pub last_seq: Option<u64>,
    /// `Nats-Expected-Last-Subject-Sequence` (`0` = the subject must have no message).
    pub last_subject_seq: Option<u64>,
    /// `Nats-Expected-Last-Subject-Sequence-Subject`: the subject to check instead of the
    /// published one.
    pub last_subject_seq_subject: Option<&'a [u8]>,
    /// `Nats-Expected-Last-Msg-Id`.
    pub last_msg_id: Option<&'a [u8]>,
    /// `Nats-Rollup`, raw (lower-cased when checked).
    pub rollup: Option<&'a [u8]>,
    /// `Nats-TTL`, parsed.
    pub ttl: Option<Ttl>,
}

/// What the stream knows, filled by it before [`PublishExpectations::check`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpectState<'a> {
    /// The stream's name.
    pub name: &'a str,
    /// The stream's last sequence.
    pub last_seq: u64,
    /// The last sequence stored on [`PublishExpectations::subject_to_check`]'s subject, if any.
    pub subject_last_seq: Option<u64>,
    /// The `Nats-Msg-Id` of the stream's last message (empty if none).
    pub last_msg_id: &'a [u8],
    /// The sequence already stored under this message's `Nats-Msg-Id` inside the duplicate
    /// window, if any.
    pub duplicate_of: Option<u64>,
    /// Config `allow_rollup_hdrs`.
    pub allow_rollup: bool,
    /// Config `allow_msg_ttl`.
    pub allow_msg_ttl: bool,
}

/// The outcome of a passed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Store the message, then apply the rollup if any.
    Store(Option<Rollup>),
    /// Already stored at this sequence: ack `"duplicate": true`, store nothing.
    Duplicate(u64),
}

/// Go's `parseInt64` on a header value: decimal digits only, anything else is -1 (which the
/// server then casts to `u64::MAX`).
fn go_uint(v: &[u8]) -> u64 {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return u64::MAX;
    }
    v.iter()
        .try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .unwrap_or(u64::MAX)
}

/// A non-empty header value (nats-server treats an empty one as absent).
fn non_empty<'a>(block: &'a [u8], key: &str) -> Option<&'a [u8]> {
    header_value(block, key).filter(|v| !v.is_empty())
}

impl<'a> PublishExpectations<'a> {
    /// Reads the expectation headers of a header block (empty block = no expectations).
    ///
    /// # Errors
    /// 10165 `invalid per-message TTL` for a `Nats-TTL` that is neither `never`, a Go
    /// duration of at least 1 s, nor whole seconds. (nats-server ignores a bad TTL on a stream
    /// without `allow_msg_ttl`; leafd refuses it up front.)
    pub fn from_headers(block: &'a [u8]) -> Result<PublishExpectations<'a>, ApiError> {
        let ttl = match non_empty(block, "Nats-TTL") {
            Some(v) => Some(parse_ttl(v).ok_or_else(ApiError::msg_ttl_invalid)?),
            None => None,
        };
        Ok(PublishExpectations {
            msg_id: non_empty(block, "Nats-Msg-Id"),
            stream: non_empty(block, "Nats-Expected-Stream"),
            last_seq: non_empty(block, "Nats-Expected-Last-Sequence").map(go_uint),
            last_subject_seq: non_empty(block, "Nats-Expected-Last-Subject-Sequence").map(go_uint),
            last_subject_seq_subject: non_empty(
                block,
                "Nats-Expected-Last-Subject-Sequence-Subject",
            ),
            last_msg_id: non_empty(block, "Nats-Expected-Last-Msg-Id"),
            rollup: non_empty(block, "Nats-Rollup"),
            ttl,
        })
    }

    /// The subject whose last sequence the stream must put in
    /// [`ExpectState::subject_last_seq`]: `None` when no per-subject expectation was made.
    pub fn subject_to_check<'s>(&'s self, published: &'s [u8]) -> Option<&'s [u8]> {
        self.last_subject_seq?;
        Some(self.last_subject_seq_subject.unwrap_or(published))
    }

    /// Checks the expectations in nats-server's order: expected stream (10060), TTL allowed
    /// (10166), last sequence per subject (10071 with the subject's actual sequence, or 10193
    /// for a `-Subject` without a sequence), last sequence (10071), duplicate, last msg id
    /// (10070), rollup allowed and valid (10111, code 500).
    ///
    /// # Errors
    /// The error to send in the pub-ack; nothing is stored.
    pub fn check(&self, st: &ExpectState<'_>) -> Result<Verdict, ApiError> {
        if self.stream.is_some_and(|s| s != st.name.as_bytes()) {
            return Err(ApiError::expected_stream_mismatch());
        }
        if self.ttl.is_some_and(Ttl::is_set) && !st.allow_msg_ttl {
            return Err(ApiError::msg_ttl_disabled());
        }
        match self.last_subject_seq {
            Some(want) => {
                let actual = st.subject_last_seq.unwrap_or(0);
                if actual != want {
                    return Err(ApiError::wrong_last_sequence(actual));
                }
            }
            None if self.last_subject_seq_subject.is_some() => {
                return Err(ApiError::expected_last_subject_seq_missing());
            }
            None => {}
        }
        if self.last_seq.is_some_and(|want| want != st.last_seq) {
            return Err(ApiError::wrong_last_sequence(st.last_seq));
        }
        if let Some(seq) = st.duplicate_of.filter(|_| self.msg_id.is_some()) {
            return Ok(Verdict::Duplicate(seq));
        }
        if self.last_msg_id.is_some_and(|want| want != st.last_msg_id) {
            return Err(ApiError::wrong_last_msg_id(&String::from_utf8_lossy(
                st.last_msg_id,
            )));
        }
        let rollup = match self.rollup {
            None => None,
            Some(_) if !st.allow_rollup => return Err(ApiError::rollup_not_permitted()),
            Some(v) => match v.to_ascii_lowercase().as_slice() {
                b"sub" => Some(Rollup::Subject),
                b"all" => Some(Rollup::All),
                _ => {
                    return Err(ApiError::rollup_invalid(
                        &String::from_utf8_lossy(v).to_lowercase(),
                    ))
                }
            },
        };
        Ok(Verdict::Store(rollup))
    }
}

/// nats-server's `parseMessageTTL`: `never`; a Go duration (`5s`, `1m30s`, `1.5h`) of at
/// least one second, truncated to seconds; or plain decimal seconds. `None` = invalid.
pub fn parse_ttl(v: &[u8]) -> Option<Ttl> {
    if v.eq_ignore_ascii_case(b"never") {
        return Some(Ttl::Never);
    }
    if let Some(ns) = std::str::from_utf8(v).ok().and_then(parse_go_duration) {
        return (ns >= 1_000_000_000).then_some(Ttl::Seconds((ns / 1_000_000_000) as u64));
    }
    match go_uint(v) {
        u64::MAX => None,
        n => Some(Ttl::Seconds(n)),
    }
}
