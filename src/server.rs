//! `run`: wires the listener, the router and the connection tasks on one `LocalExecutor`.
//!
//! Owns: the executor, the accept loop and graceful shutdown.
//! Hands off to: `link` (one task per connection), `monitor` (the HTTP listener, when
//! configured) and `router` (the state they share);
//! tells systemd (`notify`) when clients are being served and when shutdown begins.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::future;
use smol::{Async, LocalExecutor, Timer};

use crate::config::Config;
use crate::jetstream::{
    self,
    engine::{JetStream, Settings, SyncJob},
};
use crate::link;
use crate::link::tls_server::ClientTls;
use crate::notify;
use crate::router::{CloseReason, Router, ServerInfo};
use crate::store::LogConfig;

/// How long to wait after an accept error (e.g. out of file descriptors) before trying
/// again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the server stopped with an error.
#[derive(Debug)]
pub enum ServerError {
    /// The listener could not be used.
    Listener(std::io::Error),
    /// The monitoring listener could not be used.
    Monitor(std::io::Error),
    /// `[tls]` names a file that cannot be read or used (the text names it).
    Tls(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Listener(e) => write!(f, "client listener: {e}"),
            ServerError::Monitor(e) => write!(f, "monitoring listener: {e}"),
            ServerError::Tls(e) => write!(f, "client TLS: {e}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// Serves NATS clients on `listener` until `shutdown` completes, then flushes and closes
/// every connection and returns.
///
/// The listener is bound by the caller, so tests can bind port 0.
///
/// # Errors
/// The listener cannot be registered with the reactor, or `[tls]` files cannot be used.
pub fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), ServerError> {
    run_full(
        listener,
        None,
        config,
        shutdown,
        futures_lite::stream::pending(),
    )
}

/// [`run`], also serving monitoring over HTTP on `http` (bound by the caller from
/// `config.http.listen`) when given, and applying each config that arrives on `reloads`
/// (main sends one per SIGHUP, parsed and validated; see [`crate::reload`] for what
/// changes at run time).
///
/// # Errors
/// Fails only if a listener cannot be registered with the reactor.
pub fn run_full(
    listener: TcpListener,
    http: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
    reloads: impl futures_lite::Stream<Item = Config> + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::Listener)?;
    let listener = Async::new(listener).map_err(ServerError::Listener)?;
    let http = match http {
        Some(l) => {
            let at = l.local_addr().map_err(ServerError::Monitor)?;
            Some((Async::new(l).map_err(ServerError::Monitor)?, at))
        }
        None => None,
    };
    // Read once, here, so a bad file stops startup; a reload (SIGHUP) reads them again.
    let tls = match &config.tls {
        Some(t) => {
            let tls = ClientTls::load(t).map_err(ServerError::Tls)?;
            log::info!(
                "clients must use TLS{}{} (handshake timeout {:?})",
                if t.verify_and_map {
                    " with a certificate from tls.ca_file that names a user"
                } else if t.verify {
                    " with a certificate from tls.ca_file"
                } else {
                    ""
                },
                if t.handshake_first {
                    ", handshake before INFO"
                } else {
                    ""
                },
                t.timeout
            );
            Some(Rc::new(tls))
        }
        None => None,
    };
    let mut info = ServerInfo::new(&config.server_name, addr, config.limits.max_payload);
    if let Some(t) = &config.tls {
        info.set_tls(true, t.verify);
    }
    let router = Rc::new(RefCell::new(Router::new(info, config.limits.clone())));
    router.borrow_mut().set_auth(&config.auth);
    router
        .borrow_mut()
        .set_auth_cert_map(config.tls.as_ref().is_some_and(|t| t.verify_and_map));
    if config.auth.enabled() {
        log::info!(
            "clients must authenticate: {} (within {:?})",
            if config.auth.token.is_some() {
                "a token".to_owned()
            } else {
                format!("{} user(s) with passwords", config.auth.users.len())
            },
            config.auth.timeout
        );
    }
    let ex = LocalExecutor::new();
    // The JetStream and uplink tasks run until shutdown; dropping them cancels them.
    let mut js_tasks = Vec::new();
    if config.jetstream.enabled {
        match JetStream::open(js_settings(&config)) {
            Ok(engine) => {
                log::info!("jetstream: {} stream(s) restored", engine.stream_count());
                router.borrow_mut().enable_jetstream(engine);
                js_tasks.push(ex.spawn(sync_loop(router.clone())));
                js_tasks.push(ex.spawn(timer_loop(router.clone())));
            }
            Err(e) => log::error!("{e}; serving core NATS without JetStream"),
        }
    }
    if !config.uplink.urls.is_empty() {
        let node = config.uplink_node().to_owned();
        router
            .borrow_mut()
            .enable_uplink(&node, config.uplink.forward.clone());
        let server_id = router.borrow().server_info().server_id().to_owned();
        js_tasks.push(ex.spawn(link::uplink::tick_loop(router.clone())));
        js_tasks.push(ex.spawn(link::uplink::run(
            config.uplink.clone(),
            node,
            server_id,
            router.clone(),
        )));
    }
    js_tasks.push(ex.spawn(crate::reload::reload_loop(
        router.clone(),
        config.clone(),
        reloads,
        tls.clone(),
    )));
    let monitor = http.map(|(l, at)| {
        router.borrow_mut().set_http_addr(at);
        l
    });
    // The listener is registered and the store is open: connections queued in the backlog
    // are accepted as soon as the executor runs, so this is the moment to report readiness.
    notify::ready(&format!("serving clients on {addr}"));
    smol::block_on(ex.run(async {
        let serving = async {
            match monitor {
                Some(http) => {
                    future::or(
                        accept_loop(&ex, &listener, &router, tls.as_ref()),
                        crate::monitor::serve(&ex, http, router.clone(), &config),
                    )
                    .await
                }
                None => accept_loop(&ex, &listener, &router, tls.as_ref()).await,
            }
        };
        future::or(serving, shutdown).await;
        notify::stopping();
        drop(js_tasks);
        // A sync job still running on its thread finishes on its own; this one covers all.
        router.borrow_mut().js_shutdown();
        drop(listener); // refuse new connections while the old ones drain
        let open = router.borrow().client_count();
        log::info!("shutting down: closing {open} connection(s)");
        router.borrow_mut().close_all(CloseReason::ServerShutdown);
        let deadline = Instant::now() + config.limits.write_deadline;
        while !ex.is_empty() && Instant::now() < deadline {
            Timer::after(Duration::from_millis(5)).await;
        }
    }));
    log::info!("stopped");
    Ok(())
}

/// The engine's settings from the config.
fn js_settings(config: &Config) -> Settings {
    let log = LogConfig {
        segment_bytes: config.store.segment_bytes,
        // A record holds the subject and headers too; leave room beyond max_payload.
        max_record: config.limits.max_payload + config.limits.max_control_line + 64,
        ..LogConfig::default()
    };
    Settings {
        dir: config.store.dir.clone(),
        sync: config.store.sync,
        sync_interval: config.store.sync_interval,
        meta_cache: config.store.meta_cache,
        log,
        max_streams: config.jetstream.max_streams,
        max_consumers: config.jetstream.max_consumers,
        max_pending_acks: MAX_PENDING_ACKS,
        server_name: config.server_name.clone(),
        store_max_bytes: config.store.max_bytes,
        store_max_msgs: config.store.max_msgs as u64,
        forwarded: if config.uplink.urls.is_empty() {
            Vec::new()
        } else {
            config
                .uplink
                .forward
                .iter()
                .map(|f| f.stream.clone())
                .collect()
        },
    }
}

/// Pub-acks that may wait for one fsync: past this, publishes are refused until the disk
/// catches up (a slow SD card must not turn into unbounded memory).
const MAX_PENDING_ACKS: usize = 65_536;

/// Group commit: waits for durability work, runs it on a blocking thread, reports back.
/// Appends that arrive while a sync runs form the next batch.
async fn sync_loop(router: Rc<RefCell<Router>>) {
    loop {
        let jobs = future::poll_fn(|cx| router.borrow_mut().poll_sync_jobs(cx)).await;
        let outcomes =
            smol::unblock(move || jobs.into_iter().map(SyncJob::run).collect::<Vec<_>>()).await;
        router.borrow_mut().sync_done(outcomes);
    }
}

/// Runs the engine's timers (redeliveries, pull expiry, heartbeats, max_age, interval
/// fsync) at their deadline; re-arms when an earlier deadline appears.
async fn timer_loop(router: Rc<RefCell<Router>>) {
    /// Even with nothing scheduled, look again this often (cheap, and bounds any missed wakeup).
    const IDLE: Duration = Duration::from_secs(5);
    /// At least this long between ticks: a deadline only another task can act on (a sync
    /// due, a consumer state to write) must not keep this task from yielding.
    const MIN_GAP: Duration = Duration::from_millis(1);
    loop {
        let mut timer: Option<(Timer, Instant)> = None;
        future::poll_fn(|cx| {
            let deadline = router.borrow_mut().js_next_deadline(cx);
            let wait = deadline.map_or(IDLE, |d| {
                Duration::from_nanos(d.0.saturating_sub(jetstream::engine::now().0))
                    .clamp(MIN_GAP, IDLE)
            });
            let at = Instant::now() + wait;
            // First poll, or woken early because an earlier deadline appeared: (re)arm.
            if timer.as_ref().is_none_or(|(_, armed)| *armed > at) {
                timer = Some((Timer::at(at), at));
            }
            match &mut timer {
                Some((t, _)) => std::pin::Pin::new(t).poll(cx).map(|_| ()),
                None => std::task::Poll::Pending,
            }
        })
        .await;
        router.borrow_mut().js_tick();
    }
}

/// Accepts connections forever, one task each.
async fn accept_loop(
    ex: &LocalExecutor<'_>,
    listener: &Async<TcpListener>,
    router: &Rc<RefCell<Router>>,
    tls: Option<&Rc<ClientTls>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                // Small frames (PONG, request replies) must not wait for Nagle.
                if let Err(e) = stream.get_ref().set_nodelay(true) {
                    log::debug!("{addr}: set_nodelay: {e}");
                }
                ex.spawn(link::client::serve(
                    stream,
                    addr,
                    router.clone(),
                    tls.cloned(),
                ))
                .detach();
            }
            Err(e) => {
                log::warn!("accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}
