//! The router: the single owner of broker state on the executor thread.
//!
//! Owns: connections ([`client`]), subscriptions, the [`Sublist`], queue-group choice,
//! outboxes and the slow-consumer policy. Every call is synchronous and does no I/O.
//! Takes: parsed [`Op`]s from the link. Hands off to: outboxes, which the link writes out.
//!
//! Why `Rc<RefCell<Router>>` and not a channel to a router task: handing each op to the
//! router is a borrow, not a message, so a PUB is routed while its bytes are still in the
//! reader's buffer and encoded once, straight into each subscriber's outbox. The rule that
//! keeps this safe is that no borrow lives across an `.await`.

mod auth;
mod cert_map;
mod client;
mod connz;
mod forward;
mod health;
mod info;
mod js;
mod login;
mod ops;
mod outbox;
mod perms;
mod reload;
mod route;
mod uplink;
mod varz;

use std::net::SocketAddr;

use slab::Slab;

use crate::config::Limits;
use crate::sublist::Sublist;

pub use auth::BcryptCheck;
pub use cert_map::CertIdentity;
pub use client::{ClientId, ClientStats, CloseReason, ConnectOpts};
pub use connz::{ConnInfo, Connz, ListOptions, SubDetail, Subsz, DEFAULT_LIST_LIMIT};
pub use forward::{UplinkStatus, STATUS_SUBJECT};
pub use health::{Health, JsSnapshot, Jsz, LeafInfo, Leafz};
pub use info::{ServerInfo, NATS_COMPAT_VERSION};
pub use outbox::Output;
pub use reload::AuthReload;
pub use uplink::UplinkStats;
pub use varz::{Varz, VARZ_SUBJECT};

pub(crate) use client::Client;

/// Dense id of a subscription (a slab index), the key the sublist stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubKey(u32);

/// One subscription.
#[derive(Debug)]
struct Subscription {
    client: ClientId,
    sid: Box<[u8]>,
    filter: Box<[u8]>,
    queue: Option<Box<[u8]>>,
    /// Auto-unsubscribe once `delivered` reaches this.
    max: Option<u64>,
    delivered: u64,
}

/// Server-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Messages received from clients.
    pub in_msgs: u64,
    /// Payload bytes received from clients.
    pub in_bytes: u64,
    /// Messages delivered to clients.
    pub out_msgs: u64,
    /// Payload bytes delivered to clients.
    pub out_bytes: u64,
    /// Connections closed as slow consumers.
    pub slow_consumers: u64,
    /// Connections closed as stale.
    pub stale_connections: u64,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Connections closed by authentication: bad or missing credentials, no CONNECT in
    /// time, or no longer admitted after a reload.
    pub auth_failures: u64,
    /// Connections closed because their TLS handshake failed or timed out.
    pub tls_handshake_failures: u64,
    /// Publishes and subscriptions refused by permissions.
    pub permission_violations: u64,
}

/// Whether a connection should keep going after an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Stop reading; the connection is closing (queued output is flushed if the reason
    /// allows).
    Close(CloseReason),
}

/// Where back-pressure starts: half of `max_pending`, but no more than 1 MiB. Queuing
/// more than that for one reader buys no throughput (the writer already has a full
/// socket's worth) and only costs memory; fan-out to N readers would hold N times it.
fn stall_mark(max_pending: usize) -> usize {
    (max_pending / 2).clamp(1, 1 << 20)
}

/// The broker's state.
#[derive(Debug)]
pub struct Router {
    info: ServerInfo,
    limits: Limits,
    clients: Slab<Client>,
    subs: Slab<Subscription>,
    sublist: Sublist<SubKey>,
    /// Soft mark for back-pressure: a publisher feeding an outbox past this stalls.
    stall_mark: usize,
    next_cid: u64,
    stats: RouterStats,
    /// JetStream, when served.
    js: Option<js::JsHandle>,
    /// The leaf-node uplink, when configured.
    uplink: Option<uplink::UplinkState>,
    /// Client authentication, when `[auth]` asks for it.
    auth: Option<auth::Auth>,
    /// When the router was made (`/varz` `start`, `uptime`).
    started: std::time::Instant,
    /// The monitoring listener's address, when there is one (`/varz` `http_host`).
    http_addr: Option<SocketAddr>,
}

impl Router {
    /// A router with no connections.
    pub fn new(info: ServerInfo, limits: Limits) -> Router {
        Router {
            sublist: Sublist::new(limits.sublist_cache),
            stall_mark: stall_mark(limits.max_pending),
            info,
            limits,
            clients: Slab::new(),
            subs: Slab::new(),
            next_cid: 1,
            stats: RouterStats::default(),
            js: None,
            uplink: None,
            auth: None,
            started: std::time::Instant::now(),
            http_addr: None,
        }
    }

    /// Notes the monitoring listener's address, for `/varz`.
    pub fn set_http_addr(&mut self, addr: SocketAddr) {
        self.http_addr = Some(addr);
    }

    /// Notes that a connection sent something (`/connz` `last_activity`, `idle`); the link
    /// calls it once per read.
    pub fn touch(&mut self, id: ClientId) {
        if let Some(c) = self.clients.get_mut(id.0) {
            c.last_activity = std::time::Instant::now();
        }
    }

    /// What INFO advertises.
    pub fn server_info(&self) -> &ServerInfo {
        &self.info
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Server-wide counters.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// Number of open connections.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Registers a new connection and queues its INFO. A connection past
    /// `max_connections` is registered too, so it gets INFO and the `-ERR` the way
    /// nats-server sends them, and is returned already closing.
    pub fn add_client(&mut self, addr: SocketAddr) -> ClientId {
        let cid = self.next_cid;
        self.next_cid += 1;
        self.stats.total_connections += 1;
        let over = self.clients.len() >= self.limits.max_connections;
        let id = ClientId(self.clients.insert(Client::new(cid, addr)));
        let client = &mut self.clients[id.0];
        if self.auth.as_ref().is_some_and(auth::Auth::wants_nonce) {
            client.nonce = Some(auth::new_nonce());
        }
        self.info
            .encode_for(&mut client.out.buf, cid, addr, client.nonce.as_deref());
        if over {
            crate::protocol::encode::err(&mut client.out.buf, b"maximum connections exceeded");
            self.close(id, CloseReason::MaxConnectionsExceeded);
        }
        id
    }

    /// Removes a connection and all its subscriptions; returns its final counters.
    pub fn remove_client(&mut self, id: ClientId) -> Option<ClientStats> {
        let client = self.clients.try_remove(id.0)?;
        for key in client.subs.into_values() {
            self.drop_sub(key);
        }
        Some(client.stats)
    }

    /// A log label for a connection.
    pub fn label(&self, id: ClientId) -> String {
        self.clients
            .get(id.0)
            .map_or_else(|| format!("client {}", id.0), Client::label)
    }

    /// Whether the connection announced header support in CONNECT.
    pub fn headers_enabled(&self, id: ClientId) -> bool {
        self.clients.get(id.0).is_some_and(|c| c.opts.headers)
    }

    /// Keeps what a failed read said, for the close log.
    pub fn note_read_error(&mut self, id: ClientId, text: String) {
        if let Some(c) = self.clients.get_mut(id.0) {
            c.read_error = Some(text);
        }
    }

    /// Why the connection is closing, if it is.
    pub fn closing(&self, id: ClientId) -> Option<CloseReason> {
        self.clients.get(id.0).and_then(|c| c.closing)
    }

    /// Marks a connection closing, wakes its tasks, and drops its backlog unless the
    /// reason flushes. The first reason wins.
    pub fn close(&mut self, id: ClientId, reason: CloseReason) {
        let Some(client) = self.clients.get_mut(id.0) else {
            return;
        };
        if client.closing.is_some() {
            return;
        }
        client.closing = Some(reason);
        match reason {
            CloseReason::SlowConsumerPendingBytes | CloseReason::SlowConsumerWriteDeadline => {
                self.stats.slow_consumers += 1;
            }
            CloseReason::StaleConnection => self.stats.stale_connections += 1,
            CloseReason::AuthViolation | CloseReason::AuthTimeout => self.stats.auth_failures += 1,
            CloseReason::TlsHandshake => self.stats.tls_handshake_failures += 1,
            _ => {}
        }
        if !reason.flushes() {
            client.out.buf = Vec::new();
        }
        client.out.wake_writer();
        if let Some(w) = client.out.reader.take() {
            w.wake();
        }
    }

    /// Closes every connection (graceful shutdown): queued output is still written.
    pub fn close_all(&mut self, reason: CloseReason) {
        let ids: Vec<ClientId> = self.clients.iter().map(|(i, _)| ClientId(i)).collect();
        for id in ids {
            self.close(id, reason);
        }
    }

    fn drop_sub(&mut self, key: SubKey) {
        if let Some(sub) = self.subs.try_remove(key.0 as usize) {
            self.sublist.remove(&sub.filter, sub.queue.as_deref(), key);
            self.local_interest(&sub.filter, sub.queue.as_deref(), -1);
            self.js_refresh_push();
        }
    }

    /// Removes one subscription of a client (by key), also from the client's sid table.
    fn unsubscribe_key(&mut self, key: SubKey) {
        let Some(sub) = self.subs.get(key.0 as usize) else {
            return;
        };
        if let Some(client) = self.clients.get_mut(sub.client.0) {
            client.subs.remove(&sub.sid);
        }
        self.drop_sub(key);
    }
}
