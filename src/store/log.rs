//! [`SegmentLog`]: one stream's durable message log, a directory of segment files.
//!
//! Owns: the segment list (oldest first), seq assignment, rolling at `segment_bytes`,
//! live counts, delete marks, eviction of whole segments (`log/evict.rs`), compaction of
//! partly deleted ones (`log/compact.rs`), preallocation of the active segment, and the
//! group-commit [`SyncHandle`]. Must not: know streams, subjects' meaning or limits policy
//! (the caller decides what to evict), or block on fsync unless asked (`sync`).
//! Hands off to: `segment` (bytes and index), `recovery` (open), the caller (JetStream),
//! which runs [`SyncHandle::run`] and [`CompactJob::run`] off the event loop.

use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::record::{self, RecordRef};
use super::recovery::{self, Recovery};
use super::segment::{Segment, SharedFile, SEG_HEADER_LEN};
pub use super::stored::{Evicted, StoredMsg};
pub use super::sync::SyncHandle;

mod compact;
mod evict;
mod holes;

pub use compact::{CompactDone, CompactJob, TOMBSTONE_TS};

/// Sizes and thresholds of one log. The caller derives them from `config::StoreConfig`
/// and the board's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// A segment rolls before it would grow past this (a single larger record gets a
    /// segment of its own).
    pub segment_bytes: u64,
    /// Largest encoded record (30-byte header + subject + headers + payload).
    pub max_record: usize,
    /// Appended bytes held in user space before they are written to the file anyway.
    pub write_buffer: usize,
    /// A rolled segment whose live bytes fall below this share of its records' bytes is
    /// listed as a compaction candidate.
    pub compact_below: f64,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            segment_bytes: 8 << 20,
            max_record: (1 << 20) + (64 << 10),
            write_buffer: 256 << 10,
            compact_below: 0.5,
        }
    }
}

/// One stream's append-only log of segment files.
#[derive(Debug)]
pub struct SegmentLog {
    dir: SharedFile,
    cfg: LogConfig,
    /// Oldest first; never empty; the last one is the active segment.
    segments: VecDeque<Segment>,
    next_seq: u64,
    durable_seq: u64,
    msgs: u64,
    bytes: u64,
    /// A segment or `.del` file was created or removed since the last sync handle.
    dir_dirty: bool,
    /// Bases of rolled segments worth compacting (see `compact::worth_compacting`).
    candidates: BTreeSet<u64>,
    /// The base of the segment a compaction job is running for.
    compacting: Option<u64>,
    /// Bases of rolled segments whose records are all deleted (see `holes.rs`).
    dead: BTreeSet<u64>,
    /// The `holes` file, once a segment was removed from the middle.
    holes: Option<SharedFile>,
    /// A hole was appended since the last sync handle.
    holes_dirty: bool,
}

impl SegmentLog {
    /// Opens (creating if needed) the log in `dir` and recovers it; see `recovery` for what
    /// happens to torn or damaged files. Everything recovered is durable when this returns.
    ///
    /// # Errors
    /// An invalid config or an I/O error; never the content of a file.
    pub fn open(dir: &Path, cfg: LogConfig) -> Result<(SegmentLog, Recovery), StoreError> {
        if cfg.segment_bytes <= SEG_HEADER_LEN as u64 || cfg.segment_bytes > u64::from(u32::MAX) {
            return Err(StoreError::Config("segment_bytes must be > 24 and < 4 GiB"));
        }
        if cfg.max_record < record::HEADER_LEN || cfg.max_record > u32::MAX as usize {
            return Err(StoreError::Config("max_record must be >= 30 and < 4 GiB"));
        }
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let dir_file = File::open(dir).map_err(|e| StoreError::io(dir, e))?;
        let dir_shared = SharedFile {
            path: dir.to_path_buf(),
            file: Arc::new(dir_file),
        };
        let mut report = Recovery::default();
        let (segs, next_seq) = recovery::recover(dir, cfg.max_record, &mut report)?;
        report.quarantine_pruned = recovery::prune_quarantine(dir, 2 * cfg.segment_bytes)?;
        let mut log = SegmentLog {
            dir: dir_shared,
            cfg,
            segments: segs.into(),
            next_seq,
            durable_seq: next_seq - 1,
            msgs: 0,
            bytes: 0,
            dir_dirty: true,
            candidates: BTreeSet::new(),
            compacting: None,
            dead: BTreeSet::new(),
            holes: None,
            holes_dirty: false,
        };
        let last_next = log.segments.back().map(Segment::next_seq);
        if last_next != Some(next_seq) {
            // Empty directory, or the last segment was quarantined whole.
            if let Some(n) = last_next {
                report.gaps.push((n, next_seq - 1));
            }
            log.segments.push_back(Segment::create(dir, next_seq)?);
        }
        let segment_bytes = log.cfg.segment_bytes;
        if let Some(active) = log.segments.back_mut() {
            active.preallocate(segment_bytes);
        }
        log.msgs = log.segments.iter().map(Segment::live).sum();
        log.bytes = log.segments.iter().map(Segment::live_bytes).sum();
        let bases: Vec<u64> = log.segments.iter().map(Segment::base).collect();
        for base in bases {
            log.check_candidate(base);
        }
        for i in 0..log.segments.len() {
            log.note_if_dead(i);
        }
        let holes = holes::read(dir);
        if !holes.is_empty() {
            report.gaps.retain(|&g| !holes::covered(&holes, g));
            let floor = log.segments.front().map_or(next_seq, Segment::base);
            holes::prune(dir, &holes, floor);
        }
        log.sync()?;
        Ok((log, report))
    }

    fn active(&mut self) -> &mut Segment {
        // Invariant: `segments` is never empty (open and remove_front keep one).
        self.segments
            .back_mut()
            .expect("a log always has an active segment")
    }

    fn find(&self, seq: u64) -> Option<usize> {
        self.segments
            .partition_point(|s| s.base() <= seq)
            .checked_sub(1)
    }

    /// Appends a message and returns its seq. It is in the user-space buffer: readable
    /// at once, durable only after a sync that covers it.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`], or an I/O error writing the buffer or rolling.
    pub fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        timestamp_ns: i64,
    ) -> Result<u64, StoreError> {
        let len = record::encoded_len(subject.len(), headers.len(), payload.len());
        if len > self.cfg.max_record || subject.len() > usize::from(u16::MAX) {
            return Err(StoreError::RecordTooLarge {
                len,
                max: self.cfg.max_record,
            });
        }
        let active = self.active();
        if active.count() > 0 && active.end() + len as u64 > self.cfg.segment_bytes {
            self.roll()?;
        }
        let seq = self.next_seq;
        let rec = RecordRef {
            seq,
            timestamp_ns,
            subject,
            headers,
            payload,
        };
        let max = self.cfg.max_record;
        let n = self.active().append(&rec, max)?;
        self.next_seq += 1;
        self.msgs += 1;
        self.bytes += n;
        if self.active().buffered() >= self.cfg.write_buffer {
            self.flush()?;
        }
        Ok(seq)
    }

    fn roll(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        let base = self.active().base();
        self.active().seal()?;
        let mut seg = Segment::create(&self.dir.path, self.next_seq)?;
        seg.preallocate(self.cfg.segment_bytes);
        self.segments.push_back(seg);
        self.dir_dirty = true;
        self.check_candidate(base);
        self.note_if_dead(self.segments.len() - 2);
        Ok(())
    }

    /// Each segment's buffer capacity (record buffer plus pending marks), oldest first.
    #[cfg(test)]
    pub fn buffer_capacities(&self) -> Vec<usize> {
        self.segments.iter().map(Segment::buffer_capacity).collect()
    }

    /// Reads live message `seq` into `buf` (reused across calls) and returns it borrowed.
    ///
    /// # Errors
    /// An I/O error, or [`StoreError::Corrupt`] if the bytes changed under us.
    pub fn get_into<'b>(
        &self,
        seq: u64,
        buf: &'b mut Vec<u8>,
    ) -> Result<Option<RecordRef<'b>>, StoreError> {
        match self.find(seq) {
            Some(i) => self.segments[i].read(seq, buf),
            None => Ok(None),
        }
    }

    /// Calls `f` with every live record in seq order, one sequential read per segment.
    ///
    /// # Errors
    /// See [`Segment::scan`].
    pub fn scan_live(&self, f: &mut dyn FnMut(RecordRef<'_>)) -> Result<(), StoreError> {
        let mut buf = Vec::new();
        for seg in &self.segments {
            seg.scan(&mut buf, f)?;
        }
        Ok(())
    }

    /// Reads live message `seq`, owned.
    ///
    /// # Errors
    /// See [`SegmentLog::get_into`].
    pub fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        let mut buf = Vec::new();
        Ok(self.get_into(seq, &mut buf)?.map(StoredMsg::from))
    }

    /// Marks `seq` deleted; `false` if it was not live. The mark is durable after the next
    /// sync; the segment file is never rewritten.
    ///
    /// # Errors
    /// An I/O error writing buffered marks.
    pub fn delete(&mut self, seq: u64) -> Result<bool, StoreError> {
        let Some(i) = self.find(seq) else {
            return Ok(false);
        };
        let Some(n) = self.segments[i].delete(seq) else {
            return Ok(false);
        };
        self.msgs -= 1;
        self.bytes -= n;
        let base = self.segments[i].base();
        self.check_candidate(base);
        self.note_if_dead(i);
        if self.segments[i].buffered() >= self.cfg.write_buffer {
            self.flush()?;
        }
        Ok(true)
    }

    fn check_candidate(&mut self, base: u64) {
        let Some(i) = self.find(base) else { return };
        let seg = &self.segments[i];
        let total = seg.end() - SEG_HEADER_LEN as u64;
        let rolled = i + 1 < self.segments.len();
        if rolled
            && total > 0
            && (seg.live_bytes() as f64) < self.cfg.compact_below * total as f64
            && compact::worth_compacting(total, seg.live_bytes(), seg.count(), seg.live())
            && self.compacting != Some(base)
            && !(i == 0 && dead_prefix_only(seg))
        {
            self.candidates.insert(base);
        }
    }

    /// Bases of rolled segments whose live share is below `compact_below` and whose dead
    /// records would give back more than half the segment (see [`SegmentLog::compaction_job`]).
    pub fn compaction_candidates(&self) -> impl Iterator<Item = u64> + '_ {
        self.candidates.iter().copied()
    }

    /// Lowest live seq; `last_seq() + 1` when the log is empty.
    pub fn first_seq(&self) -> u64 {
        self.segments
            .iter()
            .find_map(Segment::first_live)
            .unwrap_or(self.next_seq)
    }

    /// Highest seq ever assigned (0 before the first append), deleted or not.
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Live messages.
    pub fn msgs(&self) -> u64 {
        self.msgs
    }

    /// Encoded bytes of the live messages (30-byte header + subject + headers + payload).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Highest seq known durable (set by `sync`, `synced`, and `open`).
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    /// The active segment's file (for tests and diagnostics).
    pub fn active_path(&self) -> Option<&Path> {
        self.segments.back().map(Segment::path)
    }

    /// Where the active segment's data ends (its file may be longer: preallocated zeros).
    pub fn active_end(&self) -> u64 {
        self.segments.back().map_or(0, Segment::end)
    }

    /// Directory of this log.
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// What the files in the log directory (and its `quarantine/`) occupy on disk, as `du`
    /// counts it: allocated 512-byte blocks, not lengths.
    ///
    /// # Errors
    /// An I/O error listing or stating.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        disk_usage(&self.dir.path)
    }

    /// Writes the user-space buffers to the files (page cache). Survives a process crash,
    /// not a power cut.
    ///
    /// # Errors
    /// A write fails (the bytes stay buffered).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        for seg in self.segments.iter_mut().rev() {
            if seg.buffered() > 0 && seg.write_buffered()? {
                self.dir_dirty = true;
            }
        }
        Ok(())
    }

    /// Flushes and returns a handle that makes everything appended so far durable; see
    /// [`SyncHandle`] for the contract.
    ///
    /// # Errors
    /// The flush fails.
    pub fn sync_handle(&mut self) -> Result<SyncHandle, StoreError> {
        self.flush()?;
        let mut files = Vec::new();
        for seg in &mut self.segments {
            seg.take_dirty(&mut files);
        }
        if std::mem::take(&mut self.holes_dirty) {
            files.extend(self.holes.clone());
        }
        let dir = std::mem::take(&mut self.dir_dirty).then(|| self.dir.clone());
        Ok(SyncHandle {
            files,
            dir,
            target: self.next_seq - 1,
        })
    }

    /// Records that a [`SyncHandle`] returned `seq`.
    pub fn synced(&mut self, seq: u64) {
        self.durable_seq = self.durable_seq.max(seq);
    }

    /// Flush + fdatasync + directory fsync, on this thread; returns the highest durable seq.
    ///
    /// # Errors
    /// See [`SyncHandle::run`]; after an error, reopen the log.
    pub fn sync(&mut self) -> Result<u64, StoreError> {
        let seq = self.sync_handle()?.run()?;
        self.synced(seq);
        Ok(seq)
    }
}

/// What `dir` occupies on disk, as `du` counts it: allocated blocks × 512 of every file
/// below it (subdirectories included).
///
/// # Errors
/// A directory or file cannot be read.
pub fn disk_usage(dir: &Path) -> Result<u64, StoreError> {
    let mut total = 0;
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).map_err(|e| StoreError::io(&d, e))? {
            let entry = entry.map_err(|e| StoreError::io(&d, e))?;
            let meta = entry
                .metadata()
                .map_err(|e| StoreError::io(&entry.path(), e))?;
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    Ok(total)
}

/// Whether every deleted record of `seg` comes before every live one. The oldest segment in
/// that state is losing records from the front (limits with discard old, acks in order) and
/// leaves whole once its last record goes; compacting it would write its tail twice.
fn dead_prefix_only(seg: &Segment) -> bool {
    seg.first_live()
        .is_some_and(|first| first - seg.base() == seg.count() - seg.live())
}
