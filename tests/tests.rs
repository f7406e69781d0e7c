//! leafd's integration tests: one binary, one module per area. Each test starts its own broker
//! from `LEAFD_CMD` (see `util/broker.rs`; default: the leafd cargo built) on its own port, so
//! the same suite runs against leafd natively, leafd under qemu-user, and the real
//! nats-server 2.15.1, which is how every expectation here was validated.
//!
//! Run everything: `tests/run.sh` (`--quick` for native only). One area:
//! `cargo test --test tests wire_errors::`. Regression tests are named after their issue
//! (`issue_<n>_<what>`) and live in the module of their area.

/// Broker process, raw wire connection and async-nats helpers shared by every module.
mod util;

/// Client authentication: token, users and passwords, timeouts, nats-server's -ERR texts.
mod auth;
/// Each board profile at its limits: RSS within its memory budget, the store within its disk
/// budget, and the documented errors past the limits.
mod boards;
/// 20x the store's disk budget through a bounded stream; du stays within the budget.
mod churn;
/// kill -9 during acked JetStream publishing: every acked message survives.
mod crash;
/// Disk full: JSON errors for JetStream publishes, core pub/sub unaffected, recovery.
mod diskfull;
/// Hostile input: malformed CONNECTs, silent connection floods, password guessing.
mod hostile;
/// JetStream API error codes for malformed and misdirected requests, as nats-server's.
mod jetstream_errors;
/// async-nats object store: put/get in chunks, info, list, watch, delete, seal, restart.
mod jetstream_objects;
/// Replay policy original and push rate limits.
mod jetstream_pace;
/// async-nats pull consumers: fetch, batch, messages(), acks, redelivery, work queues, restart.
mod jetstream_pull;
/// async-nats push and ordered consumers (heartbeats, flow control) and a KV session.
mod jetstream_push;
/// async-nats streams: CRUD, publish acks, dedupe, expectations, get/delete, purge, limits.
mod jetstream_streams;
/// Per-message TTLs, `never` against max_age, KV keys with a TTL and limit markers.
mod jetstream_ttl;
/// Server PINGs and the stale-connection cut-off.
mod keepalive;
/// 10,000 KV keys updated 50 times at history 3: du within the budget, RSS within the index bound.
mod kv_churn;
/// max_connections and graceful shutdown on SIGTERM.
mod lifecycle;
/// max_payload (client and wire), 1 MiB messages, slow consumers.
mod limits;
/// The monitoring HTTP listener: /varz, /connz, /subsz, /healthz, /leafz as nats-server's;
/// /jsz, forward lag, an unhealthy uplink and hostile input (leafd-only).
mod monitor;
/// Per-user publish/subscribe permissions, queue-group rules, allow_responses, the JS API.
mod permissions;
/// async-nats publish/subscribe: wildcards, queue groups, headers, unsubscribe_after, echo off.
mod pubsub;
/// async-nats reconnecting after a broker restart.
mod reconnect;
/// SIGHUP: users and permissions reloaded without dropping connections that stay allowed.
mod reload;
/// async-nats request/reply and no-responders.
mod requests;
/// TLS on the client port: CA-file clients, plaintext refusal, handshake timeout, mTLS,
/// handshake first.
mod tls;
/// Uplink authentication to hubs that require each credential kind.
mod uplink_auth;
/// Store-and-forward into a real nats-server hub: outages, failover, kill -9, cut links.
mod uplink_forward;
/// Live traffic over the leaf-node uplink to a real nats-server hub, both ways.
mod uplink_live;
/// The uplink over TLS to hubs that require it, with and without client certificates.
mod uplink_tls;
/// Delivery semantics on the raw wire: literal wildcard publishes, UNSUB max, HMSG, 503, echo.
mod wire_delivery;
/// The -ERR catalogue (PROTOCOL.md §1.7) on the raw wire: exact bytes, open or closed after.
mod wire_errors;
/// INFO fields and the connection handshake (nats-py reads exactly one line after PING).
mod wire_handshake;
