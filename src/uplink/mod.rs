//! The leaf-node uplink to a hub cluster (issue 4): what leafd says to a hub, the hub's
//! interest as leafd keeps it, and store-and-forward for each forwarded stream. No network
//! I/O; only [`creds`] reads files (the seed or `.creds` file, at each connection attempt).
//!
//! Owns: the leafnode protocol's JSON and state machines. Must not: touch sockets (that is
//! `link/uplink.rs`) or broker state (that is `router/uplink.rs` and `router/forward.rs`).
//!
//! | file | holds |
//! |---|---|
//! | [`creds`] | hub credentials for the CONNECT: seed and `.creds` files read, the nonce signed |
//! | [`handshake`] | the hub's INFO on the leaf port, and the leaf CONNECT (PROTOCOL.md §2.2-2.3) |
//! | [`nkey`] | user nkey seeds: decode, public key, ed25519 signature (ring) |
//! | [`interest`] | the hub's `LS+`/`LS-` interest as a bounded sublist |
//! | [`forward`] | one forwarded stream: cursor, window, PubAcks, what the hub already holds |

pub mod creds;
pub mod forward;
pub mod handshake;
pub mod interest;

pub use forward::{ForwardStatus, Forwarder, Frame, Records, ReplyTo};
pub use handshake::{HubInfo, LeafConnect, LeafCredentials};
pub use interest::{HubInterest, HubKey};
