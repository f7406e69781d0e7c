//! The JetStream engine: every stream and its consumers, the `$JS.API` dispatch, capture of
//! publishes into streams, and pub-acks held back until group commit has made them durable.
//!
//! Owns: the stream table (by name, plus a sublist from stream subjects to streams), the
//! consumers of each stream, the acks waiting for a sync, the metadata store handle and the
//! output queue of messages for the router to deliver. Must not: touch sockets, block on a
//! sync in `batch` mode, or hold anything unbounded (streams, consumers and waiting acks are
//! capped by config). Hands off to: the router ([`JetStream::take_output`]) and the server's
//! sync and timer tasks ([`JetStream::take_sync_jobs`], [`JetStream::tick`]).
//!
//! | file | holds |
//! |---|---|
//! | `streams` | `STREAM.*` and `$JS.API.INFO` requests, `DIRECT.GET` |
//! | `consumers` | `CONSUMER.*` requests, `MSG.NEXT`, acks on `$JS.ACK.…` |
//! | `commit` | publishes into streams, pending acks, sync jobs and their completion |
//! | `persist` | what goes into the metadata store and how the engine is rebuilt from it |
//! | `budget` | the store's disk budget: measuring, evicting, refusing |
//! | `monitor` | read-only snapshots for the HTTP monitor: streams, consumers, store use, health |
//! | `evictions` | logging what limits removed: once, then a summary per 10 s |
//! | `push` | push consumers' subscriber interest and flow-control replies |
//! | `interest` | interest retention: when acknowledged messages go |
//! | [`forward`] | what the uplink's forwarders read: records, identities, cursors, holds |
//!
//! # Life of a publish into a stream
//! `on_publish` finds the stream through the capture sublist, `Stream::publish` appends it
//! (or reports a duplicate or an error), and the pub-ack waits in the stream's `pending`
//! queue. The server's sync task calls `take_sync_jobs` (one `SyncHandle` per stream with
//! unsynced appends), runs them off the event loop, and reports back with `sync_done`, which
//! releases every ack whose seq is now durable. In `interval` mode the job is a `flush` to
//! the page cache done inline and the real fsync runs on a timer; in `always` mode each
//! append is synced inline before its ack.

mod budget;
mod commit;
mod consumers;
mod evictions;
pub mod forward;
mod interest;
mod monitor;
mod persist;
mod push;
mod streams;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use slab::Slab;

use crate::config::SyncMode;
use crate::store::meta::MetaStore;
use crate::store::{LogConfig, StoreError};
use crate::sublist::Sublist;

use super::api::{parse_api_subject, ApiRequest};
use super::consumer::Consumer;
use super::error::ApiError;
use super::response;
use super::source::Outgoing;
use super::stream::Stream;
use super::time::Timestamp;

pub use commit::{SyncJob, SyncOutcome};
pub use monitor::{StoreSnapshot, StreamSnapshot};

/// Where the engine keeps its files and how hard it tries to keep them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The store directory (`[store] dir`); streams live in `streams/<name>`, metadata in `meta`.
    pub dir: PathBuf,
    /// When pub-acks go out (`[store] sync`).
    pub sync: SyncMode,
    /// How often `interval` mode fsyncs.
    pub sync_interval: Duration,
    /// sled cache for metadata, bytes.
    pub meta_cache: u64,
    /// Segment sizes and record limits of every stream log.
    pub log: LogConfig,
    /// Most streams at once.
    pub max_streams: usize,
    /// Most consumers at once, over all streams.
    pub max_consumers: usize,
    /// Most pub-acks waiting for a sync at once; publishes past it are refused (10023)
    /// until the disk catches up.
    pub max_pending_acks: usize,
    /// The server name shown as the stream's cluster leader.
    pub server_name: String,
    /// What the store directory may occupy on disk (`[store] max_bytes`).
    pub store_max_bytes: u64,
    /// Most messages all streams may hold together (`[store] max_msgs`).
    pub store_max_msgs: u64,
    /// Streams the uplink forwards (`[[uplink.forward]]`): from the moment they exist, their
    /// own limits never remove a record the hub has not acknowledged.
    pub forwarded: Vec<String>,
}

/// Dense id of a stream (a slab index), what the capture sublist stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct StreamId(u32);

/// A pub-ack waiting until its seq is durable.
#[derive(Debug)]
struct PendingAck {
    seq: u64,
    reply: Box<[u8]>,
    duplicate: bool,
}

/// One stream with everything hanging off it.
#[derive(Debug)]
struct Slot {
    stream: Stream,
    consumers: BTreeMap<String, Consumer>,
    /// Acks in seq order, released by `sync_done`.
    pending: VecDeque<PendingAck>,
    /// A sync job for this stream is running.
    syncing: bool,
    /// A compaction job for this stream is running.
    compacting: bool,
    /// Changed since the last sync job was taken.
    unsynced: bool,
    /// Appended to since the last flush (`interval` mode releases acks on flush).
    unflushed: bool,
    /// Writing failed; publishes are refused until then (and the disk tried again).
    disk_error_until: Option<Timestamp>,
    /// Messages evicted by limits, for the log and monitoring.
    evicted_msgs: u64,
    /// What limits removed, not yet logged.
    evictions: evictions::EvictionLog,
}

/// Counters for `$JS.API.INFO` and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// API requests answered.
    pub api_total: u64,
    /// API requests answered with an error.
    pub api_errors: u64,
    /// Messages stored.
    pub stored: u64,
    /// Messages evicted by limits.
    pub evicted: u64,
}

/// Why the engine could not start.
#[derive(Debug)]
pub enum EngineError {
    /// The metadata store or a stream's files could not be opened.
    Store(StoreError),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Store(e) => write!(f, "jetstream store: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        EngineError::Store(e)
    }
}

/// All JetStream state.
#[derive(Debug)]
pub struct JetStream {
    settings: Settings,
    meta: MetaStore,
    slots: Slab<Slot>,
    by_name: BTreeMap<String, usize>,
    capture: Sublist<StreamId>,
    out: Vec<Outgoing>,
    /// Acks waiting over all streams (bounded by `max_pending_acks`).
    pending_total: usize,
    /// Consumers over all streams (bounded by `max_consumers`).
    consumer_total: usize,
    /// Some consumer may have state to persist.
    consumers_dirty: bool,
    /// Consumer states are written at most once per [`CONSUMER_PERSIST_EVERY`] (sooner when a
    /// double ack waits for them).
    next_consumer_persist: Timestamp,
    /// The metadata store has writes that are not synced yet.
    meta_dirty: bool,
    /// Double-ack replies waiting for the next metadata sync to be taken.
    held_acks: Vec<Outgoing>,
    /// Double-ack replies released when the running metadata sync completes.
    meta_acks_in_flight: Vec<Outgoing>,
    /// The store is over its disk budget and nothing more can be evicted.
    store_full: bool,
    /// The streams hold `store_max_msgs` and nothing more can be evicted.
    msgs_full: bool,
    /// Bytes appended to file streams since the store was last measured.
    appended_since_check: u64,
    /// Messages stored since the streams' message total was last counted.
    stored_since_count: u64,
    /// Whether `store_max_msgs` has made room by eviction since leafd started (logged once).
    msgs_cap_hit: bool,
    /// Whether `store_max_bytes` has made room by eviction since leafd started (logged once).
    disk_cap_hit: bool,
    /// `interval` mode: when the next real fsync is due.
    next_interval_sync: Option<Timestamp>,
    stats: EngineStats,
}

/// How often consumer states are written when nothing waits for them. Losing the latest
/// write to a crash only makes a consumer redeliver; a double ack's reply waits for it.
pub const CONSUMER_PERSIST_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// `next = min(next, t)`.
fn consider_at(next: &mut Option<Timestamp>, t: Timestamp) {
    *next = Some(next.map_or(t, |n| n.min(t)));
}

/// The wall clock as a [`Timestamp`].
pub fn now() -> Timestamp {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    Timestamp(ns)
}

/// Whether `subject` may concern JetStream at all: the API, acks. Cheap pre-check.
fn is_js_subject(subject: &[u8]) -> bool {
    subject.starts_with(b"$JS.")
}

impl JetStream {
    /// Opens the metadata store and every stream recorded in it.
    ///
    /// # Errors
    /// The metadata store cannot be opened. A stream whose files cannot be opened is
    /// logged and skipped, not fatal: the rest of the broker still serves.
    pub fn open(settings: Settings) -> Result<JetStream, EngineError> {
        std::fs::create_dir_all(settings.dir.join("streams"))
            .map_err(|e| StoreError::io(&settings.dir, e))?;
        let meta = MetaStore::open(&settings.dir, settings.meta_cache)?;
        let mut js = JetStream {
            settings,
            meta,
            slots: Slab::new(),
            by_name: BTreeMap::new(),
            capture: Sublist::new(256),
            out: Vec::new(),
            pending_total: 0,
            consumer_total: 0,
            consumers_dirty: false,
            next_consumer_persist: Timestamp(0),
            meta_dirty: false,
            next_interval_sync: None,
            held_acks: Vec::new(),
            meta_acks_in_flight: Vec::new(),
            store_full: false,
            msgs_full: false,
            appended_since_check: 0,
            stored_since_count: 0,
            msgs_cap_hit: false,
            disk_cap_hit: false,
            stats: EngineStats::default(),
        };
        js.restore(now())?;
        js.enforce_budget();
        Ok(js)
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Number of streams.
    pub fn stream_count(&self) -> usize {
        self.slots.len()
    }

    /// A message published by a client (or the uplink). Returns `true` when JetStream
    /// answers it (an API request it serves, a publish captured by a stream, an ack), so the
    /// router must not send a no-responders status for it.
    pub fn on_publish(
        &mut self,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
        now: Timestamp,
    ) -> bool {
        if is_js_subject(subject) {
            if let Some(req) = parse_api_subject(subject) {
                return self.api(subject, req, reply, headers, payload, now);
            }
            if subject.starts_with(b"$JS.ACK.") {
                return self.on_ack(subject, reply, payload, now);
            }
            if let Some(rest) = subject.strip_prefix(b"$JS.FC.".as_slice()) {
                return self.on_flow_control(rest, now);
            }
        }
        self.capture_publish(subject, reply, headers, payload, now)
    }

    /// Moves the messages the engine wants delivered into `into`.
    pub fn take_output(&mut self, into: &mut Vec<Outgoing>) {
        into.append(&mut self.out);
    }

    /// Whether there is output waiting.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// One API request. Returns whether it was answered (requests without a reply, or
    /// unknown ones, are not; nor is a pull to a missing consumer, which gets the router's
    /// no-responders status as from nats-server).
    fn api(
        &mut self,
        subject: &[u8],
        req: ApiRequest<'_>,
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
        now: Timestamp,
    ) -> bool {
        let Some(reply) = reply else {
            return false;
        };
        let kind = req.response_type();
        // A push consumer starts delivering once its create reply is out.
        let created_in = match &req {
            ApiRequest::ConsumerCreate { stream, .. } => self.by_name.get(*stream).copied(),
            _ => None,
        };
        let result: Result<Option<Vec<u8>>, ApiError> = match req {
            ApiRequest::Unknown => return false,
            ApiRequest::ConsumerMsgNext { stream, consumer } => {
                return self.pull(stream, consumer, reply, payload, now);
            }
            ApiRequest::DirectGet { stream, subject: s } => {
                return self.direct_get(subject, stream, s, reply, payload);
            }
            ApiRequest::ConsumerCreate {
                stream,
                consumer,
                filter,
                legacy_durable,
            } => self
                .consumer_create(stream, consumer, filter, legacy_durable, payload, now)
                .map(Some),
            ApiRequest::ConsumerInfo { stream, consumer } => {
                self.consumer_info(stream, consumer, payload, now).map(Some)
            }
            ApiRequest::ConsumerDelete { stream, consumer } => {
                self.consumer_delete(stream, consumer, payload).map(Some)
            }
            ApiRequest::ConsumerNames { stream } => self.consumer_names(stream, payload).map(Some),
            ApiRequest::ConsumerList { stream } => {
                self.consumer_list(stream, payload, now).map(Some)
            }
            other => self.stream_api(other, headers, payload, now).map(Some),
        };
        self.stats.api_total += 1;
        let body = match result {
            Ok(Some(body)) => body,
            Ok(None) => return true,
            Err(err) => {
                self.stats.api_errors += 1;
                log::debug!(
                    "jetstream: {} -> {} {}",
                    String::from_utf8_lossy(subject),
                    err.err_code,
                    err.description
                );
                response::error_response(kind.unwrap_or("api"), &err)
            }
        };
        self.out.push(Outgoing::reply(reply, body));
        if let Some(id) = created_in {
            self.poll_consumers(id, now);
        }
        true
    }

    /// Timers: consumer deadlines (redelivery, request expiry, heartbeats), ephemeral
    /// consumer expiry, max_age. Call when [`JetStream::next_deadline`] has passed.
    pub fn tick(&mut self, now: Timestamp, interest: &mut dyn FnMut(&[u8]) -> bool) {
        self.refresh_push_interest(now, interest);
        let ids: Vec<usize> = self.slots.iter().map(|(i, _)| i).collect();
        for id in ids {
            self.expire_stream(id, now);
            self.poll_consumers(id, now);
            self.reap_consumers(id, now);
        }
        if self.store_refusing() {
            self.enforce_budget();
        }
        self.flush_eviction_logs(now);
    }

    /// The earliest moment [`JetStream::tick`] has work.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let mut next: Option<Timestamp> = self.interval_deadline();
        // A write already due is the sync task's, woken when the state changed.
        if self.consumers_dirty && self.next_consumer_persist > now() {
            consider_at(&mut next, self.next_consumer_persist);
        }
        if self.store_refusing() {
            // Look again for freed space once a second.
            let again = Timestamp(now().0.saturating_add(1_000_000_000));
            next = Some(next.map_or(again, |n| n.min(again)));
        }
        if let Some(t) = self.eviction_log_deadline() {
            consider_at(&mut next, t);
        }
        let mut consider = |t: Option<Timestamp>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for (_, slot) in &self.slots {
            consider(slot.stream.next_expiry());
            for c in slot.consumers.values() {
                consider(c.next_deadline());
            }
        }
        next
    }

    /// Removes messages past max_age from stream `id`.
    fn expire_stream(&mut self, id: usize, now: Timestamp) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        if slot.stream.next_expiry().is_some_and(|t| t <= now) {
            match slot.stream.expire(now) {
                Ok(0) => {}
                Ok(_) => self.touch(id),
                Err(e) => log::warn!(
                    "stream {}: expiring old messages failed: {}",
                    slot.stream.name(),
                    e.description
                ),
            }
            self.note_evictions(id);
        }
    }

    /// Lets the consumers of stream `id` deliver what they can.
    pub(super) fn poll_consumers(&mut self, id: usize, now: Timestamp) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let Slot {
            stream, consumers, ..
        } = slot;
        let before = self.out.len();
        for c in consumers.values_mut() {
            c.poll(stream, now, &mut self.out);
        }
        if self.out.len() != before {
            self.consumers_dirty = true;
            // Deliveries to `ack_policy: none` consumers count as acknowledgements.
            self.release_interest(id, &[]);
        }
    }

    /// Stream `id` by name.
    fn slot_id(&self, name: &str) -> Result<usize, ApiError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(ApiError::stream_not_found)
    }
}
