//! The engine's side of push consumers: whether their deliver subjects have subscribers
//! (the router answers; a consumer that just gained one starts delivering), and the
//! flow-control replies (`$JS.FC.<stream>.<consumer>.<n>`) that let a paused one go on.
//!
//! Owns: routing those two signals to the right consumer. Must not: know the sublist.

use super::JetStream;
use crate::jetstream::consumer::Consumer;
use crate::jetstream::time::Timestamp;

impl JetStream {
    /// Tells every push consumer whether its deliver subject has subscribers (`interest`
    /// asks the router); those that just gained one start delivering. The router calls it
    /// after subscriptions change and after consumer API requests, and every tick.
    pub fn refresh_push_interest(
        &mut self,
        now: Timestamp,
        interest: &mut dyn FnMut(&[u8]) -> bool,
    ) {
        let mut started = Vec::new();
        for (id, slot) in self.slots.iter_mut() {
            for c in slot.consumers.values_mut().filter(|c| c.is_push()) {
                let has = interest(c.config().deliver_subject.as_bytes());
                if c.note_interest(has, now) {
                    log::debug!(
                        "consumer {}/{}: deliver subject has interest; pushing",
                        slot.stream.name(),
                        c.name()
                    );
                    started.push(id);
                }
            }
        }
        started.dedup();
        for id in started {
            self.poll_consumers(id, now);
        }
    }

    /// Whether any push consumer exists (the router skips interest refreshes otherwise).
    pub fn has_push_consumers(&self) -> bool {
        self.slots
            .iter()
            .any(|(_, s)| s.consumers.values().any(Consumer::is_push))
    }

    /// A reply to a push consumer's flow-control request (`$JS.FC.<stream>.<consumer>.<n>`):
    /// delivery resumes. Returns whether it was one.
    pub(super) fn on_flow_control(&mut self, rest: &[u8], now: Timestamp) -> bool {
        let Ok(rest) = std::str::from_utf8(rest) else {
            return false;
        };
        let mut parts = rest.splitn(3, '.');
        let (Some(stream), Some(consumer), Some(n)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Ok(id), Ok(n)) = (self.slot_id(stream), n.parse::<u64>()) else {
            return false;
        };
        let resumed = self.slots[id]
            .consumers
            .get_mut(consumer)
            .is_some_and(|c| c.flow_control_reply(n));
        if resumed {
            self.poll_consumers(id, now);
        }
        true
    }
}
