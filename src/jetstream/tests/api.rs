//! API subject parsing and body leniency tables.

use crate::jetstream::api::{
    api_domain, body_is_empty, is_valid_name, parse_api_subject, parse_body, ApiRequest,
};
use crate::jetstream::ApiError;

use ApiRequest as R;

/// Every subject the captures (03, 04, 05, 11, 12, 15) put on the wire, plus the other forms
/// of PROTOCOL.md §3.1.
#[test]
fn subject_table() {
    let cc = |stream, consumer, filter| R::ConsumerCreate {
        stream,
        consumer,
        filter,
        legacy_durable: false,
    };
    let table: &[(&str, Option<ApiRequest<'_>>)] = &[
        ("$JS.API.INFO", Some(R::Info)),
        (
            "$JS.API.STREAM.CREATE.ORDERS",
            Some(R::StreamCreate { stream: "ORDERS" }),
        ),
        (
            "$JS.API.STREAM.CREATE.KV_rskv",
            Some(R::StreamCreate { stream: "KV_rskv" }),
        ),
        (
            "$JS.API.STREAM.UPDATE.ORDERS",
            Some(R::StreamUpdate { stream: "ORDERS" }),
        ),
        (
            "$JS.API.STREAM.INFO.RSPROBE",
            Some(R::StreamInfo { stream: "RSPROBE" }),
        ),
        (
            "$JS.API.STREAM.DELETE.TMP",
            Some(R::StreamDelete { stream: "TMP" }),
        ),
        (
            "$JS.API.STREAM.PURGE.TMP",
            Some(R::StreamPurge { stream: "TMP" }),
        ),
        ("$JS.API.STREAM.NAMES", Some(R::StreamNames)),
        ("$JS.API.STREAM.LIST", Some(R::StreamList)),
        (
            "$JS.API.STREAM.MSG.GET.ORDERS",
            Some(R::StreamMsgGet { stream: "ORDERS" }),
        ),
        (
            "$JS.API.STREAM.MSG.DELETE.TMP",
            Some(R::StreamMsgDelete { stream: "TMP" }),
        ),
        (
            "$JS.API.DIRECT.GET.ORDERS",
            Some(R::DirectGet {
                stream: "ORDERS",
                subject: None,
            }),
        ),
        (
            "$JS.API.DIRECT.GET.ORDERS.ORDERS.paid",
            Some(R::DirectGet {
                stream: "ORDERS",
                subject: Some("ORDERS.paid"),
            }),
        ),
        (
            "$JS.API.DIRECT.GET.KV_rskv.$KV.rskv.k1",
            Some(R::DirectGet {
                stream: "KV_rskv",
                subject: Some("$KV.rskv.k1"),
            }),
        ),
        (
            "$JS.API.CONSUMER.CREATE.ORDERS",
            Some(cc("ORDERS", None, None)),
        ),
        (
            "$JS.API.CONSUMER.CREATE.RSPROBE.rsc",
            Some(cc("RSPROBE", Some("rsc"), None)),
        ),
        (
            "$JS.API.CONSUMER.CREATE.PYPROBE.pyc.pyprobe.>",
            Some(cc("PYPROBE", Some("pyc"), Some("pyprobe.>"))),
        ),
        (
            "$JS.API.CONSUMER.CREATE.S.c.a.*.b",
            Some(cc("S", Some("c"), Some("a.*.b"))),
        ),
        (
            "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.dur1",
            Some(R::ConsumerCreate {
                stream: "ORDERS",
                consumer: Some("dur1"),
                filter: None,
                legacy_durable: true,
            }),
        ),
        (
            "$JS.API.CONSUMER.INFO.PYPROBE.pyc",
            Some(R::ConsumerInfo {
                stream: "PYPROBE",
                consumer: "pyc",
            }),
        ),
        (
            "$JS.API.CONSUMER.DELETE.ORDERS.nope",
            Some(R::ConsumerDelete {
                stream: "ORDERS",
                consumer: "nope",
            }),
        ),
        (
            "$JS.API.CONSUMER.NAMES.ORDERS",
            Some(R::ConsumerNames { stream: "ORDERS" }),
        ),
        (
            "$JS.API.CONSUMER.LIST.ORDERS",
            Some(R::ConsumerList { stream: "ORDERS" }),
        ),
        (
            "$JS.API.CONSUMER.MSG.NEXT.RSPROBE.rsc",
            Some(R::ConsumerMsgNext {
                stream: "RSPROBE",
                consumer: "rsc",
            }),
        ),
        // With a JetStream domain.
        ("$JS.hub.API.INFO", Some(R::Info)),
        (
            "$JS.leaf.API.STREAM.INFO.S",
            Some(R::StreamInfo { stream: "S" }),
        ),
        // Under the prefix, but nothing leafd serves or malformed.
        ("$JS.API.CONSUMER.PAUSE.S.c", Some(R::Unknown)),
        ("$JS.API.ACCOUNT.PURGE.x", Some(R::Unknown)),
        ("$JS.API.INFO.x", Some(R::Unknown)),
        ("$JS.API.STREAM.NAMES.x", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.A.B", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.*", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.>", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.a/b", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.a\\b", Some(R::Unknown)),
        ("$JS.API.STREAM.INFO.", Some(R::Unknown)),
        ("$JS.API.STREAM.MSG.GET", Some(R::Unknown)),
        ("$JS.API.STREAM.MSG.PUT.S", Some(R::Unknown)),
        ("$JS.API.CONSUMER.INFO.S", Some(R::Unknown)),
        ("$JS.API.CONSUMER.MSG.NEXT.S", Some(R::Unknown)),
        ("$JS.API.CONSUMER.CREATE.S.c.a..b", Some(R::Unknown)),
        ("$JS.API.CONSUMER.CREATE.S.*", Some(R::Unknown)),
        ("$JS.API.DIRECT.GET", Some(R::Unknown)),
        ("$JS.API.DIRECT.GET.S.", Some(R::Unknown)),
        ("$JS.API.", Some(R::Unknown)),
        // Not API subjects at all.
        ("$JS.ACK.ORDERS.dur1.1.1.1.1.0", None),
        ("$JS.FC.BIG.x.y", None),
        ("$KV.rskv.k1", None),
        ("$JS.API", None),
        ("$JS..API.INFO", None),
        ("ORDERS.new", None),
        ("", None),
    ];
    for (subj, want) in table {
        assert_eq!(parse_api_subject(subj.as_bytes()), *want, "{subj}");
    }
}

#[test]
fn long_names() {
    let ok = format!("$JS.API.STREAM.INFO.{}", "a".repeat(255));
    let long = format!("$JS.API.STREAM.INFO.{}", "a".repeat(256));
    assert!(matches!(
        parse_api_subject(ok.as_bytes()),
        Some(R::StreamInfo { .. })
    ));
    assert_eq!(parse_api_subject(long.as_bytes()), Some(R::Unknown));
}

#[test]
fn name_rules() {
    for good in ["ORDERS", "KV_rskv", "a-b", "ÄÖ", "$x"] {
        assert!(is_valid_name(good), "{good}");
    }
    for bad in [
        "", "a.b", "a*", ">", "a/b", "a\\b", "a b", "a\tb", "a\nb", "a\rb", "a\x0cb",
    ] {
        assert!(!is_valid_name(bad), "{bad:?}");
    }
}

#[test]
fn non_utf8_subject_is_not_api() {
    assert_eq!(parse_api_subject(b"$JS.API.STREAM.INFO.\xff"), None);
}

#[test]
fn domains() {
    assert_eq!(api_domain(b"$JS.hub.API.INFO"), Some("hub"));
    assert_eq!(api_domain(b"$JS.API.INFO"), None);
    assert_eq!(api_domain(b"foo"), None);
}

#[test]
fn response_types() {
    assert_eq!(R::Info.response_type(), Some("account_info"));
    assert_eq!(
        R::StreamCreate { stream: "S" }.response_type(),
        Some("stream_create")
    );
    assert_eq!(
        R::StreamMsgGet { stream: "S" }.response_type(),
        Some("stream_msg_get")
    );
    assert_eq!(
        R::DirectGet {
            stream: "S",
            subject: None
        }
        .response_type(),
        None
    );
    assert_eq!(R::Unknown.response_type(), None);
}

/// §3.12 and capture 15: leafd accepts every empty-ish body nats-server accepts anywhere.
#[test]
fn body_leniency_table() {
    let empty: &[&[u8]] = &[
        b"", b" ", b"\r\n", b"null", b" null ", b"{}", b"{ }", b"[]", b"[ \n ]", b"\t{}\t",
    ];
    for b in empty {
        assert!(body_is_empty(b), "{:?}", String::from_utf8_lossy(b));
    }
    let full: &[&[u8]] = &[
        b"{\"offset\":0}",
        b"nul",
        b"nulll",
        b"[1]",
        b"{",
        b"}",
        b"0",
        b"\"\"",
        b"not json",
        b"{]",
    ];
    for b in full {
        assert!(!body_is_empty(b), "{:?}", String::from_utf8_lossy(b));
    }
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Paging {
    #[serde(default)]
    offset: u64,
}

#[test]
fn parse_body_defaults_and_errors() {
    assert_eq!(parse_body::<Paging>(b"null"), Ok(Paging { offset: 0 }));
    assert_eq!(parse_body::<Paging>(b"[]"), Ok(Paging { offset: 0 }));
    assert_eq!(
        parse_body::<Paging>(b"{\"offset\":7}"),
        Ok(Paging { offset: 7 })
    );
    let err: ApiError = parse_body::<Paging>(b"not json").unwrap_err();
    assert_eq!((err.code, err.err_code), (400, 10025));
    assert!(
        err.description.starts_with("invalid JSON: "),
        "{}",
        err.description
    );
}
