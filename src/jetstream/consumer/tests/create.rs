//! Create-request rules, config defaults, validation codes, work-queue rules and the info
//! replies against capture 04.

use crate::jetstream::config::StreamConfig;
use crate::jetstream::consumer::{
    check_workqueue, consumer_create_response, consumer_list_response, parse_create, Action,
    ConsumerConfig,
};
use crate::jetstream::time::Timestamp;
use crate::subject::is_subset;

use super::{consumer, Fake};

fn stream(json: &str) -> StreamConfig {
    let mut s = StreamConfig::from_json(json.as_bytes()).unwrap();
    s.normalise();
    s
}

fn orders() -> StreamConfig {
    stream(r#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#)
}

fn code(r: Result<impl std::fmt::Debug, crate::jetstream::ApiError>) -> u32 {
    r.unwrap_err().err_code
}

#[test]
fn subject_and_body_rules() {
    let body = br#"{"stream_name":"ORDERS","config":{"durable_name":"dur1","name":"dur1","ack_policy":"explicit","filter_subject":"ORDERS.new","deliver_policy":"all"},"action":"create"}"#;
    let req = parse_create("ORDERS", Some("dur1"), Some("ORDERS.new"), false, body).unwrap();
    assert_eq!(req.name, "dur1");
    assert_eq!(req.action, Action::Create);

    // Filter token differs from filter_subject; filter form with filter_subjects.
    assert_eq!(
        code(parse_create(
            "ORDERS",
            Some("dur1"),
            Some("ORDERS.x"),
            false,
            body
        )),
        10131
    );
    let multi = br#"{"stream_name":"ORDERS","config":{"name":"m","filter_subjects":["ORDERS.a","ORDERS.b"]}}"#;
    assert_eq!(
        code(parse_create(
            "ORDERS",
            Some("m"),
            Some("ORDERS.a"),
            false,
            multi
        )),
        10137
    );
    assert!(parse_create("ORDERS", Some("m"), None, false, multi).is_ok());
    // Stream mismatch, bad JSON, durable vs token.
    assert_eq!(
        code(parse_create("OTHER", Some("dur1"), None, false, body)),
        10056
    );
    assert_eq!(
        code(parse_create("ORDERS", None, None, false, b"{bad")),
        10025
    );
    assert_eq!(
        code(parse_create("ORDERS", Some("x"), None, false, body)),
        10017
    );
    // Legacy DURABLE.CREATE needs a durable equal to the token.
    let legacy = br#"{"stream_name":"ORDERS","config":{"durable_name":"dur2","ack_policy":"explicit","ack_wait":2000000000}}"#;
    assert_eq!(
        parse_create("ORDERS", Some("dur2"), None, true, legacy)
            .unwrap()
            .name,
        "dur2"
    );
    let no_durable = br#"{"stream_name":"ORDERS","config":{"ack_policy":"explicit"}}"#;
    assert_eq!(
        code(parse_create("ORDERS", Some("dur2"), None, true, no_durable)),
        10018
    );
    assert_eq!(
        code(parse_create("ORDERS", Some("other"), None, true, legacy)),
        10017
    );
    // Ephemeral form: a durable is refused, a random 8-char name is given.
    assert_eq!(
        code(parse_create("ORDERS", None, None, false, legacy)),
        10020
    );
    let eph = parse_create("ORDERS", None, None, false, no_durable).unwrap();
    assert_eq!(eph.name.len(), 8);
    assert!(eph.name.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(eph.action, Action::CreateOrUpdate);
    // Unknown action.
    let bad_action = br#"{"stream_name":"ORDERS","config":{},"action":"upsert"}"#;
    assert_eq!(
        code(parse_create("ORDERS", None, None, false, bad_action)),
        10025
    );
}

#[test]
fn defaults_echo_as_captured() {
    let body = br#"{"stream_name":"ORDERS","config":{"durable_name":"dur1","name":"dur1","ack_policy":"explicit","filter_subject":"ORDERS.new","deliver_policy":"all"},"action":"create"}"#;
    let mut req = parse_create("ORDERS", Some("dur1"), Some("ORDERS.new"), false, body).unwrap();
    req.prepare(&orders()).unwrap();
    let mut src = Fake::with(&["ORDERS.new", "ORDERS.new", "ORDERS.old", "ORDERS.new"]);
    src.last = 4;
    let mut c = consumer(req.config, &src);
    c.name = "dur1".into();
    c.stream = "ORDERS".into();
    c.created = Timestamp(1_795_456_295_497_460_002);
    let info = c
        .info(&src, Timestamp(1_795_456_295_498_924_562))
        .for_response("2.15.1");
    let got = String::from_utf8(consumer_create_response(&info)).unwrap();
    let want = r#"{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"ORDERS","name":"dur1","created":"2026-11-23T17:51:35.497460002Z","config":{"durable_name":"dur1","name":"dur1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"filter_subject":"ORDERS.new","replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0,"metadata":{"_nats.level":"5","_nats.req.level":"0","_nats.ver":"2.15.1"}},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":3,"ts":"2026-11-23T17:51:35.498924562Z"}"#;
    assert_eq!(got, want);

    // Ephemeral: inactive_threshold 5 s by default; list entries carry only req.level.
    let mut eph = ConsumerConfig::default();
    eph.normalise();
    assert_eq!(eph.inactive_threshold, 5_000_000_000);
    let list = String::from_utf8(consumer_list_response(std::slice::from_ref(&info), 0)).unwrap();
    assert!(list.starts_with(
        r#"{"type":"io.nats.jetstream.api.v1.consumer_list_response","total":1,"offset":0,"limit":256,"consumers":[{"stream_name":"ORDERS""#
    ));
    // Idempotent create compares normalised configs.
    let mut again = parse_create("ORDERS", Some("dur1"), Some("ORDERS.new"), false, body).unwrap();
    again.prepare(&orders()).unwrap();
    assert!(again.config.same_as(c.config()));
    let changed = br#"{"stream_name":"ORDERS","config":{"durable_name":"dur1","name":"dur1","ack_policy":"explicit","filter_subject":"ORDERS.new","max_deliver":3},"action":"create"}"#;
    let mut other =
        parse_create("ORDERS", Some("dur1"), Some("ORDERS.new"), false, changed).unwrap();
    other.prepare(&orders()).unwrap();
    assert!(!other.config.same_as(c.config()));
    assert!(other.config.validate_update(c.config()).is_ok());
}

fn validate(json: &str) -> Result<(), crate::jetstream::ApiError> {
    let mut c: ConsumerConfig = serde_json::from_str(json).unwrap();
    c.normalise_for(&orders());
    c.validate(&orders())
}

#[test]
fn validation_codes() {
    let table: &[(&str, u32)] = &[
        (r#"{"deliver_subject":"push.*"}"#, 10079),
        (r#"{"deliver_subject":"push here"}"#, 10112),
        (
            r#"{"deliver_subject":"push.here","flow_control":true}"#,
            10108,
        ),
        (
            r#"{"deliver_subject":"push.here","idle_heartbeat":1000}"#,
            10083,
        ),
        (r#"{"deliver_subject":"push.here","max_waiting":5}"#, 10080),
        (r#"{"idle_heartbeat":1000000000}"#, 10088),
        (r#"{"flow_control":true}"#, 10089),
        (r#"{"rate_limit_bps":10}"#, 10086),
        (r#"{"backoff":[1,2,3],"max_deliver":2}"#, 10116),
        (r#"{"backoff":[-1]}"#, 10184),
        (r#"{"ack_wait":-5}"#, 10183),
        (
            r#"{"filter_subject":"ORDERS.a","filter_subjects":["ORDERS.b"]}"#,
            10136,
        ),
        (r#"{"filter_subjects":["ORDERS.a",""]}"#, 10139),
        (r#"{"filter_subjects":["ORDERS.*","ORDERS.a"]}"#, 10138),
        (r#"{"deliver_policy":"by_start_sequence"}"#, 10094),
        (r#"{"deliver_policy":"all","opt_start_seq":3}"#, 10094),
        (r#"{"deliver_policy":"last_per_subject"}"#, 10094),
        (r#"{"deliver_policy":"by_start_time"}"#, 10094),
        (r#"{"name":"a","durable_name":"b"}"#, 10132),
        (r#"{"name":"a.b"}"#, 10052),
        (r#"{"num_replicas":3}"#, 10074),
        (r#"{"num_replicas":-1}"#, 10133),
        (r#"{"max_expires":10}"#, 10115),
        (
            r#"{"priority_groups":["a"],"priority_policy":"overflow"}"#,
            10052,
        ),
    ];
    for (json, want) in table {
        assert_eq!(code(validate(json)), *want, "{json}");
    }
    for ok in [
        r#"{"filter_subject":"ORDERS.new"}"#,
        r#"{"filter_subjects":["ORDERS.a","ORDERS.b"]}"#,
        r#"{"backoff":[1000000000,2000000000],"max_deliver":3}"#,
        r#"{"deliver_policy":"by_start_time","opt_start_time":"2026-11-23T17:51:35.5Z"}"#,
        r#"{"deliver_policy":"by_start_sequence","opt_start_seq":2}"#,
        r#"{"deliver_policy":"last_per_subject","filter_subject":"ORDERS.*"}"#,
        r#"{"ack_policy":"none","min_pending":null,"unknown_key":1}"#,
        r#"{"deliver_subject":"push.here"}"#,
        r#"{"deliver_subject":"push.here","deliver_group":"g","headers_only":true}"#,
        r#"{"deliver_subject":"push.here","flow_control":true,"idle_heartbeat":5000000000}"#,
    ] {
        validate(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let group = validate(r#"{"deliver_group":"g"}"#).unwrap_err();
    assert!(group.description.contains("deliver_subject"), "{group}");
}

#[test]
fn backoff_overrides_ack_wait_and_update_rules() {
    let mut c: ConsumerConfig =
        serde_json::from_str(r#"{"durable_name":"d","backoff":[1000,2000],"max_deliver":5}"#)
            .unwrap();
    c.normalise();
    assert_eq!(c.ack_wait, 1000);
    assert_eq!(c.name, "d");
    assert_eq!(
        (
            c.redelivery_wait(1),
            c.redelivery_wait(2),
            c.redelivery_wait(9)
        ),
        (1000, 2000, 2000)
    );
    let mut new = c.clone();
    new.ack_policy = crate::jetstream::consumer::AckPolicy::All;
    assert_eq!(new.validate_update(&c).unwrap_err().err_code, 10012);
}

#[test]
fn workqueue_rules() {
    let wq = stream(r#"{"name":"WQ","subjects":["wq.>"],"retention":"workqueue"}"#);
    let mk = |json: &str| {
        let mut c: ConsumerConfig = serde_json::from_str(json).unwrap();
        c.normalise_for(&wq);
        c
    };
    let none = mk(r#"{"name":"n","ack_policy":"none"}"#);
    assert_eq!(none.validate(&wq).unwrap_err().err_code, 10084);
    let all = mk(r#"{"name":"a","ack_policy":"all"}"#);
    assert_eq!(check_workqueue(&all, &[]).unwrap_err().err_code, 10098);
    let last = mk(r#"{"name":"l","deliver_policy":"last"}"#);
    assert_eq!(check_workqueue(&last, &[]).unwrap_err().err_code, 10101);
    let unfiltered = mk(r#"{"name":"u"}"#);
    let second = mk(r#"{"name":"v"}"#);
    check_workqueue(&unfiltered, &[]).unwrap();
    assert_eq!(
        check_workqueue(&second, &[&unfiltered])
            .unwrap_err()
            .err_code,
        10099
    );
    // The same consumer (an update) does not conflict with itself.
    check_workqueue(&unfiltered, &[&unfiltered]).unwrap();
    let a = mk(r#"{"name":"a","filter_subject":"wq.a.>"}"#);
    let b = mk(r#"{"name":"b","filter_subject":"wq.b"}"#);
    let overlap = mk(r#"{"name":"c","filter_subject":"wq.*.x"}"#);
    check_workqueue(&b, &[&a]).unwrap();
    assert_eq!(
        check_workqueue(&overlap, &[&a, &b]).unwrap_err().err_code,
        10100
    );
    assert_eq!(
        check_workqueue(&b, &[&unfiltered]).unwrap_err().err_code,
        10100
    );
}

#[test]
fn subsets() {
    assert!(is_subset(b"ORDERS.new", b"ORDERS.*"));
    assert!(is_subset(b"a.b.c", b"a.>"));
    assert!(is_subset(b"a.*", b"a.>"));
    assert!(!is_subset(b"a", b"a.>"));
    assert!(!is_subset(b"a.>", b"a.*"));
    assert!(!is_subset(b"b.c", b"a.*"));
    assert!(is_subset(b"a.*", b"a.*"));
}
