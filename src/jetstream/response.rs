//! Reply bodies of the JetStream API: the typed envelopes, stream info and state, name/list
//! paging, account info, message get, and publish acks, in nats-server 2.15.1's key order.
//!
//! Owns: the JSON shapes of capture 03 (and the Go structs behind them where nothing was
//! captured). Must not: know where the numbers come from; the stream store fills the plain
//! structs here. Hands off to: the router (later), which sends the bytes to the reply subject.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::config::{StreamConfig, API_LEVEL};
use super::error::ApiError;
use super::time::Timestamp;

/// `STREAM.NAMES` / `CONSUMER.NAMES` page size (nats-server `JSApiNamesLimit`).
pub const NAMES_LIMIT: usize = 1024;
/// `STREAM.LIST` / `CONSUMER.LIST` page size (nats-server `JSApiListLimit`).
pub const LIST_LIMIT: usize = 256;

/// `io.nats.jetstream.api.v1.<kind>_response`.
fn type_name(kind: &str) -> String {
    format!("io.nats.jetstream.api.v1.{kind}_response")
}

/// Serialises `{"type":…}` followed by `payload`'s own fields (a struct or a map).
pub(crate) fn envelope<T: Serialize>(kind: &str, payload: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Env<'a, T> {
        #[serde(rename = "type")]
        kind: String,
        #[serde(flatten)]
        payload: &'a T,
    }
    // Our payloads are structs of strings, integers and string-keyed maps: infallible.
    serde_json::to_vec(&Env {
        kind: type_name(kind),
        payload,
    })
    .unwrap_or_default()
}

/// An error reply for a request whose success reply has type `kind` (see
/// `ApiRequest::response_type`). Paged replies carry `"total":0,"offset":0,"limit":0` after the
/// error, as captured for `stream_info`; names/list replies also carry their array as `null`,
/// as nats-server's Go structs do (not captured).
pub fn error_response(kind: &str, err: &ApiError) -> Vec<u8> {
    let paged = matches!(
        kind,
        "stream_info" | "stream_names" | "stream_list" | "consumer_names" | "consumer_list"
    );
    let array = match kind {
        "stream_names" | "stream_list" => Some("streams"),
        "consumer_names" | "consumer_list" => Some("consumers"),
        _ => None,
    };
    let mut out = Vec::with_capacity(160);
    let mut ser = serde_json::Serializer::new(&mut out);
    let written = (|| {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("type", &type_name(kind))?;
        m.serialize_entry("error", err)?;
        if paged {
            m.serialize_entry("total", &0)?;
            m.serialize_entry("offset", &0)?;
            m.serialize_entry("limit", &0)?;
        }
        if let Some(key) = array {
            m.serialize_entry(key, &())?;
        }
        m.end()
    })();
    debug_assert!(written.is_ok(), "writing JSON into a Vec cannot fail");
    out
}

/// A success reply with no payload beyond `"success":true` (delete, msg delete).
pub fn success_response(kind: &str) -> Vec<u8> {
    envelope(kind, &serde_json::json!({ "success": true }))
}

/// `stream_purge_response`: `{"success":true,"purged":n}`.
pub fn purge_response(purged: u64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Purge {
        success: bool,
        purged: u64,
    }
    envelope(
        "stream_purge",
        &Purge {
            success: true,
            purged,
        },
    )
}

/// A stream's state, filled by the store. Key order is nats-server's `StreamState`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamState {
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored (records, not just payloads).
    pub bytes: u64,
    /// First sequence, 0 when empty.
    pub first_seq: u64,
    /// Time of the first message; `Timestamp(0)` when empty.
    pub first_ts: Timestamp,
    /// Last sequence, 0 when never written.
    pub last_seq: u64,
    /// Time of the last message.
    pub last_ts: Timestamp,
    /// Distinct subjects; omitted when 0 (captured on an empty stream).
    #[serde(skip_serializing_if = "is_zero")]
    pub num_subjects: u64,
    /// Per-subject counts, only with `subjects_filter`; omitted when empty (Go `omitempty`).
    #[serde(skip_serializing_if = "no_subjects")]
    pub subjects: Option<BTreeMap<String, u64>>,
    /// Interior deletes; omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_deleted: u64,
    /// Consumers on the stream.
    pub consumer_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn no_subjects(s: &Option<BTreeMap<String, u64>>) -> bool {
    s.as_ref().is_none_or(BTreeMap::is_empty)
}

/// `cluster`: a single node is its own leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// The server name.
    pub leader: String,
}

/// nats-server's `StreamInfo`: what create, update, info and list entries carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamInfo {
    /// The config as it should be shown (use `StreamConfig::for_response` except in lists).
    pub config: StreamConfig,
    /// When the stream was created.
    pub created: Timestamp,
    /// Its state now.
    pub state: StreamState,
    /// Present in `STREAM.INFO` replies (captured `{"leader":"hub"}`), absent in create,
    /// update and list replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// When this reply was built.
    pub ts: Timestamp,
}

/// `stream_create_response`: the info plus `"did_create":true`. nats-server answers an
/// idempotent re-create with `did_create:true` too (captured).
pub fn stream_create_response(info: &StreamInfo) -> Vec<u8> {
    #[derive(Serialize)]
    struct Created<'a> {
        #[serde(flatten)]
        info: &'a StreamInfo,
        did_create: bool,
    }
    envelope(
        "stream_create",
        &Created {
            info,
            did_create: true,
        },
    )
}

/// `stream_update_response`: the info.
pub fn stream_update_response(info: &StreamInfo) -> Vec<u8> {
    envelope("stream_update", info)
}

/// `stream_info_response`: paging first (`total` = subjects in `state.subjects`, `limit`
/// 100000 when a subjects filter was asked for, both 0 otherwise, as captured), then the info.
pub fn stream_info_response(info: &StreamInfo, offset: usize) -> Vec<u8> {
    #[derive(Serialize)]
    struct Info<'a> {
        total: usize,
        offset: usize,
        limit: usize,
        #[serde(flatten)]
        info: &'a StreamInfo,
    }
    let (total, limit) = match &info.state.subjects {
        Some(s) => (s.len(), 100_000),
        None => (0, 0),
    };
    envelope(
        "stream_info",
        &Info {
            total,
            offset: if limit == 0 { 0 } else { offset },
            limit,
            info,
        },
    )
}

/// One page of a list: the items from `offset`, at most `limit` of them.
pub fn page<T>(all: &[T], offset: usize, limit: usize) -> &[T] {
    let start = offset.min(all.len());
    let end = start.saturating_add(limit).min(all.len());
    &all[start..end]
}

#[derive(Serialize)]
struct Paged<'a, T> {
    total: usize,
    offset: usize,
    limit: usize,
    #[serde(flatten)]
    items: BTreeMap<&'static str, &'a [T]>,
}

fn paged<T: Serialize>(
    kind: &str,
    key: &'static str,
    all: &[T],
    offset: usize,
    limit: usize,
) -> Vec<u8> {
    let items = BTreeMap::from([(key, page(all, offset, limit))]);
    envelope(
        kind,
        &Paged {
            total: all.len(),
            offset,
            limit,
            items,
        },
    )
}

/// `stream_names_response` for all matching names (sorted by the caller), paged at 1024.
pub fn stream_names_response(names: &[&str], offset: usize) -> Vec<u8> {
    paged("stream_names", "streams", names, offset, NAMES_LIMIT)
}

/// `stream_list_response`, paged at 256. Entries carry no `cluster` and stored metadata only.
pub fn stream_list_response(infos: &[StreamInfo], offset: usize) -> Vec<u8> {
    paged("stream_list", "streams", infos, offset, LIST_LIMIT)
}

/// `consumer_names_response`, paged at 1024.
pub fn consumer_names_response(names: &[&str], offset: usize) -> Vec<u8> {
    paged("consumer_names", "consumers", names, offset, NAMES_LIMIT)
}

/// Account usage for `$JS.API.INFO`, filled by the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountUsage {
    /// Bytes in memory streams.
    pub memory: u64,
    /// Bytes in file streams.
    pub storage: u64,
    /// Number of streams.
    pub streams: u64,
    /// Number of consumers.
    pub consumers: u64,
    /// API requests served.
    pub api_total: u64,
    /// API requests that got an error.
    pub api_errors: u64,
}

/// `account_info_response` in the captured shape. Limits are reported as unlimited (-1), as
/// nats-server does for an account without limits; leafd's own budgets surface as errors.
pub fn account_info_response(u: &AccountUsage) -> Vec<u8> {
    #[derive(Serialize)]
    struct Limits {
        max_memory: i64,
        max_storage: i64,
        max_streams: i64,
        max_consumers: i64,
        max_ack_pending: i64,
        memory_max_stream_bytes: i64,
        storage_max_stream_bytes: i64,
        max_bytes_required: bool,
    }
    #[derive(Serialize)]
    struct Api {
        level: u32,
        total: u64,
        errors: u64,
    }
    #[derive(Serialize)]
    struct Account {
        memory: u64,
        storage: u64,
        reserved_memory: u64,
        reserved_storage: u64,
        streams: u64,
        consumers: u64,
        limits: Limits,
        api: Api,
    }
    let unlimited = Limits {
        max_memory: -1,
        max_storage: -1,
        max_streams: -1,
        max_consumers: -1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false,
    };
    let body = Account {
        memory: u.memory,
        storage: u.storage,
        reserved_memory: 0,
        reserved_storage: 0,
        streams: u.streams,
        consumers: u.consumers,
        limits: unlimited,
        api: Api {
            level: API_LEVEL,
            total: u.api_total,
            errors: u.api_errors,
        },
    };
    envelope("account_info", &body)
}

/// A stored message for `STREAM.MSG.GET`, borrowed from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMsg<'a> {
    /// Its subject.
    pub subject: &'a str,
    /// Its sequence.
    pub seq: u64,
    /// The raw header block (`NATS/1.0\r\n…\r\n\r\n`), empty if none.
    pub hdrs: &'a [u8],
    /// The payload.
    pub data: &'a [u8],
    /// When it was stored.
    pub time: Timestamp,
}

/// `stream_msg_get_response`: `hdrs` and `data` base64, each omitted when empty (captured).
pub fn msg_get_response(m: &StoredMsg<'_>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Msg<'a> {
        subject: &'a str,
        seq: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        hdrs: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        time: Timestamp,
    }
    #[derive(Serialize)]
    struct Get<'a> {
        message: Msg<'a>,
    }
    let b64 = |b: &[u8]| (!b.is_empty()).then(|| BASE64.encode(b));
    let message = Msg {
        subject: m.subject,
        seq: m.seq,
        hdrs: b64(m.hdrs),
        data: b64(m.data),
        time: m.time,
    };
    envelope("stream_msg_get", &Get { message })
}
