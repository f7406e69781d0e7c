//! Plain values the log hands back: [`StoredMsg`] (a message read back) and [`Evicted`]
//! (what an eviction or purge removed).
//!
//! Owns: these two types. Must not: do I/O. Hands off to: the caller of `SegmentLog` and
//! `MemLog`.

use super::record::RecordRef;

/// A message read back from the log (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMsg {
    /// Stream sequence.
    pub seq: u64,
    /// Nanoseconds since the Unix epoch, as given to `append`.
    pub timestamp_ns: i64,
    /// Subject bytes.
    pub subject: Vec<u8>,
    /// Headers block.
    pub headers: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl From<RecordRef<'_>> for StoredMsg {
    fn from(r: RecordRef<'_>) -> StoredMsg {
        StoredMsg {
            seq: r.seq,
            timestamp_ns: r.timestamp_ns,
            subject: r.subject.to_vec(),
            headers: r.headers.to_vec(),
            payload: r.payload.to_vec(),
        }
    }
}

/// What an eviction or purge removed, for the caller to log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// First seq of the removed range.
    pub first: u64,
    /// Last seq of the removed range (inclusive).
    pub last: u64,
    /// Live messages that were removed (already-deleted ones are not counted).
    pub msgs: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}
