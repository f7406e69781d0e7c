//! `leafd bench --scenario replay`: store-and-forward replay into a real hub, against the
//! hub's own acked publish rate in the same run (issue 4's benchmark).
//!
//! Owns: the replay round. The first target is a leafd whose `[uplink]` points at the second
//! (a nats-server hub) and forwards stream `REPLAY` under subject prefix `bench`
//! (`tests/bench.sh --replay` sets this up). Each round: the hub stream is deleted (the
//! outage: leafd has nowhere to forward to), leafd buffers `records` acked publishes of
//! `size` bytes into a fresh `REPLAY` stream, then the hub stream `REPLAYHUB` on
//! `bench.replay.>` is created and the hub's message count is polled every 5 ms until it
//! holds every record. The replay rate counts from the first record's arrival to the last
//! (the forwarder's retry pause before it is not replay), and the round fails unless the
//! hub holds exactly `records` messages at seqs 1..=records (nothing lost, nothing twice).
//! Then a direct client publishes the same records into a hub stream, 256 acks in flight
//! (what `js-pub` measures). Must not: start servers.

use std::fmt::Write as _;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use super::js::Js;
use super::{median, mib, opt, procstat, Target};

/// How long one replay may take.
const DEADLINE: Duration = Duration::from_secs(300);
/// How often the hub's message count is read.
const POLL: Duration = Duration::from_millis(5);

/// One round's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    replay_rate: f64,
    direct_rate: f64,
    direct_ids_rate: f64,
    hub_cpu_us_direct_ids: Option<f64>,
    leafd_cpu_us: Option<f64>,
    hub_cpu_us_replay: Option<f64>,
    hub_cpu_us_direct: Option<f64>,
}

/// The hub stream's message count and last seq.
fn hub_state(hub: &mut Js, name: &str) -> io::Result<(u64, u64)> {
    let info = hub.request(&format!("$JS.API.STREAM.INFO.{name}"), "")?;
    let state = &info["state"];
    Ok((
        state["messages"].as_u64().unwrap_or(0),
        state["last_seq"].as_u64().unwrap_or(0),
    ))
}

fn cpu_per_msg(pid: Option<u32>, before: Option<f64>, msgs: u64) -> Option<f64> {
    let after = pid.and_then(procstat::cpu_seconds)?;
    Some((after - before?) * 1e6 / msgs.max(1) as f64)
}

/// A direct client's acked publishes into a fresh hub stream (with a `Nats-Msg-Id` each
/// when `ids`): msgs/s and the hub's CPU µs per message.
fn direct(
    h: &mut Js,
    hub: &Target,
    size: usize,
    records: u64,
    ids: bool,
) -> io::Result<(f64, Option<f64>)> {
    h.delete_stream("DIRECT")?;
    h.request(
        "$JS.API.STREAM.CREATE.DIRECT",
        r#"{"name":"DIRECT","subjects":["direct.>"],"storage":"file"}"#,
    )?;
    let cpu0 = hub.pid.and_then(procstat::cpu_seconds);
    let t = Instant::now();
    h.publish_acked_ids("direct.x", size, records, ids)?;
    let rate = records as f64 / t.elapsed().as_secs_f64().max(1e-9);
    let cpu = cpu_per_msg(hub.pid, cpu0, records);
    h.delete_stream("DIRECT")?;
    Ok((rate, cpu))
}

fn round(leafd: &Target, hub: &Target, records: u64, size: usize) -> io::Result<Round> {
    let mut edge = Js::connect(&leafd.addr)?;
    let mut h = Js::connect(&hub.addr)?;
    h.delete_stream("REPLAYHUB")?;
    edge.delete_stream("REPLAY")?;
    edge.request(
        "$JS.API.STREAM.CREATE.REPLAY",
        r#"{"name":"REPLAY","subjects":["replay.>"],"storage":"file"}"#,
    )?;
    edge.publish_acked("replay.x", size, records)?;
    let leafd_cpu0 = leafd.pid.and_then(procstat::cpu_seconds);
    let hub_cpu0 = hub.pid.and_then(procstat::cpu_seconds);
    h.request(
        "$JS.API.STREAM.CREATE.REPLAYHUB",
        r#"{"name":"REPLAYHUB","subjects":["bench.replay.>"],"storage":"file"}"#,
    )?;
    let start = Instant::now();
    let mut first: Option<(Instant, u64)> = None;
    let (count, last) = loop {
        let (count, last) = hub_state(&mut h, "REPLAYHUB")?;
        if count > 0 && first.is_none() {
            first = Some((Instant::now(), count));
        }
        if count >= records {
            break (count, last);
        }
        if start.elapsed() > DEADLINE {
            return Err(io::Error::other(format!(
                "the hub holds {count} of {records} records after {DEADLINE:?}; is leafd's [uplink] forwarding REPLAY under prefix \"bench\" to this hub?"
            )));
        }
        thread::sleep(POLL);
    };
    let end = Instant::now();
    // Settle: anything sent twice would arrive right behind the last record.
    thread::sleep(Duration::from_millis(200));
    let (after, _) = hub_state(&mut h, "REPLAYHUB")?;
    if count != records || after != records || last != records {
        return Err(io::Error::other(format!(
            "replay delivered {after} messages (last seq {last}) for {records} records: lost or duplicated"
        )));
    }
    let (t0, n0) = first.unwrap_or((start, 0));
    let replay_rate =
        (records - n0.min(records - 1)) as f64 / end.duration_since(t0).as_secs_f64().max(1e-9);
    let leafd_cpu_us = cpu_per_msg(leafd.pid, leafd_cpu0, records);
    let hub_cpu_us_replay = cpu_per_msg(hub.pid, hub_cpu0, records);
    h.delete_stream("REPLAYHUB")?;
    edge.delete_stream("REPLAY")?;

    let (direct_rate, hub_cpu_us_direct) = direct(&mut h, hub, size, records, false)?;
    let (direct_ids_rate, hub_cpu_us_direct_ids) = direct(&mut h, hub, size, records, true)?;
    Ok(Round {
        replay_rate,
        direct_rate,
        direct_ids_rate,
        hub_cpu_us_direct_ids,
        leafd_cpu_us,
        hub_cpu_us_replay,
        hub_cpu_us_direct,
    })
}

/// Runs `rounds` replay rounds and returns the Markdown report.
///
/// # Errors
/// A server cannot be reached, refuses a request, or the replay loses or duplicates records.
pub fn run(
    leafd: &Target,
    hub: &Target,
    records: u64,
    size: usize,
    rounds: usize,
) -> io::Result<String> {
    let mut all = Vec::new();
    for i in 0..rounds {
        let r = round(leafd, hub, records, size)?;
        log::info!(
            "round {}: replay {:.0} msgs/s, direct {:.0} msgs/s",
            i + 1,
            r.replay_rate,
            r.direct_rate
        );
        all.push(r);
    }
    let med = |f: fn(&Round) -> Option<f64>| median(all.iter().filter_map(f).collect());
    let replay = med(|r| Some(r.replay_rate));
    let direct = med(|r| Some(r.direct_rate));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{rounds} rounds, {records} records of {size} B buffered by {} during an outage, then replayed into {}; medians over rounds.\n",
        leafd.name, hub.name
    );
    let _ = writeln!(
        out,
        "| measure | msgs/s | CPU µs/msg ({}) | CPU µs/msg ({}) |",
        leafd.name, hub.name
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let _ = writeln!(
        out,
        "| replay {} → {} (in order, exactly once) | {} | {} | {} |",
        leafd.name,
        hub.name,
        opt(replay, 0),
        opt(med(|r| r.leafd_cpu_us), 2),
        opt(med(|r| r.hub_cpu_us_replay), 2)
    );
    let _ = writeln!(
        out,
        "| direct acked publish into {} (256 in flight) | {} | - | {} |",
        hub.name,
        opt(direct, 0),
        opt(med(|r| r.hub_cpu_us_direct), 2)
    );
    let direct_ids = med(|r| Some(r.direct_ids_rate));
    let _ = writeln!(
        out,
        "| direct acked publish into {}, each with a Nats-Msg-Id (256 in flight) | {} | - | {} |",
        hub.name,
        opt(direct_ids, 0),
        opt(med(|r| r.hub_cpu_us_direct_ids), 2)
    );
    if let (Some(a), Some(b)) = (replay, direct) {
        let _ = writeln!(
            out,
            "\nreplay ÷ direct: {:.2}x (target: at least 0.70x)",
            a / b
        );
    }
    if let (Some(a), Some(b)) = (replay, direct_ids) {
        let _ = writeln!(out, "replay ÷ direct with message ids: {:.2}x", a / b);
    }
    if let Some(rss) = leafd.pid.and_then(procstat::rss) {
        let _ = writeln!(out, "{} RSS after the run: {}", leafd.name, mib(rss));
    }
    Ok(out)
}
