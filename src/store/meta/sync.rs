//! [`MetaSync`]: making sled's metadata durable for real, on any thread.
//!
//! `sled::Db::flush` ends in `sync_file_range` on Linux, which neither flushes the device's
//! cache nor persists the file size (DESIGN.md §4), so a flush alone is not power-loss safe.
//! After it, this opens the files sled 0.34 writes and `fdatasync`s them: `db` (the log and
//! page store: every write goes there first) and any file under `blobs/` (values sled stores
//! out of line; rare for metadata). The first sync after the database was created also syncs
//! `conf` and `fsync`s `meta/`, `meta/blobs/` and the store directory, so the new entries
//! themselves survive. `snap.*` files are not synced: sled rebuilds a lost snapshot from `db`.
//!
//! Owns: that sequence. Must not: touch [`super::MetaStore`]'s keys or block the event loop
//! (the engine runs it off the loop). Hands off to: the caller, which acks only after `run`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::sled_error;
use crate::store::error::StoreError;

/// Flushes sled and `fdatasync`s its files; `Send + 'static`, so it may run on a blocking
/// thread while the event loop keeps writing (those later writes may or may not be covered).
#[derive(Debug, Clone)]
pub struct MetaSync {
    db: sled::Db,
    /// `<store dir>/meta`.
    path: PathBuf,
    /// Shared with the store: directories still need their first fsync.
    dirs_pending: Arc<AtomicBool>,
}

impl MetaSync {
    pub(super) fn new(db: sled::Db, path: PathBuf, dirs_pending: Arc<AtomicBool>) -> MetaSync {
        MetaSync {
            db,
            path,
            dirs_pending,
        }
    }

    /// Makes every metadata change made before this call durable. Blocking.
    ///
    /// # Errors
    /// sled's flush or any file or directory sync fails (with its path). Then nothing is
    /// known to be durable; a later `run` retries every step.
    pub fn run(self) -> Result<(), StoreError> {
        self.db.flush().map_err(|e| sled_error(&self.path, e))?;
        sync_data(&self.path.join("db"))?;
        let blobs = self.path.join("blobs");
        let blob_count = sync_blobs(&blobs)?;
        // Take the flag; on failure put it back so the next run retries the directories.
        if self.dirs_pending.swap(false, Ordering::AcqRel) {
            let first = sync_data(&self.path.join("conf"))
                .and_then(|()| sync_dir(&blobs))
                .and_then(|()| sync_dir(&self.path))
                .and_then(|()| match self.path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
                    _ => sync_dir(Path::new(".")),
                });
            if let Err(e) = first {
                self.dirs_pending.store(true, Ordering::Release);
                return Err(e);
            }
        } else if blob_count > 0 {
            // A blob may have been created since the last run: make its entry durable.
            sync_dir(&blobs)?;
        }
        Ok(())
    }
}

/// `fdatasync` of one file (opened read-only: Linux syncs through any descriptor).
fn sync_data(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_data())
        .map_err(|e| StoreError::io(path, e))
}

/// `fsync` of a directory, so entries created or renamed in it survive a power cut.
fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

/// `fdatasync` of every file in `blobs/`; returns how many there were. A blob that sled
/// removed between listing and opening is skipped.
fn sync_blobs(dir: &Path) -> Result<usize, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.map_err(|e| StoreError::io(dir, e))?.path();
        match File::open(&path).and_then(|f| f.sync_data()) {
            Ok(()) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e)),
        }
    }
    Ok(count)
}
