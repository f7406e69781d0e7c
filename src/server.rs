//! `run`: wires the listener, the router and the connection tasks on one `LocalExecutor`.
//!
//! Owns: the executor, the accept loop and graceful shutdown.
//! Hands off to: `link` (one task set per connection) and `router` (the state they share).

use std::fmt;
use std::future::Future;
use std::net::TcpListener;

use crate::config::Config;

/// Why the server stopped with an error.
#[derive(Debug)]
pub enum ServerError {
    /// The listener could not be used.
    Listener(std::io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Listener(e) => write!(f, "client listener: {e}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// Serves NATS clients on `listener` until `shutdown` completes, then flushes and closes
/// every connection and returns.
///
/// The listener is bound by the caller, so tests can bind port 0.
///
/// # Errors
/// Fails only if the listener cannot be registered with the reactor.
pub fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), ServerError> {
    let _ = (listener, config, shutdown);
    todo!("server::run is being written")
}
