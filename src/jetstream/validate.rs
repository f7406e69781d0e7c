//! `StreamConfig::validate`: nats-server's `checkStreamCfg` rejections, with its texts.
//!
//! Owns: the order and wording of config errors (10052 reasons, 10074, 10133) and leafd's
//! refusals of features it does not implement. Must not: change the config (that is
//! `normalise`). Hands off to: the API handler, which sends the error in the envelope.

use super::api::{is_valid_asset_name, MAX_NAME_LEN};
use super::config::{Discard, Retention, StreamConfig};
use super::error::ApiError;
use crate::subject;

/// The shortest non-zero `max_age` and `duplicate_window`: 100 ms.
const MIN_WINDOW: i64 = 100_000_000;
/// nats-server's `JSMaxDescriptionLen`.
const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
/// nats-server's `JSMaxMetadataLen` (keys plus values).
const MAX_METADATA_LEN: usize = 128 * 1024;
/// nats-server's `StreamMaxReplicas`.
const MAX_REPLICAS: i64 = 5;

fn invalid(reason: &'static str) -> Result<(), ApiError> {
    Err(ApiError::stream_config_invalid(reason))
}

impl StreamConfig {
    /// Checks a normalised config like nats-server's `checkStreamCfg` plus its single-server
    /// replica rule, returning the first failure with nats-server's text. Features leafd does
    /// not implement are rejected with a 10052 naming them.
    ///
    /// # Errors
    /// 10052 (config invalid, with the reason), 10128 (path separators), 10133 (negative
    /// replicas), 10074 (replicas > 1: leafd is always a single node).
    pub fn validate(&self) -> Result<(), ApiError> {
        self.validate_identity()?;
        if self.num_replicas > MAX_REPLICAS {
            return Err(ApiError::stream_config_invalid(format!(
                "maximum replicas is {MAX_REPLICAS}"
            )));
        }
        if self.num_replicas < 0 {
            return Err(ApiError::replicas_negative());
        }
        self.validate_windows()?;
        self.validate_features()?;
        self.validate_subjects()?;
        if self.num_replicas > 1 {
            return Err(ApiError::replicas_not_supported());
        }
        Ok(())
    }

    /// [`validate`](Self::validate) plus the rules of nats-server's create handler: a new
    /// stream can not be sealed, and `mirror_direct` needs a mirror.
    ///
    /// # Errors
    /// As `validate`, and 10052 for those two.
    pub fn validate_create(&self) -> Result<(), ApiError> {
        self.validate_identity()?;
        if self.sealed {
            return invalid("stream configuration for create can not be sealed");
        }
        if self.mirror_direct && self.mirror.is_none() {
            return invalid("stream has no mirror but does have mirror direct");
        }
        self.validate()
    }

    /// [`validate`](Self::validate) plus nats-server's update rules against the stream's
    /// current (normalised) config `old`.
    ///
    /// # Errors
    /// As `validate`, and 10052 with nats-server's text for a forbidden change.
    pub fn validate_update(&self, old: &StreamConfig) -> Result<(), ApiError> {
        self.validate()?;
        let rules = [
            (
                self.name != old.name,
                "stream configuration name must match original",
            ),
            (
                self.storage != old.storage,
                "stream configuration update can not change storage type",
            ),
            (
                self.retention != old.retention
                    && (self.retention == Retention::WorkQueue
                        || old.retention == Retention::WorkQueue),
                "stream configuration update can not change retention policy to/from workqueue",
            ),
            (
                old.sealed && !self.sealed,
                "stream configuration update can not unseal a sealed stream",
            ),
            (
                old.deny_delete && !self.deny_delete,
                "stream configuration update can not cancel deny message deletes",
            ),
            (
                old.deny_purge && !self.deny_purge,
                "stream configuration update can not cancel deny purge",
            ),
            (
                old.allow_msg_ttl && !self.allow_msg_ttl,
                "message TTL status can not be disabled",
            ),
            (
                self.persist_mode != old.persist_mode,
                "stream configuration update can not change persist mode",
            ),
        ];
        match rules.iter().find(|(broken, _)| *broken) {
            Some((_, why)) => invalid(why),
            None => Ok(()),
        }
    }

    fn validate_identity(&self) -> Result<(), ApiError> {
        // nats-server's create handler answers 10128 before checkStreamCfg sees the name.
        if self.name.contains(['/', '\\']) {
            return Err(ApiError::stream_name_path_separators());
        }
        // `isValidAssetName` first (any length), then the length limit, as nats-server.
        if !is_valid_asset_name(&self.name) {
            return invalid("stream name is required and can not contain '.', '*', '>', '\\', '/'");
        }
        if self.name.len() > MAX_NAME_LEN {
            return Err(ApiError::stream_config_invalid(format!(
                "stream name is too long, maximum allowed is {MAX_NAME_LEN}"
            )));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(ApiError::stream_config_invalid(format!(
                "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
            )));
        }
        let meta: usize = self.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        if meta > MAX_METADATA_LEN {
            return Err(ApiError::stream_config_invalid(format!(
                "stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes"
            )));
        }
        Ok(())
    }

    fn validate_windows(&self) -> Result<(), ApiError> {
        if self.max_age < 0 {
            return invalid("max age can not be negative");
        }
        if self.max_age != 0 && self.max_age < MIN_WINDOW {
            return invalid("max age needs to be >= 100ms");
        }
        if self.duplicate_window < 0 {
            return invalid("duplicates window can not be negative");
        }
        if self.max_age != 0 && self.duplicate_window > self.max_age {
            return invalid("duplicates window can not be larger then max age");
        }
        if self.duplicate_window > 0 && self.duplicate_window < MIN_WINDOW {
            return invalid("duplicates window needs to be >= 100ms");
        }
        if self.deny_purge && self.allow_rollup_hdrs {
            return invalid("roll-ups require the purge permission");
        }
        if self.discard_new_per_subject {
            if self.discard != Discard::New {
                return invalid("discard new per subject requires discard new policy to be set");
            }
            if self.max_msgs_per_subject <= 0 {
                return invalid("discard new per subject requires max msgs per subject > 0");
            }
        }
        if self.subject_delete_marker_ttl < 0 {
            return invalid("subject delete marker TTL must not be negative");
        }
        if self.subject_delete_marker_ttl > 0 && self.subject_delete_marker_ttl < 1_000_000_000 {
            return invalid("subject delete marker TTL must be at least 1 second");
        }
        Ok(())
    }

    /// What leafd has no implementation for: refused by name rather than silently ignored.
    fn validate_features(&self) -> Result<(), ApiError> {
        let unsupported = [
            (
                self.mirror.is_some(),
                "leafd does not support stream mirrors",
            ),
            (
                !self.sources.is_empty(),
                "leafd does not support stream sources",
            ),
            (
                self.subject_transform.is_some(),
                "leafd does not support subject transforms",
            ),
            (self.republish.is_some(), "leafd does not support republish"),
            (
                self.allow_msg_counter,
                "leafd does not support counter streams",
            ),
            (
                self.allow_atomic,
                "leafd does not support atomic batch publish",
            ),
            (self.allow_batched, "leafd does not support batched publish"),
            (
                self.allow_msg_schedules,
                "leafd does not support message schedules",
            ),
        ];
        match unsupported.iter().find(|(on, _)| *on) {
            Some((_, why)) => invalid(why),
            None => match self.persist_mode.as_str() {
                "" | "default" | "async" => Ok(()),
                _ => invalid("invalid persist mode"),
            },
        }
    }

    fn validate_subjects(&self) -> Result<(), ApiError> {
        if self.subjects.is_empty() {
            return invalid("stream needs at least one configured subject or be a source/mirror");
        }
        for (i, subj) in self.subjects.iter().enumerate() {
            let b = subj.as_bytes();
            if !subject::is_valid_filter(b) {
                return invalid("invalid subject");
            }
            if subj == ">" && !self.no_ack {
                return invalid("capturing all subjects requires no-ack to be true");
            }
            if !self.no_ack {
                let js_api = ["$JS.>", "$JSC.>", "$NRG.>"]
                    .iter()
                    .any(|ns| subject::filters_overlap(b, ns.as_bytes()));
                if js_api && !subject::is_subset(b, b"$JS.EVENT.>") {
                    return invalid(
                        "subjects that overlap with jetstream api require no-ack to be true",
                    );
                }
                if subject::filters_overlap(b, b"$SYS.>")
                    && !subject::is_subset(b, b"$SYS.ACCOUNT.>")
                {
                    return invalid(
                        "subjects that overlap with system api require no-ack to be true",
                    );
                }
            }
            // As nats-server, against the later subjects within the same pass: a literal
            // duplicate is reported as an overlap of its first occurrence (its own
            // "duplicate subjects detected" check comes too late to be reached).
            if let Some(later) = self.subjects[i + 1..]
                .iter()
                .find(|later| subject::filters_overlap(b, later.as_bytes()))
            {
                return Err(ApiError::stream_config_invalid(format!(
                    "subject {subj:?} overlaps with {later:?}"
                )));
            }
        }
        Ok(())
    }
}
