//! TLS for the hub link: the rustls client configuration from `[uplink.tls]` and the
//! handshake that follows the hub's plaintext INFO (nats-server's default for leafnodes).
//!
//! Owns: reading the CA bundle (`ca_file`, else the system bundle), the client certificate
//! and key for mutual TLS, the name the hub's certificate is verified against, and the
//! handshake timeout. Files are read at every connection attempt, so renewed certificates
//! are picked up at the next one. Errors name the file or the hub and never contain keys.
//! Hands off to: `link/uplink.rs`, which runs the link over the returned stream.

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use smol::{Async, Timer};

use crate::config::UplinkTls;

/// Where Debian (and Raspberry Pi OS) keep the system's CA bundle.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The certificates of a PEM file.
pub(super) fn certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what} {} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{what} {} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// The rustls client configuration for `tls` (default: verify against the system bundle,
/// no client certificate).
///
/// # Errors
/// A file cannot be read or holds no usable certificate or key.
pub(crate) fn client_config(tls: &UplinkTls) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let (bundle, what) = match &tls.ca_file {
        Some(f) => (f.as_path(), "uplink.tls.ca_file"),
        None => (Path::new(SYSTEM_BUNDLE), "the system CA bundle"),
    };
    let (added, _ignored) = roots.add_parsable_certificates(certs(bundle, what)?);
    if added == 0 {
        return Err(format!(
            "{what} {} holds no usable CA certificate",
            bundle.display()
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots);
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let chain = certs(cert, "uplink.tls.cert_file")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                format!(
                    "cannot read a private key from uplink.tls.key_file {}: {e}",
                    key.display()
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!("uplink.tls.cert_file and key_file do not make a client certificate: {e}")
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Runs the TLS handshake on `stream` (right after the hub's INFO), verifying the hub's
/// certificate against `name`, within `timeout`.
///
/// # Errors
/// The name is not a valid DNS name or IP address, the handshake fails (the text says why,
/// e.g. an unknown issuer), or it does not finish in time.
pub(crate) async fn handshake(
    stream: Async<TcpStream>,
    config: Arc<ClientConfig>,
    name: &str,
    timeout: Duration,
) -> Result<TlsStream<Async<TcpStream>>, String> {
    let server = ServerName::try_from(name.to_owned())
        .map_err(|_| format!("{name:?} is not a valid TLS server name"))?;
    let connector = TlsConnector::from(config);
    let done = future::or(
        async { Some(connector.connect(server, stream).await) },
        async {
            Timer::after(timeout).await;
            None
        },
    )
    .await;
    match done {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(format!("TLS handshake failed: {e}")),
        None => Err(format!("TLS handshake did not finish within {timeout:?}")),
    }
}
