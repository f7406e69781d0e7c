//! JetStream: the `$JS.API` surface, streams over the store, pull consumers, and the engine
//! that ties them to the router.
//!
//! Owns: everything JetStream, in three layers. The data layer decides from bytes alone
//! (subjects, bodies, configs, errors, responses: matched byte for byte against nats-server
//! 2.15.1's captured wire, PROTOCOL.md §3); [`stream`] and [`consumer`] are state machines
//! over the store that take the time as an argument; [`engine`] owns them all and is what
//! the router calls. Must not: touch sockets or block the event loop on a disk sync (the
//! engine hands sync work to the server's sync task). Hands off to: the router, which
//! delivers what the engine emits as [`Outgoing`] messages.
//!
//! | file | holds |
//! |---|---|
//! | [`engine`] | the streams table, `$JS.API` dispatch, capture of publishes, group-commit acks |
//! | [`stream`] | one stream: limits, dedupe window, indexes, purge, expiry over its log |
//! | [`consumer`] | pull consumers: config, create rules, deliveries, acks, redelivery |
//! | [`source`] | the seams: [`MessageSource`] (stream → consumer) and [`Outgoing`] |
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
//! # Where leafd differs from nats-server (on purpose)
//!
//! * Empty-ish bodies (`""`, whitespace, `null`, `{}`, `[]`) are accepted by every endpoint
//!   (PROTOCOL.md §3.12); nats-server answers 10038 or 10025 for some of them.
//! * `invalid JSON: …` carries serde_json's reason, not Go's; the codes are the same.
//! * Unknown fields in request bodies are ignored; nats-server 2.15.1 refuses them with
//!   10025 (`json: unknown field "x"`). Ignoring them keeps newer clients working.
//! * Subjects with invalid names (`STREAM.INFO.a*b`, `a/b`, > 255 bytes) parse as
//!   `ApiRequest::Unknown` (no reply); a config naming a stream with `/` gets 10128.
//! * `num_replicas > 1` is always 10074: leafd is a single node.
//! * Mirrors, sources, subject transforms, republish, counters, atomic/batched publish and
//!   message schedules are refused with 10052 naming the feature, not silently ignored.
//! * An invalid `Nats-TTL` is refused (10165) even on streams without `allow_msg_ttl`, where
//!   nats-server ignores it.
//! * `_nats.ver` in responses is whatever version the caller advertises in INFO.
//!
//! Push and ordered consumers, interest retention and per-message TTLs live in `consumer/`,
//! `engine/` and `stream/` (issue 5).

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
