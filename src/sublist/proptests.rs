//! Model-based property test: random inserts, removes and lookups against a `Sublist` with a
//! tiny cache (so it evicts constantly) and one with none, checked against a naive model that
//! is a `Vec` of subscriptions filtered with `subject::filter_matches`.
//!
//! Owns: the model and the operation generator. Must not: share code with the implementation
//! beyond `filter_matches`. Hands off to: nothing.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{norm, Norm};
use super::*;
use crate::subject::filter_matches;

/// Tokens for both filters and subjects: literals (one with a `*` inside), wildcards, and the
/// empty token, so invalid filters and subjects with empty tokens are generated too.
const TOKENS: &[&str] = &["a", "b", "fo*o", "*", ">", ""];
const QUEUES: &[Option<&str>] = &[None, None, Some("q1"), Some("q2"), Some("")];

#[derive(Debug, Clone)]
enum Op {
    Insert(String, Option<&'static str>, u32),
    Remove(String, Option<&'static str>, u32),
    Match(String),
    HasInterest(String),
}

/// Subjects that collide often enough for cached entries to be hit, updated and evicted.
const SUBJECTS: &[&str] = &[
    "a", "b", "a.b", "a.a", "b.a", "a.b.a", "a.*", "a.>", "*", ">", "fo*o", "a.fo*o", "a..b", "",
];
/// Filters, valid and invalid, over the same tokens.
const FILTERS: &[&str] = &[
    "a", "b", "a.b", "a.*", "*.b", "a.>", ">", "*", "*.*", "*.>", "a.*.a", "fo*o", "a.>.b", "a..b",
];

/// Random subjects over [`TOKENS`], one to four tokens.
fn random_subject() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 1..5).prop_map(|t| t.join("."))
}

fn subject() -> impl Strategy<Value = String> {
    let pool = prop::sample::select(SUBJECTS).prop_map(str::to_owned);
    prop_oneof![3 => pool, 1 => random_subject()]
}

fn filter() -> impl Strategy<Value = String> {
    let pool = prop::sample::select(FILTERS).prop_map(str::to_owned);
    prop_oneof![3 => pool, 1 => random_subject()]
}

fn op() -> impl Strategy<Value = Op> {
    let q = prop::sample::select(QUEUES);
    let id = 0u32..6;
    prop_oneof![
        3 => (filter(), q.clone(), id.clone()).prop_map(|(f, q, i)| Op::Insert(f, q, i)),
        2 => (filter(), q, id).prop_map(|(f, q, i)| Op::Remove(f, q, i)),
        4 => subject().prop_map(Op::Match),
        1 => subject().prop_map(Op::HasInterest),
    ]
}

/// The naive model: a list of distinct (filter, queue, id) triples.
#[derive(Default)]
struct Model {
    subs: Vec<(String, Option<&'static str>, u32)>,
}

impl Model {
    fn insert(&mut self, f: &str, q: Option<&'static str>, id: u32) -> Result<(), SublistError> {
        if !crate::subject::is_valid_filter(f.as_bytes()) {
            return Err(SublistError::InvalidSubject);
        }
        if q == Some("") {
            return Err(SublistError::InvalidQueue);
        }
        if !self.subs.iter().any(|s| s.0 == f && s.1 == q && s.2 == id) {
            self.subs.push((f.to_owned(), q, id));
        }
        Ok(())
    }

    fn remove(&mut self, f: &str, q: Option<&'static str>, id: u32) -> bool {
        let before = self.subs.len();
        self.subs.retain(|s| !(s.0 == f && s.1 == q && s.2 == id));
        self.subs.len() != before
    }

    fn matches(&self, subject: &str) -> Norm {
        let mut plain = Vec::new();
        let mut groups: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
        for (f, q, id) in &self.subs {
            if filter_matches(f.as_bytes(), subject.as_bytes()) {
                match q {
                    None => plain.push(*id),
                    Some(q) => groups.entry(q.as_bytes().to_vec()).or_default().push(*id),
                }
            }
        }
        plain.sort_unstable();
        let groups = groups.into_iter().map(|(k, mut v)| {
            (k, {
                v.sort_unstable();
                v
            })
        });
        (plain, groups.collect())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sublist_agrees_with_naive_model(ops in prop::collection::vec(op(), 1..120)) {
        let mut model = Model::default();
        let mut lists = [Sublist::new(0), Sublist::new(2), Sublist::new(5)];
        let mut changes = 0u64;
        for op in &ops {
            match op {
                Op::Insert(f, q, id) => {
                    let before = model.subs.len();
                    let want = model.insert(f, *q, *id);
                    changes += u64::from(model.subs.len() != before);
                    for sl in &mut lists {
                        prop_assert_eq!(sl.insert(f.as_bytes(), q.map(str::as_bytes), *id), want);
                    }
                }
                Op::Remove(f, q, id) => {
                    let want = model.remove(f, *q, *id);
                    changes += u64::from(want);
                    for sl in &mut lists {
                        prop_assert_eq!(sl.remove(f.as_bytes(), q.map(str::as_bytes), *id), want);
                    }
                }
                Op::Match(s) => {
                    let want = model.matches(s);
                    for sl in &mut lists {
                        prop_assert_eq!(norm(&sl.matches(s.as_bytes())), want.clone(), "{:?}", s);
                    }
                }
                Op::HasInterest(s) => {
                    let (plain, groups) = model.matches(s);
                    let want = !plain.is_empty() || !groups.is_empty();
                    for sl in &mut lists {
                        prop_assert_eq!(sl.has_interest(s.as_bytes()), want, "{:?}", s);
                    }
                }
            }
            for sl in &lists {
                prop_assert_eq!(sl.len(), model.subs.len());
                prop_assert_eq!(sl.genid(), changes);
                prop_assert!(sl.stats().num_cache <= sl.stats().cache_capacity);
            }
        }
        // Removing everything leaves a fully pruned trie.
        for (f, q, id) in model.subs.clone() {
            for sl in &mut lists {
                prop_assert!(sl.remove(f.as_bytes(), q.map(str::as_bytes), id));
            }
        }
        for sl in &lists {
            prop_assert!(sl.is_empty() && sl.root.is_empty());
        }
    }
}
