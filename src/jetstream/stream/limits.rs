//! Discard-old limits for a [`Stream`]: which messages go, and the record of what went.
//!
//! Owns: `max_msgs_per_subject` (always removes the subject's oldest, as nats-server does,
//! whatever the discard policy), `max_msgs` / `max_bytes` with `discard: old`, the
//! forwarding hold, and the bounded list of evicted ranges ([`MAX_EVICTION_RANGES`]; past it new
//! ranges widen the last one). Must not: refuse publishes (that is `publish.rs`), count
//! purges or explicit deletes as evictions. Hands off to: the log (per-message deletes; for
//! long runs of the oldest messages a purge that deletes whole segments) and the engine
//! (`take_evictions`). Time-based removal (`max_age`, `Nats-TTL`) is `expiry.rs`.

use super::{api_err, Stream};
use crate::jetstream::config::Discard;
use crate::jetstream::error::ApiError;
use crate::store::Evicted;

/// Eviction ranges kept between two `take_evictions` calls.
pub const MAX_EVICTION_RANGES: usize = 1024;

/// Removing more than this many oldest seqs at once goes through `purge_before` (whole
/// segments, one mark per straddled record) instead of one delete mark per message.
const BULK: u64 = 64;

/// A positive limit, or `None` for unlimited (-1).
fn limit(n: i64) -> Option<u64> {
    u64::try_from(n).ok().filter(|&n| n > 0)
}

impl Stream {
    /// Notes an eviction, merging it into the previous range when adjacent.
    pub(super) fn record_eviction(&mut self, e: Evicted) {
        if e.msgs == 0 {
            return;
        }
        let full = self.evictions.len() >= MAX_EVICTION_RANGES;
        if let Some(last) = self.evictions.last_mut() {
            if e.first == last.last + 1 || full {
                last.first = last.first.min(e.first);
                last.last = last.last.max(e.last);
                last.msgs += e.msgs;
                last.bytes += e.bytes;
                return;
            }
        }
        self.evictions.push(e);
    }

    /// Deletes live message `seq` from the log and the index; `evicted` records it.
    pub(super) fn remove_one(&mut self, seq: u64, evicted: bool) -> Result<bool, ApiError> {
        if self.index.meta(seq).is_none() {
            return Ok(false);
        }
        if !self.log_mut().delete(seq).map_err(api_err)? {
            // The log and index disagree: trust the log.
            self.index.remove(seq);
            return Ok(false);
        }
        self.dirty = true;
        let bytes = self.index.remove(seq).unwrap_or(0);
        if evicted {
            self.record_eviction(Evicted {
                first: seq,
                last: seq,
                msgs: 1,
                bytes,
            });
        }
        Ok(true)
    }

    /// Removes every live message below `seq`; returns how many went.
    pub(super) fn remove_below(&mut self, seq: u64, evicted: bool) -> Result<u64, ApiError> {
        let Some(first) = self.index.first() else {
            return Ok(0);
        };
        if seq <= first {
            return Ok(0);
        }
        if seq - first > BULK {
            let out = self.log_mut().purge_before(seq).map_err(api_err)?;
            self.index.remove_below(seq);
            self.dirty = true;
            let Some(e) = out else { return Ok(0) };
            if evicted {
                self.record_eviction(e);
            }
            return Ok(e.msgs);
        }
        let seqs: Vec<u64> = self
            .index
            .live_from(first)
            .map(|(s, _, _)| s)
            .take_while(|&s| s < seq)
            .collect();
        let mut n = 0;
        for s in seqs {
            n += u64::from(self.remove_one(s, evicted)?);
        }
        self.drop_dead_segments()?;
        Ok(n)
    }

    /// Lets the log drop oldest segments that only hold deleted records.
    pub(super) fn drop_dead_segments(&mut self) -> Result<(), ApiError> {
        if self.log_mut().evict_dead().map_err(api_err)? > 0 {
            self.dirty = true;
        }
        Ok(())
    }

    /// `max_msgs_per_subject`: removes `subject`'s oldest messages past the limit.
    pub(super) fn enforce_subject_limit(&mut self, subject: &[u8]) -> Result<(), ApiError> {
        let Some(max) = limit(self.config.max_msgs_per_subject) else {
            return Ok(());
        };
        let over: Vec<u64> = match self.index.seqs_of(subject) {
            Some(seqs) if seqs.len() as u64 > max => seqs
                .iter()
                .take(seqs.len() - max as usize)
                .copied()
                .collect(),
            _ => return Ok(()),
        };
        for seq in over {
            self.remove_one(seq, true)?;
        }
        Ok(())
    }

    /// Keeps records above `hold` (a forwarded stream's cursor; `None`: no hold) from being
    /// removed by `max_msgs`, `max_bytes` and `max_age` until the hub has them, then applies
    /// the limits up to the new hold. The store's disk budget is not held back by it.
    ///
    /// # Errors
    /// The store failed while removing.
    pub fn set_hold(&mut self, hold: Option<u64>) -> Result<(), ApiError> {
        if self.hold == hold {
            return Ok(());
        }
        let raised = match (self.hold, hold) {
            (Some(a), Some(b)) => b > a,
            (Some(_), None) => true,
            _ => false,
        };
        self.hold = hold;
        if raised {
            self.enforce_size_limits()?;
            self.drop_dead_segments()?;
        }
        Ok(())
    }

    /// Whether limits may remove `seq` now.
    pub(super) fn may_evict(&self, seq: u64) -> bool {
        self.hold.is_none_or(|h| seq <= h)
    }

    /// `max_msgs` and `max_bytes` with `discard: old`: removes the oldest messages until
    /// both hold (never past the forwarding hold).
    pub(super) fn enforce_size_limits(&mut self) -> Result<(), ApiError> {
        if self.config.discard != Discard::Old {
            return Ok(());
        }
        let max_msgs = limit(self.config.max_msgs).unwrap_or(u64::MAX);
        let max_bytes = limit(self.config.max_bytes).unwrap_or(u64::MAX);
        let (mut msgs, mut bytes) = (self.log().msgs(), self.log().bytes());
        if msgs <= max_msgs && bytes <= max_bytes {
            return Ok(());
        }
        let mut upto = None;
        for (seq, _, size) in self.index.live_from(0) {
            if (msgs <= max_msgs && bytes <= max_bytes) || !self.may_evict(seq) {
                break;
            }
            msgs -= 1;
            bytes = bytes.saturating_sub(size);
            upto = Some(seq + 1);
        }
        if let Some(upto) = upto {
            self.remove_below(upto, true)?;
        }
        Ok(())
    }

    /// Every limit at once (after an update, which may shrink them).
    pub(super) fn enforce_all_limits(&mut self) -> Result<(), ApiError> {
        if let Some(max) = limit(self.config.max_msgs_per_subject) {
            let over: Vec<Vec<u8>> = self
                .index
                .subjects()
                .filter(|(_, seqs)| seqs.len() as u64 > max)
                .map(|(s, _)| s.to_vec())
                .collect();
            for s in over {
                self.enforce_subject_limit(&s)?;
            }
        }
        self.enforce_size_limits()?;
        self.drop_dead_segments()
    }
}
