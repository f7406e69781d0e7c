//! Delivery: queuing pull requests, handing messages (new ones and redeliveries) to them,
//! ending them with 404/408/409, idle heartbeats, and the consumer's next timer deadline.
//!
//! Owns: the order of nats-server's `processNextMsgRequest`, `getNextMsg` and
//! `processWaiting`, on leafd's terms: requests are served round-robin, one message each in
//! turn. Must not: do I/O or read the clock (`now` is passed in). Hands off to: the engine,
//! which routes every `Outgoing` pushed to `out`.

use crate::jetstream::source::{MessageSource, Outgoing};
use crate::jetstream::time::Timestamp;
use crate::store::StoredMsg;

use super::ack::{ack_subject, AckSubject};
use super::config::AckPolicy;
use super::pull::{after, parse_pull, Waiting};
use super::push::headers_only;
use super::state::{Consumer, Pending, HARD_MAX_WAITING};
use super::status;
use crate::jetstream::time::go_duration_string;

/// A delivery about to be made: its counts and ack subject.
pub(crate) struct Prepared {
    delivered: u64,
    consumer_seq: u64,
    timestamp: u64,
    reply: Vec<u8>,
}

impl Prepared {
    /// What delivering `msg` with this ack subject costs, as nats-server counts it for
    /// `max_bytes` and rate limits: subject, reply, headers and payload.
    pub(crate) fn size_of(&self, msg: &StoredMsg) -> u64 {
        (msg.subject.len() + self.reply.len() + msg.headers.len() + msg.payload.len()) as u64
    }
}

/// Where the next message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    /// The front of the redelivery queue.
    Redeliver,
    /// The front of the `last_per_subject` start list.
    StartList,
    /// The stream, at or after `next_seq`.
    Stream,
}

impl Consumer {
    /// A `MSG.NEXT` request (or the body of a `+NXT` ack) whose deliveries go to `reply`.
    /// Refusals are status messages to `reply`, as nats-server sends them.
    pub fn pull(
        &mut self,
        reply: &[u8],
        body: &[u8],
        src: &dyn MessageSource,
        now: Timestamp,
        out: &mut Vec<Outgoing>,
    ) {
        self.touch(now);
        let send = |out: &mut Vec<Outgoing>, h: Vec<u8>| out.push(Outgoing::status(reply, h));
        let req = match parse_pull(body) {
            Ok(r) => r,
            Err(why) => return send(out, status::plain(400, &format!("Bad Request - {why}"))),
        };
        let cfg = &self.config;
        if cfg.max_request_batch > 0 && req.batch > cfg.max_request_batch.unsigned_abs() {
            let text = format!("Exceeded MaxRequestBatch of {}", cfg.max_request_batch);
            return send(out, status::plain(409, &text));
        }
        if req.expires > 0
            && cfg.max_request_expires > 0
            && req.expires > cfg.max_request_expires.unsigned_abs()
        {
            let limit = go_duration_string(cfg.max_request_expires.unsigned_abs());
            let text = format!("Exceeded MaxRequestExpires of {limit}");
            return send(out, status::plain(409, &text));
        }
        if req.max_bytes > 0
            && cfg.max_request_max_bytes > 0
            && req.max_bytes > cfg.max_request_max_bytes.unsigned_abs()
        {
            let text = format!(
                "Exceeded MaxRequestMaxBytes of {}",
                cfg.max_request_max_bytes
            );
            return send(out, status::plain(409, &text));
        }
        if self.waiting_full() {
            self.process_waiting(now, out);
            if self.waiting_full() {
                // With heartbeats the client notices on its own; a 409 would make it retry hot.
                if req.heartbeat == 0 {
                    send(out, status::plain(409, "Exceeded MaxWaiting"));
                }
                return;
            }
        }
        self.expire_pending(now);
        if req.no_wait {
            let available = self
                .num_pending(src)
                .saturating_add(self.redeliver.len() as u64);
            if available == 0 && req.expires == 0 {
                return send(out, status::no_messages());
            }
            let wanted: u64 = self.waiting.iter().map(|w| w.remaining).sum();
            if available > 0 && available < wanted {
                return send(out, status::plain(408, "Requests Pending"));
            }
        }
        self.waiting.push_back(Waiting::new(reply, &req, now));
        self.deliver(src, now, out);
    }

    /// Pending messages whose ack wait (or NAK delay) has passed go on the redelivery queue;
    /// those that used up `max_deliver` are dropped from pending (no more deliveries).
    pub(crate) fn expire_pending(&mut self, now: Timestamp) {
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| !p.queued && p.deadline <= now.0)
            .map(|(&s, _)| s)
            .collect();
        let mut dropped = false;
        for seq in due {
            let Some(p) = self.pending.get(&seq).copied() else {
                continue;
            };
            if self.exhausted(&p) {
                self.pending.remove(&seq);
                dropped = true;
                log::debug!(
                    "consumer {} > {}: seq {seq} reached max_deliver",
                    self.stream,
                    self.name
                );
            } else {
                self.queue(seq);
            }
        }
        if dropped {
            self.dirty = true;
            self.update_floor();
        }
    }

    fn waiting_full(&self) -> bool {
        let max = usize::try_from(self.config.max_waiting).unwrap_or(0);
        self.waiting.len() >= max.clamp(1, HARD_MAX_WAITING)
    }

    /// Expiries, heartbeats, due redeliveries, then deliveries to waiting requests. The engine
    /// calls it after every publish into the stream, after acks, and at `next_deadline`.
    pub fn poll(&mut self, src: &dyn MessageSource, now: Timestamp, out: &mut Vec<Outgoing>) {
        self.expire_pending(now);
        self.pace.start(src.last_seq());
        if self.is_push() {
            self.deliver_push(src, now, out);
            self.push_heartbeat(now, out);
            return;
        }
        self.process_waiting(now, out);
        self.deliver(src, now, out);
    }

    /// When `poll` next has something to do without outside events. Pull: a request
    /// expiring or owing a heartbeat, a redelivery coming due (while someone waits), or the
    /// inactivity threshold passing (while nobody waits). Push: its heartbeat or backlog, a
    /// redelivery, and (ephemeral) the inactivity threshold.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let (next, delivering, idle_counts) = if self.is_push() {
            (
                self.push_deadline(self.last_activity),
                true,
                !self.is_durable(),
            )
        } else {
            let paced = self.pace.until().filter(|_| !self.waiting.is_empty());
            let requests = self
                .waiting
                .iter()
                .filter_map(Waiting::deadline)
                .chain(paced)
                .min();
            (requests, !self.waiting.is_empty(), self.waiting.is_empty())
        };
        let redelivery = if delivering {
            self.next_redelivery()
        } else {
            None
        };
        let t = u64::try_from(self.config.inactive_threshold).unwrap_or(0);
        let idle = (idle_counts && t > 0).then(|| after(self.last_activity, t));
        [next, redelivery, idle].into_iter().flatten().min()
    }

    /// When the earliest pending message not yet queued for redelivery comes due.
    fn next_redelivery(&self) -> Option<Timestamp> {
        self.pending
            .values()
            .filter(|p| !p.queued)
            .map(|p| Timestamp(p.deadline))
            .min()
    }

    /// The consumer is being deleted: `409 Consumer Deleted` to every waiting request.
    pub fn close(&mut self, out: &mut Vec<Outgoing>) {
        for w in self.waiting.drain(..) {
            out.push(Outgoing::status(
                &w.reply,
                status::plain(409, "Consumer Deleted"),
            ));
        }
    }

    /// Ends expired requests with `408 Request Timeout` and sends heartbeats that are due.
    fn process_waiting(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        let (last_c, last_s) = (self.consumer_seq, self.next_seq.saturating_sub(1));
        self.waiting.retain_mut(|w| {
            if w.expires.is_some_and(|e| now >= e) {
                let bytes = if w.limit_bytes { w.bytes_left } else { 0 };
                let h = status::request_timeout(w.remaining, bytes);
                out.push(Outgoing::status(&w.reply, h));
                return false;
            }
            if w.next_heartbeat.is_some_and(|t| now >= t) {
                out.push(Outgoing::status(
                    &w.reply,
                    status::idle_heartbeat(last_c, last_s),
                ));
                w.next_heartbeat = Some(after(now, w.heartbeat.max(1)));
            }
            true
        });
    }

    /// The next message to hand out, without taking it. Skips (and forgets) redeliveries
    /// whose message is gone or whose `max_deliver` is used up.
    pub(crate) fn peek(&mut self, src: &dyn MessageSource) -> Option<(From, StoredMsg)> {
        while let Some(&seq) = self.redeliver.front() {
            let msg = match self.pending.get(&seq).copied() {
                Some(p) if !self.exhausted(&p) => read(src.get(seq)),
                _ => None,
            };
            match msg {
                Some(m) => return Some((From::Redeliver, m)),
                None => {
                    self.redeliver.pop_front();
                    self.pending.remove(&seq);
                    self.dirty = true;
                    self.update_floor();
                }
            }
        }
        if self.ack_pending_full() {
            return None;
        }
        while let Some(&seq) = self.last_per_subject.front() {
            if let Some(m) = read(src.get(seq)) {
                return Some((From::StartList, m));
            }
            self.last_per_subject.pop_front();
            self.dirty = true;
        }
        read(src.next_matching(self.next_seq, &self.filters)).map(|m| (From::Stream, m))
    }

    /// Hands messages to waiting requests, round-robin, until the requests are filled or the
    /// stream runs dry; then ends `no_wait` requests with `404 No Messages` (once they have
    /// had something, or when they have no expiry).
    fn deliver(&mut self, src: &dyn MessageSource, now: Timestamp, out: &mut Vec<Outgoing>) {
        while !self.waiting.is_empty() {
            let Some((from, msg)) = self.peek(src) else {
                break;
            };
            let Some(mut w) = self.waiting.pop_front() else {
                break;
            };
            let prep = self.prepare(from, &msg, src);
            let size = prep.size_of(&msg);
            if w.limit_bytes && size > w.bytes_left {
                let h = status::max_bytes_exceeded(w.remaining, w.bytes_left);
                out.push(Outgoing::status(&w.reply, h));
                continue;
            }
            if !self.pace.admit(msg.seq, msg.timestamp_ns, size, now) {
                self.waiting.push_front(w);
                break;
            }
            self.emit(from, msg, prep, w.reply.clone(), now, out);
            w.delivered += 1;
            w.remaining -= 1;
            if w.limit_bytes {
                w.bytes_left -= size;
                if w.bytes_left == 0 {
                    w.remaining = 0;
                }
            }
            if w.heartbeat > 0 {
                w.next_heartbeat = Some(after(now, w.heartbeat));
            }
            if w.remaining > 0 {
                self.waiting.push_back(w);
            }
        }
        // The stream is dry (or max_ack_pending holds it back) for whoever still waits.
        self.waiting.retain(|w| {
            let end = w.no_wait && (w.expires.is_none() || w.delivered > 0);
            if end {
                out.push(Outgoing::status(&w.reply, status::no_messages()));
            }
            !end
        });
    }

    /// The ack subject and counts for delivering `msg` (from `from`) next.
    pub(crate) fn prepare(&self, from: From, msg: &StoredMsg, src: &dyn MessageSource) -> Prepared {
        let delivered = match from {
            From::Redeliver => self.pending.get(&msg.seq).map_or(1, |p| p.delivered + 1),
            _ => 1,
        };
        let consumer_seq = self.consumer_seq + 1;
        let pending_after = match from {
            From::Redeliver => self.num_pending(src),
            From::StartList => self.num_pending(src).saturating_sub(1),
            From::Stream => {
                let later = src.count_matching(msg.seq.saturating_add(1), &self.filters);
                later.saturating_add(self.last_per_subject.len() as u64)
            }
        };
        let timestamp = u64::try_from(msg.timestamp_ns).unwrap_or(0);
        let ack = AckSubject {
            stream: &self.stream,
            consumer: &self.name,
            delivered,
            stream_seq: msg.seq,
            consumer_seq,
            timestamp,
            pending: pending_after,
        };
        Prepared {
            delivered,
            consumer_seq,
            timestamp,
            reply: ack_subject(&self.stream, &self.name, &ack).into_bytes(),
        }
    }

    /// Takes `msg` and hands it to `to` (with `headers_only`, its headers and size only).
    /// Returns the bytes delivered.
    pub(crate) fn emit(
        &mut self,
        from: From,
        msg: StoredMsg,
        prep: Prepared,
        to: Vec<u8>,
        now: Timestamp,
        out: &mut Vec<Outgoing>,
    ) -> u64 {
        self.take(
            from,
            &msg,
            prep.delivered,
            prep.consumer_seq,
            prep.timestamp,
            now,
        );
        let (headers, payload) = if self.config.headers_only {
            (
                Some(headers_only(&msg.headers, msg.payload.len())),
                Vec::new(),
            )
        } else {
            (
                (!msg.headers.is_empty()).then_some(msg.headers),
                msg.payload,
            )
        };
        let size = (msg.subject.len()
            + prep.reply.len()
            + headers.as_ref().map_or(0, Vec::len)
            + payload.len()) as u64;
        out.push(Outgoing {
            to,
            subject: msg.subject,
            reply: Some(prep.reply),
            headers,
            payload,
        });
        size
    }

    /// Records a delivery of `msg`: cursor, pending entry, activity.
    fn take(
        &mut self,
        from: From,
        msg: &StoredMsg,
        delivered: u64,
        consumer_seq: u64,
        timestamp: u64,
        now: Timestamp,
    ) {
        match from {
            From::Redeliver => {
                self.redeliver.pop_front();
            }
            From::StartList => {
                self.last_per_subject.pop_front();
            }
            From::Stream => self.next_seq = msg.seq.saturating_add(1),
        }
        self.consumer_seq = consumer_seq;
        self.delivered_active = now;
        self.touch(now);
        self.dirty = true;
        if self.config.ack_policy == AckPolicy::None {
            self.update_floor();
            return;
        }
        let wait = u64::try_from(self.config.redelivery_wait(delivered)).unwrap_or(0);
        self.pending.insert(
            msg.seq,
            Pending {
                consumer_seq,
                delivered,
                deadline: after(now, wait).0,
                timestamp,
                queued: false,
            },
        );
    }
}

/// A store read; failures are logged and treated as "nothing to deliver now".
fn read(r: Result<Option<StoredMsg>, crate::jetstream::ApiError>) -> Option<StoredMsg> {
    r.unwrap_or_else(|e| {
        log::warn!("consumer read failed: {e}");
        None
    })
}
