//! [`Index`]: a stream's in-memory view of its live messages, rebuilt from the log at open.
//!
//! Owns: each live message's timestamp, encoded size and subject id; per subject the
//! ascending deque of its live seqs; and the per-message TTLs ([`MsgTtls`], forgotten here
//! whenever a message is). Recent messages live in a dense deque where a seq is an offset and
//! dead seqs are tombstones (plus the set of interior dead seqs). When more than half of that
//! range is dead, its oldest live messages move to a sparse map below it, so a key that is
//! never updated does not pin the tombstones of every later update to other keys.
//! Must not: touch the log (the stream removes a message from the log first, then here).
//! Hands off to: the stream's limits, lookups and `MessageSource`.
//!
//! # Memory
//!
//! * per seq of the dense range: 16 bytes (`Entry`), live or dead;
//! * per interior dead seq of the dense range: about 40 more bytes (`BTreeSet` node share);
//!   the dense range holds at most [`SPARSE_SLACK`] more dead seqs than live ones;
//! * per live message in the sparse map: about 40 bytes (key, `Entry`, node share);
//! * per live message: 8 more bytes (its seq in its subject's deque);
//! * per subject: its name twice (map key and slot) plus about 170 bytes of map, slot and
//!   deque overhead (allocator rounding and the spare capacity of doubling containers
//!   included).
//!
//! So memory follows the live messages, never the seqs ever written: a million 1-subject
//! messages cost about 24 MB, and a KV key about `2 × name + 170` bytes plus 24 to 80 bytes
//! per kept revision. `tests/kv_churn.rs` measures 284 bytes per key for 10,000 keys of 19
//! bytes at history 3, and no growth when one key is updated 100,000 times beside a key
//! that never changes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::ttl::MsgTtls;

/// Dead seqs the dense range may hold beyond its live ones before its oldest live messages
/// move to the sparse map.
const SPARSE_SLACK: usize = 64;

/// Subject id of a dead seq.
const DEAD: u32 = u32::MAX;

/// One seq of the dense range.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Store timestamp (ns); dead entries keep theirs so time search stays sorted.
    ts: i64,
    /// Index into `Index::subjects`, or [`DEAD`].
    subject: u32,
    /// Encoded record size (what `max_bytes` counts).
    size: u32,
}

/// A subject with at least one live message.
#[derive(Debug)]
struct SubjectSlot {
    name: Box<[u8]>,
    /// Live seqs, ascending.
    seqs: VecDeque<u64>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Index {
    /// Seq of `entries[0]`.
    base: u64,
    /// Seqs `base..base + len`; empty, or live at both ends.
    entries: VecDeque<Entry>,
    /// Dead seqs inside `entries`.
    interior: BTreeSet<u64>,
    /// Live messages below `base`, moved out of a mostly dead dense range.
    sparse: BTreeMap<u64, Entry>,
    /// Slots by subject id; `None` = free (listed in `free`).
    subjects: Vec<Option<SubjectSlot>>,
    free: Vec<u32>,
    ids: HashMap<Box<[u8]>, u32>,
    /// Timestamp of the last message ever inserted (0 if none since open).
    last_ts: i64,
    /// `Nats-TTL` of live messages.
    ttls: MsgTtls,
}

impl Index {
    /// Timestamp of the newest message inserted (0 if none).
    pub(super) fn last_ts(&self) -> i64 {
        self.last_ts
    }

    /// Records live message `seq`, which must be above every seq inserted before.
    pub(super) fn insert(&mut self, seq: u64, subject: &[u8], ts: i64, size: u64) {
        let end = self.base + self.entries.len() as u64;
        if self.entries.is_empty() {
            self.base = seq;
        } else if seq < end {
            log::warn!("stream index: seq {seq} inserted below {end}, ignored");
            return;
        } else {
            let fill_ts = self.entries.back().map_or(ts, |e| e.ts);
            for dead in end..seq {
                self.entries.push_back(Entry {
                    ts: fill_ts,
                    subject: DEAD,
                    size: 0,
                });
                self.interior.insert(dead);
            }
        }
        let id = self.subject_id(subject);
        if let Some(Some(slot)) = self.subjects.get_mut(id as usize) {
            slot.seqs.push_back(seq);
        }
        self.entries.push_back(Entry {
            ts,
            subject: id,
            size: u32::try_from(size).unwrap_or(u32::MAX),
        });
        self.last_ts = self.last_ts.max(ts);
    }

    fn subject_id(&mut self, subject: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(subject) {
            return id;
        }
        let slot = SubjectSlot {
            name: subject.into(),
            seqs: VecDeque::new(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.subjects[id as usize] = Some(slot);
                id
            }
            None => {
                // Ids stay below DEAD: there are never more subjects than live messages,
                // and the dense range is far shorter than 2^32 in any memory we run in.
                self.subjects.push(Some(slot));
                u32::try_from(self.subjects.len() - 1).unwrap_or(DEAD - 1)
            }
        };
        self.ids.insert(subject.into(), id);
        id
    }

    fn slot(&self, id: u32) -> Option<&SubjectSlot> {
        self.subjects.get(id as usize)?.as_ref()
    }

    fn entry(&self, seq: u64) -> Option<&Entry> {
        if seq < self.base {
            return self.sparse.get(&seq);
        }
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.entries.get(i).filter(|e| e.subject != DEAD)
    }

    /// Forgets live message `seq`; returns its encoded size, `None` if it was not live.
    pub(super) fn remove(&mut self, seq: u64) -> Option<u64> {
        if seq < self.base {
            let e = self.sparse.remove(&seq)?;
            self.unlink(e.subject, seq);
            self.ttls.forget(seq);
            return Some(u64::from(e.size));
        }
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        let e = self.entries.get_mut(i).filter(|e| e.subject != DEAD)?;
        let (id, size) = (e.subject, u64::from(e.size));
        e.subject = DEAD;
        self.interior.insert(seq);
        self.unlink(id, seq);
        self.ttls.forget(seq);
        self.trim();
        Some(size)
    }

    /// Removes `seq` from its subject's deque, freeing the subject when it empties.
    fn unlink(&mut self, id: u32, seq: u64) {
        let Some(Some(slot)) = self.subjects.get_mut(id as usize) else {
            return;
        };
        if slot.seqs.front() == Some(&seq) {
            slot.seqs.pop_front();
        } else if let Ok(i) = slot.seqs.binary_search(&seq) {
            slot.seqs.remove(i);
        }
        if slot.seqs.is_empty() {
            self.ids.remove(&slot.name);
            self.subjects[id as usize] = None;
            self.free.push(id);
        }
    }

    /// Drops dead entries at both ends so the range starts and ends live, and moves the
    /// oldest live entries to the sparse map while the range is mostly dead.
    fn trim(&mut self) {
        loop {
            while self.entries.front().is_some_and(|e| e.subject == DEAD) {
                self.entries.pop_front();
                self.interior.remove(&self.base);
                self.base += 1;
            }
            let live = self.entries.len() - self.interior.len();
            if self.interior.len() <= live + SPARSE_SLACK {
                break;
            }
            // The front is live (dead fronts were just dropped).
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.sparse.insert(self.base, e);
            self.base += 1;
        }
        while self.entries.back().is_some_and(|e| e.subject == DEAD) {
            self.entries.pop_back();
            let end = self.base + self.entries.len() as u64;
            self.interior.remove(&end);
        }
    }

    /// Forgets every message below `seq` (after the log purged them).
    pub(super) fn remove_below(&mut self, seq: u64) {
        self.ttls.forget_below(seq);
        let kept = self.sparse.split_off(&seq);
        for (s, e) in std::mem::replace(&mut self.sparse, kept) {
            self.unlink(e.subject, s);
        }
        while self.base < seq {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            if e.subject != DEAD {
                self.unlink(e.subject, self.base);
            }
            self.interior.remove(&self.base);
            self.base += 1;
        }
        if self.entries.is_empty() {
            self.base = self.base.max(seq);
            self.interior.clear();
        }
        self.trim();
    }

    /// Live messages.
    pub(super) fn len(&self) -> u64 {
        self.dense_len() + self.sparse.len() as u64
    }

    /// Live messages in the dense range.
    fn dense_len(&self) -> u64 {
        self.entries.len() as u64 - self.interior.len() as u64
    }

    /// Lowest live seq.
    pub(super) fn first(&self) -> Option<u64> {
        match self.sparse.first_key_value() {
            Some((&seq, _)) => Some(seq),
            None => (!self.entries.is_empty()).then_some(self.base),
        }
    }

    /// Highest live seq.
    pub(super) fn last(&self) -> Option<u64> {
        match self.entries.len() {
            0 => self.sparse.last_key_value().map(|(&seq, _)| seq),
            n => Some(self.base + n as u64 - 1),
        }
    }

    /// Timestamp of the lowest live message.
    pub(super) fn first_ts(&self) -> Option<i64> {
        match self.sparse.first_key_value() {
            Some((_, e)) => Some(e.ts),
            None => self.entries.front().map(|e| e.ts),
        }
    }

    /// Timestamp and encoded size of live `seq`.
    pub(super) fn meta(&self, seq: u64) -> Option<(i64, u64)> {
        self.entry(seq).map(|e| (e.ts, u64::from(e.size)))
    }

    /// Live messages oldest first from `from`: `(seq, ts, size)`.
    pub(super) fn live_from(&self, from: u64) -> impl Iterator<Item = (u64, i64, u64)> + '_ {
        let skip = usize::try_from(from.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let base = self.base;
        let dense = self
            .entries
            .iter()
            .enumerate()
            .skip(skip)
            .filter(|(_, e)| e.subject != DEAD)
            .map(move |(i, e)| (base + i as u64, e.ts, u64::from(e.size)));
        self.sparse
            .range(from..)
            .map(|(&s, e)| (s, e.ts, u64::from(e.size)))
            .chain(dense)
    }

    /// Live messages from `from` with their subject.
    pub(super) fn live_subjects_from(&self, from: u64) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        let skip = usize::try_from(from.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let base = self.base;
        let dense = self
            .entries
            .iter()
            .enumerate()
            .skip(skip)
            .filter_map(move |(i, e)| Some((base + i as u64, &*self.slot(e.subject)?.name)));
        self.sparse
            .range(from..)
            .filter_map(move |(&s, e)| Some((s, &*self.slot(e.subject)?.name)))
            .chain(dense)
    }

    /// Live messages with `seq >= from`, without a scan (counts interior deletes above `from`).
    pub(super) fn count_from(&self, from: u64) -> u64 {
        if from <= self.base {
            return self.sparse.range(from..).count() as u64 + self.dense_len();
        }
        let end = self.base + self.entries.len() as u64;
        if from >= end {
            return 0;
        }
        (end - from) - self.interior.range(from..).count() as u64
    }

    /// The first seq of the range whose timestamp is `>= ts`; `None` if every live message
    /// is older.
    pub(super) fn seq_at_time(&self, ts: i64) -> Option<u64> {
        if let Some((&seq, _)) = self.sparse.iter().find(|(_, e)| e.ts >= ts) {
            return Some(seq);
        }
        let i = self.entries.partition_point(|e| e.ts < ts);
        (i < self.entries.len()).then(|| self.base + i as u64)
    }

    /// Distinct subjects with live messages.
    pub(super) fn num_subjects(&self) -> u64 {
        self.ids.len() as u64
    }

    /// The subject of live `seq`.
    pub(super) fn subject_of(&self, seq: u64) -> Option<&[u8]> {
        self.slot(self.entry(seq)?.subject).map(|s| &*s.name)
    }

    /// Per-message TTLs of the live messages.
    pub(super) fn ttls(&self) -> &MsgTtls {
        &self.ttls
    }

    /// Records live `seq`'s TTL (see [`MsgTtls::set`]).
    pub(super) fn set_ttl(&mut self, seq: u64, expires: Option<i64>) {
        if self.entry(seq).is_some() {
            self.ttls.set(seq, expires);
        }
    }

    /// Live seqs of literal `subject`, ascending.
    pub(super) fn seqs_of(&self, subject: &[u8]) -> Option<&VecDeque<u64>> {
        let id = *self.ids.get(subject)?;
        self.slot(id).map(|s| &s.seqs)
    }

    /// Every subject with its live seqs (no particular order).
    pub(super) fn subjects(&self) -> impl Iterator<Item = (&[u8], &VecDeque<u64>)> + '_ {
        self.subjects.iter().flatten().map(|s| (&*s.name, &s.seqs))
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
