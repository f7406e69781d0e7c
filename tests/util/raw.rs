//! `RawConn`: a hand-driven client connection for byte-exact protocol assertions.
//!
//! Every read has a deadline ([`super::timeout`]), so a broker that stays silent fails the test
//! with the bytes seen so far instead of hanging. Mismatches print both sides with
//! `escape_ascii`, plus a transcript of everything received on the connection.
//!
//! Asynchronous `INFO` lines (nats-server sends a second INFO after the first PONG; a broker may
//! send more at any time and clients must tolerate them) are skipped by every reader except
//! [`RawConn::next_line_raw`] and [`RawConn::expect_line_raw`], which tests about INFO and the
//! handshake use.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;

use super::{timeout, Broker};

/// The CONNECT a well-behaved modern client sends (captures 01, 02).
pub const CONNECT_STD: &str = r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":true,"no_responders":true,"name":"raw"}"#;

/// Shows bytes the way the captures in `shared/protocol-captures` do.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 2000;
    if bytes.len() > MAX {
        format!(
            "…({} bytes before)…{}",
            bytes.len() - MAX,
            bytes[bytes.len() - MAX..].escape_ascii()
        )
    } else {
        bytes.escape_ascii().to_string()
    }
}

/// Panics with a readable diff when `got != expected`.
pub fn assert_bytes_eq(got: &[u8], expected: &[u8], what: &str) {
    if got == expected {
        return;
    }
    let at = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    panic!(
        "{what}: bytes differ at offset {at}\n  expected: {}\n  got:      {}",
        show(expected),
        show(got)
    );
}

/// A raw NATS client connection over a blocking std socket.
#[derive(Debug)]
pub struct RawConn {
    stream: TcpStream,
    /// Received, not yet consumed.
    buf: Vec<u8>,
    /// Everything received so far, for failure messages.
    transcript: Vec<u8>,
    /// The first INFO's JSON.
    pub info: serde_json::Value,
    /// The first INFO line exactly as sent (with its CRLF).
    pub info_line: Vec<u8>,
}

/// What a single read produced.
enum Got {
    Data,
    Closed,
    TimedOut,
}

impl RawConn {
    /// Opens a TCP connection and reads the server's INFO line; sends nothing.
    pub fn open(broker: &Broker) -> RawConn {
        let stream = TcpStream::connect(broker.addr()).expect("connect to broker");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        stream
            .set_read_timeout(Some(timeout()))
            .expect("set read timeout");
        let mut conn = RawConn {
            stream,
            buf: Vec::new(),
            transcript: Vec::new(),
            info: serde_json::Value::Null,
            info_line: Vec::new(),
        };
        let line = conn.next_line_raw();
        assert!(
            line.starts_with(b"INFO {"),
            "the first line from the server must be INFO, got: {}",
            show(&line)
        );
        let json = std::str::from_utf8(&line[5..])
            .expect("INFO is UTF-8")
            .trim();
        conn.info = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("INFO JSON does not parse ({e}): {}", show(&line)));
        conn.info_line = line;
        conn
    }

    /// Opens, sends `CONNECT <json>` and a PING, and waits for the PONG.
    pub fn connect(broker: &Broker, connect_json: &str) -> RawConn {
        let mut conn = RawConn::open(broker);
        conn.send(format!("CONNECT {connect_json}\r\nPING\r\n").as_bytes());
        conn.expect_line(b"PONG\r\n");
        conn
    }

    /// [`RawConn::connect`] as `user` with `pass` (otherwise [`CONNECT_STD`]'s options).
    pub fn login(broker: &Broker, user: &str, pass: &str) -> RawConn {
        let json = serde_json::json!({
            "verbose": false, "pedantic": false, "protocol": 1, "headers": true,
            "no_responders": true, "user": user, "pass": pass,
        });
        RawConn::connect(broker, &json.to_string())
    }

    /// [`RawConn::connect`] with [`CONNECT_STD`].
    pub fn client(broker: &Broker) -> RawConn {
        RawConn::connect(broker, CONNECT_STD)
    }

    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
        {
            panic!(
                "sending {} failed: {e}\n  received so far: {}",
                show(bytes),
                show(&self.transcript)
            );
        }
    }

    /// Sends `PING` and expects `PONG` as the next non-INFO line: proves the connection is
    /// open and that nothing else was queued before the PONG.
    pub fn ping_pong(&mut self) {
        self.send(b"PING\r\n");
        self.expect_line(b"PONG\r\n");
    }

    fn fill(&mut self) -> Got {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Got::Closed,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.transcript.extend_from_slice(&chunk[..n]);
                    return Got::Data;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Got::TimedOut
                }
                // A close with unread input makes the kernel send RST: still "closed".
                Err(_) => return Got::Closed,
            }
        }
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "{why}\n  unconsumed: {}\n  received on this connection: {}",
            show(&self.buf),
            show(&self.transcript)
        );
    }

    /// The next line (through its `\n`), INFO lines included.
    pub fn next_line_raw(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return self.buf.drain(..=i).collect();
            }
            match self.fill() {
                Got::Data => {}
                Got::Closed => self.fail("connection closed while waiting for a line"),
                Got::TimedOut => self.fail(&format!("no complete line within {:?}", timeout())),
            }
        }
    }

    /// The next line that is not an asynchronous `INFO`.
    pub fn next_line(&mut self) -> Vec<u8> {
        loop {
            let line = self.next_line_raw();
            if !line.starts_with(b"INFO ") {
                return line;
            }
        }
    }

    /// Asserts the next line, INFO lines included, is exactly `expected`.
    pub fn expect_line_raw(&mut self, expected: &[u8]) {
        let line = self.next_line_raw();
        assert_bytes_eq(&line, expected, "next line");
    }

    /// Asserts the next non-INFO line is exactly `expected`.
    pub fn expect_line(&mut self, expected: &[u8]) {
        let line = self.next_line();
        assert_bytes_eq(&line, expected, "next line");
    }

    /// Drops INFO lines at the front of the buffer (waiting only while the buffered bytes
    /// could still turn into `INFO `).
    fn skip_info_lines(&mut self) {
        loop {
            while self.buf.len() < 5 && b"INFO ".starts_with(&self.buf) {
                if !matches!(self.fill(), Got::Data) {
                    return;
                }
            }
            if !self.buf.starts_with(b"INFO ") {
                return;
            }
            self.next_line_raw();
        }
    }

    /// Asserts the next `expected.len()` bytes (INFO lines between lines skipped) are exactly
    /// `expected`. Use it for whole frames: `MSG` lines with their payload, several replies.
    pub fn expect(&mut self, expected: &[u8]) {
        let mut got = Vec::with_capacity(expected.len());
        while got.len() < expected.len() {
            if got.is_empty() || got.ends_with(b"\n") {
                self.skip_info_lines();
            }
            if self.buf.is_empty() {
                match self.fill() {
                    Got::Data => continue,
                    Got::Closed => {
                        assert_bytes_eq(&got, expected, "connection closed early; received")
                    }
                    Got::TimedOut => assert_bytes_eq(
                        &got,
                        expected,
                        &format!("nothing more within {:?}; received", timeout()),
                    ),
                }
                unreachable!("a short read never equals the expected bytes");
            }
            let want = expected.len() - got.len();
            // Stop at a line end so INFO skipping stays aligned with line boundaries.
            let upto = match self.buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1).min(want),
                None => self.buf.len().min(want),
            };
            got.extend(self.buf.drain(..upto));
            if !expected.starts_with(&got) {
                // Show the rest of the offending line too.
                if !got.ends_with(b"\n") {
                    if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                        got.extend(self.buf.drain(..=i));
                    }
                }
                assert_bytes_eq(&got, expected, "received");
            }
        }
    }

    /// Reads until the server closes; returns every byte not yet consumed (INFO lines
    /// included). Panics if the connection is still open after the timeout.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        loop {
            match self.fill() {
                Got::Data => {}
                Got::Closed => return std::mem::take(&mut self.buf),
                Got::TimedOut => self.fail(&format!(
                    "expected the server to close the connection; still open after {:?}",
                    timeout()
                )),
            }
        }
    }

    /// Asserts the server closes the connection without sending anything more (async INFO
    /// lines aside).
    pub fn expect_closed(&mut self) {
        let rest = self.read_until_closed();
        let mut rest: &[u8] = &rest;
        while rest.starts_with(b"INFO ") {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => rest = &rest[i + 1..],
                None => break,
            }
        }
        assert_bytes_eq(rest, b"", "bytes before the close");
    }

    /// `expect(bytes)` then `expect_closed()`.
    pub fn expect_then_closed(&mut self, expected: &[u8]) {
        self.expect(expected);
        self.expect_closed();
    }
}
