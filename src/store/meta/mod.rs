//! The metadata store: stream configs, consumer states, small cursors and the store epoch,
//! kept in sled 0.34 at `<store dir>/meta`.
//!
//! Owns: [`MetaStore`] (the key layout and its encodings) and, in `sync`, [`MetaSync`]
//! (sled flush plus a real `fdatasync`). Must not: hold message payloads (those are the
//! segment log's, see DESIGN.md §4: sled as a log costs 6-8x write amplification), interpret
//! the values it stores (the engine's JSON is opaque bytes here), or leak sled types past this
//! module. Hands off to: JetStream (later), which decides what to write and when to sync.
//!
//! # Key layout
//! One sled tree (the default one), so a stream and its consumers go in one atomic batch:
//!
//! | key | value |
//! |---|---|
//! | `epoch` | u64 big-endian: 1 on the first open, +1 on every open after |
//! | `s/<stream>` | opaque (the stream's config, JSON) |
//! | `c/<stream>/<consumer>` | opaque (the consumer's config and state) |
//! | `k/<cursor key>` | u64 big-endian |
//!
//! Stream and consumer names are never empty and never contain `/` (JetStream's own name
//! rules forbid it too), so `c/<stream>/` is a prefix of exactly that stream's consumers.
//!
//! # Durability
//! A `put_*`/`remove_*` returns once sled has the change in memory; sled's own background
//! flusher writes it out within about 500 ms, but that is `sync_file_range`, not an fsync, and
//! survives neither a power cut nor (before it runs) a crash. After [`MetaStore::sync`] (or a
//! [`MetaSync::run`]) returns, every change made before it is on the device. `open` syncs the
//! bumped epoch before it returns.

mod sync;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use sync::MetaSync;

use super::error::StoreError;

/// Key of the store epoch.
const EPOCH_KEY: &[u8] = b"epoch";
/// Prefix of stream keys.
const STREAM_PREFIX: &str = "s/";
/// Prefix of consumer keys.
const CONSUMER_PREFIX: &str = "c/";
/// Prefix of cursor keys.
const CURSOR_PREFIX: &str = "k/";

/// Metadata in sled at `<store dir>/meta`. Cheap to share: every method takes `&self`.
#[derive(Debug)]
pub struct MetaStore {
    db: sled::Db,
    /// `<store dir>/meta`, for errors and for the files `sync` opens.
    path: PathBuf,
    /// This process's epoch, read and bumped at open.
    epoch: u64,
    /// True until a sync has also fsynced sled's directories and `conf` (set when `open`
    /// created the database, cleared by the first successful sync).
    dirs_pending: Arc<AtomicBool>,
}

impl MetaStore {
    /// Opens or creates the metadata store at `<dir>/meta`, with `cache_bytes` as sled's
    /// `cache_capacity` (keep it small: a few MiB; sled defaults to 1 GiB). Reads the store
    /// epoch, adds one (the first open gives 1), writes it and syncs before returning.
    ///
    /// # Errors
    /// sled cannot open the directory (missing permissions, another process holds its lock,
    /// corruption), or the epoch cannot be made durable.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<MetaStore, StoreError> {
        let path = dir.join("meta");
        let created = !path.join("db").exists();
        let config = sled::Config::new()
            .path(&path)
            .cache_capacity(cache_bytes)
            // No background flusher thread: the engine syncs when it needs durability, and
            // sled's own flush is not power-safe anyway (see `sync`).
            .flush_every_ms(None);
        // sled's file lock outlives a dropped `Db` for a moment (its threads let go of the
        // file last), and a leafd that is still exiting holds it too: wait up to 2 s.
        let mut waited = 0;
        let db = loop {
            match config.open() {
                Err(e) if waited < 200 && e.to_string().contains("could not acquire lock") => {
                    waited += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other.map_err(|e| sled_error(&path, e))?,
            }
        };
        let mut store = MetaStore {
            db,
            path,
            epoch: 0,
            dirs_pending: Arc::new(AtomicBool::new(created)),
        };
        let previous = store.get_u64(EPOCH_KEY)?.unwrap_or(0);
        let epoch = previous
            .checked_add(1)
            .ok_or_else(|| store.meta_error("the store epoch is at u64::MAX".to_string()))?;
        store.insert(EPOCH_KEY, &epoch.to_be_bytes())?;
        store.sync()?;
        store.epoch = epoch;
        log::info!(
            "metadata store {} open at epoch {epoch}{}",
            store.path.display(),
            if created { " (new)" } else { "" }
        );
        Ok(store)
    }

    /// The store epoch of this process: 1 after the first open, +1 on every reopen.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Every stream, by name (sorted), with its stored value.
    ///
    /// # Errors
    /// sled fails, or a key is not UTF-8 (corruption).
    pub fn streams(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.scan(STREAM_PREFIX)
    }

    /// Stores (or replaces) the value of stream `name`.
    ///
    /// # Errors
    /// `name` is empty or contains `/`, or sled fails.
    pub fn put_stream(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let key = self.stream_key(name)?;
        self.insert(key.as_bytes(), value)
    }

    /// Removes stream `name` and all of its consumers in one atomic batch. Removing a
    /// stream that is not there is not an error.
    ///
    /// # Errors
    /// `name` is empty or contains `/`, or sled fails.
    pub fn remove_stream(&self, name: &str) -> Result<(), StoreError> {
        let key = self.stream_key(name)?;
        let prefix = self.consumer_prefix(name)?;
        let mut batch = sled::Batch::default();
        batch.remove(key.as_bytes());
        for entry in self.db.scan_prefix(prefix.as_bytes()) {
            let (consumer, _) = entry.map_err(|e| sled_error(&self.path, e))?;
            batch.remove(consumer);
        }
        self.db
            .apply_batch(batch)
            .map_err(|e| sled_error(&self.path, e))
    }

    /// Every consumer of `stream`, by name (sorted), with its stored value.
    ///
    /// # Errors
    /// `stream` is empty or contains `/`, sled fails, or a key is not UTF-8.
    pub fn consumers(&self, stream: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = self.consumer_prefix(stream)?;
        self.scan(&prefix)
    }

    /// Stores (or replaces) the value of consumer `name` on `stream`. The stream itself
    /// need not be stored (the engine writes it first).
    ///
    /// # Errors
    /// A name is empty or contains `/`, or sled fails.
    pub fn put_consumer(&self, stream: &str, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let key = self.consumer_key(stream, name)?;
        self.insert(key.as_bytes(), value)
    }

    /// Removes consumer `name` of `stream`; removing one that is not there is not an error.
    ///
    /// # Errors
    /// A name is empty or contains `/`, or sled fails.
    pub fn remove_consumer(&self, stream: &str, name: &str) -> Result<(), StoreError> {
        let key = self.consumer_key(stream, name)?;
        self.db
            .remove(key.as_bytes())
            .map(drop)
            .map_err(|e| sled_error(&self.path, e))
    }

    /// Stores a small named counter (e.g. an uplink forwarder's acknowledged sequence).
    /// `key` is any non-empty string.
    ///
    /// # Errors
    /// `key` is empty, or sled fails.
    pub fn put_cursor(&self, key: &str, value: u64) -> Result<(), StoreError> {
        let key = self.cursor_key(key)?;
        self.insert(key.as_bytes(), &value.to_be_bytes())
    }

    /// The cursor stored under `key`, if any.
    ///
    /// # Errors
    /// `key` is empty, sled fails, or the stored value is not 8 bytes (corruption).
    pub fn cursor(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let key = self.cursor_key(key)?;
        self.get_u64(key.as_bytes())
    }

    /// Makes every change made so far durable: sled's flush, then `fdatasync` of its data
    /// file (and blob files), then `fsync` of its directories if files were created. Blocks
    /// for one or more device flushes: on the event loop use [`MetaStore::sync_handle`].
    ///
    /// # Errors
    /// The first failing step, with its path. After an error nothing is known to be durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.sync_handle().run()
    }

    /// A `Send + 'static` handle that runs [`MetaStore::sync`] on another thread. It covers
    /// every change made before [`MetaSync::run`] starts (not only before it was taken).
    pub fn sync_handle(&self) -> MetaSync {
        MetaSync::new(
            self.db.clone(),
            self.path.clone(),
            Arc::clone(&self.dirs_pending),
        )
    }

    /// The directory sled keeps its files in, `<store dir>/meta`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db
            .insert(key, value)
            .map(drop)
            .map_err(|e| sled_error(&self.path, e))
    }

    fn get_u64(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        let Some(value) = self.db.get(key).map_err(|e| sled_error(&self.path, e))? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = value.as_ref().try_into().map_err(|_| {
            self.meta_error(format!(
                "value of {} is {} bytes, expected 8",
                String::from_utf8_lossy(key),
                value.len()
            ))
        })?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    /// Every entry under `prefix`, with the prefix cut off the key.
    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.db.scan_prefix(prefix.as_bytes()) {
            let (key, value) = entry.map_err(|e| sled_error(&self.path, e))?;
            let name = key
                .get(prefix.len()..)
                .and_then(|rest| std::str::from_utf8(rest).ok())
                .ok_or_else(|| {
                    self.meta_error(format!(
                        "key {:?} is not UTF-8",
                        String::from_utf8_lossy(&key)
                    ))
                })?;
            out.push((name.to_string(), value.to_vec()));
        }
        Ok(out)
    }

    fn stream_key(&self, name: &str) -> Result<String, StoreError> {
        self.check_name("stream", name)?;
        Ok(format!("{STREAM_PREFIX}{name}"))
    }

    fn consumer_prefix(&self, stream: &str) -> Result<String, StoreError> {
        self.check_name("stream", stream)?;
        Ok(format!("{CONSUMER_PREFIX}{stream}/"))
    }

    fn consumer_key(&self, stream: &str, name: &str) -> Result<String, StoreError> {
        let prefix = self.consumer_prefix(stream)?;
        self.check_name("consumer", name)?;
        Ok(prefix + name)
    }

    fn cursor_key(&self, key: &str) -> Result<String, StoreError> {
        if key.is_empty() {
            return Err(self.meta_error("cursor key must not be empty".to_string()));
        }
        Ok(format!("{CURSOR_PREFIX}{key}"))
    }

    /// Names become key parts: empty or `/`-holding names would make prefixes ambiguous.
    fn check_name(&self, what: &str, name: &str) -> Result<(), StoreError> {
        if name.is_empty() || name.contains('/') {
            return Err(self.meta_error(format!("{what} name {name:?} is empty or contains '/'")));
        }
        Ok(())
    }

    fn meta_error(&self, message: String) -> StoreError {
        StoreError::Meta {
            path: self.path.clone(),
            message,
        }
    }
}

/// sled's I/O errors keep their `io::Error`; the rest (corruption, unsupported use, bugs)
/// become [`StoreError::Meta`] with sled's wording.
fn sled_error(path: &Path, error: sled::Error) -> StoreError {
    match error {
        sled::Error::Io(source) => StoreError::io(path, source),
        other => StoreError::Meta {
            path: path.to_path_buf(),
            message: format!("sled: {other}"),
        },
    }
}
