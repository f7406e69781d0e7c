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

/// Declares a lower-case string enum with a default, as nats-server spells them.
macro_rules! policy {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $var:ident = $text:literal),* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $var,)*
        }
    };
}

policy!(
    /// `retention`.
    Retention { #[default] /** Keep until limits. */ Limits = "limits", /** Keep while consumers are interested. */ Interest = "interest", /** Delete on ack. */ WorkQueue = "workqueue" }
);
policy!(
    /// `discard`: what happens at a limit.
    Discard { #[default] /** Drop the oldest. */ Old = "old", /** Reject the new message. */ New = "new" }
);
policy!(
    /// `storage`.
    Storage { #[default] /** On disk. */ File = "file", /** In memory. */ Memory = "memory" }
);
policy!(
    /// `compression` (leafd stores uncompressed either way but echoes the choice).
    Compression { #[default] /** None. */ None = "none", /** S2. */ S2 = "s2" }
);

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
