//! Pull and push consumers: config, create-request rules, the delivery and ack state machine,
//! and the ack-subject and status-message wire forms.
//!
//! Owns: a consumer's cursor, pending acks, redelivery, waiting pull requests and its
//! persisted state. Must not: own messages (it reads them through `MessageSource`), read the
//! clock or do I/O. Hands off to: the engine, which routes what the consumer emits
//! (`Outgoing`) and persists `PersistedConsumer` when `take_dirty` says so.
//!
//! | file | holds |
//! |---|---|
//! | [`config`] | [`ConsumerConfig`], policies, `normalise`, `same_as`, echo |
//! | `validate` | `validate`, `validate_update`, [`check_workqueue`] |
//! | [`create`] | [`parse_create`] → [`CreateRequest`] (subject vs body rules, names) |
//! | [`ack`] | [`AckSubject`], [`parse_ack_subject`], ack payloads, Go durations |
//! | [`pull`] | pull request bodies, the waiting-request record |
//! | [`state`] | [`Consumer`]: construction, restore/persist, ack floor |
//! | `deliver` | `pull`, `poll`, `next_deadline`, `close` |
//! | `push` | push delivery to `deliver_subject`: heartbeats, flow control, `headers_only` |
//! | `settle` | `ack` |
//! | `pace` | replay original and push rate limits: when the next message may go |
//! | [`info`] | [`ConsumerInfo`] and the create/info/list replies |
//! | [`status`] | the 100/400/404/408/409 status header blocks |
//!
//! # Wiring (for the engine)
//!
//! * `CONSUMER.CREATE`: `parse_create(…)` → `req.prepare_with(&stream_cfg, &others)`; if a
//!   consumer `req.name` exists: action `create` and `!existing.config().same_as(&req.config)`
//!   → 10148, else `req.config.validate_update(existing.config())` then `existing.update(…)`;
//!   if none exists: action `update` → 10149, else `Consumer::new(…)`. Reply with
//!   `consumer_create_response(&c.info(src, now).for_response(ver))`.
//! * `MSG.NEXT` → `pull(reply, body, …)`; `$JS.ACK.…` → `parse_ack_subject` then `ack(…)`,
//!   deleting the returned seqs from work-queue streams; after every publish into the stream,
//!   every ack and at `next_deadline()` → `poll(…)`; `expired(now)` → delete the consumer
//!   (after `close`); `take_dirty()` → store `persisted()`.
//!
//! # Where leafd differs from nats-server (on purpose)
//!
//! * `pause_until`, priority groups and `ack_policy: flow_control` are refused with 10052
//!   naming the feature.
//! * A rate-limited push consumer's burst is 1 MiB whatever the stream's `max_msg_size`
//!   (nats-server uses that, or the account's max payload).
//!   Pull-config `idle_heartbeat`/`flow_control`/`direct`/`rate_limit_bps` get nats-server's
//!   own codes (10088/10089/10090/10086).
//! * Push consumers send a flow-control request every 512 KiB delivered (nats-server sizes
//!   its window from the client's pending limits), and a push consumer without flow control
//!   sends at most 1024 messages per poll.
//! * No advisories (NAK, max deliveries, terminated).
//! * A `no_wait` request also ends with `404` when `max_ack_pending` holds delivery back.
//! * Unacked messages are capped at [`state::HARD_MAX_ACK_PENDING`] when `max_ack_pending`
//!   is -1, waiting requests at [`state::HARD_MAX_WAITING`].

pub mod ack;
pub mod config;
pub mod create;
mod deliver;
pub mod info;
mod pace;
pub mod pull;
mod push;
mod settle;
pub mod state;
pub mod status;
mod validate;

pub use ack::{parse_ack_subject, AckSubject};
pub use config::{AckPolicy, ConsumerConfig, DeliverPolicy, ReplayPolicy};
pub use create::{parse_create, Action, CreateRequest};
pub use info::{
    consumer_create_response, consumer_info_response, consumer_list_response, ConsumerInfo,
    SequenceInfo,
};
pub use state::{Consumer, PersistedConsumer};
pub use validate::check_workqueue;

#[cfg(test)]
mod tests;
