//! [`Dedupe`]: the `Nats-Msg-Id` → seq window of one stream.
//!
//! Owns: the ids seen within `duplicate_window`, oldest first, bounded by a count cap
//! ([`MAX_IDS`]): past it the oldest id is forgotten early (a late duplicate of it would be
//! stored again, the same as after the window). Must not: read the log or the clock; the
//! stream passes timestamps and rebuilds the window from the log at open. Hands off to: the
//! stream's publish path (`ExpectState::duplicate_of`).
//!
//! Memory: per tracked id, the id's bytes twice plus about 80 bytes of map and queue.

use std::collections::{HashMap, VecDeque};

/// Most ids tracked at once per stream (about 8 MB with 20-byte ids).
pub const MAX_IDS: usize = 100_000;

/// See the module docs.
#[derive(Debug)]
pub(super) struct Dedupe {
    ids: HashMap<Box<[u8]>, u64>,
    /// `(timestamp, seq, id)` in insertion order (timestamps never decrease).
    order: VecDeque<(i64, u64, Box<[u8]>)>,
    cap: usize,
}

impl Dedupe {
    /// An empty window tracking at most `cap` ids (at least 1).
    pub(super) fn new(cap: usize) -> Dedupe {
        Dedupe {
            ids: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// The seq stored under `id`, if it is still in the window.
    pub(super) fn get(&self, id: &[u8]) -> Option<u64> {
        self.ids.get(id).copied()
    }

    /// Tracks `id` as stored at `seq` at time `ts`.
    pub(super) fn insert(&mut self, id: &[u8], seq: u64, ts: i64) {
        if self.order.len() >= self.cap {
            self.pop_oldest();
        }
        self.ids.insert(id.into(), seq);
        self.order.push_back((ts, seq, id.into()));
    }

    /// Forgets every id stored before `cutoff` (ns).
    pub(super) fn expire(&mut self, cutoff: i64) {
        while self.order.front().is_some_and(|(ts, _, _)| *ts < cutoff) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((_, seq, id)) = self.order.pop_front() {
            // The same id may have been stored again later (after expiring once): keep that.
            if self.ids.get(&id) == Some(&seq) {
                self.ids.remove(&id);
            }
        }
    }

    /// Tracked ids.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// Forgets everything (a purge of the whole stream keeps nats-server's window, so this is
    /// for tests and config changes only).
    #[cfg(test)]
    pub(super) fn clear(&mut self) {
        self.ids.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_expires_by_time_and_by_cap() {
        let mut d = Dedupe::new(3);
        d.insert(b"a", 1, 10);
        d.insert(b"b", 2, 20);
        assert_eq!(
            (d.get(b"a"), d.get(b"b"), d.get(b"c")),
            (Some(1), Some(2), None)
        );
        d.expire(15);
        assert_eq!((d.get(b"a"), d.len()), (None, 1));
        d.insert(b"c", 3, 30);
        d.insert(b"d", 4, 40);
        d.insert(b"e", 5, 50); // over the cap: "b" goes early
        assert_eq!((d.get(b"b"), d.get(b"e"), d.len()), (None, Some(5), 3));
        // An id stored again after its first entry left: dropping the old entry keeps the new.
        let mut d = Dedupe::new(10);
        d.insert(b"c", 3, 30);
        d.ids.remove(&b"c"[..]); // as if it had expired from the map only
        d.insert(b"c", 6, 60);
        d.expire(35);
        assert_eq!((d.get(b"c"), d.len()), (Some(6), 1));
        d.clear();
        assert_eq!(d.len(), 0);
    }
}
