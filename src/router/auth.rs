//! Client authentication: a CONNECT's credentials against `[auth]`, with nats-server's
//! behaviour: `auth_required` in INFO, `-ERR 'Authorization Violation'` and a close for bad
//! credentials or any op before CONNECT, `-ERR 'Authentication Timeout'` and a close when
//! no CONNECT arrives in time.
//!
//! Owns: the credential check (constant-time comparisons) and the log line of a refusal,
//! which names the user, never a secret. Must not: do I/O; the link runs the timer and asks
//! [`Router::auth_timed_out`]. Hands off to: the connection's outbox.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::AuthConfig;
use crate::protocol::encode;

use super::{ClientId, CloseReason, Flow, Router};

/// The text nats-server sends for a failed or missing authentication.
pub(crate) const AUTH_VIOLATION: &str = "Authorization Violation";
/// The text nats-server sends when no CONNECT arrived within the auth timeout.
pub(crate) const AUTH_TIMEOUT: &str = "Authentication Timeout";

/// `[auth]` as the router checks it.
#[derive(Clone)]
pub(crate) struct Auth {
    token: Option<Box<[u8]>>,
    users: HashMap<String, Box<[u8]>>,
    timeout: Duration,
}

// Never prints a secret.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("token", &self.token.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The credential fields of a CONNECT (JSON `null` means absent).
#[derive(Default, Deserialize)]
#[serde(default)]
struct Credentials {
    user: Option<String>,
    pass: Option<String>,
    auth_token: Option<String>,
}

/// Equal bytes, in time that depends on the lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// `None` when `[auth]` asks for nothing.
    pub(crate) fn from_config(c: &AuthConfig) -> Option<Auth> {
        c.enabled().then(|| Auth {
            token: c.token.as_deref().map(|t| t.as_bytes().into()),
            users: c
                .users
                .iter()
                .map(|u| (u.user.clone(), u.password.as_bytes().into()))
                .collect(),
            timeout: c.timeout,
        })
    }

    /// The user a CONNECT authenticates as (`None` for the token), or why it does not, for
    /// the log (never a secret).
    fn check(&self, json: &[u8]) -> Result<Option<String>, String> {
        let c: Credentials = serde_json::from_slice(json).unwrap_or_default();
        if let Some(token) = &self.token {
            // nats-server: a client without a password may carry the token as `user`.
            let sent = c
                .auth_token
                .as_deref()
                .or(c.user.as_deref().filter(|_| c.pass.is_none()));
            return match sent {
                Some(t) if same(t.as_bytes(), token) => Ok(None),
                Some(_) => Err("wrong token".to_owned()),
                None => Err("no token".to_owned()),
            };
        }
        let Some(user) = c.user else {
            return Err("no user".to_owned());
        };
        match (self.users.get(&user), c.pass) {
            (Some(want), Some(pass)) if same(pass.as_bytes(), want) => Ok(Some(user)),
            (Some(_), _) => Err(format!("wrong password for user {user:?}")),
            (None, _) => Err(format!("unknown user {user:?}")),
        }
    }
}

impl Router {
    /// Turns client authentication on (or off) and says so in INFO.
    pub fn set_auth(&mut self, config: &AuthConfig) {
        self.auth = Auth::from_config(config);
        self.info.set_auth_required(self.auth.is_some());
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
        if client.connected || client.closing.is_some() {
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

    /// Checks CONNECT's credentials; `Err` is the closing flow after the `-ERR`.
    pub(crate) fn authenticate(&mut self, id: ClientId, json: &[u8]) -> Result<(), Flow> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        match auth.check(json) {
            Ok(user) => {
                if let Some(client) = self.clients.get_mut(id.0) {
                    client.user = user;
                }
                Ok(())
            }
            Err(why) => {
                log::warn!("{}: authorization violation: {why}", self.label(id));
                Err(self.auth_violation(id))
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthUser;

    fn users() -> Auth {
        Auth::from_config(&AuthConfig {
            users: vec![AuthUser {
                user: "alice".into(),
                password: "s3cret".into(),
            }],
            ..AuthConfig::default()
        })
        .expect("on")
    }

    #[test]
    fn users_and_passwords() {
        let a = users();
        assert_eq!(
            a.check(br#"{"user":"alice","pass":"s3cret"}"#),
            Ok(Some("alice".into()))
        );
        let wrong = a.check(br#"{"user":"alice","pass":"nope"}"#).unwrap_err();
        assert!(!wrong.contains("nope"), "secrets stay out of logs: {wrong}");
        assert!(a.check(br#"{"user":"bob","pass":"s3cret"}"#).is_err());
        assert!(a.check(br#"{"user":"alice"}"#).is_err());
        assert!(a.check(br#"{"auth_token":"s3cret"}"#).is_err());
        assert!(a.check(b"{}").is_err());
    }

    #[test]
    fn token() {
        let a = Auth::from_config(&AuthConfig {
            token: Some("t0k".into()),
            ..AuthConfig::default()
        })
        .expect("on");
        assert_eq!(a.check(br#"{"auth_token":"t0k"}"#), Ok(None));
        assert!(a.check(br#"{"auth_token":"t0"}"#).is_err());
        assert!(a.check(br#"{"auth_token":null}"#).is_err());
        assert!(a.check(b"{}").is_err());
        assert!(Auth::from_config(&AuthConfig::default()).is_none());
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", users());
        assert!(
            shown.contains("alice") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
