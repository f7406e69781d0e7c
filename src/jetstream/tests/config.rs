//! Stream config: captured create bodies → normalised config → the echo nats-server sent,
//! compared as JSON values and as text (key order), plus validation tables.

use crate::jetstream::config::{
    Discard, Retention, Storage, StreamConfig, DEFAULT_DUPLICATE_WINDOW,
};
use serde_json::Value;

/// The version leafd advertises in INFO (router::info::NATS_COMPAT_VERSION).
const VER: &str = "2.15.1";

/// Echo text shared by the captured configs, after the subjects and before the per-stream
/// flags (Go writes `>` as `\u003e`; we compare with that undone).
fn echo(
    name: &str,
    subjects: &str,
    max_per: i64,
    discard: &str,
    storage: &str,
    flags: (bool, bool, bool),
) -> String {
    let (direct, deny_delete, rollup) = flags;
    format!(
        r#"{{"name":"{name}","subjects":[{subjects}],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":{max_per},"max_msg_size":-1,"discard":"{discard}","storage":"{storage}","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":{direct},"mirror_direct":false,"sealed":false,"deny_delete":{deny_delete},"deny_purge":false,"allow_rollup_hdrs":{rollup},"consumer_limits":{{}},"allow_msg_ttl":false,"metadata":{{"_nats.level":"5","_nats.req.level":"0","_nats.ver":"2.15.1"}}}}"#
    )
}

const NO_FLAGS: (bool, bool, bool) = (false, false, false);

/// (request body as captured, stream name, expected echo) for every captured create/update.
fn table() -> Vec<(&'static str, String)> {
    vec![
        // 03: minimal create, and the update turning allow_direct on.
        (
            r#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#,
            echo("ORDERS", r#""ORDERS.*""#, -1, "old", "file", NO_FLAGS),
        ),
        (
            r#"{"name":"ORDERS","subjects":["ORDERS.*"],"allow_direct":true}"#,
            echo(
                "ORDERS",
                r#""ORDERS.*""#,
                -1,
                "old",
                "file",
                (true, false, false),
            ),
        ),
        // 11: async-nats get_or_create_stream (zeros, num_replicas 0, consumer_limits null).
        (
            r#"{"name":"RSPROBE","max_bytes":0,"max_msgs":0,"max_msgs_per_subject":0,"discard":"old","subjects":["rsprobe.>"],"retention":"limits","max_consumers":0,"max_age":0,"storage":"file","num_replicas":0,"consumer_limits":null}"#,
            echo(
                "RSPROBE",
                r#""rsprobe.\u003e""#,
                -1,
                "old",
                "file",
                NO_FLAGS,
            ),
        ),
        // 11 / §3.11: async-nats create_key_value(rskv, history 3).
        (
            r#"{"name":"KV_rskv","max_bytes":0,"max_msgs":0,"max_msgs_per_subject":3,"discard":"new","subjects":["$KV.rskv.>"],"retention":"limits","max_consumers":0,"max_age":0,"storage":"file","num_replicas":1,"description":"","allow_rollup_hdrs":true,"deny_delete":true,"allow_direct":true,"consumer_limits":null}"#,
            echo(
                "KV_rskv",
                r#""$KV.rskv.\u003e""#,
                3,
                "new",
                "file",
                (true, true, true),
            ),
        ),
        // 12: nats-py add_stream (duplicate_window 0, -1s, unknown-to-echo defaults).
        (
            r#"{"name": "PYPROBE", "subjects": ["pyprobe.>"], "discard": "old", "discard_new_per_subject": false, "max_msgs_per_subject": -1, "max_msg_size": -1, "no_ack": false, "duplicate_window": 0, "sealed": false, "deny_delete": false, "deny_purge": false, "allow_rollup_hdrs": false, "max_age": 0}"#,
            echo(
                "PYPROBE",
                r#""pyprobe.\u003e""#,
                -1,
                "old",
                "file",
                NO_FLAGS,
            ),
        ),
        // 05: memory streams and a hand-written KV config with explicit -1s.
        (
            r#"{"name":"TMP","subjects":["tmp.>"],"storage":"memory"}"#,
            echo("TMP", r#""tmp.\u003e""#, -1, "old", "memory", NO_FLAGS),
        ),
        (
            r#"{"name":"BIG","subjects":["big"],"storage":"memory"}"#,
            echo("BIG", r#""big""#, -1, "old", "memory", NO_FLAGS),
        ),
        (
            r#"{"name":"KV_cfg","subjects":["$KV.cfg.>"],"max_msgs_per_subject":1,"max_bytes":-1,"max_age":0,"max_msg_size":-1,"storage":"file","discard":"new","num_replicas":1,"duplicate_window":120000000000,"allow_rollup_hdrs":true,"deny_delete":true,"allow_direct":true,"max_consumers":-1,"max_msgs":-1}"#,
            echo(
                "KV_cfg",
                r#""$KV.cfg.\u003e""#,
                1,
                "new",
                "file",
                (true, true, true),
            ),
        ),
    ]
}

pub(super) fn normalised(body: &str) -> StreamConfig {
    let mut cfg = StreamConfig::from_json(body.as_bytes()).expect("captured bodies decode");
    cfg.normalise();
    cfg
}

#[test]
fn captured_creates_echo_exactly() {
    for (body, want) in table() {
        let cfg = normalised(body);
        assert_eq!(cfg.validate(), Ok(()), "{body}");
        let got = serde_json::to_string(&cfg.for_response(VER)).expect("config serialises");
        // Key order and values, text for text (Go escapes `>`).
        assert_eq!(got, want.replace("\\u003e", ">"), "{body}");
        let (g, w): (Value, Value) = (
            serde_json::from_str(&got).unwrap(),
            serde_json::from_str(&want).unwrap(),
        );
        assert_eq!(g, w);
    }
}

/// STREAM.LIST entries carry only the stored metadata (capture 03).
#[test]
fn stored_metadata_is_req_level_only() {
    let cfg = normalised(r#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#);
    let v = serde_json::to_value(&cfg).unwrap();
    assert_eq!(v["metadata"], serde_json::json!({"_nats.req.level":"0"}));
}

#[test]
fn normalisation_table() {
    let cfg = normalised(
        r#"{"name":"S","max_msgs":-7,"max_bytes":null,"max_msg_size":-3,"num_replicas":null}"#,
    );
    assert_eq!(
        (
            cfg.max_msgs,
            cfg.max_bytes,
            cfg.max_msg_size,
            cfg.num_replicas
        ),
        (-1, -1, -1, 1)
    );
    assert_eq!(cfg.subjects, vec!["S".to_owned()]);
    assert_eq!(
        (cfg.retention, cfg.discard, cfg.storage),
        (Retention::Limits, Discard::Old, Storage::File)
    );
    // duplicate_window follows a shorter max_age.
    let cfg = normalised(r#"{"name":"S","max_age":1000000000}"#);
    assert_eq!(cfg.duplicate_window, 1_000_000_000);
    let cfg = normalised(r#"{"name":"S","max_age":600000000000}"#);
    assert_eq!(cfg.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
    // Client-sent dynamic metadata is dropped, user keys kept, req level follows features.
    let cfg = normalised(
        r#"{"name":"S","allow_msg_ttl":true,"metadata":{"_nats.ver":"9","_nats.level":"9","app":"x"}}"#,
    );
    assert_eq!(
        serde_json::to_value(&cfg.metadata).unwrap(),
        serde_json::json!({"_nats.req.level":"1","app":"x"})
    );
    // Idempotent.
    let mut again = cfg.clone();
    again.normalise();
    assert_eq!(again, cfg);
    // Unknown keys and nulls everywhere are fine.
    let cfg = normalised(
        r#"{"name":"S","future_field":{"x":1},"subjects":null,"retention":null,"consumer_limits":{"max_ack_pending":null}}"#,
    );
    assert_eq!(cfg.subjects, vec!["S".to_owned()]);
}

#[test]
fn bad_json_is_10025() {
    for body in [
        &b"not json"[..],
        b"[1]",
        b"5",
        b"{\"retention\":\"forever\"}",
        b"{\"max_msg_size\":9999999999}",
        b"{\"name\":5}",
    ] {
        let err = StreamConfig::from_json(body).unwrap_err();
        assert_eq!(err.err_code, 10025, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn empty_bodies_are_the_default_config() {
    for body in [&b""[..], b"null", b"{}", b"[]"] {
        assert_eq!(StreamConfig::from_json(body), Ok(StreamConfig::default()));
    }
}

#[test]
fn idempotent_create_rule() {
    let a = normalised(r#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#);
    // async-nats spelling of the same config is the same config.
    let b = normalised(
        r#"{"name":"ORDERS","subjects":["ORDERS.*"],"max_msgs":0,"num_replicas":0,"consumer_limits":null,"duplicate_window":0}"#,
    );
    assert!(a.same_as(&b));
    let c = normalised(r#"{"name":"ORDERS","subjects":["ORDERS.*"],"max_msgs":5}"#);
    assert!(!a.same_as(&c));
}

#[test]
fn overlap_with_other_streams() {
    let orders = normalised(r#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#);
    let kv = normalised(r#"{"name":"KV_a","subjects":["$KV.a.>"]}"#);
    let new = normalised(r#"{"name":"NEW","subjects":["ORDERS.new"]}"#);
    let far = normalised(r#"{"name":"FAR","subjects":["far.>"]}"#);
    assert!(new.overlaps([&orders, &kv].into_iter()));
    assert!(!far.overlaps([&orders, &kv].into_iter()));
    // An update is not checked against itself.
    assert!(!orders.overlaps([&orders, &kv].into_iter()));
}

#[test]
fn policy_spellings() {
    let cfg = normalised(
        r#"{"name":"S","retention":"interest","compression":"s2","storage":"memory","discard":"new"}"#,
    );
    let v = serde_json::to_value(&cfg).unwrap();
    assert_eq!(
        (
            &v["retention"],
            &v["compression"],
            &v["storage"],
            &v["discard"]
        ),
        (
            &Value::from("interest"),
            &Value::from("s2"),
            &Value::from("memory"),
            &Value::from("new")
        )
    );
    let wq = normalised(r#"{"name":"S","retention":"workqueue"}"#);
    assert_eq!(serde_json::to_value(&wq).unwrap()["retention"], "workqueue");
    assert_eq!(
        StreamConfig::from_json(br#"{"retention":"WorkQueue"}"#)
            .unwrap_err()
            .err_code,
        10025
    );
}
