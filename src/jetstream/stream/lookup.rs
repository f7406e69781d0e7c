//! Subject lookups on a [`Stream`] and its [`MessageSource`] implementation.
//!
//! Owns: last/next message by subject filter, per-subject counts, time search. Costs: filters
//! that cover all of the stream's subjects are no filter at all; literal
//! filters go straight to the subject's seq list (O(log n)); other wildcard filters walk the
//! subject table (O(subjects)), or for `next_matching` the live messages from `from` when that
//! range is shorter than the subject table. Unfiltered counting does not scan (it counts the
//! interior deletes above `from` only). Must not: modify anything. Hands off to: the log for
//! the message bytes.

use std::collections::{BTreeMap, VecDeque};

use super::{api_err, ns, Stream};
use crate::jetstream::error::ApiError;
use crate::jetstream::source::MessageSource;
use crate::jetstream::time::Timestamp;
use crate::store::StoredMsg;
use crate::subject::{filter_matches, has_wildcard, is_subset};

/// No filter, or one that matches everything.
fn is_all(filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| f == ">")
}

impl Stream {
    /// Whether `filters` match every message this stream can hold: no filter, `>`, or
    /// filters covering each of the stream's subjects (a KV watcher's `$KV.<bucket>.>`). Such
    /// lookups take the unfiltered paths, which never walk the subject table.
    fn covers_all(&self, filters: &[String]) -> bool {
        is_all(filters)
            || self.config.subjects.iter().all(|s| {
                filters
                    .iter()
                    .any(|f| is_subset(s.as_bytes(), f.as_bytes()))
            })
    }
}

fn matches_any(filters: &[String], subject: &[u8]) -> bool {
    filters
        .iter()
        .any(|f| filter_matches(f.as_bytes(), subject))
}

/// Live seqs of `seqs` at or above `from`.
fn count_above(seqs: &VecDeque<u64>, from: u64) -> u64 {
    (seqs.len() - seqs.partition_point(|&s| s < from)) as u64
}

/// The first of `seqs` at or above `from`.
fn first_above(seqs: &VecDeque<u64>, from: u64) -> Option<u64> {
    seqs.get(seqs.partition_point(|&s| s < from)).copied()
}

impl Stream {
    /// Subjects matching `filter` with their message counts (STREAM.INFO `subjects_filter`).
    pub fn subjects_state(&self, filter: &str) -> BTreeMap<String, u64> {
        let f = filter.as_bytes();
        self.index
            .subjects()
            .filter(|(s, _)| filter_matches(f, s))
            .map(|(s, q)| (String::from_utf8_lossy(s).into_owned(), q.len() as u64))
            .collect()
    }

    /// The newest message whose subject matches `filter` (literal or wildcard).
    ///
    /// # Errors
    /// The store failed to read (10077).
    pub fn last_by_subject(&self, filter: &[u8]) -> Result<Option<StoredMsg>, ApiError> {
        let seq = if has_wildcard(filter) {
            self.index
                .subjects()
                .filter(|(s, _)| filter_matches(filter, s))
                .filter_map(|(_, q)| q.back().copied())
                .max()
        } else {
            self.index.seqs_of(filter).and_then(|q| q.back().copied())
        };
        self.read(seq)
    }

    /// The first message at or after `from_seq` whose subject matches `filter`.
    ///
    /// # Errors
    /// The store failed to read (10077).
    pub fn next_by_subject(
        &self,
        filter: &[u8],
        from_seq: u64,
    ) -> Result<Option<StoredMsg>, ApiError> {
        let filters = [String::from_utf8_lossy(filter).into_owned()];
        self.read(self.next_seq_matching(from_seq, &filters))
    }

    fn read(&self, seq: Option<u64>) -> Result<Option<StoredMsg>, ApiError> {
        match seq {
            Some(seq) => self.log().get(seq).map_err(api_err),
            None => Ok(None),
        }
    }

    /// The first live seq `>= from` matching `filters` (see the module docs for costs).
    fn next_seq_matching(&self, from: u64, filters: &[String]) -> Option<u64> {
        if self.covers_all(filters) {
            return self.index.live_from(from).next().map(|(s, _, _)| s);
        }
        if !filters.iter().any(|f| has_wildcard(f.as_bytes())) {
            return filters
                .iter()
                .filter_map(|f| first_above(self.index.seqs_of(f.as_bytes())?, from))
                .min();
        }
        let range = self.log().last_seq().saturating_sub(from);
        if range < self.index.num_subjects() {
            return self
                .index
                .live_subjects_from(from)
                .find(|(_, s)| matches_any(filters, s))
                .map(|(seq, _)| seq);
        }
        self.index
            .subjects()
            .filter(|(s, _)| matches_any(filters, s))
            .filter_map(|(_, q)| first_above(q, from))
            .min()
    }
}

impl MessageSource for Stream {
    fn next_matching(&self, from: u64, filters: &[String]) -> Result<Option<StoredMsg>, ApiError> {
        self.read(self.next_seq_matching(from, filters))
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, ApiError> {
        Stream::get(self, seq)
    }

    fn first_seq(&self) -> u64 {
        self.index
            .first()
            .unwrap_or_else(|| self.log().last_seq() + 1)
    }

    fn last_seq(&self) -> u64 {
        self.log().last_seq()
    }

    fn count_matching(&self, from: u64, filters: &[String]) -> u64 {
        if self.covers_all(filters) {
            return self.index.count_from(from);
        }
        if !filters.iter().any(|f| has_wildcard(f.as_bytes())) {
            let mut literal: Vec<&str> = filters.iter().map(String::as_str).collect();
            literal.sort_unstable();
            literal.dedup();
            return literal
                .iter()
                .filter_map(|f| self.index.seqs_of(f.as_bytes()))
                .map(|q| count_above(q, from))
                .sum();
        }
        self.index
            .subjects()
            .filter(|(s, _)| matches_any(filters, s))
            .map(|(_, q)| count_above(q, from))
            .sum()
    }

    fn seq_at_time(&self, t: Timestamp) -> u64 {
        self.index
            .seq_at_time(ns(t))
            .unwrap_or_else(|| self.log().last_seq() + 1)
    }

    fn last_per_subject(&self, filters: &[String]) -> Vec<u64> {
        let all = self.covers_all(filters);
        let mut seqs: Vec<u64> = self
            .index
            .subjects()
            .filter(|(s, _)| all || matches_any(filters, s))
            .filter_map(|(_, q)| q.back().copied())
            .collect();
        seqs.sort_unstable();
        seqs
    }
}
