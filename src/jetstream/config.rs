//! `StreamConfig`: the stream create/update body, nats-server's defaults, its validation, and
//! the echo of the normalised config in responses.
//!
//! Owns: the fields of PROTOCOL.md §3.3 in nats-server's JSON key order, leniency towards what
//! async-nats and nats-py send (explicit `null`s, zeros, unknown keys), `normalise` (the
//! defaults of nats-server's `checkStreamCfg`), the idempotent-create comparison and the
//! subject-overlap test; `validate.rs` holds the rejections. Must not: hold messages or know
//! about storage. Hands off to: the stream store (later) and `response` (echo).
//!
//! Metadata: nats-server stores `_nats.req.level` (the API level the config's features need)
//! and adds `_nats.level`/`_nats.ver` only when answering. leafd does the same: [`normalise`]
//! sets the stored key (dropping any client-sent dynamic keys) and [`StreamConfig::for_response`]
//! adds `_nats.level` = [`API_LEVEL`] and `_nats.ver` = the nats-server version leafd
//! advertises in INFO (passed in by the caller, so this layer does not import the router).
//!
//! [`normalise`]: StreamConfig::normalise

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::parse_body;
use super::error::ApiError;
use crate::subject;

use super::policy::{is_false, is_u64_zero, is_zero, nullable};
pub use super::policy::{Compression, ConsumerLimits, Discard, Retention, Storage};

/// The JetStream API level leafd answers as (`_nats.level`, account info `api.level`).
pub const API_LEVEL: u32 = 5;
/// nats-server's `StreamDefaultDuplicatesWindow`: 2 minutes, in nanoseconds.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120_000_000_000;

/// Metadata keys nats-server stores or adds.
const REQ_LEVEL_KEY: &str = "_nats.req.level";
const LEVEL_KEY: &str = "_nats.level";
const VERSION_KEY: &str = "_nats.ver";

/// A stream's configuration, as sent by clients and echoed by the server. Key order is
/// nats-server's (`StreamConfig` in `server/stream.go`), so the echo matches the captures.
/// Features leafd cannot serve (mirror, sources, republish, subject transforms) are kept as
/// raw JSON so `validate` can reject them by name instead of silently dropping them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfig {
    /// Stream name; must equal the subject's token.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Free text, at most 4 KiB.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Filters the stream captures; empty → `[name]`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// Retention policy.
    #[serde(deserialize_with = "nullable")]
    pub retention: Retention,
    /// -1 = unlimited.
    #[serde(deserialize_with = "nullable")]
    pub max_consumers: i64,
    /// -1 = unlimited.
    #[serde(deserialize_with = "nullable")]
    pub max_msgs: i64,
    /// -1 = unlimited.
    #[serde(deserialize_with = "nullable")]
    pub max_bytes: i64,
    /// Nanoseconds; 0 = forever.
    #[serde(deserialize_with = "nullable")]
    pub max_age: i64,
    /// -1 = unlimited (KV history).
    #[serde(deserialize_with = "nullable")]
    pub max_msgs_per_subject: i64,
    /// -1 = unlimited (Go `int32`).
    #[serde(deserialize_with = "nullable")]
    pub max_msg_size: i32,
    /// Discard policy.
    #[serde(deserialize_with = "nullable")]
    pub discard: Discard,
    /// Storage type.
    #[serde(deserialize_with = "nullable")]
    pub storage: Storage,
    /// Always 1 on leafd (0 → 1).
    #[serde(deserialize_with = "nullable")]
    pub num_replicas: i64,
    /// Do not send pub-acks.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub no_ack: bool,
    /// Dedupe window in nanoseconds; 0 → 2 min (or `max_age` if smaller).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub duplicate_window: i64,
    /// Placement hints; meaningless on one node but echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<serde_json::Value>,
    /// Not supported by leafd (rejected in `validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<serde_json::Value>,
    /// Not supported by leafd (rejected in `validate` when non-empty).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<serde_json::Value>,
    /// Compression (echoed).
    #[serde(deserialize_with = "nullable")]
    pub compression: Compression,
    /// First sequence of a new stream; 0 = 1.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_u64_zero")]
    pub first_seq: u64,
    /// Not supported by leafd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<serde_json::Value>,
    /// Not supported by leafd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<serde_json::Value>,
    /// Serve `DIRECT.GET`.
    #[serde(deserialize_with = "nullable")]
    pub allow_direct: bool,
    /// Mirrors only; echoed.
    #[serde(deserialize_with = "nullable")]
    pub mirror_direct: bool,
    /// With `discard: new`, apply it per subject.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub discard_new_per_subject: bool,
    /// No more writes, deletes or purges.
    #[serde(deserialize_with = "nullable")]
    pub sealed: bool,
    /// Refuse `STREAM.MSG.DELETE`.
    #[serde(deserialize_with = "nullable")]
    pub deny_delete: bool,
    /// Refuse `STREAM.PURGE`.
    #[serde(deserialize_with = "nullable")]
    pub deny_purge: bool,
    /// Honour `Nats-Rollup`.
    #[serde(deserialize_with = "nullable")]
    pub allow_rollup_hdrs: bool,
    /// Defaults for consumers; `null` → `{}`.
    #[serde(deserialize_with = "nullable")]
    pub consumer_limits: ConsumerLimits,
    /// Honour `Nats-TTL`.
    #[serde(deserialize_with = "nullable")]
    pub allow_msg_ttl: bool,
    /// Nanoseconds; 0 = no delete markers.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub subject_delete_marker_ttl: i64,
    /// Counter streams (not supported by leafd).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub allow_msg_counter: bool,
    /// Atomic batch publish (not supported by leafd).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub allow_atomic: bool,
    /// Message schedules (not supported by leafd).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub allow_msg_schedules: bool,
    /// `"default"` / `"async"`; empty = default.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub persist_mode: String,
    /// Batched publish (not supported by leafd).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub allow_batched: bool,
    /// User metadata plus `_nats.req.level`; keys sorted, as Go writes maps.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metadata: BTreeMap<String, String>,
}

/// `n == 0 || n < -1` → -1, nats-server's rule for the limit fields.
fn unlimited(n: &mut i64) {
    if *n == 0 || *n < -1 {
        *n = -1;
    }
}

impl StreamConfig {
    /// Decodes a create/update body. Unknown keys are ignored and `null` means "default". An
    /// empty-ish body (`api::body_is_empty`) is the all-default config, whose empty name then
    /// fails the name check with 10056, as nats-server answers a `null` create (capture 15).
    ///
    /// # Errors
    /// 10025 `invalid JSON: …` when the body is not a JSON object of the right field types.
    pub fn from_json(body: &[u8]) -> Result<StreamConfig, ApiError> {
        parse_body(body)
    }

    /// Applies nats-server's defaults (`checkStreamCfg`, non-pedantic): limit fields that are
    /// 0 or < -1 become -1; `num_replicas` 0 → 1; no subjects → `[name]`; `duplicate_window`
    /// 0 → 2 min, or `max_age` when that is shorter; `_nats.req.level` set from the features
    /// used and client-sent dynamic metadata dropped. Idempotent.
    pub fn normalise(&mut self) {
        unlimited(&mut self.max_msgs);
        unlimited(&mut self.max_bytes);
        unlimited(&mut self.max_msgs_per_subject);
        unlimited(&mut self.max_consumers);
        if self.max_msg_size == 0 || self.max_msg_size < -1 {
            self.max_msg_size = -1;
        }
        if self.num_replicas == 0 {
            self.num_replicas = 1;
        }
        if self.duplicate_window == 0 && self.mirror.is_none() && self.sources.is_empty() {
            self.duplicate_window = match self.max_age {
                age if age > 0 && age < DEFAULT_DUPLICATE_WINDOW => age,
                _ => DEFAULT_DUPLICATE_WINDOW,
            };
        }
        if self.subjects.is_empty() && self.mirror.is_none() && self.sources.is_empty() {
            self.subjects.push(self.name.clone());
        }
        if self.subject_delete_marker_ttl >= 1_000_000_000 {
            // Markers are TTL'd roll-ups: they need both, and purging (nats-server turns
            // them on rather than refusing, outside pedantic mode).
            self.allow_msg_ttl = true;
            self.allow_rollup_hdrs = true;
            self.deny_purge = false;
        }
        self.metadata.remove(LEVEL_KEY);
        self.metadata.remove(VERSION_KEY);
        self.metadata.insert(
            REQ_LEVEL_KEY.to_owned(),
            self.required_api_level().to_string(),
        );
    }

    /// nats-server's `setStaticStreamMetadata`: the API level the config's features need.
    fn required_api_level(&self) -> u32 {
        let mut level = 0;
        if self.allow_msg_ttl || self.subject_delete_marker_ttl > 0 {
            level = 1;
        }
        if self.allow_msg_counter
            || self.allow_atomic
            || self.allow_msg_schedules
            || self.persist_mode == "async"
        {
            level = 2;
        }
        if self.allow_batched {
            level = 4;
        }
        level
    }

    /// `STREAM.CREATE.<stream>` / `UPDATE` with a body naming another stream (an empty body
    /// included, capture 15) is 10056.
    ///
    /// # Errors
    /// [`ApiError::stream_name_mismatch`].
    pub fn check_subject_name(&self, stream: &str) -> Result<(), ApiError> {
        if self.name == stream {
            Ok(())
        } else {
            Err(ApiError::stream_name_mismatch())
        }
    }

    /// The idempotent-create rule: an existing stream and a create request with the same
    /// normalised config → success (the existing info); anything different → 10058.
    /// Both sides must be normalised; dynamic metadata never reaches a stored config.
    pub fn same_as(&self, other: &StreamConfig) -> bool {
        self == other
    }

    /// Does any of this config's subjects overlap a subject of another stream (10065)?
    /// Streams with this config's name are skipped, so an update can be checked against the
    /// full stream list.
    pub fn overlaps<'a>(&self, mut others: impl Iterator<Item = &'a StreamConfig>) -> bool {
        others.any(|o| {
            o.name != self.name
                && self.subjects.iter().any(|a| {
                    o.subjects
                        .iter()
                        .any(|b| subject::filters_overlap(a.as_bytes(), b.as_bytes()))
                })
        })
    }

    /// The config as responses show it: the stored one plus nats-server's dynamic metadata
    /// (`_nats.level`, `_nats.ver` = `server_version`, the version leafd puts in INFO).
    /// `STREAM.LIST` entries use the stored config as is (captured without them).
    pub fn for_response(&self, server_version: &str) -> StreamConfig {
        let mut cfg = self.clone();
        cfg.metadata
            .insert(LEVEL_KEY.to_owned(), API_LEVEL.to_string());
        cfg.metadata
            .insert(VERSION_KEY.to_owned(), server_version.to_owned());
        cfg
    }
}
