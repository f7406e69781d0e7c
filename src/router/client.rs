//! One client connection as the router sees it: its CONNECT options, its subscriptions by
//! sid, its outbox of encoded frames, and why it is closing.
//!
//! Owns: per-connection state that routing needs. Must not: do I/O; the link drains the
//! outbox and wakes on the wakers stored here.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use serde::Deserialize;

use super::outbox::Outbox;
use super::SubKey;

/// Dense id of a connection inside the router (a slab index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub(crate) usize);

/// Why a connection closed; logged once when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side.
    ClientClosed,
    /// Reading from the socket failed.
    ReadError,
    /// Writing to the socket failed.
    WriteError,
    /// A protocol error; the `-ERR` (if any) was queued before closing.
    ProtocolViolation,
    /// CONNECT options were rejected (bad JSON, protocol, headers rules).
    BadConnect,
    /// Headers were used on a connection that did not announce header support.
    HeadersNotEnabled,
    /// Queued output passed `max_pending`.
    SlowConsumerPendingBytes,
    /// A write made no progress within `write_deadline`.
    SlowConsumerWriteDeadline,
    /// PINGs went unanswered.
    StaleConnection,
    /// `max_connections` was reached when this connection arrived.
    MaxConnectionsExceeded,
    /// The server is shutting down.
    ServerShutdown,
    /// Bad credentials, or an op before CONNECT while authentication is on.
    AuthViolation,
    /// No CONNECT within the auth timeout.
    AuthTimeout,
    /// The TLS handshake failed or did not finish within `[tls] timeout` (nats-server's
    /// `TLS Handshake Failure`; no `-ERR` is written, as nats-server writes none).
    TlsHandshake,
}

impl CloseReason {
    /// Whether output still queued should be written before the socket closes. A slow
    /// consumer's backlog is dropped: writing it is exactly what it cannot keep up with.
    pub fn flushes(self) -> bool {
        !matches!(
            self,
            CloseReason::SlowConsumerPendingBytes
                | CloseReason::SlowConsumerWriteDeadline
                | CloseReason::ReadError
                | CloseReason::WriteError
                | CloseReason::TlsHandshake
        )
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::ClientClosed => "client closed connection",
            CloseReason::ReadError => "read error",
            CloseReason::WriteError => "write error",
            CloseReason::ProtocolViolation => "protocol violation",
            CloseReason::BadConnect => "rejected CONNECT",
            CloseReason::HeadersNotEnabled => "headers used without header support",
            CloseReason::SlowConsumerPendingBytes => "slow consumer (pending bytes)",
            CloseReason::SlowConsumerWriteDeadline => "slow consumer (write deadline)",
            CloseReason::StaleConnection => "stale connection",
            CloseReason::MaxConnectionsExceeded => "maximum connections exceeded",
            CloseReason::ServerShutdown => "server shutdown",
            CloseReason::AuthViolation => "authorization violation",
            CloseReason::AuthTimeout => "authentication timeout",
            CloseReason::TlsHandshake => "TLS handshake failure",
        })
    }
}

/// The CONNECT options the router acts on. Defaults are nats-server's for a connection
/// that has not sent CONNECT (verbose and pedantic on, echo on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOpts {
    /// `+OK` after every CONNECT/PUB/SUB/UNSUB.
    pub verbose: bool,
    /// Validate published subjects.
    pub pedantic: bool,
    /// Deliver the connection's own publishes to its own subscriptions.
    pub echo: bool,
    /// HPUB/HMSG allowed.
    pub headers: bool,
    /// Wants `503` status replies for requests nobody receives.
    pub no_responders: bool,
    /// Client name, for logs.
    pub name: Option<String>,
    /// Client library language, for logs.
    pub lang: Option<String>,
    /// Client library version, for logs.
    pub version: Option<String>,
}

impl Default for ConnectOpts {
    fn default() -> Self {
        ConnectOpts {
            verbose: true,
            pedantic: true,
            echo: true,
            headers: false,
            no_responders: false,
            name: None,
            lang: None,
            version: None,
        }
    }
}

/// CONNECT JSON as sent. Every field is optional, and JSON `null` means absent
/// (async-nats sends explicit nulls).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConnectJson {
    pub(crate) verbose: Option<bool>,
    pub(crate) pedantic: Option<bool>,
    pub(crate) echo: Option<bool>,
    pub(crate) headers: Option<bool>,
    pub(crate) no_responders: Option<bool>,
    pub(crate) protocol: Option<i64>,
    pub(crate) name: Option<String>,
    pub(crate) lang: Option<String>,
    pub(crate) version: Option<String>,
}

/// Why a CONNECT was refused: the exact `-ERR` text, or `None` to close silently (as
/// nats-server does for JSON it cannot decode).
pub(crate) fn connect_opts(json: &[u8]) -> Result<ConnectOpts, Option<&'static str>> {
    let parsed: ConnectJson = serde_json::from_slice(json).map_err(|_| None)?;
    match parsed.protocol {
        None | Some(0) | Some(1) => {}
        Some(_) => return Err(Some("invalid client protocol")),
    }
    let defaults = ConnectOpts::default();
    let opts = ConnectOpts {
        verbose: parsed.verbose.unwrap_or(defaults.verbose),
        pedantic: parsed.pedantic.unwrap_or(defaults.pedantic),
        echo: parsed.echo.unwrap_or(defaults.echo),
        headers: parsed.headers.unwrap_or(false),
        no_responders: parsed.no_responders.unwrap_or(false),
        name: parsed.name,
        lang: parsed.lang,
        version: parsed.version,
    };
    if opts.no_responders && !opts.headers {
        return Err(Some("no responders requires headers support"));
    }
    Ok(opts)
}

/// Counters kept per connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Messages received from the client.
    pub in_msgs: u64,
    /// Payload bytes received from the client.
    pub in_bytes: u64,
    /// Messages delivered to the client.
    pub out_msgs: u64,
    /// Payload bytes delivered to the client.
    pub out_bytes: u64,
}

/// One connection's state.
#[derive(Debug)]
pub(crate) struct Client {
    /// Public connection id (INFO `client_id`).
    pub(crate) cid: u64,
    /// Peer address.
    pub(crate) addr: SocketAddr,
    /// Whether CONNECT has been received.
    pub(crate) connected: bool,
    /// Options from CONNECT (or the defaults before it).
    pub(crate) opts: ConnectOpts,
    /// The `[[auth.users]]` user (or nkey) it authenticated as.
    pub(crate) user: Option<String>,
    /// What the user may publish and subscribe to; `None`: everything.
    pub(crate) perms: Option<super::perms::ClientPerms>,
    /// The nonce its INFO carried, for an nkey user to sign.
    pub(crate) nonce: Option<String>,
    /// What its verified TLS client certificate names (`[tls] verify_and_map` only).
    pub(crate) cert: Option<super::CertIdentity>,
    /// A CONNECT waiting for its bcrypt check.
    pub(crate) pending_connect: Option<super::auth::PendingConnect>,
    /// Subscriptions by the client's sid token.
    pub(crate) subs: HashMap<Box<[u8]>, SubKey>,
    /// Frames to write.
    pub(crate) out: Outbox,
    /// Set once the connection is closing; nothing more is delivered to it.
    pub(crate) closing: Option<CloseReason>,
    /// Server PINGs sent and not yet answered.
    pub(crate) pings_out: u32,
    /// Whether anything arrived from the client since the last ping tick.
    pub(crate) active_since_ping: bool,
    /// Whether the first (RTT) PING has been sent.
    pub(crate) pinged_once: bool,
    /// A subscriber whose outbox passed the soft mark while this client published to it;
    /// the link stalls this client's reads until that outbox drains.
    pub(crate) stall_on: Option<ClientId>,
    /// Message counters.
    pub(crate) stats: ClientStats,
    /// This is the uplink's connection to the hub, not a client.
    pub(crate) hub: bool,
    /// What the failed read said (TLS alerts arrive this way), for the hub link's log.
    pub(crate) read_error: Option<String>,
    /// When it connected (`/connz` `start`).
    pub(crate) start: Instant,
    /// When it last sent anything (`/connz` `last_activity`; the link notes each read).
    pub(crate) last_activity: Instant,
}

impl Client {
    pub(crate) fn new(cid: u64, addr: SocketAddr) -> Client {
        Client {
            cid,
            addr,
            connected: false,
            opts: ConnectOpts::default(),
            user: None,
            perms: None,
            nonce: None,
            cert: None,
            pending_connect: None,
            subs: HashMap::new(),
            out: Outbox::default(),
            closing: None,
            pings_out: 0,
            active_since_ping: false,
            pinged_once: false,
            stall_on: None,
            stats: ClientStats::default(),
            hub: false,
            read_error: None,
            start: Instant::now(),
            last_activity: Instant::now(),
        }
    }

    /// A short name for logs: `cid 7 (127.0.0.1:5555 "name")`.
    pub(crate) fn label(&self) -> String {
        if self.hub {
            return format!("uplink to {}", self.addr);
        }
        let user = self
            .user
            .as_ref()
            .map_or_else(String::new, |u| format!(" user {u:?}"));
        match &self.opts.name {
            Some(name) if !name.is_empty() => {
                format!("cid {} ({} {:?}{user})", self.cid, self.addr, name)
            }
            _ => format!("cid {} ({}{user})", self.cid, self.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_defaults_follow_nats_server() {
        let opts = connect_opts(b"{}").expect("empty CONNECT is valid");
        assert!(opts.verbose && opts.pedantic && opts.echo);
        assert!(!opts.headers && !opts.no_responders);
    }

    #[test]
    fn connect_nulls_mean_absent() {
        let json = br#"{"verbose":false,"pedantic":false,"jwt":null,"nkey":null,"sig":null,"name":null,"echo":true,"lang":"rust","version":"0.51.0","protocol":1,"tls_required":false,"user":null,"pass":null,"auth_token":null,"headers":true,"no_responders":true}"#;
        let opts = connect_opts(json).expect("async-nats CONNECT is valid");
        assert!(!opts.verbose && opts.headers && opts.no_responders && opts.echo);
        assert_eq!(opts.lang.as_deref(), Some("rust"));
        assert_eq!(opts.name, None);
    }

    #[test]
    fn connect_rejections_carry_nats_server_texts() {
        assert_eq!(
            connect_opts(br#"{"protocol":5}"#),
            Err(Some("invalid client protocol"))
        );
        assert_eq!(
            connect_opts(br#"{"headers":false,"no_responders":true}"#),
            Err(Some("no responders requires headers support"))
        );
        assert_eq!(connect_opts(b"{not json"), Err(None));
    }
}
