//! `ConsumerConfig::validate`, `validate_update` and the work-queue rules: nats-server's
//! `checkConsumerCfg`, `checkNewConsumerConfig` and `addConsumer` rejections, with its codes.
//!
//! Owns: which normalised configs leafd refuses and with which error, including leafd's own
//! refusals of what it does not implement (priority groups, pause, replay
//! original, push rate limits). Must not: change a config (that is `normalise`). Hands off to: the
//! engine, which answers the create request with the error.

use crate::jetstream::api::{is_valid_asset_name, MAX_NAME_LEN};
use crate::jetstream::config::{Retention, StreamConfig};
use crate::jetstream::error::ApiError;
use crate::subject;

use super::config::{AckPolicy, ConsumerConfig, DeliverPolicy};

/// nats-server's `JSMaxDescriptionLen`.
const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
/// nats-server's `JSMaxMetadataLen`.
const MAX_METADATA_LEN: usize = 128 * 1024;
/// One millisecond: the smallest `max_expires`.
const MILLISECOND: i64 = 1_000_000;

/// 10052 (code 500, as nats-server's `NewJSStreamInvalidConfigError`) naming a feature leafd
/// does not implement.
fn unsupported(feature: &'static str) -> ApiError {
    ApiError::stream_config_invalid(feature)
}

fn bad_start(policy: &str, start: &str) -> ApiError {
    ApiError::consumer_invalid_policy(format!(
        "consumer delivery policy is deliver {policy}, but optional start {start} is also set"
    ))
}

fn not_set(policy: &str, what: &str) -> ApiError {
    ApiError::consumer_invalid_policy(format!(
        "consumer delivery policy is deliver {policy}, but optional {what} is not set"
    ))
}

impl ConsumerConfig {
    /// Checks a normalised config against `stream` (also normalised), returning the first
    /// failure in nats-server's order.
    ///
    /// # Errors
    /// nats-server's codes (10052 names, 10074/10133 replicas, 10183/10184 negative waits,
    /// 10116 backoff, 10107 description, 10086-10090 push-only fields, 10136-10139 filters,
    /// 10094 deliver policy, 10132 name/durable, 10121/10153
    /// stream limits) and 10052 "… not supported by leafd" for what leafd does not serve.
    pub fn validate(&self, stream: &StreamConfig) -> Result<(), ApiError> {
        self.validate_names()?;
        if self.replicas < 0 {
            return Err(ApiError::replicas_negative());
        }
        if self.replicas > 1 {
            return Err(ApiError::replicas_not_supported());
        }
        if self.backoff.iter().any(|&b| b < 0) {
            return Err(ApiError::consumer_backoff_negative());
        }
        if self.ack_wait < 0 {
            return Err(ApiError::consumer_ack_wait_negative());
        }
        if self.ack_policy == AckPolicy::FlowControl {
            return Err(unsupported(
                "ack policy flow_control is not supported by leafd",
            ));
        }
        let backoff = i64::try_from(self.backoff.len()).unwrap_or(i64::MAX);
        if backoff > 0 && self.max_deliver != -1 && backoff > self.max_deliver {
            return Err(ApiError::consumer_max_deliver_backoff());
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(ApiError::consumer_description_too_long(MAX_DESCRIPTION_LEN));
        }
        if self.deliver_subject.is_empty() {
            self.validate_pull(stream)?;
        } else {
            self.validate_push()?;
        }
        self.validate_filters()?;
        self.validate_deliver_policy()?;
        self.validate_limits(stream)?;
        self.validate_unsupported()
    }

    fn validate_names(&self) -> Result<(), ApiError> {
        for name in [&self.name, &self.durable_name] {
            if name.is_empty() {
                continue;
            }
            if name.contains(['/', '\\']) {
                return Err(ApiError::consumer_name_path_separators());
            }
            if !is_valid_asset_name(name) {
                return Err(ApiError::stream_config_invalid(
                    "consumer name can not contain '.', '*', '>', '\\', '/'",
                ));
            }
            if name.len() > MAX_NAME_LEN {
                return Err(ApiError::consumer_name_too_long(MAX_NAME_LEN));
            }
        }
        if !self.durable_name.is_empty() && !self.name.is_empty() && self.durable_name != self.name
        {
            return Err(ApiError::consumer_durable_name_mismatch());
        }
        Ok(())
    }

    /// nats-server's push rules: a literal deliver subject (10112), heartbeats with flow
    /// control (10108), no pull-only limits.
    fn validate_push(&self) -> Result<(), ApiError> {
        let ds = self.deliver_subject.as_bytes();
        if subject::is_valid_filter(ds) && !subject::is_valid_literal(ds) {
            return Err(ApiError::consumer_deliver_to_wildcards());
        }
        if !subject::is_valid_literal(ds) {
            return Err(ApiError::consumer_invalid_deliver_subject());
        }
        if self.heartbeat > 0 && self.heartbeat < 100_000_000 {
            return Err(ApiError::consumer_small_heartbeat());
        }
        if self.flow_control && self.heartbeat <= 0 {
            return Err(ApiError::consumer_fc_needs_heartbeats());
        }
        if self.max_waiting != 0 {
            return Err(ApiError::consumer_push_max_waiting());
        }
        if self.max_request_batch != 0
            || self.max_request_expires != 0
            || self.max_request_max_bytes != 0
        {
            return Err(ApiError::stream_config_invalid(
                "consumer in push mode can not set max request limits",
            ));
        }
        Ok(())
    }

    /// Pull-mode rules: push-only fields get nats-server's codes.
    fn validate_pull(&self, stream: &StreamConfig) -> Result<(), ApiError> {
        if !self.deliver_group.is_empty() {
            return Err(unsupported(
                "deliver_group needs a deliver_subject (a push consumer)",
            ));
        }
        if self.ack_policy == AckPolicy::None && stream.retention == Retention::WorkQueue {
            return Err(ApiError::consumer_pull_requires_ack());
        }
        if self.rate_limit > 0 {
            return Err(ApiError::consumer_pull_with_rate_limit());
        }
        if self.max_waiting < 0 {
            return Err(ApiError::consumer_max_waiting_negative());
        }
        if self.heartbeat > 0 {
            return Err(ApiError::consumer_hb_requires_push());
        }
        if self.flow_control {
            return Err(ApiError::consumer_fc_requires_push());
        }
        if self.direct {
            return Err(ApiError::consumer_direct_requires_push());
        }
        if self.max_request_batch < 0 {
            return Err(ApiError::consumer_max_request_batch_negative());
        }
        if self.max_request_expires != 0 && self.max_request_expires < MILLISECOND {
            return Err(ApiError::consumer_max_request_expires_too_small());
        }
        Ok(())
    }

    /// Filters are not checked against the stream's subjects: nats-server 2.15.1 creates a
    /// consumer whose filter matches none of them (it never delivers), so leafd does too.
    fn validate_filters(&self) -> Result<(), ApiError> {
        if !self.filter_subject.is_empty() && !self.filter_subjects.is_empty() {
            return Err(ApiError::consumer_duplicate_filter_subjects());
        }
        if self.filter_subjects.iter().any(String::is_empty) {
            return Err(ApiError::consumer_empty_filter());
        }
        let filters = self.filters();
        for (i, f) in filters.iter().enumerate() {
            if !subject::is_valid_filter(f.as_bytes()) {
                return Err(ApiError::stream_config_invalid("invalid subject"));
            }
            let overlaps = filters
                .iter()
                .enumerate()
                .any(|(j, g)| i != j && subject::filters_overlap(f.as_bytes(), g.as_bytes()));
            if overlaps {
                return Err(ApiError::consumer_overlapping_filters());
            }
        }
        Ok(())
    }

    fn validate_deliver_policy(&self) -> Result<(), ApiError> {
        let seq = self.opt_start_seq > 0;
        let time = self.opt_start_time.is_some();
        let name = match self.deliver_policy {
            DeliverPolicy::All => "all",
            DeliverPolicy::Last => "last",
            DeliverPolicy::New => "new",
            DeliverPolicy::LastPerSubject => "last per subject",
            DeliverPolicy::ByStartSequence => {
                if !seq {
                    return Err(not_set("by start sequence", "start sequence"));
                }
                if time {
                    return Err(bad_start("by start sequence", "time"));
                }
                return Ok(());
            }
            DeliverPolicy::ByStartTime => {
                if !time {
                    return Err(not_set("by start time", "start time"));
                }
                if seq {
                    return Err(bad_start("by start time", "start sequence"));
                }
                if self.start_time().is_none() {
                    return Err(ApiError::consumer_invalid_policy(
                        "consumer opt_start_time is not an RFC 3339 UTC time",
                    ));
                }
                return Ok(());
            }
        };
        if seq {
            return Err(bad_start(name, "sequence"));
        }
        if time {
            return Err(bad_start(name, "time"));
        }
        if self.deliver_policy == DeliverPolicy::LastPerSubject && self.filters().is_empty() {
            return Err(not_set("last per subject", "filter subject"));
        }
        Ok(())
    }

    fn validate_limits(&self, stream: &StreamConfig) -> Result<(), ApiError> {
        let limits = &stream.consumer_limits;
        if limits.max_ack_pending > 0 && self.max_ack_pending > limits.max_ack_pending {
            return Err(ApiError::consumer_max_ack_pending_excess(
                limits.max_ack_pending,
            ));
        }
        if limits.inactive_threshold > 0 && self.inactive_threshold > limits.inactive_threshold {
            let go = humantime::format_duration(std::time::Duration::from_nanos(
                u64::try_from(limits.inactive_threshold).unwrap_or(0),
            ))
            .to_string()
            .replace(' ', "");
            return Err(ApiError::consumer_inactive_threshold_excess(&go));
        }
        let meta: usize = self.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        if meta > MAX_METADATA_LEN {
            return Err(ApiError::stream_config_invalid(
                "consumer metadata exceeds maximum size of 128KB",
            ));
        }
        Ok(())
    }

    /// What nats-server serves and leafd does not (yet): refused by name, never ignored.
    fn validate_unsupported(&self) -> Result<(), ApiError> {
        if self.pause_until.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(unsupported("pause_until is not supported by leafd"));
        }
        if !self.priority_groups.is_empty()
            || !(self.priority_policy.is_empty() || self.priority_policy == "none")
            || self.pinned_ttl != 0
        {
            return Err(unsupported("priority groups are not supported by leafd"));
        }
        Ok(())
    }

    /// `opt_start_time` as a timestamp (RFC 3339 in UTC, fractions allowed).
    pub fn start_time(&self) -> Option<crate::jetstream::time::Timestamp> {
        let text = self.opt_start_time.as_deref()?;
        let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
        let ns = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
        Some(crate::jetstream::time::Timestamp(u64::try_from(ns).ok()?))
    }

    /// nats-server's `checkNewConsumerConfig`: what an update may not change. `self` is
    /// the new (normalised) config.
    ///
    /// # Errors
    /// 10012 (code 500) with nats-server's text, e.g. `ack policy can not be updated`.
    pub fn validate_update(&self, old: &ConsumerConfig) -> Result<(), ApiError> {
        if self == old {
            return Ok(());
        }
        let fail = |what: &'static str| Err(ApiError::consumer_create_failed(what));
        if self.deliver_policy != old.deliver_policy {
            return fail("deliver policy can not be updated");
        }
        if self.memory_storage != old.memory_storage {
            return fail("storage type can not be updated");
        }
        if self.direct != old.direct {
            return fail("direct can not be updated");
        }
        if self.opt_start_seq != old.opt_start_seq {
            return fail("start sequence can not be updated");
        }
        if self.start_time() != old.start_time() {
            return fail("start time can not be updated");
        }
        if self.ack_policy != old.ack_policy {
            return fail("ack policy can not be updated");
        }
        if self.replay_policy != old.replay_policy {
            return fail("replay policy can not be updated");
        }
        if self.heartbeat != old.heartbeat {
            return fail("heart beats can not be updated");
        }
        if self.flow_control != old.flow_control {
            return fail("flow control can not be updated");
        }
        if self.deliver_subject != old.deliver_subject && old.deliver_subject.is_empty() {
            return fail("can not update pull consumer to push based");
        }
        if self.durable_name != old.durable_name {
            return fail("consumer durable name can not be updated");
        }
        Ok(())
    }
}

/// Work-queue streams (retention `workqueue`): explicit acks only, deliver policy `all`, at
/// most one unfiltered consumer and no two consumers whose filters collide. `existing` are
/// the other consumers' configs (the one being updated excluded by the caller or by name).
///
/// # Errors
/// 10098, 10101, 10099, 10100 as nats-server's `addConsumer`.
pub fn check_workqueue(new: &ConsumerConfig, existing: &[&ConsumerConfig]) -> Result<(), ApiError> {
    if new.ack_policy != AckPolicy::Explicit {
        return Err(ApiError::consumer_wq_requires_explicit_ack());
    }
    if new.deliver_policy != DeliverPolicy::All {
        return Err(ApiError::consumer_wq_not_deliver_all());
    }
    let others: Vec<&&ConsumerConfig> = existing
        .iter()
        .filter(|o| new.name.is_empty() || o.name != new.name)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let mine = new.filters();
    if mine.is_empty() {
        return Err(ApiError::consumer_wq_multiple_unfiltered());
    }
    for other in others {
        let theirs = other.filters();
        let collide = theirs.is_empty()
            || mine.iter().any(|a| {
                theirs
                    .iter()
                    .any(|b| subject::filters_overlap(a.as_bytes(), b.as_bytes()))
            });
        if collide {
            return Err(ApiError::consumer_wq_not_unique());
        }
    }
    Ok(())
}
