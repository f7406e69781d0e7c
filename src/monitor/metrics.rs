//! `/metrics`: the Prometheus text exposition format 0.0.4, from the same snapshots the JSON
//! endpoints serve.
//!
//! Owns: the metric names (all `leafd_`; counters end `_total`; units in the name: `_bytes`,
//! `_seconds`), their `# HELP`/`# TYPE` lines, and escaping label values (`\`, `"` and
//! newlines: stream and consumer names may hold odd characters). README "Monitoring" lists
//! every name; keep the two in step. Must not: read the router or do I/O.
//! Hands off to: the listener, which sends the text.

use std::fmt::Write as _;

use crate::router::{JsSnapshot, UplinkStatus, Varz};

/// What one scrape shows.
#[derive(Debug)]
pub(crate) struct Scrape {
    /// Server-wide figures.
    pub(crate) varz: Varz,
    /// Streams and the store; `None` without JetStream.
    pub(crate) js: Option<JsSnapshot>,
    /// The uplink; `None` without one.
    pub(crate) uplink: Option<UplinkStatus>,
}

/// Writes families one after the other; each family's samples follow its HELP and TYPE.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// A family with one unlabelled sample.
    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value with `\`, `"` and line feeds escaped, as the format requires.
pub(crate) fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Integers without a fraction; everything else as Rust prints floats (which Go's and
/// Python's parsers read).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The whole exposition.
pub(crate) fn render(s: &Scrape) -> String {
    let mut t = Text(String::with_capacity(4096));
    let v = &s.varz;
    let f = |n: u64| n as f64;
    t.one(
        "leafd_connections",
        "gauge",
        "Open client connections.",
        v.connections as f64,
    );
    t.one(
        "leafd_accepted_connections_total",
        "counter",
        "Client connections accepted since start.",
        f(v.total_connections),
    );
    t.one(
        "leafd_subscriptions",
        "gauge",
        "Client subscriptions held.",
        v.subscriptions as f64,
    );
    t.one(
        "leafd_received_messages_total",
        "counter",
        "Messages received from clients.",
        f(v.in_msgs),
    );
    t.one(
        "leafd_received_bytes_total",
        "counter",
        "Payload bytes received from clients.",
        f(v.in_bytes),
    );
    t.one(
        "leafd_sent_messages_total",
        "counter",
        "Messages delivered to clients.",
        f(v.out_msgs),
    );
    t.one(
        "leafd_sent_bytes_total",
        "counter",
        "Payload bytes delivered to clients.",
        f(v.out_bytes),
    );
    t.one(
        "leafd_slow_consumers_total",
        "counter",
        "Connections closed as slow consumers.",
        f(v.slow_consumers),
    );
    t.one(
        "leafd_stale_connections_total",
        "counter",
        "Connections closed for unanswered PINGs.",
        f(v.stale_connections),
    );
    t.one(
        "leafd_resident_memory_bytes",
        "gauge",
        "Resident set size (VmRSS).",
        f(v.mem),
    );
    t.one(
        "leafd_resident_memory_peak_bytes",
        "gauge",
        "Peak resident set size since start (VmHWM).",
        f(v.mem_peak),
    );
    t.one(
        "leafd_uptime_seconds",
        "gauge",
        "Seconds since leafd started.",
        (v.now.0.saturating_sub(v.start.0)) as f64 / 1e9,
    );
    if let Some(j) = &s.js {
        js(&mut t, j);
    }
    if let Some(up) = &s.uplink {
        uplink(&mut t, up);
    }
    t.0
}

fn js(t: &mut Text, j: &JsSnapshot) {
    let f = |n: u64| n as f64;
    let (streams, store) = (&j.streams, &j.store);
    let (api_total, api_errors, evicted) = (j.api_total, j.api_errors, j.evicted);
    t.one(
        "leafd_store_used_bytes",
        "gauge",
        "What the store directory occupies on disk.",
        f(store.used_bytes),
    );
    t.one(
        "leafd_store_max_bytes",
        "gauge",
        "The store's disk budget (store.max_bytes).",
        f(store.max_bytes),
    );
    t.one(
        "leafd_store_max_messages",
        "gauge",
        "Most messages all streams may hold (store.max_msgs).",
        f(store.max_msgs),
    );
    t.one(
        "leafd_evicted_messages_total",
        "counter",
        "Messages evicted by stream limits or store budgets.",
        f(evicted),
    );
    t.one(
        "leafd_jetstream_api_requests_total",
        "counter",
        "JetStream API requests answered.",
        f(api_total),
    );
    t.one(
        "leafd_jetstream_api_errors_total",
        "counter",
        "JetStream API requests answered with an error.",
        f(api_errors),
    );
    t.one("leafd_streams", "gauge", "Streams.", streams.len() as f64);
    t.family("leafd_stream_messages", "gauge", "Messages in a stream.");
    for s in streams.iter() {
        t.sample(
            "leafd_stream_messages",
            &[("stream", &s.name)],
            f(s.state.messages),
        );
    }
    t.family("leafd_stream_bytes", "gauge", "Bytes in a stream.");
    for s in streams.iter() {
        t.sample(
            "leafd_stream_bytes",
            &[("stream", &s.name)],
            f(s.state.bytes),
        );
    }
    t.family(
        "leafd_stream_evicted_messages_total",
        "counter",
        "Messages a stream's limits or a store budget evicted.",
    );
    for s in streams.iter() {
        t.sample(
            "leafd_stream_evicted_messages_total",
            &[("stream", &s.name)],
            f(s.evicted_msgs),
        );
    }
    t.family(
        "leafd_consumer_pending_messages",
        "gauge",
        "Messages a consumer has not yet delivered (num_pending).",
    );
    for s in streams.iter() {
        for c in &s.consumers {
            t.sample(
                "leafd_consumer_pending_messages",
                &[("stream", &s.name), ("consumer", &c.name)],
                f(c.num_pending),
            );
        }
    }
    t.family(
        "leafd_consumer_ack_pending_messages",
        "gauge",
        "Messages delivered and not yet acknowledged (num_ack_pending).",
    );
    for s in streams.iter() {
        for c in &s.consumers {
            t.sample(
                "leafd_consumer_ack_pending_messages",
                &[("stream", &s.name), ("consumer", &c.name)],
                f(c.num_ack_pending),
            );
        }
    }
}

fn uplink(t: &mut Text, up: &UplinkStatus) {
    let f = |n: u64| n as f64;
    t.one(
        "leafd_uplink_up",
        "gauge",
        "1 while the uplink to the hub is connected, else 0.",
        f(u64::from(up.connected)),
    );
    t.one(
        "leafd_uplink_connects_total",
        "counter",
        "Uplink links established since start.",
        f(up.live.connects),
    );
    t.one(
        "leafd_uplink_sent_messages_total",
        "counter",
        "Live messages sent to the hub.",
        f(up.live.msgs_up),
    );
    t.one(
        "leafd_uplink_received_messages_total",
        "counter",
        "Messages received from the hub.",
        f(up.live.msgs_down),
    );
    t.one(
        "leafd_uplink_dropped_messages_total",
        "counter",
        "Live messages dropped because the link's outbox was full.",
        f(up.live.dropped),
    );
    t.family(
        "leafd_forward_lag_messages",
        "gauge",
        "Records of a forwarded stream the hub has not acknowledged.",
    );
    for fw in &up.forwards {
        t.sample(
            "leafd_forward_lag_messages",
            &[("stream", &fw.stream)],
            f(fw.pending_msgs),
        );
    }
    t.family(
        "leafd_forward_lag_bytes",
        "gauge",
        "Bytes of those records.",
    );
    for fw in &up.forwards {
        t.sample(
            "leafd_forward_lag_bytes",
            &[("stream", &fw.stream)],
            f(fw.pending_bytes),
        );
    }
    t.family(
        "leafd_forward_lag_seconds",
        "gauge",
        "Age of the oldest record the hub has not acknowledged (0 when none).",
    );
    for fw in &up.forwards {
        t.sample(
            "leafd_forward_lag_seconds",
            &[("stream", &fw.stream)],
            fw.oldest_pending_age_secs,
        );
    }
    t.family(
        "leafd_forward_acked_messages_total",
        "counter",
        "Records the hub acknowledged since start.",
    );
    for fw in &up.forwards {
        t.sample(
            "leafd_forward_acked_messages_total",
            &[("stream", &fw.stream)],
            f(fw.forwarded),
        );
    }
    t.family(
        "leafd_forward_lost_messages_total",
        "counter",
        "Records evicted locally before the hub acknowledged them.",
    );
    for fw in &up.forwards {
        t.sample(
            "leafd_forward_lost_messages_total",
            &[("stream", &fw.stream)],
            f(fw.lost),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("plain-name_1"), "plain-name_1");
    }

    #[test]
    fn samples_follow_their_family() {
        let mut t = Text(String::new());
        t.family("leafd_stream_messages", "gauge", "Messages in a stream.");
        t.sample("leafd_stream_messages", &[("stream", "S\"1")], 5.0);
        t.sample("leafd_x_seconds", &[], 0.25);
        assert_eq!(
            t.0,
            "# HELP leafd_stream_messages Messages in a stream.\n# TYPE leafd_stream_messages gauge\nleafd_stream_messages{stream=\"S\\\"1\"} 5\nleafd_x_seconds 0.25\n"
        );
    }
}
