//! One client connection: TLS first when `[tls]` is set, its parser (server role, HPUB only
//! after a CONNECT with headers), its keepalive PINGs on nats-server's schedule, and its
//! close log line.
//!
//! Owns: the connection's lifecycle. Hands off to: [`super::conn`] for reading and writing,
//! the router for ops. Never holds a router borrow across an `.await`.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{future, AsyncRead, AsyncWrite};
use smol::{Async, Timer};

use crate::protocol::{Op, Parser, ParserLimits, Role};
use crate::router::{ClientId, CloseReason, Flow, Router};

use super::conn::{read_loop, write_loop};
use super::tls_server::{self, ClientTls};

/// When the first PING goes out (nats-server: about 2 s after connecting).
const FIRST_PING: Duration = Duration::from_secs(2);

/// Serves one accepted connection until it closes, then removes it from the router. With
/// `tls`, TLS starts first (see [`super::tls_server::start`]); keepalive PINGs and the
/// authentication timer start once it is up, as in nats-server.
pub(crate) async fn serve(
    stream: Async<TcpStream>,
    addr: SocketAddr,
    router: Rc<RefCell<Router>>,
    tls: Option<Rc<ClientTls>>,
) {
    let id = router.borrow_mut().add_client(addr);
    log::info!("{}: client connected", router.borrow().label(id));
    let closed = match tls {
        None => {
            let stream = &stream;
            let shut = || {
                let _ = stream.get_ref().shutdown(std::net::Shutdown::Both);
            };
            run(stream, stream, shut, id, &router).await
        }
        Some(tls) => match tls_server::start(stream, id, &router, &tls).await {
            Ok(s) => {
                log::debug!("{}: TLS handshake complete", router.borrow().label(id));
                match s.get_ref().0.get_ref().try_clone() {
                    Ok(raw) => {
                        let shut = move || {
                            let _ = raw.shutdown(std::net::Shutdown::Both);
                        };
                        let (r, w) = futures_lite::io::split(s);
                        run(r, w, shut, id, &router).await
                    }
                    Err(e) => {
                        log::debug!(
                            "{}: cannot clone the socket: {e}",
                            router.borrow().label(id)
                        );
                        CloseReason::ReadError
                    }
                }
            }
            Err(reason) => reason,
        },
    };
    finish(&router, id, closed);
}

/// Runs the connection's parser, keepalive and auth timer over `reader` and `writer`.
async fn run<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    reader: R,
    writer: W,
    shut: impl FnOnce(),
    id: ClientId,
    router: &RefCell<Router>,
) -> CloseReason {
    let mut parser = {
        let r = router.borrow();
        let l = r.limits();
        Parser::new(
            Role::Server,
            ParserLimits {
                max_control_line: l.max_control_line,
                max_payload: l.max_payload,
            },
        )
    };
    // Like nats-server, HPUB is refused at its control line until CONNECT enables headers.
    parser.set_headers(false);
    let reading = future::or(
        read_loop(reader, id, router, parser, dispatch),
        future::or(ping_loop(id, router), auth_timer(id, router)),
    );
    let (_, closed) = future::zip(reading, write_loop(writer, shut, id, router)).await;
    closed
}

/// Removes a closed connection from the router and logs its one close line.
fn finish(router: &RefCell<Router>, id: ClientId, closed: CloseReason) {
    let mut r = router.borrow_mut();
    let label = r.label(id);
    let reason = r.closing(id).unwrap_or(closed);
    if let Some(stats) = r.remove_client(id) {
        let msg = format!(
            "{label}: closed: {reason} (in {} msgs / {} bytes, out {} msgs / {} bytes)",
            stats.in_msgs, stats.in_bytes, stats.out_msgs, stats.out_bytes
        );
        // A peer that vanishes (reset, broken pipe) is routine at the edge; warn only when
        // leafd itself closed the connection for cause. A refused login has had its WARN
        // already (with the user and what was wrong): one line per guess is enough; so has
        // a failed TLS handshake (or it was a plaintext probe, which nats-server logs at
        // debug).
        match reason {
            CloseReason::ClientClosed
            | CloseReason::ServerShutdown
            | CloseReason::ReadError
            | CloseReason::WriteError
            | CloseReason::AuthViolation
            | CloseReason::AuthTimeout
            | CloseReason::TlsHandshake => log::info!("{msg}"),
            _ => log::warn!("{msg}"),
        }
    }
}

/// A client op to the router; a CONNECT decides whether the parser takes HPUB.
fn dispatch(r: &mut Router, id: ClientId, op: Op<'_>, parser: &mut Parser) -> Flow {
    let connect = matches!(op, Op::Connect(_));
    let flow = r.handle_op(id, op);
    if connect {
        parser.set_headers(r.headers_enabled(id));
    }
    flow
}

/// With authentication on, closes the connection if it has not authenticated in time
/// (nats-server's `-ERR 'Authentication Timeout'`); otherwise never ends.
async fn auth_timer(id: ClientId, router: &RefCell<Router>) {
    let timeout = router.borrow().auth_timeout();
    if let Some(timeout) = timeout {
        Timer::after(timeout).await;
        router.borrow_mut().auth_timed_out(id);
    }
    // Closed, or authenticated: park until the writer finishes; `or` ends us then.
    future::pending::<()>().await;
}

/// Sends PINGs on the nats-server schedule; ends when the connection goes stale or closes.
async fn ping_loop(id: ClientId, router: &RefCell<Router>) {
    let interval = router.borrow().limits().ping_interval;
    let first = FIRST_PING.min(interval);
    // Up to 20 % jitter, so many connections accepted together do not ping together.
    let jitter = |d: Duration| d + d.mul_f64(fastrand::f64() * 0.2);
    Timer::after(jitter(first)).await;
    loop {
        if !router.borrow_mut().ping_tick(id) {
            // Stale (or closing): park until the writer finishes; `or` ends us then.
            future::pending::<()>().await;
        }
        Timer::after(interval).await;
    }
}
