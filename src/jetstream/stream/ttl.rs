//! [`MsgTtls`]: the per-message TTLs (`Nats-TTL`) of a stream's live messages.
//!
//! Owns: which live seqs carry a TTL, when each expires, and which are exempt from `max_age`
//! (`Nats-TTL: never`). Must not: remove messages (the stream's expiry does, in `expiry.rs`)
//! or read headers (the stream parses them). Hands off to: `expiry.rs`.
//!
//! # Memory
//!
//! Only messages published with a `Nats-TTL` cost anything: about 80 bytes each (one entry
//! in a `BTreeMap` by seq, one in a `BTreeSet` by expiry; a `never` message only the first).
//! The index forgets a seq here whenever it forgets the message, so nothing outlives it.

use std::collections::{BTreeMap, BTreeSet};

/// Expiry of a message exempt from `max_age`.
const NEVER: i64 = i64::MIN;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct MsgTtls {
    /// Seq → expiry (store ns), or [`NEVER`].
    by_seq: BTreeMap<u64, i64>,
    /// `(expiry, seq)` of every message with a positive TTL, earliest first.
    queue: BTreeSet<(i64, u64)>,
    /// Messages marked [`NEVER`].
    nevers: usize,
}

impl MsgTtls {
    /// Records live message `seq`'s TTL: `Some(expiry_ns)`, or `None` for `never`.
    pub(super) fn set(&mut self, seq: u64, expires: Option<i64>) {
        self.forget(seq);
        match expires {
            Some(at) => {
                self.by_seq.insert(seq, at);
                self.queue.insert((at, seq));
            }
            None => {
                self.by_seq.insert(seq, NEVER);
                self.nevers += 1;
            }
        }
    }

    /// Forgets `seq` (removed from the stream).
    pub(super) fn forget(&mut self, seq: u64) {
        if self.by_seq.is_empty() {
            return;
        }
        match self.by_seq.remove(&seq) {
            Some(NEVER) => self.nevers -= 1,
            Some(at) => {
                self.queue.remove(&(at, seq));
            }
            None => {}
        }
    }

    /// Forgets every seq below `seq`.
    pub(super) fn forget_below(&mut self, seq: u64) {
        if self.by_seq.first_key_value().is_none_or(|(&s, _)| s >= seq) {
            return;
        }
        let rest = self.by_seq.split_off(&seq);
        for (s, at) in std::mem::replace(&mut self.by_seq, rest) {
            if at == NEVER {
                self.nevers -= 1;
            } else {
                self.queue.remove(&(at, s));
            }
        }
    }

    /// Whether `seq` is exempt from `max_age`.
    pub(super) fn is_never(&self, seq: u64) -> bool {
        self.nevers > 0 && self.by_seq.get(&seq) == Some(&NEVER)
    }

    /// Whether any live message is exempt from `max_age`.
    pub(super) fn has_never(&self) -> bool {
        self.nevers > 0
    }

    /// `(expiry, seq)` earliest first.
    pub(super) fn by_expiry(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.queue.iter().copied()
    }

    /// Seqs whose TTL has run out at `now` (ns), earliest expiry first.
    pub(super) fn due(&self, now: i64) -> impl Iterator<Item = u64> + '_ {
        self.queue.range(..=(now, u64::MAX)).map(|&(_, seq)| seq)
    }

    /// Messages with a TTL (including `never`).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_seq.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_forget_and_due() {
        let mut t = MsgTtls::default();
        t.set(1, Some(30));
        t.set(2, None);
        t.set(3, Some(10));
        t.set(4, Some(20));
        assert!(t.is_never(2) && !t.is_never(1) && t.has_never());
        assert_eq!(t.due(20).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(t.by_expiry().next(), Some((10, 3)));
        t.forget(3);
        assert_eq!(t.due(20).collect::<Vec<_>>(), [4]);
        t.forget_below(3);
        assert!(!t.has_never());
        assert_eq!(t.len(), 1);
        assert_eq!(t.due(i64::MAX).collect::<Vec<_>>(), [4]);
        // Re-setting a seq replaces its entry.
        t.set(4, None);
        assert_eq!(t.due(i64::MAX).count(), 0);
        assert!(t.is_never(4));
        t.forget_below(10);
        assert_eq!(t.len(), 0);
        assert!(!t.has_never());
    }
}
