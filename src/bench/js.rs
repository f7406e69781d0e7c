//! The JetStream bench scenarios: acked publishing (`js-pub`), a durable pull consumer
//! with explicit acks (`js-pull`) and churn through a bounded stream (`js-churn`).
//!
//! Owns: the raw API requests these need (stream and consumer create/delete) and the
//! traffic shapes. Every stream is deleted before and after a run, so runs are
//! independent and the server's store is back to empty.

use std::io;
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::scenario::Sample;

/// Publishes in flight for acked publishing (the issue's 256).
pub(crate) const WINDOW: u64 = 256;
/// Messages per pull request.
const PULL_BATCH: u64 = 256;
/// The bounded stream of `js-churn`: its `max_bytes`; the run writes 20 times this.
pub(crate) const CHURN_BUDGET: u64 = 16 << 20;
/// How long a run may take.
const DEADLINE: Duration = Duration::from_secs(120);

/// A connection with a reply inbox for API requests and pub-acks.
pub(crate) struct Js {
    conn: Conn,
    next: u64,
    pub(super) prefix: String,
}

impl Js {
    pub(super) fn connect(addr: &str) -> io::Result<Js> {
        let mut conn = Conn::connect(addr, "bench-js")?;
        // A unique inbox: two servers linked by an uplink share interest, and a shared
        // inbox name would deliver one connection's replies to the other too.
        let prefix = format!("_INBOX.jsb{:08x}", fastrand::u32(..));
        conn.sub(&format!("{prefix}.*"), None, 1);
        conn.ping_pong()?;
        Ok(Js {
            conn,
            next: 0,
            prefix,
        })
    }

    /// A fresh reply inbox (for other bench modules' pipelined requests).
    pub(super) fn inbox_for_bench(&mut self) -> String {
        self.inbox()
    }

    /// The connection, for other bench modules' own traffic shapes.
    pub(super) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    fn inbox(&mut self) -> String {
        self.next += 1;
        format!("{}.{}", self.prefix, self.next)
    }

    /// One API request; the reply's JSON, or an error if it carries one.
    pub(super) fn request(&mut self, subject: &str, body: &str) -> io::Result<serde_json::Value> {
        let inbox = self.inbox();
        self.conn
            .publish(subject.as_bytes(), Some(inbox.as_bytes()), body.as_bytes());
        self.conn.flush()?;
        let mut reply = None;
        while reply.is_none() {
            self.conn.receive(1, &mut |r| {
                if r.subject == inbox.as_bytes() {
                    reply = Some(r.payload.clone());
                }
            })?;
        }
        let v: serde_json::Value = serde_json::from_slice(&reply.unwrap_or_default())
            .map_err(|e| io::Error::other(format!("{subject}: bad reply: {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(io::Error::other(format!("{subject}: {err}")));
        }
        Ok(v)
    }

    /// Deletes `name` if it exists (a missing stream is fine).
    pub(super) fn delete_stream(&mut self, name: &str) -> io::Result<()> {
        match self.request(&format!("$JS.API.STREAM.DELETE.{name}"), "") {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("10059") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A fresh file stream on `<name>.>`, bounded to `max_bytes` (-1: unbounded).
    pub(super) fn fresh_stream(&mut self, name: &str, max_bytes: i64) -> io::Result<String> {
        self.delete_stream(name)?;
        let subject = format!("{}.x", name.to_lowercase());
        let cfg = format!(
            r#"{{"name":"{name}","subjects":["{}.>"],"storage":"file","max_bytes":{max_bytes},"discard":"old"}}"#,
            name.to_lowercase()
        );
        self.request(&format!("$JS.API.STREAM.CREATE.{name}"), &cfg)?;
        Ok(subject)
    }

    /// Publishes `msgs` messages of `size` bytes with `WINDOW` acks outstanding; returns
    /// when every ack is in.
    pub(super) fn publish_acked(
        &mut self,
        subject: &str,
        size: usize,
        msgs: u64,
    ) -> io::Result<()> {
        self.publish_acked_ids(subject, size, msgs, false)
    }

    /// [`Js::publish_acked`], each message with a unique `Nats-Msg-Id` when `ids` is set
    /// (what a forwarder's publishes cost the server: dedupe bookkeeping included).
    pub(super) fn publish_acked_ids(
        &mut self,
        subject: &str,
        size: usize,
        msgs: u64,
        ids: bool,
    ) -> io::Result<()> {
        self.publish_acked_keys(subject, 0, size, msgs, ids)
    }

    /// The acked-publish loop: to `subject`, or with `keys > 0` to `subject` followed by the
    /// message number modulo `keys` (KV puts over a key space).
    pub(super) fn publish_acked_keys(
        &mut self,
        subject: &str,
        keys: u64,
        size: usize,
        msgs: u64,
        ids: bool,
    ) -> io::Result<()> {
        let payload = vec![b'x'; size];
        let mut keyed = String::with_capacity(subject.len() + 8);
        let (mut sent, mut acked) = (0u64, 0u64);
        let start = Instant::now();
        while acked < msgs {
            while sent < msgs && sent - acked < WINDOW {
                let inbox = self.inbox();
                let subject = if keys > 0 {
                    keyed.clear();
                    keyed.push_str(subject);
                    keyed.push_str(&(sent % keys).to_string());
                    keyed.as_str()
                } else {
                    subject
                };
                if ids {
                    let headers = format!(
                        "NATS/1.0\r\nNats-Msg-Id: bench:{}:{sent}\r\n\r\n",
                        self.prefix
                    );
                    self.conn.publish_with_headers(
                        subject.as_bytes(),
                        Some(inbox.as_bytes()),
                        headers.as_bytes(),
                        &payload,
                    );
                } else {
                    self.conn
                        .publish(subject.as_bytes(), Some(inbox.as_bytes()), &payload);
                }
                sent += 1;
            }
            self.conn.flush()?;
            let mut failed = None;
            self.conn.receive(1, &mut |r| {
                if r.payload.windows(8).any(|w| w == b"\"error\":") {
                    failed = Some(String::from_utf8_lossy(&r.payload).into_owned());
                }
                acked += 1;
            })?;
            if let Some(e) = failed {
                return Err(io::Error::other(format!("publish refused: {e}")));
            }
            if start.elapsed() > DEADLINE {
                return Err(io::Error::other("acked publishing did not finish in time"));
            }
        }
        Ok(())
    }
}

/// `js-pub`: acked publishes of `size` bytes, 256 in flight.
pub(crate) fn js_pub(addr: &str, size: usize, msgs: u64) -> io::Result<Sample> {
    let mut js = Js::connect(addr)?;
    let subject = js.fresh_stream("BENCHPUB", -1)?;
    let start = Instant::now();
    js.publish_acked(&subject, size, msgs)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    js.delete_stream("BENCHPUB")?;
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        payload_bytes: msgs * size as u64,
        ..Sample::default()
    })
}

/// `js-pull`: a stream of `msgs` messages (stored before the clock starts) consumed by a
/// durable pull consumer, batches of 256, every message acked.
pub(crate) fn js_pull(addr: &str, size: usize, msgs: u64) -> io::Result<Sample> {
    let mut js = Js::connect(addr)?;
    let subject = js.fresh_stream("BENCHPULL", -1)?;
    js.publish_acked(&subject, size, msgs)?;
    let cfg = r#"{"stream_name":"BENCHPULL","config":{"durable_name":"bench","ack_policy":"explicit","deliver_policy":"all","max_ack_pending":10000}}"#;
    js.request("$JS.API.CONSUMER.CREATE.BENCHPULL.bench", cfg)?;
    let mut pull = Conn::connect(addr, "bench-pull")?;
    pull.sub("_INBOX.pull", None, 7);
    pull.ping_pong()?;
    let next = b"$JS.API.CONSUMER.MSG.NEXT.BENCHPULL.bench";
    let request = format!(r#"{{"batch":{PULL_BATCH},"expires":5000000000}}"#);
    let start = Instant::now();
    let mut got = 0u64;
    while got < msgs {
        pull.publish(next, Some(b"_INBOX.pull"), request.as_bytes());
        pull.flush()?;
        let want = PULL_BATCH.min(msgs - got);
        let mut in_batch = 0u64;
        while in_batch < want {
            let mut acks = Vec::new();
            let mut ended = false;
            pull.receive(1, &mut |r| {
                if r.status {
                    ended = true;
                } else if let Some(ack) = &r.reply {
                    acks.push(ack.clone());
                }
            })?;
            for ack in &acks {
                pull.publish(ack, None, b"");
            }
            pull.flush()?;
            in_batch += acks.len() as u64;
            if ended {
                break;
            }
            if start.elapsed() > DEADLINE {
                return Err(io::Error::other("pull consumer did not finish in time"));
            }
        }
        got += in_batch;
    }
    pull.ping_pong()?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    js.delete_stream("BENCHPULL")?;
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        payload_bytes: msgs * size as u64,
        ..Sample::default()
    })
}

/// `js-churn`: 20 times [`CHURN_BUDGET`] of acked `size`-byte publishes through a stream
/// bounded to the budget (discard old). The stream is kept until the caller has measured
/// the store on disk; [`js_churn_cleanup`] removes it.
pub(crate) fn js_churn(addr: &str, size: usize) -> io::Result<Sample> {
    let mut js = Js::connect(addr)?;
    let budget = i64::try_from(CHURN_BUDGET).unwrap_or(i64::MAX);
    let subject = js.fresh_stream("BENCHCHURN", budget)?;
    let msgs = 20 * CHURN_BUDGET / size as u64;
    let start = Instant::now();
    js.publish_acked(&subject, size, msgs)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        payload_bytes: msgs * size as u64,
        ..Sample::default()
    })
}

/// Deletes the churn stream.
pub(crate) fn js_churn_cleanup(addr: &str) -> io::Result<()> {
    Js::connect(addr)?.delete_stream("BENCHCHURN")
}
