//! `ConsumerConfig`: the consumer create/update body, nats-server's defaults
//! (`setConsumerConfigDefaults`), the idempotent-create comparison and the echo.
//!
//! Owns: the fields of PROTOCOL.md §3.6 in nats-server's JSON key order (`ConsumerConfig` in
//! `server/consumer.go`), leniency towards `null`s and unknown keys, and `normalise`. Must
//! not: decide whether a config is acceptable (that is `validate.rs`) or hold any state.
//! Hands off to: `create` (decode), `validate`, `state` (the running consumer), `info` (echo).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::jetstream::config::{ConsumerLimits, StreamConfig, API_LEVEL};
use crate::jetstream::policy::{is_false, is_zero, nullable};

/// nats-server's `JsAckWaitDefault`: 30 s.
pub const DEFAULT_ACK_WAIT: i64 = 30_000_000_000;
/// nats-server's `JSWaitQueueDefaultMax`.
pub const DEFAULT_MAX_WAITING: i64 = 512;
/// nats-server's `JsDefaultMaxAckPending`.
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
/// nats-server's `JsDeleteWaitTimeDefault`: an ephemeral's default `inactive_threshold`, 5 s.
pub const DEFAULT_EPHEMERAL_INACTIVE: i64 = 5_000_000_000;

const REQ_LEVEL_KEY: &str = "_nats.req.level";
const LEVEL_KEY: &str = "_nats.level";
const VERSION_KEY: &str = "_nats.ver";

/// `deliver_policy`: where a new consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverPolicy {
    /// From the first message (the default).
    #[default]
    All,
    /// From the last matching message.
    Last,
    /// Only messages stored after the consumer was created.
    New,
    /// From `opt_start_seq`.
    ByStartSequence,
    /// From the first message stored at or after `opt_start_time`.
    ByStartTime,
    /// The last message of every matching subject, then everything new.
    LastPerSubject,
}

/// `ack_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckPolicy {
    /// No acks: delivered means done.
    None,
    /// Acking a message acks every earlier pending one.
    All,
    /// Every message is acked on its own (what clients send; the default).
    #[default]
    Explicit,
    /// Sourcing/mirroring flow control (not supported by leafd).
    FlowControl,
}

/// `replay_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayPolicy {
    /// As fast as possible (the default).
    #[default]
    Instant,
    /// At the original pace (not supported by leafd).
    Original,
}

/// A consumer's configuration as clients send it and the server echoes it. Durations are
/// nanoseconds (Go `time.Duration`). Push-only and unsupported fields are kept so
/// `validate` can refuse them by name rather than silently ignore them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerConfig {
    /// Durable name; empty = ephemeral.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub durable_name: String,
    /// Consumer name (equals `durable_name` for durables).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Free text.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Where to start.
    #[serde(deserialize_with = "nullable")]
    pub deliver_policy: DeliverPolicy,
    /// Start sequence for `by_start_sequence`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_u64_zero")]
    pub opt_start_seq: u64,
    /// Start time (RFC 3339) for `by_start_time`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    /// Ack policy.
    #[serde(deserialize_with = "nullable")]
    pub ack_policy: AckPolicy,
    /// Nanoseconds before an unacked message is redelivered; 0 → 30 s.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub ack_wait: i64,
    /// Deliveries per message; -1 = unlimited.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub max_deliver: i64,
    /// Redelivery delays (ns) by delivery count; the first replaces `ack_wait`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<i64>,
    /// One filter.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub filter_subject: String,
    /// Several filters (not with `filter_subject`).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub filter_subjects: Vec<String>,
    /// Replay policy.
    #[serde(deserialize_with = "nullable")]
    pub replay_policy: ReplayPolicy,
    /// Push only (refused on pull consumers).
    #[serde(
        rename = "rate_limit_bps",
        deserialize_with = "nullable",
        skip_serializing_if = "is_u64_zero"
    )]
    pub rate_limit: u64,
    /// Ack sampling for advisories (echoed; leafd sends no advisories).
    #[serde(
        rename = "sample_freq",
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub sample_frequency: String,
    /// Pull requests that may wait at once; 0 → 512.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub max_waiting: i64,
    /// Unacked messages at once; 0 → 1000 (or the stream's consumer limit).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    /// Push only (refused).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub flow_control: bool,
    /// Deliver headers only (refused for now).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub headers_only: bool,
    /// Largest `batch` a pull request may ask for; 0 = no cap.
    #[serde(
        rename = "max_batch",
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub max_request_batch: i64,
    /// Longest `expires` a pull request may ask for (ns); 0 = no cap.
    #[serde(
        rename = "max_expires",
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub max_request_expires: i64,
    /// Largest `max_bytes` a pull request may ask for; 0 = no cap.
    #[serde(
        rename = "max_bytes",
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub max_request_max_bytes: i64,
    /// Push consumers (refused: a later issue).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub deliver_subject: String,
    /// Push consumers (refused).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub deliver_group: String,
    /// Push consumers' heartbeat (refused on pull consumers, as nats-server does).
    #[serde(
        rename = "idle_heartbeat",
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub heartbeat: i64,
    /// Remove the consumer after this long without activity (ns); ephemerals default to 5 s.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub inactive_threshold: i64,
    /// 0 = inherit (always one node on leafd).
    #[serde(rename = "num_replicas", deserialize_with = "nullable")]
    pub replicas: i64,
    /// Keep the state in memory (echoed).
    #[serde(
        rename = "mem_storage",
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub memory_storage: bool,
    /// Sourcing consumers (refused).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub direct: bool,
    /// User metadata plus `_nats.req.level`.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metadata: BTreeMap<String, String>,
    /// Pausing (not supported by leafd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<serde_json::Value>,
    /// Priority groups (not supported by leafd).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub priority_groups: Vec<String>,
    /// Priority policy (not supported by leafd unless `"none"`).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub priority_policy: String,
    /// Pinned-client TTL (not supported by leafd).
    #[serde(
        rename = "priority_timeout",
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub pinned_ttl: i64,
}

fn is_u64_zero(n: &u64) -> bool {
    *n == 0
}

impl ConsumerConfig {
    /// Applies nats-server's defaults with no stream limits: see [`normalise_for`].
    ///
    /// [`normalise_for`]: ConsumerConfig::normalise_for
    pub fn normalise(&mut self) {
        self.normalise_with(&ConsumerLimits::default());
    }

    /// Applies nats-server's defaults, taking `consumer_limits` from the stream.
    pub fn normalise_for(&mut self, stream: &StreamConfig) {
        self.normalise_with(&stream.consumer_limits);
    }

    /// `setConsumerConfigDefaults` (non-pedantic): `max_deliver` 0/< -1 → -1; negative
    /// waiting/batch/expires/bytes/heartbeat/threshold → 0; pull `max_waiting` 0 → 512;
    /// `ack_wait` 0 → 30 s for explicit/all; `backoff[0]` replaces `ack_wait`;
    /// `max_ack_pending` 0 → the stream's limit, else 1000 unless ack none; durables get
    /// `name = durable_name`, ephemerals `inactive_threshold` 5 s; `_nats.req.level` set.
    /// Idempotent.
    pub fn normalise_with(&mut self, limits: &ConsumerLimits) {
        if self.max_deliver == 0 || self.max_deliver < -1 {
            self.max_deliver = -1;
        }
        for n in [
            &mut self.max_waiting,
            &mut self.max_request_batch,
            &mut self.max_request_expires,
            &mut self.max_request_max_bytes,
            &mut self.heartbeat,
            &mut self.inactive_threshold,
            &mut self.pinned_ttl,
        ] {
            if *n < 0 {
                *n = 0;
            }
        }
        if self.max_ack_pending < -1 {
            self.max_ack_pending = -1;
        }
        if self.deliver_subject.is_empty() && self.max_waiting == 0 {
            self.max_waiting = DEFAULT_MAX_WAITING;
        }
        if self.ack_wait == 0 && matches!(self.ack_policy, AckPolicy::Explicit | AckPolicy::All) {
            self.ack_wait = DEFAULT_ACK_WAIT;
        }
        if let Some(&first) = self.backoff.first() {
            self.ack_wait = first;
        }
        if self.max_ack_pending == 0 {
            self.max_ack_pending = limits.max_ack_pending;
        }
        if self.inactive_threshold == 0 {
            self.inactive_threshold = limits.inactive_threshold;
        }
        if self.max_ack_pending == 0 && self.ack_policy != AckPolicy::None {
            self.max_ack_pending = match limits.max_ack_pending {
                l if l > 0 && l < DEFAULT_MAX_ACK_PENDING => l,
                _ => DEFAULT_MAX_ACK_PENDING,
            };
        }
        if !self.durable_name.is_empty() && self.name.is_empty() {
            self.name = self.durable_name.clone();
        }
        if self.durable_name.is_empty() && self.inactive_threshold == 0 {
            self.inactive_threshold = DEFAULT_EPHEMERAL_INACTIVE;
        }
        self.metadata.remove(LEVEL_KEY);
        self.metadata.remove(VERSION_KEY);
        // Every feature that would need a higher level (pause, priority groups) is refused.
        self.metadata
            .insert(REQ_LEVEL_KEY.to_owned(), "0".to_owned());
    }

    /// The filters this consumer reads, as `MessageSource` wants them (empty = everything).
    pub fn filters(&self) -> Vec<String> {
        if self.filter_subject.is_empty() {
            self.filter_subjects.clone()
        } else {
            vec![self.filter_subject.clone()]
        }
    }

    /// Is this a durable consumer?
    pub fn is_durable(&self) -> bool {
        !self.durable_name.is_empty()
    }

    /// Idempotent create: an existing consumer and a request with the same normalised config
    /// (apart from dynamic metadata, which never reaches a stored config) are the same.
    pub fn same_as(&self, other: &ConsumerConfig) -> bool {
        self == other
    }

    /// The config as create/info replies show it: plus `_nats.level` and `_nats.ver`.
    /// `CONSUMER.LIST` entries use the stored config (captured without them).
    pub fn for_response(&self, server_version: &str) -> ConsumerConfig {
        let mut cfg = self.clone();
        cfg.metadata
            .insert(LEVEL_KEY.to_owned(), API_LEVEL.to_string());
        cfg.metadata
            .insert(VERSION_KEY.to_owned(), server_version.to_owned());
        cfg
    }

    /// The redelivery delay after the `delivered`-th delivery (1-based): the matching
    /// `backoff` entry (the last one once past the end), else `ack_wait`.
    pub fn redelivery_wait(&self, delivered: u64) -> i64 {
        if self.backoff.is_empty() {
            return self.ack_wait;
        }
        let i = usize::try_from(delivered.saturating_sub(1)).unwrap_or(usize::MAX);
        let i = i.min(self.backoff.len() - 1);
        self.backoff[i]
    }
}
