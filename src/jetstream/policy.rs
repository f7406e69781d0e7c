//! The small value types of a stream config: policy enums, consumer limits, and the serde
//! helpers that make every field accept `null`.
//!
//! Owns: the exact lower-case spellings nats-server uses (`limits`, `workqueue`, `old`, `file`,
//! `s2`, …). Must not: know defaults beyond each type's own. Hands off to: `config`.

use serde::{Deserialize, Deserializer, Serialize};

/// `null` → `T::default()`: Go's decoder leaves a field at its zero value for `null`, and
/// async-nats sends `"consumer_limits":null` (capture 11).
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `retention`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    /// Keep until a limit is reached (the default).
    #[default]
    Limits,
    /// Keep while some consumer is interested.
    Interest,
    /// Delete once acknowledged (`"workqueue"`).
    WorkQueue,
}

/// `discard`: what happens at a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Discard {
    /// Drop the oldest messages (the default).
    #[default]
    Old,
    /// Refuse the new message.
    New,
}

/// `storage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// On disk (the default).
    #[default]
    File,
    /// In memory.
    Memory,
}

/// `compression`: echoed as chosen (how leafd's store compresses is its own business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression (the default).
    #[default]
    None,
    /// S2.
    S2,
}

/// `consumer_limits`: defaults for the stream's consumers. Zeros are omitted (`{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerLimits {
    /// Nanoseconds; 0 = unset.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub inactive_threshold: i64,
    /// 0 = unset.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
}

pub(crate) fn is_u64_zero(n: &u64) -> bool {
    *n == 0
}
