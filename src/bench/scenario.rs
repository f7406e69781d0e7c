//! The bench scenarios: throughput (pub/sub, fan-out, queue groups) and request/reply
//! latency, each run once against one server.
//!
//! Owns: the traffic shapes and their timing. Every subscriber runs on its own thread with
//! its own connection; the publisher pipelines pre-encoded PUBs in 64 KiB writes.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::conn::Conn;
use crate::protocol::encode;

/// How long a scenario may take before its missing messages count as lost.
const DEADLINE: Duration = Duration::from_secs(60);

/// A traffic shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One publisher, one subscriber, `size`-byte payloads.
    PubSub {
        /// Payload size in bytes.
        size: usize,
    },
    /// One publisher, `subs` subscribers on the same subject.
    FanOut {
        /// Number of subscribers.
        subs: usize,
        /// Payload size in bytes.
        size: usize,
    },
    /// One publisher, `members` queue subscribers in one group.
    Queue {
        /// Number of group members.
        members: usize,
        /// Payload size in bytes.
        size: usize,
    },
    /// Sequential requests to one responder; latency percentiles.
    RequestReply {
        /// Payload size in bytes.
        size: usize,
    },
    /// JetStream publishes into a file stream, 256 acks outstanding.
    JsPub {
        /// Payload size in bytes.
        size: usize,
    },
    /// A durable pull consumer draining a stream, explicit acks.
    JsPull {
        /// Payload size in bytes.
        size: usize,
    },
    /// 20x a 16 MiB budget of acked publishes through a stream bounded to it.
    JsChurn {
        /// Payload size in bytes.
        size: usize,
    },
    /// KV puts over 10,000 keys, 256 acks outstanding.
    KvPut {
        /// Value size in bytes.
        size: usize,
    },
    /// KV direct gets over 10,000 keys, 256 outstanding.
    KvGet {
        /// Value size in bytes.
        size: usize,
    },
}

impl Scenario {
    /// Short name for tables and the `--scenario` flag.
    pub fn name(&self) -> String {
        match self {
            Scenario::PubSub { size } => format!("pubsub-{}", size_name(*size)),
            Scenario::FanOut { subs, size } => format!("fanout{subs}-{}", size_name(*size)),
            Scenario::Queue { members, size } => format!("queue{members}-{}", size_name(*size)),
            Scenario::RequestReply { size } => format!("reqrep-{}", size_name(*size)),
            Scenario::JsPub { size } => format!("js-pub-{}", size_name(*size)),
            Scenario::JsPull { size } => format!("js-pull-{}", size_name(*size)),
            Scenario::JsChurn { size } => format!("js-churn-{}", size_name(*size)),
            Scenario::KvPut { size } => format!("kv-put-{}", size_name(*size)),
            Scenario::KvGet { size } => format!("kv-get-{}", size_name(*size)),
        }
    }

    /// Whether it needs JetStream (and has disk numbers worth reporting).
    pub fn is_jetstream(&self) -> bool {
        matches!(
            self,
            Scenario::JsPub { .. }
                | Scenario::JsPull { .. }
                | Scenario::JsChurn { .. }
                | Scenario::KvPut { .. }
                | Scenario::KvGet { .. }
        )
    }

    /// The standard set.
    pub fn standard() -> Vec<Scenario> {
        vec![
            Scenario::PubSub { size: 16 },
            Scenario::PubSub { size: 128 },
            Scenario::PubSub { size: 1024 },
            Scenario::FanOut { subs: 4, size: 128 },
            Scenario::Queue {
                members: 4,
                size: 128,
            },
            Scenario::RequestReply { size: 128 },
        ]
    }

    /// The JetStream set (the servers must serve JetStream).
    pub fn jetstream() -> Vec<Scenario> {
        vec![
            Scenario::JsPub { size: 128 },
            Scenario::JsPub { size: 1024 },
            Scenario::JsPull { size: 128 },
            Scenario::JsChurn { size: 1024 },
            Scenario::KvPut { size: 128 },
            Scenario::KvGet { size: 128 },
        ]
    }

    /// Every scenario.
    pub fn all() -> Vec<Scenario> {
        let mut v = Scenario::standard();
        v.extend(Scenario::jetstream());
        v
    }

    /// Parses a name as printed by [`Scenario::name`].
    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::all().into_iter().find(|s| s.name() == name)
    }
}

fn size_name(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{}k", size / 1024)
    } else {
        size.to_string()
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Messages published per second (requests per second for request/reply).
    pub rate: f64,
    /// Messages published.
    pub msgs: u64,
    /// Latency percentiles in microseconds (request/reply only): p50, p90, p99.
    pub latency_us: Option<[f64; 3]>,
    /// Payload bytes stored (JetStream scenarios), for bytes written per payload byte.
    pub payload_bytes: u64,
}

/// Runs `scenario` against `addr` with `msgs` messages (requests).
pub(crate) fn run(addr: &str, scenario: Scenario, msgs: u64) -> io::Result<Sample> {
    match scenario {
        Scenario::PubSub { size } => throughput(addr, 1, None, size, msgs),
        Scenario::FanOut { subs, size } => throughput(addr, subs, None, size, msgs),
        Scenario::Queue { members, size } => throughput(addr, members, Some("workers"), size, msgs),
        Scenario::RequestReply { size } => request_reply(addr, size, msgs),
        Scenario::JsPub { size } => super::js::js_pub(addr, size, msgs),
        Scenario::JsPull { size } => super::js::js_pull(addr, size, msgs),
        Scenario::JsChurn { size } => super::js::js_churn(addr, size),
        Scenario::KvPut { size } => super::kv::kv_put(addr, size, msgs),
        Scenario::KvGet { size } => super::kv::kv_get(addr, size, msgs),
    }
}

/// `subs` subscribers (a queue group if `queue`), one publisher; rate = published msgs/s
/// from the first publish to the last delivery.
fn throughput(
    addr: &str,
    subs: usize,
    queue: Option<&str>,
    size: usize,
    msgs: u64,
) -> io::Result<Sample> {
    let subject = format!("bench.{}", fastrand::u32(..));
    let expected = if queue.is_some() {
        msgs
    } else {
        msgs * subs as u64
    };
    let received = Arc::new(AtomicU64::new(0));
    let done_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mut readers = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..subs {
        let mut conn = Conn::connect(addr, &format!("bench-sub-{i}"))?;
        conn.sub(&subject, queue, 1);
        conn.ping_pong()?;
        sockets.push(conn.shutdown_handle()?);
        let (received, done_at) = (received.clone(), done_at.clone());
        readers.push(thread::spawn(move || {
            // Ends when the main thread shuts the socket down.
            let _ = conn.count_into(&received, expected, &done_at);
        }));
    }
    let mut publisher = Conn::connect(addr, "bench-pub")?;
    let payload = vec![b'x'; size];
    let mut batch = Vec::with_capacity(64 * 1024 + size + 64);
    let mut per_batch = 0u64;
    while batch.len() < 64 * 1024 && per_batch < msgs {
        encode::publish(&mut batch, subject.as_bytes(), None, None, &payload);
        per_batch += 1;
    }
    let start = Instant::now();
    let mut sent = 0;
    while sent + per_batch <= msgs {
        publisher.write_raw(&batch)?;
        sent += per_batch;
    }
    for _ in sent..msgs {
        publisher.publish(subject.as_bytes(), None, &payload);
    }
    publisher.flush()?;
    publisher.ping_pong()?;
    while received.load(Ordering::Acquire) < expected && start.elapsed() < DEADLINE {
        thread::sleep(Duration::from_millis(1));
    }
    let end = done_at
        .lock()
        .map_err(|_| io::Error::other("poisoned"))?
        .unwrap_or_else(Instant::now);
    for s in &sockets {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    for r in readers {
        let _ = r.join();
    }
    let got = received.load(Ordering::Acquire);
    if got < expected {
        return Err(io::Error::other(format!(
            "lost messages: {got} of {expected} delivered"
        )));
    }
    let secs = end.duration_since(start).as_secs_f64().max(1e-9);
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        ..Sample::default()
    })
}

/// One responder, one requester with one request in flight; latency of each round trip.
fn request_reply(addr: &str, size: usize, msgs: u64) -> io::Result<Sample> {
    let subject = format!("bench.svc.{}", fastrand::u32(..));
    let mut responder = Conn::connect(addr, "bench-responder")?;
    responder.sub(&subject, None, 1);
    responder.ping_pong()?;
    let stop = responder.shutdown_handle()?;
    let payload = vec![b'r'; size];
    let serve = thread::spawn(move || -> io::Result<()> {
        loop {
            responder.receive(1, &mut |_| {})?;
            // `receive` kept the last message's reply subject for us.
            if let Some(reply) = responder.last_reply() {
                responder.publish(&reply, None, &payload);
                responder.flush()?;
            }
        }
    });
    let mut requester = Conn::connect(addr, "bench-requester")?;
    requester.sub("_INBOX.bench.*", None, 1);
    requester.ping_pong()?;
    let request = vec![b'q'; size];
    let warmup = (msgs / 10).min(1000);
    let mut lat = Vec::with_capacity(msgs as usize);
    let start = Instant::now();
    for i in 0..warmup + msgs {
        let reply = format!("_INBOX.bench.{i}");
        let t = Instant::now();
        requester.publish(subject.as_bytes(), Some(reply.as_bytes()), &request);
        requester.flush()?;
        requester.receive(1, &mut |_| {})?;
        if i >= warmup {
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if start.elapsed() > DEADLINE {
            return Err(io::Error::other("request/reply did not finish in time"));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = stop.shutdown(std::net::Shutdown::Both);
    let _ = serve.join();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Ok(Sample {
        rate: (warmup + msgs) as f64 / secs,
        msgs,
        latency_us: Some([pct(0.50), pct(0.90), pct(0.99)]),
        ..Sample::default()
    })
}
