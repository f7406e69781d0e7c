//! What each client op does to broker state, with nats-server's `+OK`/`-ERR` behaviour:
//! CONNECT, PUB/HPUB, SUB, UNSUB, PING, PONG, and protocol errors.
//!
//! Owns: the per-op rules (verbose, pedantic, header support, subscription limits, UNSUB
//! max). Hands off to: [`super::route`] for delivery, the connection's outbox for replies.

use std::time::Instant;

use crate::protocol::{encode, Message, Op, ProtocolError};
use crate::subject;

use super::client::{connect_opts, ConnectOpts};
use super::{ClientId, CloseReason, Flow, Router, SubKey, Subscription};

impl Router {
    /// Applies one op from client `id`.
    pub fn handle_op(&mut self, id: ClientId, op: Op<'_>) -> Flow {
        if !matches!(op, Op::Connect(_)) && self.needs_auth(id) {
            if let Some(reason) = self.clients.get(id.0).and_then(|c| c.closing) {
                return Flow::Close(reason);
            }
            log::warn!(
                "{}: authorization violation: an op before CONNECT",
                self.label(id)
            );
            return self.auth_violation(id);
        }
        let Some(client) = self.clients.get_mut(id.0) else {
            return Flow::Close(CloseReason::ClientClosed);
        };
        if let Some(reason) = client.closing {
            return Flow::Close(reason);
        }
        client.active_since_ping = true;
        match op {
            Op::Connect(json) => self.connect(id, json),
            Op::Pub(msg) => self.client_publish(id, msg),
            Op::Sub {
                subject,
                queue,
                sid,
            } => self.subscribe(id, subject, queue, sid),
            Op::Unsub { sid, max } => self.unsubscribe(id, sid, max),
            Op::Ping => {
                encode::pong(&mut client.out.buf);
                client.out.wake_writer();
                Flow::Continue
            }
            Op::Pong => {
                client.pings_out = 0;
                Flow::Continue
            }
            // A client has no business sending these; nats-server ignores INFO and +OK
            // from clients and closes on -ERR.
            Op::Info(_) | Op::Ok => Flow::Continue,
            Op::Err(_) => self.close_with(id, CloseReason::ProtocolViolation),
            Op::Msg { .. } | Op::LeafSub { .. } | Op::LeafUnsub { .. } | Op::LeafMsg { .. } => {
                self.protocol_error_text(id, Some("Unknown Protocol Operation"))
            }
        }
    }

    /// Queues the `-ERR` nats-server sends for a parse error (if any) and closes.
    pub fn protocol_error(&mut self, id: ClientId, err: &ProtocolError) -> Flow {
        self.protocol_error_text(id, err.kind().err_text())
    }

    fn protocol_error_text(&mut self, id: ClientId, text: Option<&str>) -> Flow {
        if let (Some(text), Some(client)) = (text, self.clients.get_mut(id.0)) {
            encode::err(&mut client.out.buf, text.as_bytes());
        }
        self.close_with(id, CloseReason::ProtocolViolation)
    }

    fn close_with(&mut self, id: ClientId, reason: CloseReason) -> Flow {
        self.close(id, reason);
        Flow::Close(reason)
    }

    /// Queues `-ERR '<text>'` and keeps the connection open.
    fn soft_err(&mut self, id: ClientId, text: &str) -> Flow {
        if let Some(client) = self.clients.get_mut(id.0) {
            encode::err(&mut client.out.buf, text.as_bytes());
            client.out.wake_writer();
        }
        Flow::Continue
    }

    /// Queues nats-server's `-ERR 'Permissions Violation for …'` (the connection stays
    /// open). The first violation of a connection is logged at WARN, later ones at DEBUG,
    /// so a client retrying a denied publish cannot flood the log.
    fn permissions_violation(&mut self, id: ClientId, text: String) -> Flow {
        self.stats.permission_violations += 1;
        let Some(client) = self.clients.get_mut(id.0) else {
            return Flow::Continue;
        };
        let n = client.perms.as_mut().map_or(1, |p| {
            p.violations += 1;
            p.violations
        });
        if n == 1 {
            log::warn!(
                "{}: {text} (further violations of this connection are logged at debug)",
                client.label()
            );
        } else {
            log::debug!("{}: {text} (violation {n})", client.label());
        }
        self.soft_err(id, &text)
    }

    fn ok_if_verbose(&mut self, id: ClientId) {
        if let Some(client) = self.clients.get_mut(id.0) {
            if client.opts.verbose {
                encode::ok(&mut client.out.buf);
                client.out.wake_writer();
            }
        }
    }

    fn connect(&mut self, id: ClientId, json: &[u8]) -> Flow {
        match connect_opts(json) {
            Ok(opts) => match self.authenticate(id, json, &opts) {
                Err(flow) => flow,
                Ok(false) => Flow::Continue, // the link runs the bcrypt check
                Ok(true) => self.finish_connect(id, opts),
            },
            Err(text) => {
                if let (Some(text), Some(client)) = (text, self.clients.get_mut(id.0)) {
                    encode::err(&mut client.out.buf, text.as_bytes());
                }
                self.close_with(id, CloseReason::BadConnect)
            }
        }
    }

    /// Applies an accepted (and authenticated) CONNECT.
    pub(crate) fn finish_connect(&mut self, id: ClientId, opts: ConnectOpts) -> Flow {
        let Some(client) = self.clients.get_mut(id.0) else {
            return Flow::Close(CloseReason::ClientClosed);
        };
        log::debug!(
            "{}: CONNECT lang={} version={} verbose={} echo={} headers={}",
            client.label(),
            opts.lang.as_deref().unwrap_or("-"),
            opts.version.as_deref().unwrap_or("-"),
            opts.verbose,
            opts.echo,
            opts.headers
        );
        client.opts = opts;
        client.connected = true;
        self.ok_if_verbose(id);
        Flow::Continue
    }

    fn client_publish(&mut self, id: ClientId, msg: Message<'_>) -> Flow {
        let client = &mut self.clients[id.0];
        if msg.headers.is_some() && !client.opts.headers {
            // nats-server closes such a connection without an -ERR.
            return self.close_with(id, CloseReason::HeadersNotEnabled);
        }
        if client.opts.pedantic && !subject::is_valid_literal(msg.subject) {
            // nats-server 2.15.1 reports the error and then routes the message anyway.
            self.soft_err(id, "Invalid Publish Subject");
        }
        if let Some(perms) = self.clients[id.0].perms.as_mut() {
            if !perms.may_publish(msg.subject, Instant::now()) {
                let text = format!(
                    "Permissions Violation for Publish to {}",
                    go_quote(msg.subject)
                );
                return self.permissions_violation(id, text);
            }
        }
        if let Some(reply) = msg.reply.filter(|r| is_reserved_reply(r)) {
            // Replies that would pose as a JetStream delivery, a service import or a
            // gateway: nats-server refuses the message (and stays open).
            let text = format!(
                "Permissions Violation for Publish with Reply of {}",
                go_quote(reply)
            );
            log::warn!(
                "{}: publish violation: reply {}",
                self.clients[id.0].label(),
                go_quote(reply)
            );
            return self.soft_err(id, &text);
        }
        let client = &mut self.clients[id.0];
        let size = msg.payload.len() + msg.headers.map_or(0, <[u8]>::len);
        client.stats.in_msgs += 1;
        client.stats.in_bytes += size as u64;
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size as u64;
        // nats-server acknowledges before it delivers (capture 01: `+OK` precedes the MSG).
        self.ok_if_verbose(id);
        let answered =
            self.js_publish(&msg) || self.status_request(&msg) || self.varz_request(&msg);
        let delivered = self.route_to(id, msg.subject, msg, false);
        let up = self.uplink_publish(id, &msg, answered);
        if delivered == 0 && !answered && !up {
            if let Some(reply) = msg.reply {
                self.no_responders(id, msg.subject, reply);
            }
        }
        if answered {
            // Only a publish JetStream took can have changed its state.
            self.js_flush();
            if msg.subject.starts_with(b"$JS.API.CONSUMER.") {
                self.js_refresh_push();
            }
        }
        Flow::Continue
    }

    fn subscribe(&mut self, id: ClientId, filter: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Flow {
        // nats-server checks permissions first, then the subscription limits and the subject.
        let client = &mut self.clients[id.0];
        if let Some(perms) = client.perms.as_mut() {
            if !perms.may_subscribe(filter, queue) {
                let mut text = format!(
                    "Permissions Violation for Subscription to {}",
                    go_quote(filter)
                );
                if let Some(q) = queue {
                    text.push_str(&format!(" using queue {}", go_quote(q)));
                }
                return self.permissions_violation(id, text);
            }
        }
        if !subject::is_valid_filter(filter) {
            return self.soft_err(id, "Invalid Subject");
        }
        if queue.is_some_and(|q| !subject::is_valid_queue(q)) {
            return self.soft_err(id, "Invalid Queue Name");
        }
        let client = &self.clients[id.0];
        if client.subs.contains_key(sid) {
            // nats-server keeps the first subscription for a reused sid.
            self.ok_if_verbose(id);
            return Flow::Continue;
        }
        let per_client = self.limits.max_subs;
        if (per_client > 0 && client.subs.len() >= per_client)
            || self.subs.len() >= self.limits.max_subscriptions_total
        {
            return self.soft_err(id, "maximum subscriptions exceeded");
        }
        let entry = self.subs.vacant_entry();
        let Ok(raw) = u32::try_from(entry.key()) else {
            return self.soft_err(id, "maximum subscriptions exceeded");
        };
        let key = SubKey(raw);
        if self.sublist.insert(filter, queue, key).is_err() {
            return self.soft_err(id, "Invalid Subject");
        }
        entry.insert(Subscription {
            client: id,
            sid: sid.into(),
            filter: filter.into(),
            queue: queue.map(Into::into),
            max: None,
            delivered: 0,
        });
        self.clients[id.0].subs.insert(sid.into(), key);
        self.local_interest(filter, queue, 1);
        self.js_refresh_push();
        self.ok_if_verbose(id);
        Flow::Continue
    }

    fn unsubscribe(&mut self, id: ClientId, sid: &[u8], max: Option<u64>) -> Flow {
        if let Some(&key) = self.clients[id.0].subs.get(sid) {
            match max {
                // The count includes what the sid has already received.
                Some(max) if self.subs[key.0 as usize].delivered < max => {
                    self.subs[key.0 as usize].max = Some(max);
                }
                _ => self.unsubscribe_key(key),
            }
        }
        self.ok_if_verbose(id);
        Flow::Continue
    }

    /// One keepalive tick for a connection: returns `false` when it has gone stale (the
    /// `-ERR` is queued and the connection is closing).
    pub fn ping_tick(&mut self, id: ClientId) -> bool {
        let ping_max = self.limits.ping_max;
        let auth_on = self.auth.is_some();
        let Some(client) = self.clients.get_mut(id.0) else {
            return false;
        };
        if client.closing.is_some() {
            return false;
        }
        if auth_on && !client.connected {
            // nats-server starts pinging at CONNECT; before it, the auth timer decides.
            return true;
        }
        // Like nats-server: the first PING always goes out (it measures RTT); later ones
        // are put off while the client keeps sending. Only a PONG clears pings_out.
        let active = std::mem::take(&mut client.active_since_ping);
        if client.pinged_once && active {
            return true;
        }
        if client.pings_out + 1 > ping_max {
            encode::err(&mut client.out.buf, b"Stale Connection");
            self.close(id, CloseReason::StaleConnection);
            return false;
        }
        client.pinged_once = true;
        client.pings_out += 1;
        encode::ping(&mut client.out.buf);
        client.out.wake_writer();
        true
    }
}

/// nats-server's `isReservedReply`: `_R_.` (service imports, even bare), `$JS.ACK.…`
/// (JetStream deliveries) and `_GR_.…` (gateway replies), the last two with something after
/// the prefix.
fn is_reserved_reply(reply: &[u8]) -> bool {
    reply.starts_with(b"_R_.")
        || [&b"$JS.ACK."[..], b"_GR_."]
            .iter()
            .any(|p| reply.len() > p.len() && reply.starts_with(p))
}

/// Go's `%q` for subject bytes: double quotes, with `\\`, `\"` and non-printable bytes escaped.
pub(super) fn go_quote(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(c)),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}
