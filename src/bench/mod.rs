//! `leafd bench`: drives one or more NATS servers with the same traffic, alternating
//! between them round by round, and prints a side-by-side table with medians and ratios.
//!
//! Owns: the plan (targets, scenarios, rounds), the measurement loop and the report.
//! Must not: start or stop servers (the caller does; `tests/bench.sh` starts leafd and
//! nats-server and passes their pids so CPU time and RSS can be read from `/proc`).

mod conn;
mod js;
mod kv;
mod procstat;
pub mod replay;
pub mod restart;
mod scenario;
pub mod status;

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use scenario::{Sample, Scenario};

/// One server under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Label in the report, e.g. `leafd` or `nats-server`.
    pub name: String,
    /// `host:port` of its client listener.
    pub addr: String,
    /// Its process id, for CPU time and RSS; `None` reports neither.
    pub pid: Option<u32>,
    /// Its store directory, for the store's size on disk (JetStream scenarios).
    pub store: Option<PathBuf>,
}

impl Target {
    /// Parses `NAME=HOST:PORT[@PID]` (a `nats://` prefix on the address is allowed).
    pub fn parse(spec: &str) -> Result<Target, String> {
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=HOST:PORT[@PID], got {spec:?}"))?;
        let (addr, pid) = match rest.split_once('@') {
            Some((addr, pid)) => (
                addr,
                Some(
                    pid.parse::<u32>()
                        .map_err(|_| format!("bad pid in {spec:?}"))?,
                ),
            ),
            None => (rest, None),
        };
        let addr = addr.trim_start_matches("nats://").to_owned();
        if name.is_empty() || !addr.contains(':') {
            return Err(format!("expected NAME=HOST:PORT[@PID], got {spec:?}"));
        }
        Ok(Target {
            name: name.to_owned(),
            addr,
            pid,
            store: None,
        })
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Servers, compared against the first.
    pub targets: Vec<Target>,
    /// Scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Messages per throughput run.
    pub msgs: u64,
    /// Requests per request/reply run.
    pub requests: u64,
    /// Messages per JetStream publish/pull run (`js-churn` sizes itself from its budget).
    pub js_msgs: u64,
    /// Rounds; each round runs every scenario on every target, alternating the order.
    pub rounds: usize,
}

/// Every sample of one scenario on one target.
#[derive(Debug, Clone, Default)]
struct Runs {
    samples: Vec<Sample>,
    cpu_us_per_msg: Vec<f64>,
    peak_rss: Vec<u64>,
    /// Device bytes written per payload byte (JetStream scenarios).
    written_per_payload: Vec<f64>,
    /// Largest store size on disk seen during the run.
    store_peak: Vec<u64>,
}

/// Samples a directory's size on disk every 20 ms while a run goes on; keeps the maximum.
struct StoreWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl StoreWatch {
    fn start(dir: PathBuf) -> StoreWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || loop {
                if let Some(b) = procstat::disk_usage(&dir) {
                    peak.fetch_max(b, Ordering::Relaxed);
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            })
        };
        StoreWatch { stop, peak, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

/// Runs the plan and returns the report as Markdown.
///
/// # Errors
/// A scenario that fails (connection refused, lost messages) stops the bench.
pub fn run(plan: &Plan) -> io::Result<String> {
    let idle: Vec<Option<u64>> = plan
        .targets
        .iter()
        .map(|t| t.pid.and_then(procstat::rss))
        .collect();
    let mut runs = vec![vec![Runs::default(); plan.targets.len()]; plan.scenarios.len()];
    for round in 0..plan.rounds {
        for (si, scenario) in plan.scenarios.iter().enumerate() {
            let mut order: Vec<usize> = (0..plan.targets.len()).collect();
            if round % 2 == 1 {
                order.reverse(); // alternate who goes first: the machine is noisy
            }
            for ti in order {
                let target = &plan.targets[ti];
                let msgs = match scenario {
                    Scenario::RequestReply { .. } => plan.requests,
                    s if s.is_jetstream() => plan.js_msgs,
                    _ => plan.msgs,
                };
                if scenario.is_jetstream() {
                    // Write back what earlier runs left dirty in the page cache, so this
                    // run's fsyncs do not pay for another server's writes.
                    rustix::fs::sync();
                }
                let peak_ok = target.pid.is_some_and(procstat::reset_peak);
                let cpu0 = target.pid.and_then(procstat::cpu_seconds);
                let written0 = target.pid.and_then(procstat::write_bytes);
                let watch = target
                    .store
                    .clone()
                    .filter(|_| scenario.is_jetstream())
                    .map(StoreWatch::start);
                let sample = scenario::run(&target.addr, *scenario, msgs).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("{} on {}: {e}", scenario.name(), target.name),
                    )
                })?;
                let cpu1 = target.pid.and_then(procstat::cpu_seconds);
                let written1 = target.pid.and_then(procstat::write_bytes);
                let store_peak = watch.map(StoreWatch::finish);
                if matches!(scenario, Scenario::JsChurn { .. }) {
                    js::js_churn_cleanup(&target.addr)?;
                }
                log::info!(
                    "round {} {} {}: {:.0} msgs/s",
                    round + 1,
                    scenario.name(),
                    target.name,
                    sample.rate
                );
                let r = &mut runs[si][ti];
                r.samples.push(sample);
                if let (Some(a), Some(b)) = (cpu0, cpu1) {
                    r.cpu_us_per_msg
                        .push((b - a) * 1e6 / sample.msgs.max(1) as f64);
                }
                if let (true, Some(pid)) = (peak_ok, target.pid) {
                    r.peak_rss.extend(procstat::peak_rss(pid));
                }
                if let (Some(a), Some(b), true) = (written0, written1, sample.payload_bytes > 0) {
                    r.written_per_payload
                        .push(b.saturating_sub(a) as f64 / sample.payload_bytes as f64);
                }
                r.store_peak.extend(store_peak);
            }
        }
    }
    Ok(report(plan, &runs, &idle))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// Renders the Markdown report: one table per scenario kind, medians over rounds, and
/// the ratio of the first target to each other one.
fn report(plan: &Plan, runs: &[Vec<Runs>], idle: &[Option<u64>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rounds, {} msgs per throughput run, {} requests per latency run, {} msgs per js-pub/js-pull run; medians over rounds.\n",
        plan.rounds, plan.msgs, plan.requests, plan.js_msgs
    );
    let _ = writeln!(out, "| scenario | server | msgs/s | ratio | CPU µs/msg | CPU ratio | latency p50 / p90 / p99 µs | peak RSS |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (si, scenario) in plan.scenarios.iter().enumerate() {
        let base_rate = median(runs[si][0].samples.iter().map(|s| s.rate).collect());
        let base_cpu = median(runs[si][0].cpu_us_per_msg.clone());
        for (ti, target) in plan.targets.iter().enumerate() {
            let r = &runs[si][ti];
            let rate = median(r.samples.iter().map(|s| s.rate).collect());
            let cpu = median(r.cpu_us_per_msg.clone());
            let lat = |k: usize| {
                median(
                    r.samples
                        .iter()
                        .filter_map(|s| s.latency_us.map(|l| l[k]))
                        .collect(),
                )
            };
            let latency = match (lat(0), lat(1), lat(2)) {
                (Some(a), Some(b), Some(c)) => format!("{a:.0} / {b:.0} / {c:.0}"),
                _ => "-".into(),
            };
            let peak = r
                .peak_rss
                .iter()
                .max()
                .map_or_else(|| "-".into(), |b| mib(*b));
            let (rate_ratio, cpu_ratio) = if ti == 0 {
                ("".into(), "".into())
            } else {
                (ratio(base_rate, rate), ratio(base_cpu, cpu))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                scenario.name(),
                target.name,
                opt(rate, 0),
                rate_ratio,
                opt(cpu, 2),
                cpu_ratio,
                latency,
                peak
            );
        }
    }
    if plan.scenarios.iter().any(Scenario::is_jetstream) {
        let _ = writeln!(out, "\nJetStream disk use (medians; store peak = largest size on disk seen during a run, sampled every 20 ms):\n");
        let _ = writeln!(
            out,
            "| scenario | server | device bytes written / payload byte | store peak on disk |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
        for (si, scenario) in plan.scenarios.iter().enumerate() {
            if !scenario.is_jetstream() {
                continue;
            }
            for (ti, target) in plan.targets.iter().enumerate() {
                let r = &runs[si][ti];
                let store = r
                    .store_peak
                    .iter()
                    .max()
                    .map_or_else(|| "-".into(), |b| mib(*b));
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    scenario.name(),
                    target.name,
                    opt(median(r.written_per_payload.clone()), 2),
                    store
                );
            }
        }
    }
    let _ = writeln!(out, "\nIdle RSS before the first run:");
    for (t, rss) in plan.targets.iter().zip(idle) {
        let _ = writeln!(out, "- {}: {}", t.name, rss.map_or_else(|| "-".into(), mib));
    }
    let _ = writeln!(out, "\nRatios are {} ÷ the other server (msgs/s: higher is better for {0}; CPU: lower is better).", plan.targets[0].name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_specs() {
        let t = Target::parse("leafd=nats://127.0.0.1:4222@42").expect("valid spec");
        assert_eq!(
            t,
            Target {
                name: "leafd".into(),
                addr: "127.0.0.1:4222".into(),
                pid: Some(42),
                store: None,
            }
        );
        let t = Target::parse("nats=127.0.0.1:4223").expect("valid spec");
        assert_eq!(t.pid, None);
        assert!(Target::parse("127.0.0.1:4222").is_err());
        assert!(Target::parse("x=127.0.0.1:1@pid").is_err());
    }

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::all() {
            assert_eq!(Scenario::parse(&s.name()), Some(s));
        }
        assert_eq!(Scenario::PubSub { size: 1024 }.name(), "pubsub-1k");
    }
}
