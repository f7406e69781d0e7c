//! The subject trie: one [`Level`] per token position, each with a literal-token map plus a
//! `*` slot and a `>` slot (the shape of nats-server's `sublist.go`).
//!
//! Owns: the trie's structure, insert/remove with pruning of emptied nodes, collecting the
//! subscriptions that match a tokenised subject, the allocation-free "any interest?" walk, and
//! enumeration. Must not: validate filters (the caller did), count or cache (that is `mod.rs`
//! and `cache.rs`). Hands off to: `Sublist`, which wraps it.
//!
//! A published token is looked up only in the literal map, and the literal map never holds
//! `*` or `>` (those go to the slots), so a published `*`/`>` token is matched literally: it
//! reaches `*` and `>` subscribers but no literal one, exactly like nats-server.
//!
//! Recursion depth (remove, `*` branches of a match, enumeration, drop) is at most the number
//! of tokens in a subject, which the control-line limit bounds.

use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use super::idset::IdSet;
use super::Matches;
use crate::subject::tokens;

/// The nodes for one token position.
#[derive(Debug)]
pub(super) struct Level<T> {
    /// Literal tokens (including ones like `fo*o`) → node.
    literal: HashMap<Box<[u8]>, Node<T>>,
    /// The `*` node.
    pwc: Option<Box<Node<T>>>,
    /// The `>` node. It never has a next level: nothing may follow `>`.
    fwc: Option<Box<Node<T>>>,
}

/// One token of a filter: the subscriptions whose filter ends here, and the next level.
#[derive(Debug)]
struct Node<T> {
    next: Option<Box<Level<T>>>,
    plain: IdSet<T>,
    /// Queue groups on exactly this filter, by name. Few per filter, so a `Vec`.
    queues: Vec<QueueSubs<T>>,
}

/// The members of one queue group on one filter.
#[derive(Debug)]
struct QueueSubs<T> {
    /// Shared with every match result that lists this group.
    name: Rc<[u8]>,
    members: IdSet<T>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Level {
            literal: HashMap::new(),
            pwc: None,
            fwc: None,
        }
    }
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            next: None,
            plain: IdSet::default(),
            queues: Vec::new(),
        }
    }
}

/// What [`Level::insert`] did.
#[derive(Debug)]
pub(super) enum Inserted {
    /// The triple was already present; nothing changed.
    Duplicate,
    /// Added; carries the queue group's shared name for a queue subscription.
    Added(Option<Rc<[u8]>>),
}

impl<T: Copy + Eq + Hash> Level<T> {
    /// True when the level holds no node at all.
    pub(super) fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.pwc.is_none() && self.fwc.is_none()
    }

    /// The child for `tok`, created if missing.
    fn child_mut(&mut self, tok: &[u8]) -> &mut Node<T> {
        match tok {
            b"*" => self.pwc.get_or_insert_with(Box::default),
            b">" => self.fwc.get_or_insert_with(Box::default),
            // Insert is not the hot path; the key copy on a hit is accepted for the entry API.
            _ => self.literal.entry(Box::from(tok)).or_default(),
        }
    }

    /// The child for `tok`, if any.
    #[cfg(test)]
    fn child(&self, tok: &[u8]) -> Option<&Node<T>> {
        match tok {
            b"*" => self.pwc.as_deref(),
            b">" => self.fwc.as_deref(),
            _ => self.literal.get(tok),
        }
    }

    /// Adds `(filter, queue, id)`. `filter` must be a valid filter.
    pub(super) fn insert(&mut self, filter: &[u8], queue: Option<&[u8]>, id: T) -> Inserted {
        let mut level = self;
        let mut toks = tokens(filter).peekable();
        while let Some(tok) = toks.next() {
            let node = level.child_mut(tok);
            if toks.peek().is_none() {
                return node.add(queue, id);
            }
            level = node.next.get_or_insert_with(Box::default);
        }
        // `tokens` yields at least one token, so the loop always returns.
        Inserted::Duplicate
    }

    /// Removes `(filter, queue, id)` and prunes nodes left empty. False if it was not present
    /// (including for any invalid filter, which can never have been inserted).
    pub(super) fn remove(&mut self, filter: &[u8], queue: Option<&[u8]>, id: T) -> bool {
        let mut toks = tokens(filter).peekable();
        self.remove_tokens(&mut toks, queue, id)
    }

    fn remove_tokens<'a>(
        &mut self,
        toks: &mut std::iter::Peekable<impl Iterator<Item = &'a [u8]>>,
        queue: Option<&[u8]>,
        id: T,
    ) -> bool {
        let Some(tok) = toks.next() else { return false };
        let last = toks.peek().is_none();
        let node = match tok {
            b"*" => self.pwc.as_deref_mut(),
            b">" => self.fwc.as_deref_mut(),
            _ => self.literal.get_mut(tok),
        };
        let Some(node) = node else { return false };
        let removed = if last {
            node.remove(queue, id)
        } else {
            match node.next.as_deref_mut() {
                Some(next) => next.remove_tokens(toks, queue, id),
                None => false,
            }
        };
        if !removed {
            return false;
        }
        if node.next.as_deref().is_some_and(Level::is_empty) {
            node.next = None;
        }
        if node.is_empty() {
            match tok {
                b"*" => self.pwc = None,
                b">" => self.fwc = None,
                _ => {
                    self.literal.remove(tok);
                }
            }
        }
        true
    }

    /// Appends every subscription matching the published `toks` (non-empty, no empty token).
    pub(super) fn collect(&self, toks: &[&[u8]], out: &mut Matches<T>) {
        let mut level = self;
        for (i, tok) in toks.iter().enumerate() {
            let rest = &toks[i + 1..];
            if let Some(fwc) = &level.fwc {
                fwc.add_to(out);
            }
            if let Some(pwc) = &level.pwc {
                pwc.collect_below(rest, out);
            }
            match level.literal.get(*tok) {
                Some(node) if rest.is_empty() => node.add_to(out),
                Some(Node {
                    next: Some(next), ..
                }) => {
                    level = next;
                    continue;
                }
                _ => {}
            }
            return;
        }
    }

    /// Is there at least one subscription matching `toks`? Allocates nothing.
    pub(super) fn any(&self, toks: &[&[u8]]) -> bool {
        let mut level = self;
        for (i, tok) in toks.iter().enumerate() {
            let rest = &toks[i + 1..];
            // A node only exists while it has subscriptions or a non-empty next level, and a
            // `>` node has no next level, so its presence means interest.
            if level.fwc.is_some() {
                return true;
            }
            if level.pwc.as_deref().is_some_and(|n| n.any_below(rest)) {
                return true;
            }
            match level.literal.get(*tok) {
                Some(node) if rest.is_empty() => return node.has_subs(),
                Some(Node {
                    next: Some(next), ..
                }) => level = next,
                _ => return false,
            }
        }
        false
    }

    /// Calls `f(filter, queue, id)` for every subscription; `path` holds the filter so far.
    pub(super) fn for_each(&self, path: &mut Vec<u8>, f: &mut impl FnMut(&[u8], Option<&[u8]>, T)) {
        let children = self.literal.iter().map(|(t, n)| (&**t, n));
        let wild = [(&b"*"[..], &self.pwc), (&b">"[..], &self.fwc)];
        let wild = wild
            .into_iter()
            .filter_map(|(t, n)| Some((t, n.as_deref()?)));
        for (tok, node) in children.chain(wild) {
            let len = path.len();
            if len > 0 {
                path.push(b'.');
            }
            path.extend_from_slice(tok);
            node.for_each(path, f);
            path.truncate(len);
        }
    }

    /// Number of subscriptions in this level and below (used by tests to check pruning).
    #[cfg(test)]
    pub(super) fn count(&self) -> usize {
        let mut n = 0;
        self.for_each(&mut Vec::new(), &mut |_, _, _| n += 1);
        n
    }

    /// Looks up the node for a filter (tests).
    #[cfg(test)]
    pub(super) fn has_node(&self, filter: &[u8]) -> bool {
        let mut level = Some(self);
        let mut found = false;
        for tok in tokens(filter) {
            let node = level.and_then(|l| l.child(tok));
            found = node.is_some();
            level = node.and_then(|n| n.next.as_deref());
        }
        found
    }
}

impl<T: Copy + Eq + Hash> Node<T> {
    fn has_subs(&self) -> bool {
        !self.plain.is_empty() || !self.queues.is_empty()
    }

    fn is_empty(&self) -> bool {
        !self.has_subs() && self.next.is_none()
    }

    fn add(&mut self, queue: Option<&[u8]>, id: T) -> Inserted {
        let Some(q) = queue else {
            return match self.plain.insert(id) {
                true => Inserted::Added(None),
                false => Inserted::Duplicate,
            };
        };
        let i = match self.queues.iter().position(|g| *g.name == *q) {
            Some(i) => i,
            None => {
                self.queues.push(QueueSubs {
                    name: Rc::from(q),
                    members: IdSet::default(),
                });
                self.queues.len() - 1
            }
        };
        // In bounds: `i` was just found or just pushed.
        let group = &mut self.queues[i];
        match group.members.insert(id) {
            true => Inserted::Added(Some(Rc::clone(&group.name))),
            false => Inserted::Duplicate,
        }
    }

    fn remove(&mut self, queue: Option<&[u8]>, id: T) -> bool {
        let Some(q) = queue else {
            return self.plain.remove(id);
        };
        let Some(i) = self.queues.iter().position(|g| *g.name == *q) else {
            return false;
        };
        let removed = self.queues[i].members.remove(id);
        if self.queues[i].members.is_empty() {
            self.queues.swap_remove(i);
        }
        removed
    }

    /// Matches below a `*` node for the remaining tokens `rest`.
    fn collect_below(&self, rest: &[&[u8]], out: &mut Matches<T>) {
        match (rest.is_empty(), &self.next) {
            (true, _) => self.add_to(out),
            (false, Some(next)) => next.collect(rest, out),
            (false, None) => {}
        }
    }

    fn any_below(&self, rest: &[&[u8]]) -> bool {
        match (rest.is_empty(), &self.next) {
            (true, _) => self.has_subs(),
            (false, Some(next)) => next.any(rest),
            (false, None) => false,
        }
    }

    /// Appends this node's subscriptions to a result, grouping queue members by name.
    fn add_to(&self, out: &mut Matches<T>) {
        self.plain.extend_into(&mut out.plain);
        for q in &self.queues {
            q.members.extend_into(out.group_mut(&q.name));
        }
    }

    fn for_each(&self, path: &mut Vec<u8>, f: &mut impl FnMut(&[u8], Option<&[u8]>, T)) {
        self.plain.for_each(|id| f(path, None, id));
        for q in &self.queues {
            q.members.for_each(|id| f(path, Some(&q.name), id));
        }
        if let Some(next) = &self.next {
            next.for_each(path, f);
        }
    }
}
