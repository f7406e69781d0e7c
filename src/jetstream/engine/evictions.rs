//! Logging what stream limits and the store's budgets removed, without a line per message.
//!
//! Owns: [`EvictionLog`], one per stream: the first removal after a quiet spell is logged at
//! once; removals in the next [`QUIET`] are merged into one summary line (count and seq
//! range), written when that time is up. A KV bucket whose history limit drops a revision on
//! every put therefore logs once per 10 s, not once per put. Must not: count (the slot's
//! counters do) or decide removals. Hands off to: `log`.

use crate::jetstream::time::Timestamp;
use crate::store::Evicted;

use super::JetStream;

/// How long removals are gathered into one line after one was logged.
const QUIET: u64 = 10_000_000_000;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct EvictionLog {
    /// Removals not yet logged.
    pending: Option<Evicted>,
    /// When the last line was written.
    logged_at: Timestamp,
}

impl EvictionLog {
    /// Notes removal `ev` from `stream`, logging now if the last line is older than
    /// [`QUIET`].
    pub(super) fn note(&mut self, stream: &str, ev: Evicted, now: Timestamp) {
        let p = self.pending.get_or_insert(Evicted {
            first: ev.first,
            last: ev.last,
            msgs: 0,
            bytes: 0,
        });
        p.first = p.first.min(ev.first);
        p.last = p.last.max(ev.last);
        p.msgs += ev.msgs;
        p.bytes += ev.bytes;
        self.flush(stream, now);
    }

    /// Writes the pending summary if [`QUIET`] has passed since the last line.
    fn flush(&mut self, stream: &str, now: Timestamp) {
        if now.0 < self.logged_at.0.saturating_add(QUIET) {
            return;
        }
        if let Some(p) = self.pending.take() {
            log::info!(
                "stream {stream}: limits or the store budget removed {} message(s) ({} bytes), seq {}..={}",
                p.msgs,
                p.bytes,
                p.first,
                p.last
            );
            self.logged_at = now;
        }
    }

    /// When a pending summary is due.
    fn deadline(&self) -> Option<Timestamp> {
        self.pending
            .map(|_| Timestamp(self.logged_at.0.saturating_add(QUIET)))
    }
}

impl JetStream {
    /// Counts and logs what limits removed from stream `id`.
    pub(super) fn note_evictions(&mut self, id: usize) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let evs = slot.stream.take_evictions();
        if evs.is_empty() {
            return;
        }
        let now = super::now();
        for ev in evs {
            slot.evicted_msgs += ev.msgs;
            self.stats.evicted += ev.msgs;
            slot.evictions.note(slot.stream.name(), ev, now);
        }
    }

    /// Writes the eviction summaries that are due (from `tick`).
    pub(super) fn flush_eviction_logs(&mut self, now: Timestamp) {
        for (_, slot) in &mut self.slots {
            slot.evictions.flush(slot.stream.name(), now);
        }
    }

    /// The earliest eviction summary due.
    pub(super) fn eviction_log_deadline(&self) -> Option<Timestamp> {
        self.slots
            .iter()
            .filter_map(|(_, s)| s.evictions.deadline())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(first: u64, last: u64) -> Evicted {
        Evicted {
            first,
            last,
            msgs: last - first + 1,
            bytes: 10,
        }
    }

    #[test]
    fn first_removal_logs_at_once_then_summaries_every_quiet_spell() {
        let mut l = EvictionLog::default();
        l.note("S", ev(1, 1), Timestamp(QUIET));
        assert!(l.pending.is_none(), "logged at once");
        l.note("S", ev(2, 2), Timestamp(QUIET + 1));
        l.note("S", ev(3, 5), Timestamp(QUIET + 2));
        let p = l.pending.expect("gathered");
        assert_eq!((p.first, p.last, p.msgs, p.bytes), (2, 5, 4, 20));
        assert_eq!(l.deadline(), Some(Timestamp(2 * QUIET)));
        l.flush("S", Timestamp(2 * QUIET - 1));
        assert!(l.pending.is_some());
        l.flush("S", Timestamp(2 * QUIET));
        assert!(l.pending.is_none() && l.deadline().is_none());
    }
}
