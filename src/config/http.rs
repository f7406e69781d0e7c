//! `[http]`: the monitoring HTTP listener (off unless `listen` or `--http` names an address)
//! and its bounds.
//!
//! Owns: [`HttpConfig`], its defaults, its TOML layer and its range checks. Must not: bind
//! (that is `main`) or serve (that is `monitor`). Hands off to: `main`, which binds
//! `listen` at startup, and the monitor, which applies the bounds.

use std::time::Duration;

use serde::Deserialize;

use super::units::{Dur, Size, KIB};
use super::ConfigError;

/// The monitoring listener.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// `HOST:PORT` to serve `/varz`, `/metrics`, ... on; `None` (the default) serves nothing.
    pub listen: Option<String>,
    /// Monitoring connections served at once (1 to 1,000; default 8). Past it, as many
    /// again are answered `503` (within a second) and closed; any more are closed at once.
    pub max_connections: usize,
    /// Time a client has to send its whole request head, and to read the response
    /// (100 ms to 60 s; default 5 s). A slower client is closed.
    pub request_timeout: Duration,
    /// Longest request head (request line and headers) in bytes (1 KiB to 64 KiB; default
    /// 8 KiB). A longer one is answered `400` and closed.
    pub max_request_head: usize,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            listen: None,
            max_connections: 8,
            request_timeout: Duration::from_secs(5),
            max_request_head: 8 * KIB as usize,
        }
    }
}

/// `[http]` in a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpLayer {
    listen: Option<String>,
    max_connections: Option<usize>,
    request_timeout: Option<Dur>,
    max_request_head: Option<Size>,
}

impl HttpLayer {
    /// Lays `[http]` over `http`.
    pub(crate) fn apply(self, http: &mut HttpConfig) {
        if let Some(listen) = self.listen {
            http.listen = Some(listen);
        }
        if let Some(n) = self.max_connections {
            http.max_connections = n;
        }
        if let Some(Dur(d)) = self.request_timeout {
            http.request_timeout = d;
        }
        if let Some(Size(n)) = self.max_request_head {
            http.max_request_head = usize::try_from(n).unwrap_or(usize::MAX);
        }
    }
}

/// Range checks for `[http]`.
pub(crate) fn check(http: &HttpConfig) -> Result<(), ConfigError> {
    if let Some(listen) = &http.listen {
        super::validate::check_addr("http.listen", listen)?;
    }
    if !(1..=1000).contains(&http.max_connections) {
        return Err(ConfigError::invalid(
            "http.max_connections",
            format!("must be between 1 and 1000 (got {})", http.max_connections),
        ));
    }
    let t = http.request_timeout;
    if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&t) {
        return Err(ConfigError::invalid(
            "http.request_timeout",
            format!(
                "must be between 100ms and 60s (got {})",
                humantime::format_duration(t)
            ),
        ));
    }
    let n = http.max_request_head as u64;
    if !(KIB..=64 * KIB).contains(&n) {
        return Err(ConfigError::invalid(
            "http.max_request_head",
            format!(
                "must be between 1 KiB and 64 KiB (got {})",
                super::fmt_size(n)
            ),
        ));
    }
    Ok(())
}
