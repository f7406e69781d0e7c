//! Envelopes and pub-acks against capture 03/05, compared as text (key order included) and
//! as JSON values. Timestamps are fed the captured instants, so nothing is ignored.

use std::collections::BTreeMap;

use super::captured as cap;
use crate::jetstream::config::StreamConfig;
use crate::jetstream::pub_ack::{pub_ack, pub_ack_error};
use crate::jetstream::response::{
    self as r, AccountUsage, ClusterInfo, StoredMsg, StreamInfo, StreamState,
};
use crate::jetstream::time::Timestamp;
use crate::jetstream::ApiError;

const VER: &str = "2.15.1";
const CREATED: Timestamp = Timestamp(1_795_456_282_776_714_495);

/// Text equality after undoing Go's `\u003e`, plus JSON-value equality.
fn same(got: &[u8], want: &str) {
    let got = std::str::from_utf8(got).expect("JSON is UTF-8");
    assert_eq!(got, want.replace("\\u003e", ">"));
    let (g, w): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(got).unwrap(),
        serde_json::from_str(want).unwrap(),
    );
    assert_eq!(g, w);
}

fn orders_config() -> StreamConfig {
    let mut cfg = StreamConfig::from_json(br#"{"name":"ORDERS","subjects":["ORDERS.*"]}"#)
        .expect("valid body");
    cfg.normalise();
    cfg
}

/// ORDERS after the four captured publishes.
fn orders_state() -> StreamState {
    StreamState {
        messages: 4,
        bytes: 229,
        first_seq: 1,
        first_ts: Timestamp(1_795_456_282_988_169_157),
        last_seq: 4,
        last_ts: Timestamp(1_795_456_283_398_231_294),
        num_subjects: 2,
        consumer_count: 0,
        ..StreamState::default()
    }
}

#[test]
fn stream_create() {
    let info = StreamInfo {
        config: orders_config().for_response(VER),
        created: CREATED,
        state: StreamState::default(),
        cluster: None,
        ts: Timestamp(1_795_456_282_778_301_477),
    };
    same(&r::stream_create_response(&info), cap::CREATE);
}

#[test]
fn stream_update() {
    let mut cfg = StreamConfig::from_json(
        br#"{"name":"ORDERS","subjects":["ORDERS.*"],"allow_direct":true}"#,
    )
    .unwrap();
    cfg.normalise();
    let info = StreamInfo {
        config: cfg.for_response(VER),
        created: CREATED,
        state: orders_state(),
        cluster: None,
        ts: Timestamp(1_795_456_284_018_567_013),
    };
    same(&r::stream_update_response(&info), cap::UPDATE);
}

#[test]
fn stream_info_plain_and_with_subjects() {
    let mut info = StreamInfo {
        config: orders_config().for_response(VER),
        created: CREATED,
        state: orders_state(),
        cluster: Some(ClusterInfo {
            leader: "hub".into(),
        }),
        ts: Timestamp(1_795_456_283_500_412_566),
    };
    same(&r::stream_info_response(&info, 0), cap::INFO);
    info.state.subjects = Some(BTreeMap::from([
        ("ORDERS.new".into(), 3),
        ("ORDERS.paid".into(), 1),
    ]));
    info.ts = Timestamp(1_795_456_283_553_292_883);
    same(&r::stream_info_response(&info, 0), cap::INFO_SUBJECTS);
}

#[test]
fn error_envelopes() {
    same(
        &r::error_response("stream_info", &ApiError::stream_not_found()),
        cap::INFO_NOT_FOUND,
    );
    same(
        &r::error_response("stream_create", &ApiError::stream_name_in_use()),
        cap::CREATE_CONFLICT,
    );
    same(
        &r::error_response("stream_create", &ApiError::stream_name_mismatch()),
        cap::CREATE_MISMATCH,
    );
    same(
        &r::error_response("stream_msg_get", &ApiError::no_message_found()),
        cap::MSG_GET_MISS,
    );
    same(
        &r::error_response("stream_msg_delete", &ApiError::sequence_not_found(2)),
        cap::MSG_DELETE_MISS,
    );
    // Captured in 12: consumer info errors carry no paging.
    same(
        &r::error_response("consumer_info", &ApiError::consumer_not_found()),
        r#"{"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":404,"err_code":10014,"description":"consumer not found"}}"#,
    );
    // Not captured: names replies follow the Go struct (paging, then a null array).
    same(
        &r::error_response("stream_names", &ApiError::bad_request()),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","error":{"code":400,"err_code":10003,"description":"bad request"},"total":0,"offset":0,"limit":0,"streams":null}"#,
    );
}

#[test]
fn names_and_list() {
    same(&r::stream_names_response(&["ORDERS"], 0), cap::NAMES);
    let info = StreamInfo {
        config: orders_config(),
        created: CREATED,
        state: orders_state(),
        cluster: None,
        ts: Timestamp(1_795_456_283_762_076_687),
    };
    same(
        &r::stream_list_response(std::slice::from_ref(&info), 0),
        cap::LIST,
    );
    let none: &[&str] = &[];
    same(
        &r::stream_names_response(none, 0),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":0,"offset":0,"limit":1024,"streams":[]}"#,
    );
    same(
        &r::consumer_names_response(&["a", "b"], 1),
        r#"{"type":"io.nats.jetstream.api.v1.consumer_names_response","total":2,"offset":1,"limit":1024,"consumers":["b"]}"#,
    );
}

#[test]
fn paging_bounds() {
    let all: Vec<u32> = (0..3000).collect();
    assert_eq!(r::page(&all, 0, r::NAMES_LIMIT).len(), 1024);
    assert_eq!(r::page(&all, 2900, r::NAMES_LIMIT), &all[2900..]);
    assert!(r::page(&all, 5000, r::LIST_LIMIT).is_empty());
    assert_eq!(r::page(&all, usize::MAX, usize::MAX).len(), 0);
    assert_eq!(r::page(&all, 1, usize::MAX).len(), 2999);
}

#[test]
fn account_info() {
    same(
        &r::account_info_response(&AccountUsage::default()),
        cap::ACCOUNT_INFO,
    );
}

#[test]
fn msg_get() {
    let with_hdrs = StoredMsg {
        subject: "ORDERS.new",
        seq: 2,
        hdrs: b"NATS/1.0\r\nNats-Msg-Id: id-2\r\n\r\n",
        data: b"order-2",
        time: Timestamp(1_795_456_283_039_008_230),
    };
    same(&r::msg_get_response(&with_hdrs), cap::MSG_GET_2);
    let plain = StoredMsg {
        subject: "ORDERS.paid",
        seq: 3,
        hdrs: b"",
        data: b"order-1-paid",
        time: Timestamp(1_795_456_283_347_185_745),
    };
    same(&r::msg_get_response(&plain), cap::MSG_GET_3);
}

#[test]
fn admin_successes() {
    same(&r::success_response("stream_msg_delete"), cap::MSG_DELETE);
    same(&r::success_response("stream_delete"), cap::STREAM_DELETE);
    same(&r::purge_response(2), cap::PURGE);
}

#[test]
fn pub_acks() {
    assert_eq!(pub_ack("ORDERS", None, 1, false), cap::ACK1.as_bytes());
    assert_eq!(pub_ack("ORDERS", None, 2, true), cap::ACK_DUP.as_bytes());
    assert_eq!(
        pub_ack("S", Some("hub"), 7, false),
        br#"{"stream":"S","domain":"hub","seq":7}"#
    );
    assert_eq!(
        pub_ack("a\"b", None, 1, false),
        br#"{"stream":"a\"b","seq":1}"#
    );
    let errs = [
        (ApiError::wrong_last_sequence(2), cap::ACK_WRONG_SEQ),
        (ApiError::expected_stream_mismatch(), cap::ACK_WRONG_STREAM),
        (ApiError::wrong_last_sequence(0), cap::ACK_WRONG_SUBJ_SEQ),
        (ApiError::wrong_last_msg_id("id-2"), cap::ACK_WRONG_MSG_ID),
        (ApiError::msg_ttl_disabled(), cap::ACK_TTL_DISABLED),
        (ApiError::rollup_not_permitted(), cap::ACK_ROLLUP),
    ];
    for (err, want) in errs {
        assert_eq!(pub_ack_error("ORDERS", &err), want.as_bytes());
    }
}
