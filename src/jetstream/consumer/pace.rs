//! [`Pace`]: when a consumer may hand out its next message under `replay_policy: original`
//! and `rate_limit_bps`.
//!
//! Owns, as nats-server's `loopAndGatherMsgs` does:
//! * **replay original**: the stream's backlog at the time the consumer starts (created or
//!   restored) goes out with the gaps it was stored with. Each message waits, after the
//!   previous delivery, as long as its timestamp is after the previous message's (gaps of a
//!   millisecond or less are not waited for). Once the cursor passes that backlog, delivery
//!   is instant.
//! * **rate limit** (push only): a token bucket of `rate_limit_bps / 8` bytes per second that
//!   starts full with a burst of 1 MiB. A message costs its subject + ack reply + headers +
//!   payload bytes and waits until the bucket holds that many.
//!
//! Must not: read the clock (callers pass `now`) or decide what is delivered next. Hands off
//! to: the delivery loops, which stop at a refused message and are polled again at
//! [`Pace::until`].

use crate::jetstream::time::Timestamp;

use super::config::{ConsumerConfig, ReplayPolicy};

/// The bucket's capacity: nats-server uses the account's max payload (1 MiB by default).
const BURST: f64 = 1_048_576.0;
/// Gaps this short (ns) are not waited for under replay original.
const MIN_GAP: i64 = 1_000_000;

/// A token bucket in bytes.
#[derive(Debug, Clone)]
struct Bucket {
    /// Refill rate, bytes per second.
    rate: f64,
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Timestamp,
}

impl Bucket {
    fn refill(&mut self, now: Timestamp) {
        let secs = now.0.saturating_sub(self.at.0) as f64 / 1e9;
        self.tokens = (self.tokens + secs * self.rate).min(BURST);
        self.at = Timestamp(self.at.0.max(now.0));
    }
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pace {
    /// Replay original: the stream's last seq when the consumer started; `None` until the
    /// first poll tells, or when replay is over (or not asked for).
    replay_upto: Option<u64>,
    /// Replay original is asked for and has not started yet.
    replay_unarmed: bool,
    /// The timestamp of the last message handed out and when it went.
    last: Option<(i64, Timestamp)>,
    bucket: Option<Bucket>,
    /// Delivery waits until then.
    until: Option<Timestamp>,
}

impl Pace {
    /// The pace `config` asks for.
    pub(crate) fn new(config: &ConsumerConfig) -> Pace {
        let mut p = Pace {
            replay_unarmed: config.replay_policy == ReplayPolicy::Original,
            ..Pace::default()
        };
        p.set_rate(config.rate_limit);
        p
    }

    /// A changed `rate_limit_bps` (consumer update); 0 = unlimited.
    pub(crate) fn set_rate(&mut self, bps: u64) {
        self.bucket = (bps > 0).then(|| Bucket {
            rate: (bps / 8).max(1) as f64,
            tokens: BURST,
            at: Timestamp(0),
        });
        self.until = None;
    }

    /// Before a delivery round: the stream's last seq, which the replay backlog ends at.
    pub(crate) fn start(&mut self, stream_last: u64) {
        if std::mem::take(&mut self.replay_unarmed) {
            self.replay_upto = Some(stream_last);
        }
    }

    /// Whether stream message `seq` stored at `ts` (ns), costing `size` bytes, may go at
    /// `now`. On `false`, [`Pace::until`] says when to try again; on `true` it is counted.
    pub(crate) fn admit(&mut self, seq: u64, ts: i64, size: u64, now: Timestamp) -> bool {
        if self.until.is_some_and(|t| now < t) {
            return false;
        }
        self.until = None;
        if self.replay_upto.is_some_and(|upto| seq > upto) {
            self.replay_upto = None;
        }
        if let (Some(_), Some((lts, at))) = (self.replay_upto, self.last) {
            let gap = ts.saturating_sub(lts);
            let due = Timestamp(at.0.saturating_add(gap.unsigned_abs()));
            if gap > MIN_GAP && now < due {
                self.until = Some(due);
                return false;
            }
        }
        if let Some(b) = &mut self.bucket {
            if b.at.0 == 0 {
                b.at = now;
            }
            b.refill(now);
            let need = size as f64;
            if b.tokens < need.min(BURST) {
                let wait = (need.min(BURST) - b.tokens) / b.rate;
                self.until = Some(Timestamp(now.0.saturating_add((wait * 1e9).ceil() as u64)));
                return false;
            }
            b.tokens -= need;
        }
        self.last = Some((ts, now));
        true
    }

    /// When a refused delivery may be tried again.
    pub(crate) fn until(&self) -> Option<Timestamp> {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn t(ms: u64) -> Timestamp {
        Timestamp(1_000_000 * MS + ms * MS)
    }

    #[test]
    fn replay_original_keeps_the_stored_gaps_then_goes_instant() {
        let mut p = Pace::new(&ConsumerConfig {
            replay_policy: ReplayPolicy::Original,
            ..ConsumerConfig::default()
        });
        p.start(3);
        let stored = |ms: u64| i64::try_from(ms * MS).unwrap();
        assert!(p.admit(1, stored(0), 10, t(0)), "the first goes at once");
        assert!(
            !p.admit(2, stored(200), 10, t(50)),
            "200 ms after the first"
        );
        assert_eq!(p.until(), Some(t(200)));
        assert!(!p.admit(2, stored(200), 10, t(199)));
        assert!(p.admit(2, stored(200), 10, t(200)));
        assert!(
            p.admit(3, stored(200), 10, t(200)),
            "same timestamp: no wait"
        );
        // Past the backlog the stream's gaps no longer matter.
        assert!(p.admit(4, stored(90_000), 10, t(201)));
    }

    #[test]
    fn rate_limit_is_a_token_bucket_with_a_one_mib_burst() {
        let mut p = Pace::new(&ConsumerConfig {
            rate_limit: 8 * 100_000, // 100,000 bytes/s
            ..ConsumerConfig::default()
        });
        p.start(0);
        assert!(
            p.admit(1, 0, 1_048_576, t(0)),
            "a full bucket pays for the burst"
        );
        assert!(!p.admit(2, 0, 50_000, t(0)));
        assert_eq!(p.until(), Some(t(500)), "50,000 bytes take 0.5 s to refill");
        assert!(p.admit(2, 0, 50_000, t(500)));
        assert!(!p.admit(3, 0, 50_000, t(600)));
        p.set_rate(0);
        assert!(p.admit(3, 0, 50_000, t(600)), "rate limit removed");
    }
}
