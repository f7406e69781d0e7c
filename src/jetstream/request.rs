//! The small JSON request bodies of the stream API (PROTOCOL.md §3.1): stream info, names and
//! list, purge, message get and message delete. Decode them with [`api::parse_body`], which
//! turns every empty-ish body into the all-default request.
//!
//! Owns: field names, `null` leniency and the one cross-field rule nats-server applies to
//! message get. Must not: execute anything. Hands off to: the stream store (later).
//!
//! [`api::parse_body`]: super::api::parse_body

use serde::Deserialize;

use super::error::ApiError;
use super::policy::nullable;

/// `STREAM.INFO` body: `{"subjects_filter":">","deleted_details":true,"offset":n}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StreamInfoRequest {
    /// Report per-subject counts for subjects matching this filter (empty = none).
    #[serde(deserialize_with = "nullable")]
    pub subjects_filter: String,
    /// List interior deletes.
    #[serde(deserialize_with = "nullable")]
    pub deleted_details: bool,
    /// Paging offset into the subjects map.
    #[serde(deserialize_with = "nullable")]
    pub offset: usize,
}

/// `STREAM.NAMES` / `STREAM.LIST` / `CONSUMER.NAMES` / `CONSUMER.LIST` body:
/// `{"offset":n,"subject":filter}` (nats-py's `{"subject": "pyprobe.>"}` finds the stream a
/// subject belongs to).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NamesRequest {
    /// Paging offset.
    #[serde(deserialize_with = "nullable")]
    pub offset: usize,
    /// Only streams with a subject overlapping this filter (empty = all).
    #[serde(deserialize_with = "nullable")]
    pub subject: String,
}

/// `STREAM.PURGE` body: `{"filter":subj,"seq":n,"keep":n}`; empty = purge everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PurgeRequest {
    /// Only messages on subjects matching this filter.
    #[serde(deserialize_with = "nullable")]
    pub filter: String,
    /// Purge up to, not including, this sequence (0 = no bound).
    #[serde(deserialize_with = "nullable")]
    pub seq: u64,
    /// Keep this many of the newest messages (0 = none).
    #[serde(deserialize_with = "nullable")]
    pub keep: u64,
}

/// `STREAM.MSG.GET` (and `DIRECT.GET`) body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MsgGetRequest {
    /// Exact sequence, or the start for `next_by_subj`.
    #[serde(deserialize_with = "nullable")]
    pub seq: u64,
    /// Last message on this subject.
    #[serde(deserialize_with = "nullable")]
    pub last_by_subj: String,
    /// First message on this subject at or after `seq`.
    #[serde(deserialize_with = "nullable")]
    pub next_by_subj: String,
}

/// What a [`MsgGetRequest`] selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgSelector<'a> {
    /// The message with this sequence.
    Seq(u64),
    /// The last message on a subject (KV get when direct is off).
    LastBySubject(&'a str),
    /// The first message at or after `from` whose subject matches.
    NextBySubject {
        /// Subject filter.
        subject: &'a str,
        /// Start sequence (0 = the beginning).
        from: u64,
    },
}

impl MsgGetRequest {
    /// nats-server's rule: `seq` and `last_by_subj` exclude each other, `next_by_subj` may
    /// come with `seq`, and one of them is required.
    ///
    /// # Errors
    /// 10003 `bad request` otherwise.
    pub fn selector(&self) -> Result<MsgSelector<'_>, ApiError> {
        match (
            self.seq,
            self.last_by_subj.as_str(),
            self.next_by_subj.as_str(),
        ) {
            (seq, "", "") if seq > 0 => Ok(MsgSelector::Seq(seq)),
            (0, last, "") if !last.is_empty() => Ok(MsgSelector::LastBySubject(last)),
            (from, "", next) if !next.is_empty() => Ok(MsgSelector::NextBySubject {
                subject: next,
                from,
            }),
            _ => Err(ApiError::bad_request()),
        }
    }
}

/// `STREAM.MSG.DELETE` body: `{"seq":n,"no_erase":bool}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MsgDeleteRequest {
    /// The sequence to delete.
    #[serde(deserialize_with = "nullable")]
    pub seq: u64,
    /// Only mark deleted; do not overwrite the bytes.
    #[serde(deserialize_with = "nullable")]
    pub no_erase: bool,
}
