//! The `$SYS.REQ.LEAFD.VARZ` request: leafd reports its own memory and counters, so a test
//! (or an operator) can read them over the client port where the host cannot read the
//! process's `/proc`, e.g. leafd inside a full-system VM.
//!
//! The HTTP monitor's `/varz` is the same snapshot.
//!
//! Owns: the reply's shape (nats-server's `/varz` field names where one exists: `mem`,
//! `connections`, `subscriptions`, `in_msgs`, ...), parsing `/proc/self/status`, and the
//! time formats monitoring shares (nats-server's uptime strings, wall-clock timestamps).
//! Reading that small file happens on the event loop, only when asked.
//! Hands off to: the requester's reply subject, like the uplink status request, or the monitor.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::jetstream::time::Timestamp;

use crate::protocol::Message;

use super::Router;

/// The subject a local client asks for the server's figures on.
pub const VARZ_SUBJECT: &[u8] = b"$SYS.REQ.LEAFD.VARZ";

/// What the request answers. Memory figures are 0 where `/proc/self/status` cannot be read.
#[derive(Debug, Clone, Serialize)]
pub struct Varz {
    /// INFO's `server_id`.
    pub server_id: String,
    /// INFO's `server_name`.
    pub server_name: String,
    /// nats-server compatible version (INFO's `version`).
    pub version: String,
    /// Protocol level (INFO's `proto`).
    pub proto: u32,
    /// The client listener's host.
    pub host: String,
    /// The client listener's port.
    pub port: u16,
    /// The monitoring listener's host (`0.0.0.0` when off, as nats-server says).
    pub http_host: String,
    /// The monitoring listener's port (0 when off).
    pub http_port: u16,
    /// `limits.ping_interval` in nanoseconds (Go's `time.Duration`).
    pub ping_interval: u64,
    /// `limits.ping_max`.
    pub ping_max: u32,
    /// `limits.write_deadline` in nanoseconds.
    pub write_deadline: u64,
    /// `limits.max_control_line`.
    pub max_control_line: usize,
    /// When leafd started.
    pub start: Timestamp,
    /// When this was taken.
    pub now: Timestamp,
    /// Time since start (`1h2m3s`).
    pub uptime: String,
    /// CPUs the process may run on.
    pub cores: usize,
    /// Leaf-node connections: 1 while the uplink is linked, else 0.
    pub leafnodes: usize,
    /// Connections closed for unanswered PINGs.
    pub stale_connections: u64,
    /// leafd's own version.
    pub leafd: String,
    /// Resident set size now, bytes (`VmRSS`).
    pub mem: u64,
    /// Peak resident set size since start, bytes (`VmHWM`; leafd's own field).
    pub mem_peak: u64,
    /// Open client connections (the uplink is counted in `leafnodes`).
    pub connections: usize,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Client subscriptions held.
    pub subscriptions: usize,
    /// Messages received from clients.
    pub in_msgs: u64,
    /// Payload bytes received from clients.
    pub in_bytes: u64,
    /// Messages delivered to clients.
    pub out_msgs: u64,
    /// Payload bytes delivered to clients.
    pub out_bytes: u64,
    /// Connections closed as slow consumers.
    pub slow_consumers: u64,
    /// Connections closed by authentication (leafd's own field).
    pub auth_failures: u64,
    /// Connections closed because their TLS handshake failed (leafd's own field).
    pub tls_handshake_failures: u64,
    /// Publishes and subscriptions refused by permissions (leafd's own field).
    pub permission_violations: u64,
    /// `limits.max_connections`.
    pub max_connections: usize,
    /// `limits.max_subscriptions_total`.
    pub max_subscriptions: usize,
    /// `limits.max_payload`.
    pub max_payload: usize,
    /// `limits.max_pending`.
    pub max_pending: usize,
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:     1234 kB`), in bytes.
pub(super) fn status_field(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let mut words = rest.split_whitespace();
        let n: u64 = words.next()?.parse().ok()?;
        match words.next() {
            Some("kB") => Some(n * 1024),
            None => Some(n),
            Some(_) => None,
        }
    })
}

/// A duration as nats-server writes uptimes and idle times: `3s`, `2m3s`, `1h2m3s`,
/// `4d1h2m3s`, `1y4d1h2m3s` (whole seconds).
pub(crate) fn go_uptime(d: Duration) -> String {
    let secs = d.as_secs();
    let (mins, hours, days) = (secs / 60, secs / 3600, secs / 86_400);
    let years = days / 365;
    let (s, m, h, dd) = (secs % 60, mins % 60, hours % 24, days % 365);
    if years > 0 {
        format!("{years}y{dd}d{h}h{m}m{s}s")
    } else if days > 0 {
        format!("{days}d{h}h{m}m{s}s")
    } else if hours > 0 {
        format!("{hours}h{m}m{s}s")
    } else if mins > 0 {
        format!("{mins}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The wall-clock time of `then`, given that `now` is the present.
pub(crate) fn wall_clock_at(now: Instant, then: Instant) -> Timestamp {
    let back = now.saturating_duration_since(then).as_nanos();
    let wall = crate::jetstream::engine::now().0;
    Timestamp(wall.saturating_sub(u64::try_from(back).unwrap_or(u64::MAX)))
}

impl Router {
    /// The server's figures now.
    pub fn varz(&self) -> Varz {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let s = self.stats;
        let now = Instant::now();
        let hubs = self.clients.iter().filter(|(_, c)| c.hub).count();
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Varz {
            server_id: self.info.server_id.clone(),
            server_name: self.info.server_name.clone(),
            version: self.info.version.clone(),
            proto: self.info.proto,
            host: self.info.host.clone(),
            port: self.info.port,
            http_host: self
                .http_addr
                .map_or_else(|| "0.0.0.0".to_owned(), |a| a.ip().to_string()),
            http_port: self.http_addr.map_or(0, |a| a.port()),
            ping_interval: nanos(self.limits.ping_interval),
            ping_max: self.limits.ping_max,
            write_deadline: nanos(self.limits.write_deadline),
            max_control_line: self.limits.max_control_line,
            start: wall_clock_at(now, self.started),
            now: crate::jetstream::engine::now(),
            uptime: go_uptime(now.saturating_duration_since(self.started)),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            leafnodes: hubs,
            stale_connections: s.stale_connections,
            leafd: self.info.leafd.clone(),
            mem: status_field(&status, "VmRSS").unwrap_or(0),
            mem_peak: status_field(&status, "VmHWM").unwrap_or(0),
            connections: self.clients.len() - hubs,
            total_connections: s.total_connections,
            subscriptions: self.subs.len(),
            in_msgs: s.in_msgs,
            in_bytes: s.in_bytes,
            out_msgs: s.out_msgs,
            out_bytes: s.out_bytes,
            slow_consumers: s.slow_consumers,
            auth_failures: s.auth_failures,
            tls_handshake_failures: s.tls_handshake_failures,
            permission_violations: s.permission_violations,
            max_connections: self.limits.max_connections,
            max_subscriptions: self.limits.max_subscriptions_total,
            max_payload: self.limits.max_payload,
            max_pending: self.limits.max_pending,
        }
    }

    /// Answers a request on [`VARZ_SUBJECT`]; `false` for any other subject.
    pub(super) fn varz_request(&mut self, msg: &Message<'_>) -> bool {
        if msg.subject != VARZ_SUBJECT {
            return false;
        }
        let Some(reply) = msg.reply else { return true };
        let body = serde_json::to_vec(&self.varz()).unwrap_or_default();
        self.reply_internal(reply, &body);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{go_uptime, status_field};
    use std::time::Duration;

    #[test]
    fn uptimes_read_like_nats_servers() {
        let s = Duration::from_secs;
        assert_eq!(go_uptime(s(0)), "0s");
        assert_eq!(go_uptime(s(59)), "59s");
        assert_eq!(go_uptime(s(61)), "1m1s");
        assert_eq!(go_uptime(s(3600)), "1h0m0s");
        assert_eq!(go_uptime(s(86_400 + 3_723)), "1d1h2m3s");
        assert_eq!(go_uptime(s(366 * 86_400)), "1y1d0h0m0s");
    }

    const STATUS: &str = "Name:\tleafd\nVmPeak:\t  123456 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8192 kB\nThreads:\t3\nRssAnon:\t  4096 kB\n";

    #[test]
    fn reads_kb_fields_as_bytes() {
        assert_eq!(status_field(STATUS, "VmRSS"), Some(8192 * 1024));
        assert_eq!(status_field(STATUS, "VmHWM"), Some(9000 * 1024));
        assert_eq!(status_field(STATUS, "RssAnon"), Some(4096 * 1024));
        assert_eq!(status_field(STATUS, "Threads"), Some(3));
    }

    #[test]
    fn a_missing_or_malformed_field_is_none() {
        assert_eq!(status_field(STATUS, "VmSwap"), None);
        assert_eq!(status_field(STATUS, "Vm"), None, "a prefix is not a field");
        assert_eq!(status_field("VmRSS:\tlots kB\n", "VmRSS"), None);
        assert_eq!(status_field("VmRSS:\t12 MB\n", "VmRSS"), None);
        assert_eq!(status_field("", "VmRSS"), None);
    }
}
