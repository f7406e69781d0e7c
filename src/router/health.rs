//! `/jsz`, `/leafz` and `/healthz`: JetStream's streams, consumers and store budget, the
//! uplink as a leaf-node connection with leafd's forward lag, and the health verdict.
//!
//! Owns: these snapshots, in nats-server's field names where it has the field (`streams`,
//! `consumers`, `messages`, `bytes`, `storage`, `leafnodes`, `leafs`, `status`) and leafd's
//! own names for what nats-server has not (`store_used_bytes`, `forwards`, ...), and the
//! rule for healthy: the store takes writes and, when an uplink is configured, the link is up
//! or the data waiting for it is still within the store's budget (nothing refused, nothing
//! evicted during this outage). Must not: do network I/O.
//! Hands off to: the monitor, which serialises them.

use serde::Serialize;

use crate::jetstream::consumer::ConsumerInfo;
use crate::jetstream::engine::{now, StoreSnapshot, StreamSnapshot};
use crate::jetstream::response::StreamState;
use crate::jetstream::source::MessageSource;
use crate::jetstream::time::Timestamp;

use super::forward::UplinkStatus;
use super::Router;

/// `/healthz` (nats-server's `HealthStatus`).
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Why not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Health {
    /// The HTTP status: 200 when healthy, else 503.
    pub fn code(&self) -> u16 {
        if self.error.is_none() {
            200
        } else {
            503
        }
    }
}

/// `/jsz` `config`.
#[derive(Debug, Clone, Serialize)]
pub struct JszConfig {
    /// `[store] max_bytes`.
    pub max_storage: u64,
    /// `[store] dir`.
    pub store_dir: String,
}

/// `/jsz` `api`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct JszApi {
    /// Requests answered.
    pub total: u64,
    /// Requests answered with an error.
    pub errors: u64,
}

/// A consumer in `/jsz?consumers=1`.
#[derive(Debug, Clone, Serialize)]
pub struct StreamDetail {
    /// The stream's name.
    pub name: String,
    /// Its state.
    pub state: StreamState,
    /// Messages evicted by limits or the store budget since start (leafd's own).
    pub evicted_msgs: u64,
    /// With `consumers=1`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumer_detail: Vec<ConsumerInfo>,
}

/// The one account, in `/jsz?streams=1`.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDetail {
    /// `$G`.
    pub name: &'static str,
    /// `$G`.
    pub id: &'static str,
    /// The streams.
    pub stream_detail: Vec<StreamDetail>,
}

/// `/jsz`.
#[derive(Debug, Clone, Serialize)]
pub struct Jsz {
    /// INFO's `server_id`.
    pub server_id: String,
    /// When this was taken.
    pub now: Timestamp,
    /// JetStream is off (`--no-jetstream`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Store settings.
    pub config: JszConfig,
    /// Bytes held by memory streams.
    pub memory: u64,
    /// Bytes held by file streams.
    pub storage: u64,
    /// Accounts using JetStream (1, or 0 while there are no streams).
    pub accounts: usize,
    /// API counters.
    pub api: JszApi,
    /// Streams.
    pub streams: usize,
    /// Consumers.
    pub consumers: usize,
    /// Messages in all streams.
    pub messages: u64,
    /// Bytes in all streams.
    pub bytes: u64,
    /// What the store directory occupies on disk now (leafd's own: the budget's measure).
    pub store_used_bytes: u64,
    /// `[store] max_bytes` (leafd's own).
    pub store_max_bytes: u64,
    /// `[store] max_msgs` (leafd's own).
    pub store_max_msgs: u64,
    /// Messages evicted by limits or budgets since start (leafd's own).
    pub evicted_msgs: u64,
    /// With `streams=1` (or `accounts=1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_details: Vec<AccountDetail>,
}

/// The uplink in `/leafz` (nats-server's `LeafInfo`, from this side of the link).
#[derive(Debug, Clone, Serialize)]
pub struct LeafInfo {
    /// The link's connection id.
    pub id: u64,
    /// The hub's `server_name` (from its INFO).
    pub name: String,
    /// leafd dials out: it is the spoke.
    pub is_spoke: bool,
    /// `$G`.
    pub account: &'static str,
    /// The hub's IP.
    pub ip: String,
    /// The hub's leaf-node port.
    pub port: u16,
    /// Messages received from the hub.
    pub in_msgs: u64,
    /// Live messages sent to the hub (forwarded records are counted per stream in `forwards`).
    pub out_msgs: u64,
    /// Bytes received from the hub.
    pub in_bytes: u64,
    /// Live bytes sent to the hub.
    pub out_bytes: u64,
    /// Interest entries the hub announced.
    pub subscriptions: usize,
}

/// `/leafz`.
#[derive(Debug, Clone, Serialize)]
pub struct Leafz {
    /// INFO's `server_id`.
    pub server_id: String,
    /// When this was taken.
    pub now: Timestamp,
    /// Leaf-node connections: 1 while the uplink is linked.
    pub leafnodes: usize,
    /// The link.
    pub leafs: Vec<LeafInfo>,
    /// leafd's own: the uplink's state and each forwarded stream's lag (`pending_msgs`,
    /// `pending_bytes`, `oldest_pending_age_secs`), as `leafd status` shows it. Omitted
    /// without an `[uplink]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<UplinkStatus>,
}

/// JetStream as `/jsz` and `/metrics` read it.
#[derive(Debug, Clone, Default)]
pub struct JsSnapshot {
    /// Every stream with its consumers.
    pub streams: Vec<StreamSnapshot>,
    /// The store's use and budgets.
    pub store: StoreSnapshot,
    /// API requests answered.
    pub api_total: u64,
    /// API requests answered with an error.
    pub api_errors: u64,
    /// Messages evicted by limits or budgets since start.
    pub evicted: u64,
}

impl Router {
    /// Streams and the store, for `/jsz` and `/metrics`; `None` without JetStream.
    pub fn js_snapshot(&self) -> Option<JsSnapshot> {
        let js = self.js.as_ref()?;
        let st = js.engine.stats();
        Some(JsSnapshot {
            streams: js.engine.stream_snapshots(now()),
            store: js.engine.store_snapshot(),
            api_total: st.api_total,
            api_errors: st.api_errors,
            evicted: st.evicted,
        })
    }

    /// `/jsz`; `streams` adds the account's streams, `consumers` their consumers too.
    pub fn jsz(&self, streams: bool, consumers: bool, store_dir: &str) -> Jsz {
        let JsSnapshot {
            streams: snaps,
            store,
            api_total,
            api_errors,
            evicted,
        } = self.js_snapshot().unwrap_or_default();
        let sum = |file: bool| -> u64 {
            snaps
                .iter()
                .filter(|s| s.file == file)
                .map(|s| s.state.bytes)
                .sum()
        };
        let account_details = if streams || consumers {
            vec![AccountDetail {
                name: "$G",
                id: "$G",
                stream_detail: snaps
                    .iter()
                    .map(|s| StreamDetail {
                        name: s.name.clone(),
                        state: s.state.clone(),
                        evicted_msgs: s.evicted_msgs,
                        consumer_detail: if consumers {
                            s.consumers.clone()
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
            }]
        } else {
            Vec::new()
        };
        Jsz {
            server_id: self.info.server_id.clone(),
            now: now(),
            disabled: self.js.is_none(),
            config: JszConfig {
                max_storage: store.max_bytes,
                store_dir: store_dir.to_owned(),
            },
            memory: sum(false),
            storage: sum(true),
            accounts: usize::from(!snaps.is_empty()),
            api: JszApi {
                total: api_total,
                errors: api_errors,
            },
            streams: snaps.len(),
            consumers: snaps.iter().map(|s| s.consumers.len()).sum(),
            messages: snaps.iter().map(|s| s.state.messages).sum(),
            bytes: snaps.iter().map(|s| s.state.bytes).sum(),
            store_used_bytes: store.used_bytes,
            store_max_bytes: store.max_bytes,
            store_max_msgs: store.max_msgs,
            evicted_msgs: evicted,
            account_details,
        }
    }

    /// `/leafz`.
    pub fn leafz(&mut self) -> Leafz {
        let status = self.uplink_status();
        let link = self.uplink.as_ref().and_then(|u| {
            u.link
                .filter(|_| u.ready)
                .map(|l| (l, u.stats, u.hub.len()))
        });
        let leafs: Vec<LeafInfo> = link
            .and_then(|(l, st, interest)| {
                let c = self.clients.get(l.0)?;
                Some(LeafInfo {
                    id: c.cid,
                    name: c.opts.name.clone().unwrap_or_default(),
                    is_spoke: true,
                    account: "$G",
                    ip: c.addr.ip().to_string(),
                    port: c.addr.port(),
                    in_msgs: st.msgs_down,
                    out_msgs: st.msgs_up,
                    in_bytes: st.bytes_down,
                    out_bytes: st.bytes_up,
                    subscriptions: interest,
                })
            })
            .into_iter()
            .collect();
        Leafz {
            server_id: self.info.server_id.clone(),
            now: now(),
            leafnodes: leafs.len(),
            leafs,
            uplink: status,
        }
    }

    /// `/healthz`: see the module header for the rule.
    pub fn healthz(&mut self) -> Health {
        let error = self.health_error();
        Health {
            status: if error.is_none() { "ok" } else { "unavailable" },
            error,
        }
    }

    fn health_error(&mut self) -> Option<String> {
        if let Some(js) = &self.js {
            if let Err(e) = js.engine.store_health(now()) {
                return Some(e);
            }
        }
        let status = self.uplink_status()?;
        if status.connected {
            return None;
        }
        // Records evicted during this outage: the forwarder has not skipped them yet, so they
        // sit between its cursor and the stream's first record. (Its `lost` counter is since
        // start, so an old outage's loss does not make a later, healthy outage unhealthy.)
        let js = self.js.as_ref()?;
        let lost: u64 = status
            .forwards
            .iter()
            .filter_map(|f| {
                let stream = js.engine.stream(&f.stream)?;
                Some(MessageSource::first_seq(stream).saturating_sub(f.cursor + 1))
            })
            .sum();
        (lost > 0).then(|| {
            format!(
                "uplink is down and {lost} message(s) waiting for it were evicted: \
                 buffering is past the store's budget"
            )
        })
    }
}
