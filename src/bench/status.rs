//! `leafd status`: asks a running leafd for its uplink status over the client port (the
//! `$SYS.REQ.LEAFD.UPLINK` request) and returns the JSON, pretty-printed.
//!
//! Owns: that one request. It lives beside the bench because it uses the bench's small
//! blocking NATS client. Must not: know the status fields (the router defines them).

use std::io;
use std::thread;
use std::time::Duration;

use super::conn::Conn;

/// How long to wait for the answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The uplink status of the leafd listening on `addr` (`HOST:PORT`).
///
/// # Errors
/// The server cannot be reached, does not answer within 5 s (it may not be leafd), or the
/// answer is not JSON.
pub fn uplink_status(addr: &str) -> io::Result<String> {
    let mut conn = Conn::connect(addr, "leafd-status")?;
    let inbox = format!("_INBOX.status{:08x}", fastrand::u32(..));
    conn.sub(&inbox, None, 1);
    conn.publish(b"$SYS.REQ.LEAFD.UPLINK", Some(inbox.as_bytes()), b"");
    conn.flush()?;
    let socket = conn.shutdown_handle()?;
    let watchdog = thread::spawn(move || {
        thread::park_timeout(TIMEOUT);
        let _ = socket.shutdown(std::net::Shutdown::Both);
    });
    let mut answer = None;
    let got = conn.receive(1, &mut |r| answer = Some(r.payload.clone()));
    watchdog.thread().unpark();
    let _ = watchdog.join();
    let answer = match (got, answer) {
        (Ok(()), Some(a)) => a,
        _ => {
            return Err(io::Error::other(format!(
                "{addr} did not answer the status request within {TIMEOUT:?} (is it leafd?)"
            )))
        }
    };
    if answer.is_empty() {
        return Err(io::Error::other(format!(
            "{addr} has no responder for the status request (is it leafd?)"
        )));
    }
    let json: serde_json::Value = serde_json::from_slice(&answer)
        .map_err(|e| io::Error::other(format!("{addr}: the status answer is not JSON: {e}")))?;
    serde_json::to_string_pretty(&json).map_err(io::Error::other)
}
