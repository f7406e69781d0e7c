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
    /// Writes completed so far; stalled publishers watch it for progress.
    pub(crate) writes: u64,
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
    pub fn poll_output(
        &mut self,
        id: ClientId,
        spare: &mut Vec<u8>,
        cx: &mut Context<'_>,
    ) -> Poll<Output> {
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

    /// The writer finished writing what it took.
    pub fn write_done(&mut self, id: ClientId) {
        if let Some(client) = self.clients.get_mut(id.0) {
            client.out.in_flight = 0;
            client.out.writes += 1;
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

    /// For a publisher stalled on `target`: `None` once the outbox has drained below the
    /// stall mark (or the connection is gone or closing), else the count of writes completed
    /// so far, so the caller can tell a slow subscriber from a stuck one.
    pub fn drain_progress(&self, target: ClientId) -> Option<u64> {
        let client = self.clients.get(target.0)?;
        (client.closing.is_none() && client.out.pending() > self.stall_mark)
            .then_some(client.out.writes)
    }
}
