//! The leaf-node uplink to a hub cluster (issue 4). So far only the pure handshake layer
//! exists: nothing here opens a connection yet.
//!
//! Owns: what leafd says to a hub and reads from it as a leaf node. Must not: touch sockets
//! (that will be `link/`). Hands off to: the uplink link task, once it exists.
//!
//! | file | holds |
//! |---|---|
//! | [`handshake`] | the hub's INFO on the leaf port, and the leaf CONNECT (PROTOCOL.md §2.2-2.3) |

pub mod handshake;

pub use handshake::{HubInfo, LeafConnect, LeafCredentials};
