//! The set of subscriber ids at one trie node (plain subscribers, or one queue group's members).
//!
//! Owns: membership with cheap insert/remove at any size. Most nodes hold one or a few ids, so
//! they live in a small `Vec` (compact, fastest to copy into a result); past [`SMALL_MAX`] the
//! set switches to a `HashSet` so that thousands of subscribers on one filter (a fleet all on
//! `cmd.>`) do not make each SUB/UNSUB a linear scan. Must not: know about subjects.
//! Hands off to: `node` (which stores it) and the match result it is copied into.

use std::collections::HashSet;
use std::hash::Hash;

/// Largest set kept as a `Vec`. A representation switch, not a resource bound: a linear scan
/// of up to this many small `Copy` ids is as fast as hashing one.
const SMALL_MAX: usize = 16;

/// A set of ids: a `Vec` while small, a `HashSet` once large.
#[derive(Debug, Clone)]
pub(super) enum IdSet<T> {
    /// Up to [`SMALL_MAX`] ids, unordered, no duplicates.
    Small(Vec<T>),
    /// More than [`SMALL_MAX / 2`](SMALL_MAX) ids (the gap stops flapping between forms).
    Large(HashSet<T>),
}

impl<T> Default for IdSet<T> {
    fn default() -> Self {
        IdSet::Small(Vec::new())
    }
}

impl<T: Copy + Eq + Hash> IdSet<T> {
    /// Adds `id`; false if it was already present.
    pub(super) fn insert(&mut self, id: T) -> bool {
        match self {
            IdSet::Large(set) => set.insert(id),
            IdSet::Small(v) if v.contains(&id) => false,
            IdSet::Small(v) if v.len() < SMALL_MAX => {
                v.push(id);
                true
            }
            IdSet::Small(v) => {
                let mut set: HashSet<T> = v.drain(..).collect();
                set.insert(id);
                *self = IdSet::Large(set);
                true
            }
        }
    }

    /// Removes `id`; false if it was not present.
    pub(super) fn remove(&mut self, id: T) -> bool {
        match self {
            IdSet::Small(v) => match v.iter().position(|x| *x == id) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            IdSet::Large(set) => {
                let removed = set.remove(&id);
                if set.len() <= SMALL_MAX / 2 {
                    *self = IdSet::Small(set.drain().collect());
                }
                removed
            }
        }
    }

    /// Number of ids.
    pub(super) fn len(&self) -> usize {
        match self {
            IdSet::Small(v) => v.len(),
            IdSet::Large(set) => set.len(),
        }
    }

    /// True when no id is present.
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends every id to `out` (in no particular order).
    pub(super) fn extend_into(&self, out: &mut Vec<T>) {
        match self {
            IdSet::Small(v) => out.extend_from_slice(v),
            IdSet::Large(set) => out.extend(set.iter().copied()),
        }
    }

    /// Calls `f` with every id.
    pub(super) fn for_each(&self, mut f: impl FnMut(T)) {
        match self {
            IdSet::Small(v) => v.iter().copied().for_each(&mut f),
            IdSet::Large(set) => set.iter().copied().for_each(&mut f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_without_losing_ids() {
        let mut s = IdSet::default();
        for i in 0..100u32 {
            assert!(s.insert(i));
            assert!(!s.insert(i), "duplicate {i}");
        }
        assert!(matches!(s, IdSet::Large(_)));
        assert_eq!(s.len(), 100);
        for i in 0..95u32 {
            assert!(s.remove(i));
            assert!(!s.remove(i));
        }
        assert!(matches!(s, IdSet::Small(_)));
        let mut out = Vec::new();
        s.extend_into(&mut out);
        out.sort_unstable();
        assert_eq!(out, [95, 96, 97, 98, 99]);
        let mut n = 0;
        s.for_each(|_| n += 1);
        assert_eq!(n, 5);
        for i in 95..100u32 {
            assert!(s.remove(i));
        }
        assert!(s.is_empty());
    }
}
