//! Interest retention: a message stays only while some consumer that wants it (its filter
//! matches) has not acknowledged it; a stream without consumers keeps nothing, as in
//! nats-server (the publish is still acknowledged with its sequence).
//!
//! Owns: when messages of an interest stream go. Two rules, both conservative: everything at
//! or below the lowest ack floor over all consumers goes (for `ack_policy: none`, delivered
//! counts as acknowledged), and a message acknowledged above that floor goes once every
//! consumer whose filter matches its subject has acknowledged it. Must not: touch other
//! retention policies. Hands off to: the stream (purge below a seq, delete one).

use super::JetStream;
use crate::jetstream::consumer::Consumer;
use crate::jetstream::policy::Retention;
use crate::jetstream::source::MessageSource;
use crate::subject::filter_matches;

/// Whether `c` is done with message `seq` on `subject`: it does not want it, or acknowledged
/// it (or, with `ack_policy: none`, was handed it).
fn done_with(c: &Consumer, seq: u64, subject: &[u8]) -> bool {
    let wants = c.filters().is_empty()
        || c.filters()
            .iter()
            .any(|f| filter_matches(f.as_bytes(), subject));
    !wants || c.has_acked(seq)
}

impl JetStream {
    /// Applies interest retention to stream `id` after acks, deliveries, a publish or a
    /// consumer's removal; `acked` are seqs just acknowledged above the floor.
    pub(super) fn release_interest(&mut self, id: usize, acked: &[u64]) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        if slot.stream.config().retention != Retention::Interest {
            return;
        }
        let stream = &mut slot.stream;
        let last = MessageSource::last_seq(&*stream);
        let floor = slot
            .consumers
            .values()
            .map(Consumer::interest_floor)
            .min()
            .unwrap_or(last);
        let mut changed = false;
        if MessageSource::first_seq(&*stream) <= floor {
            match stream.purge(None, Some(floor + 1), None) {
                Ok(n) => changed |= n > 0,
                Err(e) => log::warn!(
                    "stream {}: interest release: {}",
                    stream.name(),
                    e.description
                ),
            }
        }
        for &seq in acked.iter().filter(|&&s| s > floor) {
            let Ok(Some(msg)) = stream.get(seq) else {
                continue;
            };
            if slot
                .consumers
                .values()
                .all(|c| done_with(c, seq, &msg.subject))
            {
                match stream.delete(seq) {
                    Ok(_) => changed = true,
                    Err(e) => log::warn!(
                        "stream {}: interest release of seq {seq}: {}",
                        stream.name(),
                        e.description
                    ),
                }
            }
        }
        if changed {
            self.touch(id);
        }
    }
}
