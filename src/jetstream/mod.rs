//! The pure data layer of the JetStream API: request subjects, request bodies, stream
//! configuration, error objects, response envelopes and publish-header expectations.
//!
//! Owns: everything about the JetStream API that can be decided from bytes alone, matched
//! against nats-server 2.15.1's captured wire (PROTOCOL.md §3, `protocol-captures/03`, `11`,
//! `12`, `15`). No I/O, no clock, no storage: callers pass timestamps and stream state in.
//! Must not: own streams, messages or consumers, touch the router or the store. Hands off
//! to: the router (not yet wired), which will parse `$JS.API.…` subjects with [`api`], decode
//! bodies, ask the (future) stream store, and answer with [`response`]'s builders.
//!
//! | file | holds |
//! |---|---|
//! | [`api`] | [`ApiRequest`] from a subject, name rules, body leniency |
//! | [`error`] | [`ApiError`]: the err_code catalogue |
//! | [`config`] | [`StreamConfig`]: decode, `normalise`, echo, idempotent-create, overlap |
//! | `validate` | `StreamConfig::validate`: nats-server's `checkStreamCfg` rejections |
//! | [`response`] | reply envelopes, stream info/state, paging, account info, msg get |
//! | [`direct`] | `DIRECT.GET` header blocks (hit and 404) |
//! | [`pub_ack`] | publish acks and error acks, byte-exact |
//! | [`request`] | the small request bodies: info, names, purge, msg get, msg delete |
//! | [`time`] | [`time::Timestamp`]: RFC 3339 nanos as Go writes them |
//! | [`headers`] | header blocks: nats-server's case-sensitive lookup and the client reading |
//! | [`expect`] | publish-header expectations and their check against the stream's state |
//! | [`policy`] | retention / discard / storage / compression enums, consumer limits |
//!
//! # Wiring (for the router, later)
//!
//! `parse_api_subject(subject)` → `ApiRequest`; decode the body with `api::parse_body` (or
//! `StreamConfig::from_json`), `normalise`, `check_subject_name`, `validate_create` /
//! `validate_update`, `overlaps` (10065) and `same_as` (idempotent create, else 10058); answer
//! with `response::*` or `response::error_response(req.response_type()?, &err)`. A publish
//! into a stream: `PublishExpectations::from_headers`, fill `ExpectState`, `check`, then
//! `pub_ack::pub_ack` / `pub_ack_error`.
//!
//! # Where leafd differs from nats-server (on purpose)
//!
//! * Empty-ish bodies (`""`, whitespace, `null`, `{}`, `[]`) are accepted by every endpoint
//!   (PROTOCOL.md §3.12); nats-server answers 10038 or 10025 for some of them.
//! * `invalid JSON: …` carries serde_json's reason, not Go's; the codes are the same.
//! * Subjects with invalid names (`STREAM.INFO.a*b`, `a/b`, > 255 bytes) parse as
//!   `ApiRequest::Unknown` (no reply); a config naming a stream with `/` gets 10128.
//! * `num_replicas > 1` is always 10074: leafd is a single node.
//! * Mirrors, sources, subject transforms, republish, counters, atomic/batched publish and
//!   message schedules are refused with 10052 naming the feature, not silently ignored.
//! * An invalid `Nats-TTL` is refused (10165) even on streams without `allow_msg_ttl`, where
//!   nats-server ignores it.
//! * `_nats.ver` in responses is whatever version the caller advertises in INFO.
//!
//! Not here yet: streams' storage (retention, limits, dedupe window bookkeeping) and consumers'
//! state machines (pull waiting lists, acks, redelivery); they will use these types.

pub mod api;
pub mod config;
pub mod consumer;
pub mod direct;
pub mod engine;
pub mod error;
pub mod expect;
pub mod headers;
pub mod policy;
pub mod pub_ack;
pub mod request;
pub mod response;
pub mod source;
pub mod stream;
pub mod time;
mod validate;

pub use api::{body_is_empty, parse_api_subject, ApiRequest};
pub use config::StreamConfig;
pub use error::ApiError;
pub use expect::{ExpectState, PublishExpectations, Verdict};
pub use headers::header_value;
pub use source::{MessageSource, Outgoing};

#[cfg(test)]
mod tests;
