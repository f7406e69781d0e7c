//! A minimal blocking NATS client for the load generator: handshake, pipelined publishes,
//! subscriptions, and a reader that counts or returns MSGs. Built on leafd's own codec,
//! so one bench drives leafd and nats-server identically.
//!
//! Owns: one TCP connection and its read buffer. Must not: be used by the broker.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::protocol::{encode, Op, Parser, ParserLimits, Role};

/// Size of each read from the socket.
const READ_CHUNK: usize = 256 * 1024;

/// What the reader delivers for each MSG it parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// The subject the message came on.
    pub(crate) subject: Vec<u8>,
    /// Its reply subject, if any.
    pub(crate) reply: Option<Vec<u8>>,
    /// Payload length.
    pub(crate) len: usize,
    /// The payload (copied: only the latency and JetStream scenarios read it).
    pub(crate) payload: Vec<u8>,
    /// A status message (`NATS/1.0 4xx…` header block, no payload).
    pub(crate) status: bool,
}

/// One connection to a NATS server.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    parser: Parser,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    last_reply: Option<Vec<u8>>,
}

impl Conn {
    /// Connects to `addr` (`host:port`), reads INFO and completes CONNECT + PING/PONG.
    pub(crate) fn connect(addr: &str, name: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let limits = ParserLimits {
            max_control_line: 64 * 1024,
            max_payload: 64 << 20,
        };
        let mut conn = Conn {
            stream,
            parser: Parser::new(Role::Client, limits),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            out: Vec::with_capacity(64 * 1024),
            last_reply: None,
        };
        let connect = format!(
            r#"{{"verbose":false,"pedantic":false,"echo":true,"headers":true,"no_responders":true,"protocol":1,"name":"{name}","lang":"leafd-bench","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        );
        encode::connect(&mut conn.out, connect.as_bytes());
        conn.ping_pong()?;
        Ok(conn)
    }

    /// Queues a SUB.
    pub(crate) fn sub(&mut self, subject: &str, queue: Option<&str>, sid: u32) {
        let sid = sid.to_string();
        encode::sub(
            &mut self.out,
            subject.as_bytes(),
            queue.map(str::as_bytes),
            sid.as_bytes(),
        );
    }

    /// Queues a PUB.
    pub(crate) fn publish(&mut self, subject: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
        encode::publish(&mut self.out, subject, reply, None, payload);
    }

    /// Queues an HPUB.
    pub(crate) fn publish_with_headers(
        &mut self,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: &[u8],
        payload: &[u8],
    ) {
        encode::publish(&mut self.out, subject, reply, Some(headers), payload);
    }

    /// Writes everything queued.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// Writes pre-encoded bytes directly.
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends PING and waits for the PONG: every earlier command has then been processed.
    pub(crate) fn ping_pong(&mut self) -> io::Result<()> {
        encode::ping(&mut self.out);
        self.flush()?;
        let mut got_pong = false;
        while !got_pong {
            self.read_ops(&mut |op| {
                if op == Op::Pong {
                    got_pong = true;
                }
            })?;
        }
        Ok(())
    }

    /// Reads until `want` MSGs have arrived, answering server PINGs, handing each to `f`.
    /// The last message's reply subject is kept for [`Conn::last_reply`].
    pub(crate) fn receive(&mut self, want: u64, f: &mut dyn FnMut(&Received)) -> io::Result<()> {
        let mut got = 0;
        while got < want {
            let mut batch: Vec<Received> = Vec::new();
            self.read_ops(&mut |op| {
                if let Op::Msg { msg, .. } = op {
                    let status = msg.payload.is_empty()
                        && msg.headers.is_some_and(|h| h.len() > 12 && h[8] == b' ');
                    batch.push(Received {
                        subject: msg.subject.to_vec(),
                        reply: msg.reply.map(<[u8]>::to_vec),
                        len: msg.payload.len(),
                        payload: msg.payload.to_vec(),
                        status,
                    });
                }
            })?;
            for r in batch {
                got += 1;
                f(&r);
                self.last_reply = r.reply;
            }
        }
        Ok(())
    }

    /// The reply subject of the last message [`Conn::receive`] returned.
    pub(crate) fn last_reply(&self) -> Option<Vec<u8>> {
        self.last_reply.clone()
    }

    /// Counts MSGs into `total` (the fast path, shared by several readers) until the
    /// socket closes; records when `total` reaches `expected`.
    pub(crate) fn count_into(
        &mut self,
        total: &AtomicU64,
        expected: u64,
        done_at: &Mutex<Option<Instant>>,
    ) -> io::Result<()> {
        loop {
            let mut got = 0u64;
            self.read_ops(&mut |op| {
                if matches!(op, Op::Msg { .. }) {
                    got += 1;
                }
            })?;
            if got > 0 && total.fetch_add(got, Ordering::AcqRel) + got >= expected {
                if let Ok(mut at) = done_at.lock() {
                    at.get_or_insert_with(Instant::now);
                }
            }
        }
    }

    /// A second handle on the socket, to shut it down from another thread.
    pub(crate) fn shutdown_handle(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// One socket read; calls `f` for each complete op. PINGs are answered here.
    fn read_ops(&mut self, f: &mut dyn FnMut(Op<'_>)) -> io::Result<()> {
        if self.end == self.buf.len() {
            let need = self.parser.needed().unwrap_or(0).max(self.buf.len() * 2);
            self.buf.resize(need, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        let mut pings = 0;
        loop {
            match self.parser.parse(&self.buf[self.start..self.end]) {
                Ok(Some((op, used))) => {
                    self.start += used;
                    match op {
                        Op::Ping => pings += 1,
                        Op::Err(text) => {
                            let text = String::from_utf8_lossy(text).into_owned();
                            return Err(io::Error::other(format!("server: -ERR '{text}'")));
                        }
                        op => f(op),
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        for _ in 0..pings {
            encode::pong(&mut self.out);
        }
        if pings > 0 {
            self.flush()?;
        }
        Ok(())
    }
}
