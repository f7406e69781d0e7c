//! Shared helpers for the integration tests: the broker under test ([`Broker`], from
//! `LEAFD_CMD`), raw wire connections with byte-exact assertions ([`RawConn`]) and async-nats
//! helpers ([`sync`], [`within`], ...).
//!
//! Waits are bounded by [`timeout`] and are always for an event (a line, a message, a close),
//! never a fixed sleep.

mod broker;
mod client;
pub mod guest_mem;
pub mod http;
pub mod hub;
pub mod js;
pub mod pki;
pub mod proxy;
mod raw;

use std::time::Duration;

pub use broker::{
    candidate_port, AuthKind, Broker, ClientAuth, Http, Limits, Perms, ServerTls, Uplink,
};
pub use client::{client, client_with, next_msg, ready_msgs, sync, text, unique, within};
pub use raw::{assert_bytes_eq, show, RawConn};

/// How long any single wait may take: 10 s, or `LEAFD_TEST_TIMEOUT_SECS` (raised for qemu).
pub fn timeout() -> Duration {
    let secs = std::env::var("LEAFD_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * 1024;
