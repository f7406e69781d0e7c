//! One segment file of a stream's log, with its in-memory index and delete marks.
//!
//! Owns: the segment header (`LEAFSEG1`, version, base seq), the file name scheme
//! (`<base:020>.seg`), the user-space append buffer, the
//! offset index (`Vec<u32>` by `seq - base`), the deleted bitmap, and positional reads.
//! Must not: decide when to roll, sync or evict (that is `log`), or scan files on open
//! (that is `recovery`, which hands back a filled [`Segment`]).
//! Hands off to: `log` (appends, reads, deletes) and the sync handle (the `Arc<File>`s).
//!
//! # File layout
//! ```text
//! 0   8 magic "LEAFSEG1"
//! 8   4 format version (u32 LE, currently 1)
//! 12  8 base seq (u64 LE)
//! 20  4 crc32 of bytes 0..20
//! 24  records (see `record`), seqs base, base+1, ... with no holes
//! ```
//! Delete marks and their `.del` file are `marks.rs`'s.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::marks::{del_path, Marks};
use super::record::{self, RecordRef};

/// Bytes of the segment header.
pub const SEG_HEADER_LEN: usize = 24;
/// The magic at the start of every segment file.
pub const MAGIC: &[u8; 8] = b"LEAFSEG1";
/// The record/segment format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// `<dir>/<base:020>.seg`
pub fn seg_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The segment header for `base`.
pub fn encode_header(base: u64) -> [u8; SEG_HEADER_LEN] {
    let mut h = [0u8; SEG_HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&base.to_le_bytes());
    let crc = crc32fast::hash(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Whether `bytes` (the start of a file) is a valid header for `base`.
pub fn header_ok(bytes: &[u8], base: u64) -> bool {
    bytes.get(..SEG_HEADER_LEN) == Some(&encode_header(base)[..])
}

/// A file plus its path, shared with a sync handle running on another thread.
#[derive(Debug, Clone)]
pub struct SharedFile {
    /// Where the file is (for errors).
    pub path: PathBuf,
    /// The open file.
    pub file: Arc<File>,
}

impl SharedFile {
    /// Writes `bytes` at `at`.
    pub(super) fn write_at(&self, bytes: &[u8], at: u64) -> Result<(), StoreError> {
        self.file
            .write_all_at(bytes, at)
            .map_err(|e| StoreError::io(&self.path, e))
    }
}

/// One segment: file, index, bitmap, buffer.
#[derive(Debug)]
pub struct Segment {
    base: u64,
    dir: PathBuf,
    file: SharedFile,
    /// Offset of record `seq - base`.
    offsets: Vec<u32>,
    /// Logical end: file bytes written plus `buf`.
    end: u64,
    /// Bytes written to the file (page cache).
    written: u64,
    /// Bytes appended but not yet written; they belong at offset `written`.
    buf: Vec<u8>,
    /// Bit `i` set: record `base + i` is deleted.
    deleted: Vec<u64>,
    live: u64,
    live_bytes: u64,
    marks: Marks,
    /// Bytes written to the segment file since the last sync handle was taken.
    dirty: bool,
}

impl Segment {
    /// Creates `<dir>/<base>.seg` (it must not exist); the header waits in the buffer.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(dir: &Path, base: u64) -> Result<Segment, StoreError> {
        let path = seg_path(dir, base);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut seg = Segment::recovered(dir, base, file, Vec::new(), 0, Vec::new());
        seg.buf.extend_from_slice(&encode_header(base));
        seg.end = SEG_HEADER_LEN as u64;
        Ok(seg)
    }

    /// Reserves `len` bytes for the file (best effort: a file system without `fallocate`
    /// or without the space just grows the file as it is written). The unwritten rest is
    /// zeros, which recovery recognises and cuts.
    pub fn preallocate(&mut self, len: u64) {
        if len <= self.written {
            return;
        }
        if let Err(e) = rustix::fs::fallocate(
            &*self.file.file,
            rustix::fs::FallocateFlags::empty(),
            0,
            len,
        ) {
            log::debug!("{}: no preallocation ({e})", self.file.path.display());
        }
    }

    /// Seals a rolled segment, which is written (flushed) and takes no more records: cuts the
    /// preallocated space after its last byte (the next sync makes the new length durable)
    /// and lets go of its write buffer and the spare room of its offset table. Before, every
    /// sealed segment kept a `write_buffer`-sized allocation: 256 KiB per 8 MiB of stored
    /// data, 137 MiB of RSS for rpi4's full 4 GiB store (`tests/boards.rs`).
    ///
    /// # Errors
    /// The truncation fails.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        debug_assert!(self.buf.is_empty(), "seal() after a flush");
        self.buf = Vec::new();
        self.offsets.shrink_to_fit();
        self.trim()
    }

    /// Bytes held by the record buffer and the pending marks buffer.
    #[cfg(test)]
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity() + self.marks.pending_capacity()
    }

    /// Cuts preallocated space after the last written byte; see [`Segment::seal`].
    fn trim(&mut self) -> Result<(), StoreError> {
        let len = self
            .file
            .file
            .metadata()
            .map_err(|e| StoreError::io(&self.file.path, e))?
            .len();
        if len > self.written {
            self.file
                .file
                .set_len(self.written)
                .map_err(|e| StoreError::io(&self.file.path, e))?;
            self.dirty = true;
        }
        Ok(())
    }

    /// A segment rebuilt by recovery: `file` holds a header and the records at `offsets`,
    /// ending at `end` (the file length); `deleted_seqs` are marks read from `.del`.
    pub fn recovered(
        dir: &Path,
        base: u64,
        file: File,
        offsets: Vec<u32>,
        end: u64,
        deleted_seqs: Vec<u64>,
    ) -> Segment {
        let mut seg = Segment {
            base,
            dir: dir.to_path_buf(),
            file: SharedFile {
                path: seg_path(dir, base),
                file: Arc::new(file),
            },
            deleted: vec![0; offsets.len().div_ceil(64)],
            live: offsets.len() as u64,
            live_bytes: 0,
            offsets,
            end,
            written: end,
            buf: Vec::new(),
            marks: Marks::default(),
            dirty: false,
        };
        seg.live_bytes = (0..seg.offsets.len()).map(|i| seg.len_of(i)).sum();
        for seq in deleted_seqs {
            seg.mark(seq);
        }
        seg
    }

    /// Attaches the existing `.del` file (recovery), `written` bytes long.
    pub fn attach_marks(&mut self, file: File, written: u64) {
        self.marks
            .attach(del_path(&self.dir, self.base), file, written);
    }

    /// First seq this segment holds or will hold.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Records in the segment, deleted ones included.
    pub fn count(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// One past the last seq in the segment.
    pub fn next_seq(&self) -> u64 {
        self.base + self.count()
    }

    /// Live (not deleted) records.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Encoded bytes of the live records.
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Logical size of the segment (header + records, written or buffered).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes waiting in the user-space buffer.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.marks.pending_len()
    }

    /// Path of the segment file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    fn len_of(&self, i: usize) -> u64 {
        let start = u64::from(self.offsets[i]);
        let stop = self.offsets.get(i + 1).map_or(self.end, |&o| u64::from(o));
        stop - start
    }

    fn index(&self, seq: u64) -> Option<usize> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        (i < self.offsets.len()).then_some(i)
    }

    /// Whether `seq` is in this segment and not deleted.
    pub fn is_live(&self, seq: u64) -> bool {
        self.index(seq)
            .is_some_and(|i| self.deleted[i / 64] & (1 << (i % 64)) == 0)
    }

    /// Appends a record with `seq == next_seq()`; returns its encoded length.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`] past `max` or past what a `u32` offset can address.
    pub fn append(&mut self, rec: &RecordRef<'_>, max: usize) -> Result<u64, StoreError> {
        debug_assert_eq!(rec.seq, self.next_seq());
        let want = record::encoded_len(rec.subject.len(), rec.headers.len(), rec.payload.len());
        let offset =
            u32::try_from(self.end).map_err(|_| StoreError::Config("segment over 4 GiB"))?;
        let n = record::encode_into(&mut self.buf, rec, max)
            .map_err(|_| StoreError::RecordTooLarge { len: want, max })? as u64;
        self.offsets.push(offset);
        if self.offsets.len() > self.deleted.len() * 64 {
            self.deleted.push(0);
        }
        self.end += n;
        self.live += 1;
        self.live_bytes += n;
        Ok(n)
    }

    /// Marks `seq` deleted in memory only (recovery, replaying `.del`).
    pub fn apply_mark(&mut self, seq: u64) {
        let _ = self.mark(seq);
    }

    fn mark(&mut self, seq: u64) -> Option<u64> {
        let i = self.index(seq)?;
        let bit = 1u64 << (i % 64);
        if self.deleted[i / 64] & bit != 0 {
            return None;
        }
        self.deleted[i / 64] |= bit;
        let n = self.len_of(i);
        self.live -= 1;
        self.live_bytes -= n;
        Some(n)
    }

    /// Marks `seq` deleted (and queues its mark for the `.del` file); returns the record's
    /// encoded length, or `None` if it is not here or already deleted. Never rewrites the
    /// segment file.
    pub fn delete(&mut self, seq: u64) -> Option<u64> {
        let n = self.mark(seq)?;
        self.marks.queue(seq);
        Some(n)
    }

    /// Writes the buffer (and pending delete marks) to the files: page cache, not disk.
    /// Returns whether a `.del` file was created (its directory entry then needs a sync).
    ///
    /// # Errors
    /// A write fails; the buffer is kept so nothing is silently dropped.
    pub fn write_buffered(&mut self) -> Result<bool, StoreError> {
        if !self.buf.is_empty() {
            self.file.write_at(&self.buf, self.written)?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
            self.dirty = true;
        }
        let created = self
            .marks
            .write_pending(|| del_path(&self.dir, self.base))?;
        Ok(created)
    }

    /// The files written since the last call (segment, then `.del`), for a sync handle;
    /// clears their dirty flags.
    pub fn take_dirty(&mut self, out: &mut Vec<SharedFile>) {
        if std::mem::take(&mut self.dirty) {
            out.push(self.file.clone());
        }
        self.marks.take_dirty(out);
    }

    /// Reads live record `seq` into `out` (reused) and decodes it; `None` if not here or
    /// deleted. Buffered records are served from memory, written ones with one `pread`.
    ///
    /// # Errors
    /// The read fails, or the bytes no longer decode to record `seq`.
    pub fn read<'b>(
        &self,
        seq: u64,
        out: &'b mut Vec<u8>,
    ) -> Result<Option<RecordRef<'b>>, StoreError> {
        if !self.is_live(seq) {
            return Ok(None);
        }
        let Some(i) = self.index(seq) else {
            return Ok(None);
        };
        let at = u64::from(self.offsets[i]);
        let len = self.len_of(i) as usize;
        out.clear();
        if at >= self.written {
            let from = (at - self.written) as usize;
            let slice = self.buf.get(from..from + len).ok_or(StoreError::Corrupt {
                seq,
                kind: record::RecordError::Incomplete,
            })?;
            out.extend_from_slice(slice);
        } else {
            out.resize(len, 0);
            self.file
                .file
                .read_exact_at(out, at)
                .map_err(|e| StoreError::io(&self.file.path, e))?;
        }
        match record::decode(out, len) {
            Ok((rec, _)) if rec.seq == seq => Ok(Some(rec)),
            Ok(_) => Err(StoreError::Corrupt {
                seq,
                kind: record::RecordError::Malformed,
            }),
            Err(kind) => Err(StoreError::Corrupt { seq, kind }),
        }
    }

    /// Calls `f` with every live record in seq order, reading the file in one go into `buf`
    /// (reused): the fast path for rebuilding indexes at start.
    ///
    /// # Errors
    /// The read fails, or a record no longer decodes.
    pub fn scan(
        &self,
        buf: &mut Vec<u8>,
        f: &mut dyn FnMut(RecordRef<'_>),
    ) -> Result<(), StoreError> {
        if self.live == 0 {
            return Ok(());
        }
        let written =
            usize::try_from(self.written).map_err(|_| StoreError::Config("segment too large"))?;
        buf.clear();
        buf.resize(written, 0);
        self.file
            .file
            .read_exact_at(buf, 0)
            .map_err(|e| StoreError::io(&self.file.path, e))?;
        buf.extend_from_slice(&self.buf);
        for i in 0..self.offsets.len() {
            let seq = self.base + i as u64;
            if !self.is_live(seq) {
                continue;
            }
            let at = self.offsets[i] as usize;
            let len = self.len_of(i) as usize;
            let bytes = buf.get(at..at + len).ok_or(StoreError::Corrupt {
                seq,
                kind: record::RecordError::Incomplete,
            })?;
            match record::decode(bytes, len) {
                Ok((rec, _)) if rec.seq == seq => f(rec),
                Ok(_) => {
                    return Err(StoreError::Corrupt {
                        seq,
                        kind: record::RecordError::Malformed,
                    })
                }
                Err(kind) => return Err(StoreError::Corrupt { seq, kind }),
            }
        }
        Ok(())
    }

    /// Record offsets, the end of the last record and which records are live: what a
    /// compaction job copies from (the segment must be rolled, so its file no longer grows).
    pub fn snapshot(&self) -> (Vec<u32>, u64, Vec<bool>) {
        let live = (0..self.offsets.len())
            .map(|i| self.is_live(self.base + i as u64))
            .collect();
        (self.offsets.clone(), self.end, live)
    }

    /// Another handle on the segment file (reads from other threads).
    pub fn shared_file(&self) -> SharedFile {
        self.file.clone()
    }

    /// Switches to the compacted file (already durable and renamed over this segment's
    /// path): same seqs, new offsets; deletes and their marks stay as they are.
    pub fn replace_file(&mut self, file: File, offsets: Vec<u32>, end: u64) {
        debug_assert_eq!(offsets.len(), self.offsets.len());
        self.file = SharedFile {
            path: seg_path(&self.dir, self.base),
            file: Arc::new(file),
        };
        self.offsets = offsets;
        self.end = end;
        self.written = end;
        self.dirty = false;
    }

    /// Lowest live seq in the segment, if any.
    pub fn first_live(&self) -> Option<u64> {
        if self.live == 0 {
            return None;
        }
        for (w, word) in self.deleted.iter().enumerate() {
            if *word != u64::MAX {
                let i = w * 64 + (!*word).trailing_zeros() as usize;
                if i < self.offsets.len() {
                    return Some(self.base + i as u64);
                }
            }
        }
        None
    }

    /// Paths of the files this segment owns (the `.del` file may not exist).
    pub fn file_paths(&self) -> [PathBuf; 2] {
        [self.file.path.clone(), del_path(&self.dir, self.base)]
    }
}
