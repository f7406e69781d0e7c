//! `/connz` and `/subsz`: the open connections and the subscriptions, in nats-server's JSON
//! field names (`server/monitor.go`), for the fields leafd has.
//!
//! Owns: the snapshot types and their paging (`offset`, `limit`, nats-server's default limit
//! of 1024, connections in `cid` order). Must not: do I/O or parse HTTP (the monitor turns a
//! query string into [`ListOptions`]). Hands off to: the monitor, which serialises them.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::jetstream::time::Timestamp;

use super::varz::{go_uptime, wall_clock_at};
use super::Router;

/// nats-server's `DefaultConnListSize` and `DefaultSubListSize`.
pub const DEFAULT_LIST_LIMIT: usize = 1024;

/// Paging and detail asked for by the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// Entries to skip.
    pub offset: usize,
    /// Entries to return at most; 0 means [`DEFAULT_LIST_LIMIT`].
    pub limit: usize,
    /// `subs=1`: each connection's subscription subjects (`/subsz`: the list itself).
    pub subs: bool,
    /// `subs=detail`: each connection's subscriptions with sid, queue and counts.
    pub subs_detail: bool,
}

impl ListOptions {
    fn limit(&self) -> usize {
        if self.limit == 0 {
            DEFAULT_LIST_LIMIT
        } else {
            self.limit
        }
    }
}

/// One subscription in detail (nats-server's `SubDetail`).
#[derive(Debug, Clone, Serialize)]
pub struct SubDetail {
    /// `$G`, the only account leafd has (only in `/subsz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'static str>,
    /// The filter.
    pub subject: String,
    /// The queue group.
    #[serde(rename = "qgroup", skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The client's sid.
    pub sid: String,
    /// Messages delivered to it.
    pub msgs: u64,
    /// Auto-unsubscribe count, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The connection's `cid`.
    pub cid: u64,
}

/// One connection (nats-server's `ConnInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct ConnInfo {
    /// Public connection id.
    pub cid: u64,
    /// `Client`, or `Leafnode` for the uplink.
    pub kind: &'static str,
    /// `nats` for clients (omitted for the uplink, as nats-server does for non-clients).
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    pub kind_type: &'static str,
    /// Peer IP.
    pub ip: String,
    /// Peer port.
    pub port: u16,
    /// When it connected.
    pub start: Timestamp,
    /// When it last sent anything.
    pub last_activity: Timestamp,
    /// Time since `start`, as nats-server writes it (`1h2m3s`).
    pub uptime: String,
    /// Time since `last_activity`.
    pub idle: String,
    /// Bytes queued for writing.
    pub pending_bytes: usize,
    /// Messages received from it.
    pub in_msgs: u64,
    /// Messages delivered to it.
    pub out_msgs: u64,
    /// Payload bytes received from it.
    pub in_bytes: u64,
    /// Payload bytes delivered to it.
    pub out_bytes: u64,
    /// Its subscriptions.
    pub subscriptions: usize,
    /// CONNECT `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// CONNECT `lang`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// CONNECT `version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// With `subs=1`: its subscription subjects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<String>,
    /// With `subs=detail`: its subscriptions in detail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list_detail: Vec<SubDetail>,
}

/// The `/connz` reply.
#[derive(Debug, Clone, Serialize)]
pub struct Connz {
    /// INFO's `server_id`.
    pub server_id: String,
    /// When this was taken.
    pub now: Timestamp,
    /// Entries in `connections`.
    pub num_connections: usize,
    /// Open connections in all.
    pub total: usize,
    /// The offset asked for.
    pub offset: usize,
    /// The limit in force.
    pub limit: usize,
    /// The page, in `cid` order.
    pub connections: Vec<ConnInfo>,
}

/// The `/subsz` reply: the sublist's counters, and with `subs=1` the subscriptions.
#[derive(Debug, Clone, Serialize)]
pub struct Subsz {
    /// INFO's `server_id`.
    pub server_id: String,
    /// When this was taken.
    pub now: Timestamp,
    /// Subscriptions held.
    pub num_subscriptions: usize,
    /// Subjects in the match cache.
    pub num_cache: usize,
    /// Subscriptions ever added.
    pub num_inserts: u64,
    /// Subscriptions ever removed.
    pub num_removes: u64,
    /// Subject lookups.
    pub num_matches: u64,
    /// Share of lookups answered from the cache.
    pub cache_hit_rate: f64,
    /// Subscriptions matched (with `subs=1`), before paging.
    pub total: usize,
    /// The offset asked for.
    pub offset: usize,
    /// The limit in force.
    pub limit: usize,
    /// With `subs=1`: the page.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<SubDetail>,
}

fn ago(now: Instant, then: Instant) -> Duration {
    now.saturating_duration_since(then)
}

impl Router {
    /// The `/connz` snapshot: open connections (clients and the uplink) in `cid` order.
    pub fn connz(&self, opts: ListOptions) -> Connz {
        let now = Instant::now();
        let mut all: Vec<_> = self.clients.iter().map(|(_, c)| c).collect();
        all.sort_by_key(|c| c.cid);
        let total = all.len();
        let limit = opts.limit();
        let connections: Vec<ConnInfo> = all
            .into_iter()
            .skip(opts.offset)
            .take(limit)
            .map(|c| {
                let subs = c.subs.values().filter_map(|k| self.subs.get(k.0 as usize));
                let (list, detail) = match (opts.subs_detail, opts.subs) {
                    (true, _) => (
                        Vec::new(),
                        subs.map(|s| self.sub_detail(s, false)).collect(),
                    ),
                    (false, true) => (
                        subs.map(|s| String::from_utf8_lossy(&s.filter).into_owned())
                            .collect(),
                        Vec::new(),
                    ),
                    (false, false) => (Vec::new(), Vec::new()),
                };
                ConnInfo {
                    cid: c.cid,
                    kind: if c.hub { "Leafnode" } else { "Client" },
                    kind_type: if c.hub { "" } else { "nats" },
                    ip: c.addr.ip().to_string(),
                    port: c.addr.port(),
                    start: wall_clock_at(now, c.start),
                    last_activity: wall_clock_at(now, c.last_activity),
                    uptime: go_uptime(ago(now, c.start)),
                    idle: go_uptime(ago(now, c.last_activity)),
                    pending_bytes: c.out.pending(),
                    in_msgs: c.stats.in_msgs,
                    out_msgs: c.stats.out_msgs,
                    in_bytes: c.stats.in_bytes,
                    out_bytes: c.stats.out_bytes,
                    subscriptions: c.subs.len(),
                    name: c.opts.name.clone().filter(|n| !n.is_empty()),
                    lang: c.opts.lang.clone().filter(|n| !n.is_empty()),
                    version: c.opts.version.clone().filter(|n| !n.is_empty()),
                    subscriptions_list: list,
                    subscriptions_list_detail: detail,
                }
            })
            .collect();
        Connz {
            server_id: self.info.server_id.clone(),
            now: crate::jetstream::engine::now(),
            num_connections: connections.len(),
            total,
            offset: opts.offset,
            limit,
            connections,
        }
    }

    fn sub_detail(&self, s: &super::Subscription, account: bool) -> SubDetail {
        SubDetail {
            account: account.then_some("$G"),
            subject: String::from_utf8_lossy(&s.filter).into_owned(),
            queue: s
                .queue
                .as_ref()
                .map(|q| String::from_utf8_lossy(q).into_owned()),
            sid: String::from_utf8_lossy(&s.sid).into_owned(),
            msgs: s.delivered,
            max: s.max,
            cid: self.clients.get(s.client.0).map_or(0, |c| c.cid),
        }
    }

    /// The `/subsz` snapshot: sublist counters, and with `subs=1` a page of subscriptions
    /// (in connection, then subscription, order).
    pub fn subsz(&self, opts: ListOptions) -> Subsz {
        let st = self.sublist.stats();
        let limit = opts.limit();
        let mut list = Vec::new();
        let mut total = 0;
        if opts.subs || opts.subs_detail {
            let mut subs: Vec<_> = self.subs.iter().collect();
            subs.sort_by_key(|(k, s)| (self.clients.get(s.client.0).map_or(0, |c| c.cid), *k));
            total = subs.len();
            list = subs
                .into_iter()
                .skip(opts.offset)
                .take(limit)
                .map(|(_, s)| self.sub_detail(s, true))
                .collect();
        }
        Subsz {
            server_id: self.info.server_id.clone(),
            now: crate::jetstream::engine::now(),
            num_subscriptions: st.num_subscriptions,
            num_cache: st.num_cache,
            num_inserts: st.num_inserts,
            num_removes: st.num_removes,
            num_matches: st.num_matches,
            cache_hit_rate: st.cache_hit_rate(),
            total,
            offset: opts.offset,
            limit,
            subscriptions_list: list,
        }
    }
}
