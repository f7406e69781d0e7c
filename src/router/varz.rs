//! The `$SYS.REQ.LEAFD.VARZ` request: leafd reports its own memory and counters, so a test
//! (or an operator) can read them over the client port where the host cannot read the
//! process's `/proc`, e.g. leafd inside a full-system VM.
//!
//! Owns: the reply's shape (nats-server's `/varz` field names where one exists: `mem`,
//! `connections`, `subscriptions`, `in_msgs`, ...) and parsing `/proc/self/status`.
//! Reading that small file happens on the event loop, only when asked.
//! Hands off to: the requester's reply subject, like the uplink status request.

use serde::Serialize;

use crate::protocol::Message;

use super::Router;

/// The subject a local client asks for the server's figures on.
pub const VARZ_SUBJECT: &[u8] = b"$SYS.REQ.LEAFD.VARZ";

/// What the request answers. Memory figures are 0 where `/proc/self/status` cannot be read.
#[derive(Debug, Clone, Serialize)]
pub struct Varz {
    /// INFO's `server_name`.
    pub server_name: String,
    /// nats-server compatible version (INFO's `version`).
    pub version: String,
    /// leafd's own version.
    pub leafd: String,
    /// Resident set size now, bytes (`VmRSS`).
    pub mem: u64,
    /// Peak resident set size since start, bytes (`VmHWM`; leafd's own field).
    pub mem_peak: u64,
    /// Open client connections.
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

impl Router {
    /// The server's figures now.
    pub fn varz(&self) -> Varz {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let s = self.stats;
        Varz {
            server_name: self.info.server_name.clone(),
            version: self.info.version.clone(),
            leafd: self.info.leafd.clone(),
            mem: status_field(&status, "VmRSS").unwrap_or(0),
            mem_peak: status_field(&status, "VmHWM").unwrap_or(0),
            connections: self.clients.len(),
            total_connections: s.total_connections,
            subscriptions: self.subs.len(),
            in_msgs: s.in_msgs,
            in_bytes: s.in_bytes,
            out_msgs: s.out_msgs,
            out_bytes: s.out_bytes,
            slow_consumers: s.slow_consumers,
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
    use super::status_field;

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
