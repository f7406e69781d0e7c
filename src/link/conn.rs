//! The I/O every connection shares, client or hub link: read bytes and hand the parsed ops
//! to the router, write whatever the router queued, and stall a publisher whose subscriber
//! falls behind.
//!
//! Owns: the read buffer (bounded by `read_buffer`, grown only to hold one message up to
//! the parser's `max_payload`), the writer's buffer and its write deadline. Never holds a
//! router borrow across an `.await`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use smol::Timer;

use crate::protocol::{Op, Parser};
use crate::router::{ClientId, CloseReason, Flow, Output, Router};

/// The longest a publisher waits, without any progress from a subscriber's writer, for
/// that subscriber's outbox to drain below its soft mark (nats-server stalls fast
/// producers for a few milliseconds the same way).
const STALL_WITHOUT_PROGRESS: Duration = Duration::from_millis(5);

/// How often a stalled publisher looks at the subscriber's outbox again.
const STALL_POLL: Duration = Duration::from_micros(200);

/// bcrypt checks running at once: each takes 0.1-1 s of a core, so a burst of logins (or
/// of guesses) queues here instead of taking every core and a thread each.
static BCRYPT_SLOTS: smol::lock::Semaphore = smol::lock::Semaphore::new(2);

/// bcrypt checks that may wait for a slot. A login past this is refused at once (the
/// client sees 'Authorization Violation' and retries), so a flood of guesses cannot make
/// a real login wait without bound.
const BCRYPT_WAITING_MAX: usize = 16;

/// bcrypt checks waiting or running now.
static BCRYPT_QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Logins refused because too many bcrypt checks were queued, since start.
static BCRYPT_REFUSED: AtomicUsize = AtomicUsize::new(0);

/// A connection's first read buffer; it grows to `limits.read_buffer` as reads fill it.
const FIRST_READ: usize = 1024;

/// Runs a bcrypt check on a blocking thread, at most [`BCRYPT_SLOTS`] at once; refuses it
/// when [`BCRYPT_WAITING_MAX`] are already waiting.
async fn bcrypt_off_loop(check: crate::router::BcryptCheck) -> bool {
    let queued = BCRYPT_QUEUED.fetch_add(1, Ordering::Relaxed);
    let _count = scopeguard(|| {
        BCRYPT_QUEUED.fetch_sub(1, Ordering::Relaxed);
    });
    if queued >= BCRYPT_WAITING_MAX + 2 {
        // Logged at the 1st, 2nd, 4th, 8th... refusal: a flood must not flood the log too.
        let refused = BCRYPT_REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
        if refused.is_power_of_two() {
            log::warn!(
                "{queued} password checks already queued: logins refused at once ({refused} \
                 so far; many logins at the same moment, or someone guessing passwords)"
            );
        }
        return false;
    }
    let _slot = BCRYPT_SLOTS.acquire().await;
    smol::unblock(move || check.run()).await
}

/// Runs `f` when dropped (also when the future holding it is cancelled).
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// Reads ops with `parser` and hands each to `dispatch` until the connection closes.
/// `dispatch` may adjust the parser (a client's CONNECT decides whether HPUB is allowed).
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    id: ClientId,
    router: &RefCell<Router>,
    mut parser: Parser,
    dispatch: impl Fn(&mut Router, ClientId, Op<'_>, &mut Parser) -> Flow,
) {
    // A connection starts with a small buffer and doubles it, up to `read_buffer`, each
    // time a read fills it (as nats-server does): an idle or quiet connection costs
    // FIRST_READ, not read_buffer, and a busy one soon reads in full-size chunks.
    let max = router.borrow().limits().read_buffer.max(512);
    let mut base = FIRST_READ.min(max);
    let mut buf = vec![0u8; base];
    let (mut start, mut end) = (0usize, 0usize);
    // Ops already buffered wait for a bcrypt check; parse them before reading more.
    let mut parse_buffered = false;
    loop {
        if end == buf.len() {
            grow(&mut buf, parser.needed());
        }
        if !std::mem::take(&mut parse_buffered) {
            let read = future::or(async { Some(reader.read(&mut buf[end..]).await) }, async {
                poll_fn(|cx| router.borrow_mut().poll_closing(id, cx)).await;
                None
            })
            .await;
            let n = match read {
                None => return,
                Some(Ok(0)) => return close(router, id, CloseReason::ClientClosed),
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    let mut r = router.borrow_mut();
                    log::debug!("{}: read: {e}", r.label(id));
                    r.note_read_error(id, e.to_string());
                    r.close(id, CloseReason::ReadError);
                    return;
                }
            };
            end += n;
            if end == buf.len() && base < max {
                base = (base * 2).min(max);
                if buf.len() < base {
                    buf.resize(base, 0);
                }
            }
        }
        let mut check = None;
        let stall = {
            let mut r = router.borrow_mut();
            r.touch(id);
            loop {
                match parser.parse(&buf[start..end]) {
                    Ok(Some((op, used))) => {
                        start += used;
                        let connect = matches!(op, Op::Connect(_));
                        if let Flow::Close(_) = dispatch(&mut r, id, op, &mut parser) {
                            return;
                        }
                        // A CONNECT whose password is a bcrypt hash: nothing after it may
                        // run before the check passes.
                        if connect {
                            check = r.take_bcrypt_check(id);
                            if check.is_some() {
                                break;
                            }
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
        if let Some(check) = check {
            let ok = bcrypt_off_loop(check).await;
            if let Flow::Close(_) = router.borrow_mut().bcrypt_checked(id, ok) {
                return;
            }
            parse_buffered = end > 0;
        }
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

/// Writes queued output until the connection closes, then calls `shut` (which closes the
/// socket, waking the reader too); returns the reason.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    shut: impl FnOnce(),
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
                if let Err(reason) = write_with_deadline(&mut writer, &spare, deadline).await {
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
                shut();
                return reason;
            }
        }
    }
}

/// Writes all of `bytes`; each write call must make progress within `deadline`.
pub(crate) async fn write_with_deadline<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    deadline: Duration,
) -> Result<(), CloseReason> {
    let mut pos = 0;
    while pos < bytes.len() {
        let wrote = future::or(async { Some(writer.write(&bytes[pos..]).await) }, async {
            Timer::after(deadline).await;
            None
        })
        .await;
        match wrote {
            Some(Ok(0)) | Some(Err(_)) => return Err(CloseReason::WriteError),
            Some(Ok(n)) => pos += n,
            None => return Err(CloseReason::SlowConsumerWriteDeadline),
        }
    }
    // A no-op on TCP; TLS may still hold encrypted records.
    let flushed = future::or(async { Some(writer.flush().await) }, async {
        Timer::after(deadline).await;
        None
    })
    .await;
    match flushed {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(CloseReason::WriteError),
        None => Err(CloseReason::SlowConsumerWriteDeadline),
    }
}

pub(crate) fn close(router: &RefCell<Router>, id: ClientId, reason: CloseReason) {
    router.borrow_mut().close(id, reason);
}
