//! The router's side of logging in: authentication switched on and off, the auth timer,
//! CONNECT's credentials checked with [`Auth`], the bcrypt check handed to the link and its
//! result, and the `-ERR` and close of a refusal.
//!
//! Owns: each client's login state (`user`, `perms`, `pending_connect`). Must not: do I/O or
//! run a bcrypt check (the link runs it off the event loop). Hands off to: `auth.rs` for the
//! verdict, `Router::finish_connect` once the client is in.

use std::time::Duration;

use crate::config::AuthConfig;
use crate::protocol::encode;

use super::auth::{Auth, BcryptCheck, PendingConnect, Verdict, AUTH_TIMEOUT, AUTH_VIOLATION};
use super::perms::ClientPerms;
use super::{ClientId, CloseReason, Flow, Router};

impl Router {
    /// Turns client authentication on (or off) and says so in INFO.
    pub fn set_auth(&mut self, config: &AuthConfig) {
        self.auth = Auth::from_config(config);
        self.info.set_auth_required(self.auth.is_some());
    }

    /// `[tls] verify_and_map`: `[[auth.users]]` are found from client certificates
    /// (call after [`Router::set_auth`]).
    pub fn set_auth_cert_map(&mut self, on: bool) {
        if let Some(a) = &mut self.auth {
            a.cert_map = on;
        }
    }

    /// How long a new connection has to authenticate, when authentication is on.
    pub fn auth_timeout(&self) -> Option<Duration> {
        self.auth.as_ref().map(|a| a.timeout)
    }

    /// The auth timer of connection `id` ran out: closes it with nats-server's
    /// `-ERR 'Authentication Timeout'` unless it has authenticated. Returns whether it closed.
    pub fn auth_timed_out(&mut self, id: ClientId) -> bool {
        let Some(client) = self.clients.get_mut(id.0) else {
            return false;
        };
        if client.connected || client.closing.is_some() || client.pending_connect.is_some() {
            return false;
        }
        log::warn!("{}: no CONNECT within the auth timeout", client.label());
        encode::err(&mut client.out.buf, AUTH_TIMEOUT.as_bytes());
        self.close(id, CloseReason::AuthTimeout);
        true
    }

    /// Whether an op other than CONNECT from `id` must be refused: authentication is on and
    /// the client has not authenticated.
    pub(crate) fn needs_auth(&self, id: ClientId) -> bool {
        self.auth.is_some()
            && self
                .clients
                .get(id.0)
                .is_some_and(|c| !c.connected && !c.hub)
    }

    /// Checks CONNECT's credentials: `Ok(true)` to go on, `Ok(false)` when a bcrypt check
    /// must run first (the CONNECT then waits in the client with `opts`), `Err` the closing
    /// flow after the `-ERR`.
    pub(crate) fn authenticate(
        &mut self,
        id: ClientId,
        json: &[u8],
        opts: &super::client::ConnectOpts,
    ) -> Result<bool, Flow> {
        let Some(auth) = &self.auth else {
            return Ok(true);
        };
        let nonce = self.clients.get(id.0).and_then(|c| c.nonce.as_deref());
        let mapped = auth.cert_map.then(|| self.cert_user(id, auth.user_names()));
        match auth.verdict(json, nonce, mapped) {
            Verdict::Allowed(user) => {
                let perms = user.as_deref().and_then(|u| auth.perms_for(u));
                if let Some(client) = self.clients.get_mut(id.0) {
                    client.perms = perms.map(ClientPerms::new);
                    client.user = user;
                }
                Ok(true)
            }
            Verdict::Bcrypt { user, check } => {
                if let Some(client) = self.clients.get_mut(id.0) {
                    client.pending_connect = Some(PendingConnect {
                        user,
                        opts: opts.clone(),
                        check: Some(check),
                    });
                }
                Ok(false)
            }
            Verdict::Denied(why) => {
                log::warn!("{}: authorization violation: {why}", self.label(id));
                Err(self.auth_violation(id))
            }
        }
    }

    /// The bcrypt check a CONNECT from `id` waits for, if any: the link runs it off the event
    /// loop, reads nothing more from the client meanwhile, then calls
    /// [`Router::bcrypt_checked`].
    pub fn take_bcrypt_check(&mut self, id: ClientId) -> Option<BcryptCheck> {
        self.clients
            .get_mut(id.0)?
            .pending_connect
            .as_mut()?
            .check
            .take()
    }

    /// The result of `id`'s bcrypt check: the CONNECT completes, or the connection closes
    /// with `-ERR 'Authorization Violation'`.
    pub fn bcrypt_checked(&mut self, id: ClientId, ok: bool) -> Flow {
        let Some(pending) = self
            .clients
            .get_mut(id.0)
            .and_then(|c| c.pending_connect.take())
        else {
            return Flow::Close(CloseReason::ClientClosed);
        };
        if !ok {
            log::warn!(
                "{}: authorization violation: wrong password for user {:?}",
                self.label(id),
                pending.user
            );
            return self.auth_violation(id);
        }
        if !self.auth.as_ref().is_some_and(|a| a.knows(&pending.user)) {
            log::warn!(
                "{}: authorization violation: user {:?} was removed by a reload during its \
                 password check",
                self.label(id),
                pending.user
            );
            return self.auth_violation(id);
        }
        let perms = self.auth.as_ref().and_then(|a| a.perms_for(&pending.user));
        if let Some(client) = self.clients.get_mut(id.0) {
            client.perms = perms.map(ClientPerms::new);
            client.user = Some(pending.user);
        }
        self.finish_connect(id, pending.opts)
    }

    /// Queues `-ERR 'Authorization Violation'` and closes.
    pub(crate) fn auth_violation(&mut self, id: ClientId) -> Flow {
        if let Some(client) = self.clients.get_mut(id.0) {
            encode::err(&mut client.out.buf, AUTH_VIOLATION.as_bytes());
        }
        self.close(id, CloseReason::AuthViolation);
        Flow::Close(CloseReason::AuthViolation)
    }
}
