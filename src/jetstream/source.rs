//! The two seams between streams, consumers and the engine: [`MessageSource`] (what a
//! consumer may read from its stream) and [`Outgoing`] (a message the engine hands to the
//! router for delivery).
//!
//! Owns: these two contracts and nothing else, so `stream` and `consumer` can be built and
//! tested without each other. Must not: do I/O.

use crate::store::StoredMsg;

use super::error::ApiError;
use super::time::Timestamp;

/// Read access to one stream's messages, as a consumer needs it.
///
/// Filters are subject filters (wildcards allowed); an empty slice means "every subject".
/// Sequences are stream sequences. Reads may touch the disk (segment files) but never block
/// on the network.
pub trait MessageSource {
    /// The first live message with `seq >= from` whose subject matches one of `filters`.
    ///
    /// # Errors
    /// The store failed to read (I/O or a damaged record).
    fn next_matching(&self, from: u64, filters: &[String]) -> Result<Option<StoredMsg>, ApiError>;
    /// The live message `seq`, if any.
    ///
    /// # Errors
    /// As [`MessageSource::next_matching`].
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, ApiError>;
    /// Lowest live seq (`last_seq() + 1` when empty).
    fn first_seq(&self) -> u64;
    /// Highest seq ever assigned (0 when never written).
    fn last_seq(&self) -> u64;
    /// Live messages with `seq >= from` matching `filters` (a consumer's `num_pending`).
    fn count_matching(&self, from: u64, filters: &[String]) -> u64;
    /// The first seq whose message was stored at or after `t` (`last_seq() + 1` if none):
    /// deliver policy `by_start_time`.
    fn seq_at_time(&self, t: Timestamp) -> u64;
    /// The seq of the last message of every subject matching `filters`, ascending: deliver
    /// policy `last_per_subject`.
    fn last_per_subject(&self, filters: &[String]) -> Vec<u64>;
}

/// A message for the router to deliver to whoever subscribes to `to`.
///
/// `subject` is what the MSG/HMSG line shows: for a pull delivery it is the stored message's
/// subject while `to` is the pull request's inbox (nats-server delivers that way); for API
/// replies, pub-acks and status messages it equals `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The subject matched against subscriptions.
    pub to: Vec<u8>,
    /// The subject written in the MSG/HMSG line.
    pub subject: Vec<u8>,
    /// Reply subject (the ack subject for deliveries).
    pub reply: Option<Vec<u8>>,
    /// Header block (`NATS/1.0…\r\n\r\n`), if any.
    pub headers: Option<Vec<u8>>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// A plain reply (API response, pub-ack, empty double-ack reply) to `to`.
    pub fn reply(to: &[u8], payload: Vec<u8>) -> Outgoing {
        Outgoing {
            to: to.to_vec(),
            subject: to.to_vec(),
            reply: None,
            headers: None,
            payload,
        }
    }

    /// A status message (`NATS/1.0 408 Request Timeout…`) with an empty payload.
    pub fn status(to: &[u8], headers: Vec<u8>) -> Outgoing {
        Outgoing {
            to: to.to_vec(),
            subject: to.to_vec(),
            reply: None,
            headers: Some(headers),
            payload: Vec::new(),
        }
    }
}
