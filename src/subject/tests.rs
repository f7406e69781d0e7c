//! Tables for subject validity, matching and overlap, and the newtypes.

use super::*;

/// (subject, valid filter, valid literal)
const VALIDITY: &[(&str, bool, bool)] = &[
    ("foo", true, true),
    ("foo.bar", true, true),
    ("foo.*", true, false),
    ("foo.>", true, false),
    ("*", true, false),
    (">", true, false),
    ("*.*.>", true, false),
    ("fo*o", true, true), // captured: a literal token (02: `SUB fo*o 3` is accepted)
    ("foo.b>r", true, true),
    ("foo.**", true, true),
    ("événement.fo*o", true, true), // captured (13)
    ("$JS.API.CONSUMER.CREATE.S.c.pyprobe.>", true, false),
    ("_INBOX.a-b_c$", true, true),
    ("foo..bar", false, false),  // captured (02): Invalid Subject
    ("foo.>.bar", false, false), // captured (02): Invalid Subject
    (">.foo", false, false),
    ("foo.>.>", false, false),
    ("", false, false),
    (".", false, false),
    (".foo", false, false),
    ("foo.", false, false),
    ("foo bar", false, false),
    ("foo\tbar", false, false),
    ("foo.\r", false, false),
    ("foo\n", false, false),
    ("foo\x0cbar", false, false),
    (" ", false, false),
];

#[test]
fn validity_table() {
    for &(s, filter, literal) in VALIDITY {
        assert_eq!(is_valid_filter(s.as_bytes()), filter, "filter {s:?}");
        assert_eq!(is_valid_literal(s.as_bytes()), literal, "literal {s:?}");
        assert_eq!(Filter::new(s.as_bytes()).is_ok(), filter, "Filter {s:?}");
        assert_eq!(Subject::new(s.as_bytes()).is_ok(), literal, "Subject {s:?}");
    }
}

#[test]
fn non_utf8_is_fine() {
    assert!(is_valid_literal(b"a.\xff\xfe.b"));
    let s = Subject::new(b"a.\xff").expect("valid bytes");
    assert_eq!(s.to_string(), "a.\u{fffd}");
    assert_eq!(format!("{s:?}"), "Subject(\"a.\u{fffd}\")");
}

#[test]
fn wildcards_and_queues() {
    for (s, want) in [
        ("foo.*", true),
        (">", true),
        ("fo*o.b>", false),
        ("*x", false),
    ] {
        assert_eq!(has_wildcard(s.as_bytes()), want, "{s:?}");
    }
    for (q, want) in [
        ("workers", true),
        ("a.b", true),
        ("", false),
        ("a b", false),
    ] {
        assert_eq!(is_valid_queue(q.as_bytes()), want, "{q:?}");
    }
    assert_eq!(tokens(b"a..b").collect::<Vec<_>>(), [&b"a"[..], b"", b"b"]);
    assert_eq!(tokens(b"").count(), 1);
}

type Strs = &'static [&'static str];
/// A table row: a filter, what the relation holds for, and what it does not hold for.
type Row = (&'static str, Strs, Strs);

/// Checks `relation(a, b)` for every pair in `rows`.
fn check_rows(rows: &[Row], relation: impl Fn(&[u8], &[u8]) -> bool) {
    for &(a, yes, no) in rows {
        let pairs = yes.iter().map(|b| (b, true));
        for (b, want) in pairs.chain(no.iter().map(|b| (b, false))) {
            let got = relation(a.as_bytes(), b.as_bytes());
            assert_eq!(got, want, "{a:?} with {b:?}");
        }
    }
}

/// (filter, subjects it matches, subjects it does not match)
const MATCHES: &[Row] = &[
    ("foo", &["foo"], &["foo.bar", "fo", "", "foo."]),
    ("foo.bar", &["foo.bar"], &["foo", "foo.*", "foo.bar.baz"]),
    ("foo.*", &["foo.bar", "foo.*"], &["foo", "foo.b.c", "foo."]),
    ("foo.>", &["foo.bar", "foo.b.c", "foo.*"], &["foo", "foo."]),
    ("foo.*", &["foo.>"], &["foo..b"]),
    ("foo.>", &["foo.>"], &["foo..b"]),
    (">", &["foo", "a.b.c", "*", ">"], &["", "foo..bar", ".foo"]),
    ("*", &["foo", "*"], &["foo.bar", ""]),
    ("*.bar", &["foo.bar", "*.bar"], &["foo.baz", "bar"]),
    ("foo.*.baz", &["foo.bar.baz"], &["foo.bar.bax", "foo..baz"]),
    ("fo*o", &["fo*o"], &["foxo", "foo"]),
    // nats-py's consumer create publishes to a subject ending in `>` (captured).
    ("$JS.API.>", &["$JS.API.CONSUMER.CREATE.S.c.pyprobe.>"], &[]),
    ("$JS.API.>", &[], &["$JS.API"]),
    // Invalid filters match nothing.
    ("foo..bar", &[], &["foo..bar"]),
    ("foo.>.bar", &[], &["foo.x.bar", "foo.>.bar"]),
];

#[test]
fn match_table() {
    check_rows(MATCHES, filter_matches);
    check_rows(MATCHES, |f, s| Filter::new(f).is_ok_and(|f| f.matches(s)));
}

/// (filter, filters it overlaps, filters it does not overlap)
const OVERLAPS: &[Row] = &[
    ("foo", &["foo", "*", ">"], &["bar", "foo.*", "foo.>"]),
    ("foo.*", &["foo.bar", "foo.>", "*.bar"], &["foo", "*"]),
    ("foo.*", &["*.*"], &["foo.a.b"]),
    ("foo.>", &["foo.bar.baz", "*.*.*", ">"], &["foo", "bar.>"]),
    ("foo.*.baz", &["foo.bar.*", "*.*.baz"], &["foo.bar.qux"]),
    ("*.>", &["a.b", "a.>"], &["*", "a"]),
    ("a.*.>", &["*.b.c.d", "a.b.>"], &["a.b", "b.>"]),
    ("fo*o", &["*", "fo*o"], &["foo", "foxo"]),
    ("foo..bar", &[], &["foo.*.bar", ">", "foo..bar"]),
    ("", &[], &[">", ""]),
];

#[test]
fn overlap_table() {
    check_rows(OVERLAPS, filters_overlap);
    check_rows(OVERLAPS, |a, b| filters_overlap(b, a));
}

#[test]
fn newtypes() {
    let f = Filter::new(b"foo.*").expect("valid filter");
    assert!(f.has_wildcard() && f.matches(b"foo.x") && !f.matches(b"foo"));
    assert_eq!(f.to_string(), "foo.*");
    assert_eq!(format!("{f:?}"), "Filter(\"foo.*\")");
    let s = Subject::new(b"foo.x").expect("valid subject");
    assert_eq!(s.clone(), s);
    assert_eq!(s.as_bytes(), b"foo.x");
    let lit = Filter::from(s);
    assert!(!lit.has_wildcard() && lit.overlaps(&f));
    assert!(Subject::new(b"a").ok() < Subject::new(b"b").ok());
}

fn error_text(s: &[u8], literal: bool) -> String {
    match literal {
        true => Subject::new(s).map(|_| ()),
        false => Filter::new(s).map(|_| ()),
    }
    .expect_err("invalid")
    .to_string()
}

#[test]
fn error_messages() {
    let cases: &[(&[u8], bool, &str)] = &[
        (b"a..b", false, "\"a..b\": empty token"),
        (b"a b", false, "\"a b\": contains whitespace"),
        (b"a.>.b", false, "\"a.>.b\": token after '>'"),
        (b"a.*", true, "\"a.*\": wildcard in a literal subject"),
        (b"a.\xff.", true, "\"a.\u{fffd}.\": empty token"),
    ];
    for &(s, literal, want) in cases {
        assert_eq!(error_text(s, literal), format!("invalid subject {want}"));
    }
    assert_eq!(error_text(b"", false), "invalid subject: empty");
}
