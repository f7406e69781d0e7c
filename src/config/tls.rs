//! `[tls]`: TLS on the client port (issue 7's key names, so operators' configs stay stable):
//! the server certificate and key, client-certificate verification against a CA, TLS
//! before INFO, and the handshake timeout.
//!
//! Owns: the settings as plain data, their TOML layout, defaults and validation. Must not:
//! read the files the keys name (the server reads them once at startup, `link/tls_server.rs`)
//! or open sockets. Hands off to: `server.rs`, which builds the rustls configuration.
//!
//! `verify_and_map` (nats-server's name) verifies like `verify` and then names the
//! `[[auth.users]]` entry from the certificate; such users may leave out `password`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::units::Dur;
use super::ConfigError;

/// `[tls]`: clients must speak TLS on the client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM), leaf first.
    pub cert_file: PathBuf,
    /// The server's private key (PEM; PKCS#8, PKCS#1 or SEC1). Never logged.
    pub key_file: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to; needed by `verify`.
    pub ca_file: Option<PathBuf>,
    /// Require a client certificate signed by `ca_file` (mutual TLS; INFO `tls_verify`).
    /// True whenever `verify_and_map` is.
    pub verify: bool,
    /// Also find the `[[auth.users]]` entry from the certificate's e-mail or DNS names or
    /// its subject (nats-server's `verify_and_map`).
    pub verify_and_map: bool,
    /// Run the TLS handshake before INFO (nats-server `handshake_first`; clients must be
    /// set up for it, e.g. async-nats `tls_first()`, nats-py `tls_handshake_first=True`).
    pub handshake_first: bool,
    /// How long a client has to finish the handshake (nats-server's `timeout`: 2 s).
    pub timeout: Duration,
}

/// nats-server's `TLS_TIMEOUT`.
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(2);

/// `[tls]` as written in a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsLayer {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    verify_and_map: bool,
    #[serde(default)]
    handshake_first: bool,
    timeout: Option<Dur>,
}

impl TlsLayer {
    /// The file's `[tls]` replaces the default (no TLS) as a whole.
    pub(crate) fn into_config(self) -> Result<TlsConfig, ConfigError> {
        let (Some(cert_file), Some(key_file)) = (self.cert_file, self.key_file) else {
            return Err(ConfigError::invalid(
                "tls",
                "needs both cert_file and key_file",
            ));
        };
        Ok(TlsConfig {
            cert_file,
            key_file,
            ca_file: self.ca_file,
            verify: self.verify || self.verify_and_map,
            verify_and_map: self.verify_and_map,
            handshake_first: self.handshake_first,
            timeout: self.timeout.map_or(DEFAULT_TLS_TIMEOUT, |d| d.0),
        })
    }
}

/// Ranges and combinations.
pub(crate) fn check(tls: Option<&TlsConfig>) -> Result<(), ConfigError> {
    let Some(t) = tls else {
        return Ok(());
    };
    for (key, path) in [
        ("tls.cert_file", &t.cert_file),
        ("tls.key_file", &t.key_file),
    ] {
        if path.as_os_str().is_empty() {
            return Err(ConfigError::invalid(key, "must not be empty"));
        }
    }
    if t.verify && t.ca_file.is_none() {
        return Err(ConfigError::invalid(
            "tls.ca_file",
            "verify (and verify_and_map) needs the CA that signs client certificates",
        ));
    }
    if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&t.timeout) {
        return Err(ConfigError::invalid(
            "tls.timeout",
            format!("must be between 100ms and 1m (got {:?})", t.timeout),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Overrides};
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_sources(Some(("test.toml", text)), &Overrides::default())
    }

    #[test]
    fn tls_loads_with_defaults_and_round_trips() {
        let c = load(
            "[tls]\ncert_file = \"/etc/leafd/server.pem\"\nkey_file = \"/etc/leafd/server.key\"\n",
        )
        .expect("tls loads");
        let t = c.tls.clone().expect("tls set");
        assert_eq!(t.timeout, DEFAULT_TLS_TIMEOUT);
        assert!(!t.verify && !t.handshake_first && t.ca_file.is_none());
        let again = load(&c.to_toml()).expect("to_toml loads");
        assert_eq!(again.tls, c.tls);
        let c = load(
            "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nca_file = \"ca\"\nverify = true\n\
             handshake_first = true\ntimeout = \"500ms\"\n",
        )
        .expect("full tls loads");
        let t = c.tls.clone().expect("tls set");
        assert!(t.verify && t.handshake_first);
        assert_eq!(t.timeout, Duration::from_millis(500));
        assert_eq!(load(&c.to_toml()).expect("round trip").tls, c.tls);
        let c = load(
            "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nca_file = \"ca\"\nverify_and_map = true\n\
             [[auth.users]]\nuser = \"CN=alice,O=Acme\"\n[[auth.users]]\nuser = \"bob\"\npassword = \"pw\"\n",
        )
        .expect("mapped users without passwords load");
        let t = c.tls.clone().expect("tls set");
        assert!(t.verify && t.verify_and_map);
        assert_eq!(c.auth.users[0].password, "");
        assert_eq!(load(&c.to_toml()).expect("round trip").tls, c.tls);
    }

    #[test]
    fn tls_refuses_what_it_cannot_serve() {
        for (text, key) in [
            ("[tls]\ncert_file = \"c\"\n", "tls"),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nverify = true\n",
                "tls.ca_file",
            ),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nverify_and_map = true\n",
                "tls.ca_file",
            ),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nca_file = \"a\"\nverify = true\n\
                 [[auth.users]]\nuser = \"CN=x\"\n",
                "auth.users",
            ),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\ntimeout = \"5m\"\n",
                "tls.timeout",
            ),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nverfy = true\n",
                "tls",
            ),
        ] {
            let e = load(text).expect_err(text).to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }
}
