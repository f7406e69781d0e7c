//! Publishes into streams and group commit: the append, the pub-ack held until its record
//! is durable, the sync jobs the server runs off the event loop, and what their results
//! release.
//!
//! Owns: the `sync` modes' meaning (see `config::SyncMode`), the pending-ack queues and
//! their bound, persisting dirty consumer states once per sync round. Hands off to: the
//! server's sync task ([`SyncJob::run`] on a blocking thread), `Stream` for the data.

use crate::config::SyncMode;
use crate::store::meta::MetaSync;
use crate::store::{CompactDone, CompactJob, StoreError, SyncHandle};

use super::super::error::ApiError;
use super::super::policy::Storage;
use super::super::pub_ack::{pub_ack, pub_ack_error};
use super::super::source::Outgoing;
use super::super::stream::Stream;
use super::super::time::Timestamp;
use super::streams::store_failed;
use super::{JetStream, PendingAck, StreamId};

/// Whether a publish failed in the store itself (10077 with the store's reason), not on a
/// limit (10077 too, with `maximum …` texts): the stream must then be reopened.
fn is_disk_error(err: &ApiError) -> bool {
    err.err_code == 10077 && !err.description.starts_with("maximum")
}

/// How long publishes into a stream are refused after its disk write failed.
const DISK_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Blocking durability work for one stream (or the metadata store), `Send` so it runs on
/// a blocking thread.
#[derive(Debug)]
pub struct SyncJob {
    target: Target,
    work: Work,
}

#[derive(Debug, Clone)]
enum Target {
    Stream { id: usize, name: String },
    Meta,
}

#[derive(Debug)]
enum Work {
    Stream(SyncHandle),
    Meta(MetaSync),
    Compact(CompactJob),
}

/// What a [`SyncJob`] did, to hand back to [`JetStream::sync_done`].
#[derive(Debug)]
pub struct SyncOutcome {
    target: Target,
    result: Result<u64, StoreError>,
    /// A compaction's new file, to swap in on the loop thread.
    compacted: Option<CompactDone>,
}

impl SyncJob {
    /// fdatasyncs the files (blocking).
    pub fn run(self) -> SyncOutcome {
        let (result, compacted) = match self.work {
            Work::Stream(h) => (h.run(), None),
            Work::Meta(m) => (m.run().map(|()| 0), None),
            Work::Compact(c) => (Ok(0), Some(c.run())),
        };
        SyncOutcome {
            target: self.target,
            result,
            compacted,
        }
    }
}

impl JetStream {
    /// A publish on a subject some stream captures: store it and queue (or send) its ack.
    /// Returns `false` when no stream captures `subject`.
    pub(super) fn capture_publish(
        &mut self,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
        now: Timestamp,
    ) -> bool {
        let matches = self.capture.matches(subject);
        let Some(&StreamId(id)) = matches.plain.first() else {
            return false;
        };
        let id = id as usize;
        let Some(slot) = self.slots.get_mut(id) else {
            return false;
        };
        let reply = reply.filter(|_| !slot.stream.config().no_ack);
        if slot.disk_error_until.is_some_and(|t| now < t) {
            let err = ApiError::storage_resources_exceeded();
            self.push_ack_error(id, reply, &err);
            return true;
        }
        if let Some(err) = self.budget_refusal(id) {
            self.push_ack_error(id, reply, &err);
            return true;
        }
        let Some(slot) = self.slots.get_mut(id) else {
            return false;
        };
        if reply.is_some() && self.pending_total >= self.settings.max_pending_acks {
            // The disk is behind by a whole window of acks: refuse rather than queue more.
            let err = ApiError::insufficient_resources();
            self.push_ack_error(id, reply, &err);
            return true;
        }
        let result = slot.stream.publish(subject, headers, payload, now);
        match result {
            Ok(p) => {
                if !p.duplicate {
                    self.stats.stored += 1;
                    self.touch(id);
                    if self.slots[id].stream.config().storage == Storage::File {
                        let size = subject.len() + headers.map_or(0, <[u8]>::len) + payload.len();
                        self.account_append(size as u64 + 32);
                    }
                    self.account_msg();
                }
                self.note_evictions(id);
                if let Some(reply) = reply {
                    self.queue_ack(id, p.seq, reply, p.duplicate);
                }
                if !p.duplicate {
                    self.poll_consumers(id, now);
                    // No consumer wants it: an interest stream keeps nothing.
                    self.release_interest(id, &[p.seq]);
                }
            }
            Err(err) => {
                log::debug!(
                    "stream {}: publish to {} refused: {} {}",
                    slot.stream.name(),
                    String::from_utf8_lossy(subject),
                    err.err_code,
                    err.description
                );
                self.push_ack_error(id, reply, &err);
                if is_disk_error(&err) {
                    let e = StoreError::io(
                        std::path::Path::new(self.slots[id].stream.name()),
                        std::io::Error::other(err.description.to_string()),
                    );
                    self.disk_failed(id, &e, now);
                }
            }
        }
        true
    }

    fn push_ack_error(&mut self, id: usize, reply: Option<&[u8]>, err: &ApiError) {
        if let (Some(reply), Some(slot)) = (reply, self.slots.get(id)) {
            let body = pub_ack_error(slot.stream.name(), err);
            self.out.push(Outgoing::reply(reply, body));
        }
    }

    /// Sends the ack now if `seq` is already durable under the sync mode, else queues it.
    fn queue_ack(&mut self, id: usize, seq: u64, reply: &[u8], duplicate: bool) {
        let slot = &mut self.slots[id];
        if self.settings.sync == SyncMode::Always && slot.stream.durable_seq() < seq {
            if let Err(e) = slot.stream.sync_now() {
                log::error!("stream {}: sync failed: {e}", slot.stream.name());
                let err = store_failed(&e);
                self.push_ack_error(id, Some(reply), &err);
                return;
            }
        }
        let slot = &mut self.slots[id];
        if slot.pending.is_empty() && slot.stream.durable_seq() >= seq {
            let body = pub_ack(slot.stream.name(), None, seq, duplicate);
            self.out.push(Outgoing::reply(reply, body));
            return;
        }
        slot.pending.push_back(PendingAck {
            seq,
            reply: reply.into(),
            duplicate,
        });
        self.pending_total += 1;
    }

    /// Marks stream `id` as changed on disk (append, delete, purge, eviction).
    pub(super) fn touch(&mut self, id: usize) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.unsynced = true;
            slot.unflushed = true;
        }
    }

    /// `interval` mode: whether the periodic fsync is due.
    fn fsync_due(&self, now: Timestamp) -> bool {
        self.settings.sync != SyncMode::Interval || self.next_interval_sync.is_none_or(|t| t <= now)
    }

    /// Whether the sync task has something to do now.
    pub fn wants_sync(&self, now: Timestamp) -> bool {
        if self.meta_dirty || !self.held_acks.is_empty() {
            return true;
        }
        if self.consumers_dirty && now >= self.next_consumer_persist {
            return true;
        }
        let due = self.fsync_due(now);
        self.slots
            .iter()
            .any(|(_, s)| !s.syncing && (s.unflushed || (s.unsynced && due)))
    }

    /// When the periodic fsync of `interval` mode next has work, if it has.
    pub(super) fn interval_deadline(&self) -> Option<Timestamp> {
        if self.settings.sync != SyncMode::Interval {
            return None;
        }
        let pending = self.slots.iter().any(|(_, s)| s.unsynced && !s.syncing);
        pending.then(|| self.next_interval_sync.unwrap_or_default())
    }

    /// Takes the durability work due now: one job per changed stream (with no job in
    /// flight), plus the metadata store if consumer states changed. In `interval` mode a
    /// stream is flushed to the OS here and its acks released; its fsync job is only
    /// returned once the interval is due.
    pub fn take_sync_jobs(&mut self, now: Timestamp) -> Vec<SyncJob> {
        if (!self.held_acks.is_empty() || now >= self.next_consumer_persist)
            && self.persist_consumers()
        {
            let step = u64::try_from(super::CONSUMER_PERSIST_EVERY.as_nanos()).unwrap_or(0);
            self.next_consumer_persist = Timestamp(now.0.saturating_add(step));
        }
        if self.meta_dirty {
            self.meta_acks_in_flight.append(&mut self.held_acks);
        } else {
            // Nothing to persist for them (ephemeral or memory consumers): done now.
            self.out.append(&mut self.held_acks);
        }
        let interval = self.settings.sync == SyncMode::Interval;
        let due = self.fsync_due(now);
        let mut jobs = Vec::new();
        let ids: Vec<usize> = self.slots.iter().map(|(i, _)| i).collect();
        for id in ids {
            let slot = &mut self.slots[id];
            if slot.syncing || !(slot.unflushed || slot.unsynced) {
                continue;
            }
            if interval {
                slot.unflushed = false;
                if let Err(e) = slot.stream.flush() {
                    self.disk_failed(id, &e, now);
                    continue;
                }
                let last = slot.stream.state().last_seq;
                self.release(id, last);
                if !due {
                    continue;
                }
            }
            let slot = &mut self.slots[id];
            slot.unflushed = false;
            slot.unsynced = false;
            match slot.stream.begin_sync() {
                Ok(Some(handle)) => {
                    slot.syncing = true;
                    jobs.push(SyncJob {
                        target: Target::Stream {
                            id,
                            name: slot.stream.name().to_owned(),
                        },
                        work: Work::Stream(handle),
                    });
                }
                Ok(None) => {
                    let durable = slot.stream.durable_seq();
                    self.release(id, durable);
                }
                Err(e) => self.disk_failed(id, &e, now),
            }
        }
        // Compaction rides in the same batch, after the syncs (one segment per stream).
        let ids: Vec<usize> = self.slots.iter().map(|(i, _)| i).collect();
        for id in ids {
            let slot = &mut self.slots[id];
            if slot.compacting {
                continue;
            }
            if let Some(job) = slot.stream.compaction_job() {
                slot.compacting = true;
                jobs.push(SyncJob {
                    target: Target::Stream {
                        id,
                        name: slot.stream.name().to_owned(),
                    },
                    work: Work::Compact(job),
                });
            }
        }
        if interval && due && jobs.iter().any(|j| matches!(j.work, Work::Stream(_))) {
            let step = u64::try_from(self.settings.sync_interval.as_nanos()).unwrap_or(u64::MAX);
            self.next_interval_sync = Some(Timestamp(now.0.saturating_add(step)));
        }
        if self.meta_dirty {
            self.meta_dirty = false;
            jobs.push(SyncJob {
                target: Target::Meta,
                work: Work::Meta(self.meta.sync_handle()),
            });
        }
        jobs
    }

    /// Applies what the sync jobs did: releases acks that are durable now; on a failed
    /// fsync answers the waiting acks with an error and reopens the stream so recovery
    /// decides what is really on disk.
    pub fn sync_done(&mut self, outcomes: Vec<SyncOutcome>, now: Timestamp) {
        for o in outcomes {
            if let Some(done) = o.compacted {
                self.compaction_done(o.target, done);
                continue;
            }
            match (o.target, o.result) {
                (Target::Meta, Ok(_)) => self.out.append(&mut self.meta_acks_in_flight),
                (Target::Meta, Err(e)) => {
                    log::error!("metadata sync failed: {e}; will retry");
                    self.meta_dirty = true;
                    self.held_acks.append(&mut self.meta_acks_in_flight);
                }
                (Target::Stream { id, name }, result) => {
                    let Some(slot) = self.slots.get_mut(id) else {
                        continue;
                    };
                    if slot.stream.name() != name {
                        continue; // deleted (and the slot reused) while syncing
                    }
                    slot.syncing = false;
                    match result {
                        Ok(seq) => {
                            slot.stream.synced(seq);
                            if slot.disk_error_until.take().is_some() {
                                log::warn!("stream {name}: writing to disk works again");
                            }
                            self.release(id, seq);
                        }
                        Err(e) => self.disk_failed(id, &e, now),
                    }
                }
            }
        }
    }

    /// Swaps a compacted segment into its stream (if the stream is still there).
    fn compaction_done(&mut self, target: Target, done: CompactDone) {
        let Target::Stream { id, name } = target else {
            return;
        };
        let Some(slot) = self.slots.get_mut(id).filter(|s| s.stream.name() == name) else {
            // The stream went away: the job's temporary file is removed at its next open
            // (or with its directory).
            return;
        };
        slot.compacting = false;
        match slot.stream.finish_compaction(done) {
            Ok(0) => {}
            Ok(saved) => {
                slot.unsynced = true; // the rename reaches the disk with the next sync
                log::debug!("stream {name}: compaction gave back {saved} bytes");
            }
            Err(e) => log::warn!("stream {name}: compaction failed: {e}"),
        }
    }

    /// Sends every queued ack with seq ≤ `durable`.
    fn release(&mut self, id: usize, durable: u64) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        while slot.pending.front().is_some_and(|a| a.seq <= durable) {
            let Some(ack) = slot.pending.pop_front() else {
                break;
            };
            self.pending_total -= 1;
            let body = pub_ack(slot.stream.name(), None, ack.seq, ack.duplicate);
            self.out.push(Outgoing::reply(&ack.reply, body));
        }
    }

    /// Answers every queued ack of stream `id` with the store error.
    fn fail_pending(&mut self, id: usize, e: &StoreError) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let err = store_failed(e);
        let name = slot.stream.name().to_owned();
        for ack in slot.pending.drain(..) {
            self.pending_total -= 1;
            self.out
                .push(Outgoing::reply(&ack.reply, pub_ack_error(&name, &err)));
        }
    }

    /// A write or fsync of stream `id` failed (disk full, I/O error): the waiting acks get
    /// the error, the stream is reopened so recovery decides what is really on disk (the
    /// kernel may have dropped the dirty pages), and publishes are refused for a second
    /// before the disk is tried again. Core pub/sub is not affected.
    fn disk_failed(&mut self, id: usize, e: &StoreError, now: Timestamp) {
        self.fail_pending(id, e);
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        if slot.disk_error_until.is_none() {
            log::error!(
                "stream {}: writing to disk failed: {e}; refusing publishes and retrying every {DISK_RETRY:?}",
                slot.stream.name()
            );
        }
        slot.disk_error_until = Some(Timestamp(
            now.0
                .saturating_add(u64::try_from(DISK_RETRY.as_nanos()).unwrap_or(u64::MAX)),
        ));
        slot.unflushed = false;
        slot.unsynced = false;
        self.reopen(id, now);
    }

    /// Reopens stream `id` from its files after a failed write or fsync.
    fn reopen(&mut self, id: usize, now: Timestamp) {
        let slot = &self.slots[id];
        let cfg = slot.stream.config().clone();
        let created = slot.stream.created();
        let dir = self.stream_dir(&cfg);
        match Stream::open(cfg, created, dir.as_deref(), self.settings.log.clone(), now) {
            Ok(stream) => self.slots[id].stream = stream,
            Err(e) => log::error!(
                "stream {}: reopen failed: {e}; it keeps its old state until restart",
                self.slots[id].stream.name()
            ),
        }
    }

    /// Makes everything durable on this thread (clean shutdown) and sends the last acks.
    pub fn shutdown(&mut self) {
        self.persist_consumers();
        let ids: Vec<usize> = self.slots.iter().map(|(i, _)| i).collect();
        for id in ids {
            match self.slots[id].stream.sync_now() {
                Ok(seq) => self.release(id, seq),
                Err(e) => {
                    log::error!(
                        "stream {}: final sync failed: {e}",
                        self.slots[id].stream.name()
                    );
                    self.fail_pending(id, &e);
                }
            }
        }
        if let Err(e) = self.meta.sync() {
            log::error!("metadata: final sync failed: {e}");
        }
    }
}
