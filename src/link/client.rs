//! One client connection's I/O: read bytes, let the parser cut them into ops, hand each op
//! to the router; write whatever the router queued; keep the connection alive with PINGs.
//!
//! Owns: the socket, the read buffer (bounded by `read_buffer`, grown only to hold one
//! message up to `max_payload`), the writer's buffer, and the connection's timers.
//! Hands off to: the router (ops) and the socket (bytes). Never holds a router borrow
//! across an `.await`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::{Async, Timer};

use crate::protocol::{Op, Parser, ParserLimits, Role};
use crate::router::{ClientId, CloseReason, Flow, Output, Router};

/// The longest a publisher waits, without any progress from a subscriber's writer, for
/// that subscriber's outbox to drain below its soft mark (nats-server stalls fast
/// producers for a few milliseconds the same way).
const STALL_WITHOUT_PROGRESS: Duration = Duration::from_millis(5);

/// How often a stalled publisher looks at the subscriber's outbox again.
const STALL_POLL: Duration = Duration::from_micros(200);

/// When the first PING goes out (nats-server: about 2 s after connecting).
const FIRST_PING: Duration = Duration::from_secs(2);

/// Serves one accepted connection until it closes, then removes it from the router.
pub(crate) async fn serve(stream: Async<TcpStream>, addr: SocketAddr, router: Rc<RefCell<Router>>) {
    let id = router.borrow_mut().add_client(addr);
    log::info!("{}: client connected", router.borrow().label(id));
    let stream = &stream;
    let reading = future::or(read_loop(stream, id, &router), ping_loop(id, &router));
    let (_, closed) = future::zip(reading, write_loop(stream, id, &router)).await;
    let mut r = router.borrow_mut();
    let label = r.label(id);
    let reason = r.closing(id).unwrap_or(closed);
    if let Some(stats) = r.remove_client(id) {
        let msg = format!(
            "{label}: closed: {reason} (in {} msgs / {} bytes, out {} msgs / {} bytes)",
            stats.in_msgs, stats.in_bytes, stats.out_msgs, stats.out_bytes
        );
        // A peer that vanishes (reset, broken pipe) is routine at the edge; warn only when
        // leafd itself closed the connection for cause.
        match reason {
            CloseReason::ClientClosed
            | CloseReason::ServerShutdown
            | CloseReason::ReadError
            | CloseReason::WriteError => log::info!("{msg}"),
            _ => log::warn!("{msg}"),
        }
    }
}

/// Reads and dispatches ops until the connection closes.
async fn read_loop(stream: &Async<TcpStream>, id: ClientId, router: &RefCell<Router>) {
    let (limits, base) = {
        let r = router.borrow();
        let l = r.limits();
        (
            ParserLimits {
                max_control_line: l.max_control_line,
                max_payload: l.max_payload,
            },
            l.read_buffer.max(512),
        )
    };
    let mut parser = Parser::new(Role::Server, limits);
    // Like nats-server, HPUB is refused at its control line until CONNECT enables headers.
    parser.set_headers(false);
    let mut buf = vec![0u8; base];
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if end == buf.len() {
            grow(&mut buf, parser.needed());
        }
        let read = future::or(
            async { Some((&*stream).read(&mut buf[end..]).await) },
            async {
                poll_fn(|cx| router.borrow_mut().poll_closing(id, cx)).await;
                None
            },
        )
        .await;
        let n = match read {
            None => return,
            Some(Ok(0)) => return close(router, id, CloseReason::ClientClosed),
            Some(Ok(n)) => n,
            Some(Err(e)) => {
                log::debug!("{}: read: {e}", router.borrow().label(id));
                return close(router, id, CloseReason::ReadError);
            }
        };
        end += n;
        let stall = {
            let mut r = router.borrow_mut();
            loop {
                match parser.parse(&buf[start..end]) {
                    Ok(Some((op, used))) => {
                        start += used;
                        let connect = matches!(op, Op::Connect(_));
                        if let Flow::Close(_) = r.handle_op(id, op) {
                            return;
                        }
                        if connect {
                            parser.set_headers(r.headers_enabled(id));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let at = start + e.offset().min(end - start);
                        let snippet = &buf[at..end.min(at + 32)];
                        log::warn!(
                            "{}: {e} near {:?}",
                            r.label(id),
                            snippet.escape_ascii().to_string()
                        );
                        r.protocol_error(id, &e);
                        return;
                    }
                }
            }
            r.take_stall(id)
        };
        if start == end {
            end = 0;
            if buf.len() > base {
                buf = vec![0u8; base]; // give back the room a large message needed
            }
        } else if start > 0 {
            buf.copy_within(start..end, 0); // keep the partial op at the front
            end -= start;
        }
        start = 0;
        if let Some(target) = stall {
            stall_on(router, target).await;
        }
    }
}

/// Grows a full read buffer: one op needs more than it holds. With the payload size
/// known the buffer grows to exactly that; otherwise (a long control line) it doubles. The
/// parser's limits bound both, so the buffer never passes max_control_line + max_payload.
fn grow(buf: &mut Vec<u8>, needed: Option<usize>) {
    let want = match needed {
        Some(n) if n > buf.len() => n,
        _ => buf.len() * 2,
    };
    buf.resize(want, 0);
}

/// Back-pressure: waits while `target`'s outbox stays above its soft mark and its writer
/// keeps making progress; gives up after a short spell without progress, so a stuck
/// subscriber costs its publishers only milliseconds before it hits its hard cap.
///
/// It polls on a short timer rather than being woken by the subscriber's writer: stalls
/// are rare and brief, and a timer keeps the two connections' tasks independent.
async fn stall_on(router: &RefCell<Router>, target: ClientId) {
    let Some(mut seen) = router.borrow().drain_progress(target) else {
        return;
    };
    let mut idle = Duration::ZERO;
    while idle < STALL_WITHOUT_PROGRESS {
        Timer::after(STALL_POLL).await;
        match router.borrow().drain_progress(target) {
            None => return,
            Some(writes) if writes != seen => {
                seen = writes;
                idle = Duration::ZERO;
            }
            Some(_) => idle += STALL_POLL,
        }
    }
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

/// Writes queued output until the connection closes; returns the reason.
async fn write_loop(
    stream: &Async<TcpStream>,
    id: ClientId,
    router: &RefCell<Router>,
) -> CloseReason {
    let (deadline, keep) = {
        let r = router.borrow();
        (
            r.limits().write_deadline,
            r.limits().read_buffer.max(4096) * 4,
        )
    };
    let mut spare: Vec<u8> = Vec::new();
    loop {
        let next = poll_fn(|cx| router.borrow_mut().poll_output(id, &mut spare, cx)).await;
        match next {
            Output::Write => {
                if let Err(reason) = write_with_deadline(stream, &spare, deadline).await {
                    if reason == CloseReason::WriteError {
                        log::debug!("{}: write failed", router.borrow().label(id));
                    }
                    close(router, id, reason);
                    return reason;
                }
                spare.clear();
                if spare.capacity() > keep {
                    spare = Vec::new(); // bounded idle memory after a burst
                }
                router.borrow_mut().write_done(id);
            }
            Output::Closed(reason) => {
                let _ = stream.get_ref().shutdown(std::net::Shutdown::Both);
                return reason;
            }
        }
    }
}

/// Writes all of `bytes`; each write call must make progress within `deadline`.
async fn write_with_deadline(
    stream: &Async<TcpStream>,
    bytes: &[u8],
    deadline: Duration,
) -> Result<(), CloseReason> {
    let mut pos = 0;
    while pos < bytes.len() {
        let wrote = future::or(
            async { Some((&*stream).write(&bytes[pos..]).await) },
            async {
                Timer::after(deadline).await;
                None
            },
        )
        .await;
        match wrote {
            Some(Ok(0)) | Some(Err(_)) => return Err(CloseReason::WriteError),
            Some(Ok(n)) => pos += n,
            None => return Err(CloseReason::SlowConsumerWriteDeadline),
        }
    }
    Ok(())
}

fn close(router: &RefCell<Router>, id: ClientId, reason: CloseReason) {
    router.borrow_mut().close(id, reason);
}
