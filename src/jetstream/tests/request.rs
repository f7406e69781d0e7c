//! Request bodies as the captures sent them (03, 05, 11, 12, 15), plus the name-mismatch and
//! message-get selector rules.

use crate::jetstream::api::parse_body;
use crate::jetstream::config::StreamConfig;
use crate::jetstream::request::{
    MsgDeleteRequest, MsgGetRequest, MsgSelector, NamesRequest, PurgeRequest, StreamInfoRequest,
};

#[test]
fn captured_info_and_names_bodies() {
    // async-nats `null`, nats-py empty, capture 03's subjects filter, capture 15's `[]`.
    for body in [&b"null"[..], b"", b"[]", b"{}"] {
        assert_eq!(
            parse_body::<StreamInfoRequest>(body),
            Ok(StreamInfoRequest::default())
        );
        assert_eq!(
            parse_body::<NamesRequest>(body),
            Ok(NamesRequest::default())
        );
    }
    let r: StreamInfoRequest = parse_body(br#"{"subjects_filter":">"}"#).unwrap();
    assert_eq!(r.subjects_filter, ">");
    let r: NamesRequest = parse_body(br#"{"offset":0}"#).unwrap();
    assert_eq!(r, NamesRequest::default());
    let r: NamesRequest = parse_body(br#"{"subject":"ORDERS.new"}"#).unwrap();
    assert_eq!(r.subject, "ORDERS.new");
    let r: NamesRequest = parse_body(br#"{"subject": "pyprobe.>"}"#).unwrap();
    assert_eq!(r.subject, "pyprobe.>");
    let r: NamesRequest = parse_body(br#"{"offset":null,"subject":null,"extra":1}"#).unwrap();
    assert_eq!(r, NamesRequest::default());
    assert_eq!(
        parse_body::<NamesRequest>(b"[1]").unwrap_err().err_code,
        10025
    );
    assert_eq!(
        parse_body::<NamesRequest>(br#"{"offset":-1}"#)
            .unwrap_err()
            .err_code,
        10025
    );
}

#[test]
fn captured_purge_and_delete_bodies() {
    let r: PurgeRequest = parse_body(br#"{"filter":"tmp.0","keep":1}"#).unwrap();
    assert_eq!(
        r,
        PurgeRequest {
            filter: "tmp.0".into(),
            seq: 0,
            keep: 1
        }
    );
    assert_eq!(parse_body::<PurgeRequest>(b""), Ok(PurgeRequest::default()));
    let r: MsgDeleteRequest = parse_body(br#"{"seq":2}"#).unwrap();
    assert_eq!(
        r,
        MsgDeleteRequest {
            seq: 2,
            no_erase: false
        }
    );
}

#[test]
fn msg_get_selectors() {
    let sel = |body: &[u8]| {
        let req = parse_body::<MsgGetRequest>(body).unwrap();
        req.selector()
            .map(|s| format!("{s:?}"))
            .map_err(|e| e.err_code)
    };
    let get: MsgGetRequest = parse_body(br#"{"seq":2}"#).unwrap();
    assert_eq!(get.selector(), Ok(MsgSelector::Seq(2)));
    let get: MsgGetRequest = parse_body(br#"{"last_by_subj":"ORDERS.paid"}"#).unwrap();
    assert_eq!(
        get.selector(),
        Ok(MsgSelector::LastBySubject("ORDERS.paid"))
    );
    let get: MsgGetRequest = parse_body(br#"{"next_by_subj":"a.*","seq":5}"#).unwrap();
    assert_eq!(
        get.selector(),
        Ok(MsgSelector::NextBySubject {
            subject: "a.*",
            from: 5
        })
    );
    assert_eq!(sel(br#"{"seq":99}"#), Ok("Seq(99)".to_owned()));
    assert_eq!(sel(b""), Err(10003));
    assert_eq!(sel(br#"{"seq":1,"last_by_subj":"a"}"#), Err(10003));
    assert_eq!(
        sel(br#"{"last_by_subj":"a","next_by_subj":"b"}"#),
        Err(10003)
    );
}

/// Capture 03 (`OTHER` in `STREAM.CREATE.ORDERS`) and 15 (`null` in `STREAM.CREATE.ZZZ`).
#[test]
fn create_name_must_match_subject() {
    let other = StreamConfig::from_json(br#"{"name":"OTHER","subjects":["x.*"]}"#).unwrap();
    assert_eq!(
        other.check_subject_name("ORDERS").unwrap_err().err_code,
        10056
    );
    let null = StreamConfig::from_json(b"null").unwrap();
    assert_eq!(null.check_subject_name("ZZZ").unwrap_err().err_code, 10056);
    let ok = StreamConfig::from_json(br#"{"name":"ORDERS"}"#).unwrap();
    assert_eq!(ok.check_subject_name("ORDERS"), Ok(()));
}
