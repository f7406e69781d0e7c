//! Configuration: embedded defaults, then a board profile, then a TOML file, then CLI flags,
//! turned once into validated plain data ([`Config`]) with every limit in [`Limits`].
//!
//! Owns: the config types, their defaults, loading and validation, the embedded board
//! profiles. Must not: open sockets or files other than the config file itself.
//! Hands off to: `main` (which builds it) and everyone else (who reads it).

use std::path::PathBuf;
use std::time::Duration;

/// The whole effective configuration of one leafd process.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Name shown in INFO `server_name` and logs.
    pub server_name: String,
    /// Client listener address, `HOST:PORT`.
    pub listen: String,
    /// Board profile that was applied, if any.
    pub board: Option<String>,
    /// Store settings.
    pub store: StoreConfig,
    /// Every bound on memory and connections.
    pub limits: Limits,
    /// Log level: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: log::LevelFilter,
}

/// Where and how much leafd may store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Store directory.
    pub dir: PathBuf,
    /// Hard cap on what the store directory occupies on disk, in bytes.
    pub max_bytes: u64,
}

/// Every bound on buffers, queues and tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Maximum number of client connections at once.
    pub max_connections: usize,
    /// Largest message (headers + payload) a client may publish, in bytes.
    pub max_payload: usize,
    /// Longest protocol control line, in bytes.
    pub max_control_line: usize,
    /// Per-connection cap on bytes queued for writing; past it the connection is closed as
    /// a slow consumer.
    pub max_pending: usize,
    /// Maximum subscriptions per connection (0 = only the server-wide bound applies).
    pub max_subs: usize,
    /// Maximum subscriptions across the whole server.
    pub max_subscriptions_total: usize,
    /// Size of each connection's read buffer (it grows only to hold one large message).
    pub read_buffer: usize,
    /// Entries in the subject-match result cache.
    pub sublist_cache: usize,
    /// Interval between server PINGs on an idle connection.
    pub ping_interval: Duration,
    /// Unanswered PINGs tolerated before `Stale Connection`.
    pub ping_max: u32,
    /// A write that makes no progress for this long closes the connection (slow consumer).
    pub write_deadline: Duration,
}
