//! [`SyncHandle`]: the part of group commit that may run on another thread.
//!
//! Owns: the fdatasync/fsync sequence over `Arc<File>` clones. Must not: touch the log's
//! in-memory state (it is `Send` and runs off the event loop). Hands off to: the caller,
//! which reports the returned seq back with `SegmentLog::synced`.

use super::error::StoreError;
use super::segment::SharedFile;

/// Makes everything appended before it was taken durable; runs on any thread.
///
/// Contract: take it with [`SegmentLog::sync_handle`] (which first writes the user-space
/// buffer to the files), run it off the event loop, then tell the log with
/// [`SegmentLog::synced`]. Keep at most one handle in flight per log: a later handle only
/// covers files written after the earlier one was taken. If `run` fails, do not ack: the
/// kernel may have dropped the dirty pages, so the log must be dropped and reopened
/// (recovery then decides what is on disk).
#[derive(Debug)]
pub struct SyncHandle {
    /// Files written since the previous handle: segments, then `.del` files.
    pub(super) files: Vec<SharedFile>,
    /// The log directory, if an entry was created or removed.
    pub(super) dir: Option<SharedFile>,
    /// Highest seq appended when the handle was taken.
    pub(super) target: u64,
}

impl SyncHandle {
    /// `fdatasync`s every file written since the last handle, then `fsync`s the directory if
    /// a file was created or removed; returns the highest seq now durable.
    ///
    /// # Errors
    /// The first failing sync, with its path.
    pub fn run(self) -> Result<u64, StoreError> {
        for f in &self.files {
            f.file.sync_data().map_err(|e| StoreError::io(&f.path, e))?;
        }
        if let Some(d) = &self.dir {
            d.file.sync_all().map_err(|e| StoreError::io(&d.path, e))?;
        }
        Ok(self.target)
    }
}
