//! The JetStream API error catalogue: the `{"code","err_code","description"}` objects
//! nats-server 2.15.1 puts in error responses and error pub-acks.
//!
//! Owns: every code/err_code/description this layer (and later the stream and consumer layers)
//! can answer with, spelled exactly as nats-server's `server/errors.json`. Must not: build
//! envelopes (that is `response`) or decide *when* an error applies (callers). Hands off to:
//! `response` (serialises it inside envelopes and pub-acks), `config`, `headers`, `api`.
//!
//! Clients branch on `code` (async-nats `get_or_create_stream` on `code == 404`, nats-py maps
//! 400/404/500/503 to exception classes), so `code` is always present (PROTOCOL.md §5 trap 9).

use std::borrow::Cow;
use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// One JetStream API error, serialised as `{"code":400,"err_code":10058,"description":"..."}`.
///
/// Constant errors borrow a `'static` description and never allocate; the few parameterised
/// ones (`wrong last sequence: N`, `invalid JSON: …`, config reasons) own theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP-like status clients branch on (400, 404, 500, 503).
    pub code: u16,
    /// nats-server's `ErrorIdentifier` (`errors.json` `error_code`).
    pub err_code: u32,
    /// The server's text, with its `{placeholder}` filled in.
    pub description: Cow<'static, str>,
}

/// Builds a constant-description constructor.
macro_rules! constant {
    ($(#[$doc:meta] $name:ident => $code:literal, $err:literal, $text:literal;)*) => {
        $(
            #[$doc]
            pub const fn $name() -> ApiError {
                ApiError { code: $code, err_code: $err, description: Cow::Borrowed($text) }
            }
        )*
    };
}

impl ApiError {
    fn owned(code: u16, err_code: u32, description: String) -> ApiError {
        ApiError {
            code,
            err_code,
            description: Cow::Owned(description),
        }
    }

    constant! {
        /// 10059: `STREAM.*` on a name that does not exist.
        stream_not_found => 404, 10059, "stream not found";
        /// 10014: `CONSUMER.*` on a name that does not exist.
        consumer_not_found => 404, 10014, "consumer not found";
        /// 10037: `STREAM.MSG.GET` miss.
        no_message_found => 404, 10037, "no message found";
        /// 10058: create with a config that differs from the existing stream's.
        stream_name_in_use => 400, 10058, "stream name already in use with a different configuration";
        /// 10056: the body's `name` is not the subject's stream token.
        stream_name_mismatch => 400, 10056, "stream name in subject does not match request";
        /// 10065: a new stream's subjects overlap an existing stream's.
        subjects_overlap => 400, 10065, "subjects overlap with an existing stream";
        /// 10060: `Nats-Expected-Stream` names another stream.
        expected_stream_mismatch => 400, 10060, "expected stream does not match";
        /// 10148: consumer create with action `create` on an existing, different consumer.
        consumer_already_exists => 400, 10148, "consumer already exists";
        /// 10149: consumer create with action `update` on a missing consumer.
        consumer_does_not_exist => 400, 10149, "consumer does not exist";
        /// 10013: consumer name taken.
        consumer_name_in_use => 400, 10013, "consumer name already in use";
        /// 10038: a body where nats-server wants none (leafd is more lenient, see `api`).
        expected_empty_request => 400, 10038, "expected an empty request payload";
        /// 10054: message larger than the stream's `max_msg_size`.
        message_size_exceeds => 400, 10054, "message size exceeds maximum allowed";
        /// 10111: `Nats-Rollup` on a stream without `allow_rollup_hdrs`. Code 500, as captured.
        rollup_not_permitted => 500, 10111, "rollup not permitted";
        /// 10166: `Nats-TTL` on a stream without `allow_msg_ttl`.
        msg_ttl_disabled => 400, 10166, "per-message TTL is disabled";
        /// 10165: unparsable or too small `Nats-TTL`.
        msg_ttl_invalid => 400, 10165, "invalid per-message TTL";
        /// 10074: `num_replicas > 1` on a single node (leafd always is one).
        replicas_not_supported => 500, 10074, "replicas > 1 not supported in non-clustered mode";
        /// 10133: negative `num_replicas`.
        replicas_negative => 400, 10133, "replicas count cannot be negative";
        /// 10128: stream name with `/` or `\`.
        stream_name_path_separators => 400, 10128, "Stream name can not contain path separators";
        /// 10109: write to a sealed stream.
        stream_sealed => 400, 10109, "invalid operation on sealed stream";
        /// 10076: JetStream is not enabled on this server.
        not_enabled => 503, 10076, "JetStream not enabled";
        /// 10039: JetStream is not enabled for the account.
        not_enabled_for_account => 503, 10039, "JetStream not enabled for account";
        /// 10023: out of some resource (streams, consumers, memory budget).
        insufficient_resources => 503, 10023, "insufficient resources";
        /// 10047: the store's byte budget is exhausted.
        storage_resources_exceeded => 500, 10047, "insufficient storage resources available";
        /// 10028: the memory store's byte budget is exhausted.
        memory_resources_exceeded => 500, 10028, "insufficient memory resources available";
        /// 10027: stream table full.
        maximum_streams_reached => 400, 10027, "maximum number of streams reached";
        /// 10026: consumer table full.
        maximum_consumers_reached => 400, 10026, "maximum consumers limit reached";
        /// 10003: generic bad request.
        bad_request => 400, 10003, "bad request";
    }

    /// 10071 `wrong last sequence: N`, N being the stream's (or subject's) actual last sequence.
    pub fn wrong_last_sequence(actual: u64) -> ApiError {
        Self::owned(400, 10071, format!("wrong last sequence: {actual}"))
    }

    /// 10070 `wrong last msg ID: <id>`, the stream's actual last `Nats-Msg-Id` (maybe empty).
    pub fn wrong_last_msg_id(actual: &str) -> ApiError {
        Self::owned(400, 10070, format!("wrong last msg ID: {actual}"))
    }

    /// 10111 (500) `rollup value invalid: "x"` for a `Nats-Rollup` other than `sub`/`all`.
    pub fn rollup_invalid(value: &str) -> ApiError {
        Self::owned(500, 10111, format!("rollup value invalid: {value:?}"))
    }

    /// 10193 `-Subject` given without `Nats-Expected-Last-Subject-Sequence`.
    pub const fn expected_last_subject_seq_missing() -> ApiError {
        ApiError {
            code: 400,
            err_code: 10193,
            description: Cow::Borrowed("missing sequence for expected last sequence per subject"),
        }
    }

    /// 10043 `sequence N not found` (`STREAM.MSG.DELETE` miss).
    pub fn sequence_not_found(seq: u64) -> ApiError {
        Self::owned(400, 10043, format!("sequence {seq} not found"))
    }

    /// 10025 `invalid JSON: <why>`. The reason is serde_json's, not Go's, so its wording
    /// differs from nats-server's (clients only look at the codes).
    pub fn invalid_json(why: impl fmt::Display) -> ApiError {
        Self::owned(400, 10025, format!("invalid JSON: {why}"))
    }

    /// 10052 (code 500, as nats-server) with checkStreamCfg's reason text.
    pub fn stream_config_invalid(reason: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            code: 500,
            err_code: 10052,
            description: reason.into(),
        }
    }

    /// 10077 (503) a store failure, with its text.
    pub fn stream_store_failed(reason: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            code: 503,
            err_code: 10077,
            description: reason.into(),
        }
    }

    /// Is this a "not found" (code 404) error? async-nats keys `get_or_create_stream` off it.
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }

    /// The error as its JSON object text (`{"code":…,"err_code":…,"description":"…"}`).
    pub fn to_json(&self) -> String {
        // Serialising a struct of an integer pair and a string cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ApiError", 3)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("err_code", &self.err_code)?;
        st.serialize_field("description", &self.description)?;
        st.end()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
}

impl std::error::Error for ApiError {}

/// The consumer layer's errors (`jetstream::consumer`), spelled as nats-server's
/// `server/errors.json`.
impl ApiError {
    constant! {
        /// 10016: legacy `DURABLE.CREATE` without a durable token in the subject.
        consumer_durable_not_in_subject => 400, 10016, "consumer expected to be durable but no durable name set in subject";
        /// 10017: the subject's consumer token differs from the body's `durable_name`.
        consumer_durable_subject_mismatch => 400, 10017, "consumer name in subject does not match durable name in request";
        /// 10018: legacy `DURABLE.CREATE` whose body has no `durable_name`.
        consumer_durable_not_set => 400, 10018, "consumer expected to be durable but a durable name was not set";
        /// 10020: `CONSUMER.CREATE.<stream>` (ephemeral form) with a `durable_name`.
        consumer_ephemeral_with_durable => 400, 10020, "consumer expected to be ephemeral but a durable name was set in request";
        /// 10080: `max_waiting` on a push consumer.
        consumer_push_max_waiting => 400, 10080, "consumer in push mode can not set max waiting";
        /// 10079: a `deliver_subject` with wildcards.
        consumer_deliver_to_wildcards => 400, 10079, "consumer deliver subject has wildcards";
        /// 10083: a push `idle_heartbeat` under 100 ms.
        consumer_small_heartbeat => 400, 10083, "consumer idle heartbeat needs to be >= 100ms";
        /// 10108: `flow_control` without `idle_heartbeat`.
        consumer_fc_needs_heartbeats => 400, 10108, "consumer with flow control also needs heartbeats";
        /// 10112: an invalid `deliver_subject`.
        consumer_invalid_deliver_subject => 400, 10112, "invalid push consumer deliver subject";
        /// 10084: `ack_policy: none` on a work-queue stream (pull).
        consumer_pull_requires_ack => 400, 10084, "consumer in pull mode requires explicit ack policy on workqueue stream";
        /// 10086: `rate_limit_bps` on a pull consumer.
        consumer_pull_with_rate_limit => 400, 10086, "consumer in pull mode can not have rate limit set";
        /// 10087: negative `max_waiting`.
        consumer_max_waiting_negative => 400, 10087, "consumer max waiting needs to be positive";
        /// 10088: `idle_heartbeat` in a pull consumer's config.
        consumer_hb_requires_push => 400, 10088, "consumer idle heartbeat requires a push based consumer";
        /// 10089: `flow_control` in a pull consumer's config.
        consumer_fc_requires_push => 400, 10089, "consumer flow control requires a push based consumer";
        /// 10090: `direct` on a pull consumer.
        consumer_direct_requires_push => 400, 10090, "consumer direct requires a push based consumer";
        /// 10098: a work-queue consumer without explicit acks.
        consumer_wq_requires_explicit_ack => 400, 10098, "workqueue stream requires explicit ack";
        /// 10099: a second unfiltered consumer on a work-queue stream.
        consumer_wq_multiple_unfiltered => 400, 10099, "multiple non-filtered consumers not allowed on workqueue stream";
        /// 10100: a work-queue consumer whose filters collide with another's.
        consumer_wq_not_unique => 400, 10100, "filtered consumer not unique on workqueue stream";
        /// 10101: a work-queue consumer with a deliver policy other than `all`.
        consumer_wq_not_deliver_all => 400, 10101, "consumer must be deliver all on workqueue stream";
        /// 10114: negative `max_batch`.
        consumer_max_request_batch_negative => 400, 10114, "consumer max request batch needs to be > 0";
        /// 10115: `max_expires` below 1 ms.
        consumer_max_request_expires_too_small => 400, 10115, "consumer max request expires needs to be >= 1ms";
        /// 10116: `backoff` longer than `max_deliver` allows.
        consumer_max_deliver_backoff => 400, 10116, "max deliver is required to be > length of backoff values";
        /// 10127: consumer name with `/` or `\`.
        consumer_name_path_separators => 400, 10127, "Consumer name can not contain path separators";
        /// 10131: the subject's filter tokens differ from `filter_subject`.
        consumer_filter_subject_mismatch => 400, 10131, "Consumer create request did not match filtered subject from create subject";
        /// 10132: `name` and `durable_name` both set and different.
        consumer_durable_name_mismatch => 400, 10132, "Consumer Durable and Name have to be equal if both are provided";
        /// 10136: both `filter_subject` and `filter_subjects`.
        consumer_duplicate_filter_subjects => 400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified";
        /// 10137: `filter_subjects` with the filter-in-subject create form.
        consumer_multiple_filters_not_allowed => 400, 10137, "consumer with multiple subject filters cannot use subject based API";
        /// 10138: two of `filter_subjects` overlap.
        consumer_overlapping_filters => 400, 10138, "consumer subject filters cannot overlap";
        /// 10139: an empty entry in `filter_subjects`.
        consumer_empty_filter => 400, 10139, "consumer filter in FilterSubjects cannot be empty";
        /// 10183: negative `ack_wait`.
        consumer_ack_wait_negative => 400, 10183, "consumer ack wait needs to be positive";
        /// 10184: a negative `backoff` value.
        consumer_backoff_negative => 400, 10184, "consumer backoff needs to be positive";
        /// 10078: a create request without a config.
        consumer_config_required => 400, 10078, "consumer config required";
    }

    /// 10094 (400) an inconsistent deliver policy, with nats-server's text.
    pub fn consumer_invalid_policy(reason: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            code: 400,
            err_code: 10094,
            description: reason.into(),
        }
    }

    /// 10012 (500) a consumer create/update failure, e.g. `ack policy can not be updated`.
    pub fn consumer_create_failed(reason: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            code: 500,
            err_code: 10012,
            description: reason.into(),
        }
    }

    /// 10102 `consumer name is too long, maximum allowed is N`.
    pub fn consumer_name_too_long(max: usize) -> ApiError {
        Self::owned(
            400,
            10102,
            format!("consumer name is too long, maximum allowed is {max}"),
        )
    }

    /// 10107 `consumer description is too long, maximum allowed is N`.
    pub fn consumer_description_too_long(max: usize) -> ApiError {
        Self::owned(
            400,
            10107,
            format!("consumer description is too long, maximum allowed is {max}"),
        )
    }

    /// 10121 `consumer max ack pending exceeds system limit of N`.
    pub fn consumer_max_ack_pending_excess(limit: i64) -> ApiError {
        Self::owned(
            400,
            10121,
            format!("consumer max ack pending exceeds system limit of {limit}"),
        )
    }

    /// 10153 `consumer inactive threshold exceeds system limit of <Go duration>`.
    pub fn consumer_inactive_threshold_excess(limit: &str) -> ApiError {
        Self::owned(
            400,
            10153,
            format!("consumer inactive threshold exceeds system limit of {limit}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every captured error object (captures 03, 04, 05, 15), byte for byte.
    #[test]
    fn captured_error_objects() {
        let table: &[(ApiError, &str)] = &[
            (
                ApiError::stream_not_found(),
                r#"{"code":404,"err_code":10059,"description":"stream not found"}"#,
            ),
            (
                ApiError::consumer_not_found(),
                r#"{"code":404,"err_code":10014,"description":"consumer not found"}"#,
            ),
            (
                ApiError::no_message_found(),
                r#"{"code":404,"err_code":10037,"description":"no message found"}"#,
            ),
            (
                ApiError::stream_name_in_use(),
                r#"{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}"#,
            ),
            (
                ApiError::stream_name_mismatch(),
                r#"{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}"#,
            ),
            (
                ApiError::expected_stream_mismatch(),
                r#"{"code":400,"err_code":10060,"description":"expected stream does not match"}"#,
            ),
            (
                ApiError::wrong_last_sequence(2),
                r#"{"code":400,"err_code":10071,"description":"wrong last sequence: 2"}"#,
            ),
            (
                ApiError::wrong_last_sequence(0),
                r#"{"code":400,"err_code":10071,"description":"wrong last sequence: 0"}"#,
            ),
            (
                ApiError::wrong_last_msg_id("id-2"),
                r#"{"code":400,"err_code":10070,"description":"wrong last msg ID: id-2"}"#,
            ),
            (
                ApiError::consumer_already_exists(),
                r#"{"code":400,"err_code":10148,"description":"consumer already exists"}"#,
            ),
            (
                ApiError::expected_empty_request(),
                r#"{"code":400,"err_code":10038,"description":"expected an empty request payload"}"#,
            ),
            (
                ApiError::sequence_not_found(2),
                r#"{"code":400,"err_code":10043,"description":"sequence 2 not found"}"#,
            ),
            (
                ApiError::msg_ttl_disabled(),
                r#"{"code":400,"err_code":10166,"description":"per-message TTL is disabled"}"#,
            ),
            (
                ApiError::rollup_not_permitted(),
                r#"{"code":500,"err_code":10111,"description":"rollup not permitted"}"#,
            ),
        ];
        for (err, want) in table {
            assert_eq!(err.to_json(), *want);
        }
    }

    /// Codes from errors.json that no capture shows.
    #[test]
    fn catalogue_codes() {
        let table: &[(ApiError, u16, u32)] = &[
            (ApiError::subjects_overlap(), 400, 10065),
            (ApiError::consumer_does_not_exist(), 400, 10149),
            (ApiError::consumer_name_in_use(), 400, 10013),
            (ApiError::message_size_exceeds(), 400, 10054),
            (ApiError::replicas_not_supported(), 500, 10074),
            (ApiError::not_enabled(), 503, 10076),
            (ApiError::not_enabled_for_account(), 503, 10039),
            (ApiError::insufficient_resources(), 503, 10023),
            (ApiError::storage_resources_exceeded(), 500, 10047),
            (ApiError::memory_resources_exceeded(), 500, 10028),
            (
                ApiError::stream_config_invalid("max age needs to be >= 100ms"),
                500,
                10052,
            ),
            (ApiError::stream_store_failed("disk"), 503, 10077),
            (ApiError::invalid_json("x"), 400, 10025),
            (ApiError::msg_ttl_invalid(), 400, 10165),
        ];
        for (err, code, err_code) in table {
            assert_eq!((err.code, err.err_code), (*code, *err_code), "{err}");
        }
        assert!(ApiError::stream_not_found().is_not_found());
        assert!(!ApiError::bad_request().is_not_found());
    }

    #[test]
    fn display_names_both_codes() {
        let e = ApiError::stream_not_found();
        assert_eq!(e.to_string(), "stream not found (code 404, err_code 10059)");
    }
}
