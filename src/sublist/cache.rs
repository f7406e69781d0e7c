//! The bounded match-result cache: published subject → shared [`Matches`].
//!
//! Owns: at most `capacity` entries, a hit on one costing a single hash lookup plus an `Rc`
//! clone; exact updates when a subscription is inserted or removed; eviction. Must not: walk
//! the trie or decide what matches (it is told). Hands off to: `Sublist`.
//!
//! # Policy
//!
//! * **Lookup.** Keys are hashed with a keyed folded multiply (`hash.rs`), not SipHash: it
//!   halves the cost of a hit.
//! * **Bound.** Entries never exceed `capacity` (0 disables the cache). Each key is a copy of
//!   a published subject, which the control-line limit bounds, so memory is bounded by
//!   `capacity × (max subject + result size)`.
//! * **Exact updates, not invalidation.** An insert or remove touches only the entries whose
//!   subject the changed filter matches: a literal filter is one hash lookup, a wildcard filter
//!   a scan of the (bounded) cache, as in nats-server. Each touched result gains or loses that
//!   one id in place via `Rc::make_mut`: free when nobody else holds the result (the usual
//!   case: the router drops it once fanned out), a copy otherwise, so a caller's `Rc` is a
//!   stable snapshot. nats-server drops entries on remove; updating keeps hot subjects hot
//!   when clients churn.
//! * **Eviction: sweep with a second chance.** When full, one sweep removes half the entries,
//!   preferring ones not hit since the previous sweep (a hit sets a flag, the sweep clears it).
//!   nats-server sweeps to half at random; the flag keeps hot subjects. A sweep is O(capacity)
//!   and happens once per `capacity / 2` misses, so O(1) amortised.
//! * **Negative entries.** A subject nobody is interested in is cached as an empty result,
//!   so `has_interest` and `matches` on it stay one lookup; it is updated like any other.

use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use super::hash::SubjectHash;
use super::Matches;
use crate::subject::{has_wildcard, matches_valid};

#[derive(Debug)]
struct Entry<T> {
    result: Rc<Matches<T>>,
    /// Hit since the last sweep.
    referenced: bool,
}

/// Subject → result, at most `capacity` entries.
#[derive(Debug)]
pub(super) struct Cache<T> {
    /// Keyed fast hash: see `hash.rs` for why it is safe for this bounded table.
    map: HashMap<Box<[u8]>, Entry<T>, SubjectHash>,
    capacity: usize,
}

impl<T: Copy + Eq + Hash> Cache<T> {
    /// An empty cache of at most `capacity` entries (0 = disabled).
    pub(super) fn new(capacity: usize) -> Self {
        Cache {
            map: HashMap::with_hasher(SubjectHash::new()),
            capacity,
        }
    }

    /// Most subjects the cache may hold.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of cached subjects.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The cached result for `subject`, marking it recently used.
    pub(super) fn get(&mut self, subject: &[u8]) -> Option<&Rc<Matches<T>>> {
        let entry = self.map.get_mut(subject)?;
        entry.referenced = true;
        Some(&entry.result)
    }

    /// Caches `result` for `subject`, sweeping first if full. No-op when disabled.
    pub(super) fn insert(&mut self, subject: &[u8], result: Rc<Matches<T>>) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity {
            self.sweep();
        }
        self.map.insert(
            Box::from(subject),
            Entry {
                result,
                referenced: false,
            },
        );
    }

    /// Evicts down to half the capacity, unreferenced entries first.
    fn sweep(&mut self) {
        let mut excess = self.map.len().saturating_sub(self.capacity / 2);
        self.map.retain(|_, e| {
            if excess > 0 && !e.referenced {
                excess -= 1;
                return false;
            }
            e.referenced = false;
            true
        });
        if excess > 0 {
            self.map.retain(|_, _| {
                let keep = excess == 0;
                excess = excess.saturating_sub(1);
                keep
            });
        }
    }

    /// Applies `change` to every cached result whose subject `filter` (valid) matches.
    pub(super) fn update(&mut self, filter: &[u8], mut change: impl FnMut(&mut Matches<T>)) {
        if self.map.is_empty() {
            return;
        }
        if !has_wildcard(filter) {
            // A literal filter matches exactly one subject: itself.
            if let Some(e) = self.map.get_mut(filter) {
                change(Rc::make_mut(&mut e.result));
            }
            return;
        }
        for (subject, e) in self.map.iter_mut() {
            if matches_valid(filter, subject) {
                change(Rc::make_mut(&mut e.result));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: u32) -> Rc<Matches<u32>> {
        Rc::new(Matches {
            plain: vec![id],
            groups: Vec::new(),
        })
    }

    #[test]
    fn stays_within_capacity_and_keeps_hot_entries() {
        let mut c = Cache::new(8);
        c.insert(b"hot", result(0));
        for i in 0..1000u32 {
            assert!(c.get(b"hot").is_some(), "hot entry evicted at {i}");
            c.insert(format!("cold.{i}").as_bytes(), result(i));
            assert!(c.len() <= 8);
        }
    }

    #[test]
    fn capacity_one_and_zero() {
        let mut c = Cache::new(1);
        for i in 0..10u32 {
            c.insert(format!("s.{i}").as_bytes(), result(i));
            assert_eq!(c.len(), 1);
        }
        let mut off = Cache::new(0);
        off.insert(b"a", result(1));
        assert_eq!(off.len(), 0);
        assert!(off.get(b"a").is_none());
    }

    #[test]
    fn updates_only_matching_entries() {
        let mut c = Cache::new(8);
        for s in ["foo.bar", "foo.baz", "foo", "foo.*"] {
            c.insert(s.as_bytes(), result(0));
        }
        c.update(b"foo.*", |m| m.plain.push(1));
        c.update(b"foo", |m| m.plain.push(2));
        let ids = |c: &mut Cache<u32>, s: &str| c.get(s.as_bytes()).map(|m| m.plain.clone());
        assert_eq!(ids(&mut c, "foo.bar"), Some(vec![0, 1]));
        assert_eq!(ids(&mut c, "foo.*"), Some(vec![0, 1]));
        assert_eq!(ids(&mut c, "foo"), Some(vec![0, 2]));
    }

    #[test]
    fn update_copies_a_shared_result() {
        let mut c = Cache::new(4);
        let held = result(0);
        c.insert(b"a", Rc::clone(&held));
        c.update(b"a", |m| m.plain.push(1));
        assert_eq!(held.plain, [0], "the caller's snapshot is unchanged");
        assert_eq!(c.get(b"a").map(|m| m.plain.clone()), Some(vec![0, 1]));
    }
}
