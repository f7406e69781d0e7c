//! The forwarder's resolve step: before sending after a link comes up or a PubAck times
//! out, ask the hub what it already holds from this node (`STREAM.NAMES` for the stream
//! capturing the hub-side filters, then `STREAM.MSG.GET` `last_by_subj` on each, reading our
//! own `Nats-Msg-Id` back) and move the cursor past it, so nothing the hub stored is sent
//! twice however long the outage (DESIGN.md §5).
//!
//! Owns: the requests, their answers and the cursor move. Never past a record the hub
//! refused. Must not: do I/O (frames go out through the caller).

use std::time::Instant;

use base64::Engine as _;

use super::wire::{Frame, MsgGetJson, NamesJson, ReplyTo};
use super::{Forwarder, Phase, RESOLVE_TIMEOUT};
use crate::jetstream::headers::header_value;

impl Forwarder {
    /// Sends the resolve request `step` (-1: the stream's name; else filter `step`) unless
    /// one is already out and not yet timed out.
    pub(super) fn ask_hub(
        &mut self,
        step: isize,
        asked: Option<Instant>,
        now: Instant,
        reply_prefix: &[u8],
        out: &mut Vec<Frame>,
    ) {
        match asked {
                Some(at) if now.duration_since(at) < RESOLVE_TIMEOUT => return,
                Some(_) => log::warn!(
                    "uplink: stream {}: the hub did not answer within {RESOLVE_TIMEOUT:?}; asking again",
                    self.stream
                ),
                None => {}
            }
        self.gen += 1;
        let reply = self.reply(reply_prefix, ReplyTo::Resolve(self.gen));
        let frame = if step < 0 {
            let Some(filter) = self.hub_filters.first() else {
                self.phase = Phase::Sending;
                return;
            };
            Frame {
                subject: b"$JS.API.STREAM.NAMES".to_vec(),
                reply,
                headers: None,
                payload: serde_json::json!({ "subject": filter })
                    .to_string()
                    .into_bytes(),
            }
        } else {
            let filter = &self.hub_filters[step.unsigned_abs()];
            Frame {
                subject: format!("$JS.API.STREAM.MSG.GET.{}", self.hub_stream).into_bytes(),
                reply,
                headers: None,
                payload: serde_json::json!({ "last_by_subj": filter })
                    .to_string()
                    .into_bytes(),
            }
        };
        out.push(frame);
        self.phase = Phase::Resolving {
            step,
            asked: Some(now),
        };
    }

    pub(super) fn on_resolve(&mut self, payload: &[u8], now: Instant) {
        let Phase::Resolving { step, .. } = self.phase else {
            return;
        };
        if step < 0 {
            let names: NamesJson = match serde_json::from_slice(payload) {
                Ok(n) => n,
                Err(e) => {
                    return self.pause_for(format!("unreadable STREAM.NAMES reply: {e}"), now)
                }
            };
            if let Some(err) = names.error {
                return self.pause_for(
                    format!("STREAM.NAMES at the hub failed: {}", err.text()),
                    now,
                );
            }
            match names.streams.unwrap_or_default().into_iter().next() {
                Some(name) => {
                    self.hub_stream = name;
                    self.phase = Phase::Resolving {
                        step: 0,
                        asked: None,
                    };
                }
                None => {
                    let filter = self.hub_filters.first().cloned().unwrap_or_default();
                    self.pause_for(format!("no hub stream captures {filter:?}"), now);
                }
            }
            return;
        }
        let got: MsgGetJson = match serde_json::from_slice(payload) {
            Ok(g) => g,
            Err(e) => return self.pause_for(format!("unreadable MSG.GET reply: {e}"), now),
        };
        match (got.message, got.error) {
            (Some(m), _) => self.learn_last(m.hdrs.as_deref()),
            // 10037: no message on that filter yet.
            (None, Some(e)) if e.err_code == 10037 => {}
            (None, Some(e)) => {
                return self.pause_for(format!("MSG.GET at the hub failed: {}", e.text()), now)
            }
            (None, None) => {}
        }
        let next = step.unsigned_abs() + 1;
        if next < self.hub_filters.len() {
            self.phase = Phase::Resolving {
                step: step + 1,
                asked: None,
            };
        } else {
            self.phase = Phase::Sending;
            self.rewind();
            log::info!(
                "uplink: stream {}: forwarding to hub stream {} after seq {}",
                self.stream,
                self.hub_stream,
                self.cursor
            );
        }
    }

    /// The hub's last record on a filter: if it is one of ours (same node, stream and epoch)
    /// beyond the cursor, the hub already holds everything up to it.
    fn learn_last(&mut self, hdrs: Option<&str>) {
        let Some(block) =
            hdrs.and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
        else {
            return;
        };
        let Some(id) = header_value(&block, "Nats-Msg-Id") else {
            return;
        };
        let id = String::from_utf8_lossy(id);
        let mut parts = id.rsplitn(4, ':');
        let (Some(seq), Some(epoch), Some(stream), Some(node)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        if node != self.node || stream != self.stream || epoch != self.epoch.to_string() {
            return;
        }
        if let Ok(seq) = seq.parse::<u64>() {
            let seq = self.refused.map_or(seq, |r| seq.min(r.saturating_sub(1)));
            if seq > self.cursor {
                log::info!(
                    "uplink: stream {}: the hub already holds up to seq {seq} (its PubAck was lost); moving the cursor from {}",
                    self.stream,
                    self.cursor
                );
                self.cursor = seq;
                self.cursor_dirty = true;
            }
        }
    }
}
