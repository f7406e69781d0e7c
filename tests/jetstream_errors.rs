//! Malformed and misdirected JetStream API requests get nats-server's error codes: a table of
//! raw requests (subject, body) and the `code` / `err_code` nats-server 2.15.1 answers with,
//! checked against it.

use crate::util::js::make_stream_with;
use crate::util::{client, within, Broker};

/// (subject, body, code, err_code)
const CASES: &[(&str, &str, u64, u64)] = &[
    // Bodies that are not what the endpoint wants.
    ("$JS.API.STREAM.CREATE.BAD", "{not json", 400, 10025),
    (
        "$JS.API.STREAM.CREATE.BAD",
        r#"{"name":"OTHER"}"#,
        400,
        10056,
    ),
    (
        "$JS.API.STREAM.CREATE.BAD",
        r#"{"name":"BAD","num_replicas":3}"#,
        500,
        10074,
    ),
    (
        "$JS.API.STREAM.CREATE.BAD",
        r#"{"name":"BAD","retention":"nope"}"#,
        400,
        10025,
    ),
    (
        "$JS.API.STREAM.CREATE.BAD",
        r#"{"name":"BAD","max_age":5}"#,
        500,
        10052,
    ),
    (
        "$JS.API.STREAM.UPDATE.MISSING",
        r#"{"name":"MISSING"}"#,
        404,
        10059,
    ),
    // Unknown streams and consumers.
    ("$JS.API.STREAM.INFO.MISSING", "", 404, 10059),
    ("$JS.API.STREAM.DELETE.MISSING", "", 404, 10059),
    ("$JS.API.STREAM.PURGE.MISSING", "", 404, 10059),
    ("$JS.API.STREAM.MSG.GET.MISSING", r#"{"seq":1}"#, 404, 10059),
    ("$JS.API.CONSUMER.INFO.MISSING.c", "", 404, 10059),
    ("$JS.API.CONSUMER.INFO.ERRS.missing", "", 404, 10014),
    ("$JS.API.CONSUMER.DELETE.ERRS.missing", "", 404, 10014),
    (
        "$JS.API.CONSUMER.CREATE.MISSING.c",
        r#"{"stream_name":"MISSING","config":{"durable_name":"c"}}"#,
        404,
        10059,
    ),
    // Messages that are not there.
    ("$JS.API.STREAM.MSG.GET.ERRS", r#"{"seq":99}"#, 404, 10037),
    (
        "$JS.API.STREAM.MSG.GET.ERRS",
        r#"{"last_by_subj":"errs.none"}"#,
        404,
        10037,
    ),
    (
        "$JS.API.STREAM.MSG.DELETE.ERRS",
        r#"{"seq":99}"#,
        500,
        10057,
    ),
    ("$JS.API.STREAM.MSG.DELETE.ERRS", r#"{"seq":0}"#, 500, 10057),
    // Consumer create rules.
    (
        "$JS.API.CONSUMER.CREATE.ERRS.a",
        r#"{"stream_name":"ERRS","config":{"durable_name":"b"}}"#,
        400,
        10017,
    ),
    (
        "$JS.API.CONSUMER.CREATE.ERRS.a.errs.x",
        r#"{"stream_name":"ERRS","config":{"durable_name":"a","filter_subject":"errs.y"}}"#,
        400,
        10131,
    ),
    (
        "$JS.API.CONSUMER.CREATE.ERRS.a",
        r#"{"stream_name":"ERRS","config":{"durable_name":"a"},"action":"update"}"#,
        400,
        10149,
    ),
];

#[tokio::test]
async fn api_errors_match_nats_server() {
    let b = Broker::start();
    let nc = client(&b).await;
    let js = async_nats::jetstream::new(nc.clone());
    make_stream_with(
        &js,
        async_nats::jetstream::stream::Config {
            name: "ERRS".into(),
            subjects: vec!["errs.>".into()],
            max_message_size: 64,
            ..Default::default()
        },
    )
    .await;
    let mut failures = Vec::new();
    for &(subject, body, code, err_code) in CASES {
        let reply = within(subject, nc.request(subject, body.to_owned().into()))
            .await
            .unwrap_or_else(|e| panic!("{subject} {body}: no reply: {e}"));
        let v: serde_json::Value = serde_json::from_slice(&reply.payload)
            .unwrap_or_else(|e| panic!("{subject}: reply is not JSON ({e})"));
        let got = (v["error"]["code"].as_u64(), v["error"]["err_code"].as_u64());
        if got != (Some(code), Some(err_code)) {
            failures.push(format!(
                "{subject} {body}: want {code}/{err_code}, got {}",
                String::from_utf8_lossy(&reply.payload)
            ));
        }
    }
    // An oversized message into the stream (max_msg_size 64).
    let reply = within("oversized", nc.request("errs.big", vec![b'x'; 100].into()))
        .await
        .expect("a pub ack");
    let v: serde_json::Value = serde_json::from_slice(&reply.payload).expect("JSON");
    if (v["error"]["code"].as_u64(), v["error"]["err_code"].as_u64()) != (Some(400), Some(10054)) {
        failures.push(format!("oversized: {v}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
