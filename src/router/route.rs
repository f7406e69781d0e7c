//! Delivery of one published message: every plain subscriber, one member of each queue
//! group, auto-unsubscribe, the slow-consumer cap, and the `503` no-responders reply.
//!
//! Owns: the hot path. A message is encoded straight into each receiving connection's
//! outbox; nothing is allocated per message on a sublist cache hit.

use std::rc::Rc;
use std::time::Instant;

use crate::protocol::{encode, queue_names, Message};
use crate::sublist::Matches;

use super::{ClientId, CloseReason, Router, SubKey};

/// `NATS/1.0 503` + `Nats-Subject` status header, as nats-server 2.15 sends it.
const NO_RESPONDERS_HEAD: &[u8] = b"NATS/1.0 503\r\nNats-Subject: ";

impl Router {
    /// Delivers `msg` from `from` to the subscriptions matching `to` (usually
    /// `msg.subject`; it differs from `msg.subject`
    /// for JetStream pull deliveries: matched on the pull's inbox, shown with the stored
    /// subject). `no_responders`: send the 503 status when nobody got a request. Returns
    /// how many deliveries were made.
    pub(crate) fn route_to(
        &mut self,
        from: ClientId,
        to: &[u8],
        msg: Message<'_>,
        no_responders: bool,
    ) -> usize {
        let delivered = self.route_filtered(from, to, msg, None);
        if delivered == 0 && no_responders {
            if let Some(reply) = msg.reply {
                self.no_responders(from, msg.subject, reply);
            }
        }
        delivered
    }

    /// Delivers `msg` to plain subscribers of `to` and to one member of each queue group,
    /// or, with `queues` (a message from the hub, PROTOCOL.md §2.7), only of the groups that
    /// list names. Returns how many deliveries were made.
    pub(crate) fn route_filtered(
        &mut self,
        from: ClientId,
        to: &[u8],
        msg: Message<'_>,
        queues: Option<&[u8]>,
    ) -> usize {
        let matches: Rc<Matches<SubKey>> = self.sublist.matches(to);
        let echo = self.clients.get(from.0).is_none_or(|c| c.opts.echo);
        let mut delivered = 0;
        for &key in &matches.plain {
            if self.deliver(key, from, echo, &msg) {
                delivered += 1;
            }
        }
        for group in &matches.groups {
            if queues.is_some_and(|q| !queue_names(q).any(|n| n == &*group.name)) {
                continue;
            }
            let members = &group.members;
            // Random start, then the next eligible member: one delivery per group.
            let start = fastrand::usize(..members.len().max(1));
            for i in 0..members.len() {
                if self.deliver(members[(start + i) % members.len()], from, echo, &msg) {
                    delivered += 1;
                    break;
                }
            }
        }
        delivered
    }

    /// Encodes `msg` into the outbox of subscription `key`'s connection, unless that is
    /// the publisher with echo off or a closing connection. Returns whether it did.
    fn deliver(&mut self, key: SubKey, from: ClientId, echo: bool, msg: &Message<'_>) -> bool {
        let Some(sub) = self.subs.get_mut(key.0 as usize) else {
            return false;
        };
        if !echo && sub.client == from {
            return false;
        }
        let to = sub.client;
        let Some(client) = self.clients.get_mut(to.0) else {
            return false;
        };
        if client.closing.is_some() {
            return false;
        }
        if let Some(perms) = client.perms.as_mut() {
            // A wildcard (or queue) subscription wider than the user's deny rules, and
            // allow_responses learning the reply subject it may answer.
            if !perms.may_receive(msg.subject, sub.queue.as_deref()) {
                return false;
            }
            if let Some(reply) = msg.reply {
                perms.note_reply(reply, Instant::now());
            }
        }
        let out = &mut client.out;
        let size = match msg.headers {
            Some(headers) if client.opts.headers => {
                encode::hmsg(
                    &mut out.buf,
                    msg.subject,
                    &sub.sid,
                    msg.reply,
                    headers,
                    msg.payload,
                );
                headers.len() + msg.payload.len()
            }
            // A subscriber without header support gets the payload alone.
            _ => {
                encode::msg(&mut out.buf, msg.subject, &sub.sid, msg.reply, msg.payload);
                msg.payload.len()
            }
        };
        out.wake_writer();
        client.stats.out_msgs += 1;
        client.stats.out_bytes += size as u64;
        self.stats.out_msgs += 1;
        self.stats.out_bytes += size as u64;
        let pending = out.pending();
        sub.delivered += 1;
        let done = sub.max.is_some_and(|max| sub.delivered >= max);
        if done {
            self.unsubscribe_key(key);
        }
        if pending > self.limits.max_pending {
            log::warn!(
                "{}: slow consumer, {} bytes pending (max_pending {}); closing",
                self.clients[to.0].label(),
                pending,
                self.limits.max_pending
            );
            self.close(to, CloseReason::SlowConsumerPendingBytes);
        } else if pending > self.stall_mark && to != from {
            if let Some(publisher) = self.clients.get_mut(from.0) {
                publisher.stall_on = Some(to);
            }
        }
        true
    }

    /// Sends the `503` status to a requester whose request reached nobody, on the sid of
    /// its own subscription that matches the reply subject (nats-server's rule).
    pub(super) fn no_responders(&mut self, from: ClientId, subject: &[u8], reply: &[u8]) {
        let Some(client) = self.clients.get(from.0) else {
            return;
        };
        if !client.opts.no_responders || client.closing.is_some() {
            return;
        }
        let replies = self.sublist.matches(reply);
        let own = replies
            .plain
            .iter()
            .chain(replies.groups.iter().flat_map(|g| g.members.iter()))
            .filter_map(|key| self.subs.get(key.0 as usize))
            .find(|sub| sub.client == from);
        let Some(sub) = own else { return };
        let mut headers = Vec::with_capacity(NO_RESPONDERS_HEAD.len() + subject.len() + 4);
        headers.extend_from_slice(NO_RESPONDERS_HEAD);
        headers.extend_from_slice(subject);
        headers.extend_from_slice(b"\r\n\r\n");
        let client = &mut self.clients[from.0];
        encode::hmsg(&mut client.out.buf, reply, &sub.sid, None, &headers, b"");
        client.out.wake_writer();
    }

    /// Takes the subscriber this publisher should wait for, if any (back-pressure).
    pub fn take_stall(&mut self, from: ClientId) -> Option<ClientId> {
        let target = self.clients.get_mut(from.0)?.stall_on.take()?;
        let client = self.clients.get(target.0)?;
        (client.closing.is_none() && client.out.pending() > self.stall_mark).then_some(target)
    }
}
