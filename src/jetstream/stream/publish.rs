//! [`Stream::publish`]: storing one message, with every check nats-server makes first.
//!
//! Owns: the order of the checks (sealed, `max_msg_size`, header expectations and dedupe,
//! discard-new limits), the append, the dedupe/last-id bookkeeping, `Nats-Rollup` and the
//! discard-old limits after the append. Must not: build pub-acks (the engine does, from
//! [`Published`] or the [`ApiError`]). Hands off to: `limits.rs` (what to remove).
//!
//! Discard-new errors are nats-server's store errors wrapped in 10077 (code 503):
//! `maximum messages exceeded`, `maximum bytes exceeded`, `maximum messages per subject
//! exceeded` (the last only with `discard_new_per_subject`). As in nats-server, a message
//! whose subject is at `max_msgs_per_subject` passes `max_msgs` (and `max_bytes`, if the
//! subject's oldest message is at least as large) since storing it removes that one.
//!
//! `Nats-TTL` on a stream with `allow_msg_ttl` is recorded for `expiry.rs`. With
//! `subject_delete_marker_ttl` set (and `max_msgs_per_subject` other than 1), a shorter TTL is
//! raised to the marker TTL and the stored header says so, as nats-server does: otherwise a
//! marker could outlive the message it stands for.

use super::{api_err, ns, ttl_expiry, Published, Stream};
use crate::jetstream::config::Discard;
use crate::jetstream::error::ApiError;
use crate::jetstream::expect::{ExpectState, PublishExpectations, Rollup, Ttl, Verdict};
use crate::jetstream::headers::with_header;
use crate::jetstream::time::Timestamp;
use crate::store::record::encoded_len;

impl Stream {
    /// Stores one message (see the module docs for the order of checks).
    ///
    /// # Errors
    /// 10109 sealed, 10054 too large, the expectation errors of
    /// [`PublishExpectations::check`], 10077 for discard-new limits and store failures.
    pub fn publish(
        &mut self,
        subject: &[u8],
        headers: Option<&[u8]>,
        payload: &[u8],
        now: Timestamp,
    ) -> Result<Published, ApiError> {
        if self.config.sealed {
            return Err(ApiError::stream_sealed());
        }
        let hdr = headers.unwrap_or_default();
        let max_size = usize::try_from(self.config.max_msg_size).ok();
        if max_size.is_some_and(|max| hdr.len().saturating_add(payload.len()) > max) {
            return Err(ApiError::message_size_exceeds());
        }
        let exp = PublishExpectations::from_headers(hdr)?;
        let stamp = ns(now).max(self.index.last_ts());
        self.dedupe
            .expire(stamp.saturating_sub(self.config.duplicate_window));
        let rollup = {
            let subject_last_seq = exp
                .subject_to_check(subject)
                .and_then(|s| self.index.seqs_of(s)?.back().copied());
            let st = ExpectState {
                name: &self.config.name,
                last_seq: self.log().last_seq(),
                subject_last_seq,
                last_msg_id: &self.last_msg_id,
                duplicate_of: exp.msg_id.and_then(|id| self.dedupe.get(id)),
                allow_rollup: self.config.allow_rollup_hdrs,
                allow_msg_ttl: self.config.allow_msg_ttl,
            };
            match exp.check(&st)? {
                Verdict::Duplicate(seq) => {
                    return Ok(Published {
                        seq,
                        duplicate: true,
                    })
                }
                Verdict::Store(rollup) => rollup,
            }
        };
        let ttl = exp.ttl.filter(|t| t.is_set() && self.config.allow_msg_ttl);
        let (ttl, raised) = match (ttl, self.marker_min_ttl()) {
            (Some(Ttl::Seconds(s)), Some(min)) if s < min => {
                let hdr = with_header(hdr, "Nats-TTL", &min.to_string());
                (Some(Ttl::Seconds(min)), Some(hdr))
            }
            (ttl, _) => (ttl, None),
        };
        let hdr = raised.as_deref().unwrap_or(hdr);
        let size = encoded_len(subject.len(), hdr.len(), payload.len()) as u64;
        self.check_discard_new(subject, size, rollup.is_some())?;
        let seq = self
            .log_mut()
            .append(subject, hdr, payload, stamp)
            .map_err(api_err)?;
        self.dirty = true;
        self.index.insert(seq, subject, stamp, size);
        if let Some(ttl) = ttl {
            self.index.set_ttl(seq, ttl_expiry(ttl, stamp));
        }
        if let Some(id) = exp.msg_id {
            self.dedupe.insert(id, seq, stamp);
        }
        self.last_msg_id.clear();
        self.last_msg_id
            .extend_from_slice(exp.msg_id.unwrap_or_default());
        log::trace!("stream {}: stored seq {seq}", self.config.name);
        match rollup {
            Some(Rollup::Subject) => self.rollup_subject(subject, seq)?,
            Some(Rollup::All) => {
                self.remove_below(seq, false)?;
            }
            None => {}
        }
        self.enforce_subject_limit(subject)?;
        self.enforce_size_limits()?;
        self.drop_dead_segments()?;
        Ok(Published {
            seq,
            duplicate: false,
        })
    }

    /// The least TTL a message may carry: the subject delete marker TTL in seconds, when
    /// markers are on and `max_msgs_per_subject` is not 1.
    fn marker_min_ttl(&self) -> Option<u64> {
        let secs = u64::try_from(self.config.subject_delete_marker_ttl / 1_000_000_000).ok()?;
        (secs > 0 && self.config.max_msgs_per_subject != 1).then_some(secs)
    }

    /// nats-server's discard-new checks (memstore `storeRawMsg`), before the append.
    fn check_discard_new(&self, subject: &[u8], size: u64, rollup: bool) -> Result<(), ApiError> {
        if self.config.discard != Discard::New {
            return Ok(());
        }
        let per = u64::try_from(self.config.max_msgs_per_subject).unwrap_or(0);
        let seqs = self.index.seqs_of(subject);
        let at_subject_limit = per > 0 && seqs.is_some_and(|s| s.len() as u64 >= per);
        if at_subject_limit && self.config.discard_new_per_subject && !rollup {
            return Err(ApiError::stream_store_failed(
                "maximum messages per subject exceeded",
            ));
        }
        let msgs = self.log().msgs();
        if u64::try_from(self.config.max_msgs).is_ok_and(|max| max > 0 && msgs >= max)
            && !at_subject_limit
        {
            return Err(ApiError::stream_store_failed("maximum messages exceeded"));
        }
        let bytes = self.log().bytes();
        if u64::try_from(self.config.max_bytes)
            .is_ok_and(|max| max > 0 && bytes.saturating_add(size) > max)
        {
            let oldest = seqs
                .and_then(|s| s.front())
                .and_then(|&seq| self.index.meta(seq));
            let replaced_fits = at_subject_limit && oldest.is_some_and(|(_, sz)| sz >= size);
            if !replaced_fits {
                return Err(ApiError::stream_store_failed("maximum bytes exceeded"));
            }
        }
        Ok(())
    }

    /// `Nats-Rollup: sub`: removes every other message of `subject` (a purge, not an
    /// eviction).
    fn rollup_subject(&mut self, subject: &[u8], keep: u64) -> Result<(), ApiError> {
        let older: Vec<u64> = self
            .index
            .seqs_of(subject)
            .map(|s| s.iter().copied().filter(|&q| q != keep).collect())
            .unwrap_or_default();
        for seq in older {
            self.remove_one(seq, false)?;
        }
        Ok(())
    }
}
