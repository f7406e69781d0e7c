//! Header lookup, header block parsing, and publish expectations replayed from capture 03/05.

use std::borrow::Cow;

use super::captured as cap;
use crate::jetstream::expect::{parse_ttl, ExpectState, PublishExpectations, Rollup, Ttl, Verdict};
use crate::jetstream::headers::{header_value, with_header, HeaderBlock, HeaderError};
use crate::jetstream::pub_ack::pub_ack_error;

#[test]
fn server_lookup_table() {
    let block: &[u8] = b"NATS/1.0\r\nNats-Msg-Id: id-2\r\nX-Nats-Msg-Id: no\r\nnats-expected-stream: low\r\nA:  spaced  \r\nA: second\r\nEmpty:\r\nNats-TTL:5s\r\n\r\n";
    let table: &[(&str, Option<&[u8]>)] = &[
        ("Nats-Msg-Id", Some(b"id-2")),
        // Case-sensitive: the lower-case line is not the server's header.
        ("Nats-Expected-Stream", None),
        ("nats-expected-stream", Some(b"low")),
        ("nats-msg-id", None),
        // Leading spaces skipped, trailing kept (Go stops only at CRLF); first of repeats.
        ("A", Some(b"spaced  ")),
        ("Empty", Some(b"")),
        ("Nats-TTL", Some(b"5s")),
        // A key that occurs only inside another line or as a prefix does not match.
        ("Msg-Id", None),
        ("Nats-Msg", None),
        ("NATS/1.0", None),
        ("", None),
    ];
    for (key, want) in table {
        assert_eq!(header_value(block, key), *want, "{key}");
    }
    // Not at a line start after the version line either way: status lines never match.
    assert_eq!(
        header_value(b"NATS/1.0 503\r\nNats-Subject: x\r\n\r\n", "Nats-Subject"),
        Some(&b"x"[..])
    );
    assert_eq!(header_value(b"Nats-Msg-Id: a\r\n\r\n", "Nats-Msg-Id"), None);
    // Truncated block: the value runs to the end.
    assert_eq!(header_value(b"NATS/1.0\r\nK: v", "K"), Some(&b"v"[..]));
    assert_eq!(header_value(b"NATS/1.0\r\nK", "K"), None);
    assert_eq!(header_value(b"", "K"), None);
}

#[test]
fn client_block_table() {
    let b = HeaderBlock::parse(b"NATS/1.0\r\nKV-Operation: DEL\r\n\r\n").unwrap();
    assert_eq!((b.status, b.description), (None, &b""[..]));
    assert_eq!(b.get("KV-Operation"), Some(&b"DEL"[..]));

    let b = HeaderBlock::parse(b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 0\r\n\r\n").unwrap();
    assert_eq!(
        (b.status, b.description),
        (Some(408), &b"Request Timeout"[..])
    );
    assert_eq!(b.get("Nats-Pending-Messages"), Some(&b"5"[..]));

    let b = HeaderBlock::parse(b"NATS/1.0 503\r\n\r\n").unwrap();
    assert_eq!((b.status, b.entries.len()), (Some(503), 0));

    // Repeated keys keep order; continuation lines join with one space.
    let b = HeaderBlock::parse(b"NATS/1.0\r\nA: 1\r\nB: x\r\n  y\r\n\tz\r\nA: 2\r\n\r\n").unwrap();
    assert_eq!(b.values("A").collect::<Vec<_>>(), vec![&b"1"[..], b"2"]);
    assert_eq!(b.get("B"), Some(&b"x y z"[..]));
    assert!(matches!(b.entries[1].1, Cow::Owned(_)));
    assert!(matches!(b.entries[0].1, Cow::Borrowed(_)));
    assert_eq!(b.get("a"), None);

    let errors: &[(&[u8], HeaderError)] = &[
        (b"", HeaderError::NoVersionLine),
        (b"HTTP/1.1 200\r\n\r\n", HeaderError::NoVersionLine),
        (b"NATS/1.0 50\r\n\r\n", HeaderError::BadStatus),
        (b"NATS/1.0 abc Nope\r\n\r\n", HeaderError::BadStatus),
        (b"NATS/1.0\r\nno colon\r\n\r\n", HeaderError::NoColon),
    ];
    for (block, want) in errors {
        assert_eq!(
            HeaderBlock::parse(block),
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(block)
        );
    }
}

/// ORDERS as it was when capture 03's expectation publishes were made: seqs 1 and 2 stored,
/// the last one with `Nats-Msg-Id: id-2`, nothing yet on `ORDERS.paid`.
fn orders<'a>() -> ExpectState<'a> {
    ExpectState {
        name: "ORDERS",
        last_seq: 2,
        subject_last_seq: None,
        last_msg_id: b"id-2",
        ..ExpectState::default()
    }
}

fn rejected(block: &[u8], st: &ExpectState<'_>) -> Vec<u8> {
    let exp = PublishExpectations::from_headers(block).expect("captured headers are valid");
    pub_ack_error(
        st.name,
        &exp.check(st).expect_err("captured publish was rejected"),
    )
}

#[test]
fn captured_expectation_errors() {
    let st = orders();
    assert_eq!(
        rejected(b"NATS/1.0\r\nNats-Expected-Last-Sequence: 1\r\n\r\n", &st),
        cap::ACK_WRONG_SEQ.as_bytes()
    );
    assert_eq!(
        rejected(b"NATS/1.0\r\nNats-Expected-Stream: NOPE\r\n\r\n", &st),
        cap::ACK_WRONG_STREAM.as_bytes()
    );
    // Published to ORDERS.paid, which had no message yet: the stream reports 0.
    let block: &[u8] = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 7\r\n\r\n";
    let exp = PublishExpectations::from_headers(block).unwrap();
    assert_eq!(
        exp.subject_to_check(b"ORDERS.paid"),
        Some(&b"ORDERS.paid"[..])
    );
    assert_eq!(rejected(block, &st), cap::ACK_WRONG_SUBJ_SEQ.as_bytes());
    assert_eq!(
        rejected(b"NATS/1.0\r\nNats-Expected-Last-Msg-Id: nope\r\n\r\n", &st),
        cap::ACK_WRONG_MSG_ID.as_bytes()
    );
    // Capture 05 (ORDERS without allow_msg_ttl / allow_rollup_hdrs).
    assert_eq!(
        rejected(b"NATS/1.0\r\nNats-TTL: 5s\r\n\r\n", &st),
        cap::ACK_TTL_DISABLED.as_bytes()
    );
    assert_eq!(
        rejected(b"NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", &st),
        cap::ACK_ROLLUP.as_bytes()
    );
}

#[test]
fn passing_expectations() {
    let st = orders();
    let pass = |block: &[u8], st: &ExpectState<'_>| {
        PublishExpectations::from_headers(block).unwrap().check(st)
    };
    assert_eq!(pass(b"", &st), Ok(Verdict::Store(None)));
    assert_eq!(
        pass(
            b"NATS/1.0\r\nNats-Expected-Last-Sequence: 2\r\nNats-Expected-Stream: ORDERS\r\n\r\n",
            &st
        ),
        Ok(Verdict::Store(None))
    );
    assert_eq!(
        pass(b"NATS/1.0\r\nNats-Expected-Last-Msg-Id: id-2\r\n\r\n", &st),
        Ok(Verdict::Store(None))
    );
    // KV create: subject must be empty.
    assert_eq!(
        pass(
            b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\n\r\n",
            &st
        ),
        Ok(Verdict::Store(None))
    );
    // KV update conflict reports the subject's actual revision.
    let kv = ExpectState {
        subject_last_seq: Some(4),
        ..orders()
    };
    let block: &[u8] = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 3\r\nNats-Expected-Last-Subject-Sequence-Subject: $KV.b.k\r\n\r\n";
    let exp = PublishExpectations::from_headers(block).unwrap();
    assert_eq!(exp.subject_to_check(b"$KV.b.other"), Some(&b"$KV.b.k"[..]));
    assert_eq!(
        exp.check(&kv).unwrap_err().description,
        "wrong last sequence: 4"
    );
    // -Subject alone is 10193.
    let lone = PublishExpectations::from_headers(
        b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence-Subject: a\r\n\r\n",
    )
    .unwrap();
    assert_eq!(lone.subject_to_check(b"x"), None);
    assert_eq!(lone.check(&st).unwrap_err().err_code, 10193);
    // Duplicates: same seq back, checked after the sequence expectations.
    let dup = ExpectState {
        duplicate_of: Some(2),
        ..orders()
    };
    assert_eq!(
        pass(b"NATS/1.0\r\nNats-Msg-Id: id-2\r\n\r\n", &dup),
        Ok(Verdict::Duplicate(2))
    );
    assert_eq!(
        pass(
            b"NATS/1.0\r\nNats-Msg-Id: id-2\r\nNats-Expected-Last-Sequence: 9\r\n\r\n",
            &dup
        )
        .unwrap_err()
        .err_code,
        10071
    );
    // Non-numeric sequences fail like Go's parseInt64 (-1 as uint64).
    let bad = pass(b"NATS/1.0\r\nNats-Expected-Last-Sequence: x\r\n\r\n", &st).unwrap_err();
    assert_eq!(bad.description, "wrong last sequence: 2");
    // Rollups and TTLs where allowed.
    let open = ExpectState {
        allow_rollup: true,
        allow_msg_ttl: true,
        ..orders()
    };
    assert_eq!(
        pass(b"NATS/1.0\r\nNats-Rollup: SUB\r\n\r\n", &open),
        Ok(Verdict::Store(Some(Rollup::Subject)))
    );
    assert_eq!(
        pass(b"NATS/1.0\r\nNats-Rollup: all\r\n\r\n", &open),
        Ok(Verdict::Store(Some(Rollup::All)))
    );
    let e = pass(b"NATS/1.0\r\nNats-Rollup: Some\r\n\r\n", &open).unwrap_err();
    assert_eq!(
        (e.code, e.err_code, &*e.description),
        (500, 10111, "rollup value invalid: \"some\"")
    );
    let ttl = PublishExpectations::from_headers(b"NATS/1.0\r\nNats-TTL: 1m30s\r\n\r\n").unwrap();
    assert_eq!(ttl.ttl, Some(Ttl::Seconds(90)));
    assert_eq!(ttl.check(&open), Ok(Verdict::Store(None)));
    // Lower-case expectation headers are not the server's: ignored.
    assert_eq!(
        pass(b"NATS/1.0\r\nnats-expected-stream: NOPE\r\n\r\n", &st),
        Ok(Verdict::Store(None))
    );
}

#[test]
fn ttl_table() {
    let table: &[(&str, Option<Ttl>)] = &[
        ("never", Some(Ttl::Never)),
        ("NEVER", Some(Ttl::Never)),
        ("5s", Some(Ttl::Seconds(5))),
        ("1s", Some(Ttl::Seconds(1))),
        ("1500ms", Some(Ttl::Seconds(1))),
        ("1.5h", Some(Ttl::Seconds(5400))),
        ("2m", Some(Ttl::Seconds(120))),
        ("1h2m3s", Some(Ttl::Seconds(3723))),
        ("60", Some(Ttl::Seconds(60))),
        ("999ms", None),
        ("0", None),
        ("0s", None),
        ("-5s", None),
        ("5 s", None),
        ("5d", None),
        ("abc", None),
        ("", None),
        (".s", None),
        ("1..5s", None),
    ];
    for (v, want) in table {
        assert_eq!(parse_ttl(v.as_bytes()), *want, "{v}");
    }
    assert_eq!(
        PublishExpectations::from_headers(b"NATS/1.0\r\nNats-TTL: 10ms\r\n\r\n")
            .unwrap_err()
            .err_code,
        10165
    );
}

#[test]
fn with_header_replaces_and_appends() {
    let block = b"NATS/1.0\r\nNats-TTL: 5\r\nA: 1\r\nNats-TTL-X: y\r\n\r\n";
    assert_eq!(
        with_header(block, "Nats-TTL", "30"),
        b"NATS/1.0\r\nA: 1\r\nNats-TTL-X: y\r\nNats-TTL: 30\r\n\r\n"
    );
    assert_eq!(with_header(b"", "K", "v"), b"NATS/1.0\r\nK: v\r\n\r\n");
}
