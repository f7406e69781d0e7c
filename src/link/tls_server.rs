//! TLS on the client port (`[tls]`): the rustls server configuration, read once at startup,
//! and the per-connection start of TLS the way nats-server does it: INFO in plaintext with
//! `tls_required`, then the client's handshake (or, with `handshake_first`, the handshake
//! before INFO), all within `[tls] timeout`.
//!
//! Owns: reading the certificate chain, key and client CA files (errors name the file and
//! never contain key material), the current `Arc<ServerConfig>` (one place, so a reload
//! could swap it: connections take the config current when they start), and the handshake
//! with its timeout. A client that does not start TLS, fails the handshake or runs out of
//! time is closed without an `-ERR`, as nats-server closes it.
//! Must not: parse NATS ops (that starts once TLS is up). Hands off to: `link/client.rs`,
//! which runs the connection over the returned stream.

use std::cell::RefCell;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::task::Poll;

use futures_lite::future;
use futures_rustls::server::TlsStream;
use futures_rustls::TlsAcceptor;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::PrivateKeyDer;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use smol::{Async, Timer};

use crate::config::TlsConfig;
use crate::router::{ClientId, CloseReason, Output, Router};

use super::conn::write_with_deadline;
use super::tls::certs;

/// The client port's TLS: settings plus the rustls configuration built from their files.
#[derive(Debug)]
pub(crate) struct ClientTls {
    settings: TlsConfig,
    /// Swapped as a whole by [`ClientTls::replace`]; each handshake clones the `Arc`.
    config: RefCell<Arc<ServerConfig>>,
}

impl ClientTls {
    /// Reads the files `settings` names and builds the server configuration.
    ///
    /// # Errors
    /// A file cannot be read or holds no usable certificate, key or CA; the key does not
    /// match the certificate. The text names the key and the file.
    pub(crate) fn load(settings: &TlsConfig) -> Result<ClientTls, String> {
        Ok(ClientTls {
            config: RefCell::new(server_config(settings)?),
            settings: settings.clone(),
        })
    }

    /// Reads the files `settings` names and builds a server configuration for
    /// [`ClientTls::replace`] (a reload: nothing changes if this fails).
    ///
    /// # Errors
    /// As [`ClientTls::load`].
    pub(crate) fn build(settings: &TlsConfig) -> Result<Arc<ServerConfig>, String> {
        server_config(settings)
    }

    /// Puts a new configuration in place for connections that start from now on (for a
    /// reload; connections already up keep theirs). Its verify setting must be the one
    /// this was loaded with: INFO and the handshake order follow that.
    pub(crate) fn replace(&self, config: Arc<ServerConfig>) {
        *self.config.borrow_mut() = config;
    }
}

/// The rustls server configuration for `tls`.
fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, String> {
    let chain = certs(&tls.cert_file, "tls.cert_file")?;
    let key = private_key(&tls.key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match (&tls.ca_file, tls.verify) {
        (Some(ca), true) => {
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(certs(ca, "tls.ca_file")?);
            if added == 0 {
                return Err(format!(
                    "tls.ca_file {} holds no usable CA certificate",
                    ca.display()
                ));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("tls.ca_file {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        // Without verify nats-server does not ask for client certificates either.
        _ => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "tls.cert_file {} and tls.key_file {} do not make a server certificate: {e}",
            tls.cert_file.display(),
            tls.key_file.display()
        )
    })?;
    Ok(Arc::new(config))
}

/// The private key in a PEM file. Parse errors are described, not quoted: their text
/// could hold bytes of the key.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        let why = match e {
            pem::Error::Io(e) => format!("cannot be read: {e}"),
            pem::Error::NoItemsFound => "holds no PEM private key".to_owned(),
            _ => "is not a valid PEM private key".to_owned(),
        };
        format!("tls.key_file {} {why}", path.display())
    })
}

/// Starts TLS on a freshly accepted client connection `id` (registered, INFO queued):
/// writes INFO in plaintext unless `handshake_first`, then runs the handshake within the
/// timeout. On failure the connection is marked closing and the reason returned; the
/// socket closes when `stream` drops.
///
/// # Errors
/// The connection was closed first (e.g. max connections), a write failed, or the
/// handshake failed or timed out ([`CloseReason::TlsHandshake`]).
pub(crate) async fn start(
    stream: Async<TcpStream>,
    id: ClientId,
    router: &RefCell<Router>,
    tls: &ClientTls,
) -> Result<TlsStream<Async<TcpStream>>, CloseReason> {
    if !tls.settings.handshake_first {
        write_queued(&stream, id, router).await?;
    }
    if let Some(reason) = router.borrow().closing(id) {
        return Err(reason);
    }
    let acceptor = TlsAcceptor::from(tls.config.borrow().clone());
    let timeout = tls.settings.timeout;
    let done = future::or(async { Some(acceptor.accept(stream).await) }, async {
        future::or(
            async {
                Timer::after(timeout).await;
            },
            async {
                future::poll_fn(|cx| router.borrow_mut().poll_closing(id, cx)).await;
            },
        )
        .await;
        None
    })
    .await;
    let label = || router.borrow().label(id);
    let failed = match done {
        Some(Ok(s)) => {
            if tls.settings.verify_and_map {
                // rustls verified the chain; the first certificate is the client's own.
                let cert = s.get_ref().1.peer_certificates().and_then(|c| c.first());
                if let Some(identity) = cert.and_then(|c| super::x509::identity(c)) {
                    router.borrow_mut().set_client_cert(id, identity);
                }
            }
            return Ok(s);
        }
        Some(Err(e)) => {
            // A plaintext client or a port probe sends no TLS record: nats-server logs those
            // at debug; a real handshake failure (a bad certificate) at error.
            if is_probe(&e) {
                log::debug!("{}: TLS handshake error: {e}", label());
            } else {
                log::warn!("{}: TLS handshake error: {e}", label());
            }
            CloseReason::TlsHandshake
        }
        None => match router.borrow().closing(id) {
            Some(reason) => return Err(reason),
            None => {
                log::debug!("{}: TLS handshake timeout after {timeout:?}", label());
                CloseReason::TlsHandshake
            }
        },
    };
    router.borrow_mut().close(id, failed);
    Err(failed)
}

/// Whether a handshake error is the peer not speaking TLS at all, or leaving before it
/// said anything (a port check, a health probe).
fn is_probe(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionReset, UnexpectedEof};
    matches!(e.kind(), UnexpectedEof | ConnectionReset)
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_)))
}

/// Writes what the router queued for `id` (its INFO, and an `-ERR` if it is already
/// closing) straight to the socket, before TLS starts.
async fn write_queued(
    stream: &Async<TcpStream>,
    id: ClientId,
    router: &RefCell<Router>,
) -> Result<(), CloseReason> {
    let deadline = router.borrow().limits().write_deadline;
    let mut out = Vec::new();
    let next = future::poll_fn(
        |cx| match router.borrow_mut().poll_output(id, &mut out, cx) {
            Poll::Ready(o) => Poll::Ready(Some(o)),
            Poll::Pending => Poll::Ready(None),
        },
    )
    .await;
    if let Some(Output::Write) = next {
        let mut writer = stream;
        if let Err(reason) = write_with_deadline(&mut writer, &out, deadline).await {
            router.borrow_mut().close(id, reason);
            return Err(reason);
        }
        router.borrow_mut().write_done(id);
    }
    Ok(())
}
