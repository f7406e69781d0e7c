//! STREAM.PURGE and MSG.DELETE on a [`Stream`].
//!
//! Owns: nats-server's purge variants (`PurgeEx`): everything; below a seq; keeping the
//! newest N; and the same restricted to a subject filter (wildcards allowed, `>` = all), where
//! `keep` counts the newest N matching messages in total. Must not: check `deny_purge` /
//! `deny_delete` (the engine does, since work-queue acks delete too) or record evictions.
//! Hands off to: the log (whole-segment purges where the range allows, delete marks
//! otherwise).
//!
//! Difference from nats-server: an unfiltered `keep` keeps exactly the newest N live
//! messages (nats-server compacts at `last_seq - N + 1`, fewer when there are interior
//! deletes).

use super::Stream;
use crate::jetstream::error::ApiError;
use crate::subject::filter_matches;

impl Stream {
    /// Deletes message `seq` (MSG.DELETE, work-queue and interest acks); `false` if it was
    /// not live.
    ///
    /// # Errors
    /// The store failed (10077).
    pub fn delete(&mut self, seq: u64) -> Result<bool, ApiError> {
        let gone = self.remove_one(seq, false)?;
        if gone {
            self.drop_dead_segments()?;
        }
        Ok(gone)
    }

    /// STREAM.PURGE: everything, or the messages matching `filter`; only those below `seq`
    /// if given; keeping the newest `keep` if given. Returns how many were purged.
    ///
    /// # Errors
    /// The store failed (10077).
    pub fn purge(
        &mut self,
        filter: Option<&str>,
        seq: Option<u64>,
        keep: Option<u64>,
    ) -> Result<u64, ApiError> {
        let filter = filter.filter(|f| !f.is_empty() && *f != ">");
        let seq = seq.filter(|&s| s > 1);
        let keep = keep.filter(|&k| k > 0);
        let Some(filter) = filter else {
            let upto = match (seq, keep) {
                (Some(s), _) => s,
                (None, Some(k)) => match self.nth_newest(k) {
                    Some(s) => s,
                    None => return Ok(0),
                },
                (None, None) => self.log().last_seq() + 1,
            };
            return self.remove_below(upto, false);
        };
        let f = filter.as_bytes();
        let mut seqs: Vec<u64> = self
            .index
            .subjects()
            .filter(|(s, _)| filter_matches(f, s))
            .flat_map(|(_, q)| q.iter().copied())
            .filter(|&q| seq.is_none_or(|s| q < s))
            .collect();
        seqs.sort_unstable();
        let k = keep.map_or(0, |k| usize::try_from(k).unwrap_or(usize::MAX));
        seqs.truncate(seqs.len().saturating_sub(k));
        let mut n = 0;
        for q in seqs {
            n += u64::from(self.remove_one(q, false)?);
        }
        self.drop_dead_segments()?;
        Ok(n)
    }

    /// The seq of the `k`-th newest live message (`k >= 1`); `None` if there are not more
    /// than `k` messages (nothing to purge).
    fn nth_newest(&self, k: u64) -> Option<u64> {
        let live = self.index.len();
        if k >= live {
            return None;
        }
        let first = self.index.first()?;
        // Skip the oldest `live - k` live messages; the next one is the k-th newest.
        self.index
            .live_from(first)
            .nth(usize::try_from(live - k).ok()?)
            .map(|(s, _, _)| s)
    }
}
