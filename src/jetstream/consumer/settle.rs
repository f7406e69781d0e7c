//! Acks arriving on `$JS.ACK.…`: settling pending deliveries (ack, ack-all, NAK with or
//! without delay, in-progress, terminate) and the `+NXT` follow-up pull.
//!
//! Owns: what each ack payload does to the pending table, the redelivery queue and the ack
//! floor, and the empty reply of a double ack. Must not: delete messages from the stream; it
//! returns the settled stream sequences and the engine deletes them from work-queue streams.
//! Hands off to: `deliver` (`+NXT` becomes a pull request).

use crate::jetstream::source::{MessageSource, Outgoing};
use crate::jetstream::time::Timestamp;

use super::ack::{parse_ack_payload, AckKind, AckSubject};
use super::config::AckPolicy;
use super::pull::after;
use super::state::Consumer;

impl Consumer {
    /// An ack on `ack` (already parsed; the engine routed it here by stream and consumer)
    /// with `payload`; `reply` is the ack's reply subject. A reply gets an empty message once
    /// the ack is processed (double ack), except for `+NXT`, whose reply receives the next
    /// messages instead. Returns the stream sequences that became acknowledged (acked or
    /// terminated), ascending.
    pub fn ack(
        &mut self,
        ack: &AckSubject<'_>,
        payload: &[u8],
        reply: Option<&[u8]>,
        src: &dyn MessageSource,
        now: Timestamp,
        out: &mut Vec<Outgoing>,
    ) -> Vec<u64> {
        self.touch(now);
        let seq = ack.stream_seq;
        let mut settled = Vec::new();
        match parse_ack_payload(payload) {
            AckKind::Ack => settled = self.settle(seq, now),
            AckKind::Next(body) => {
                settled = self.settle(seq, now);
                if let Some(r) = reply.filter(|r| !r.is_empty()) {
                    self.pull(r, body, src, now, out);
                }
                return settled;
            }
            AckKind::Nak(delay) => self.nak(seq, delay, now),
            AckKind::Progress => self.progress(seq, now),
            AckKind::Term => {
                if self.pending.remove(&seq).is_some() {
                    self.unqueue_removed(seq);
                    settled.push(seq);
                    self.after_settle(now);
                }
            }
            AckKind::Unknown => {
                log::debug!(
                    "consumer {} > {}: ignoring ack payload {:?}",
                    self.stream,
                    self.name,
                    String::from_utf8_lossy(payload)
                );
            }
        }
        if let Some(r) = reply.filter(|r| !r.is_empty()) {
            out.push(Outgoing::reply(r, Vec::new()));
        }
        settled
    }

    /// Acks `seq` (ack policy explicit) or everything pending up to `seq` (ack policy all).
    fn settle(&mut self, seq: u64, now: Timestamp) -> Vec<u64> {
        let settled: Vec<u64> = match self.config.ack_policy {
            AckPolicy::None | AckPolicy::FlowControl => return Vec::new(),
            AckPolicy::Explicit => self
                .pending
                .contains_key(&seq)
                .then_some(seq)
                .into_iter()
                .collect(),
            AckPolicy::All => self.pending.range(..=seq).map(|(&s, _)| s).collect(),
        };
        for s in &settled {
            self.pending.remove(s);
            self.unqueue_removed(*s);
        }
        if !settled.is_empty() {
            self.after_settle(now);
        }
        settled
    }

    fn after_settle(&mut self, now: Timestamp) {
        self.ack_active = now;
        self.dirty = true;
        self.update_floor();
    }

    /// Drops `seq` from the redelivery queue after its pending entry is gone.
    fn unqueue_removed(&mut self, seq: u64) {
        if let Ok(i) = self.redeliver.binary_search(&seq) {
            self.redeliver.remove(i);
        }
    }

    /// `-NAK`: redeliver now, or after `delay` ns.
    fn nak(&mut self, seq: u64, delay: Option<u64>, now: Timestamp) {
        if !self.pending.contains_key(&seq) {
            return;
        }
        match delay {
            Some(d) => {
                self.unqueue(seq);
                if let Some(p) = self.pending.get_mut(&seq) {
                    p.deadline = after(now, d).0;
                }
            }
            None => self.queue(seq),
        }
        self.dirty = true;
    }

    /// `+WPI`: the ack timer starts again from now.
    fn progress(&mut self, seq: u64, now: Timestamp) {
        let Some(p) = self.pending.get(&seq).copied() else {
            return;
        };
        self.unqueue(seq);
        let wait = u64::try_from(self.config.redelivery_wait(p.delivered)).unwrap_or(0);
        if let Some(p) = self.pending.get_mut(&seq) {
            p.deadline = after(now, wait).0;
        }
        self.dirty = true;
    }
}
