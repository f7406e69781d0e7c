//! Push delivery: messages go to `deliver_subject` (the router hands them to any subscriber,
//! one member of `deliver_group`), with idle heartbeats and flow control as nats-server sends
//! them (PROTOCOL.md §3.9).
//!
//! Owns: the push consumer's runtime state ([`PushState`]: heartbeat timer, the outstanding
//! flow-control request, bytes since the last one) and the delivery loop. Acks, redelivery,
//! `max_ack_pending` and the cursor are the consumer's as for pull. Flow control: after
//! [`FC_BYTES`] delivered, a `100 FlowControl Request` with reply `$JS.FC.<stream>.<consumer>.<n>`
//! goes out and delivery pauses until the client publishes to it; heartbeats carry
//! `Nats-Consumer-Stalled` meanwhile, so a lost request is asked again. Must not: read the
//! clock or do I/O. Hands off to: the engine, which routes `out` and the `$JS.FC.` replies.

use crate::jetstream::source::{MessageSource, Outgoing};
use crate::jetstream::time::Timestamp;

use super::pull::after;
use super::state::Consumer;

/// Delivered bytes after which a flow-control request is sent (and delivery waits for it).
pub(crate) const FC_BYTES: u64 = 512 * 1024;
/// Most messages one poll pushes without flow control, so `ack_policy: none` on a large
/// stream cannot put all of it into one subscriber's outbox at once; the rest follows on
/// the next poll (the engine polls again at once while a backlog remains).
pub(crate) const PUSH_BURST: usize = 1024;

/// A push consumer's runtime state (not persisted).
#[derive(Debug, Clone, Default)]
pub(crate) struct PushState {
    /// The flow-control request delivery waits for (its number), if any.
    pub(crate) fc_pending: Option<u64>,
    /// Numbers flow-control requests.
    pub(crate) fc_counter: u64,
    /// Bytes delivered since the last flow-control request.
    pub(crate) bytes_since_fc: u64,
    /// When the next idle heartbeat is due.
    pub(crate) next_heartbeat: Option<Timestamp>,
    /// A backlog remains after the last poll's burst.
    pub(crate) backlog: bool,
    /// Someone subscribes to the deliver subject: only then does delivery happen (as in
    /// nats-server, a push consumer created before its subscriber waits for it).
    pub(crate) active: bool,
}

/// `100 Idle Heartbeat` for a push consumer, with `Nats-Consumer-Stalled` when delivery
/// waits for a flow-control reply.
fn heartbeat(last_consumer: u64, last_stream: u64, stalled: Option<&str>) -> Vec<u8> {
    let mut h = format!(
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {last_consumer}\r\nNats-Last-Stream: {last_stream}\r\n"
    );
    if let Some(s) = stalled {
        h.push_str("Nats-Consumer-Stalled: ");
        h.push_str(s);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// `headers_only`: the stored headers plus `Nats-Msg-Size`, no payload.
pub(crate) fn headers_only(headers: &[u8], payload_len: usize) -> Vec<u8> {
    let mut h = if headers.len() >= 4 && headers.ends_with(b"\r\n\r\n") {
        headers[..headers.len() - 2].to_vec()
    } else {
        b"NATS/1.0\r\n".to_vec()
    };
    h.extend_from_slice(format!("Nats-Msg-Size: {payload_len}\r\n\r\n").as_bytes());
    h
}

impl Consumer {
    /// A push consumer (it has a `deliver_subject`).
    pub fn is_push(&self) -> bool {
        !self.config.deliver_subject.is_empty()
    }

    fn fc_subject(&self, n: u64) -> String {
        format!("$JS.FC.{}.{}.{n}", self.stream, self.name)
    }

    /// Pushes what may go now: redeliveries, then new messages, within `max_ack_pending`,
    /// a burst, flow control, and the pace (replay original, rate limit).
    pub(crate) fn deliver_push(
        &mut self,
        src: &dyn MessageSource,
        now: Timestamp,
        out: &mut Vec<Outgoing>,
    ) {
        self.push.backlog = false;
        if !self.push.active {
            return;
        }
        let to = self.config.deliver_subject.clone().into_bytes();
        let flow_control = self.config.flow_control;
        let mut sent = 0usize;
        while self.push.fc_pending.is_none() {
            if !flow_control && sent >= PUSH_BURST {
                self.push.backlog = true;
                break;
            }
            let Some((from, msg)) = self.peek(src) else {
                break;
            };
            let prep = self.prepare(from, &msg, src);
            if !self
                .pace
                .admit(msg.seq, msg.timestamp_ns, prep.size_of(&msg), now)
            {
                break;
            }
            let size = self.emit(from, msg, prep, to.clone(), now, out);
            sent += 1;
            self.push.bytes_since_fc += size;
            if flow_control && self.push.bytes_since_fc >= FC_BYTES {
                self.push.fc_counter += 1;
                let n = self.push.fc_counter;
                self.push.fc_pending = Some(n);
                self.push.bytes_since_fc = 0;
                out.push(Outgoing {
                    to: to.clone(),
                    subject: to.clone(),
                    reply: Some(self.fc_subject(n).into_bytes()),
                    headers: Some(b"NATS/1.0 100 FlowControl Request\r\n\r\n".to_vec()),
                    payload: Vec::new(),
                });
            }
        }
        if sent > 0 {
            let hb = u64::try_from(self.config.heartbeat).unwrap_or(0);
            if hb > 0 {
                self.push.next_heartbeat = Some(after(now, hb));
            }
        }
    }

    /// Sends the idle heartbeat when it is due.
    pub(crate) fn push_heartbeat(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        let hb = u64::try_from(self.config.heartbeat).unwrap_or(0);
        if hb == 0 || !self.push.active {
            return;
        }
        match self.push.next_heartbeat {
            None => self.push.next_heartbeat = Some(after(now, hb)),
            Some(t) if now >= t => {
                let stalled = self.push.fc_pending.map(|n| self.fc_subject(n));
                let to = self.config.deliver_subject.as_bytes();
                out.push(Outgoing::status(
                    to,
                    heartbeat(
                        self.consumer_seq,
                        self.next_seq.saturating_sub(1),
                        stalled.as_deref(),
                    ),
                ));
                self.push.next_heartbeat = Some(after(now, hb));
            }
            Some(_) => {}
        }
    }

    /// The client answered flow-control request `n`: delivery may go on. Returns whether it
    /// was the one delivery waited for.
    pub fn flow_control_reply(&mut self, n: u64) -> bool {
        if self.push.fc_pending == Some(n) {
            self.push.fc_pending = None;
            return true;
        }
        false
    }

    /// When a push consumer next has timed work of its own: its heartbeat, or more of a
    /// backlog (at once: `now_hint` is in the past).
    pub(crate) fn push_deadline(&self, now_hint: Timestamp) -> Option<Timestamp> {
        let backlog = (self.push.backlog && self.push.fc_pending.is_none()).then_some(now_hint);
        let paced = self.pace.until().filter(|_| self.push.active);
        [self.push.next_heartbeat, backlog, paced]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether anyone subscribes to the deliver subject (the router checks at each tick): an
    /// ephemeral push consumer without interest for `inactive_threshold` is deleted, as
    /// nats-server does; with interest it stays active.
    /// Returns whether delivery just became possible (the caller polls then).
    pub fn note_interest(&mut self, interest: bool, now: Timestamp) -> bool {
        if interest {
            self.touch(now);
        }
        let started = interest && !self.push.active;
        self.push.active = interest;
        started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_as_nats_server_sends_them() {
        assert_eq!(
            heartbeat(4, 4, None),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 4\r\nNats-Last-Stream: 4\r\n\r\n"
        );
        let stalled = heartbeat(1, 2, Some("$JS.FC.S.C.3"));
        assert!(stalled.ends_with(b"Nats-Consumer-Stalled: $JS.FC.S.C.3\r\n\r\n"));
    }

    #[test]
    fn headers_only_keeps_headers_and_adds_the_size() {
        assert_eq!(
            headers_only(b"", 5),
            b"NATS/1.0\r\nNats-Msg-Size: 5\r\n\r\n"
        );
        assert_eq!(
            headers_only(b"NATS/1.0\r\nKV-Operation: DEL\r\n\r\n", 0),
            b"NATS/1.0\r\nKV-Operation: DEL\r\nNats-Msg-Size: 0\r\n\r\n"
        );
    }
}
