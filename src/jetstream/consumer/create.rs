//! `CONSUMER.CREATE` / `CONSUMER.DURABLE.CREATE` requests: the body and the subject's
//! stream, consumer and filter tokens, reconciled by nats-server's `jsConsumerCreateRequest`
//! rules.
//!
//! Owns: the subject-versus-body checks (10056, 10127, 10016-10020, 10131, 10137), the
//! consumer's name (the token, the durable, or 8 random alphanumerics for an ephemeral) and
//! the requested action. Must not: look at existing consumers (the engine decides 10148 /
//! 10149 with `same_as`) or the stream's config beyond [`CreateRequest::prepare`].
//! Hands off to: the engine, then `Consumer::new` / `Consumer::update`.

use serde::Deserialize;

use crate::jetstream::api::parse_body;
use crate::jetstream::config::{Retention, StreamConfig};
use crate::jetstream::error::ApiError;

use super::config::ConsumerConfig;
use super::validate::check_workqueue;

/// Length of a generated ephemeral name (captured `8AvQtnPY`).
const EPHEMERAL_NAME_LEN: usize = 8;

/// The request's `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Action {
    /// `""`: create, or update an existing consumer.
    #[default]
    #[serde(rename = "")]
    CreateOrUpdate,
    /// `"create"`: an existing consumer with a different config is 10148.
    #[serde(rename = "create")]
    Create,
    /// `"update"`: a missing consumer is 10149.
    #[serde(rename = "update")]
    Update,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    #[serde(deserialize_with = "crate::jetstream::policy::nullable")]
    stream_name: String,
    #[serde(deserialize_with = "crate::jetstream::policy::nullable")]
    config: ConsumerConfig,
    #[serde(deserialize_with = "crate::jetstream::policy::nullable")]
    action: Action,
}

/// A decoded create request: the consumer's name, its (not yet normalised) config and the
/// action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    /// The consumer's name (also `config.name`).
    pub name: String,
    /// The requested config; call [`CreateRequest::prepare`] before using it.
    pub config: ConsumerConfig,
    /// What to do if the consumer exists or not.
    pub action: Action,
}

/// Decodes a create request the way nats-server's handler does. `consumer` and `filter` are
/// the subject's tokens (`ApiRequest::ConsumerCreate`); `legacy_durable` marks
/// `CONSUMER.DURABLE.CREATE`.
///
/// # Errors
/// 10025 bad JSON; 10056 `stream_name` differs from the subject; 10127 path separators;
/// 10016/10018/10017 legacy durable rules; 10017 durable differs from the name token;
/// 10020 durable in the ephemeral form; 10137 `filter_subjects` with a filter token; 10131
/// filter token differs from `filter_subject`.
pub fn parse_create(
    stream: &str,
    consumer: Option<&str>,
    filter: Option<&str>,
    legacy_durable: bool,
    body: &[u8],
) -> Result<CreateRequest, ApiError> {
    let Body {
        stream_name,
        mut config,
        action,
    } = parse_body(body)?;
    if stream_name != stream {
        return Err(ApiError::stream_name_mismatch());
    }
    if consumer.is_some_and(|c| c.contains(['/', '\\'])) {
        return Err(ApiError::consumer_name_path_separators());
    }
    match consumer {
        Some(token) if legacy_durable => {
            if config.durable_name.is_empty() {
                return Err(ApiError::consumer_durable_not_set());
            }
            if config.durable_name != token {
                return Err(ApiError::consumer_durable_subject_mismatch());
            }
            config.name = token.to_owned();
        }
        None if legacy_durable => return Err(ApiError::consumer_durable_not_in_subject()),
        Some(token) => {
            if !config.durable_name.is_empty() && config.durable_name != token {
                return Err(ApiError::consumer_durable_subject_mismatch());
            }
            config.name = token.to_owned();
        }
        None => {
            if !config.durable_name.is_empty() {
                return Err(ApiError::consumer_ephemeral_with_durable());
            }
        }
    }
    if let Some(f) = filter {
        if !config.filter_subjects.is_empty() {
            return Err(ApiError::consumer_multiple_filters_not_allowed());
        }
        if config.filter_subject != f {
            return Err(ApiError::consumer_filter_subject_mismatch());
        }
    }
    if config.name.is_empty() {
        config.name = if config.durable_name.is_empty() {
            ephemeral_name()
        } else {
            config.durable_name.clone()
        };
    }
    Ok(CreateRequest {
        name: config.name.clone(),
        config,
        action,
    })
}

/// 8 random ASCII letters and digits.
pub fn ephemeral_name() -> String {
    (0..EPHEMERAL_NAME_LEN)
        .map(|_| fastrand::alphanumeric())
        .collect()
}

impl CreateRequest {
    /// Normalises the config against `stream` and validates it: nats-server's
    /// `setConsumerConfigDefaults` then `checkConsumerCfg`.
    ///
    /// # Errors
    /// As [`ConsumerConfig::validate`].
    pub fn prepare(&mut self, stream: &StreamConfig) -> Result<(), ApiError> {
        self.config.normalise_for(stream);
        self.config.validate(stream)
    }

    /// [`prepare`](Self::prepare) plus, on a work-queue stream, [`check_workqueue`] against
    /// the stream's other consumers.
    ///
    /// # Errors
    /// As `prepare` and `check_workqueue`.
    pub fn prepare_with(
        &mut self,
        stream: &StreamConfig,
        existing: &[&ConsumerConfig],
    ) -> Result<(), ApiError> {
        self.prepare(stream)?;
        if stream.retention == Retention::WorkQueue {
            check_workqueue(&self.config, existing)?;
        }
        Ok(())
    }
}
