//! The `leafd` binary: command line → [`Config`] → logger → bound listeners → `server::run_with_monitor`.
//!
//! Owns: clap (the only place that knows it), setting up the logger (`logger.rs`), signal
//! handling, and the one exit path: `main` → `run() -> Result<ExitCode, Box<dyn Error>>`; an
//! error prints one line `leafd: <error>` and exits 2 (configuration or usage) or 1 (anything
//! at run time).
//! The one deliberate exception: a second SIGINT/SIGTERM exits at once (see [`shutdown`]).
//! Must not: hold broker logic or pass clap types into the library.
//! Hands off to: `leafd::config` (flags become [`Overrides`]), `leafd::server::run_with_monitor`.

mod logger;

use std::error::Error;
use std::fmt;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use async_signal::{Signal, Signals};
use clap::{ArgAction, Args, Parser, Subcommand};
use leafd::config::{self, fmt_size, Config, ConfigError, Overrides};
use log::{error, info, warn, LevelFilter};
use smol::stream::StreamExt as _;

use logger::init_logger;

const LONG_ABOUT: &str = "\
leafd serves stock NATS clients (nats.go, nats-py, async-nats, ...) on one port: pub/sub with
wildcards, request/reply, queue groups and headers. It is built for Raspberry-Pi-class gateways:
every buffer and table has a bound, and board profiles size those bounds for the device.

With no arguments leafd listens on 0.0.0.0:4222 and keeps its data in ./leafd-data.

Settings come in layers, each overriding the one before:
  1. built-in defaults
  2. a board profile: --board NAME, or board = \"NAME\" in the config file
  3. the config file: --config FILE (TOML)
  4. the flags below (--listen, --store, --http, --no-jetstream, -v, -q)
`leafd check-config` shows the result; `leafd boards` lists the profiles.";

const AFTER_LONG_HELP: &str = "\
Config file keys (TOML; an unknown key is an error):
  server_name, listen, board, log_level
  [store]   dir, max_bytes, max_msgs, sync (always | batch | interval), sync_interval,
            meta_cache, segment_bytes
  [jetstream] enabled, max_streams, max_consumers
  [auth]    token, timeout; [[auth.users]] user, password | nkey, [auth.users.permissions]
            publish, subscribe, allow_responses; [auth.default_permissions]
  [tls]     cert_file, key_file, ca_file, verify, verify_and_map, handshake_first, timeout
            (TLS on the client port)
  [http]    listen, max_connections, request_timeout, max_request_head (monitoring; off
            unless listen or --http is set)
  [uplink]  urls, name, user, password, token, nkey_seed_file, creds_file, reconnect_min,
            reconnect_max, ping_interval; [uplink.tls] ca_file, cert_file, key_file,
            server_name; [[uplink.forward]] stream, subject_prefix
  [limits]  max_connections, max_payload, max_control_line, max_pending, max_subs,
            max_subscriptions_total, read_buffer, sublist_cache, ping_interval, ping_max,
            write_deadline
  Sizes are bytes or strings: \"512KiB\", \"8MiB\", \"1GiB\" (powers of 1024) or \"64MB\" (powers
  of 1000; nats-server reads MB as MiB, leafd does not). Durations: \"500ms\", \"10s\", \"2m\".

Logging: one line per event on stderr. The level is -q/-v/-vv if given, else RUST_LOG if it
holds a bare level (error, warn, info, debug, trace), else log_level from the config (info).
Libraries that leafd uses log at info and above only. When stderr is the journal (under
systemd), lines carry a <N> syslog priority instead of a timestamp: journalctl -u leafd.

Signals: SIGINT or SIGTERM starts a graceful shutdown (exit status 0); a second one stops
leafd at once (exit status 1). SIGHUP reloads the config file: [auth] (users, passwords,
permissions), log_level and the [tls] certificate files change at once, without dropping
connections that remain allowed; a config that does not load is refused and the running
one stays.

Exit status: 0 success, 1 run-time error (e.g. the port is taken), 2 bad configuration or usage.

Examples:
  leafd                                         run on the built-in defaults
  leafd --board rpi-zero-2w --store /var/lib/leafd
  leafd -c /etc/leafd/leafd.toml -v
  leafd check-config -c /etc/leafd/leafd.toml   validate and print the effective config
  leafd --listen 127.0.0.1:0                    let the OS pick a port (logged at startup)
  leafd --http 127.0.0.1:8222                   also serve /varz, /connz, /healthz, /metrics";

/// A small NATS-compatible message broker for edge and IoT gateways.
#[derive(Debug, Parser)]
#[command(
    name = "leafd",
    version,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The flags that build a [`Config`]; shared by the broker and `check-config`.
#[derive(Debug, Clone, Args)]
struct Settings {
    /// Read settings from this TOML file (keys listed below)
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Start from this board profile (see `leafd boards`)
    ///
    /// Sizes buffers, connection counts and the store for the device. Wins over `board` in
    /// the config file; the file's own keys still override the profile's.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
    /// Accept clients on this address [default: 0.0.0.0:4222]
    ///
    /// An IP or hostname and a port; put an IPv6 address in brackets. Port 0 lets the OS
    /// pick a free port; the startup line "listening for clients on IP:PORT" shows it.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Keep streams and state in this directory [default: ./leafd-data]
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Serve monitoring over HTTP on this address [default: off]
    ///
    /// GET /healthz, /varz, /connz, /subsz, /jsz, /leafz (nats-server's JSON) and /metrics
    /// (Prometheus text). Wins over `[http] listen`. Port 0 lets the OS pick; the startup
    /// line "monitoring on http://IP:PORT" shows it.
    #[arg(long, value_name = "HOST:PORT")]
    http: Option<String>,
    /// Serve core NATS only: no streams, no `$JS.API`, nothing written to the store
    #[arg(long)]
    no_jetstream: bool,
    /// Log more: -v for debug, -vv for trace
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Log warnings and errors only
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration, print it as TOML and exit (0 if valid, 2 if not)
    ///
    /// Builds the configuration exactly as `leafd` would (defaults, board, file, flags) and
    /// prints every key, so the output is itself a complete config file. Nothing is bound.
    CheckConfig(Settings),
    /// List the board profiles built into this binary, with their budgets
    Boards,
    /// Drive NATS servers side by side and print a Markdown table (see README "Performance")
    ///
    /// Runs each scenario against every server, alternating the order round by round, and
    /// reports medians: msgs/s, server CPU µs per message and peak RSS (when a pid is
    /// given, read from /proc), request/reply latency percentiles. Start the servers
    /// yourself, or use tests/bench.sh, which starts leafd and nats-server and calls this.
    Bench(BenchArgs),
    /// Print the uplink status of a running leafd (link, hub, per forwarded stream: cursor,
    /// pending messages and bytes, oldest pending age, replay rate, losses) as JSON
    Status {
        /// The leafd's client address
        #[arg(long, default_value = "127.0.0.1:4222", value_name = "HOST:PORT")]
        server: String,
    },
}

/// `leafd bench` flags.
#[derive(Debug, Args)]
struct BenchArgs {
    /// A server to drive: NAME=HOST:PORT[@PID] (repeat; the first is the one compared)
    #[arg(long = "server", value_name = "NAME=HOST:PORT[@PID]", required = true)]
    servers: Vec<String>,
    /// Scenarios to run (default: all): pubsub-16, pubsub-128, pubsub-1k, fanout4-128,
    /// queue4-128, reqrep-128, js-pub-128, js-pub-1k, js-pull-128, js-churn-1k (js-* need
    /// JetStream on every server); `replay` alone: --js-msgs records of 128 B buffered by
    /// the first server (a leafd forwarding REPLAY to the second) and replayed into it
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// A server's store directory, to report its size on disk: NAME=DIR (repeat)
    #[arg(long = "store-dir", value_name = "NAME=DIR")]
    store_dirs: Vec<String>,
    /// Messages per throughput run
    #[arg(long, default_value_t = 1_000_000)]
    msgs: u64,
    /// Requests per latency run
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Messages per js-pub / js-pull run
    #[arg(long, default_value_t = 200_000)]
    js_msgs: u64,
    /// Rounds; medians are taken over them
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// For tests/bench.sh --restart, with one --server: `fill` stores --js-msgs acked
    /// 128-byte messages in a fresh stream BENCHRESTART; `wait` returns once the server
    /// serves that stream with all of them again (bench.sh kills and restarts it between)
    #[arg(long, value_name = "STEP", value_parser = ["fill", "wait"])]
    restart_step: Option<String>,
    /// Log progress (one line per run) to stderr
    #[arg(short, long)]
    verbose: bool,
}

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

/// A command-line mistake; exits with status 2 like a config error.
#[derive(Debug)]
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for UsageError {}

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

/// clap's first error line, without its `error: ` prefix, plus where to look.
fn usage_error(e: &clap::Error) -> UsageError {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid usage");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    UsageError(format!("{first} (see 'leafd --help')"))
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
