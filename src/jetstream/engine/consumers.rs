//! `CONSUMER.*` requests, pull requests (`MSG.NEXT`) and acks on `$JS.ACK.…`.
//!
//! Owns: the table-level rules around consumers (create vs update, the consumer caps,
//! work-queue exclusivity, deletes on work-queue acks, reaping idle ephemerals). Hands
//! off to: `Consumer` for everything about one consumer's deliveries and acks.

use super::super::api::{body_is_empty, parse_body};
use crate::router::NATS_COMPAT_VERSION;

use super::super::consumer::{
    consumer_create_response, consumer_info_response, consumer_list_response, parse_ack_subject,
    parse_create, Action, Consumer, ConsumerConfig, ConsumerInfo,
};
use super::super::error::ApiError;
use super::super::policy::Retention;
use super::super::request::NamesRequest;
use super::super::response;
use super::super::time::Timestamp;
use super::{JetStream, Slot};

impl JetStream {
    pub(super) fn consumer_create(
        &mut self,
        stream: &str,
        consumer: Option<&str>,
        filter: Option<&str>,
        legacy_durable: bool,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(stream)?;
        let mut req = parse_create(stream, consumer, filter, legacy_durable, body)?;
        let slot = &mut self.slots[id];
        {
            let others: Vec<&ConsumerConfig> =
                slot.consumers.values().map(Consumer::config).collect();
            req.prepare_with(slot.stream.config(), &others)?;
        }
        let name = req.name;
        if let Some(existing) = slot.consumers.get_mut(&name) {
            if !existing.config().same_as(&req.config) {
                if req.action == Action::Create {
                    return Err(ApiError::consumer_already_exists());
                }
                req.config.validate_update(existing.config())?;
                existing.update(req.config);
                self.save_consumer(id, &name)?;
                log::info!("consumer {stream}/{name}: updated");
            }
        } else {
            if req.action == Action::Update {
                return Err(ApiError::consumer_does_not_exist());
            }
            let per_stream = slot.stream.config().max_consumers;
            if self.consumer_total >= self.settings.max_consumers
                || (per_stream > 0 && slot.consumers.len() as i64 >= per_stream)
            {
                return Err(ApiError::maximum_consumers_reached());
            }
            let c = Consumer::new(stream, name.clone(), req.config, now, &slot.stream, now)?;
            let durable = c.is_durable();
            slot.consumers.insert(name.clone(), c);
            self.consumer_total += 1;
            self.save_consumer(id, &name)?;
            log::info!(
                "consumer {stream}/{name}: created ({})",
                if durable { "durable" } else { "ephemeral" }
            );
        }
        let info = self.consumer_info_of(id, &name, now)?;
        Ok(consumer_create_response(
            &info.for_response(NATS_COMPAT_VERSION),
        ))
    }

    fn consumer_info_of(
        &self,
        id: usize,
        name: &str,
        now: Timestamp,
    ) -> Result<ConsumerInfo, ApiError> {
        let slot = &self.slots[id];
        let c = slot
            .consumers
            .get(name)
            .ok_or_else(ApiError::consumer_not_found)?;
        Ok(c.info(&slot.stream, now))
    }

    pub(super) fn consumer_info(
        &mut self,
        stream: &str,
        consumer: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(stream)?;
        if !body_is_empty(body) {
            return Err(ApiError::expected_empty_request());
        }
        let info = self.consumer_info_of(id, consumer, now)?;
        Ok(consumer_info_response(
            &info.for_response(NATS_COMPAT_VERSION),
        ))
    }

    pub(super) fn consumer_delete(
        &mut self,
        stream: &str,
        consumer: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(stream)?;
        if !body_is_empty(body) {
            return Err(ApiError::expected_empty_request());
        }
        let slot = &mut self.slots[id];
        let mut c = slot
            .consumers
            .remove(consumer)
            .ok_or_else(ApiError::consumer_not_found)?;
        c.close(&mut self.out);
        self.consumer_total -= 1;
        self.forget_consumer(stream, consumer)?;
        log::info!("consumer {stream}/{consumer}: deleted");
        self.release_interest(id, &[]);
        Ok(response::success_response("consumer_delete"))
    }

    pub(super) fn consumer_names(
        &mut self,
        stream: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(stream)?;
        let req: NamesRequest = parse_body(body)?;
        let names: Vec<&str> = self.slots[id]
            .consumers
            .keys()
            .map(String::as_str)
            .collect();
        Ok(response::consumer_names_response(&names, req.offset))
    }

    pub(super) fn consumer_list(
        &mut self,
        stream: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(stream)?;
        let req: NamesRequest = parse_body(body)?;
        let slot = &self.slots[id];
        let infos: Vec<ConsumerInfo> = slot
            .consumers
            .values()
            .map(|c| c.info(&slot.stream, now))
            .collect();
        Ok(consumer_list_response(&infos, req.offset))
    }

    /// `MSG.NEXT`: `false` (no responders) when the stream or consumer does not exist, as
    /// nats-server answers.
    pub(super) fn pull(
        &mut self,
        stream: &str,
        consumer: &str,
        reply: &[u8],
        body: &[u8],
        now: Timestamp,
    ) -> bool {
        let Ok(id) = self.slot_id(stream) else {
            return false;
        };
        let Slot {
            stream, consumers, ..
        } = &mut self.slots[id];
        let Some(c) = consumers.get_mut(consumer) else {
            return false;
        };
        c.pull(reply, body, stream, now, &mut self.out);
        c.poll(stream, now, &mut self.out);
        self.consumers_dirty = true;
        true
    }

    /// An ack. Work-queue streams drop what was acknowledged.
    pub(super) fn on_ack(
        &mut self,
        subject: &[u8],
        reply: Option<&[u8]>,
        payload: &[u8],
        now: Timestamp,
    ) -> bool {
        let Some(ack) = parse_ack_subject(subject) else {
            return false;
        };
        let Ok(id) = self.slot_id(ack.stream) else {
            return false;
        };
        let Slot {
            stream, consumers, ..
        } = &mut self.slots[id];
        let Some(c) = consumers.get_mut(ack.consumer) else {
            return false;
        };
        let mark = self.out.len();
        let acked = c.ack(&ack, payload, reply, stream, now, &mut self.out);
        if let Some(reply) = reply {
            // The empty reply to a double ack says "done": it waits until the consumer's
            // new state (and any work-queue delete) is on disk.
            let mut i = mark;
            while i < self.out.len() {
                let o = &self.out[i];
                if o.to == reply && o.payload.is_empty() && o.headers.is_none() {
                    self.held_acks.push(self.out.remove(i));
                } else {
                    i += 1;
                }
            }
        }
        let mut changed = false;
        if stream.config().retention == Retention::WorkQueue {
            for &seq in &acked {
                match stream.delete(seq) {
                    Ok(_) => changed = true,
                    Err(e) => log::warn!(
                        "stream {}: removing acked seq {seq}: {}",
                        stream.name(),
                        e.description
                    ),
                }
            }
        }
        c.poll(stream, now, &mut self.out);
        self.consumers_dirty = true;
        if changed {
            self.touch(id);
        }
        self.release_interest(id, &acked);
        true
    }

    /// Removes ephemeral consumers idle past their inactive_threshold.
    pub(super) fn reap_consumers(&mut self, id: usize, now: Timestamp) {
        self.reap_idle(id, now);
        self.release_interest(id, &[]);
    }

    fn reap_idle(&mut self, id: usize, now: Timestamp) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let gone: Vec<String> = slot
            .consumers
            .iter()
            .filter(|(_, c)| c.expired(now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in gone {
            if let Some(mut c) = slot.consumers.remove(&name) {
                c.close(&mut self.out);
                self.consumer_total -= 1;
                log::info!(
                    "consumer {}/{name}: removed after inactive_threshold",
                    slot.stream.name()
                );

                if c.is_durable() {
                    let stream = slot.stream.name().to_owned();
                    if let Err(e) = self.forget_consumer(&stream, &name) {
                        log::warn!("consumer {stream}/{name}: {}", e.description);
                    }
                    return self.reap_idle(id, now);
                }
            }
        }
    }
}
