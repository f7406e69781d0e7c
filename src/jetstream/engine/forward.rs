//! What the uplink's forwarders read from the engine: a forwarded stream's records and
//! identity, which stream captures a subject, and the persisted forward cursors.
//!
//! Owns: these read-mostly accessors and the cursor keys (`fwd/<stream>/<epoch>`), so a
//! stream deleted and created again starts from zero. Must not: know the leafnode protocol.

use super::{JetStream, StreamId};
use crate::jetstream::source::MessageSource;
use crate::jetstream::stream::Stream;

/// The sled key of a forward cursor.
fn cursor_key(stream: &str, epoch: u64) -> String {
    format!("fwd/{stream}/{epoch}")
}

impl JetStream {
    /// The stream named `name`, if it exists.
    pub fn stream(&self, name: &str) -> Option<&Stream> {
        let id = *self.by_name.get(name)?;
        self.slots.get(id).map(|s| &s.stream)
    }

    /// A stream's identity for forwarding: its epoch (creation time in ns) and subjects.
    pub fn stream_identity(&self, name: &str) -> Option<(u64, Vec<String>)> {
        let s = self.stream(name)?;
        Some((s.created().0, s.config().subjects.clone()))
    }

    /// The stream that captures publishes to `subject`, if any.
    pub fn capturing_stream(&mut self, subject: &[u8]) -> Option<&str> {
        let matches = self.capture.matches(subject);
        let &StreamId(id) = matches.plain.first()?;
        self.slots.get(id as usize).map(|s| s.stream.name())
    }

    /// The persisted forward cursor of a stream (0: nothing forwarded yet).
    pub fn forward_cursor(&self, stream: &str, epoch: u64) -> u64 {
        match self.meta.cursor(&cursor_key(stream, epoch)) {
            Ok(c) => c.unwrap_or(0),
            Err(e) => {
                log::error!("uplink: stream {stream}: reading the forward cursor failed: {e}; starting from 0 (the hub's dedupe drops what it already has)");
                0
            }
        }
    }

    /// Holds a forwarded stream's records above `hold` (its cursor) back from its own limits
    /// until the hub has them (`None` releases the hold).
    pub fn set_forward_hold(&mut self, stream: &str, hold: Option<u64>) {
        let Some(&id) = self.by_name.get(stream) else {
            return;
        };
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let before = slot.stream.state().messages;
        if let Err(e) = slot.stream.set_hold(hold) {
            log::warn!(
                "stream {stream}: applying limits after forwarding failed: {}",
                e.description
            );
        }
        if slot.stream.state().messages != before {
            self.note_evictions(id);
            self.touch(id);
        }
    }

    /// Records a forward cursor; it is synced with the next metadata sync (losing the latest
    /// value to a crash only means resending what the hub deduplicates).
    pub fn save_forward_cursor(&mut self, stream: &str, epoch: u64, cursor: u64) {
        match self.meta.put_cursor(&cursor_key(stream, epoch), cursor) {
            Ok(()) => self.meta_dirty = true,
            Err(e) => log::error!("uplink: stream {stream}: saving the forward cursor failed: {e}"),
        }
    }
}

/// Live records of `stream` from `from` on, with an estimate of their bytes (the stream's
/// average record size times their count).
pub fn pending_from(stream: &Stream, from: u64) -> (u64, u64) {
    let n = stream.count_matching(from, &[]);
    let state = stream.state();
    let bytes = state.bytes.checked_div(state.messages).unwrap_or(0) * n;
    (n, bytes)
}
