//! The uplink's connection to the hub: dial the configured URLs in rotation, do the
//! leafnode handshake, serve the link until it drops, wait (capped exponential backoff with
//! jitter), and dial again.
//!
//! Owns: the hub socket, the handshake's I/O (PROTOCOL.md §2.10: TCP, the hub's INFO, our
//! CONNECT), reconnect timing, the link's keepalive and the forwarders' 100 ms tick.
//! Hands off to: the router (`add_hub_link`, `hub_op`, `uplink_tick`), and to `conn` for
//! the read and write loops every connection shares.
//!
//! TLS (`tls.rs`) starts right after the hub's plaintext INFO, as nats-server's leafnodes
//! expect. Every failure before the link is up (TLS, an unreadable seed or creds file, the
//! hub refusing the credentials) is logged once per attempt with the hub's URL.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite};
use smol::{Async, Timer};

use crate::config::{parse_hub_url, UplinkConfig};
use crate::protocol::{Op, Parser, ParserLimits, Role};
use crate::router::{ClientId, CloseReason, Flow, Router, NATS_COMPAT_VERSION};
use crate::uplink::{creds, HubInfo, LeafConnect};

use super::conn::{read_loop, write_loop};
use super::tls;

/// How long dialling and reading the hub's INFO may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The forwarders' tick.
const TICK: Duration = Duration::from_millis(100);
/// A link that stayed up this long resets the backoff.
const STABLE: Duration = Duration::from_secs(10);
/// What nats-server waits after the hub reports a loop (and what it asks for).
const LOOP_DELAY: Duration = Duration::from_secs(30);
/// nats-server allows 16 times the client control line on leaf connections.
const LEAF_CONTROL_LINE: usize = 16 * 4096;
/// The largest message leafd takes from a hub, whatever the hub's max_payload says.
const MAX_HUB_PAYLOAD: usize = 64 << 20;

/// How one session with a hub ended.
struct Ended {
    /// Why, for the log.
    reason: String,
    /// The link got as far as CONNECT.
    linked: bool,
    /// The hub said it detected a loop.
    looped: bool,
}

impl Ended {
    fn before_link(reason: String) -> Ended {
        Ended {
            reason,
            linked: false,
            looped: false,
        }
    }
}

/// Keeps a link to one of the hub URLs for as long as the server runs.
pub(crate) async fn run(
    cfg: UplinkConfig,
    node: String,
    server_id: String,
    router: Rc<RefCell<Router>>,
) {
    if cfg.urls.is_empty() {
        return;
    }
    let mut backoff = cfg.reconnect_min;
    let mut attempt = 0usize;
    loop {
        let url = &cfg.urls[attempt % cfg.urls.len()];
        attempt += 1;
        let started = Instant::now();
        let ended = session(url, &cfg, &node, &server_id, &router).await;
        if ended.linked && started.elapsed() >= STABLE {
            backoff = cfg.reconnect_min;
        }
        let delay = if ended.looped {
            LOOP_DELAY
        } else {
            // Full jitter over the upper half, so a fleet of gateways does not come back as one.
            backoff.mul_f64(0.5 + fastrand::f64() * 0.5)
        };
        if ended.linked {
            log::warn!(
                "uplink: link to {url} down: {}; reconnecting in {delay:.1?}",
                ended.reason
            );
        } else {
            log::warn!(
                "uplink: cannot link to {url}: {}; next attempt in {delay:.1?}",
                ended.reason
            );
        }
        Timer::after(delay).await;
        backoff = (backoff * 2).min(cfg.reconnect_max);
    }
}

/// Dials `url`, does the handshake, serves the link until it closes.
async fn session(
    url: &str,
    cfg: &UplinkConfig,
    node: &str,
    server_id: &str,
    router: &Rc<RefCell<Router>>,
) -> Ended {
    let (scheme, host, port) = match parse_hub_url(url) {
        Ok(p) => p,
        Err(e) => return Ended::before_link(e),
    };
    let dialled = future::or(async { Some(dial(host, port).await) }, async {
        Timer::after(HANDSHAKE_TIMEOUT).await;
        None
    })
    .await;
    let (stream, addr) = match dialled {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Ended::before_link(e),
        None => return Ended::before_link(format!("no connection within {HANDSHAKE_TIMEOUT:?}")),
    };
    let max_payload = router.borrow().limits().max_payload;
    let info = future::or(
        async { Some(read_info(&stream, max_payload).await) },
        async {
            Timer::after(HANDSHAKE_TIMEOUT).await;
            None
        },
    )
    .await;
    let info = match info {
        Some(Ok(i)) => i,
        Some(Err(e)) => return Ended::before_link(e),
        None => {
            return Ended::before_link(format!(
                "no INFO within {HANDSHAKE_TIMEOUT:?}; is this a leafnode port?"
            ))
        }
    };
    // Read at every attempt: a rotated seed or creds file is picked up at the next one.
    let credentials = match creds::credentials(&cfg.auth, &info.nonce) {
        Ok(c) => c,
        Err(e) => return Ended::before_link(e),
    };
    let connect = LeafConnect {
        version: NATS_COMPAT_VERSION.to_owned(),
        server_id: server_id.to_owned(),
        name: node.to_owned(),
        remote_account: "$G".to_owned(),
        credentials,
    };
    // TLS starts right after the hub's INFO: for tls:// URLs, with [uplink.tls], or when the
    // hub requires it.
    let Ok(raw) = stream.get_ref().try_clone() else {
        return Ended::before_link("cannot clone the socket".into());
    };
    let shut = move || {
        let _ = raw.shutdown(std::net::Shutdown::Both);
    };
    let stream = if scheme == "tls" || cfg.tls.is_some() || info.tls_required {
        let settings = cfg.tls.clone().unwrap_or_default();
        let config = match tls::client_config(&settings) {
            Ok(c) => c,
            Err(e) => return Ended::before_link(e),
        };
        let name = settings.server_name.as_deref().unwrap_or(host);
        match tls::handshake(stream, config, name, HANDSHAKE_TIMEOUT).await {
            Ok(s) => HubStream::Tls(Box::new(s)),
            Err(e) => {
                return Ended::before_link(format!(
                    "{e} (verifying the hub as {name:?}; see [uplink.tls] ca_file and server_name)"
                ))
            }
        }
    } else {
        HubStream::Plain(stream)
    };
    let id = router.borrow_mut().add_hub_link(addr, &connect.to_json());
    router.borrow_mut().note_hub_name(id, &info.server_name);
    log::debug!(
        "uplink: connected to {url} ({addr}, hub {:?} nats-server {}, {}); announcing interest",
        info.server_name,
        info.version,
        if matches!(stream, HubStream::Tls(_)) {
            "TLS"
        } else {
            "plain TCP"
        }
    );
    let mut parser = Parser::new(
        Role::Leaf,
        ParserLimits {
            max_control_line: LEAF_CONTROL_LINE,
            max_payload: usize::try_from(info.max_payload)
                .unwrap_or(MAX_HUB_PAYLOAD)
                .clamp(max_payload, MAX_HUB_PAYLOAD),
        },
    );
    parser.set_headers(true);
    let tls_link = matches!(stream, HubStream::Tls(_));
    let closed = match stream {
        HubStream::Plain(s) => serve(&s, &s, shut, id, cfg.ping_interval, parser, router).await,
        HubStream::Tls(s) => {
            let (r, w) = futures_lite::io::split(*s);
            serve(r, w, shut, id, cfg.ping_interval, parser, router).await
        }
    };
    let mut r = router.borrow_mut();
    let reason = r.closing(id).unwrap_or(closed);
    let (hub_err, was_up) = r.remove_hub_link(id);
    let looped = hub_err
        .as_deref()
        .is_some_and(|e| e.contains("Loop detected"));
    Ended {
        reason: match hub_err {
            Some(e) if tls_link && !was_up => format!("{e} (over TLS: does the hub require a client certificate? see [uplink.tls] cert_file)"),
            Some(e) => e,
            None => reason.to_string(),
        },
        linked: was_up,
        looped,
    }
}

/// The hub connection after the handshake.
enum HubStream {
    Plain(Async<TcpStream>),
    Tls(Box<futures_rustls::client::TlsStream<Async<TcpStream>>>),
}

/// Runs the link: reads ops for the router, writes what it queues, keeps it alive.
async fn serve<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    reader: R,
    writer: W,
    shut: impl FnOnce(),
    id: ClientId,
    ping_interval: Duration,
    parser: Parser,
    router: &Rc<RefCell<Router>>,
) -> CloseReason {
    let reading = future::or(
        read_loop(reader, id, router, parser, hub_dispatch),
        keepalive(id, ping_interval, router),
    );
    let (_, closed) = future::zip(reading, write_loop(writer, shut, id, router)).await;
    closed
}

/// Resolves and connects.
async fn dial(host: &str, port: u16) -> Result<(Async<TcpStream>, SocketAddr), String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = smol::net::resolve((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        match Async::<TcpStream>::connect(addr).await {
            Ok(s) => {
                let _ = s.get_ref().set_nodelay(true);
                return Ok((s, addr));
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Reads the hub's INFO, the first thing on a leafnode port.
async fn read_info(stream: &Async<TcpStream>, max_payload: usize) -> Result<HubInfo, String> {
    let mut parser = Parser::new(
        Role::Leaf,
        ParserLimits {
            max_control_line: LEAF_CONTROL_LINE,
            max_payload,
        },
    );
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = (&*stream)
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading INFO: {e}"))?;
        if n == 0 {
            return Err("the hub closed the connection before sending INFO".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parser.parse(&buf) {
            Ok(Some((Op::Info(json), used))) => {
                if used != buf.len() {
                    return Err("the hub sent more than INFO before our CONNECT".into());
                }
                return HubInfo::parse(json).map_err(|e| format!("unreadable hub INFO: {e}"));
            }
            Ok(Some((Op::Err(text), _))) => {
                return Err(format!(
                    "the hub sent -ERR '{}'",
                    String::from_utf8_lossy(text)
                ))
            }
            Ok(Some(_)) => {
                return Err("the hub did not start with INFO; is this a leafnode port?".into())
            }
            Ok(None) if buf.len() > LEAF_CONTROL_LINE => {
                return Err("the hub's INFO is too long".into())
            }
            Ok(None) => {}
            Err(e) => {
                return Err(format!(
                    "the hub's first line is not INFO ({e}); is this a leafnode port?"
                ))
            }
        }
    }
}

/// A hub op to the router; parse errors are handled by the read loop.
fn hub_dispatch(r: &mut Router, id: ClientId, op: Op<'_>, _: &mut Parser) -> Flow {
    r.hub_op(id, op)
}

/// The forwarders' tick, whether linked or not (they hold unforwarded records back from
/// their stream's limits even while the hub is away).
pub(crate) async fn tick_loop(router: Rc<RefCell<Router>>) {
    loop {
        Timer::after(TICK).await;
        router.borrow_mut().uplink_tick();
    }
}

/// The link's PINGs; ends only when the link is stale.
async fn keepalive(id: ClientId, ping_interval: Duration, router: &RefCell<Router>) {
    let mut next_ping = Instant::now() + ping_interval.min(Duration::from_secs(2));
    loop {
        Timer::after(TICK).await;
        if Instant::now() >= next_ping {
            next_ping = Instant::now() + ping_interval;
            if !router.borrow_mut().hub_ping_tick(id) {
                // Stale: the writer closes the socket; `or` in `session` ends us then.
                future::pending::<()>().await;
            }
        }
    }
}
