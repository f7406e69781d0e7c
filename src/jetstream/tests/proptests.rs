//! No input panics: arbitrary subject bytes, request bodies and header blocks go through every
//! entry point of the layer. Generators mix raw bytes with the layer's own vocabulary so the
//! deep paths (valid prefixes, known header keys, JSON objects) are reached too.

use proptest::prelude::*;

use crate::jetstream::api::{body_is_empty, parse_api_subject, parse_body};
use crate::jetstream::config::StreamConfig;
use crate::jetstream::expect::{ExpectState, PublishExpectations};
use crate::jetstream::headers::{header_value, HeaderBlock};
use crate::jetstream::response;
use crate::jetstream::time::Timestamp;

const SUBJECT_TOKENS: &[&str] = &[
    "$JS", "API", "hub", "INFO", "STREAM", "CONSUMER", "DIRECT", "GET", "CREATE", "DURABLE", "MSG",
    "NEXT", "NAMES", "LIST", "DELETE", "S", "c", "*", ">", "", " ", "a/b", "é",
];

fn api_subject() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(proptest::sample::select(SUBJECT_TOKENS), 0..9).prop_map(|t| {
            let mut s = String::from("$JS.API.");
            s.push_str(&t.join("."));
            s.into_bytes()
        }),
        proptest::collection::vec(proptest::sample::select(SUBJECT_TOKENS), 0..9)
            .prop_map(|t| t.join(".").into_bytes()),
    ]
}

const KEYS: &[&str] = &[
    "Nats-Msg-Id",
    "Nats-Expected-Stream",
    "Nats-Expected-Last-Sequence",
    "Nats-Expected-Last-Subject-Sequence",
    "Nats-Expected-Last-Subject-Sequence-Subject",
    "Nats-Expected-Last-Msg-Id",
    "Nats-Rollup",
    "Nats-TTL",
    "nats-ttl",
    "",
];
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "18446744073709551616",
    "x",
    "sub",
    "ALL",
    "5s",
    "1.5h",
    "never",
    "9999999999999h",
    ".5s",
    "µs",
];

fn header_block() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        proptest::sample::select(KEYS),
        proptest::sample::select(&[":", ": ", ":  ", " ", "\r\n "][..]),
        proptest::sample::select(VALUES),
    )
        .prop_map(|(k, sep, v)| format!("{k}{sep}{v}\r\n"));
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..128),
        (
            proptest::sample::select(
                &[
                    "NATS/1.0",
                    "NATS/1.0 503",
                    "NATS/1.0 100 Idle Heartbeat",
                    "NATS/1.0 9",
                    ""
                ][..]
            ),
            proptest::collection::vec(line, 0..6),
            any::<bool>()
        )
            .prop_map(|(first, lines, end)| {
                let mut s = format!("{first}\r\n{}", lines.concat());
                if end {
                    s.push_str("\r\n");
                }
                s.into_bytes()
            }),
    ]
}

const FIELDS: &[&str] = &[
    "name",
    "subjects",
    "retention",
    "max_msgs",
    "max_age",
    "duplicate_window",
    "num_replicas",
    "max_msg_size",
    "discard",
    "storage",
    "consumer_limits",
    "metadata",
    "mirror",
    "sources",
    "allow_msg_ttl",
    "subject_delete_marker_ttl",
    "x",
];
const JSON_VALUES: &[&str] = &[
    "null",
    "0",
    "-1",
    "-2",
    "1",
    "3",
    "99",
    "100000000",
    "9223372036854775807",
    "-9223372036854775808",
    "1e3",
    "\"\"",
    "\"S\"",
    "\"a.*\"",
    "\">\"",
    "[]",
    "[\"a\",\"a\"]",
    "[\"$JS.API.>\"]",
    "{}",
    "{\"a\":\"b\"}",
    "true",
    "\"workqueue\"",
    "\"new\"",
    "\"memory\"",
];

fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let pair = (
        proptest::sample::select(FIELDS),
        proptest::sample::select(JSON_VALUES),
    )
        .prop_map(|(k, v)| format!("\"{k}\":{v}"));
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..96),
        (proptest::collection::vec(pair, 0..8), any::<bool>()).prop_map(|(mut p, named)| {
            // Half the objects are named, so valid configs (and the echo round trip) occur.
            if named {
                p.insert(0, "\"name\":\"S\"".to_owned());
            }
            format!("{{{}}}", p.join(",")).into_bytes()
        }),
    ]
}

proptest! {
    #[test]
    fn subjects_never_panic(s in api_subject()) {
        if let Some(req) = parse_api_subject(&s) {
            let _ = req.response_type();
        }
    }

    #[test]
    fn bodies_never_panic(body in json_body()) {
        let _ = body_is_empty(&body);
        let _ = parse_body::<serde_json::Value>(&body);
        if let Ok(mut cfg) = StreamConfig::from_json(&body) {
            cfg.normalise();
            let _ = cfg.validate();
            let other = cfg.clone();
            let _ = cfg.same_as(&other);
            let _ = cfg.overlaps(std::iter::once(&other));
            let info = response::StreamInfo {
                config: cfg.for_response("2.15.1"),
                created: Timestamp(1),
                state: response::StreamState::default(),
                cluster: None,
                ts: Timestamp(u64::MAX),
            };
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&response::stream_create_response(&info)).is_ok());
            // The echo, fed back (clients update with the config they were shown), is the
            // same config: normalise is idempotent and serialisation loses nothing.
            if cfg.validate().is_ok() {
                let echoed = serde_json::to_vec(&cfg.for_response("2.15.1")).expect("config serialises");
                let mut again = StreamConfig::from_json(&echoed).expect("the echo decodes");
                again.normalise();
                prop_assert!(again.same_as(&cfg));
            }
        }
    }

    #[test]
    fn header_blocks_never_panic(block in header_block(), key in proptest::sample::select(KEYS), last in any::<u64>(), flags in any::<(bool, bool, bool)>()) {
        let _ = header_value(&block, key);
        let _ = HeaderBlock::parse(&block);
        if let Ok(exp) = PublishExpectations::from_headers(&block) {
            let _ = exp.subject_to_check(b"a.b");
            let st = ExpectState {
                name: "S",
                last_seq: last,
                subject_last_seq: flags.0.then_some(last),
                last_msg_id: &block,
                duplicate_of: flags.1.then_some(last),
                allow_rollup: flags.2,
                allow_msg_ttl: flags.2,
            };
            if let Err(e) = exp.check(&st) {
                let ack = crate::jetstream::pub_ack::pub_ack_error("S", &e);
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&ack).is_ok());
            }
        }
    }

    #[test]
    fn timestamps_and_acks_never_panic(ns in any::<u64>(), stream in ".*", seq in any::<u64>(), dup in any::<bool>()) {
        let t = Timestamp(ns).to_rfc3339();
        prop_assert!(t.ends_with('Z'));
        let ack = crate::jetstream::pub_ack::pub_ack(&stream, Some(&stream), seq, dup);
        let v: serde_json::Value = serde_json::from_slice(&ack).expect("pub-acks are JSON");
        prop_assert_eq!(v["stream"].as_str(), Some(stream.as_str()));
        prop_assert_eq!(v["seq"].as_u64(), Some(seq));
    }
}
