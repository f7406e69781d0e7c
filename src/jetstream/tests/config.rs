//! Stream config: captured create bodies → normalised config → the echo nats-server sent,
//! compared as JSON values and as text (key order), plus validation tables.

use crate::jetstream::config::{
    Discard, Retention, Storage, StreamConfig, DEFAULT_DUPLICATE_WINDOW,
};
use crate::jetstream::ApiError;
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

fn normalised(body: &str) -> StreamConfig {
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

fn check(body: &str) -> Result<(), ApiError> {
    normalised(body).validate()
}

#[test]
fn validation_table() {
    let table: &[(&str, u16, u32, &str)] = &[
        (
            r#"{"name":""}"#,
            500,
            10052,
            "stream name is required and can not contain '.', '*', '>', '\\', '/'",
        ),
        (
            r#"{"name":"a.b"}"#,
            500,
            10052,
            "stream name is required and can not contain '.', '*', '>', '\\', '/'",
        ),
        (
            r#"{"name":"a/b","subjects":["x"]}"#,
            400,
            10128,
            "Stream name can not contain path separators",
        ),
        (
            r#"{"name":"S","max_age":-1}"#,
            500,
            10052,
            "max age can not be negative",
        ),
        (
            r#"{"name":"S","max_age":99999999}"#,
            500,
            10052,
            "max age needs to be >= 100ms",
        ),
        (
            r#"{"name":"S","duplicate_window":-5}"#,
            500,
            10052,
            "duplicates window can not be negative",
        ),
        (
            r#"{"name":"S","max_age":1000000000,"duplicate_window":2000000000}"#,
            500,
            10052,
            "duplicates window can not be larger then max age",
        ),
        (
            r#"{"name":"S","duplicate_window":5}"#,
            500,
            10052,
            "duplicates window needs to be >= 100ms",
        ),
        (
            r#"{"name":"S","deny_purge":true,"allow_rollup_hdrs":true}"#,
            500,
            10052,
            "roll-ups require the purge permission",
        ),
        (
            r#"{"name":"S","discard_new_per_subject":true}"#,
            500,
            10052,
            "discard new per subject requires discard new policy to be set",
        ),
        (
            r#"{"name":"S","discard":"new","discard_new_per_subject":true}"#,
            500,
            10052,
            "discard new per subject requires max msgs per subject > 0",
        ),
        (
            r#"{"name":"S","subjects":["a..b"]}"#,
            500,
            10052,
            "invalid subject",
        ),
        (
            r#"{"name":"S","subjects":["a","a"]}"#,
            500,
            10052,
            "duplicate subjects detected",
        ),
        (
            r#"{"name":"S","subjects":[">"]}"#,
            500,
            10052,
            "capturing all subjects requires no-ack to be true",
        ),
        (
            r#"{"name":"S","subjects":["$JS.API.>"]}"#,
            500,
            10052,
            "subjects that overlap with jetstream api require no-ack to be true",
        ),
        (
            r#"{"name":"S","subjects":["$SYS.>"]}"#,
            500,
            10052,
            "subjects that overlap with system api require no-ack to be true",
        ),
        (
            r#"{"name":"S","subjects":["a.*","a.b"]}"#,
            500,
            10052,
            "subject \"a.*\" overlaps with \"a.b\"",
        ),
        (
            r#"{"name":"S","num_replicas":3}"#,
            500,
            10074,
            "replicas > 1 not supported in non-clustered mode",
        ),
        (
            r#"{"name":"S","num_replicas":6}"#,
            500,
            10052,
            "maximum replicas is 5",
        ),
        (
            r#"{"name":"S","num_replicas":-1}"#,
            400,
            10133,
            "replicas count cannot be negative",
        ),
        (
            r#"{"name":"S","mirror":{"name":"O"}}"#,
            500,
            10052,
            "leafd does not support stream mirrors",
        ),
        (
            r#"{"name":"S","sources":[{"name":"O"}]}"#,
            500,
            10052,
            "leafd does not support stream sources",
        ),
        (
            r#"{"name":"S","subject_delete_marker_ttl":5}"#,
            500,
            10052,
            "subject delete marker TTL must be at least 1 second",
        ),
    ];
    for (body, code, err_code, text) in table {
        let err = check(body).expect_err(body);
        assert_eq!(
            (err.code, err.err_code, &*err.description),
            (*code, *err_code, *text),
            "{body}"
        );
    }
    let long = format!(r#"{{"name":"{}"}}"#, "n".repeat(256));
    assert_eq!(
        check(&long).unwrap_err().description,
        "stream name is too long, maximum allowed is 255"
    );
    let desc = format!(r#"{{"name":"S","description":"{}"}}"#, "d".repeat(4097));
    assert_eq!(
        check(&desc).unwrap_err().description,
        "stream description is too long, maximum allowed is 4096"
    );
    for ok in [
        r#"{"name":"S","subjects":["$JS.EVENT.x.>"]}"#,
        r#"{"name":"S","subjects":["$SYS.ACCOUNT.x"]}"#,
        r#"{"name":"S","subjects":[">"],"no_ack":true}"#,
        r#"{"name":"S","max_age":100000000}"#,
        r#"{"name":"S","discard":"new","max_msgs_per_subject":1,"discard_new_per_subject":true}"#,
        r#"{"name":"S","retention":"workqueue","discard":"new"}"#,
    ] {
        assert_eq!(check(ok), Ok(()), "{ok}");
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
fn create_and_update_rules() {
    let sealed = normalised(r#"{"name":"S","sealed":true}"#);
    assert_eq!(
        sealed.validate_create().unwrap_err().description,
        "stream configuration for create can not be sealed"
    );
    let md = normalised(r#"{"name":"S","mirror_direct":true}"#);
    assert_eq!(
        md.validate_create().unwrap_err().description,
        "stream has no mirror but does have mirror direct"
    );
    let long_dotted = format!(r#"{{"name":"{}.x"}}"#, "n".repeat(300));
    assert_eq!(
        check(&long_dotted).unwrap_err().description,
        "stream name is required and can not contain '.', '*', '>', '\\', '/'"
    );

    let old = normalised(r#"{"name":"S","deny_delete":true,"allow_msg_ttl":true}"#);
    let same = old.clone();
    assert_eq!(same.validate_update(&old), Ok(()));
    // Capture 03's update: allow_direct on.
    let direct =
        normalised(r#"{"name":"S","deny_delete":true,"allow_msg_ttl":true,"allow_direct":true}"#);
    assert_eq!(direct.validate_update(&old), Ok(()));
    let table = [
        (
            r#"{"name":"S","deny_delete":true,"allow_msg_ttl":true,"storage":"memory"}"#,
            "stream configuration update can not change storage type",
        ),
        (
            r#"{"name":"S","deny_delete":true,"allow_msg_ttl":true,"retention":"workqueue"}"#,
            "stream configuration update can not change retention policy to/from workqueue",
        ),
        (
            r#"{"name":"S","allow_msg_ttl":true}"#,
            "stream configuration update can not cancel deny message deletes",
        ),
        (
            r#"{"name":"S","deny_delete":true}"#,
            "message TTL status can not be disabled",
        ),
        (
            r#"{"name":"T","deny_delete":true,"allow_msg_ttl":true}"#,
            "stream configuration name must match original",
        ),
    ];
    for (body, why) in table {
        assert_eq!(
            normalised(body)
                .validate_update(&old)
                .unwrap_err()
                .description,
            why,
            "{body}"
        );
    }
}
