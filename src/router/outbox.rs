//! Outboxes: encoded frames waiting for a connection's writer, and the poll functions the
//! link uses to wait on them (data to write, closing, drained below the stall mark).
//!
//! Owns: the hand-over between the synchronous router and the link's tasks. Each `poll_*`
//! either returns at once or parks the caller's waker here; the router wakes it.

use std::task::{Context, Poll, Waker};

use super::{ClientId, CloseReason, Router};

/// Encoded frames waiting to be written, and the wakers of the tasks that serve the
/// connection.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Bytes queued since the writer last took them.
    pub(crate) buf: Vec<u8>,
    /// Bytes the writer took and has not finished writing yet.
    pub(crate) in_flight: usize,
    /// Woken when `buf` gains bytes or the connection starts closing.
    pub(crate) writer: Option<Waker>,
    /// Woken when the connection starts closing (the reader may be parked in a read).
    pub(crate) reader: Option<Waker>,
    /// Publishers stalled until this outbox drains (back-pressure); at most one entry per
    /// connection, since a publisher waits on one outbox at a time.
    pub(crate) drain_waiters: Vec<Waker>,
}

impl Outbox {
    /// Bytes queued and not yet written.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len() + self.in_flight
    }

    /// Wakes the writer, if it is parked.
    pub(crate) fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

/// What a connection's writer should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Write the bytes now in the writer's buffer, then call [`Router::write_done`].
    Write,
    /// Nothing left to write and the connection is closing: shut the socket.
    Closed(CloseReason),
}

impl Router {
    /// Hands queued bytes to the writer by swapping them into `spare` (which must be
    /// empty), or reports that the connection is closed, or parks the writer.
    pub fn poll_output(&mut self, id: ClientId, spare: &mut Vec<u8>, cx: &mut Context<'_>) -> Poll<Output> {
        let Some(client) = self.clients.get_mut(id.0) else {
            return Poll::Ready(Output::Closed(CloseReason::ClientClosed));
        };
        let out = &mut client.out;
        if !out.buf.is_empty() {
            std::mem::swap(spare, &mut out.buf);
            out.in_flight = spare.len();
            return Poll::Ready(Output::Write);
        }
        if let Some(reason) = client.closing {
            return Poll::Ready(Output::Closed(reason));
        }
        out.writer = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The writer finished writing what it took: wake publishers stalled on this outbox.
    pub fn write_done(&mut self, id: ClientId) {
        if let Some(client) = self.clients.get_mut(id.0) {
            client.out.in_flight = 0;
            for w in client.out.drain_waiters.drain(..) {
                w.wake();
            }
        }
    }

    /// Ready once the connection is closing; for a reader parked in a read.
    pub fn poll_closing(&mut self, id: ClientId, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let Some(client) = self.clients.get_mut(id.0) else {
            return Poll::Ready(CloseReason::ClientClosed);
        };
        match client.closing {
            Some(reason) => Poll::Ready(reason),
            None => {
                client.out.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Ready once `target`'s outbox has drained below the stall mark, or it is gone or
    /// closing, or its writer has made progress since the caller parked.
    pub fn poll_drained(&mut self, target: ClientId, cx: &mut Context<'_>) -> Poll<()> {
        let mark = self.stall_mark;
        let Some(client) = self.clients.get_mut(target.0) else { return Poll::Ready(()) };
        if client.closing.is_some() || client.out.pending() <= mark {
            return Poll::Ready(());
        }
        client.out.drain_waiters.push(cx.waker().clone());
        Poll::Pending
    }
}
