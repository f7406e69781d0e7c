//! The only code that touches sockets and timers.
//!
//! Owns: client connections ([`client`], with TLS on the client port in [`tls_server`]) and the uplink's hub connection ([`uplink`]), with
//! the reading, writing and back-pressure stalls they share ([`conn`]). Hands off to: the
//! protocol parser (bytes → ops) and the router (ops → state).

pub(crate) mod client;
pub(crate) mod conn;
pub(crate) mod tls;
pub(crate) mod tls_server;
pub(crate) mod uplink;
pub(crate) mod x509;
