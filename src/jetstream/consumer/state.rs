//! [`Consumer`]: one pull consumer's state (cursor, pending acks, redelivery queue, ack floor,
//! waiting requests) and its persisted form.
//!
//! Owns: construction (deliver policy → start sequence), restore/persist, the ack floor and
//! the accessors. Must not: do I/O; messages are read through `MessageSource`. Hands off to:
//! `deliver` (pull requests, polling), `settle` (acks), `info` (the info reply).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::jetstream::error::ApiError;
use crate::jetstream::source::MessageSource;
use crate::jetstream::time::Timestamp;

use super::config::{AckPolicy, ConsumerConfig, DeliverPolicy};
use super::pace::Pace;
use super::pull::Waiting;
use super::push::PushState;

/// Hard cap on unacked messages when `max_ack_pending` is -1 (unlimited): the pending table
/// must stay bounded on a small board.
pub const HARD_MAX_ACK_PENDING: usize = 100_000;
/// Hard cap on waiting pull requests whatever `max_waiting` says.
pub const HARD_MAX_WAITING: usize = 8_192;

/// A delivered, not yet acknowledged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Consumer sequence of its latest delivery.
    pub consumer_seq: u64,
    /// How many times it has been delivered.
    pub delivered: u64,
    /// When it becomes due for redelivery (ns since the epoch).
    pub deadline: u64,
    /// The stored message's time (ns), for the ack subject.
    pub timestamp: u64,
    /// Already in the redelivery queue.
    #[serde(default)]
    pub queued: bool,
}

/// What the engine stores for a consumer (serde; JSON is fine). Waiting pull requests are not
/// part of it: clients re-issue them after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedConsumer {
    /// Consumer name.
    pub name: String,
    /// Normalised config.
    pub config: ConsumerConfig,
    /// Creation time (ns).
    pub created: u64,
    /// Next stream sequence to read.
    pub next_seq: u64,
    /// Last consumer sequence handed out.
    pub consumer_seq: u64,
    /// Ack floor: stream sequence.
    pub ack_floor_stream: u64,
    /// Ack floor: consumer sequence.
    pub ack_floor_consumer: u64,
    /// Pending acks by stream sequence.
    pub pending: BTreeMap<u64, Pending>,
    /// Stream sequences due for redelivery, ascending.
    pub redeliver: Vec<u64>,
    /// Remaining start messages of deliver policy `last_per_subject`.
    pub last_per_subject: Vec<u64>,
    /// Last delivery (ns, 0 = never).
    pub delivered_active: u64,
    /// Last ack (ns, 0 = never).
    pub ack_active: u64,
}

/// One pull consumer. See the module docs of `jetstream::consumer` for the engine's duties.
#[derive(Debug)]
pub struct Consumer {
    pub(crate) stream: String,
    pub(crate) name: String,
    pub(crate) config: ConsumerConfig,
    pub(crate) filters: Vec<String>,
    pub(crate) created: Timestamp,
    pub(crate) next_seq: u64,
    pub(crate) consumer_seq: u64,
    pub(crate) ack_floor: (u64, u64),
    pub(crate) pending: BTreeMap<u64, Pending>,
    pub(crate) redeliver: VecDeque<u64>,
    pub(crate) last_per_subject: VecDeque<u64>,
    pub(crate) delivered_active: Timestamp,
    pub(crate) ack_active: Timestamp,
    pub(crate) last_activity: Timestamp,
    pub(crate) waiting: VecDeque<Waiting>,
    pub(crate) dirty: bool,
    /// Push consumers' runtime state (unused by pull consumers).
    pub(crate) push: PushState,
    /// Replay original and rate limit (runtime only).
    pub(crate) pace: Pace,
}

impl Consumer {
    /// A new consumer on `stream` with a normalised, validated `config`, its start resolved
    /// from `deliver_policy` against `src`.
    ///
    /// # Errors
    /// The store failed to read, or `opt_start_time` does not parse (10094).
    pub fn new(
        stream: &str,
        name: String,
        config: ConsumerConfig,
        created: Timestamp,
        src: &dyn MessageSource,
        now: Timestamp,
    ) -> Result<Consumer, ApiError> {
        let filters = config.filters();
        let after_last = src.last_seq().saturating_add(1);
        let mut lps = VecDeque::new();
        let next_seq = match config.deliver_policy {
            DeliverPolicy::All => src.first_seq().max(1),
            DeliverPolicy::New => after_last,
            DeliverPolicy::ByStartSequence => config.opt_start_seq.max(1),
            DeliverPolicy::ByStartTime => {
                let t = config.start_time().ok_or_else(|| {
                    ApiError::consumer_invalid_policy("consumer opt_start_time is invalid")
                })?;
                src.seq_at_time(t).max(1)
            }
            DeliverPolicy::Last => {
                let last = if filters.is_empty() {
                    src.last_seq()
                } else {
                    src.last_per_subject(&filters)
                        .into_iter()
                        .max()
                        .unwrap_or(0)
                };
                if last == 0 {
                    after_last
                } else {
                    last
                }
            }
            DeliverPolicy::LastPerSubject => {
                lps = src.last_per_subject(&filters).into();
                lps.front().copied().unwrap_or(after_last)
            }
        };
        // With last_per_subject the start list is delivered first, then what comes after.
        let next_seq = if lps.is_empty() { next_seq } else { after_last };
        let floor_stream = match lps.front() {
            Some(&first) => first.saturating_sub(1),
            None => next_seq - 1,
        };
        Ok(Consumer {
            stream: stream.to_owned(),
            name,
            pace: Pace::new(&config),
            config,
            filters,
            created,
            next_seq,
            consumer_seq: 0,
            ack_floor: (floor_stream, 0),
            pending: BTreeMap::new(),
            redeliver: VecDeque::new(),
            last_per_subject: lps,
            delivered_active: Timestamp(0),
            ack_active: Timestamp(0),
            last_activity: now,
            waiting: VecDeque::new(),
            dirty: true,
            push: PushState::default(),
        })
    }

    /// A consumer from its persisted state (after a restart). No waiting requests.
    pub fn restore(stream: &str, state: PersistedConsumer) -> Consumer {
        let last_activity = Timestamp(
            state
                .created
                .max(state.delivered_active.max(state.ack_active)),
        );
        let mut pending = state.pending;
        for p in pending.values_mut() {
            p.queued = false;
        }
        let redeliver: VecDeque<u64> = state
            .redeliver
            .into_iter()
            .filter(|s| pending.contains_key(s))
            .collect();
        for s in &redeliver {
            if let Some(p) = pending.get_mut(s) {
                p.queued = true;
            }
        }
        Consumer {
            stream: stream.to_owned(),
            name: state.name,
            filters: state.config.filters(),
            pace: Pace::new(&state.config),
            config: state.config,
            created: Timestamp(state.created),
            next_seq: state.next_seq.max(1),
            consumer_seq: state.consumer_seq,
            ack_floor: (state.ack_floor_stream, state.ack_floor_consumer),
            pending,
            redeliver,
            last_per_subject: state.last_per_subject.into(),
            delivered_active: Timestamp(state.delivered_active),
            ack_active: Timestamp(state.ack_active),
            last_activity,
            waiting: VecDeque::new(),
            dirty: false,
            push: PushState::default(),
        }
    }

    /// The state to store.
    pub fn persisted(&self) -> PersistedConsumer {
        PersistedConsumer {
            name: self.name.clone(),
            config: self.config.clone(),
            created: self.created.0,
            next_seq: self.next_seq,
            consumer_seq: self.consumer_seq,
            ack_floor_stream: self.ack_floor.0,
            ack_floor_consumer: self.ack_floor.1,
            pending: self.pending.clone(),
            redeliver: self.redeliver.iter().copied().collect(),
            last_per_subject: self.last_per_subject.iter().copied().collect(),
            delivered_active: self.delivered_active.0,
            ack_active: self.ack_active.0,
        }
    }

    /// Has the persisted state changed since the last call? (The engine then persists.)
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Its (normalised) config.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// When it was created.
    pub fn created(&self) -> Timestamp {
        self.created
    }

    /// Durable (has a `durable_name`)?
    pub fn is_durable(&self) -> bool {
        self.config.is_durable()
    }

    /// Applies an update already checked with `validate_update`. The cursor and pending
    /// acks are kept; new limits apply from the next delivery.
    pub fn update(&mut self, config: ConsumerConfig) {
        if config.rate_limit != self.config.rate_limit {
            self.pace.set_rate(config.rate_limit);
        }
        self.filters = config.filters();
        self.config = config;
        self.dirty = true;
    }

    /// Waiting pull requests.
    pub fn num_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Any waiting pull request?
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The ack floor `(stream_seq, consumer_seq)`: everything at or below is acknowledged.
    pub fn ack_floor(&self) -> (u64, u64) {
        self.ack_floor
    }

    /// Is stream sequence `seq` still owed an ack (delivered and pending, or not yet
    /// delivered)? For interest retention.
    pub fn needs(&self, seq: u64) -> bool {
        self.pending.contains_key(&seq)
            || seq >= self.next_seq
            || self.last_per_subject.contains(&seq)
    }

    /// Drops waiting requests whose inbox no longer has interest (`keep` says which stay),
    /// as nats-server does before delivering.
    pub fn retain_waiting(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        self.waiting.retain(|w| keep(&w.reply));
    }

    /// Inactive past `inactive_threshold` with nobody waiting: the engine deletes it.
    pub fn expired(&self, now: Timestamp) -> bool {
        let t = u64::try_from(self.config.inactive_threshold).unwrap_or(0);
        t > 0 && self.waiting.is_empty() && now.0 >= self.last_activity.0.saturating_add(t)
    }

    /// Unacked messages the ack policy tracks, and the cap on them.
    pub(crate) fn ack_pending_full(&self) -> bool {
        if self.config.ack_policy == AckPolicy::None {
            return false;
        }
        let cap = match usize::try_from(self.config.max_ack_pending) {
            Ok(n) if n > 0 => n.min(HARD_MAX_ACK_PENDING),
            _ => HARD_MAX_ACK_PENDING,
        };
        self.pending.len() >= cap
    }

    /// Messages not yet delivered (`num_pending`).
    pub(crate) fn num_pending(&self, src: &dyn MessageSource) -> u64 {
        let lps = u64::try_from(self.last_per_subject.len()).unwrap_or(u64::MAX);
        src.count_matching(self.next_seq, &self.filters)
            .saturating_add(lps)
    }

    /// Moves the ack floor up to just below the lowest pending message (or to the last
    /// delivery when nothing is pending). Never moves it down.
    pub(crate) fn update_floor(&mut self) {
        // A redelivery gives a low stream seq a high consumer seq: the consumer floor is
        // below the lowest consumer seq still pending.
        let lowest_c = self.pending.values().map(|p| p.consumer_seq).min();
        let (s, c) = match (self.pending.keys().next(), lowest_c) {
            (Some(&seq), Some(c)) => (seq.saturating_sub(1), c.saturating_sub(1)),
            _ if self.last_per_subject.is_empty() => {
                (self.next_seq.saturating_sub(1), self.consumer_seq)
            }
            _ => return,
        };
        let floor = (self.ack_floor.0.max(s), self.ack_floor.1.max(c));
        if floor != self.ack_floor {
            self.ack_floor = floor;
            self.dirty = true;
        }
    }

    /// Removes `seq` from the redelivery queue.
    pub(crate) fn unqueue(&mut self, seq: u64) {
        if let Some(p) = self.pending.get_mut(&seq) {
            if !p.queued {
                return;
            }
            p.queued = false;
        }
        if let Ok(i) = self.redeliver.binary_search(&seq) {
            self.redeliver.remove(i);
        }
    }

    /// Puts pending `seq` on the redelivery queue (kept ascending).
    pub(crate) fn queue(&mut self, seq: u64) {
        let Some(p) = self.pending.get_mut(&seq) else {
            return;
        };
        if p.queued {
            return;
        }
        p.queued = true;
        if let Err(i) = self.redeliver.binary_search(&seq) {
            self.redeliver.insert(i, seq);
        }
    }

    /// Has `p` used up its `max_deliver` deliveries?
    pub(crate) fn exhausted(&self, p: &Pending) -> bool {
        self.config.max_deliver > 0
            && i64::try_from(p.delivered).unwrap_or(i64::MAX) >= self.config.max_deliver
    }

    /// The consumer's filters (empty: every subject).
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// Whether message `seq` counts as acknowledged by this consumer (interest retention):
    /// at or below the ack floor, or delivered and no longer pending; with
    /// `ack_policy: none`, delivered.
    pub fn has_acked(&self, seq: u64) -> bool {
        if seq <= self.ack_floor.0 {
            return true;
        }
        let delivered = seq < self.next_seq && !self.last_per_subject.contains(&seq);
        match self.config.ack_policy {
            AckPolicy::None => delivered,
            _ => delivered && !self.pending.contains_key(&seq),
        }
    }

    /// Everything at or below this seq is done with, as far as this consumer goes.
    pub fn interest_floor(&self) -> u64 {
        match self.config.ack_policy {
            AckPolicy::None => self.next_seq.saturating_sub(1),
            _ => self.ack_floor.0,
        }
    }

    /// `now` counts as activity (a pull, an ack, a delivery).
    pub(crate) fn touch(&mut self, now: Timestamp) {
        self.last_activity = self.last_activity.max(now);
    }
}
