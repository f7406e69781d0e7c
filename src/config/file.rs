//! The TOML layers: what a config file and a board profile may say, and how each is laid
//! over a [`Config`]. Every key is optional; a key that is not there leaves the layer below.
//!
//! Owns: the key layout (the operator's contract), unknown-key rejection, turning toml's
//! errors into one line with file, line, column and dotted key.
//! Must not: validate ranges (that is `validate`, after all layers) or read files.
//! Hands off to: `mod.rs` (which orders the layers) and `boards` (which parses profiles).

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::auth::AuthLayer;
use super::http::HttpLayer;
use super::tls::TlsLayer;
use super::units::{Dur, Level, Size};
use super::uplink::UplinkLayer;
use super::{Config, ConfigError, JetStreamConfig, Limits, StoreConfig, SyncMode};

/// A config file (`--config`): every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLayer {
    pub(crate) server_name: Option<String>,
    pub(crate) listen: Option<String>,
    /// Board profile to start from; `--board` wins over it.
    pub(crate) board: Option<String>,
    pub(crate) log_level: Option<Level>,
    pub(crate) store: Option<StoreLayer>,
    pub(crate) jetstream: Option<JetStreamLayer>,
    pub(crate) uplink: Option<UplinkLayer>,
    pub(crate) auth: Option<AuthLayer>,
    pub(crate) http: Option<HttpLayer>,
    pub(crate) tls: Option<TlsLayer>,
    pub(crate) limits: Option<LimitsLayer>,
}

/// `[store]` in a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreLayer {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) max_bytes: Option<Size>,
    max_msgs: Option<usize>,
    sync: Option<SyncMode>,
    sync_interval: Option<Dur>,
    meta_cache: Option<Size>,
    segment_bytes: Option<Size>,
}

/// `[jetstream]`, in a config file or a board profile.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JetStreamLayer {
    enabled: Option<bool>,
    max_streams: Option<usize>,
    max_consumers: Option<usize>,
}

/// `[limits]`, in a config file or a board profile.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsLayer {
    max_connections: Option<usize>,
    max_payload: Option<Size>,
    max_control_line: Option<Size>,
    max_pending: Option<Size>,
    max_subs: Option<usize>,
    max_subscriptions_total: Option<usize>,
    read_buffer: Option<Size>,
    sublist_cache: Option<usize>,
    ping_interval: Option<Dur>,
    ping_max: Option<u32>,
    write_deadline: Option<Dur>,
}

/// A board profile, `boards/NAME.toml`: the `[board]` table is required and only allowed
/// here; a profile describes hardware, so it has no `server_name`, `listen` or `store.dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoardFile {
    pub(crate) board: BoardMeta,
    pub(crate) store: Option<BoardStore>,
    pub(crate) jetstream: Option<JetStreamLayer>,
    pub(crate) limits: Option<LimitsLayer>,
}

/// `[board]` in a board profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoardMeta {
    /// One line for `leafd boards`.
    pub(crate) description: String,
    /// The device's RAM, for the record (the budget is what counts).
    pub(crate) ram: Option<Size>,
    /// RSS leafd should stay within on this device.
    pub(crate) memory_budget: Size,
}

/// `[store]` in a board profile: only what depends on the device (disk budget, message
/// count, sled cache, segment size); `dir` and `sync` are the deployment's choice.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoardStore {
    max_bytes: Option<Size>,
    max_msgs: Option<usize>,
    meta_cache: Option<Size>,
    segment_bytes: Option<Size>,
}

impl FileLayer {
    /// Lays this file over `config` (the board, if any, is applied by the caller first).
    pub(crate) fn apply(self, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(name) = self.server_name {
            config.server_name = name;
        }
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(Level(level)) = self.log_level {
            config.log_level = level;
        }
        if let Some(store) = self.store {
            store.apply(&mut config.store);
        }
        if let Some(jetstream) = self.jetstream {
            jetstream.apply(&mut config.jetstream);
        }
        if let Some(uplink) = self.uplink {
            config.uplink = uplink.into_config()?;
        }
        if let Some(auth) = self.auth {
            config.auth = auth.into_config()?;
        }
        if let Some(http) = self.http {
            http.apply(&mut config.http);
        }
        if let Some(tls) = self.tls {
            config.tls = Some(tls.into_config()?);
        }
        match self.limits {
            Some(limits) => limits.apply(&mut config.limits),
            None => Ok(()),
        }
    }
}

impl StoreLayer {
    fn apply(self, store: &mut StoreConfig) {
        set(&mut store.dir, self.dir);
        set(&mut store.max_bytes, self.max_bytes.map(|s| s.0));
        set(&mut store.max_msgs, self.max_msgs);
        set(&mut store.sync, self.sync);
        set(&mut store.sync_interval, self.sync_interval.map(|d| d.0));
        set(&mut store.meta_cache, self.meta_cache.map(|s| s.0));
        set(&mut store.segment_bytes, self.segment_bytes.map(|s| s.0));
    }
}

impl BoardStore {
    /// Lays a profile's `[store]` over `store`.
    pub(crate) fn apply(self, store: &mut StoreConfig) {
        set(&mut store.max_bytes, self.max_bytes.map(|s| s.0));
        set(&mut store.max_msgs, self.max_msgs);
        set(&mut store.meta_cache, self.meta_cache.map(|s| s.0));
        set(&mut store.segment_bytes, self.segment_bytes.map(|s| s.0));
    }
}

impl JetStreamLayer {
    /// Lays `[jetstream]` over `jetstream`.
    pub(crate) fn apply(self, jetstream: &mut JetStreamConfig) {
        set(&mut jetstream.enabled, self.enabled);
        set(&mut jetstream.max_streams, self.max_streams);
        set(&mut jetstream.max_consumers, self.max_consumers);
    }
}

impl LimitsLayer {
    /// Lays these limits over `limits`.
    pub(crate) fn apply(self, limits: &mut Limits) -> Result<(), ConfigError> {
        set(&mut limits.max_connections, self.max_connections);
        set_size(
            &mut limits.max_payload,
            self.max_payload,
            "limits.max_payload",
        )?;
        set_size(
            &mut limits.max_control_line,
            self.max_control_line,
            "limits.max_control_line",
        )?;
        set_size(
            &mut limits.max_pending,
            self.max_pending,
            "limits.max_pending",
        )?;
        set(&mut limits.max_subs, self.max_subs);
        set(
            &mut limits.max_subscriptions_total,
            self.max_subscriptions_total,
        );
        set_size(
            &mut limits.read_buffer,
            self.read_buffer,
            "limits.read_buffer",
        )?;
        set(&mut limits.sublist_cache, self.sublist_cache);
        set(&mut limits.ping_interval, self.ping_interval.map(|d| d.0));
        set(&mut limits.ping_max, self.ping_max);
        set(&mut limits.write_deadline, self.write_deadline.map(|d| d.0));
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Sizes are parsed as `u64`; a value past this platform's `usize` (4 GiB on 32-bit ARM) is
/// refused here, before it could wrap.
fn set_size(slot: &mut usize, value: Option<Size>, key: &'static str) -> Result<(), ConfigError> {
    if let Some(Size(bytes)) = value {
        *slot = usize::try_from(bytes).map_err(|_| {
            let got = super::units::fmt_size(bytes);
            ConfigError::invalid(key, format!("too large for this platform (got {got})"))
        })?;
    }
    Ok(())
}

/// Parses `text` (named `file` in errors) as `T`, turning toml's multi-line error into one
/// [`ConfigError::Parse`] line.
pub(crate) fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        let key = key_at(text, offset);
        let mut message = err.message().trim().replace('\n', ": ");
        if let Some(rest) = message.strip_prefix("unknown field `") {
            // "unknown field `x`, expected ..." → "unknown key, expected ..." (the key is named).
            message = format!("unknown key{}", rest.split_once('`').map_or("", |(_, r)| r));
        }
        if key.as_deref() == Some("board") && message.starts_with("invalid type: map") {
            message = "a [board] table belongs in a board profile; a config file picks one \
                       with board = \"NAME\""
                .to_string();
        }
        ConfigError::Parse {
            file: file.to_string(),
            line,
            column,
            key,
            message,
        }
    })
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The dotted key written on the line holding `offset`: `limits.max_payload` for a
/// `max_payload = ...` line under `[limits]`, or the table name for a `[table]` line.
/// `None` when the line is not a plain `key = value` or header (e.g. inside an array).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = floor_char_boundary(text, offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    if let Some(header) = table_header(line) {
        return Some(header);
    }
    let (key, _) = line.split_once('=')?;
    let key = clean_key(key);
    if key.is_empty() || key.contains(['[', '{', ',']) {
        return None;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .find_map(|l| table_header(l.trim()));
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key,
    })
}

/// `[limits]` → `limits`; `[[x]]` → `x`; anything else → `None`.
fn table_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?;
    let inner = inner.split(']').next()?.trim_start_matches('[');
    Some(clean_key(inner))
}

/// `"max_payload" ` → `max_payload`; `limits . max_payload` → `limits.max_payload`.
fn clean_key(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches(['"', '\'']))
        .collect::<Vec<_>>()
        .join(".")
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_names_the_dotted_key() {
        let text = "listen = 1\n[limits]\nmax_payload = \"x\"\n\"ping_max\" = 1\n[store]\n";
        assert_eq!(key_at(text, 9).as_deref(), Some("listen"));
        assert_eq!(key_at(text, 14).as_deref(), Some("limits"));
        assert_eq!(key_at(text, 35).as_deref(), Some("limits.max_payload"));
        assert_eq!(key_at(text, 40).as_deref(), Some("limits.ping_max"));
        assert_eq!(
            key_at("limits.ping_max = -1", 18).as_deref(),
            Some("limits.ping_max")
        );
        assert_eq!(key_at("a = [\n 1,\n]", 8), None);
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
