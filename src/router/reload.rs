//! A new `[auth]` on SIGHUP, applied to the connections already open, as nats-server's
//! config reload does it:
//!
//! - a connection whose credentials the new config no longer admits is closed: without a
//!   word when its user (or nkey) was removed, with `-ERR 'Authorization Violation'` when
//!   its password, hash or the token changed or authentication newly applies to it;
//! - every other connection takes its user's new permissions, and each subscription those
//!   no longer allow is removed with `-ERR 'Permissions Violation for Subscription to "x"
//!   (sid "1")'` (`using queue "q"` before the sid for a queue subscription).
//!
//! Owns: deciding which connections stay and what they may do. Must not: read files (main
//! parses and validates the new config; a bad one never gets here).

use crate::config::AuthConfig;
use crate::protocol::encode;

use super::auth::{Auth, AUTH_VIOLATION};
use super::perms::ClientPerms;
use super::{ClientId, CloseReason, Router};

/// What a reload did to the open connections.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuthReload {
    /// Connections closed because the new config does not admit them.
    pub closed: usize,
    /// Connections whose permissions changed.
    pub repermitted: usize,
    /// Subscriptions removed because the new permissions do not allow them.
    pub subs_removed: usize,
}

impl Router {
    /// Applies a new (validated) `[auth]` to new and open connections.
    pub fn reload_auth(&mut self, config: &AuthConfig) -> AuthReload {
        let old = self.auth.take();
        let new = Auth::from_config(config);
        let mut report = AuthReload::default();
        let ids: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.connected && !c.hub && c.closing.is_none())
            .map(|(i, _)| ClientId(i))
            .collect();
        for id in ids {
            let user = self.clients[id.0].user.clone();
            let admitted = match (&old, &new) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(old), Some(new)) => new.still_admits(old, user.as_deref()),
            };
            if !admitted {
                // nats-server closes the connection of a user (or nkey) that no longer
                // exists without a word, and sends the -ERR when its secret changed or
                // authentication newly applies to it.
                let removed = match (&new, &user) {
                    (Some(a), Some(u)) => !a.knows(u),
                    _ => false,
                };
                let client = &mut self.clients[id.0];
                log::warn!(
                    "{}: no longer authorized by the reloaded config ({}); closing",
                    client.label(),
                    if removed {
                        "user removed"
                    } else {
                        "credentials changed"
                    }
                );
                if !removed {
                    encode::err(&mut client.out.buf, AUTH_VIOLATION.as_bytes());
                }
                self.close(id, CloseReason::AuthViolation);
                report.closed += 1;
                continue;
            }
            let perms = match (&new, &user) {
                (Some(a), Some(u)) => a.perms_for(u),
                _ => None,
            };
            let client = &mut self.clients[id.0];
            let same = match (&client.perms, &perms) {
                (None, None) => true,
                (Some(have), Some(want)) => have.rules() == &**want,
                _ => false,
            };
            if same {
                continue;
            }
            report.repermitted += 1;
            client.perms = perms.map(ClientPerms::new);
            report.subs_removed += self.recheck_subscriptions(id);
        }
        self.auth = new;
        self.info.set_auth_required(self.auth.is_some());
        report
    }

    /// Removes the subscriptions of `id` its permissions no longer allow, telling the
    /// client about each; also re-arms the delivery-time deny check for those that stay.
    fn recheck_subscriptions(&mut self, id: ClientId) -> usize {
        let client = &mut self.clients[id.0];
        let Some(perms) = client.perms.as_mut() else {
            return 0;
        };
        let mut removed = Vec::new();
        for (sid, &key) in &client.subs {
            let Some(sub) = self.subs.get(key.0 as usize) else {
                continue;
            };
            if !perms.may_subscribe(&sub.filter, sub.queue.as_deref()) {
                removed.push((sid.clone(), key));
            }
        }
        for (sid, key) in &removed {
            let Some(sub) = self.subs.get(key.0 as usize) else {
                continue;
            };
            let mut text = format!(
                "Permissions Violation for Subscription to {}",
                super::ops::go_quote(&sub.filter)
            );
            if let Some(q) = &sub.queue {
                text.push_str(&format!(" using queue {}", super::ops::go_quote(q)));
            }
            text.push_str(&format!(" (sid {})", super::ops::go_quote(sid)));
            let client = &mut self.clients[id.0];
            log::info!(
                "{}: subscription removed by the reloaded config: {text}",
                client.label()
            );
            encode::err(&mut client.out.buf, text.as_bytes());
            client.out.wake_writer();
            self.unsubscribe_key(*key);
        }
        removed.len()
    }
}
