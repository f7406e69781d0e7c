//! `run`: wires the listener, the router and the connection tasks on one `LocalExecutor`.
//!
//! Owns: the executor, the accept loop and graceful shutdown.
//! Hands off to: `link` (one task per connection) and `router` (the state they share).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::future;
use smol::{Async, LocalExecutor, Timer};

use crate::config::Config;
use crate::link;
use crate::router::{CloseReason, Router, ServerInfo};

/// How long to wait after an accept error (e.g. out of file descriptors) before trying
/// again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the server stopped with an error.
#[derive(Debug)]
pub enum ServerError {
    /// The listener could not be used.
    Listener(std::io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Listener(e) => write!(f, "client listener: {e}"),
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
/// Fails only if the listener cannot be registered with the reactor.
pub fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::Listener)?;
    let listener = Async::new(listener).map_err(ServerError::Listener)?;
    let info = ServerInfo::new(&config.server_name, addr, config.limits.max_payload);
    let router = Rc::new(RefCell::new(Router::new(info, config.limits.clone())));
    let ex = LocalExecutor::new();
    smol::block_on(ex.run(async {
        future::or(accept_loop(&ex, &listener, &router), shutdown).await;
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

/// Accepts connections forever, one task each.
async fn accept_loop(
    ex: &LocalExecutor<'_>,
    listener: &Async<TcpListener>,
    router: &Rc<RefCell<Router>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                // Small frames (PONG, request replies) must not wait for Nagle.
                if let Err(e) = stream.get_ref().set_nodelay(true) {
                    log::debug!("{addr}: set_nodelay: {e}");
                }
                ex.spawn(link::client::serve(stream, addr, router.clone()))
                    .detach();
            }
            Err(e) => {
                log::warn!("accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}
