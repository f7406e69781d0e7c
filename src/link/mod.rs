//! The only code that touches sockets and timers.
//!
//! Owns: client connections ([`client`]) and the uplink's hub connection ([`uplink`]), with
//! the reading, writing and back-pressure stalls they share ([`conn`]). Hands off to: the
//! protocol parser (bytes → ops) and the router (ops → state).

pub(crate) mod client;
pub(crate) mod conn;
pub(crate) mod tls;
pub(crate) mod uplink;
