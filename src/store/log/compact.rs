//! Compaction: rewriting a rolled segment without the bytes of its deleted records, off the
//! event loop.
//!
//! Owns: the [`CompactJob`] (a `Send` snapshot of one rolled segment that copies its live
//! records into `<base>.compact.tmp` and fdatasyncs it, on any thread) and the swap that
//! [`SegmentLog::finish_compaction`] does on the loop thread (rename over the segment, new
//! offsets). Must not: change a live record, its seq, or the segment's delete marks.
//!
//! A deleted record is not dropped but replaced by a *tombstone*: a record with the same seq,
//! no subject, headers or payload, and the timestamp [`TOMBSTONE_TS`]. Seqs stay contiguous,
//! so recovery reads a compacted segment like any other and treats tombstones as deleted even
//! when their `.del` marks never reached the disk. A tombstone costs the 30-byte record
//! header, so a 1 KiB record gives back 97% of its bytes.
//!
//! Crash safety: the old segment stays in place until the rename; a leftover `.tmp` is
//! removed at the next open; records deleted while the job ran were copied and keep their
//! delete marks (bitmap and `.del` file are untouched by the swap).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::SegmentLog;
use crate::store::error::StoreError;
use crate::store::record::{self, RecordRef, HEADER_LEN};
use crate::store::segment::{encode_header, seg_path, SharedFile};

/// The timestamp that marks a tombstone record.
pub const TOMBSTONE_TS: i64 = i64::MIN;

/// A rolled segment's compaction, ready to run on another thread.
#[derive(Debug)]
pub struct CompactJob {
    base: u64,
    src: SharedFile,
    tmp: PathBuf,
    /// Offsets of every record, and the end of the last.
    offsets: Vec<u32>,
    end: u64,
    /// Live at the snapshot.
    live: Vec<bool>,
    max: usize,
}

/// What a [`CompactJob`] produced, for [`SegmentLog::finish_compaction`].
#[derive(Debug)]
pub struct CompactDone {
    base: u64,
    tmp: PathBuf,
    result: Result<(File, Vec<u32>, u64), StoreError>,
}

impl CompactJob {
    /// Copies the live records and writes tombstones for the others into the temporary
    /// file, then fdatasyncs it. Blocking.
    pub fn run(self) -> CompactDone {
        let result = self.copy();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        CompactDone {
            base: self.base,
            tmp: self.tmp,
            result,
        }
    }

    fn copy(&self) -> Result<(File, Vec<u32>, u64), StoreError> {
        let io = |e| StoreError::io(&self.tmp, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(io)?;
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(&encode_header(self.base));
        let mut written = 0u64;
        let mut offsets = Vec::with_capacity(self.offsets.len());
        let mut rec = Vec::new();
        for (i, &at) in self.offsets.iter().enumerate() {
            let seq = self.base + i as u64;
            let pos = written + out.len() as u64;
            offsets.push(u32::try_from(pos).map_err(|_| StoreError::Config("segment over 4 GiB"))?);
            if self.live[i] {
                let stop = self.offsets.get(i + 1).map_or(self.end, |&o| u64::from(o));
                let len = usize::try_from(stop - u64::from(at))
                    .map_err(|_| StoreError::Config("record too large"))?;
                rec.resize(len, 0);
                self.src
                    .file
                    .read_exact_at(&mut rec, u64::from(at))
                    .map_err(|e| StoreError::io(&self.src.path, e))?;
                out.extend_from_slice(&rec);
            } else {
                let tomb = RecordRef {
                    seq,
                    timestamp_ns: TOMBSTONE_TS,
                    subject: &[],
                    headers: &[],
                    payload: &[],
                };
                record::encode_into(&mut out, &tomb, self.max)
                    .map_err(|kind| StoreError::Corrupt { seq, kind })?;
            }
            if out.len() >= 1 << 20 {
                file.write_all_at(&out, written).map_err(io)?;
                written += out.len() as u64;
                out.clear();
            }
        }
        file.write_all_at(&out, written).map_err(io)?;
        written += out.len() as u64;
        file.sync_data().map_err(io)?;
        Ok((file, offsets, written))
    }
}

/// Whether a rolled segment with these numbers is worth compacting: the bytes of deleted
/// records beyond their would-be tombstones are more than half the segment.
pub(crate) fn worth_compacting(total: u64, live_bytes: u64, records: u64, live: u64) -> bool {
    let dead_bytes = total.saturating_sub(live_bytes);
    let tombstones = (records - live) * HEADER_LEN as u64;
    dead_bytes.saturating_sub(tombstones) * 2 > total
}

impl SegmentLog {
    /// A compaction job for one candidate segment, if there is one and none is running.
    pub fn compaction_job(&mut self) -> Option<CompactJob> {
        if self.compacting.is_some() {
            return None;
        }
        let base = self.candidates.iter().next().copied()?;
        let i = self.find(base)?;
        if i + 1 == self.segments.len() {
            self.candidates.remove(&base);
            return None; // the active segment is never compacted
        }
        let seg = &self.segments[i];
        let (offsets, end, live) = seg.snapshot();
        self.compacting = Some(base);
        Some(CompactJob {
            base,
            src: seg.shared_file(),
            tmp: self.dir.path.join(format!("{base:020}.compact.tmp")),
            offsets,
            end,
            live,
            max: self.cfg.max_record,
        })
    }

    /// Swaps the compacted file in; returns the bytes saved (0 if the segment went away
    /// meanwhile). The rename is made durable by the next sync (the old file is valid until
    /// then, the new one after).
    ///
    /// # Errors
    /// The job failed or the rename did; the old segment stays in use.
    pub fn finish_compaction(&mut self, done: CompactDone) -> Result<u64, StoreError> {
        self.compacting = None;
        self.candidates.remove(&done.base);
        let (file, offsets, end) = match done.result {
            Ok(r) => r,
            Err(e) => {
                let _ = fs::remove_file(&done.tmp);
                return Err(e);
            }
        };
        let Some(i) = self
            .find(done.base)
            .filter(|&i| i + 1 < self.segments.len() && self.segments[i].base() == done.base)
        else {
            let _ = fs::remove_file(&done.tmp);
            return Ok(0);
        };
        let path = seg_path(&self.dir.path, done.base);
        fs::rename(&done.tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        self.dir_dirty = true;
        let before = self.segments[i].end();
        self.segments[i].replace_file(file, offsets, end);
        Ok(before.saturating_sub(end))
    }
}
