//! Configuration: embedded defaults, then a board profile, then a TOML file, then CLI flags,
//! turned once into validated plain data ([`Config`]) with every limit in [`Limits`].
//!
//! ```text
//! Config::default() ─► boards/NAME.toml ─► --config FILE ─► Overrides (flags) ─► validate
//! ```
//!
//! Owns: the config types, their defaults, the layering, validation, the embedded board
//! profiles. Must not: open sockets, read files other than the config file itself, or
//! know clap (`main` turns flags into [`Overrides`]).
//! Hands off to: `main` (which builds it) and everyone else (who reads it).
//!
//! Submodules: `units` (sizes, durations), `file` (the TOML key layout), `to_toml`
//! (`check-config`'s output, the same layout written back), `http` (`[http]`), `boards`
//! (embedded profiles), `validate` (ranges), `budget` (memory model), `error`
//! ([`ConfigError`]).

mod auth;
mod boards;
mod budget;
mod error;
mod file;
mod http;
mod perms;
mod store;
#[cfg(test)]
mod tests;
mod tls;
mod to_toml;
mod units;
mod uplink;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

pub use auth::{is_bcrypt, AuthConfig, AuthUser, NkeyUser};
pub use boards::{board_names, boards, boards_table, BoardProfile};
pub use budget::MemoryEstimate;
pub use error::ConfigError;
pub use http::HttpConfig;
pub use perms::{Permissions, Responses, Rules};
pub use store::{JetStreamConfig, StoreConfig, SyncMode};
pub use tls::{TlsConfig, DEFAULT_TLS_TIMEOUT};
pub use units::{fmt_size, parse_level};
pub use uplink::{parse_hub_url, Forward, UplinkAuth, UplinkConfig, UplinkTls, DEFAULT_LEAF_PORT};

use units::{KIB, MIB};

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
    /// JetStream on or off, and its table sizes.
    pub jetstream: JetStreamConfig,
    /// The leaf-node uplink to a hub.
    pub uplink: UplinkConfig,
    /// Which clients may connect (`[auth]`).
    pub auth: AuthConfig,
    /// The monitoring HTTP listener (`[http]`, `--http`).
    pub http: HttpConfig,
    /// TLS on the client port (`[tls]`); plain TCP when `None`.
    pub tls: Option<TlsConfig>,
    /// Every bound on memory and connections.
    pub limits: Limits,
    /// Log level: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: log::LevelFilter,
    /// Memory budget of the applied board profile (`None` without a board); the RSS
    /// tests check leafd against it.
    pub board_budget: Option<BoardBudget>,
}

/// What a board profile's `[board]` table says about memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardBudget {
    /// RSS leafd should stay within on this device, in bytes (`[board] memory_budget`).
    pub memory: u64,
    /// The device's RAM in bytes, for the record (`[board] ram`; `None` for `generic`).
    pub ram: Option<u64>,
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

/// Where the defaults come from: nats-server's, scaled down for a gateway.
impl Default for Config {
    fn default() -> Config {
        Config {
            server_name: "leafd".to_string(),
            listen: "0.0.0.0:4222".to_string(),
            board: None,
            store: StoreConfig::default(),
            jetstream: JetStreamConfig::default(),
            uplink: UplinkConfig::default(),
            auth: AuthConfig::default(),
            http: HttpConfig::default(),
            tls: None,
            limits: Limits::default(),
            log_level: log::LevelFilter::Info,
            board_budget: None,
        }
    }
}

impl Default for Limits {
    /// nats-server's defaults, except `max_pending` (16 MiB, not 64 MiB) and finite
    /// connection and subscription counts, so an unconfigured gateway stays bounded.
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_payload: MIB as usize,
            max_control_line: 4 * KIB as usize,
            max_pending: 16 * MIB as usize,
            max_subs: 0,
            max_subscriptions_total: 100_000,
            read_buffer: 32 * KIB as usize,
            sublist_cache: 1024,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            write_deadline: Duration::from_secs(10),
        }
    }
}

/// The command line's part, as plain data: the last layer. `main` fills it from clap, so
/// the library never sees clap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--config FILE`: the TOML file to read.
    pub config_file: Option<PathBuf>,
    /// `--board NAME`: wins over `board = "..."` in the file.
    pub board: Option<String>,
    /// `--listen HOST:PORT`.
    pub listen: Option<String>,
    /// `--store DIR`.
    pub store_dir: Option<PathBuf>,
    /// `--http HOST:PORT`: wins over `[http] listen`.
    pub http: Option<String>,
    /// `-v`/`-vv`/`-q` (or `RUST_LOG`, as `main` decides).
    pub log_level: Option<log::LevelFilter>,
    /// `--no-jetstream` gives `Some(false)`: wins over `[jetstream] enabled`.
    pub jetstream: Option<bool>,
}

impl Config {
    /// Builds the effective config: defaults, the board, the file named in `overrides`
    /// (if any), then the flags; validated.
    ///
    /// # Errors
    /// The file cannot be read, or see [`Config::from_sources`].
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        match &overrides.config_file {
            None => Config::from_sources(None, overrides),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::read(path.clone(), &e))?;
                let name = path.display().to_string();
                Config::from_sources(Some((&name, &text)), overrides)
            }
        }
    }

    /// Like [`Config::load`] with the file's text given as `(name, text)`; `name` is only
    /// used in errors and `overrides.config_file` is ignored. For tests and embedders.
    ///
    /// # Errors
    /// TOML syntax, unknown keys, wrong types ([`ConfigError::Parse`]), an unknown board,
    /// or a value out of range ([`ConfigError::Invalid`]).
    pub fn from_sources(
        file: Option<(&str, &str)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let layer: file::FileLayer = match file {
            Some((name, text)) => file::parse(name, text)?,
            None => file::FileLayer::default(),
        };
        let mut config = Config::default();
        if let Some(name) = overrides.board.as_deref().or(layer.board.as_deref()) {
            BoardProfile::find(name)?.apply(&mut config)?;
        }
        layer.apply(&mut config)?;
        overrides.apply(&mut config);
        config.validate()?;
        Ok(config)
    }

    /// Checks every range and relation between keys.
    ///
    /// # Errors
    /// The first problem, naming its key: `limits.max_payload: must be between 1 byte and
    /// 64 MiB (got 0)`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::check(self)
    }

    /// This node's name at the hub: `[uplink] name`, else the server name.
    pub fn uplink_node(&self) -> &str {
        self.uplink.name.as_deref().unwrap_or(&self.server_name)
    }
}

impl Overrides {
    fn apply(&self, config: &mut Config) {
        if let Some(listen) = &self.listen {
            config.listen = listen.clone();
        }
        if let Some(dir) = &self.store_dir {
            config.store.dir = dir.clone();
        }
        if let Some(http) = &self.http {
            config.http.listen = Some(http.clone());
        }
        if let Some(level) = self.log_level {
            config.log_level = level;
        }
        if let Some(enabled) = self.jetstream {
            config.jetstream.enabled = enabled;
        }
    }
}
