//! `/metrics`: the Prometheus text exposition format 0.0.4, from the same snapshots the JSON
//! endpoints serve.
//!
//! Owns: the metric names (all `leafd_`; counters end `_total`, and only they do: the type is
//! read from the name; units in the name: `_bytes`,
//! `_seconds`), their `# HELP`/`# TYPE` lines, and escaping label values (`\`, `"` and
//! newlines: stream and consumer names may hold odd characters). README "Monitoring" lists
//! every name; keep the two in step. Must not: read the router or do I/O.
//! Hands off to: the listener, which sends the text.

use std::fmt::Write as _;

use crate::jetstream::consumer::ConsumerInfo;
use crate::jetstream::engine::StreamSnapshot;
use crate::router::{JsSnapshot, UplinkStatus, Varz};
use crate::uplink::ForwardStatus;

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

/// A family's samples: label pairs and value.
type Samples<'a> = Vec<(Vec<(&'static str, &'a str)>, f64)>;

impl Text {
    /// HELP and TYPE; the type follows from the name: `_total` is a counter, else a gauge.
    fn family(&mut self, name: &str, help: &str) {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
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

    /// Families with one unlabelled sample each: `(name, help, value)`.
    fn scalars(&mut self, rows: &[(&str, &str, f64)]) {
        for &(name, help, value) in rows {
            self.family(name, help);
            self.sample(name, &[], value);
        }
    }

    /// One family with labelled samples.
    fn labelled(&mut self, name: &str, help: &str, samples: Samples<'_>) {
        self.family(name, help);
        for (labels, value) in samples {
            self.sample(name, &labels, value);
        }
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

fn f(n: u64) -> f64 {
    n as f64
}

/// The whole exposition.
pub(crate) fn render(s: &Scrape) -> String {
    let mut t = Text(String::with_capacity(4096));
    let v = &s.varz;
    let uptime = v.now.0.saturating_sub(v.start.0) as f64 / 1e9;
    t.scalars(&[
        (
            "leafd_connections",
            "Open client connections.",
            v.connections as f64,
        ),
        (
            "leafd_accepted_connections_total",
            "Client connections accepted since start.",
            f(v.total_connections),
        ),
        (
            "leafd_subscriptions",
            "Client subscriptions held.",
            v.subscriptions as f64,
        ),
        (
            "leafd_received_messages_total",
            "Messages received from clients.",
            f(v.in_msgs),
        ),
        (
            "leafd_received_bytes_total",
            "Payload bytes received from clients.",
            f(v.in_bytes),
        ),
        (
            "leafd_sent_messages_total",
            "Messages delivered to clients.",
            f(v.out_msgs),
        ),
        (
            "leafd_sent_bytes_total",
            "Payload bytes delivered to clients.",
            f(v.out_bytes),
        ),
        (
            "leafd_slow_consumers_total",
            "Connections closed as slow consumers.",
            f(v.slow_consumers),
        ),
        (
            "leafd_stale_connections_total",
            "Connections closed for unanswered PINGs.",
            f(v.stale_connections),
        ),
        (
            "leafd_auth_failures_total",
            "Connections closed by authentication: bad or missing credentials, no CONNECT in time, or no longer admitted after a reload.",
            f(v.auth_failures),
        ),
        (
            "leafd_tls_handshake_failures_total",
            "Connections closed because their TLS handshake failed or timed out.",
            f(v.tls_handshake_failures),
        ),
        (
            "leafd_permission_violations_total",
            "Publishes and subscriptions refused by permissions.",
            f(v.permission_violations),
        ),
        (
            "leafd_resident_memory_bytes",
            "Resident set size (VmRSS).",
            f(v.mem),
        ),
        (
            "leafd_resident_memory_peak_bytes",
            "Peak resident set size since start (VmHWM).",
            f(v.mem_peak),
        ),
        (
            "leafd_uptime_seconds",
            "Seconds since leafd started.",
            uptime,
        ),
    ]);
    if let Some(j) = &s.js {
        js(&mut t, j);
    }
    if let Some(up) = &s.uplink {
        uplink(&mut t, up);
    }
    t.0
}

fn js(t: &mut Text, j: &JsSnapshot) {
    let st = &j.store;
    t.scalars(&[
        (
            "leafd_store_used_bytes",
            "What the store directory occupies on disk.",
            f(st.used_bytes),
        ),
        (
            "leafd_store_max_bytes",
            "The store's disk budget (store.max_bytes).",
            f(st.max_bytes),
        ),
        (
            "leafd_store_max_messages",
            "Most messages all streams may hold (store.max_msgs).",
            f(st.max_msgs),
        ),
        (
            "leafd_evicted_messages_total",
            "Messages evicted by stream limits or store budgets.",
            f(j.evicted),
        ),
        (
            "leafd_jetstream_api_requests_total",
            "JetStream API requests answered.",
            f(j.api_total),
        ),
        (
            "leafd_jetstream_api_errors_total",
            "JetStream API requests answered with an error.",
            f(j.api_errors),
        ),
        ("leafd_streams", "Streams.", j.streams.len() as f64),
    ]);
    let per_stream = |value: &dyn Fn(&StreamSnapshot) -> f64| -> Samples<'_> {
        j.streams
            .iter()
            .map(|s| (vec![("stream", s.name.as_str())], value(s)))
            .collect()
    };
    t.labelled(
        "leafd_stream_messages",
        "Messages in a stream.",
        per_stream(&|s| f(s.state.messages)),
    );
    t.labelled(
        "leafd_stream_bytes",
        "Bytes in a stream.",
        per_stream(&|s| f(s.state.bytes)),
    );
    t.labelled(
        "leafd_stream_evicted_messages_total",
        "Messages a stream's limits or a store budget evicted.",
        per_stream(&|s| f(s.evicted_msgs)),
    );
    let per_consumer = |value: &dyn Fn(&ConsumerInfo) -> f64| -> Samples<'_> {
        let mut out = Vec::new();
        for s in &j.streams {
            for c in &s.consumers {
                out.push((
                    vec![("stream", s.name.as_str()), ("consumer", c.name.as_str())],
                    value(c),
                ));
            }
        }
        out
    };
    t.labelled(
        "leafd_consumer_pending_messages",
        "Messages a consumer has not yet delivered (num_pending).",
        per_consumer(&|c| f(c.num_pending)),
    );
    t.labelled(
        "leafd_consumer_ack_pending_messages",
        "Messages delivered and not yet acknowledged (num_ack_pending).",
        per_consumer(&|c| f(c.num_ack_pending)),
    );
}

fn uplink(t: &mut Text, up: &UplinkStatus) {
    let live = &up.live;
    t.scalars(&[
        (
            "leafd_uplink_up",
            "1 while the uplink to the hub is connected, else 0.",
            f(u64::from(up.connected)),
        ),
        (
            "leafd_uplink_connects_total",
            "Uplink links established since start.",
            f(live.connects),
        ),
        (
            "leafd_uplink_sent_messages_total",
            "Live messages sent to the hub.",
            f(live.msgs_up),
        ),
        (
            "leafd_uplink_received_messages_total",
            "Messages received from the hub.",
            f(live.msgs_down),
        ),
        (
            "leafd_uplink_dropped_messages_total",
            "Live messages dropped because the link's outbox was full.",
            f(live.dropped),
        ),
    ]);
    let per_forward = |value: &dyn Fn(&ForwardStatus) -> f64| -> Samples<'_> {
        up.forwards
            .iter()
            .map(|fw| (vec![("stream", fw.stream.as_str())], value(fw)))
            .collect()
    };
    t.labelled(
        "leafd_forward_lag_messages",
        "Records of a forwarded stream the hub has not acknowledged.",
        per_forward(&|fw| f(fw.pending_msgs)),
    );
    t.labelled(
        "leafd_forward_lag_bytes",
        "Bytes of those records.",
        per_forward(&|fw| f(fw.pending_bytes)),
    );
    t.labelled(
        "leafd_forward_lag_seconds",
        "Age of the oldest record the hub has not acknowledged (0 when none).",
        per_forward(&|fw| fw.oldest_pending_age_secs),
    );
    t.labelled(
        "leafd_forward_acked_messages_total",
        "Records the hub acknowledged since start.",
        per_forward(&|fw| f(fw.forwarded)),
    );
    t.labelled(
        "leafd_forward_lost_messages_total",
        "Records evicted locally before the hub acknowledged them.",
        per_forward(&|fw| f(fw.lost)),
    );
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
        t.family("leafd_stream_messages", "Messages in a stream.");
        t.sample("leafd_stream_messages", &[("stream", "S\"1")], 5.0);
        t.sample("leafd_x_seconds", &[], 0.25);
        assert_eq!(
            t.0,
            "# HELP leafd_stream_messages Messages in a stream.\n# TYPE leafd_stream_messages gauge\nleafd_stream_messages{stream=\"S\\\"1\"} 5\nleafd_x_seconds 0.25\n"
        );
    }
}
