//! leafd: a small NATS-compatible message broker for edge and IoT gateways.
//!
//! Stock NATS clients (async-nats, nats-py, nats.go, ...) connect to leafd unchanged: local
//! pub/sub with wildcards, request/reply with no-responders, queue groups and headers. The
//! whole broker runs on one thread (`smol::LocalExecutor`); blocking disk work, when there is
//! any, runs off that thread and reports back.
//!
//! # Layout
//!
//! Data flows one way:
//!
//! ```text
//! socket ─► link ─► protocol (sans-I/O parse) ─► router ─► sublist match
//!                                                  ├─► subscribers' outboxes ─► link ─► socket
//!                                                  ├─► jetstream engine ─► store (segment log, sled)
//!                         replies, pub-acks, pulls ◄─┘      ▲ group commit: the server's sync task
//!                                                  └─► hub link's outbox (live LMSG, forwarders)
//! hub ─► link/uplink ─► protocol (leaf role) ─► router (origin = hub) ─► local subscribers
//! ```
//!
//! | module | owns | hands off to |
//! |---|---|---|
//! | [`subject`] | `Subject`/`Filter` newtypes, validation, tokenising | everyone |
//! | [`protocol`] | the NATS wire codec: bytes → [`protocol::Op`], frames → bytes. No I/O | router, link |
//! | [`sublist`] | the subject → interest trie with a bounded result cache | router |
//! | [`router`] | all broker state: clients, client authentication (the check in `router/auth.rs`, the CONNECT flow in `router/login.rs`, certificate-named users in `router/cert_map.rs`), permissions (`router/perms.rs`), SIGHUP's new `[auth]` for open connections (`router/reload.rs`), subscriptions, queue groups, outboxes, slow-consumer policy, the JetStream engine handle (`router/js.rs`), the uplink's interest and live path (`router/uplink.rs`) and forwarders (`router/forward.rs`). Synchronous | sublist, protocol's encoders, jetstream, uplink |
//! | [`link`] | sockets and timers: client connections (`client.rs`) with TLS on the client port (`tls_server.rs`, names read from client certificates in `x509.rs`), the hub link with its dial/handshake/backoff loop (`uplink.rs`), and the read/write loops both share (`conn.rs`) | protocol, router |
//! | [`monitor`] | the monitoring HTTP listener (`--http`): a strict HTTP/1.1 GET server, nats-server's `/varz` `/connz` `/subsz` `/jsz` `/leafz` `/healthz` JSON and `/metrics` (Prometheus text) from the router's snapshot methods (`router/varz.rs`, `router/connz.rs`, `router/health.rs`) | router |
//! | [`server`] | `run(listener, config, shutdown)`: wires everything on the executor; the group-commit sync task and the JetStream timer task | link, router |
//! | [`config`] | CLI flags + TOML file + board profile → validated plain data with every limit | everyone |
//! | [`jetstream`] | the `$JS.API` (byte-exact data layer), streams with limits and dedupe, pull consumers, and the engine that owns them. No sockets; syncs are handed to the server | store, router (via `Outgoing`) |
//! | [`store`] | the per-stream append-only segment log for payloads (record format, segments, recovery, eviction), its in-memory twin, and sled for metadata. No sockets | jetstream |
//! | [`uplink`] | the leaf-node uplink's pure parts: handshake JSON, the hub's interest table, the store-and-forward state machine (cursor, window, PubAcks, resolve). No I/O | router |
//! | [`reload`] | SIGHUP: what a new config changes at run time (`[auth]`, log level) and what needs a restart | router |
//! | [`nkey`] | the nkey text format, user seeds and public keys, nonce signing and verifying (ring's ed25519) | uplink, router's auth |
//! | [`notify`] | systemd readiness (`READY=1`, `STOPPING=1` on `NOTIFY_SOCKET`); a no-op outside systemd | nothing |
//! | [`bench`] | `leafd bench` (a load generator that drives NATS servers side by side, and the replay benchmark) and `leafd status` | protocol |
//!
//! The binary (`src/main.rs`: signals, exit codes, running what the command line asks), its
//! command line (`src/cli.rs`: clap's flags, subcommands and help) and its logger
//! (`src/logger.rs`: one stderr line per record, journald-aware) sit outside the library.
//!
//! Imports point one way: `main → server → {link, monitor} → {protocol, router}`, `router → {sublist,
//! protocol, jetstream}`, `jetstream → store`; everything may use `subject` and `config`. The codec never sees the router: the
//! router takes the codec's parsed ops and uses its encoders to fill outboxes with wire bytes,
//! so a message is encoded once, straight into every subscriber's buffer.
//!
//! # Sharing the router
//!
//! The [`router::Router`] is the single owner of broker state. Connection tasks share it as
//! `Rc<RefCell<Router>>` on the one executor thread and borrow it only inside synchronous calls:
//! a borrow never lives across an `.await`, so no borrow can ever fail at run time.
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

pub mod bench;
pub mod config;
pub mod jetstream;
pub mod link;
pub mod monitor;
pub mod nkey;
pub mod notify;
pub mod protocol;
pub mod reload;
pub mod router;
pub mod server;
pub mod store;
pub mod subject;
pub mod sublist;
pub mod uplink;
