//! Run leafd inside your own program: `cargo run --example embedded_broker`
//!
//! Binds an ephemeral loopback port, serves NATS clients there for ten seconds (or until
//! Ctrl-C... here simply a timer), then shuts down gracefully. Everything a gateway
//! application needs is `server::run` with a listener it bound and a shutdown future.

use std::net::TcpListener;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("embedded leafd on nats://{}", listener.local_addr()?);
    let config = leafd::config::Config::default();
    let shutdown = async {
        smol::Timer::after(Duration::from_secs(10)).await;
    };
    leafd::server::run(listener, config, shutdown)?;
    println!("stopped");
    Ok(())
}
