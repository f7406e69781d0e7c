//! `ConsumerInfo` and the consumer API replies (create, info, list) in nats-server's key
//! order (PROTOCOL.md §3.6, capture 04).
//!
//! Owns: the info shape and its envelopes. Must not: decide names/paging of `CONSUMER.NAMES`
//! (that is `response::consumer_names_response`). Hands off to: the engine, which sends the
//! bytes to the request's reply subject.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::response::envelope;

use crate::jetstream::response::{page, LIST_LIMIT};
use crate::jetstream::source::MessageSource;
use crate::jetstream::time::Timestamp;

use super::config::ConsumerConfig;
use super::state::Consumer;

/// `delivered` / `ack_floor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SequenceInfo {
    /// Consumer sequence.
    pub consumer_seq: u64,
    /// Stream sequence.
    pub stream_seq: u64,
    /// Last delivery / ack; omitted when never (Go `omitempty` on a pointer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active: Option<Timestamp>,
}

/// nats-server's `ConsumerInfo`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerInfo {
    /// The stream.
    pub stream_name: String,
    /// The consumer.
    pub name: String,
    /// When it was created.
    pub created: Timestamp,
    /// Its config (stored form; see [`ConsumerInfo::for_response`]).
    pub config: ConsumerConfig,
    /// Last delivery: consumer seq handed out, stream seq read up to.
    pub delivered: SequenceInfo,
    /// Everything at or below is acknowledged.
    pub ack_floor: SequenceInfo,
    /// Delivered, not yet acknowledged.
    pub num_ack_pending: u64,
    /// Pending messages delivered more than once.
    pub num_redelivered: u64,
    /// Waiting pull requests.
    pub num_waiting: u64,
    /// Matching messages not yet delivered.
    pub num_pending: u64,
    /// When this info was taken.
    pub ts: Timestamp,
}

impl ConsumerInfo {
    /// The info as create and info replies show it: the config gets `_nats.level` and
    /// `_nats.ver` (= the version leafd advertises). List entries are used as they are.
    pub fn for_response(mut self, server_version: &str) -> ConsumerInfo {
        self.config = self.config.for_response(server_version);
        self
    }
}

fn active(t: Timestamp) -> Option<Timestamp> {
    (t.0 != 0).then_some(t)
}

impl Consumer {
    /// The consumer's info now.
    pub fn info(&self, src: &dyn MessageSource, now: Timestamp) -> ConsumerInfo {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        ConsumerInfo {
            stream_name: self.stream.clone(),
            name: self.name.clone(),
            created: self.created,
            config: self.config.clone(),
            delivered: SequenceInfo {
                consumer_seq: self.consumer_seq,
                stream_seq: self.next_seq.saturating_sub(1),
                last_active: active(self.delivered_active),
            },
            ack_floor: SequenceInfo {
                consumer_seq: self.ack_floor.1,
                stream_seq: self.ack_floor.0,
                last_active: active(self.ack_active),
            },
            num_ack_pending: count(self.pending.len()),
            num_redelivered: count(self.pending.values().filter(|p| p.delivered > 1).count()),
            num_waiting: count(self.waiting.len()),
            num_pending: self.num_pending(src),
            ts: now,
        }
    }
}

/// `consumer_create_response` (no `did_create`, as captured). Pass `info.for_response(ver)`.
pub fn consumer_create_response(info: &ConsumerInfo) -> Vec<u8> {
    envelope("consumer_create", info)
}

/// `consumer_info_response`. Pass `info.for_response(ver)`.
pub fn consumer_info_response(info: &ConsumerInfo) -> Vec<u8> {
    envelope("consumer_info", info)
}

/// `consumer_list_response`: `total`, `offset`, `limit` 256, then the page of `infos` (all
/// the stream's consumers, sorted by the caller) from `offset`.
pub fn consumer_list_response(infos: &[ConsumerInfo], offset: usize) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        total: usize,
        offset: usize,
        limit: usize,
        #[serde(flatten)]
        items: BTreeMap<&'static str, &'a [ConsumerInfo]>,
    }
    envelope(
        "consumer_list",
        &List {
            total: infos.len(),
            offset,
            limit: LIST_LIMIT,
            items: BTreeMap::from([("consumers", page(infos, offset, LIST_LIMIT))]),
        },
    )
}
