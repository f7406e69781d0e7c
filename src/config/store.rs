//! `[store]` and `[jetstream]`: where and how durably leafd stores, and how many streams and
//! consumers it keeps.
//!
//! Owns: [`StoreConfig`], [`SyncMode`] (with the exact guarantee of each mode) and
//! [`JetStreamConfig`], and their defaults. Must not: parse TOML (that is `file`) or check
//! ranges (that is `validate`). Hands off to: the store and the JetStream engine, which
//! read these values once at startup.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::units::{GIB, MIB};

/// Where and how much leafd may store, and how durably.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Store directory: one directory of segment files per stream, plus `meta/` (sled).
    pub dir: PathBuf,
    /// Hard cap on what the store directory occupies on disk, in bytes.
    pub max_bytes: u64,
    /// Most messages all streams hold together (1,000 to 1,000,000,000; default 2,000,000).
    /// Each stored message costs about 32 bytes of index in memory whatever its size, so
    /// this is the store's memory bound as `max_bytes` is its disk bound: past it the
    /// `discard: old` stream with the most messages loses its oldest, and when there is none,
    /// publishes are refused with 10047, as past `max_bytes`.
    pub max_msgs: usize,
    /// When a stored message is acknowledged relative to `fdatasync`; see [`SyncMode`].
    pub sync: SyncMode,
    /// With [`SyncMode::Interval`], the time between two `fdatasync`s (unused otherwise).
    /// 10 ms to 10 min; default 1 s.
    pub sync_interval: Duration,
    /// sled's `cache_capacity` for the metadata store (`<dir>/meta`), in bytes. Default 2 MiB;
    /// at most the store's share of the memory budget (`Config::store_cache_budget`).
    pub meta_cache: u64,
    /// Size at which a stream's segment file rolls over, in bytes: eviction removes whole
    /// oldest segments, so this is the granularity of `max_bytes` enforcement. 64 KiB to 1 GiB,
    /// and at most a quarter of `max_bytes` (so that at least four segments fit in the budget
    /// and evicting one never frees more than a quarter of it). Default 8 MiB.
    pub segment_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            dir: PathBuf::from("./leafd-data"),
            max_bytes: GIB,
            max_msgs: 2_000_000,
            sync: SyncMode::Batch,
            sync_interval: Duration::from_secs(1),
            meta_cache: 2 * MIB,
            segment_bytes: 8 * MIB,
        }
    }
}

/// When leafd acknowledges a stored message (PubAck) relative to `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Every record is `fdatasync`ed on its own before its ack: an acked message survives a
    /// power cut. Slowest: one device flush per message.
    Always,
    /// Group commit (the default): records are written as they come, one `fdatasync` covers
    /// everything written so far, and each ack is sent only after the `fdatasync` that covers
    /// its record. Same guarantee as `always` (an acked message survives a power cut), at a
    /// fraction of the flushes under load; a lone publish waits for one flush.
    #[default]
    Batch,
    /// Acks once the record is in the OS page cache (written, not synced); an `fdatasync`
    /// runs every `sync_interval`. An acked message survives leafd crashing or being killed,
    /// but not a power cut or kernel crash: up to `sync_interval` of acked messages may be
    /// lost then. This is nats-server's default trade-off (its `sync_interval` is 2 min).
    Interval,
}

impl SyncMode {
    /// The name used in TOML: `always`, `batch` or `interval`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Always => "always",
            SyncMode::Batch => "batch",
            SyncMode::Interval => "interval",
        }
    }
}

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[jetstream]`: whether JetStream is served and how many streams and consumers it keeps.
/// Each count bounds a table in the engine; a create past it is refused with nats-server's
/// limit error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamConfig {
    /// Serve `$JS.API` and advertise JetStream in INFO. Default true.
    pub enabled: bool,
    /// Streams leafd keeps at once (1 to 100,000; default 1024).
    pub max_streams: usize,
    /// Consumers across all streams (1 to 1,000,000; default 4096).
    pub max_consumers: usize,
}

impl Default for JetStreamConfig {
    fn default() -> JetStreamConfig {
        JetStreamConfig {
            enabled: true,
            max_streams: 1024,
            max_consumers: 4096,
        }
    }
}
