//! systemd readiness notification: the sd_notify(3) datagram protocol, without libsystemd.
//!
//! Under `Type=notify` systemd passes a Unix datagram socket in `NOTIFY_SOCKET` (a path, or
//! an abstract name written with a leading `@`) and waits for `READY=1` before it counts the
//! service as started; `STOPPING=1` tells it a shutdown has begun. Without `NOTIFY_SOCKET`
//! (not under systemd, or another `Type=`) every call here does nothing.
//!
//! Owns: reading `NOTIFY_SOCKET` and sending one datagram per state change.
//! Must not: fail the broker: a notification that cannot be sent is logged once and dropped
//! (systemd then times the start out, which is the right outcome for a broken socket).
//! Hands off to: nothing; `server::run` calls [`ready`] once the client listener is
//! registered and the store is open, and [`stopping`] when a graceful shutdown starts.

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::UnixDatagram;

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Tells systemd the broker is serving; `status` goes into `systemctl status` (`STATUS=`).
pub fn ready(status: &str) {
    send_logged(&format!("READY=1\nSTATUS={}", one_line(status)));
}

/// Tells systemd a graceful shutdown has begun.
pub fn stopping() {
    send_logged("STOPPING=1");
}

/// Sends `state` to `NOTIFY_SOCKET` if it is set; a failure is logged, not returned.
fn send_logged(state: &str) {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET) else {
        return;
    };
    match send(&socket, state) {
        Ok(()) => log::debug!("sd_notify: sent {:?}", state.replace('\n', " ")),
        Err(e) => log::warn!("sd_notify: cannot notify {}: {e}", socket.to_string_lossy()),
    }
}

/// Sends one `state` datagram (`KEY=VALUE` lines) to the socket named `socket`: a
/// filesystem path, or an abstract name when it starts with `@`.
///
/// # Errors
/// The socket name is empty or not absolute, an abstract name is used on a platform
/// without abstract sockets, or the send fails (no listener, permissions, ...).
pub fn send(socket: &OsStr, state: &str) -> io::Result<()> {
    let bytes = socket.as_encoded_bytes();
    let sock = UnixDatagram::unbound()?;
    let sent = match bytes.first() {
        Some(b'@') => send_abstract(&sock, &bytes[1..], state.as_bytes())?,
        Some(b'/') => sock.send_to(state.as_bytes(), socket)?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET must be an absolute path or start with '@'",
            ))
        }
    };
    if sent == state.len() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::WriteZero, "short datagram"))
    }
}

/// Abstract socket names exist on Linux and Android only.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(sock: &UnixDatagram, name: &[u8], msg: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt as _;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt as _;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sock.send_to_addr(msg, &addr)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &[u8]) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets ('@' names) need Linux",
    ))
}

/// `STATUS=` is one line: newlines would start new `KEY=VALUE` assignments.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receive(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_ready_and_stopping_to_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), "READY=1\nSTATUS=serving").unwrap();
        assert_eq!(receive(&listener), "READY=1\nSTATUS=serving");
        send(path.as_os_str(), "STOPPING=1").unwrap();
        assert_eq!(receive(&listener), "STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt as _;
        use std::os::unix::net::SocketAddr;
        let name = format!(
            "leafd-notify-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        );
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        send(OsStr::new(&format!("@{name}")), "READY=1").unwrap();
        assert_eq!(receive(&listener), "READY=1");
    }

    #[test]
    fn refuses_relative_and_empty_names() {
        for bad in ["", "notify", "./notify"] {
            let err = send(OsStr::new(bad), "READY=1").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_listener_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nobody");
        assert!(send(path.as_os_str(), "READY=1").is_err());
    }

    #[test]
    fn status_stays_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
