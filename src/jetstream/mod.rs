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
//! Not here yet: streams' storage (retention, limits, dedupe window bookkeeping) and consumers'
//! state machines (pull waiting lists, acks, redelivery); they will use these types.

pub mod api;
pub mod config;
pub mod direct;
pub mod error;
pub mod expect;
pub mod headers;
pub mod policy;
pub mod pub_ack;
pub mod request;
pub mod response;
pub mod time;
mod validate;

pub use api::{body_is_empty, parse_api_subject, ApiRequest};
pub use config::StreamConfig;
pub use error::ApiError;
pub use expect::{ExpectState, PublishExpectations, Verdict};
pub use headers::header_value;

#[cfg(test)]
mod tests;
