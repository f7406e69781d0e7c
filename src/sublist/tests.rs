//! Unit tests for `Sublist`: match tables, queue groups, cache on/off equivalence, counters.
//!
//! Owns: example-based tests. Must not: depend on anything outside `sublist` and `subject`.
//! Hands off to: `proptests`, which checks `matches()` against a naive model.

use std::rc::Rc;

use super::*;

/// A result in a canonical order: sorted plain ids, groups sorted by name with sorted members.
pub(super) type Norm = (Vec<u32>, Vec<(Vec<u8>, Vec<u32>)>);

pub(super) fn norm(m: &Matches<u32>) -> Norm {
    let mut plain = m.plain.clone();
    plain.sort_unstable();
    let mut groups: Vec<_> = m
        .groups
        .iter()
        .map(|g| {
            let mut members = g.members.clone();
            members.sort_unstable();
            (g.name.to_vec(), members)
        })
        .collect();
    groups.sort();
    (plain, groups)
}

fn plain_ids(sl: &mut Sublist<u32>, subject: &str) -> Vec<u32> {
    let m = sl.matches(subject.as_bytes());
    assert!(m.groups.is_empty());
    norm(&m).0
}

/// Subscriptions used by the match table: (filter, id).
const SUBS: &[(&str, u32)] = &[
    ("foo", 1),
    ("foo.bar", 2),
    ("foo.*", 3),
    ("foo.>", 4),
    (">", 5),
    ("*.bar", 6),
    ("foo.*.baz", 7),
    ("fo*o", 8),
    ("*", 9),
    ("$JS.API.>", 10),
    ("a.b.c.d.e", 11),
];

/// (published subject, ids expected)
const TABLE: &[(&str, &[u32])] = &[
    ("foo", &[1, 5, 9]),
    ("foo.bar", &[2, 3, 4, 5, 6]),
    ("foo.baz", &[3, 4, 5]),
    ("foo.bar.baz", &[4, 5, 7]),
    ("foo.bar.qux", &[4, 5]),
    ("x.bar", &[5, 6]),
    ("fo*o", &[5, 8, 9]),
    ("foxo", &[5, 9]),
    ("a.b.c.d", &[5]),
    ("a.b.c.d.e", &[5, 11]),
    // Published wildcard tokens are literal tokens (captured 13): `*`/`>` subscribers only.
    ("foo.*", &[3, 4, 5]),
    ("foo.>", &[3, 4, 5]),
    ("*", &[5, 9]),
    (">", &[5, 9]),
    ("*.bar", &[5, 6]),
    ("$JS.API.CONSUMER.CREATE.S.c.pyprobe.>", &[5, 10]),
    // Empty tokens: nothing, no panic.
    ("foo..bar", &[]),
    ("", &[]),
    (".", &[]),
    (".foo", &[]),
    ("foo.", &[]),
    ("..", &[]),
];

#[test]
fn match_table_with_and_without_cache() {
    for cap in [0, 2, 64] {
        let mut sl = Sublist::new(cap);
        for &(f, id) in SUBS {
            sl.insert(f.as_bytes(), None, id).expect("valid filter");
        }
        for round in ["miss", "hit"] {
            for &(subject, want) in TABLE {
                assert_eq!(
                    plain_ids(&mut sl, subject),
                    want,
                    "{subject:?} cap={cap} {round}"
                );
                let interest = sl.has_interest(subject.as_bytes());
                assert_eq!(
                    interest,
                    !want.is_empty(),
                    "has_interest {subject:?} cap={cap}"
                );
            }
        }
    }
}

#[test]
fn captured_wildcard_publish() {
    // 13-client-wildcard-publish-and-spaces: subs foo.bar (101), foo.* (102), foo.> (103).
    let mut sl = Sublist::new(16);
    for (f, id) in [("foo.bar", 101), ("foo.*", 102), ("foo.>", 103)] {
        sl.insert(f.as_bytes(), None, id).expect("valid filter");
    }
    assert_eq!(plain_ids(&mut sl, "foo.*"), [102, 103]);
    assert_eq!(plain_ids(&mut sl, "foo.>"), [102, 103]);
    assert_eq!(plain_ids(&mut sl, "foo..bar"), [0u32; 0]);
    assert_eq!(sl.stats().num_cache, 2, "foo..bar is not cached");
}

#[test]
fn queue_groups_and_plain() {
    let mut sl = Sublist::new(16);
    let q = |s: &'static str| Some(s.as_bytes());
    sl.insert(b"orders.*", None, 1).expect("valid");
    sl.insert(b"orders.>", None, 2).expect("valid");
    sl.insert(b"orders.new", q("workers"), 10).expect("valid");
    sl.insert(b"orders.new", q("workers"), 11).expect("valid");
    sl.insert(b"orders.*", q("audit"), 20).expect("valid");
    // Same queue name on another matching filter joins the same group (nats-server findQSlot).
    sl.insert(b"orders.>", q("workers"), 12).expect("valid");
    sl.insert(b"other", q("workers"), 13).expect("valid");
    let m = sl.matches(b"orders.new");
    let want = (
        vec![1, 2],
        vec![
            (b"audit".to_vec(), vec![20]),
            (b"workers".to_vec(), vec![10, 11, 12]),
        ],
    );
    assert_eq!(norm(&m), want);

    // Emptying a group removes it from the cached result.
    assert!(sl.remove(b"orders.*", q("audit"), 20));
    let m = sl.matches(b"orders.new");
    assert_eq!(norm(&m).1, [(b"workers".to_vec(), vec![10, 11, 12])]);
    assert!(!sl.remove(b"orders.new", q("nobody"), 10));
    assert!(
        !sl.remove(b"orders.new", None, 10),
        "a queue sub is not a plain sub"
    );
}

#[test]
fn insert_remove_rematch_cache_on_off_agree() {
    let q = Some(&b"g"[..]);
    let script: &[(bool, &str, Option<&[u8]>, u32)] = &[
        (true, "a.b", None, 1),
        (true, "a.*", None, 2),
        (true, "a.>", q, 3),
        (true, ">", None, 4),
        (true, "a.*", q, 5),
        (false, "a.b", None, 1),
        (true, "*.b", None, 6),
        (false, "a.*", None, 2),
        (false, ">", None, 4),
        (true, "a.b", None, 1),
        (false, "a.>", q, 3),
        (false, "a.*", q, 5),
        (false, "*.b", None, 6),
        (false, "a.b", None, 1),
    ];
    let subjects = ["a.b", "a.c", "a.b.c", "x.b", "a", "a.*", "a.>"];
    let mut lists: Vec<Sublist<u32>> = [0, 1, 3, 64].into_iter().map(Sublist::new).collect();
    for &(add, f, queue, id) in script {
        for sl in &mut lists {
            match add {
                true => sl.insert(f.as_bytes(), queue, id).expect("valid"),
                false => assert!(sl.remove(f.as_bytes(), queue, id)),
            }
        }
        for s in subjects {
            let got: Vec<Norm> = lists
                .iter_mut()
                .map(|sl| norm(&sl.matches(s.as_bytes())))
                .collect();
            assert!(
                got.windows(2).all(|w| w[0] == w[1]),
                "{s:?} after {f:?}: {got:?}"
            );
        }
    }
    for sl in &lists {
        assert!(sl.is_empty() && sl.root.is_empty(), "fully pruned");
    }
}

#[test]
fn duplicates_are_idempotent() {
    let mut sl = Sublist::new(8);
    sl.insert(b"a.*", None, 1).expect("valid");
    let _ = sl.matches(b"a.b");
    let gen = sl.genid();
    sl.insert(b"a.*", None, 1)
        .expect("a duplicate is not an error");
    assert_eq!((sl.len(), sl.genid(), sl.stats().num_inserts), (1, gen, 1));
    assert_eq!(sl.matches(b"a.b").plain, [1]);
    // Same id, other filter or as a queue member: distinct subscriptions, listed separately.
    sl.insert(b"a.>", None, 1).expect("valid");
    sl.insert(b"a.*", Some(b"q"), 1).expect("valid");
    let m = sl.matches(b"a.b");
    assert_eq!(norm(&m), (vec![1, 1], vec![(b"q".to_vec(), vec![1])]));
    assert!(sl.remove(b"a.*", None, 1));
    assert!(!sl.remove(b"a.*", None, 1));
    assert_eq!(sl.matches(b"a.b").plain, [1]);
}

#[test]
fn genid_and_stats() {
    let mut sl = Sublist::new(4);
    assert_eq!(sl.genid(), 0);
    sl.insert(b"a", None, 1).expect("valid");
    assert_eq!(sl.genid(), 1);
    assert!(sl.insert(b"a..b", None, 2).is_err());
    assert!(!sl.remove(b"b", None, 1));
    assert_eq!(sl.genid(), 1, "failed operations change nothing");
    assert!(sl.remove(b"a", None, 1));
    assert_eq!(sl.genid(), 2);

    sl.insert(b"a", None, 1).expect("valid");
    let first = sl.matches(b"a");
    let second = sl.matches(b"a");
    assert!(Rc::ptr_eq(&first, &second), "a hit hands out the cached Rc");
    assert!(sl.has_interest(b"a") && !sl.has_interest(b"b"));
    let st = sl.stats();
    let want = SublistStats {
        num_subscriptions: 1,
        num_cache: 1,
        cache_capacity: 4,
        num_inserts: 2,
        num_removes: 1,
        num_matches: 4,
        cache_hits: 2,
    };
    assert_eq!(st, want);
    assert!((st.cache_hit_rate() - 0.5).abs() < 1e-9);
    assert_eq!(SublistStats::default().cache_hit_rate(), 0.0);
}

#[test]
fn invalid_subscriptions_are_refused() {
    let mut sl = Sublist::new(4);
    for f in [
        "",
        "foo..bar",
        "foo.>.bar",
        ".a",
        "a.",
        "a b",
        "a\tb",
        ">.>",
    ] {
        assert_eq!(
            sl.insert(f.as_bytes(), None, 1),
            Err(SublistError::InvalidSubject),
            "{f:?}"
        );
    }
    for q in ["", "a b", "a\r"] {
        assert_eq!(
            sl.insert(b"a", Some(q.as_bytes()), 1),
            Err(SublistError::InvalidQueue),
            "{q:?}"
        );
    }
    assert!(sl.is_empty() && sl.genid() == 0);
    sl.insert(b"fo*o", None, 3)
        .expect("captured 02: `SUB fo*o 3` is valid");
    assert_eq!(SublistError::InvalidSubject.to_string(), "invalid subject");
    assert_eq!(
        SublistError::InvalidQueue.to_string(),
        "invalid queue group name"
    );
}

#[test]
fn long_subjects_spill_to_the_heap() {
    let long: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let subject = long.join(".");
    let mut filter40 = long[..40].join(".");
    filter40.push_str(".>");
    for cap in [0, 4] {
        let mut sl = Sublist::new(cap);
        sl.insert(filter40.as_bytes(), None, 1).expect("valid");
        sl.insert(subject.as_bytes(), None, 2).expect("valid");
        sl.insert(b"t0.*.>", None, 3).expect("valid");
        assert_eq!(plain_ids(&mut sl, &subject), [1, 2, 3]);
        assert!(sl.has_interest(subject.as_bytes()));
        assert!(!sl.has_interest(format!("{subject}..x").as_bytes()));
        assert!(sl.remove(filter40.as_bytes(), None, 1) && sl.remove(subject.as_bytes(), None, 2));
        assert_eq!(plain_ids(&mut sl, &subject), [3]);
    }
}

#[test]
fn cache_is_bounded() {
    let mut sl = Sublist::new(16);
    sl.insert(b"s.>", None, 1).expect("valid");
    let long = "x".repeat(1000);
    for i in 0..5000 {
        let subject = if i % 2 == 0 {
            format!("s.{i}")
        } else {
            format!("s.{long}.{i}")
        };
        assert_eq!(sl.matches(subject.as_bytes()).plain, [1]);
        assert!(sl.stats().num_cache <= 16);
    }
    assert_eq!(
        sl.stats().num_cache.max(8),
        sl.stats().num_cache,
        "sweeps keep half"
    );
}

#[test]
fn results_are_snapshots() {
    let mut sl = Sublist::new(8);
    sl.insert(b"a.*", None, 1).expect("valid");
    let held = sl.matches(b"a.b");
    sl.insert(b"a.b", None, 2).expect("valid");
    sl.remove(b"a.*", None, 1);
    assert_eq!(held.plain, [1]);
    assert_eq!(sl.matches(b"a.b").plain, [2]);
}

#[test]
fn remove_prunes_empty_nodes() {
    let mut sl = Sublist::new(0);
    sl.insert(b"a.b.c", None, 1).expect("valid");
    sl.insert(b"a.b", None, 2).expect("valid");
    sl.insert(b"a.*.>", Some(b"q"), 3).expect("valid");
    assert!(sl.remove(b"a.b.c", None, 1));
    assert!(!sl.root.has_node(b"a.b.c") && sl.root.has_node(b"a.b"));
    assert!(sl.remove(b"a.*.>", Some(b"q"), 3));
    assert!(!sl.root.has_node(b"a.*"));
    assert!(sl.remove(b"a.b", None, 2));
    assert!(sl.root.is_empty() && sl.root.count() == 0);
    assert!(!sl.remove(b"a.b", None, 2) && !sl.remove(b"a..b", None, 2));
}

#[test]
fn for_each_enumerates_every_subscription() {
    let mut sl = Sublist::new(0);
    let subs: &[(&str, Option<&str>, u32)] = &[
        ("a", None, 1),
        ("a.b", None, 2),
        ("a.*", Some("q"), 3),
        ("a.>", None, 4),
        ("*.fo*o.>", Some("r"), 5),
        (">", None, 6),
        ("a.b", Some("q"), 7),
    ];
    for &(f, q, id) in subs {
        sl.insert(f.as_bytes(), q.map(str::as_bytes), id)
            .expect("valid");
    }
    let mut seen = Vec::new();
    sl.for_each(|f, q, id| {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        seen.push((text(f), q.map(text), id));
    });
    seen.sort_by_key(|s| s.2);
    let want: Vec<_> = subs
        .iter()
        .map(|&(f, q, id)| (f.to_owned(), q.map(str::to_owned), id))
        .collect();
    assert_eq!(seen, want);
}
