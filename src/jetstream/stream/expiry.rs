//! Time-based removal for a [`Stream`]: `max_age`, per-message TTLs (`Nats-TTL`) and the
//! subject delete markers of `subject_delete_marker_ttl`.
//!
//! Owns: which messages are due at `now`, when the next one is ([`Stream::next_expiry`]),
//! and, as nats-server does (memstore `expireMsgs`):
//! * `max_age` removes every message older than it, except those published with
//!   `Nats-TTL: never`; a positive TTL longer than `max_age` does not extend a message's life;
//! * a positive TTL removes its message at `timestamp + ttl`, even without `max_age`;
//! * with `subject_delete_marker_ttl` set, when the last message of a subject expires, a
//!   marker takes its place: an empty message on that subject with `Nats-Marker-Reason:
//!   MaxAge`, `Nats-TTL: <marker ttl>` and `Nats-Rollup: sub`. A marker (or a KV `PURGE`)
//!   that expires in turn leaves nothing behind.
//!
//! Messages above a forwarded stream's hold stay until the hub has them. Must not: read the
//! clock or parse publish headers (`publish.rs` does). Hands off to: `limits.rs` (removal and
//! the eviction record; expiries count as evictions), the engine (when to call, logging).

use super::{api_err, ns, ts, Stream};
use crate::jetstream::headers::header_value;
use crate::jetstream::time::{go_duration_string, Timestamp};

const NS_PER_SEC: i64 = 1_000_000_000;

/// How many held TTLs `next_expiry` looks past.
const SCAN: usize = 4096;

impl Stream {
    /// `subject_delete_marker_ttl` in whole seconds, if markers are on.
    fn marker_ttl(&self) -> Option<i64> {
        let secs = self.config.subject_delete_marker_ttl / NS_PER_SEC;
        (secs > 0).then_some(secs)
    }

    /// Removes what `max_age` and the message TTLs say is due at `now` (placing subject
    /// delete markers where configured); returns how many messages went or were replaced.
    ///
    /// # Errors
    /// The store failed while removing or appending a marker.
    pub fn expire(&mut self, now: Timestamp) -> Result<u64, crate::jetstream::ApiError> {
        let now_ns = ns(now);
        let markers = self.marker_ttl();
        let mut removed = 0;
        let mut due: Vec<u64> = Vec::new();
        if self.config.max_age > 0 {
            let cutoff = now_ns.saturating_sub(self.config.max_age);
            let from = if self.index.ttls().has_never() {
                self.aging_from.get()
            } else {
                0
            };
            let aged = self
                .index
                .live_from(from)
                .take_while(|&(seq, t, _)| t <= cutoff && self.may_evict(seq));
            if markers.is_none() && !self.index.ttls().has_never() {
                // Every aged message goes: one bulk removal up to the last of them.
                if let Some(upto) = aged.last().map(|(seq, _, _)| seq + 1) {
                    removed += self.remove_below(upto, true)?;
                }
            } else {
                let ttls = self.index.ttls();
                due.extend(aged.map(|(s, _, _)| s).filter(|&s| !ttls.is_never(s)));
            }
        }
        due.extend(self.index.ttls().due(now_ns).filter(|&s| self.may_evict(s)));
        due.sort_unstable();
        due.dedup();
        for seq in due {
            removed += self.expire_one(seq, markers, now)?;
        }
        if removed > 0 {
            self.drop_dead_segments()?;
        }
        Ok(removed)
    }

    /// Expires live `seq`: removes it, or replaces it with a subject delete marker when it is
    /// its subject's last message and not a marker itself. Returns 1 if something happened.
    fn expire_one(
        &mut self,
        seq: u64,
        markers: Option<i64>,
        now: Timestamp,
    ) -> Result<u64, crate::jetstream::ApiError> {
        let Some(subject) = self.index.subject_of(seq) else {
            return Ok(0);
        };
        let last_of_subject = self.index.seqs_of(subject).is_some_and(|q| q.len() == 1);
        match markers {
            Some(ttl) if last_of_subject && !self.is_marker(seq)? => {
                let subject = subject.to_vec();
                self.place_marker(&subject, ttl, now)?;
                Ok(u64::from(self.remove_one(seq, true)?))
            }
            _ => Ok(u64::from(self.remove_one(seq, true)?)),
        }
    }

    /// Whether `seq` is a subject delete marker or a KV purge (nats-server's
    /// `isSubjectDeleteMarker`).
    fn is_marker(&self, seq: u64) -> Result<bool, crate::jetstream::ApiError> {
        let Some(m) = self.log().get(seq).map_err(api_err)? else {
            return Ok(false);
        };
        let h = &m.headers;
        Ok(
            header_value(h, "Nats-Marker-Reason").is_some_and(|v| !v.is_empty())
                || header_value(h, "KV-Operation") == Some(b"PURGE"),
        )
    }

    /// Appends the `MaxAge` subject delete marker for `subject`, expiring `ttl` s from now.
    fn place_marker(
        &mut self,
        subject: &[u8],
        ttl: i64,
        now: Timestamp,
    ) -> Result<(), crate::jetstream::ApiError> {
        let hdr = format!(
            "NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: {}\r\nNats-Rollup: sub\r\n\r\n",
            go_duration_string(ttl.unsigned_abs() * 1_000_000_000)
        );
        let stamp = ns(now).max(self.index.last_ts());
        let seq = self
            .log_mut()
            .append(subject, hdr.as_bytes(), b"", stamp)
            .map_err(api_err)?;
        self.dirty = true;
        let size = crate::store::record::encoded_len(subject.len(), hdr.len(), 0) as u64;
        self.index.insert(seq, subject, stamp, size);
        self.index
            .set_ttl(seq, Some(stamp.saturating_add(ttl * NS_PER_SEC)));
        self.last_msg_id.clear();
        log::debug!(
            "stream {}: subject delete marker for {} at seq {seq}",
            self.config.name,
            String::from_utf8_lossy(subject)
        );
        Ok(())
    }

    /// When [`Stream::expire`] next has work: the oldest removable message's time +
    /// `max_age`, or the earliest TTL, whichever is first; `None` when nothing can expire.
    /// (TTLs are looked at past at most 4096 held ones: behind more, an expiry waits for
    /// the hold to move.)
    pub fn next_expiry(&self) -> Option<Timestamp> {
        let mut next: Option<i64> = None;
        if self.config.max_age > 0 {
            // Held seqs are re-armed when the hold moves (the engine re-reads deadlines).
            if let Some((_, t)) = self.oldest_aging().filter(|&(s, _)| self.may_evict(s)) {
                next = Some(t.saturating_add(self.config.max_age).max(1));
            }
        }
        let ttl = self
            .index
            .ttls()
            .by_expiry()
            .take(SCAN)
            .find(|&(_, s)| self.may_evict(s))
            .map(|(at, _)| at.max(1));
        next = match (next, ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(ts)
    }

    /// The oldest live message `max_age` applies to (not `Nats-TTL: never`): `(seq, ts)`.
    /// Every live seq below `aging_from` is exempt, so the walk past them happens once.
    fn oldest_aging(&self) -> Option<(u64, i64)> {
        let ttls = self.index.ttls();
        let from = if ttls.has_never() {
            self.aging_from.get()
        } else {
            0
        };
        let found = self
            .index
            .live_from(from)
            .find(|&(s, _, _)| !ttls.is_never(s));
        if ttls.has_never() {
            let end = self.index.last().map_or(from, |l| l + 1);
            self.aging_from.set(found.map_or(end, |(s, _, _)| s));
        }
        found.map(|(s, t, _)| (s, t))
    }
}
