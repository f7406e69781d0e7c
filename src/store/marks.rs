//! A segment's delete marks: the `.del` file beside `<base:020>.seg`, created on the first
//! delete, and the marks waiting to be written to it.
//!
//! Owns: the mark format (12 bytes: `seq: u64 LE | crc32(seq bytes): u32 LE`, appended in
//! delete order; a torn last mark fails its CRC and is dropped on open) and the file's
//! path. Must not: decide what is deleted (the segment's bitmap does) or sync (the sync
//! handle does, with the files [`Marks::take_dirty`] hands it).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::segment::SharedFile;

/// Bytes per delete mark in a `.del` file.
pub const MARK_LEN: usize = 12;

/// Pending-mark buffers larger than this are freed after a write, not kept.
const KEEP_PENDING: usize = 4096;

/// `<dir>/<base:020>.del`
pub fn del_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.del"))
}

/// Encodes one delete mark.
pub fn encode_mark(seq: u64, out: &mut Vec<u8>) {
    let b = seq.to_le_bytes();
    out.extend_from_slice(&b);
    out.extend_from_slice(&crc32fast::hash(&b).to_le_bytes());
}

/// Decodes the marks in a `.del` file's bytes, stopping at the first bad one.
/// Returns the seqs and how many bytes were valid.
pub fn decode_marks(bytes: &[u8]) -> (Vec<u64>, usize) {
    let mut seqs = Vec::new();
    for chunk in bytes.chunks_exact(MARK_LEN) {
        let (s, c) = chunk.split_at(8);
        let mut sb = [0u8; 8];
        sb.copy_from_slice(s);
        let mut cb = [0u8; 4];
        cb.copy_from_slice(c);
        if crc32fast::hash(&sb) != u32::from_le_bytes(cb) {
            break;
        }
        seqs.push(u64::from_le_bytes(sb));
    }
    let valid = seqs.len() * MARK_LEN;
    (seqs, valid)
}

/// The `.del` file of a segment: created lazily on the first delete.
#[derive(Debug, Default)]
pub(super) struct Marks {
    file: Option<SharedFile>,
    /// Bytes written to the file.
    written: u64,
    /// Encoded marks not yet written.
    pending: Vec<u8>,
    /// Written since the last sync handle was taken.
    dirty: bool,
}

impl Marks {
    /// Takes over an existing `.del` file (recovery), `written` bytes long.
    pub(super) fn attach(&mut self, path: PathBuf, file: File, written: u64) {
        self.file = Some(SharedFile {
            path,
            file: Arc::new(file),
        });
        self.written = written;
    }

    /// Queues the mark for `seq`.
    pub(super) fn queue(&mut self, seq: u64) {
        encode_mark(seq, &mut self.pending);
    }

    /// Bytes of marks not yet written.
    pub(super) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Bytes the pending buffer holds.
    #[cfg(test)]
    pub(super) fn pending_capacity(&self) -> usize {
        self.pending.capacity()
    }

    /// Writes the pending marks (page cache, not disk), creating the file at `path()` if
    /// there is none yet. Returns whether it was created (its directory entry then needs
    /// a sync).
    ///
    /// # Errors
    /// The file cannot be created or written; the marks stay pending.
    pub(super) fn write_pending(
        &mut self,
        path: impl FnOnce() -> PathBuf,
    ) -> Result<bool, StoreError> {
        if self.pending.is_empty() {
            return Ok(false);
        }
        let mut created = false;
        if self.file.is_none() {
            let path = path();
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| StoreError::io(&path, e))?;
            self.file = Some(SharedFile {
                path,
                file: Arc::new(file),
            });
            created = true;
        }
        if let Some(f) = &self.file {
            f.write_at(&self.pending, self.written)?;
        }
        self.written += self.pending.len() as u64;
        // Marks come in bursts (a purge, a work queue catching up) to any segment, sealed
        // ones too: do not keep a burst's buffer for the segment's lifetime.
        if self.pending.capacity() > KEEP_PENDING {
            self.pending = Vec::new();
        } else {
            self.pending.clear();
        }
        self.dirty = true;
        Ok(created)
    }

    /// The `.del` file if it was written since the last call, for a sync handle.
    pub(super) fn take_dirty(&mut self, out: &mut Vec<SharedFile>) {
        if std::mem::take(&mut self.dirty) {
            if let Some(f) = &self.file {
                out.push(f.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_mark_is_dropped() {
        let mut bytes = Vec::new();
        for seq in [7, 3, 9] {
            encode_mark(seq, &mut bytes);
        }
        bytes.truncate(bytes.len() - 5);
        assert_eq!(decode_marks(&bytes), (vec![7, 3], 2 * MARK_LEN));
    }
}
