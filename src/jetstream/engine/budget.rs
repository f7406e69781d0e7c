//! The store's budgets: what the store directory occupies on disk, as `du` counts it, stays
//! within `[store] max_bytes`, and the messages of all streams together within
//! `[store] max_msgs` (each costs about 32 bytes of index in memory, whatever its size).
//!
//! Owns: measuring the store (every stream's files plus the metadata store) and getting back
//! under the budget: the largest `discard: old` file stream loses its oldest messages (whole
//! segments where possible), logged with the seq range and counted as evictions; when no
//! such stream is left, publishes into file streams are refused with 10047 until space is
//! freed. Measuring walks directories, so it runs once per `slack` bytes appended, and the
//! budget is kept two `slack`s below the cap, so the bytes appended between two measurements
//! fit along with what the file system adds (a new segment's first block, delete-mark files).
//!
//! The message count works the same way: counted once per `msgs_slack` messages stored, and
//! kept one slack below `max_msgs`; the `discard: old` stream (of either storage) with the
//! most messages loses its oldest; when there is none, every publish is refused with 10047.
//! Its evictions are logged like those of stream limits (`evictions.rs`: one line per stream
//! per 10 s), after one WARN the first time the cap makes room.

use crate::store::{Evicted, StoreError};

use super::super::error::ApiError;
use super::super::policy::{Discard, Storage};
use super::super::stream::Stream;
use super::JetStream;

/// Most eviction steps per check (each removes an eighth of a stream).
const MAX_STEPS: usize = 64;

/// What `dir` occupies on disk; 0 if it cannot be read (logged).
fn du(dir: &std::path::Path) -> u64 {
    crate::store::disk_usage(dir).unwrap_or_else(|e| {
        log::warn!("store budget: {e}");
        0
    })
}

impl JetStream {
    /// Bytes appended between two measurements, and the margin kept below the budget.
    pub(super) fn budget_slack(&self) -> u64 {
        (self.settings.store_max_bytes / 32).clamp(64 << 10, 4 << 20)
    }

    /// What the store occupies on disk now.
    pub(super) fn disk_used(&self) -> u64 {
        let streams: u64 = self.slots.iter().map(|(_, s)| s.stream.disk_bytes()).sum();
        streams + du(self.meta.path())
    }

    /// Messages stored between two counts, and the margin kept below `max_msgs`.
    fn msgs_slack(&self) -> u64 {
        (self.settings.store_max_msgs / 256).clamp(1, 4096)
    }

    /// Whether a budget refuses publishes now (and is looked at again once a second).
    pub(super) fn store_refusing(&self) -> bool {
        self.store_full || self.msgs_full
    }

    /// Refuses a publish while the store holds `max_msgs`, or into a file stream while the
    /// disk budget is spent, and nothing can be evicted to make room.
    pub(super) fn budget_refusal(&self, id: usize) -> Option<ApiError> {
        let slot = self.slots.get(id)?;
        (self.msgs_full || (self.store_full && slot.stream.config().storage == Storage::File))
            .then(ApiError::storage_resources_exceeded)
    }

    /// Counts one message stored; counts them all and evicts once per slack.
    pub(super) fn account_msg(&mut self) {
        self.stored_since_count += 1;
        if self.stored_since_count >= self.msgs_slack() || self.msgs_full {
            self.stored_since_count = 0;
            self.enforce_msgs();
        }
    }

    /// Messages all streams hold.
    fn stored_msgs(&self) -> u64 {
        self.slots.iter().map(|(_, s)| s.stream.msg_count()).sum()
    }

    /// Gets the streams back under `max_msgs - slack` messages by evicting the oldest of the
    /// `discard: old` stream with the most; sets `msgs_full` when it cannot.
    fn enforce_msgs(&mut self) {
        let max = self.settings.store_max_msgs;
        let target = max.saturating_sub(self.msgs_slack());
        let mut held = self.stored_msgs();
        let mut steps = 0;
        while held > target && steps < MAX_STEPS {
            steps += 1;
            let Some(id) = self.victim(|_| true, Stream::msg_count) else {
                break;
            };
            if !self.msgs_cap_hit {
                self.msgs_cap_hit = true;
                log::warn!(
                    "store: {held} messages held, store.max_msgs is {max}: from now on the oldest messages of discard-old streams make room (summarised per stream every 10 s)"
                );
            }
            if let Err(e) = self.evict_oldest(id, held - target) {
                log::warn!("store max_msgs: eviction failed: {e}");
                break;
            }
            held = self.stored_msgs();
        }
        let full = held > target;
        if full != self.msgs_full {
            if full {
                log::warn!(
                    "store: {held} messages held, store.max_msgs is {max}, and no discard-old stream to evict from: refusing publishes until messages are removed"
                );
            } else {
                log::info!("store: back under store.max_msgs ({held} messages held)");
            }
        }
        self.msgs_full = full;
    }

    /// Counts `bytes` appended to a file stream; measures and evicts once per slack.
    pub(super) fn account_append(&mut self, bytes: u64) {
        self.appended_since_check += bytes;
        if self.appended_since_check >= self.budget_slack() || self.store_full {
            self.appended_since_check = 0;
            self.enforce_disk();
        }
    }

    /// Both budgets: see [`JetStream::enforce_disk`] and [`JetStream::enforce_msgs`].
    pub(super) fn enforce_budget(&mut self) {
        self.enforce_disk();
        self.enforce_msgs();
    }

    /// Gets the store back under `max_bytes - 2 * slack` by evicting from the largest
    /// `discard: old` file stream; sets `store_full` when it cannot.
    fn enforce_disk(&mut self) {
        let target = self
            .settings
            .store_max_bytes
            .saturating_sub(2 * self.budget_slack());
        let mut used = self.disk_used();
        let mut steps = 0;
        while used > target && steps < MAX_STEPS {
            steps += 1;
            let is_file = |s: &Stream| s.config().storage == Storage::File;
            let Some(id) = self.victim(is_file, Stream::disk_bytes) else {
                break;
            };
            if !self.disk_cap_hit {
                self.disk_cap_hit = true;
                log::warn!(
                    "store: {used} bytes on disk, store.max_bytes is {}: from now on the oldest messages of the largest discard-old file stream make room (summarised per stream every 10 s)",
                    self.settings.store_max_bytes
                );
            }
            let eighth = (self.slots[id].stream.msg_count() / 8).max(1);
            if let Err(e) = self.evict_oldest(id, eighth) {
                log::warn!("store budget: eviction failed: {e}");
                break;
            }
            used = self.disk_used();
        }
        let full = used > target;
        if full != self.store_full {
            if full {
                log::warn!(
                    "store budget: {used} bytes on disk, budget {}: refusing publishes into file streams until space is freed",
                    self.settings.store_max_bytes
                );
            } else {
                log::info!("store budget: back under the budget ({used} bytes on disk)");
            }
        }
        self.store_full = full;
    }

    /// The `discard: old` stream with messages that `eligible` accepts and the most `size`:
    /// the one a budget evicts from.
    fn victim(
        &self,
        eligible: impl Fn(&Stream) -> bool,
        size: fn(&Stream) -> u64,
    ) -> Option<usize> {
        self.slots
            .iter()
            .filter(|(_, s)| {
                s.stream.config().discard == Discard::Old
                    && s.stream.msg_count() > 0
                    && eligible(&s.stream)
            })
            .max_by_key(|(_, s)| size(&s.stream))
            .map(|(i, _)| i)
    }

    /// Removes the oldest `n` seqs of stream `id` (fewer messages where some are already
    /// deleted), counted and logged like a limit's removals (`evictions.rs`).
    fn evict_oldest(&mut self, id: usize, n: u64) -> Result<(), StoreError> {
        let slot = &mut self.slots[id];
        let st = slot.stream.state();
        let upto = st.first_seq + n.max(1);
        let removed = slot
            .stream
            .purge(None, Some(upto), None)
            .map_err(|e| StoreError::io(self.meta.path(), std::io::Error::other(e.description)))?;
        let ev = Evicted {
            first: st.first_seq,
            last: upto - 1,
            msgs: removed,
            bytes: st.bytes.saturating_sub(slot.stream.state().bytes),
        };
        slot.evicted_msgs += removed;
        self.stats.evicted += removed;
        slot.evictions.note(slot.stream.name(), ev, super::now());
        self.touch(id);
        Ok(())
    }
}
