//! The only code that touches sockets and timers.
//!
//! Owns: client connections ([`client`]): reading, writing, keepalive, back-pressure
//! stalls. Hands off to: the protocol parser (bytes → ops) and the router (ops → state).

pub(crate) mod client;
