//! A stream: its config, its message log (segment files or memory) and the in-memory indexes
//! that limits, dedupe and lookups need.
//!
//! Owns: stream limits (max_msgs, max_bytes, max_age, max_msg_size, max_msgs_per_subject,
//! discard old/new), the dedupe window, per-subject lookups, purge and message delete, and the
//! log itself (open, recovery report, group-commit plumbing, destroy).
//! Must not: know consumers, the router or sockets; read the clock (callers pass `now`); do
//! I/O except through the store. Hands off to: the engine, which decides when to sync, when
//! acks go out, when to call [`Stream::expire`] (see [`Stream::next_expiry`]), and logs the
//! evictions it takes with [`Stream::take_evictions`].
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Stream`]: open and rebuild, config, state, sync, destroy |
//! | `index.rs` | per-seq and per-subject index (memory cost in its header) |
//! | `dedupe.rs` | the `Nats-Msg-Id` window, capped at 100k ids |
//! | `publish.rs` | [`Stream::publish`]: size, expectations, dedupe, discard new, rollup |
//! | `limits.rs` | discard-old enforcement, the forwarding hold, eviction records |
//! | `expiry.rs` | `max_age`, `Nats-TTL` expiry, subject delete markers |
//! | `ttl.rs` | the per-message TTLs of live messages (memory cost in its header) |
//! | `purge.rs` | STREAM.PURGE and MSG.DELETE |
//! | `lookup.rs` | subject lookups and the [`MessageSource`] implementation |
//!
//! Indexes are rebuilt at open by reading every live message once (and the headers of those
//! inside the duplicate window).
//!
//! Timestamps are kept non-decreasing: a message published with a clock earlier than the
//! previous message's is stored with the previous timestamp, so time search stays a binary
//! search.

use std::cell::Cell;
use std::path::Path;

use super::config::StreamConfig;
use super::error::ApiError;
use super::expect::{parse_ttl, Ttl};
use super::headers::header_value;
use super::response::StreamState;
use super::time::Timestamp;
use crate::store::{
    CompactDone, CompactJob, Evicted, LogConfig, MemLog, MessageLog, SegmentLog, StoreError,
    StoredMsg, SyncHandle,
};

mod dedupe;
mod expiry;
mod index;
mod limits;
mod lookup;
mod publish;
mod purge;
mod ttl;

#[cfg(test)]
mod tests;

use dedupe::Dedupe;
use index::Index;

pub use dedupe::MAX_IDS as DEDUPE_MAX_IDS;
pub use limits::MAX_EVICTION_RANGES;

/// The outcome of a successful publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The stream sequence (for a duplicate: the original message's).
    pub seq: u64,
    /// `Nats-Msg-Id` was seen within the duplicate window; nothing was stored.
    pub duplicate: bool,
}

/// The log behind a stream.
#[derive(Debug)]
enum Backend {
    File(SegmentLog),
    Mem(MemLog),
}

/// One JetStream stream over its message log. See the module docs.
#[derive(Debug)]
pub struct Stream {
    config: StreamConfig,
    created: Timestamp,
    log: Backend,
    index: Index,
    dedupe: Dedupe,
    /// `Nats-Msg-Id` of the last stored message (empty if it had none).
    last_msg_id: Vec<u8>,
    /// Something was appended, deleted or evicted since the last sync handle.
    dirty: bool,
    /// Ranges removed by limits and age, not yet taken by the engine.
    evictions: Vec<Evicted>,
    /// Forwarded stream: the highest seq the hub has acknowledged. `max_msgs`, `max_bytes`
    /// and `max_age` never remove a record above it (the store's disk budget still may).
    hold: Option<u64>,
    /// Every live seq below this is `Nats-TTL: never` (a cache for `expiry.rs`).
    aging_from: Cell<u64>,
}

/// nanoseconds as the store keeps them.
fn ns(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

/// A store timestamp as a [`Timestamp`] (negative → "never").
fn ts(ns: i64) -> Timestamp {
    Timestamp(u64::try_from(ns).unwrap_or(0))
}

/// What [`index::Index::set_ttl`] records for a message stored at `stamp` with `ttl`:
/// `Some(expiry)`, `None` for `never`; `Seconds(0)` means no TTL and is never passed here.
fn ttl_expiry(ttl: Ttl, stamp: i64) -> Option<i64> {
    match ttl {
        Ttl::Never => None,
        Ttl::Seconds(s) => Some(
            stamp.saturating_add(
                i64::try_from(s)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000_000),
            ),
        ),
    }
}

/// A store failure as the API error a client sees: oversized → 10054, else 10077 (503).
fn api_err(e: StoreError) -> ApiError {
    match e {
        StoreError::RecordTooLarge { .. } => ApiError::message_size_exceeds(),
        other => ApiError::stream_store_failed(other.to_string()),
    }
}

impl Stream {
    /// Opens a stream. `dir = Some(path)`: file storage, a [`SegmentLog`] in `path` (created
    /// if missing, recovered if present: the recovery summary is logged, the indexes rebuilt
    /// from the log). `dir = None`: memory storage ([`MemLog`]). `config` is already
    /// normalised and validated.
    ///
    /// # Errors
    /// The log cannot be opened or read back.
    pub fn open(
        config: StreamConfig,
        created: Timestamp,
        dir: Option<&Path>,
        log: LogConfig,
        now: Timestamp,
    ) -> Result<Stream, StoreError> {
        let backend = match dir {
            Some(path) => {
                let (seg, rec) = SegmentLog::open(path, log)?;
                if rec.quarantined.is_empty() && rec.gaps.is_empty() {
                    log::info!(
                        "stream {}: recovered {} records in {} segments ({} bytes of torn tail cut)",
                        config.name,
                        rec.records,
                        rec.segments,
                        rec.bytes_truncated - rec.zero_tail
                    );
                } else {
                    // Damage only at the very end of the log, nothing missing after it: the
                    // shape a power cut leaves when the kernel wrote back some pages of the
                    // unsynced tail and not others.
                    let tail_only = rec.gaps.is_empty()
                        && rec
                            .quarantined
                            .iter()
                            .all(|q| q.kept_until == seg.last_seq() + 1);
                    let hint = if tail_only {
                        "; only the newest records' tail: after a power cut this is usually data written but not yet synced, which sync = batch and always never acknowledged"
                    } else {
                        ""
                    };
                    log::warn!(
                        "stream {}: recovered {} records in {} segments with damage: {} bytes cut, quarantined {:?}, missing seq ranges {:?}{hint}",
                        config.name,
                        rec.records,
                        rec.segments,
                        rec.bytes_truncated,
                        rec.quarantined,
                        rec.gaps
                    );
                }
                Backend::File(seg)
            }
            None => Backend::Mem(MemLog::new(log.max_record, 1)),
        };
        let mut stream = Stream {
            config,
            created,
            log: backend,
            index: Index::default(),
            dedupe: Dedupe::new(dedupe::MAX_IDS),
            last_msg_id: Vec::new(),
            dirty: false,
            evictions: Vec::new(),
            hold: None,
            aging_from: Cell::new(0),
        };
        stream.rebuild(ns(now))?;
        Ok(stream)
    }

    /// Reads every live message once to fill the index, the dedupe window and the last id.
    fn rebuild(&mut self, now: i64) -> Result<(), StoreError> {
        let window_start = now.saturating_sub(self.config.duplicate_window);
        let last = self.log().last_seq();
        let mut index = Index::default();
        let mut dedupe = Dedupe::new(dedupe::MAX_IDS);
        let mut last_msg_id = Vec::new();
        let ttls = self.config.allow_msg_ttl;
        self.log().scan_live(&mut |m| {
            let size = crate::store::record::encoded_len(
                m.subject.len(),
                m.headers.len(),
                m.payload.len(),
            ) as u64;
            let stamp = m.timestamp_ns.max(index.last_ts());
            index.insert(m.seq, m.subject, stamp, size);
            if ttls {
                if let Some(ttl) = header_value(m.headers, "Nats-TTL")
                    .and_then(parse_ttl)
                    .filter(|t| t.is_set())
                {
                    index.set_ttl(m.seq, ttl_expiry(ttl, stamp));
                }
            }
            let id = header_value(m.headers, "Nats-Msg-Id").filter(|v| !v.is_empty());
            if let Some(id) = id.filter(|_| m.timestamp_ns >= window_start) {
                dedupe.insert(id, m.seq, m.timestamp_ns);
            }
            if m.seq == last {
                last_msg_id = id.map(<[u8]>::to_vec).unwrap_or_default();
            }
        })?;
        self.index = index;
        self.aging_from.set(0);
        self.dedupe = dedupe;
        self.last_msg_id = last_msg_id;
        Ok(())
    }

    fn log(&self) -> &dyn MessageLog {
        match &self.log {
            Backend::File(l) => l,
            Backend::Mem(l) => l,
        }
    }

    fn log_mut(&mut self) -> &mut dyn MessageLog {
        match &mut self.log {
            Backend::File(l) => l,
            Backend::Mem(l) => l,
        }
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The current (normalised) config.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// When the stream was created.
    pub fn created(&self) -> Timestamp {
        self.created
    }

    /// Applies a validated new config; shrunk limits are enforced now (the removals are
    /// reported by [`Stream::take_evictions`]); `max_age` is left to the next `expire`.
    ///
    /// # Errors
    /// The store failed while removing messages.
    pub fn update(&mut self, config: StreamConfig, now: Timestamp) -> Result<(), ApiError> {
        self.config = config;
        self.dedupe
            .expire(ns(now).saturating_sub(self.config.duplicate_window));
        self.enforce_all_limits()
    }

    /// Live messages held (cheap; [`Stream::state`] has the rest).
    pub fn msg_count(&self) -> u64 {
        self.log().msgs()
    }

    /// The state for STREAM.INFO (`consumer_count` 0 and `subjects` unset: the engine fills
    /// them).
    pub fn state(&self) -> StreamState {
        let log = self.log();
        let (msgs, last) = (log.msgs(), log.last_seq());
        let first = self.index.first().unwrap_or(last + 1);
        StreamState {
            messages: msgs,
            bytes: log.bytes(),
            first_seq: if last == 0 { 0 } else { first },
            first_ts: self.index.first_ts().map_or(Timestamp(0), ts),
            last_seq: last,
            last_ts: ts(self.index.last_ts()),
            num_subjects: self.index.num_subjects(),
            subjects: None,
            num_deleted: if msgs == 0 {
                0
            } else {
                (last + 1 - first).saturating_sub(msgs)
            },
            consumer_count: 0,
        }
    }

    /// Reads live message `seq`.
    ///
    /// # Errors
    /// The store failed to read (10077).
    pub fn get(&self, seq: u64) -> Result<Option<StoredMsg>, ApiError> {
        if self.index.meta(seq).is_none() {
            return Ok(None);
        }
        self.log().get(seq).map_err(api_err)
    }

    /// Takes a group-commit handle covering everything appended, deleted or evicted so far;
    /// `None` when nothing changed since the last one, or for memory storage.
    ///
    /// # Errors
    /// Writing the user-space buffer failed.
    pub fn begin_sync(&mut self) -> Result<Option<SyncHandle>, StoreError> {
        match &mut self.log {
            Backend::File(l) if self.dirty => {
                self.dirty = false;
                l.sync_handle().map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Records that a handle from [`Stream::begin_sync`] returned `seq`.
    pub fn synced(&mut self, seq: u64) {
        if let Backend::File(l) = &mut self.log {
            l.synced(seq);
        }
    }

    /// Syncs on this thread (sync = always, shutdown); returns the durable seq.
    ///
    /// # Errors
    /// An I/O error; the stream must then be reopened before acking anything more.
    pub fn sync_now(&mut self) -> Result<u64, StoreError> {
        self.dirty = false;
        self.log_mut().sync()
    }

    /// Highest seq known durable (memory storage: the last seq).
    pub fn durable_seq(&self) -> u64 {
        match &self.log {
            Backend::File(l) => l.durable_seq(),
            Backend::Mem(l) => l.last_seq(),
        }
    }

    /// Moves buffered appends to the OS (sync = interval).
    ///
    /// # Errors
    /// A write failed.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.log_mut().flush()
    }

    /// Ranges removed by limits or age (not by purge or delete) since the last call, oldest
    /// first, adjacent ones merged.
    pub fn take_evictions(&mut self) -> Vec<Evicted> {
        std::mem::take(&mut self.evictions)
    }

    /// A compaction job for one of the stream's partly deleted segments, if one is due
    /// (file storage only; at most one at a time). Run it off the event loop, then hand the
    /// result to [`Stream::finish_compaction`].
    pub fn compaction_job(&mut self) -> Option<CompactJob> {
        match &mut self.log {
            Backend::File(l) => l.compaction_job(),
            Backend::Mem(_) => None,
        }
    }

    /// Swaps a compacted segment in; returns the bytes given back.
    ///
    /// # Errors
    /// The job or the rename failed (the old segment stays).
    pub fn finish_compaction(&mut self, done: CompactDone) -> Result<u64, StoreError> {
        match &mut self.log {
            Backend::File(l) => l.finish_compaction(done),
            Backend::Mem(_) => Ok(0),
        }
    }

    /// What the stream's files occupy on disk (0 for memory storage, or if it cannot be read:
    /// that failure is logged).
    pub fn disk_bytes(&self) -> u64 {
        match &self.log {
            Backend::File(l) => l.disk_bytes().unwrap_or_else(|e| {
                log::warn!("stream {}: disk usage unknown: {e}", self.config.name);
                0
            }),
            Backend::Mem(_) => 0,
        }
    }

    /// Stream delete: closes the log and removes its directory (memory: drops it).
    ///
    /// # Errors
    /// Removing the directory failed.
    pub fn destroy(self) -> Result<(), StoreError> {
        if let Backend::File(l) = self.log {
            let dir = l.dir().to_path_buf();
            drop(l);
            std::fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        Ok(())
    }
}
