//! The monitoring HTTP listener (`--http HOST:PORT`, `[http] listen`): nats-server's
//! `/healthz`, `/varz`, `/connz`, `/subsz`, `/jsz`, `/leafz` in its JSON field names, and
//! `/metrics` for Prometheus.
//!
//! ```text
//! socket ─► mod.rs (bounded head, timeout) ─► http::parse ─► endpoints ─► router snapshot
//!                                                                  └─► metrics (text format)
//! socket ◄─ mod.rs (one response, Connection: close) ◄────────────────┘
//! ```
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | accepting, the connection bound, timeouts, reading the head, writing the answer |
//! | [`http`] | the strict HTTP/1.1 subset: parsing a head, encoding a response. No I/O |
//! | [`endpoints`] | the paths and their query parameters |
//! | [`metrics`] | the Prometheus text exposition format |
//!
//! Every connection is bounded: at most `http.max_connections` at once (past it, as many
//! again are answered `503` within a second, any more closed unanswered), a head of at most
//! `http.max_request_head` bytes (`400`), all of it within `http.request_timeout` (else
//! closed), one response, then close. Runs on the
//! server's `LocalExecutor`; a router borrow lives only inside one synchronous snapshot call.
//! Must not: change broker state. Hands off to: the router's snapshot methods.

mod endpoints;
mod http;
mod metrics;

use std::cell::{Cell, RefCell};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{future, AsyncReadExt as _, AsyncWriteExt as _};
use smol::{Async, LocalExecutor, Timer};

use crate::config::{Config, HttpConfig};
use crate::router::Router;

use endpoints::Context;
use http::Response;

/// How long to wait after an accept error before trying again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the client may still send after its answer, read and dropped so that closing does
/// not reset the connection before the answer arrives.
const DRAIN_MAX: usize = 64 * 1024;

/// Longest a refused connection is kept to deliver its 503.
const REFUSE_WAIT: Duration = Duration::from_secs(1);

/// Serves monitoring requests on `listener` until dropped.
pub async fn serve(
    ex: &LocalExecutor<'_>,
    listener: Async<TcpListener>,
    router: Rc<RefCell<Router>>,
    config: &Config,
) {
    let settings = Rc::new(config.http.clone());
    let ctx = Rc::new(Context {
        store_dir: config.store.dir.display().to_string(),
    });
    let active = Rc::new(Cell::new(0usize));
    // Connections being refused (answered 503), bounded like the served ones.
    let refusing = Rc::new(Cell::new(0usize));
    let busy: Rc<[u8]> = Response::text(503, "too many monitoring connections")
        .encode(false)
        .into();
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("monitor: accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if active.get() >= settings.max_connections {
            log::debug!("monitor: {addr}: refused, {} open", active.get());
            if refusing.get() >= settings.max_connections {
                continue; // past both bounds: closed at once, unanswered
            }
            // A short task writes the 503 and reads what the client sends, so closing does
            // not reset the connection before the client has read the answer.
            refusing.set(refusing.get() + 1);
            let slot = Slot(refusing.clone());
            let (busy, wait) = (busy.clone(), settings.request_timeout.min(REFUSE_WAIT));
            ex.spawn(async move {
                let _slot = slot;
                answer_and_close(stream, &busy, wait).await;
            })
            .detach();
            continue;
        }
        active.set(active.get() + 1);
        let slot = Slot(active.clone());
        let (router, settings, ctx) = (router.clone(), settings.clone(), ctx.clone());
        ex.spawn(async move {
            let _slot = slot;
            handle(stream, addr, &router, &settings, &ctx).await;
        })
        .detach();
    }
}

/// One open monitoring connection; gives its place back when dropped.
struct Slot(Rc<Cell<usize>>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// Why no request came.
enum Failed {
    /// The head grew past `max_request_head`.
    TooLarge,
    /// The peer closed first or reading failed.
    Closed,
}

async fn handle(
    mut stream: Async<TcpStream>,
    addr: SocketAddr,
    router: &RefCell<Router>,
    settings: &HttpConfig,
    ctx: &Context,
) {
    let timeout = settings.request_timeout;
    let read = future::or(
        async { Some(read_head(&mut stream, settings.max_request_head).await) },
        async {
            Timer::after(timeout).await;
            None
        },
    )
    .await;
    let (response, head_only) = match read {
        None => {
            log::debug!("monitor: {addr}: no complete request within {timeout:?}; closing");
            return;
        }
        Some(Err(Failed::Closed)) => return,
        Some(Err(Failed::TooLarge)) => (Response::text(400, "request head too large"), false),
        Some(Ok(head)) => match http::parse(&head) {
            Ok(req) => {
                log::debug!("monitor: {addr}: {} {}", req.method, req.path);
                (endpoints::respond(&req, router, ctx), req.method == "HEAD")
            }
            Err(http::Malformed(why)) => (Response::text(400, why), false),
        },
    };
    answer_and_close(stream, &response.encode(head_only), timeout).await;
}

/// Writes `bytes`, then reads (and drops) what the peer still sends until it closes, each
/// step within `timeout` and the reading bounded in bytes: closing with unread input would
/// make the kernel answer with a reset that can destroy the response on its way.
async fn answer_and_close(mut stream: Async<TcpStream>, bytes: &[u8], timeout: Duration) {
    let wrote = future::or(async { stream.write_all(bytes).await.is_ok() }, async {
        Timer::after(timeout).await;
        false
    })
    .await;
    if !wrote {
        log::debug!("monitor: response not taken within {timeout:?}; closing");
        return;
    }
    let _ = stream.get_ref().shutdown(Shutdown::Write);
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    let _ = future::or(
        async {
            while drained < DRAIN_MAX {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        },
        async {
            Timer::after(timeout).await;
        },
    )
    .await;
}

/// Reads until the head's blank line; the bytes up to and including it.
async fn read_head(stream: &mut Async<TcpStream>, max: usize) -> Result<Vec<u8>, Failed> {
    let mut buf = vec![0u8; max];
    let mut len = 0;
    loop {
        if len == max {
            return Err(Failed::TooLarge);
        }
        let n = stream
            .read(&mut buf[len..])
            .await
            .map_err(|_| Failed::Closed)?;
        if n == 0 {
            return Err(Failed::Closed);
        }
        // Only the new bytes (and the three before them) can complete the blank line.
        let from = len.saturating_sub(3);
        len += n;
        if let Some(end) = http::head_end(&buf[from..len]) {
            buf.truncate(from + end);
            return Ok(buf);
        }
    }
}
