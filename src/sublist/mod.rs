//! The subject → interest trie with a bounded result cache, generic over the subscriber id.
//!
//! Owns: which subscriptions (`filter`, optional queue group, caller's id `T`) exist, and the
//! answer to "who is interested in this published subject?" ([`Sublist::matches`],
//! [`Sublist::has_interest`]). Must not: choose a queue member, deliver, or know what an id
//! means (that is the router's). Hands off to: `router`, which fans the [`Matches`] out.
//!
//! Layout: `node` is the trie (literal map + `*`/`>` slots per level), `cache` the bounded
//! subject → result cache, `idset` the per-node id set. A match tokenises the subject into a
//! 32-slot stack array (a longer subject spills to the heap, it does not fail) and walks the
//! trie; results are cached and handed out as `Rc` so a hit is one hash lookup and a clone.
//!
//! Semantics follow nats-server's `sublist.go`: `*` matches one token, `>` one or more trailing
//! tokens; a `*`/`>` token in a *published* subject is compared literally (`PUB foo.*` reaches
//! `foo.*` and `foo.>`, not `foo.bar`); a published subject with an empty token (`foo..bar`)
//! matches nothing and is not cached; queue members are grouped by queue name across all
//! matching filters, as nats-server's `findQSlot` does.

mod cache;
mod hash;
mod idset;
mod node;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::hash::Hash;
use std::rc::Rc;

use crate::subject::{is_valid_filter, is_valid_queue, tokens};
use cache::Cache;
use node::{Inserted, Level};

/// Tokens kept on the stack while matching; a longer subject spills to a heap `Vec`.
const STACK_TOKENS: usize = 32;

/// Subscribers interested in one published subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches<T> {
    /// Plain subscribers: each gets the message. One entry per matching subscription.
    pub plain: Vec<T>,
    /// Queue groups: one member of each gets the message. Group names are unique in a result.
    pub groups: Vec<QueueGroup<T>>,
}

/// The members of one queue group that match a subject (across all its matching filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup<T> {
    /// The queue group name.
    pub name: Rc<[u8]>,
    /// One entry per matching queue subscription; never empty.
    pub members: Vec<T>,
}

impl<T> Default for Matches<T> {
    fn default() -> Self {
        Matches {
            plain: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl<T: Copy + Eq> Matches<T> {
    /// True when nobody is interested.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.groups.is_empty()
    }

    /// The member list of group `name`, added (empty) if missing.
    fn group_mut(&mut self, name: &Rc<[u8]>) -> &mut Vec<T> {
        let i = match self.groups.iter().position(|g| g.name == *name) {
            Some(i) => i,
            None => {
                self.groups.push(QueueGroup {
                    name: Rc::clone(name),
                    members: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        // In bounds: `i` was just found or just pushed.
        &mut self.groups[i].members
    }

    /// Adds one subscription's id.
    fn push(&mut self, queue: Option<&Rc<[u8]>>, id: T) {
        match queue {
            None => self.plain.push(id),
            Some(name) => self.group_mut(name).push(id),
        }
    }

    /// Removes one occurrence of a subscription's id, dropping a group left empty.
    fn remove_one(&mut self, queue: Option<&[u8]>, id: T) {
        let (list, group) = match queue {
            None => (&mut self.plain, None),
            Some(q) => match self.groups.iter().position(|g| *g.name == *q) {
                Some(i) => (&mut self.groups[i].members, Some(i)),
                None => return,
            },
        };
        if let Some(pos) = list.iter().position(|x| *x == id) {
            list.swap_remove(pos);
        }
        if let Some(i) = group.filter(|&i| self.groups[i].members.is_empty()) {
            self.groups.swap_remove(i);
        }
    }
}

/// Counters for monitoring (`/subsz`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SublistStats {
    /// Subscriptions currently held.
    pub num_subscriptions: usize,
    /// Subjects currently cached.
    pub num_cache: usize,
    /// Most subjects the cache may hold (0 = cache disabled).
    pub cache_capacity: usize,
    /// Subscriptions ever added (duplicates not counted).
    pub num_inserts: u64,
    /// Subscriptions ever removed.
    pub num_removes: u64,
    /// Lookups: `matches` and `has_interest` calls.
    pub num_matches: u64,
    /// Lookups answered from the cache.
    pub cache_hits: u64,
}

impl SublistStats {
    /// Share of lookups answered from the cache, 0.0 when there were none.
    pub fn cache_hit_rate(&self) -> f64 {
        match self.num_matches {
            0 => 0.0,
            n => self.cache_hits as f64 / n as f64,
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SublistError {
    /// The filter is not a valid subscription subject (the client sees `Invalid Subject`).
    InvalidSubject,
    /// The queue group name is empty or contains whitespace.
    InvalidQueue,
}

impl fmt::Display for SublistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SublistError::InvalidSubject => "invalid subject",
            SublistError::InvalidQueue => "invalid queue group name",
        })
    }
}

impl std::error::Error for SublistError {}

/// Subscriptions by filter, with a bounded cache of match results.
///
/// A subscription is the triple `(filter, queue, id)`; the sublist holds a *set* of them.
/// Inserting a triple that is already present is a no-op that still returns `Ok(())` (it
/// changes neither [`len`](Self::len), the counters nor [`genid`](Self::genid)); one
/// [`remove`](Self::remove) then removes it. The same id may appear under different filters or
/// queues: those are different subscriptions, each listed in a match.
pub struct Sublist<T> {
    root: Level<T>,
    cache: Cache<T>,
    /// Shared result for "no interest", so misses on dead subjects allocate nothing.
    empty: Rc<Matches<T>>,
    count: usize,
    genid: u64,
    inserts: u64,
    removes: u64,
    matches: u64,
    cache_hits: u64,
}

impl<T> fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sublist")
            .field("count", &self.count)
            .field("genid", &self.genid)
            .finish_non_exhaustive()
    }
}

impl<T: Copy + Eq + Hash + fmt::Debug> Sublist<T> {
    /// An empty sublist whose cache holds at most `cache_capacity` subjects (0 = no cache;
    /// take the value from `config::Limits::sublist_cache`).
    pub fn new(cache_capacity: usize) -> Self {
        Sublist {
            root: Level::default(),
            cache: Cache::new(cache_capacity),
            empty: Rc::new(Matches::default()),
            count: 0,
            genid: 0,
            inserts: 0,
            removes: 0,
            matches: 0,
            cache_hits: 0,
        }
    }

    /// Adds the subscription `(filter, queue, id)`; a no-op if already present.
    ///
    /// # Errors
    /// [`SublistError::InvalidSubject`] if `filter` is not a valid filter,
    /// [`SublistError::InvalidQueue`] if `queue` is empty or contains whitespace.
    pub fn insert(
        &mut self,
        filter: &[u8],
        queue: Option<&[u8]>,
        id: T,
    ) -> Result<(), SublistError> {
        if !is_valid_filter(filter) {
            return Err(SublistError::InvalidSubject);
        }
        if queue.is_some_and(|q| !is_valid_queue(q)) {
            return Err(SublistError::InvalidQueue);
        }
        let Inserted::Added(name) = self.root.insert(filter, queue, id) else {
            return Ok(());
        };
        self.count += 1;
        self.inserts += 1;
        self.genid += 1;
        self.cache.update(filter, |m| m.push(name.as_ref(), id));
        Ok(())
    }

    /// Removes the subscription `(filter, queue, id)`, pruning trie nodes left empty.
    /// Returns false (and changes nothing) if it was not present.
    pub fn remove(&mut self, filter: &[u8], queue: Option<&[u8]>, id: T) -> bool {
        if !self.root.remove(filter, queue, id) {
            return false;
        }
        self.count -= 1;
        self.removes += 1;
        self.genid += 1;
        // Only a valid filter can have been inserted, which `update` relies on.
        self.cache.update(filter, |m| m.remove_one(queue, id));
        true
    }

    /// Everyone interested in the published `subject`. Cached: a hit is one hash lookup and an
    /// `Rc` clone. The result is a snapshot; later inserts/removes do not change it.
    pub fn matches(&mut self, subject: &[u8]) -> Rc<Matches<T>> {
        self.matches += 1;
        if let Some(hit) = self.cache.get(subject) {
            self.cache_hits += 1;
            return Rc::clone(hit);
        }
        let root = &self.root;
        let found = with_tokens(subject, |toks| {
            let mut m = Matches::default();
            root.collect(toks, &mut m);
            m
        });
        let Some(found) = found else {
            // An empty token: nats-server matches nothing and caches nothing.
            return Rc::clone(&self.empty);
        };
        let result = if found.is_empty() {
            Rc::clone(&self.empty)
        } else {
            Rc::new(found)
        };
        self.cache.insert(subject, Rc::clone(&result));
        result
    }

    /// Is anyone interested in `subject`? Same answer as `!matches(subject).is_empty()`, but a
    /// cache miss walks the trie without allocating and does not fill the cache (for subjects
    /// of up to 32 tokens).
    pub fn has_interest(&mut self, subject: &[u8]) -> bool {
        self.matches += 1;
        if let Some(hit) = self.cache.get(subject) {
            self.cache_hits += 1;
            return !hit.is_empty();
        }
        with_tokens(subject, |toks| self.root.any(toks)).unwrap_or(false)
    }

    /// Number of subscriptions.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there is no subscription.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Generation: bumps on every insert or remove that changes the set, so a caller can tell
    /// whether anything it derived from the sublist is stale.
    pub fn genid(&self) -> u64 {
        self.genid
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> SublistStats {
        SublistStats {
            num_subscriptions: self.count,
            num_cache: self.cache.len(),
            cache_capacity: self.cache.capacity(),
            num_inserts: self.inserts,
            num_removes: self.removes,
            num_matches: self.matches,
            cache_hits: self.cache_hits,
        }
    }

    /// Calls `f(filter, queue, id)` once for every subscription, in no particular order (to
    /// resend all interest to a hub after reconnecting).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], Option<&[u8]>, T)) {
        self.root.for_each(&mut Vec::new(), &mut f);
    }
}

/// Runs `f` on the tokens of a published subject, kept on the stack when there are at most
/// [`STACK_TOKENS`]. `None` if the subject is empty or has an empty token.
fn with_tokens<R>(subject: &[u8], f: impl FnOnce(&[&[u8]]) -> R) -> Option<R> {
    let mut stack: heapless::Vec<&[u8], STACK_TOKENS> = heapless::Vec::new();
    let mut toks = tokens(subject);
    while let Some(tok) = toks.next() {
        if tok.is_empty() {
            return None;
        }
        if let Err(tok) = stack.push(tok) {
            // Longer than the stack array: finish on the heap rather than fail.
            let mut heap: Vec<&[u8]> = Vec::with_capacity(2 * STACK_TOKENS);
            heap.extend_from_slice(&stack);
            heap.push(tok);
            for tok in toks {
                if tok.is_empty() {
                    return None;
                }
                heap.push(tok);
            }
            return Some(f(&heap));
        }
    }
    Some(f(&stack))
}
