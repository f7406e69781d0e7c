//! The router's side of JetStream: hands publishes to the engine, delivers what the engine
//! emits (API replies, pub-acks, pull deliveries, status messages), and wakes the server's
//! sync and timer tasks.
//!
//! Owns: the engine handle and the two wakers. Must not: do the engine's work or block.
//! Hands off to: [`JetStream`] (the state), the server's tasks (durability and timers).

use std::task::{Context, Poll, Waker};

use crate::jetstream::engine::{now, JetStream, SyncJob, SyncOutcome};
use crate::jetstream::time::Timestamp;
use crate::jetstream::Outgoing;
use crate::protocol::Message;

use super::{ClientId, Router};

/// The sender id of messages the broker itself publishes: no client has it, so echo rules
/// and back-pressure never apply to it.
pub(crate) const INTERNAL: ClientId = ClientId(usize::MAX);

impl Router {
    /// Sends `body` as leafd's own reply to `reply` (status and varz requests).
    pub(super) fn reply_internal(&mut self, reply: &[u8], body: &[u8]) {
        let msg = Message {
            subject: reply,
            reply: None,
            headers: None,
            payload: body,
        };
        self.route_to(INTERNAL, reply, msg, false);
    }
}

/// JetStream state as the router holds it.
#[derive(Debug)]
pub(crate) struct JsHandle {
    pub(crate) engine: JetStream,
    /// Scratch for the engine's output, reused.
    scratch: Vec<Outgoing>,
    /// The sync task, parked until there is durability work.
    sync_waker: Option<Waker>,
    /// The timer task, parked until `armed` (or until woken because the deadline moved).
    timer_waker: Option<Waker>,
    /// The deadline the timer task sleeps towards.
    armed: Option<Timestamp>,
}

impl JsHandle {
    pub(crate) fn new(engine: JetStream) -> JsHandle {
        JsHandle {
            engine,
            scratch: Vec::new(),
            sync_waker: None,
            timer_waker: None,
            armed: None,
        }
    }
}

impl Router {
    /// Serves JetStream with `engine`; INFO then advertises `jetstream`.
    pub fn enable_jetstream(&mut self, engine: JetStream) {
        self.info.set_jetstream(true);
        self.js = Some(JsHandle::new(engine));
    }

    /// Whether JetStream is served.
    pub fn jetstream_enabled(&self) -> bool {
        self.js.is_some()
    }

    /// Offers a client's publish to JetStream; `true` when JetStream answers it (so no
    /// no-responders status may be sent for it).
    pub(crate) fn js_publish(&mut self, msg: &Message<'_>) -> bool {
        let Some(js) = &mut self.js else {
            return false;
        };
        js.engine
            .on_publish(msg.subject, msg.reply, msg.headers, msg.payload, now())
    }

    /// Delivers whatever the engine emitted and wakes the tasks that have work.
    pub(crate) fn js_flush(&mut self) {
        let Some(js) = &mut self.js else {
            return;
        };
        if js.engine.wants_sync(now()) {
            if let Some(w) = js.sync_waker.take() {
                w.wake();
            }
        }
        let next = js.engine.next_deadline();
        if next.is_some_and(|n| js.armed.is_none_or(|a| n < a)) {
            if let Some(w) = js.timer_waker.take() {
                w.wake();
            }
        }
        if !js.engine.has_output() {
            return;
        }
        let mut out = std::mem::take(&mut js.scratch);
        js.engine.take_output(&mut out);
        for o in out.drain(..) {
            let msg = Message {
                subject: &o.subject,
                reply: o.reply.as_deref(),
                headers: o.headers.as_deref(),
                payload: &o.payload,
            };
            self.route_to(INTERNAL, &o.to, msg, false);
        }
        if let Some(js) = &mut self.js {
            js.scratch = out;
        }
    }

    /// Push consumers learn whether their deliver subjects have subscribers (after
    /// subscriptions change, and after consumer API requests).
    pub(crate) fn js_refresh_push(&mut self) {
        let Router { js, sublist, .. } = self;
        let Some(js) = js else { return };
        if !js.engine.has_push_consumers() {
            return;
        }
        js.engine
            .refresh_push_interest(now(), &mut |s| sublist.has_interest(s));
        self.js_flush();
    }

    /// For the sync task: the durability work due now, or park until there is some.
    pub fn poll_sync_jobs(&mut self, cx: &mut Context<'_>) -> Poll<Vec<SyncJob>> {
        let Some(js) = &mut self.js else {
            return Poll::Pending;
        };
        let jobs = js.engine.take_sync_jobs(now());
        // take_sync_jobs may release acks (interval mode, memory streams).
        let ready = if jobs.is_empty() {
            js.sync_waker = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(jobs)
        };
        self.js_flush();
        ready
    }

    /// For the sync task: what the jobs did; releases the acks they made durable.
    pub fn sync_done(&mut self, outcomes: Vec<SyncOutcome>) {
        if let Some(js) = &mut self.js {
            js.engine.sync_done(outcomes, now());
        }
        self.js_flush();
        // Records just made durable may be forwarded now.
        self.forward_kick();
    }

    /// For the timer task: when to call [`Router::js_tick`] next (`None`: nothing
    /// scheduled); registers the task to be woken if an earlier deadline appears.
    pub fn js_next_deadline(&mut self, cx: &mut Context<'_>) -> Option<Timestamp> {
        let js = self.js.as_mut()?;
        let next = js.engine.next_deadline();
        js.armed = next;
        js.timer_waker = Some(cx.waker().clone());
        next
    }

    /// For the timer task: run the engine's timers.
    pub fn js_tick(&mut self) {
        let Router { js, sublist, .. } = self;
        if let Some(js) = js {
            js.engine.tick(now(), &mut |s| sublist.has_interest(s));
        }
        self.js_flush();
    }

    /// Makes everything durable before exit and sends the last acks.
    pub fn js_shutdown(&mut self) {
        if let Some(js) = &mut self.js {
            js.engine.shutdown();
        }
        self.js_flush();
    }
}
