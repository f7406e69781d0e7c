//! What monitoring reads from the engine: every stream's state and its consumers' pending
//! counts, the store's disk use against its budget, eviction counters, and whether the store
//! takes writes.
//!
//! Owns: these read-only snapshots. Must not: change engine state or do network I/O (measuring
//! the store's disk use reads directory metadata, as the budget check does).
//! Hands off to: the router's `/jsz`, `/healthz` and `/metrics` builders.

use super::{JetStream, Timestamp};
use crate::jetstream::consumer::ConsumerInfo;
use crate::jetstream::policy::Storage;
use crate::jetstream::response::StreamState;

/// One stream as monitoring shows it.
#[derive(Debug, Clone)]
pub struct StreamSnapshot {
    /// The stream's name.
    pub name: String,
    /// Its state (messages, bytes, sequences); `consumer_count` filled in.
    pub state: StreamState,
    /// Messages its limits or a store budget evicted since start.
    pub evicted_msgs: u64,
    /// File storage (else memory).
    pub file: bool,
    /// Its consumers' info, by name.
    pub consumers: Vec<ConsumerInfo>,
}

/// The store as monitoring shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// What the store directory occupies on disk now, in bytes.
    pub used_bytes: u64,
    /// `[store] max_bytes`.
    pub max_bytes: u64,
    /// `[store] max_msgs`.
    pub max_msgs: u64,
    /// `jetstream.max_streams` and `jetstream.max_consumers`.
    pub max_streams: usize,
    /// See above.
    pub max_consumers: usize,
}

impl JetStream {
    /// Every stream with its consumers, in name order.
    pub fn stream_snapshots(&self, now: Timestamp) -> Vec<StreamSnapshot> {
        self.by_name
            .iter()
            .filter_map(|(name, &id)| {
                let slot = self.slots.get(id)?;
                let mut state = slot.stream.state();
                state.consumer_count = slot.consumers.len() as u64;
                Some(StreamSnapshot {
                    name: name.clone(),
                    state,
                    evicted_msgs: slot.evicted_msgs,
                    file: slot.stream.config().storage == Storage::File,
                    consumers: slot
                        .consumers
                        .values()
                        .map(|c| c.info(&slot.stream, now))
                        .collect(),
                })
            })
            .collect()
    }

    /// The store's disk use (measured now) and its budgets.
    pub fn store_snapshot(&self) -> StoreSnapshot {
        StoreSnapshot {
            used_bytes: self.disk_used(),
            max_bytes: self.settings.store_max_bytes,
            max_msgs: self.settings.store_max_msgs,
            max_streams: self.settings.max_streams,
            max_consumers: self.settings.max_consumers,
        }
    }

    /// `Ok` while the store takes writes; otherwise why not, for `/healthz`.
    ///
    /// # Errors
    /// A store budget is spent with nothing left to evict, or a stream's last write failed
    /// and it refuses publishes until its retry time.
    pub fn store_health(&self, now: Timestamp) -> Result<(), String> {
        if self.store_full {
            return Err(
                "store is over its disk budget (store.max_bytes) and nothing can be evicted".into(),
            );
        }
        if self.msgs_full {
            return Err("store holds store.max_msgs messages and nothing can be evicted".into());
        }
        for (name, &id) in &self.by_name {
            if let Some(slot) = self.slots.get(id) {
                if slot.disk_error_until.is_some_and(|t| now < t) {
                    return Err(format!("stream {name}: writing to the store failed"));
                }
            }
        }
        Ok(())
    }
}
