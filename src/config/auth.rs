//! `[auth]`: which clients may connect (issue 7's key names, so operators' configs stay
//! stable): a single `token`, or `[[auth.users]]` with a `user` and `password` or an `nkey`
//! each, and the time a client has to authenticate.
//!
//! Owns: the client credentials as plain data, their TOML layout, defaults and validation.
//! Must not: check credentials (the router's `auth.rs` does) or log them. Hands off to: the
//! router.
//!
//! A password may be a bcrypt hash (`$2a$…`, as nats-server takes it). Each user may have
//! `permissions` (`perms.rs`); `[auth.default_permissions]` applies to users without.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::perms::{self, Permissions};
use super::units::Dur;
use super::ConfigError;

/// Who may connect. Empty (no token, no users): everyone, as before.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The one token every client must send as `auth_token` (never logged).
    pub token: Option<String>,
    /// Users and their passwords (never logged).
    pub users: Vec<AuthUser>,
    /// nkey users, who sign the INFO nonce.
    pub nkeys: Vec<NkeyUser>,
    /// What users without `permissions` of their own may do (nats-server's
    /// `default_permissions`). Empty: everything.
    pub default_permissions: Permissions,
    /// How long a client may take to send a valid CONNECT (nats-server: 2 s).
    pub timeout: Duration,
}

/// One `[[auth.users]]` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The CONNECT `user`.
    pub user: String,
    /// The CONNECT `pass` in plain text, or its bcrypt hash (`$2a$…`).
    pub password: String,
    /// What the user may do; `None`: `default_permissions`.
    pub permissions: Option<Permissions>,
}

/// One `[[auth.users]]` entry with an `nkey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NkeyUser {
    /// The public key (`U…`): the user's identity.
    pub nkey: String,
    /// What the user may do; `None`: `default_permissions`.
    pub permissions: Option<Permissions>,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            token: None,
            users: Vec::new(),
            nkeys: Vec::new(),
            default_permissions: Permissions::default(),
            timeout: Duration::from_secs(2),
        }
    }
}

impl AuthConfig {
    /// Whether clients must authenticate.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || !self.users.is_empty() || !self.nkeys.is_empty()
    }
}

// Hand-written so that a `{:?}` of the config can never print a secret.
impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("users", &self.users)
            .field("nkeys", &self.nkeys)
            .field("default_permissions", &self.default_permissions)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthUser")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("permissions", &self.permissions)
            .finish()
    }
}

/// `[auth]` in a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthLayer {
    token: Option<String>,
    timeout: Option<Dur>,
    #[serde(default)]
    users: Vec<UserLayer>,
    default_permissions: Option<toml::Value>,
}

/// `[[auth.users]]`: `user` and `password`, or `nkey`; optional `permissions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserLayer {
    user: Option<String>,
    password: Option<String>,
    nkey: Option<String>,
    permissions: Option<toml::Value>,
}

impl AuthLayer {
    /// The file's `[auth]` replaces the default as a whole.
    pub(crate) fn into_config(self) -> Result<AuthConfig, ConfigError> {
        let mut users = Vec::with_capacity(self.users.len());
        let mut nkeys = Vec::new();
        for u in self.users {
            let permissions = u
                .permissions
                .as_ref()
                .map(|v| perms::parse("auth.users.permissions", v))
                .transpose()?;
            if let Some(nkey) = u.nkey {
                if u.user.is_some() || u.password.is_some() {
                    return Err(ConfigError::invalid(
                        "auth.users",
                        "an nkey user has no `user` or `password`: the key is its identity",
                    ));
                }
                nkeys.push(NkeyUser { nkey, permissions });
                continue;
            }
            let Some(user) = u.user else {
                return Err(ConfigError::invalid(
                    "auth.users",
                    "each user needs both `user` and `password`, or an `nkey`",
                ));
            };
            // No password: named by a client certificate ([tls] verify_and_map, checked later).
            let password = u.password.unwrap_or_default();
            users.push(AuthUser {
                user,
                password,
                permissions,
            });
        }
        let default_permissions = self
            .default_permissions
            .as_ref()
            .map(|v| perms::parse("auth.default_permissions", v))
            .transpose()?
            .unwrap_or_default();
        Ok(AuthConfig {
            token: self.token,
            users,
            nkeys,
            default_permissions,
            timeout: self.timeout.map_or(AuthConfig::default().timeout, |d| d.0),
        })
    }
}

/// Ranges and combinations, as nats-server refuses them. `cert_map`: `[tls] verify_and_map`
/// is on, so a user may have no password (its client certificate names it).
pub(crate) fn check(a: &AuthConfig, cert_map: bool) -> Result<(), ConfigError> {
    if a.token.is_some() && (!a.users.is_empty() || !a.nkeys.is_empty()) {
        return Err(ConfigError::invalid(
            "auth.token",
            "use either a token or [[auth.users]], not both (as nats-server)",
        ));
    }
    if a.token.as_deref().is_some_and(str::is_empty) {
        return Err(ConfigError::invalid("auth.token", "must not be empty"));
    }
    let mut seen = BTreeSet::new();
    for u in &a.users {
        if u.user.is_empty() || (u.password.is_empty() && !cert_map) {
            return Err(ConfigError::invalid(
                "auth.users",
                "`user` and `password` must not be empty (a user without a password needs \
                 [tls] verify_and_map, which names it from a client certificate)",
            ));
        }
        if !seen.insert(u.user.as_str()) {
            return Err(ConfigError::invalid(
                "auth.users",
                format!("user {:?} is listed twice", u.user),
            ));
        }
        if is_bcrypt(&u.password) && !bcrypt_shaped(&u.password) {
            return Err(ConfigError::invalid(
                "auth.users.password",
                format!(
                    "user {:?}: starts like a bcrypt hash but is not one ($2a$NN$ and 53 \
                     characters, as `htpasswd -bnBC 11 \"\" PASSWORD` or `nats server passwd` \
                     make)",
                    u.user
                ),
            ));
        }
    }
    let mut keys = BTreeSet::new();
    if a.users.is_empty() && a.nkeys.is_empty() && !a.default_permissions.is_empty() {
        return Err(ConfigError::invalid(
            "auth.default_permissions",
            "permissions apply to [[auth.users]], and there are none (a token has no user \
             to hold them)",
        ));
    }
    for key in a.nkeys.iter().map(|n| &n.nkey) {
        if let Err(e) = crate::nkey::user_public_key(key) {
            return Err(ConfigError::invalid(
                "auth.users.nkey",
                format!("{key:?}: {e}"),
            ));
        }
        if !keys.insert(key.as_str()) {
            return Err(ConfigError::invalid(
                "auth.users.nkey",
                format!("{key:?} is listed twice"),
            ));
        }
    }
    if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&a.timeout) {
        return Err(ConfigError::invalid(
            "auth.timeout",
            format!("must be between 100ms and 1m (got {:?})", a.timeout),
        ));
    }
    Ok(())
}

/// Whether a configured password is a bcrypt hash, as nats-server decides it (`$2a$`,
/// `$2b$`, `$2x$`, `$2y$`); clients then send the plain password and leafd checks it.
pub fn is_bcrypt(password: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|p| password.starts_with(p))
}

/// `$2?$NN$` and 53 characters of salt and hash: 60 in all.
fn bcrypt_shaped(hash: &str) -> bool {
    let b = hash.as_bytes();
    b.len() == 60 && b[6] == b'$' && b[4..6].iter().all(u8::is_ascii_digit)
}
