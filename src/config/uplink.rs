//! `[uplink]`: the leaf-node connection to a hub cluster and the streams forwarded over it.
//!
//! Owns: the uplink's settings as plain data, their TOML layout (issue 4's key names, so
//! operators' configs stay stable), defaults and validation. Must not: read the files the
//! keys name (credentials and certificates are read by the uplink when it connects) or
//! open sockets. Hands off to: `link/uplink.rs` (the hub connection) and the router (the
//! forwarded streams).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::units::Dur;
use super::ConfigError;

/// The port a hub listens on for leaf nodes when a URL names none.
pub const DEFAULT_LEAF_PORT: u16 = 7422;

/// How the uplink authenticates to the hub (at most one kind).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UplinkAuth {
    /// No credentials.
    #[default]
    None,
    /// `user` and `password`.
    UserPassword {
        /// User name.
        user: String,
        /// Password (never logged).
        password: String,
    },
    /// A single `token` (never logged).
    Token(String),
    /// An nkey seed file (signs the hub's nonce).
    NkeySeedFile(PathBuf),
    /// A `.creds` file: a user JWT plus its nkey seed.
    CredsFile(PathBuf),
}

/// `[uplink.tls]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UplinkTls {
    /// CA certificates to verify the hub with (PEM); system roots if unset.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM), with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM), with `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Name to verify the hub's certificate against, if not the URL's host.
    pub server_name: Option<String>,
}

/// One `[[uplink.forward]]` entry: a local stream replayed into the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The local stream.
    pub stream: String,
    /// Prepended (with a dot) to each message's subject at the hub, if set.
    pub subject_prefix: Option<String>,
}

/// The uplink's settings. Without `urls` there is no uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkConfig {
    /// Hub URLs (`nats-leaf://`, `nats://` or `tls://`, `HOST[:PORT]`), tried in rotation.
    pub urls: Vec<String>,
    /// This node's name at the hub (and in forwarded message ids); the server name if unset.
    pub name: Option<String>,
    /// Credentials.
    pub auth: UplinkAuth,
    /// TLS, if `[uplink.tls]` is present (or a URL is `tls://`).
    pub tls: Option<UplinkTls>,
    /// First reconnect delay; doubles (with jitter) up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
    /// PINGs to the hub this often.
    pub ping_interval: Duration,
    /// Streams forwarded to the hub.
    pub forward: Vec<Forward>,
}

impl Default for UplinkConfig {
    fn default() -> UplinkConfig {
        UplinkConfig {
            urls: Vec::new(),
            name: None,
            auth: UplinkAuth::None,
            tls: None,
            reconnect_min: Duration::from_millis(250),
            reconnect_max: Duration::from_secs(30),
            ping_interval: Duration::from_secs(20),
            forward: Vec::new(),
        }
    }
}

/// `[uplink]` as written in a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UplinkLayer {
    #[serde(default)]
    urls: Vec<String>,
    name: Option<String>,
    user: Option<String>,
    password: Option<String>,
    token: Option<String>,
    nkey_seed_file: Option<PathBuf>,
    creds_file: Option<PathBuf>,
    tls: Option<TlsLayer>,
    reconnect_min: Option<Dur>,
    reconnect_max: Option<Dur>,
    ping_interval: Option<Dur>,
    #[serde(default)]
    forward: Vec<ForwardLayer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsLayer {
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    server_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardLayer {
    stream: String,
    subject_prefix: Option<String>,
}

impl UplinkLayer {
    /// The file's `[uplink]` replaces the default as a whole.
    pub(crate) fn into_config(self) -> Result<UplinkConfig, ConfigError> {
        let auth = match (
            self.user,
            self.password,
            self.token,
            self.nkey_seed_file,
            self.creds_file,
        ) {
            (None, None, None, None, None) => UplinkAuth::None,
            (Some(user), Some(password), None, None, None) => {
                UplinkAuth::UserPassword { user, password }
            }
            (Some(_), None, None, None, None) => {
                return Err(ConfigError::invalid("uplink.password", "user needs a password"))
            }
            (None, Some(_), None, None, None) => {
                return Err(ConfigError::invalid("uplink.user", "password needs a user"))
            }
            (None, None, Some(t), None, None) => UplinkAuth::Token(t),
            (None, None, None, Some(f), None) => UplinkAuth::NkeySeedFile(f),
            (None, None, None, None, Some(f)) => UplinkAuth::CredsFile(f),
            _ => {
                return Err(ConfigError::invalid(
                    "uplink",
                    "give one kind of credentials: user and password, token, nkey_seed_file or creds_file",
                ))
            }
        };
        let d = UplinkConfig::default();
        Ok(UplinkConfig {
            urls: self.urls,
            name: self.name,
            auth,
            tls: self.tls.map(|t| UplinkTls {
                ca_file: t.ca_file,
                cert_file: t.cert_file,
                key_file: t.key_file,
                server_name: t.server_name,
            }),
            reconnect_min: self.reconnect_min.map_or(d.reconnect_min, |x| x.0),
            reconnect_max: self.reconnect_max.map_or(d.reconnect_max, |x| x.0),
            ping_interval: self.ping_interval.map_or(d.ping_interval, |x| x.0),
            forward: self
                .forward
                .into_iter()
                .map(|f| Forward {
                    stream: f.stream,
                    subject_prefix: f.subject_prefix,
                })
                .collect(),
        })
    }
}

/// Splits a hub URL into scheme, host and port (default [`DEFAULT_LEAF_PORT`]).
///
/// # Errors
/// The scheme is not `nats-leaf`, `nats` or `tls`, the host is empty, or the port is not a
/// number from 1 to 65535.
pub fn parse_hub_url(url: &str) -> Result<(&str, &str, u16), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} needs a scheme: nats-leaf://HOST[:PORT]"))?;
    if !matches!(scheme, "nats-leaf" | "nats" | "tls") {
        return Err(format!(
            "{url:?}: scheme must be nats-leaf, nats or tls (got {scheme:?})"
        ));
    }
    let hostport = rest.trim_end_matches('/');
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') || h.starts_with('[') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("{url:?}: bad port {p:?}"))?;
            (h, port)
        }
        _ => (hostport, DEFAULT_LEAF_PORT),
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("{url:?}: missing or bad host"));
    }
    Ok((scheme, host, port))
}

/// Checks the uplink settings (files are not opened here).
pub(crate) fn check(u: &UplinkConfig) -> Result<(), ConfigError> {
    for url in &u.urls {
        parse_hub_url(url).map_err(|m| ConfigError::invalid("uplink.urls", m))?;
    }
    if u.urls.is_empty() && (!u.forward.is_empty() || u.auth != UplinkAuth::None) {
        return Err(ConfigError::invalid(
            "uplink.urls",
            "an [uplink] with credentials or forwarded streams needs at least one hub URL",
        ));
    }
    if let Some(name) = &u.name {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '.') {
            return Err(ConfigError::invalid(
                "uplink.name",
                format!("must be non-empty, without spaces or dots (got {name:?})"),
            ));
        }
    }
    if let Some(tls) = &u.tls {
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(ConfigError::invalid(
                "uplink.tls",
                "cert_file and key_file go together",
            ));
        }
    }
    if u.reconnect_min.is_zero() || u.reconnect_min > u.reconnect_max {
        return Err(ConfigError::invalid(
            "uplink.reconnect_min",
            "must be above 0 and at most reconnect_max",
        ));
    }
    if u.reconnect_max > Duration::from_secs(3600) {
        return Err(ConfigError::invalid("uplink.reconnect_max", "at most 1h"));
    }
    if u.ping_interval < Duration::from_secs(1) || u.ping_interval > Duration::from_secs(600) {
        return Err(ConfigError::invalid(
            "uplink.ping_interval",
            "must be between 1s and 10m",
        ));
    }
    let mut seen = BTreeSet::new();
    for f in &u.forward {
        if !crate::jetstream::api::is_valid_name(&f.stream) {
            return Err(ConfigError::invalid(
                "uplink.forward.stream",
                format!("{:?} is not a valid stream name", f.stream),
            ));
        }
        if !seen.insert(f.stream.as_str()) {
            return Err(ConfigError::invalid(
                "uplink.forward.stream",
                format!("{:?} is forwarded twice", f.stream),
            ));
        }
        if let Some(p) = &f.subject_prefix {
            if !crate::subject::is_valid_literal(p.as_bytes()) {
                return Err(ConfigError::invalid(
                    "uplink.forward.subject_prefix",
                    format!("{p:?} must be a subject without wildcards"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls() {
        assert_eq!(
            parse_hub_url("nats-leaf://hub.example:7422"),
            Ok(("nats-leaf", "hub.example", 7422))
        );
        assert_eq!(
            parse_hub_url("tls://10.0.0.1"),
            Ok(("tls", "10.0.0.1", 7422))
        );
        assert_eq!(
            parse_hub_url("nats://u:p@hub:17422/"),
            Ok(("nats", "hub", 17422))
        );
        assert_eq!(
            parse_hub_url("nats://[::1]:7422"),
            Ok(("nats", "[::1]", 7422))
        );
        assert!(parse_hub_url("hub:7422").is_err());
        assert!(parse_hub_url("http://hub").is_err());
        assert!(parse_hub_url("nats://hub:0").is_err());
        assert!(parse_hub_url("nats://:7422").is_err());
    }

    fn layer(toml_text: &str) -> Result<UplinkConfig, ConfigError> {
        let l: UplinkLayer = toml::from_str(toml_text).expect("valid TOML");
        let c = l.into_config()?;
        check(&c)?;
        Ok(c)
    }

    #[test]
    fn keys_and_rules() {
        let c = layer(
            r#"urls = ["nats-leaf://a:7422", "tls://b"]
name = "gw1"
user = "leaf"
password = "secret"
reconnect_max = "1m"
[tls]
ca_file = "/etc/leafd/ca.pem"
[[forward]]
stream = "SENSORS"
subject_prefix = "site1"
[[forward]]
stream = "EVENTS""#,
        )
        .expect("valid uplink");
        assert_eq!(c.urls.len(), 2);
        assert_eq!(
            c.auth,
            UplinkAuth::UserPassword {
                user: "leaf".into(),
                password: "secret".into()
            }
        );
        assert_eq!(c.forward[0].subject_prefix.as_deref(), Some("site1"));
        assert_eq!(c.reconnect_max, Duration::from_secs(60));
        let bad = |t: &str| layer(t).expect_err(t).to_string();
        assert!(
            bad("urls = [\"nats://a\"]\ntoken = \"t\"\nuser = \"u\"\npassword = \"p\"")
                .contains("one kind")
        );
        assert!(bad("urls = [\"nats://a\"]\nuser = \"u\"").contains("needs a password"));
        assert!(bad("[[forward]]\nstream = \"S\"").contains("hub URL"));
        assert!(bad("urls = [\"ftp://a\"]").contains("scheme"));
        assert!(bad(
            "urls = [\"nats://a\"]\n[[forward]]\nstream = \"S\"\n[[forward]]\nstream = \"S\""
        )
        .contains("twice"));
        assert!(bad(
            "urls = [\"nats://a\"]\n[[forward]]\nstream = \"S\"\nsubject_prefix = \"a.*\""
        )
        .contains("wildcards"));
        assert!(bad("urls = [\"nats://a\"]\n[tls]\ncert_file = \"c\"").contains("together"));
        assert!(bad("urls = [\"nats://a\"]\nreconnect_min = \"2m\"").contains("reconnect_max"));
    }
}
