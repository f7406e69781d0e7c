//! The `leafd` binary: command line → [`Config`] → logger → bound listeners → `server::run_with_monitor`.
//!
//! Owns: acting on the parsed command line (`cli.rs` defines it with clap), setting up the
//! logger (`logger.rs`), signal handling, and the one exit path: `main` → `run() -> Result<ExitCode, Box<dyn Error>>`; an
//! error prints one line `leafd: <error>` and exits 2 (configuration or usage) or 1 (anything
//! at run time).
//! The one deliberate exception: a second SIGINT/SIGTERM exits at once (see [`shutdown`]).
//! Must not: hold broker logic or pass clap types into the library.
//! Hands off to: `leafd::config` (flags become [`Overrides`]), `leafd::server::run_with_monitor`.

mod cli;
mod logger;

use std::error::Error;
use std::io::Write as _;
use std::net::TcpListener;
use std::process::ExitCode;

use async_signal::{Signal, Signals};
use clap::Parser as _;
use leafd::config::{self, fmt_size, Config, ConfigError, Overrides};
use log::{error, info, warn, LevelFilter};
use smol::stream::StreamExt as _;

use cli::{usage_error, BenchArgs, Cli, Command, Settings, UsageError};
use logger::init_logger;

/// Runs `leafd bench` and prints its report on stdout.
fn bench(args: &BenchArgs) -> Result<ExitCode, Box<dyn Error>> {
    let mut targets = args
        .servers
        .iter()
        .map(|s| leafd::bench::Target::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(UsageError)?;
    for spec in &args.store_dirs {
        let (name, dir) = spec
            .split_once('=')
            .ok_or_else(|| UsageError(format!("expected NAME=DIR, got {spec:?}")))?;
        let target = targets
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| UsageError(format!("--store-dir names no --server: {name:?}")))?;
        target.store = Some(dir.into());
    }
    if let Some(step) = &args.restart_step {
        let [target] = targets.as_slice() else {
            return Err(UsageError("--restart-step takes exactly one --server".into()).into());
        };
        match step.as_str() {
            "fill" => leafd::bench::restart::fill(&target.addr, args.js_msgs)?,
            _ => leafd::bench::restart::wait_served(&target.addr, args.js_msgs)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.scenarios.iter().any(|s| s == "replay") {
        if args.scenarios.len() != 1 || targets.len() != 2 || args.rounds == 0 {
            return Err(UsageError(
                "--scenario replay runs alone, with two --server: the leafd whose [uplink] forwards REPLAY (prefix \"bench\") first, its hub second (tests/bench.sh --replay sets this up)".into(),
            )
            .into());
        }
        init_logger(if args.verbose {
            LevelFilter::Info
        } else {
            LevelFilter::Warn
        });
        let report =
            leafd::bench::replay::run(&targets[0], &targets[1], args.js_msgs, 128, args.rounds)?;
        print!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    let scenarios = if args.scenarios.is_empty() {
        leafd::bench::Scenario::all()
    } else {
        args.scenarios
            .iter()
            .map(|name| {
                leafd::bench::Scenario::parse(name).ok_or_else(|| {
                    UsageError(format!(
                        "unknown scenario {name:?} (see 'leafd bench --help')"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    if args.rounds == 0 || args.msgs == 0 || args.requests == 0 || args.js_msgs == 0 {
        return Err(UsageError(
            "--rounds, --msgs, --requests and --js-msgs must be at least 1".into(),
        )
        .into());
    }
    init_logger(if args.verbose {
        LevelFilter::Info
    } else {
        LevelFilter::Warn
    });
    let plan = leafd::bench::Plan {
        targets,
        scenarios,
        msgs: args.msgs,
        requests: args.requests,
        js_msgs: args.js_msgs,
        rounds: args.rounds,
    };
    print!("{}", leafd::bench::run(&plan)?); // the report, on stdout by design
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "leafd: {err}");
            if err.is::<ConfigError>() || err.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn Error>> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.exit_code() == 0 => {
            // --help or --version: clap prints them to stdout.
            e.print()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(usage_error(&e).into()),
    };
    match cli.command {
        None => serve(&cli.settings),
        Some(Command::CheckConfig(settings)) => {
            let (config, _) = load(&settings)?;
            print!("{}", config.to_toml()); // command output, on stdout by design
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Boards) => {
            print!("{}", config::boards_table()?); // command output, on stdout by design
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Bench(args)) => bench(&args),
        Some(Command::Status { server }) => {
            match leafd::bench::status::uplink_status(server.trim_start_matches("nats://")) {
                Ok(json) => {
                    println!("{json}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Flags → [`Overrides`] → [`Config`]. Also returns a note about an unusable `RUST_LOG`,
/// to be logged once the logger is up.
fn load(settings: &Settings) -> Result<(Config, Option<String>), ConfigError> {
    let flag_level = match (settings.quiet, settings.verbose) {
        (true, _) => Some(LevelFilter::Warn),
        (false, 0) => None,
        (false, 1) => Some(LevelFilter::Debug),
        (false, _) => Some(LevelFilter::Trace),
    };
    let mut note = None;
    let env_level = match std::env::var("RUST_LOG") {
        _ if flag_level.is_some() => None,
        Ok(text) if !text.trim().is_empty() => match config::parse_level(&text) {
            Ok(level) => Some(level),
            Err(why) => {
                note = Some(format!("RUST_LOG ignored: {why}"));
                None
            }
        },
        _ => None,
    };
    let overrides = Overrides {
        config_file: settings.config.clone(),
        board: settings.board.clone(),
        listen: settings.listen.clone(),
        store_dir: settings.store.clone(),
        http: settings.http.clone(),
        log_level: flag_level.or(env_level),
        jetstream: settings.no_jetstream.then_some(false),
    };
    Ok((Config::load(&overrides)?, note))
}

/// Runs the broker until SIGINT/SIGTERM.
fn serve(settings: &Settings) -> Result<ExitCode, Box<dyn Error>> {
    let (config, note) = load(settings)?;
    init_logger(config.log_level);
    if let Some(note) = note {
        warn!("{note}");
    }
    // Signals first: a test that sends SIGTERM as soon as it sees the "listening" line must
    // reach our handler, not the default one.
    let signals = Signals::new([Signal::Int, Signal::Term])
        .map_err(|e| format!("cannot watch for SIGINT/SIGTERM: {}", io_reason(&e)))?;
    let listener = TcpListener::bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {}", config.listen, io_reason(&e)))?;
    let addr = listener.local_addr()?;
    // Tests parse this line: keep "listening for clients on IP:PORT" exactly.
    info!(
        "leafd {} listening for clients on {addr}",
        env!("CARGO_PKG_VERSION")
    );
    let http = match &config.http.listen {
        None => None,
        Some(at) => {
            let http = TcpListener::bind(at)
                .map_err(|e| format!("cannot serve monitoring on {at}: {}", io_reason(&e)))?;
            let at = http.local_addr()?;
            // Tests parse this line: keep "monitoring on http://IP:PORT" exactly.
            info!("monitoring on http://{at}");
            if !at.ip().is_loopback() {
                warn!(
                    "the monitoring port {at} has no authentication and shows connection \
                     names, addresses and subjects: bind it to 127.0.0.1 or firewall it"
                );
            }
            Some(http)
        }
    };
    log_settings(&config);
    if config.auth.enabled() && config.tls.is_none() && !addr.ip().is_loopback() {
        warn!(
            "clients authenticate on {addr} without [tls]: their passwords and tokens cross \
             the network in clear (see README \"TLS on the client port\")"
        );
    }
    let reloads = reloads(settings)?;
    leafd::server::run_full(listener, http, config, shutdown(signals), reloads)?;
    info!("leafd stopped");
    Ok(ExitCode::SUCCESS)
}

/// One validated config per SIGHUP, loaded the way start-up loads it (defaults, board,
/// file, flags). A config that does not load is refused here with one ERROR line, and the
/// running one stays in force.
fn reloads(settings: &Settings) -> Result<impl smol::stream::Stream<Item = Config>, String> {
    let hup = Signals::new([Signal::Hup])
        .map_err(|e| format!("cannot watch for SIGHUP: {}", io_reason(&e)))?;
    let settings = settings.clone();
    Ok(hup.filter_map(move |signal| {
        signal.ok()?;
        let from = settings
            .config
            .as_ref()
            .map_or("no config file".to_owned(), |p| p.display().to_string());
        info!("SIGHUP: reloading the configuration ({from})");
        match load(&settings) {
            Ok((config, _)) => Some(config),
            Err(e) => {
                error!("reload refused, the running configuration stays in force: {e}");
                None
            }
        }
    }))
}

/// Completes on the first SIGINT/SIGTERM. The `Signals` then move to a thread that exits
/// the process on a second one: once registered, a signal no longer has its default effect,
/// so without this a second Ctrl-C during a slow shutdown would be swallowed.
async fn shutdown(mut signals: Signals) {
    match signals.next().await {
        Some(Ok(signal)) => info!("{}: shutting down gracefully", signal_name(signal)),
        Some(Err(e)) => warn!("cannot read signals ({}): shutting down", io_reason(&e)),
        None => warn!("signal stream ended: shutting down"),
    }
    std::thread::spawn(move || {
        if let Some(Ok(signal)) = smol::block_on(signals.next()) {
            warn!(
                "{} again: stopping without a graceful shutdown",
                signal_name(signal)
            );
            std::process::exit(1);
        }
    });
}

fn signal_name(signal: Signal) -> String {
    match signal {
        Signal::Int => "SIGINT".to_string(),
        Signal::Term => "SIGTERM".to_string(),
        other => format!("{other:?}"),
    }
}

/// Startup lines after the "listening" one: board, store, key limits, memory estimate.
fn log_settings(config: &Config) {
    match (&config.board, config.board_budget) {
        (Some(board), Some(budget)) => {
            info!("board {board}: memory budget {}", fmt_size(budget.memory))
        }
        _ => info!("no board profile: built-in defaults (see `leafd boards`)"),
    }
    if config.jetstream.enabled {
        info!(
            "store {} (up to {}, sync = {})",
            config.store.dir.display(),
            fmt_size(config.store.max_bytes),
            config.store.sync
        );
    } else {
        info!("jetstream disabled: core NATS only");
    }
    if !config.uplink.urls.is_empty() {
        let streams: Vec<&str> = config
            .uplink
            .forward
            .iter()
            .map(|f| f.stream.as_str())
            .collect();
        info!(
            "uplink: node {:?}, hub {}, forwarding {}",
            config.uplink_node(),
            config.uplink.urls.join(", "),
            if streams.is_empty() {
                "no streams".to_string()
            } else {
                streams.join(", ")
            }
        );
        if !streams.is_empty() && !config.jetstream.enabled {
            log::warn!(
                "uplink: [[uplink.forward]] needs JetStream; with it disabled nothing is forwarded"
            );
        }
    }
    let l = &config.limits;
    info!(
        "limits: max_connections={} max_payload={} max_pending={} read_buffer={} \
         max_subscriptions_total={} ping_interval={}",
        l.max_connections,
        fmt_size(l.max_payload as u64),
        fmt_size(l.max_pending as u64),
        fmt_size(l.read_buffer as u64),
        l.max_subscriptions_total,
        humantime::format_duration(l.ping_interval)
    );
    let estimate = config.memory_estimate();
    match estimate.budget {
        Some(budget) if estimate.idle_total() > budget => {
            warn!(
                "memory: {} (over budget: lower the limits)",
                estimate.summary()
            );
        }
        _ => info!("memory: {}", estimate.summary()),
    }
}

/// An I/O error's text without the trailing ` (os error N)`.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
