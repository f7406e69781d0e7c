//! The forwarder's status for `leafd status` and the status request: cursor, backlog,
//! oldest pending age, window, rates, losses, last error.
//!
//! Owns: [`ForwardStatus`] and how it is computed. Must not: change forwarding state
//! (except the rate sample it keeps).

use std::time::Instant;

use serde::Serialize;

use super::{Forwarder, Phase, Records};

/// Counters and state for `leafd status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForwardStatus {
    /// The local stream.
    pub stream: String,
    /// `down`, `resolving`, `sending`, `idle` or `paused`.
    pub state: String,
    /// Highest seq the hub acknowledged (all below it too).
    pub cursor: u64,
    /// The hub stream that acknowledged last.
    pub hub_stream: String,
    /// The hub's seq for the last acknowledged record.
    pub hub_seq: u64,
    /// Local records not yet acknowledged by the hub, and their bytes.
    pub pending_msgs: u64,
    /// Bytes of those.
    pub pending_bytes: u64,
    /// Age in seconds of the oldest pending record (0 when none).
    pub oldest_pending_age_secs: f64,
    /// Publishes in flight and the window.
    pub in_flight: usize,
    /// The current window.
    pub window: usize,
    /// Records acknowledged since start (duplicates included).
    pub forwarded: u64,
    /// Acks that said `duplicate` (resent records the hub already held).
    pub duplicates: u64,
    /// Records removed locally (limits, purge, disk budget) before the hub acknowledged them.
    pub lost: u64,
    /// Acknowledged records per second over the last status interval.
    pub rate: f64,
    /// Bytes in flight now.
    pub in_flight_bytes: usize,
    /// Acknowledged bytes per second while there was a backlog (smoothed; 0 until known):
    /// bytes in flight are kept to half a second of it.
    pub acked_bytes_per_sec: u64,
    /// The last hub error, if the forwarder is paused by it.
    pub last_error: Option<String>,
}

impl Forwarder {
    /// State for `leafd status`.
    pub fn status(
        &mut self,
        src: Option<&dyn Records>,
        now: Instant,
        now_ns: i64,
    ) -> ForwardStatus {
        if let Some((at, n)) = self.rate_mark {
            let secs = now.duration_since(at).as_secs_f64();
            if secs >= 1.0 {
                self.rate = (self.forwarded - n) as f64 / secs;
                self.rate_mark = Some((now, self.forwarded));
            }
        } else {
            self.rate_mark = Some((now, self.forwarded));
        }
        // Records removed while the link is down are counted once the forwarder next sends
        // (`skip_lost`); until then they are shown here already, so monitoring sees the loss
        // while it happens.
        let unskipped = match src {
            Some(src) if self.in_flight.is_empty() => {
                src.first_seq().saturating_sub(self.cursor + 1)
            }
            _ => 0,
        };
        let (pending_msgs, pending_bytes, oldest) = match src {
            Some(src) => {
                let (n, b) = src.pending_from(self.cursor + 1);
                let age = match src.next_from(self.cursor + 1) {
                    Ok(Some(rec)) => (now_ns - rec.timestamp_ns).max(0) as f64 / 1e9,
                    _ => 0.0,
                };
                (n, b, age)
            }
            None => (0, 0, 0.0),
        };
        let state = match &self.phase {
            Phase::Down => "down",
            Phase::Resolving { .. } => "resolving",
            Phase::Sending if pending_msgs == 0 => "idle",
            Phase::Sending => "sending",
            Phase::Paused { .. } => "paused",
        };
        ForwardStatus {
            stream: self.stream.clone(),
            state: state.into(),
            cursor: self.cursor,
            hub_stream: self.hub_stream.clone(),
            hub_seq: self.hub_seq,
            pending_msgs,
            pending_bytes,
            oldest_pending_age_secs: oldest,
            in_flight: self.in_flight.len(),
            window: self.window,
            forwarded: self.forwarded,
            duplicates: self.duplicates,
            lost: self.lost + unskipped,
            rate: self.rate,
            in_flight_bytes: self.in_flight_bytes,
            acked_bytes_per_sec: self.ack_rate as u64,
            last_error: self.last_error.clone(),
        }
    }
}
