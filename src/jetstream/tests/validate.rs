//! `StreamConfig::validate`, `validate_create` and `validate_update`: nats-server's rejections
//! with its texts and codes.

use super::config::normalised;
use crate::jetstream::ApiError;

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
            r#"subject "a" overlaps with "a""#,
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
