//! What the `leafd` command line is: its flags, subcommands and help texts (clap), and how a
//! usage mistake reads.
//!
//! Owns: [`Cli`] and the types under it, [`UsageError`]. Must not: run anything; `main.rs`
//! turns these into a [`leafd::config::Config`] and acts on them. clap is known only here and
//! in `main.rs`.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

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
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) settings: Settings,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The flags that build a [`Config`]; shared by the broker and `check-config`.
#[derive(Debug, Clone, Args)]
pub(crate) struct Settings {
    /// Read settings from this TOML file (keys listed below)
    #[arg(short, long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Start from this board profile (see `leafd boards`)
    ///
    /// Sizes buffers, connection counts and the store for the device. Wins over `board` in
    /// the config file; the file's own keys still override the profile's.
    #[arg(long, value_name = "NAME")]
    pub(crate) board: Option<String>,
    /// Accept clients on this address [default: 0.0.0.0:4222]
    ///
    /// An IP or hostname and a port; put an IPv6 address in brackets. Port 0 lets the OS
    /// pick a free port; the startup line "listening for clients on IP:PORT" shows it.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) listen: Option<String>,
    /// Keep streams and state in this directory [default: ./leafd-data]
    #[arg(long, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// Serve monitoring over HTTP on this address [default: off]
    ///
    /// GET /healthz, /varz, /connz, /subsz, /jsz, /leafz (nats-server's JSON) and /metrics
    /// (Prometheus text). Wins over `[http] listen`. Port 0 lets the OS pick; the startup
    /// line "monitoring on http://IP:PORT" shows it.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) http: Option<String>,
    /// Serve core NATS only: no streams, no `$JS.API`, nothing written to the store
    #[arg(long)]
    pub(crate) no_jetstream: bool,
    /// Log more: -v for debug, -vv for trace
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Log warnings and errors only
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct BenchArgs {
    /// A server to drive: NAME=HOST:PORT[@PID] (repeat; the first is the one compared)
    #[arg(long = "server", value_name = "NAME=HOST:PORT[@PID]", required = true)]
    pub(crate) servers: Vec<String>,
    /// Scenarios to run (default: all): pubsub-16, pubsub-128, pubsub-1k, fanout4-128,
    /// queue4-128, reqrep-128, js-pub-128, js-pub-1k, js-pull-128, js-churn-1k (js-* need
    /// JetStream on every server); `replay` alone: --js-msgs records of 128 B buffered by
    /// the first server (a leafd forwarding REPLAY to the second) and replayed into it
    #[arg(long = "scenario", value_name = "NAME")]
    pub(crate) scenarios: Vec<String>,
    /// A server's store directory, to report its size on disk: NAME=DIR (repeat)
    #[arg(long = "store-dir", value_name = "NAME=DIR")]
    pub(crate) store_dirs: Vec<String>,
    /// Messages per throughput run
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) msgs: u64,
    /// Requests per latency run
    #[arg(long, default_value_t = 20_000)]
    pub(crate) requests: u64,
    /// Messages per js-pub / js-pull run
    #[arg(long, default_value_t = 200_000)]
    pub(crate) js_msgs: u64,
    /// Rounds; medians are taken over them
    #[arg(long, default_value_t = 5)]
    pub(crate) rounds: usize,
    /// For tests/bench.sh --restart, with one --server: `fill` stores --js-msgs acked
    /// 128-byte messages in a fresh stream BENCHRESTART; `wait` returns once the server
    /// serves that stream with all of them again (bench.sh kills and restarts it between)
    #[arg(long, value_name = "STEP", value_parser = ["fill", "wait"])]
    pub(crate) restart_step: Option<String>,
    /// Log progress (one line per run) to stderr
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

/// A command-line mistake; exits with status 2 like a config error.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for UsageError {}

/// clap's first error line, without its `error: ` prefix, plus where to look.
pub(crate) fn usage_error(e: &clap::Error) -> UsageError {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid usage");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    UsageError(format!("{first} (see 'leafd --help')"))
}
