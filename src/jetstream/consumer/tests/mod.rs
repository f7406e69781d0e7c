//! Consumer tests against an in-memory [`Fake`] stream: create rules, delivery, acks and
//! redelivery, persistence.

mod acks;
mod create;
mod deliver;

use crate::jetstream::error::ApiError;
use crate::jetstream::source::{MessageSource, Outgoing};
use crate::jetstream::time::Timestamp;
use crate::store::StoredMsg;
use crate::subject;

use super::config::ConsumerConfig;
use super::state::Consumer;
use super::{parse_ack_subject, AckSubject};

/// A stream in a Vec: seqs ascending, deletions leave gaps.
#[derive(Debug, Default)]
pub(super) struct Fake {
    pub(super) msgs: Vec<StoredMsg>,
    pub(super) last: u64,
}

/// Base time of the fake: message `n` is stored at `T0 + n` seconds.
pub(super) const T0: u64 = 1_795_456_282_000_000_000;
pub(super) const SEC: u64 = 1_000_000_000;

impl Fake {
    pub(super) fn with(subjects: &[&str]) -> Fake {
        let mut f = Fake::default();
        for s in subjects {
            f.publish(s, b"data");
        }
        f
    }

    pub(super) fn publish(&mut self, subject: &str, payload: &[u8]) -> u64 {
        self.last += 1;
        self.msgs.push(StoredMsg {
            seq: self.last,
            timestamp_ns: i64::try_from(T0 + self.last * SEC).unwrap(),
            subject: subject.as_bytes().to_vec(),
            headers: Vec::new(),
            payload: payload.to_vec(),
        });
        self.last
    }

    pub(super) fn delete(&mut self, seq: u64) {
        self.msgs.retain(|m| m.seq != seq);
    }

    fn matches(m: &StoredMsg, filters: &[String]) -> bool {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| subject::filter_matches(f.as_bytes(), &m.subject))
    }
}

impl MessageSource for Fake {
    fn next_matching(&self, from: u64, filters: &[String]) -> Result<Option<StoredMsg>, ApiError> {
        Ok(self
            .msgs
            .iter()
            .find(|m| m.seq >= from && Fake::matches(m, filters))
            .cloned())
    }
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, ApiError> {
        Ok(self.msgs.iter().find(|m| m.seq == seq).cloned())
    }
    fn first_seq(&self) -> u64 {
        self.msgs.first().map_or(self.last + 1, |m| m.seq)
    }
    fn last_seq(&self) -> u64 {
        self.last
    }
    fn count_matching(&self, from: u64, filters: &[String]) -> u64 {
        self.msgs
            .iter()
            .filter(|m| m.seq >= from && Fake::matches(m, filters))
            .count() as u64
    }
    fn seq_at_time(&self, t: Timestamp) -> u64 {
        self.msgs
            .iter()
            .find(|m| m.timestamp_ns as u64 >= t.0)
            .map_or(self.last + 1, |m| m.seq)
    }
    fn last_per_subject(&self, filters: &[String]) -> Vec<u64> {
        let mut last = std::collections::BTreeMap::new();
        for m in self.msgs.iter().filter(|m| Fake::matches(m, filters)) {
            last.insert(m.subject.clone(), m.seq);
        }
        let mut seqs: Vec<u64> = last.into_values().collect();
        seqs.sort_unstable();
        seqs
    }
}

/// A normalised explicit-ack pull config named `dur`.
pub(super) fn durable() -> ConsumerConfig {
    let mut c = ConsumerConfig {
        durable_name: "dur".into(),
        ..ConsumerConfig::default()
    };
    c.normalise();
    c
}

pub(super) fn consumer(cfg: ConsumerConfig, src: &Fake) -> Consumer {
    Consumer::new("S", "dur".into(), cfg, Timestamp(T0), src, Timestamp(T0)).unwrap()
}

pub(super) fn at(secs: u64) -> Timestamp {
    Timestamp(T0 + secs * SEC)
}

pub(super) fn at_ms(ms: u64) -> Timestamp {
    Timestamp(T0 + ms * 1_000_000)
}

/// The ack subject of a delivery.
pub(super) fn ack_of(o: &Outgoing) -> AckSubject<'_> {
    parse_ack_subject(o.reply.as_deref().unwrap()).unwrap()
}

/// `(delivered, stream_seq, consumer_seq, pending)` of each delivery in `out`.
pub(super) fn deliveries(out: &[Outgoing]) -> Vec<(u64, u64, u64, u64)> {
    out.iter()
        .filter(|o| o.reply.is_some())
        .map(|o| {
            let a = ack_of(o);
            (a.delivered, a.stream_seq, a.consumer_seq, a.pending)
        })
        .collect()
}

/// The status lines (`408 Request Timeout`, …) in `out`, in order.
pub(super) fn statuses(out: &[Outgoing]) -> Vec<String> {
    out.iter()
        .filter(|o| o.reply.is_none())
        .map(|o| {
            let h = String::from_utf8_lossy(o.headers.as_deref().unwrap_or_default()).into_owned();
            h.lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("NATS/1.0 ")
                .to_owned()
        })
        .collect()
}
