//! What the engine keeps in the metadata store, and rebuilding the engine from it at start.
//!
//! Owns: the metadata value formats (JSON: a stream's config and creation time; a consumer's
//! `PersistedConsumer`) and when they are written. Stream configs are synced before the API
//! answers (creating a stream is rare and must survive a power cut); consumer states are
//! written once per sync round and synced with it, so a crash can only make a consumer
//! redeliver, never skip. Memory streams keep their config across restarts, not their
//! messages or consumers (nats-server does the same for messages).

use serde::{Deserialize, Serialize};

use super::super::config::StreamConfig;
use super::super::consumer::{Consumer, PersistedConsumer};
use super::super::error::ApiError;
use super::super::policy::Storage;
use super::super::stream::Stream;
use super::super::time::Timestamp;
use super::streams::store_failed;
use super::{EngineError, JetStream};

/// A stream's metadata record.
#[derive(Debug, Serialize, Deserialize)]
struct StreamRecord {
    config: StreamConfig,
    created: u64,
}

impl JetStream {
    /// Opens every stream and durable consumer recorded in the metadata store.
    pub(super) fn restore(&mut self, now: Timestamp) -> Result<(), EngineError> {
        for (name, bytes) in self.meta.streams()? {
            let rec: StreamRecord = match serde_json::from_slice(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    log::error!("stream {name}: unreadable metadata ({e}); skipped");
                    continue;
                }
            };
            let file = rec.config.storage == Storage::File;
            let dir = self.stream_dir(&rec.config);
            let stream = match Stream::open(
                rec.config,
                Timestamp(rec.created),
                dir.as_deref(),
                self.settings.log.clone(),
                now,
            ) {
                Ok(s) => s,
                Err(e) => {
                    log::error!("stream {name}: cannot open its files: {e}; not served");
                    continue;
                }
            };
            let st = stream.state();
            log::info!(
                "stream {name}: {} message(s), {} byte(s), seq {}..={}",
                st.messages,
                st.bytes,
                st.first_seq,
                st.last_seq
            );
            let id = self.insert_slot(stream);
            if !file {
                continue;
            }
            for (cname, bytes) in self.meta.consumers(&name)? {
                match serde_json::from_slice::<PersistedConsumer>(&bytes) {
                    Ok(state) => {
                        let c = Consumer::restore(&name, state);
                        self.slots[id].consumers.insert(cname, c);
                        self.consumer_total += 1;
                    }
                    Err(e) => {
                        log::error!("consumer {name}/{cname}: unreadable state ({e}); skipped");
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes stream `id`'s config and syncs the metadata store (blocking, rare).
    pub(super) fn save_stream(&mut self, id: usize) -> Result<(), ApiError> {
        let stream = &self.slots[id].stream;
        let rec = StreamRecord {
            config: stream.config().clone(),
            created: stream.created().0,
        };
        let bytes = serde_json::to_vec(&rec).map_err(store_failed)?;
        self.meta
            .put_stream(stream.name(), &bytes)
            .map_err(store_failed)?;
        self.meta.sync().map_err(store_failed)
    }

    /// Removes a stream and its consumers from the metadata store, synced.
    pub(super) fn forget_stream(&mut self, name: &str) -> Result<(), ApiError> {
        self.meta.remove_stream(name).map_err(store_failed)?;
        self.meta.sync().map_err(store_failed)
    }

    /// Writes one consumer's state now and syncs (create, update).
    pub(super) fn save_consumer(&mut self, id: usize, name: &str) -> Result<(), ApiError> {
        let slot = &mut self.slots[id];
        if slot.stream.config().storage != Storage::File {
            return Ok(());
        }
        let Some(c) = slot.consumers.get_mut(name) else {
            return Ok(());
        };
        if !c.is_durable() {
            return Ok(());
        }
        c.take_dirty();
        let bytes = serde_json::to_vec(&c.persisted()).map_err(store_failed)?;
        self.meta
            .put_consumer(slot.stream.name(), name, &bytes)
            .map_err(store_failed)?;
        self.meta.sync().map_err(store_failed)
    }

    /// Removes a consumer's state, synced.
    pub(super) fn forget_consumer(&mut self, stream: &str, name: &str) -> Result<(), ApiError> {
        self.meta
            .remove_consumer(stream, name)
            .map_err(store_failed)?;
        self.meta.sync().map_err(store_failed)
    }

    /// Writes the state of every durable consumer that changed since the last round; the
    /// next metadata sync job makes it durable. Returns whether it looked.
    pub(super) fn persist_consumers(&mut self) -> bool {
        if !std::mem::take(&mut self.consumers_dirty) {
            return false;
        }
        for (_, slot) in &mut self.slots {
            if slot.stream.config().storage != Storage::File {
                continue;
            }
            for (name, c) in &mut slot.consumers {
                if !c.take_dirty() || !c.is_durable() {
                    continue;
                }
                let bytes = match serde_json::to_vec(&c.persisted()) {
                    Ok(b) => b,
                    Err(e) => {
                        log::error!("consumer {name}: cannot encode state: {e}");
                        continue;
                    }
                };
                match self.meta.put_consumer(slot.stream.name(), name, &bytes) {
                    Ok(()) => self.meta_dirty = true,
                    Err(e) => log::error!(
                        "consumer {}/{name}: cannot save state: {e}",
                        slot.stream.name()
                    ),
                }
            }
        }
        true
    }
}
