//! What the hub wants: the interest it announced with `LS+` / `LS-` (PROTOCOL.md §2.5), as a
//! sublist leafd matches local publishes against.
//!
//! Owns: set semantics (a second plain `LS+` is ignored, `LS-` removes the entry whatever
//! was sent before), absolute queue weights (`LS+ s q N` replaces the weight), and the bound
//! on how many entries a hub may make leafd hold. Must not: decide what goes up (that is the
//! router's job) or do I/O.

use std::collections::HashMap;
use std::rc::Rc;

use slab::Slab;

use crate::sublist::{Matches, Sublist};

/// Key of one hub interest entry (a slab index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HubKey(u32);

/// `(subject, queue)`: one interest entry as the hub names it.
type EntryName = (Box<[u8]>, Option<Box<[u8]>>);

/// The hub's interest.
#[derive(Debug)]
pub struct HubInterest {
    sublist: Sublist<HubKey>,
    entries: Slab<EntryName>,
    index: HashMap<EntryName, (HubKey, u32)>,
    max: usize,
}

/// The hub announced more interest than leafd keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl HubInterest {
    /// An empty table holding at most `max` entries.
    pub fn new(max: usize) -> HubInterest {
        HubInterest {
            sublist: Sublist::new(256),
            entries: Slab::new(),
            index: HashMap::new(),
            max,
        }
    }

    /// `LS+ subject [queue weight]`. Returns whether the entry is new.
    ///
    /// # Errors
    /// [`Full`] when the table already holds `max` entries (the entry is not added), or the
    /// subject is not a valid filter (then nothing is added either).
    pub fn add(&mut self, subject: &[u8], queue: Option<(&[u8], u32)>) -> Result<bool, Full> {
        let name: EntryName = (subject.into(), queue.map(|(q, _)| q.into()));
        let weight = queue.map_or(1, |(_, w)| w);
        if let Some((_, w)) = self.index.get_mut(&name) {
            *w = weight;
            return Ok(false);
        }
        if self.entries.len() >= self.max {
            return Err(Full);
        }
        let entry = self.entries.vacant_entry();
        let key = HubKey(u32::try_from(entry.key()).map_err(|_| Full)?);
        if self
            .sublist
            .insert(subject, queue.map(|(q, _)| q), key)
            .is_err()
        {
            return Err(Full);
        }
        entry.insert(name.clone());
        self.index.insert(name, (key, weight));
        Ok(true)
    }

    /// `LS- subject [queue]`. Returns whether there was such an entry.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let name: EntryName = (subject.into(), queue.map(Into::into));
        let Some((key, _)) = self.index.remove(&name) else {
            return false;
        };
        self.entries.remove(key.0 as usize);
        self.sublist.remove(subject, queue, key);
        true
    }

    /// Forgets everything (the link went down; the hub resends it all after reconnect).
    pub fn clear(&mut self) {
        *self = HubInterest::new(self.max);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries matching a published subject: plain ones and queue groups by name.
    pub fn matches(&mut self, subject: &[u8]) -> Rc<Matches<HubKey>> {
        self.sublist.matches(subject)
    }

    /// Whether anything at the hub wants `subject`.
    pub fn has_interest(&mut self, subject: &[u8]) -> bool {
        self.sublist.has_interest(subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_interest_is_a_set() {
        let mut h = HubInterest::new(10);
        assert_eq!(h.add(b"orders.*", None), Ok(true));
        assert_eq!(h.add(b"orders.*", None), Ok(false), "second LS+ ignored");
        assert!(h.has_interest(b"orders.new"));
        assert!(!h.has_interest(b"orders.new.x"));
        assert!(h.remove(b"orders.*", None), "one LS- removes it");
        assert!(!h.has_interest(b"orders.new"));
        assert!(!h.remove(b"orders.*", None));
    }

    #[test]
    fn queue_weights_are_absolute_and_groups_match_by_name() {
        let mut h = HubInterest::new(10);
        assert_eq!(h.add(b"work", Some((b"grp", 1))), Ok(true));
        assert_eq!(
            h.add(b"work", Some((b"grp", 2))),
            Ok(false),
            "weight replaced"
        );
        h.add(b"work", None).expect("room");
        let m = h.matches(b"work");
        assert_eq!(m.plain.len(), 1);
        assert_eq!(m.groups.len(), 1);
        assert_eq!(&*m.groups[0].name, b"grp");
        assert!(h.remove(b"work", Some(b"grp")));
        assert!(h.matches(b"work").groups.is_empty());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut h = HubInterest::new(2);
        h.add(b"a", None).expect("room");
        h.add(b"b", None).expect("room");
        assert_eq!(h.add(b"c", None), Err(Full));
        assert_eq!(h.add(b"a", None), Ok(false), "known entries still update");
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.add(b"c", None), Ok(true));
    }
}
