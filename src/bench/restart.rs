//! The two halves of the restart measurement (`tests/bench.sh --restart`): how long a
//! server takes, after kill -9, to serve again a stream holding many messages.
//!
//! Owns: `fill` (a fresh file stream `BENCHRESTART` with `msgs` acked 128-byte publishes,
//! kept) and `wait_served` (connect as soon as the port accepts, then ask `STREAM.INFO`
//! until the stream answers with all `msgs` messages). Must not: kill or start servers;
//! `tests/bench.sh` does that between the two calls and times the second from the start.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use super::js::Js;

/// The stream both halves use.
pub const STREAM: &str = "BENCHRESTART";
/// Payload size of the stored messages.
const SIZE: usize = 128;
/// How long a server may take to serve the stream again.
const DEADLINE: Duration = Duration::from_secs(120);
/// Pause between attempts while the server is not listening or not yet serving.
const RETRY: Duration = Duration::from_millis(2);

/// Stores `msgs` acked 128-byte messages in a fresh `BENCHRESTART` stream on `addr`.
pub fn fill(addr: &str, msgs: u64) -> io::Result<()> {
    let mut js = Js::connect(addr)?;
    let subject = js.fresh_stream(STREAM, -1)?;
    js.publish_acked(&subject, SIZE, msgs)
}

/// Returns once `addr` serves `BENCHRESTART` with `msgs` messages: connection refused,
/// API errors (JetStream still starting) and short counts are retried for up to two minutes.
pub fn wait_served(addr: &str, msgs: u64) -> io::Result<()> {
    let start = Instant::now();
    let mut js: Option<Js> = None;
    let mut last = String::from("nothing yet");
    while start.elapsed() < DEADLINE {
        match js.as_mut() {
            None => match Js::connect(addr) {
                Ok(c) => {
                    js = Some(c);
                    continue;
                }
                Err(e) => last = format!("connect: {e}"),
            },
            Some(c) => match c.request(&format!("$JS.API.STREAM.INFO.{STREAM}"), "") {
                Ok(info) => {
                    let n = info["state"]["messages"].as_u64().unwrap_or(0);
                    if n == msgs {
                        return Ok(());
                    }
                    last = format!("the stream holds {n} of {msgs} messages");
                }
                Err(e) => {
                    // An API error (not serving yet) is asked again on this connection;
                    // anything else was the socket: connect again.
                    if e.kind() != io::ErrorKind::Other {
                        js = None;
                    }
                    last = e.to_string();
                }
            },
        }
        thread::sleep(RETRY);
    }
    Err(io::Error::other(format!(
        "{STREAM} not served with {msgs} messages within {DEADLINE:?}: {last}"
    )))
}
