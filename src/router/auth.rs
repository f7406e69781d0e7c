//! Client authentication: a CONNECT's credentials against `[auth]`, with nats-server's
//! behaviour: `auth_required` in INFO, `-ERR 'Authorization Violation'` and a close for bad
//! credentials or any op before CONNECT, `-ERR 'Authentication Timeout'` and a close when
//! no CONNECT arrives in time.
//!
//! Owns: the credential check (constant-time comparisons; nkey users sign the nonce their
//! INFO carried), the nonces, and the reason a refusal gives, which names the user, never a
//! secret. Must not: do I/O, or touch clients. Hands off to: `login.rs`, the router's side
//! (the auth timer, the CONNECT flow, the `-ERR` and close).

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use serde::Deserialize;

use crate::config::AuthConfig;

use super::perms::Perms;

/// The text nats-server sends for a failed or missing authentication.
pub(crate) const AUTH_VIOLATION: &str = "Authorization Violation";
/// The text nats-server sends when no CONNECT arrived within the auth timeout.
pub(crate) const AUTH_TIMEOUT: &str = "Authentication Timeout";

/// A user's password as configured.
#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Plain(Box<[u8]>),
    /// A bcrypt hash (`$2a$…`): checking it costs 0.1-1 s of CPU, so the link runs it on a
    /// blocking thread ([`BcryptCheck`]).
    Bcrypt(String),
}

/// A bcrypt check the link must run off the event loop before the connection goes on.
#[derive(Debug)]
pub struct BcryptCheck {
    /// The password the client sent.
    pub password: String,
    /// The configured hash.
    pub hash: String,
}

impl BcryptCheck {
    /// Runs the check (blocking: call it on a blocking thread).
    pub fn run(&self) -> bool {
        bcrypt::verify(&self.password, &self.hash).unwrap_or(false)
    }
}

/// A CONNECT waiting for its bcrypt check: what to apply once it passes.
#[derive(Debug)]
pub(crate) struct PendingConnect {
    pub(crate) user: String,
    pub(crate) opts: super::client::ConnectOpts,
    /// Taken by the link.
    pub(crate) check: Option<BcryptCheck>,
}

/// What [`Auth::verdict`] decided.
pub(super) enum Verdict {
    Allowed(Option<String>),
    Denied(String),
    Bcrypt { user: String, check: BcryptCheck },
}

/// `[auth]` as the router checks it.
#[derive(Clone)]
pub(crate) struct Auth {
    token: Option<Box<[u8]>>,
    users: HashMap<String, Secret>,
    /// nkey users: public key text → ed25519 key.
    nkeys: HashMap<String, [u8; 32]>,
    /// Each user's (or nkey's) permissions; users without an entry may do everything.
    perms: HashMap<String, Rc<Perms>>,
    pub(super) timeout: Duration,
    /// `[tls] verify_and_map`: users are named by the client certificate, not CONNECT.
    pub(super) cert_map: bool,
}

// Never prints a secret.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("token", &self.token.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("nkeys", &self.nkeys.keys().collect::<Vec<_>>())
            .field("perms", &self.perms)
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
    nkey: Option<String>,
    sig: Option<String>,
}

/// A fresh nonce for INFO, as nats-server makes them: 11 random bytes, base64url.
pub(crate) fn new_nonce() -> String {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 11];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // The OS RNG failing is not something to serve through: make the nonce unusable.
        log::error!("no randomness for an auth nonce");
        return String::new();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signature as clients send it: base64url without padding (nats-server also takes
/// standard base64).
fn decode_sig(sig: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
        .iter()
        .find_map(|e| e.decode(sig).ok())
}

/// Equal bytes, in time that depends on the lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// `None` when `[auth]` asks for nothing.
    pub(crate) fn from_config(c: &AuthConfig) -> Option<Auth> {
        let default = Perms::new(&c.default_permissions);
        let own = |p: &Option<_>| p.as_ref().map_or(default.clone(), Perms::new);
        let perms = c
            .users
            .iter()
            .map(|u| (u.user.clone(), own(&u.permissions)))
            .chain(
                c.nkeys
                    .iter()
                    .map(|n| (n.nkey.clone(), own(&n.permissions))),
            )
            .filter_map(|(who, p)| Some((who, p?)))
            .collect();
        c.enabled().then(|| Auth {
            token: c.token.as_deref().map(|t| t.as_bytes().into()),
            users: c
                .users
                .iter()
                .map(|u| {
                    let secret = if crate::config::is_bcrypt(&u.password) {
                        Secret::Bcrypt(u.password.clone())
                    } else {
                        Secret::Plain(u.password.as_bytes().into())
                    };
                    (u.user.clone(), secret)
                })
                .collect(),
            nkeys: c
                .nkeys
                .iter()
                .filter_map(|n| {
                    let key = crate::nkey::user_public_key(&n.nkey).ok()?;
                    Some((n.nkey.clone(), key))
                })
                .collect(),
            perms,
            timeout: c.timeout,
            cert_map: false,
        })
    }

    /// Whether a connection that `old` admitted as `user` (`None`: the token) would be
    /// admitted by `self` with the same credentials: same token, same password or hash,
    /// same nkey. Passwords are not kept per connection, so an unchanged secret is the test.
    pub(crate) fn still_admits(&self, old: &Auth, user: Option<&str>) -> bool {
        match user {
            None => match (&self.token, &old.token) {
                (Some(new), Some(old)) => same(new, old),
                _ => false,
            },
            Some(u) => match old.users.get(u) {
                Some(secret) => self.users.get(u) == Some(secret),
                None => old.nkeys.contains_key(u) && self.nkeys.contains_key(u),
            },
        }
    }

    /// Whether `user` (a user name or nkey) is still configured (a reload may have removed
    /// it while its bcrypt check ran).
    pub(crate) fn knows(&self, user: &str) -> bool {
        self.users.contains_key(user) || self.nkeys.contains_key(user)
    }

    /// What `user` (a user name or nkey) may do; `None`: everything.
    pub(crate) fn perms_for(&self, user: &str) -> Option<Rc<Perms>> {
        self.perms.get(user).cloned()
    }

    /// Whether INFO must carry a nonce for clients to sign.
    pub(crate) fn wants_nonce(&self) -> bool {
        !self.nkeys.is_empty()
    }

    /// The user a CONNECT authenticates as (`None` for the token), or why it does not, for
    /// the log (never a secret). `nonce` is what this connection's INFO carried.
    #[cfg(test)]
    fn check(&self, json: &[u8], nonce: Option<&str>) -> Result<Option<String>, String> {
        match self.verdict(json, nonce, None) {
            Verdict::Allowed(user) => Ok(user),
            Verdict::Denied(why) => Err(why),
            Verdict::Bcrypt { user, check } => {
                if check.run() {
                    Ok(Some(user))
                } else {
                    Err(format!("wrong password for user {user:?}"))
                }
            }
        }
    }

    /// The configured user names (what a client certificate may name).
    pub(super) fn user_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.users.keys().map(String::as_str)
    }

    /// `mapped`: with `verify_and_map`, the user the client certificate names (or why none).
    pub(super) fn verdict(
        &self,
        json: &[u8],
        nonce: Option<&str>,
        mapped: Option<Result<String, String>>,
    ) -> Verdict {
        use Verdict::{Allowed, Denied};
        let c: Credentials = serde_json::from_slice(json).unwrap_or_default();
        if let Some(nkey) = c.nkey {
            let Some(public) = self.nkeys.get(&nkey) else {
                return Denied(format!("unknown nkey {nkey}"));
            };
            let signed = match (nonce, c.sig.as_deref().and_then(decode_sig)) {
                (Some(nonce), Some(sig)) if !nonce.is_empty() => {
                    crate::nkey::verify(public, nonce.as_bytes(), &sig)
                }
                _ => false,
            };
            return if signed {
                Allowed(Some(nkey))
            } else {
                Denied(format!("bad nonce signature for nkey {nkey}"))
            };
        }
        if let Some(token) = &self.token {
            // nats-server: a client without a password may carry the token as `user`.
            let sent = c
                .auth_token
                .as_deref()
                .or(c.user.as_deref().filter(|_| c.pass.is_none()));
            return match sent {
                Some(t) if same(t.as_bytes(), token) => Allowed(None),
                Some(_) => Denied("wrong token".to_owned()),
                None => Denied("no token".to_owned()),
            };
        }
        // As nats-server: a mapped user's CONNECT sends no password unless one is configured.
        let (user, pass) = match mapped {
            Some(Ok(user)) => (user, Some(c.pass.unwrap_or_default())),
            Some(Err(why)) => return Denied(why),
            None => match c.user {
                Some(user) => (user, c.pass),
                None => return Denied("no user".to_owned()),
            },
        };
        match (self.users.get(&user), pass) {
            (Some(Secret::Plain(want)), Some(pass)) if same(pass.as_bytes(), want) => {
                Allowed(Some(user))
            }
            (Some(Secret::Bcrypt(hash)), Some(pass)) => Verdict::Bcrypt {
                user,
                check: BcryptCheck {
                    password: pass,
                    hash: hash.clone(),
                },
            },
            (Some(_), _) => Denied(format!("wrong password for user {user:?}")),
            (None, _) => Denied(format!("unknown user {user:?}")),
        }
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
                permissions: None,
            }],
            ..AuthConfig::default()
        })
        .expect("on")
    }

    impl Auth {
        fn check_plain(&self, json: &[u8]) -> Result<Option<String>, String> {
            self.check(json, None)
        }
    }

    #[test]
    fn nkey_users_sign_the_nonce() {
        let kp = nkeys::KeyPair::new_user();
        let public = kp.public_key();
        let a = Auth::from_config(&AuthConfig {
            nkeys: vec![crate::config::NkeyUser {
                nkey: public.clone(),
                permissions: None,
            }],
            ..AuthConfig::default()
        })
        .expect("on");
        assert!(a.wants_nonce());
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 15, "{nonce}");
        use base64::Engine as _;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(kp.sign(nonce.as_bytes()).expect("sign"));
        let json = format!(r#"{{"nkey":"{public}","sig":"{sig}"}}"#);
        assert_eq!(
            a.check(json.as_bytes(), Some(&nonce)),
            Ok(Some(public.clone()))
        );
        assert!(
            a.check(json.as_bytes(), Some(&new_nonce())).is_err(),
            "another nonce"
        );
        assert!(a.check(json.as_bytes(), None).is_err());
        let other = nkeys::KeyPair::new_user().public_key();
        let json = format!(r#"{{"nkey":"{other}","sig":"{sig}"}}"#);
        assert!(
            a.check(json.as_bytes(), Some(&nonce)).is_err(),
            "unknown key"
        );
    }

    #[test]
    fn users_and_passwords() {
        let a = users();
        assert_eq!(
            a.check_plain(br#"{"user":"alice","pass":"s3cret"}"#),
            Ok(Some("alice".into()))
        );
        let wrong = a
            .check_plain(br#"{"user":"alice","pass":"nope"}"#)
            .unwrap_err();
        assert!(!wrong.contains("nope"), "secrets stay out of logs: {wrong}");
        assert!(a.check_plain(br#"{"user":"bob","pass":"s3cret"}"#).is_err());
        assert!(a.check_plain(br#"{"user":"alice"}"#).is_err());
        assert!(a.check_plain(br#"{"auth_token":"s3cret"}"#).is_err());
        assert!(a.check_plain(b"{}").is_err());
    }

    #[test]
    fn token() {
        let a = Auth::from_config(&AuthConfig {
            token: Some("t0k".into()),
            ..AuthConfig::default()
        })
        .expect("on");
        assert_eq!(a.check_plain(br#"{"auth_token":"t0k"}"#), Ok(None));
        assert!(a.check_plain(br#"{"auth_token":"t0"}"#).is_err());
        assert!(a.check_plain(br#"{"auth_token":null}"#).is_err());
        assert!(a.check_plain(b"{}").is_err());
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
