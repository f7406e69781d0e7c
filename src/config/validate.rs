//! Range and consistency checks on the merged [`Config`], after every layer.
//!
//! Owns: the allowed range of each key and the relations between keys, and their wording.
//! Must not: parse or merge (values may come from any layer, so errors name the key, not a file).
//! Hands off to: `Config::from_sources`, which runs [`check`] last.

use std::net::SocketAddr;
use std::time::Duration;

use super::units::{fmt_size, GIB, KIB, MIB, TIB};
use super::{Config, ConfigError};

/// NATS's own hard ceiling on `max_payload`.
const PAYLOAD_CEILING: u64 = 64 * MIB;

/// Checks every key in a fixed order and returns the first problem.
pub(crate) fn check(c: &Config) -> Result<(), ConfigError> {
    check_server_name(&c.server_name)?;
    check_listen(&c.listen)?;
    if c.store.dir.as_os_str().is_empty() {
        return Err(ConfigError::invalid("store.dir", "must not be empty"));
    }
    size("store.max_bytes", c.store.max_bytes, MIB, 1024 * TIB)?;
    count("store.max_msgs", c.store.max_msgs, 1_000, 1_000_000_000)?;
    check_store(c)?;
    count("jetstream.max_streams", c.jetstream.max_streams, 1, 100_000)?;
    count(
        "jetstream.max_consumers",
        c.jetstream.max_consumers,
        1,
        1_000_000,
    )?;
    super::uplink::check(&c.uplink)?;
    super::auth::check(&c.auth, c.tls.as_ref().is_some_and(|t| t.verify_and_map))?;
    super::http::check(&c.http)?;
    super::tls::check(c.tls.as_ref())?;

    let l = &c.limits;
    count("limits.max_connections", l.max_connections, 1, 1_000_000)?;
    size(
        "limits.max_payload",
        l.max_payload as u64,
        1,
        PAYLOAD_CEILING,
    )?;
    size(
        "limits.max_control_line",
        l.max_control_line as u64,
        KIB,
        MIB,
    )?;
    size("limits.max_pending", l.max_pending as u64, KIB, GIB)?;
    if l.max_pending < l.max_payload {
        return Err(ConfigError::invalid(
            "limits.max_pending",
            format!(
                "must be at least limits.max_payload ({}) so one message fits (got {})",
                fmt_size(l.max_payload as u64),
                fmt_size(l.max_pending as u64)
            ),
        ));
    }
    count(
        "limits.max_subscriptions_total",
        l.max_subscriptions_total,
        1,
        10_000_000,
    )?;
    if l.max_subs > l.max_subscriptions_total {
        return Err(ConfigError::invalid(
            "limits.max_subs",
            format!(
                "must not exceed limits.max_subscriptions_total ({}); 0 means no per-connection \
                 limit (got {})",
                l.max_subscriptions_total, l.max_subs
            ),
        ));
    }
    size("limits.read_buffer", l.read_buffer as u64, KIB, 16 * MIB)?;
    if l.read_buffer < l.max_control_line {
        return Err(ConfigError::invalid(
            "limits.read_buffer",
            format!(
                "must be at least limits.max_control_line ({}) so a control line fits (got {})",
                fmt_size(l.max_control_line as u64),
                fmt_size(l.read_buffer as u64)
            ),
        ));
    }
    count("limits.sublist_cache", l.sublist_cache, 0, 1_000_000)?;
    let (min, day) = (Duration::from_millis(10), Duration::from_secs(86_400));
    duration("limits.ping_interval", l.ping_interval, min, day)?;
    count("limits.ping_max", l.ping_max as usize, 1, 100)?;
    duration(
        "limits.write_deadline",
        l.write_deadline,
        min,
        Duration::from_secs(3600),
    )?;
    Ok(())
}

/// `[store]` beyond `dir` and `max_bytes`: the sync interval, sled's cache (within the store's
/// share of the memory budget, so the estimate holds) and the segment size (a quarter of the
/// disk budget at most, so at least four segments fit and eviction is never too coarse).
fn check_store(c: &Config) -> Result<(), ConfigError> {
    let s = &c.store;
    duration(
        "store.sync_interval",
        s.sync_interval,
        Duration::from_millis(10),
        Duration::from_secs(600),
    )?;
    size("store.meta_cache", s.meta_cache, 256 * KIB, GIB)?;
    let share = c.store_cache_budget();
    if s.meta_cache > share {
        return Err(ConfigError::invalid(
            "store.meta_cache",
            format!(
                "must not exceed the store's cache share, a quarter of the board's memory \
                 budget or 64 MiB without a board ({}) (got {})",
                fmt_size(share),
                fmt_size(s.meta_cache)
            ),
        ));
    }
    size("store.segment_bytes", s.segment_bytes, 64 * KIB, GIB)?;
    if s.segment_bytes > s.max_bytes / 4 {
        return Err(ConfigError::invalid(
            "store.segment_bytes",
            format!(
                "must be at most a quarter of store.max_bytes ({}), so at least 4 segments fit \
                 (got {})",
                fmt_size(s.max_bytes / 4),
                fmt_size(s.segment_bytes)
            ),
        ));
    }
    Ok(())
}

fn check_server_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "server_name",
            format!("expected 1 to 64 characters without spaces (got {name:?})"),
        ))
    }
}

/// `IP:PORT`, `[IPv6]:PORT` or `hostname:PORT`; port 0 asks the OS for a free one.
fn check_listen(listen: &str) -> Result<(), ConfigError> {
    check_addr("listen", listen)
}

/// [`check_listen`] for any address key.
pub(crate) fn check_addr(key: &'static str, listen: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::invalid(key, format!("expected HOST:PORT (got {listen:?})"));
    if listen.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = listen.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if host_ok && port.parse::<u16>().is_ok() {
        Ok(())
    } else {
        Err(bad())
    }
}

fn size(key: &'static str, got: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&got) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        key,
        format!(
            "must be between {} and {} (got {})",
            fmt_size(min),
            fmt_size(max),
            fmt_size(got)
        ),
    ))
}

fn count(key: &'static str, got: usize, min: usize, max: usize) -> Result<(), ConfigError> {
    if (min..=max).contains(&got) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        key,
        format!("must be between {min} and {max} (got {got})"),
    ))
}

fn duration(
    key: &'static str,
    got: Duration,
    min: Duration,
    max: Duration,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&got) {
        return Ok(());
    }
    let h = humantime::format_duration;
    Err(ConfigError::invalid(
        key,
        format!("must be between {} and {} (got {})", h(min), h(max), h(got)),
    ))
}
