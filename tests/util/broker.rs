//! The broker under test as a child process: which command, which port, which limits.
//!
//! The command comes from `LEAFD_CMD`, a template with `{port}` (the client port) and `{dir}`
//! (a fresh temporary directory per broker) placeholders, split on whitespace after the
//! substitution. Unset, it runs the leafd that cargo built for this test binary. The same suite
//! runs against the real nats-server (that is how its expectations are validated) and against
//! leafd under qemu-user, e.g.
//!
//! ```text
//! LEAFD_CMD="target/test-venv/bin/nats-server -a 127.0.0.1 -p {port}" cargo test --test tests
//! LEAFD_CMD="qemu-aarch64 $BIN --listen 127.0.0.1:{port} --store {dir}/store" cargo test --test tests
//! ```
//!
//! The only place that knows the two brokers apart is [`Kind`]: it writes [`Limits`] as a leafd
//! TOML file (`--config F`) or as a nats-server conf file (`-c F`).

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a broker may take to accept connections at least; qemu-user start-up is slow.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a broker may take to accept connections: [`START_TIMEOUT`], or the test timeout
/// when that is longer (a full-system VM boots for seconds, more on a loaded machine).
fn start_timeout() -> Duration {
    START_TIMEOUT.max(crate::util::timeout())
}

/// How many fresh ports `start` tries before giving up (a port can be lost to another process
/// between the probe bind and the broker's bind).
const START_ATTEMPTS: u32 = 3;

/// Broker-side limits a test needs; `None` leaves the broker's default.
///
/// Both brokers require `max_pending >= max_payload`, so a test lowering `max_pending` below
/// 1 MiB must lower `max_payload` too.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// A built-in board profile (leafd `board = "NAME"`; leafd only: nats-server has none).
    pub board: Option<String>,
    pub max_connections: Option<u32>,
    pub max_payload: Option<u64>,
    pub max_control_line: Option<u64>,
    pub max_pending: Option<u64>,
    pub ping_interval: Option<Duration>,
    pub ping_max: Option<u32>,
    /// The JetStream store's disk budget: leafd `[store] max_bytes` (with segments of a
    /// sixteenth of it), nats-server `jetstream { max_file_store }`.
    pub store_max_bytes: Option<u64>,
    /// Most messages all streams hold together: leafd `[store] max_msgs` (nats-server has
    /// no store-wide message count; tests using it are leafd-only).
    pub store_max_msgs: Option<u64>,
    /// A leaf-node uplink to a hub: leafd `[uplink]`, nats-server `leafnodes { remotes }`.
    pub uplink: Option<Uplink>,
    /// Client authentication: leafd `[auth]`, nats-server `authorization { }`.
    pub auth: Option<ClientAuth>,
    /// The monitoring listener on a port of its own: leafd `[http] listen`, nats-server
    /// `http: "127.0.0.1:PORT"` (see [`Broker::http_addr`]).
    pub http: Option<Http>,
    /// TLS on the client port: leafd `[tls]`, nats-server `tls { }`.
    pub tls: Option<ServerTls>,
}

/// The monitoring part of [`Limits`]; the bounds are leafd's own `[http]` keys (nats-server
/// has none, so a test setting them is leafd-only).
#[derive(Debug, Clone, Default)]
pub struct Http {
    /// `[http] max_connections`.
    pub max_connections: Option<u32>,
    /// `[http] request_timeout`.
    pub request_timeout: Option<Duration>,
}

/// TLS on the client port, the keys both brokers share.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The CA client certificates must chain to (with `verify`).
    pub ca_file: Option<PathBuf>,
    /// Require a client certificate.
    pub verify: bool,
    /// Also name the user from the certificate (users may then have empty passwords).
    pub verify_and_map: bool,
    /// TLS handshake before INFO.
    pub handshake_first: bool,
    /// Handshake timeout (`None`: the brokers' 2 s).
    pub timeout_ms: Option<u64>,
}

/// Who may connect, and how long they have to say so (`None`: the brokers' 2 s).
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub kind: AuthKind,
    pub timeout_ms: Option<u64>,
}

/// The credentials clients must present.
#[derive(Debug, Clone)]
pub enum AuthKind {
    Token(String),
    /// `(user, password)` pairs.
    Users(Vec<(String, String)>),
    /// Public keys (`U…`) of nkey users.
    Nkeys(Vec<String>),
    /// `(user, password, permissions)`.
    Permitted(Vec<(String, String, Perms)>),
}

/// What one user may do: leafd `[auth.users.permissions]`, nats-server `permissions { }`.
#[derive(Debug, Clone, Default)]
pub struct Perms {
    pub pub_allow: Option<Vec<String>>,
    pub pub_deny: Vec<String>,
    pub sub_allow: Option<Vec<String>>,
    pub sub_deny: Vec<String>,
    /// `allow_responses` as `(max, expires)`; a negative max means no limit.
    pub responses: Option<(i64, Duration)>,
}

impl Perms {
    /// `publish`, `subscribe` and `allow_responses` as `(key, value)` pairs, the lists in
    /// `[..]` (the same literal form in TOML and nats-server's conf), `kv` joining a map's
    /// key and value (`" = "` or `": "`).
    fn pairs(&self, kv: &str) -> Vec<(&'static str, String)> {
        let list = |l: &[String]| {
            let items: Vec<String> = l.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", items.join(", "))
        };
        let rules = |allow: &Option<Vec<String>>, deny: &[String]| {
            let mut parts = Vec::new();
            if let Some(a) = allow {
                parts.push(format!("allow{kv}{}", list(a)));
            }
            if !deny.is_empty() {
                parts.push(format!("deny{kv}{}", list(deny)));
            }
            (!parts.is_empty()).then(|| format!("{{ {} }}", parts.join(", ")))
        };
        let mut out = Vec::new();
        if let Some(r) = rules(&self.pub_allow, &self.pub_deny) {
            out.push(("publish", r));
        }
        if let Some(r) = rules(&self.sub_allow, &self.sub_deny) {
            out.push(("subscribe", r));
        }
        if let Some((max, expires)) = self.responses {
            let ms = expires.as_millis();
            out.push((
                "allow_responses",
                format!("{{ max{kv}{max}, expires{kv}\"{ms}ms\" }}"),
            ));
        }
        out
    }
}

/// The uplink part of [`Limits`].
#[derive(Debug, Clone, Default)]
pub struct Uplink {
    /// Hub leafnode URLs (`nats-leaf://…`).
    pub urls: Vec<String>,
    /// Node name (leafd `[uplink] name`, nats-server `server_name`).
    pub name: String,
    /// `(stream, subject_prefix)` of each `[[uplink.forward]]` (leafd only: nats-server has
    /// no such thing, so tests that forward run against leafd only).
    pub forward: Vec<(String, Option<String>)>,
    /// Raw TOML lines for leafd's `[uplink]` credentials, e.g. `token = "t0ken"` or
    /// `user = "leaf"\npassword = "s3cret"` (leafd only).
    pub auth_toml: Option<String>,
    /// Raw TOML lines for leafd's `[uplink.tls]` table, e.g. `ca_file = "/x/ca.pem"` (leafd
    /// only). Written after every plain `[uplink]` key and before any `[[uplink.forward]]`,
    /// so no later `[uplink]` key lands in the table.
    pub tls_toml: Option<String>,
}

impl Limits {
    fn is_default(&self) -> bool {
        self.board.is_none()
            && self.max_connections.is_none()
            && self.max_payload.is_none()
            && self.max_control_line.is_none()
            && self.max_pending.is_none()
            && self.ping_interval.is_none()
            && self.ping_max.is_none()
            && self.store_max_bytes.is_none()
            && self.store_max_msgs.is_none()
            && self.uplink.is_none()
            && self.auth.is_none()
            && self.http.is_none()
            && self.tls.is_none()
    }

    /// `(key, value)` pairs, values already in the syntax both formats accept (integers, and
    /// durations as quoted `"<n>ms"` strings that leafd's humantime and Go both parse).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut num = |key, v: Option<u64>| {
            if let Some(v) = v {
                out.push((key, v.to_string()));
            }
        };
        num("max_connections", self.max_connections.map(u64::from));
        num("max_payload", self.max_payload);
        num("max_control_line", self.max_control_line);
        num("max_pending", self.max_pending);
        num("ping_max", self.ping_max.map(u64::from));
        if let Some(d) = self.ping_interval {
            out.push(("ping_interval", format!("\"{}ms\"", d.as_millis())));
        }
        out
    }
}

/// Which broker the command runs; decides the config-file dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leafd,
    NatsServer,
}

impl Kind {
    fn of(template: &str) -> Kind {
        if template.contains("nats-server") {
            Kind::NatsServer
        } else {
            Kind::Leafd
        }
    }

    /// Writes `limits` in this broker's config format and returns the flag that loads it.
    fn config_flag(self, dir: &std::path::Path, limits: &Limits, http_port: Option<u16>) -> String {
        let (file, text, flag) = match self {
            Kind::Leafd => {
                let mut t = String::new();
                if let Some(board) = &limits.board {
                    let _ = writeln!(t, "board = {board:?}");
                }
                t.push_str("[limits]\n");
                for (k, v) in limits.pairs() {
                    let _ = writeln!(t, "{k} = {v}");
                }
                if limits.store_max_bytes.is_some() || limits.store_max_msgs.is_some() {
                    t.push_str("[store]\n");
                }
                if let Some(max) = limits.store_max_bytes {
                    let _ = writeln!(t, "max_bytes = {max}\nsegment_bytes = {}", max / 16);
                }
                if let Some(max) = limits.store_max_msgs {
                    let _ = writeln!(t, "max_msgs = {max}");
                }
                if let Some(u) = &limits.uplink {
                    let urls: Vec<String> = u.urls.iter().map(|x| format!("{x:?}")).collect();
                    let _ = writeln!(
                        t,
                        "[uplink]\nurls = [{}]\nname = {:?}\nreconnect_min = \"50ms\"\nreconnect_max = \"500ms\"",
                        urls.join(", "),
                        u.name
                    );
                    if let Some(auth) = &u.auth_toml {
                        let _ = writeln!(t, "{auth}");
                    }
                    // A table: every plain `[uplink]` key must come before it.
                    if let Some(tls) = &u.tls_toml {
                        let _ = writeln!(t, "[uplink.tls]\n{tls}");
                    }
                    for (stream, prefix) in &u.forward {
                        let _ = writeln!(t, "[[uplink.forward]]\nstream = {stream:?}");
                        if let Some(p) = prefix {
                            let _ = writeln!(t, "subject_prefix = {p:?}");
                        }
                    }
                }
                if let Some(a) = &limits.auth {
                    t.push_str("[auth]\n");
                    if let Some(ms) = a.timeout_ms {
                        let _ = writeln!(t, "timeout = \"{ms}ms\"");
                    }
                    match &a.kind {
                        AuthKind::Token(token) => {
                            let _ = writeln!(t, "token = {token:?}");
                        }
                        AuthKind::Users(users) => {
                            for (user, password) in users {
                                let _ = writeln!(t, "[[auth.users]]\nuser = {user:?}");
                                // Empty: named by its certificate (verify_and_map).
                                if !password.is_empty() {
                                    let _ = writeln!(t, "password = {password:?}");
                                }
                            }
                        }
                        AuthKind::Nkeys(keys) => {
                            for key in keys {
                                let _ = writeln!(t, "[[auth.users]]\nnkey = {key:?}");
                            }
                        }
                        AuthKind::Permitted(users) => {
                            for (user, password, perms) in users {
                                let _ = writeln!(
                                    t,
                                    "[[auth.users]]\nuser = {user:?}\npassword = {password:?}"
                                );
                                let pairs = perms.pairs(" = ");
                                if !pairs.is_empty() {
                                    t.push_str("[auth.users.permissions]\n");
                                }
                                for (k, v) in pairs {
                                    let _ = writeln!(t, "{k} = {v}");
                                }
                            }
                        }
                    }
                }
                if let (Some(h), Some(port)) = (&limits.http, http_port) {
                    let _ = writeln!(t, "[http]\nlisten = \"127.0.0.1:{port}\"");
                    if let Some(n) = h.max_connections {
                        let _ = writeln!(t, "max_connections = {n}");
                    }
                    if let Some(d) = h.request_timeout {
                        let _ = writeln!(t, "request_timeout = \"{}ms\"", d.as_millis());
                    }
                }
                if let Some(tls) = &limits.tls {
                    let _ = writeln!(
                        t,
                        "[tls]\ncert_file = {:?}\nkey_file = {:?}\nverify = {}\nverify_and_map = {}\nhandshake_first = {}",
                        tls.cert_file, tls.key_file, tls.verify, tls.verify_and_map, tls.handshake_first
                    );
                    if let Some(ca) = &tls.ca_file {
                        let _ = writeln!(t, "ca_file = {ca:?}");
                    }
                    if let Some(ms) = tls.timeout_ms {
                        let _ = writeln!(t, "timeout = \"{ms}ms\"");
                    }
                }
                ("leafd.toml", t, "--config")
            }
            Kind::NatsServer => {
                assert!(
                    limits.board.is_none(),
                    "board profiles are leafd's; this test cannot run against nats-server"
                );
                let mut t = String::new();
                for (k, v) in limits.pairs() {
                    let _ = writeln!(t, "{k}: {v}");
                }
                if let Some(max) = limits.store_max_bytes {
                    let _ = writeln!(t, "jetstream {{ max_file_store: {max} }}");
                }
                if let Some(u) = &limits.uplink {
                    assert!(
                        u.forward.is_empty(),
                        "[[uplink.forward]] is leafd's; this test cannot run against nats-server"
                    );
                    assert!(
                        u.auth_toml.is_none(),
                        "auth_toml is leafd-only; this test cannot run against nats-server"
                    );
                    assert!(
                        u.tls_toml.is_none(),
                        "tls_toml is leafd-only; this test cannot run against nats-server"
                    );
                    let urls: Vec<String> = u.urls.iter().map(|x| format!("{x:?}")).collect();
                    let _ = writeln!(
                        t,
                        "server_name: {:?}\nleafnodes {{ reconnect: \"500ms\", remotes: [ {{ urls: [{}] }} ] }}",
                        u.name,
                        urls.join(", ")
                    );
                }
                if let Some(a) = &limits.auth {
                    let timeout = a.timeout_ms.map_or_else(String::new, |ms| {
                        format!(", timeout: {}", ms as f64 / 1000.0)
                    });
                    let what = match &a.kind {
                        AuthKind::Token(token) => format!("token: {token:?}"),
                        AuthKind::Users(users) => {
                            let list: Vec<String> = users
                                .iter()
                                .map(|(u, p)| match p.is_empty() {
                                    true => format!("{{user: {u:?}}}"),
                                    false => format!("{{user: {u:?}, password: {p:?}}}"),
                                })
                                .collect();
                            format!("users: [{}]", list.join(", "))
                        }
                        AuthKind::Nkeys(keys) => {
                            let list: Vec<String> =
                                keys.iter().map(|k| format!("{{nkey: {k:?}}}")).collect();
                            format!("users: [{}]", list.join(", "))
                        }
                        AuthKind::Permitted(users) => {
                            let list: Vec<String> = users
                                .iter()
                                .map(|(u, p, perms)| {
                                    let pairs: Vec<String> = perms
                                        .pairs(": ")
                                        .into_iter()
                                        .map(|(k, v)| format!("{k}: {v}"))
                                        .collect();
                                    format!(
                                        "{{user: {u:?}, password: {p:?}, permissions: {{ {} }}}}",
                                        pairs.join(", ")
                                    )
                                })
                                .collect();
                            format!("users: [{}]", list.join(", "))
                        }
                    };
                    let _ = writeln!(t, "authorization {{ {what}{timeout} }}");
                }
                if let (Some(h), Some(port)) = (&limits.http, http_port) {
                    assert!(
                        h.max_connections.is_none() && h.request_timeout.is_none(),
                        "[http] bounds are leafd's; this test cannot run against nats-server"
                    );
                    let _ = writeln!(t, "http: \"127.0.0.1:{port}\"");
                }
                if let Some(tls) = &limits.tls {
                    let mut keys = format!(
                        "cert_file: {:?}, key_file: {:?}, verify: {}, verify_and_map: {}, handshake_first: {}",
                        tls.cert_file, tls.key_file, tls.verify, tls.verify_and_map, tls.handshake_first
                    );
                    if let Some(ca) = &tls.ca_file {
                        let _ = write!(keys, ", ca_file: {ca:?}");
                    }
                    if let Some(ms) = tls.timeout_ms {
                        let _ = write!(keys, ", timeout: {}", ms as f64 / 1000.0);
                    }
                    let _ = writeln!(t, "tls {{ {keys} }}");
                }
                ("nats-server.conf", t, "-c")
            }
        };
        let path = dir.join(file);
        fs::write(&path, text).expect("write broker config file");
        format!("{flag} {}", path.display())
    }
}

/// The broker command template (see the module docs).
fn template() -> String {
    match std::env::var("LEAFD_CMD") {
        Ok(t) if !t.trim().is_empty() => t,
        _ => format!(
            "{} --listen 127.0.0.1:{{port}} --store {{dir}}/store",
            env!("CARGO_BIN_EXE_leafd")
        ),
    }
}

/// A candidate port below Linux's ephemeral range (32768–60999). A port from `bind(:0)` lies
/// inside that range, where any client's outgoing socket (the tests open hundreds) may take it
/// before the broker binds; ports below it are only ever taken on purpose. Each test process
/// walks its own slice, starting at an offset from its pid.
pub fn candidate_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = (LOW + n % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Why a start attempt failed.
enum StartError {
    Exited(ExitStatus),
    Timeout,
}

/// A running broker; killed on drop. When the test is failing, drop prints the broker's log.
#[derive(Debug)]
pub struct Broker {
    child: Option<Child>,
    port: u16,
    /// Template with the config flag appended, `{port}` not yet substituted.
    template: String,
    dir: tempfile::TempDir,
    log_path: PathBuf,
    /// Set once a panic message already carried the log, so drop does not print it again.
    log_shown: bool,
    /// The monitoring port, when [`Limits::http`] asked for one.
    http_port: Option<u16>,
    /// The broker sends no plaintext INFO (TLS handshake first): ready means accepting.
    tls_first: bool,
}

impl Broker {
    /// Starts the broker with its default limits.
    pub fn start() -> Broker {
        Broker::start_with(Limits::default())
    }

    /// Starts the broker with `limits` written to a config file in its own format.
    pub fn start_with(limits: Limits) -> Broker {
        Broker::start_full(template(), limits, None)
    }

    /// [`Broker::start_with`] running `command` (a template like `LEAFD_CMD`'s) instead of
    /// the one the environment chose.
    pub fn start_command(command: &str, limits: Limits) -> Broker {
        Broker::start_full(command.to_owned(), limits, None)
    }

    /// [`Broker::start_with`], keeping the JetStream store in `store` instead of the
    /// broker's temporary directory (the `{dir}/store` or `{dir}/js` of the command).
    pub fn start_with_store(limits: Limits, store: &std::path::Path) -> Broker {
        Broker::start_full(template(), limits, Some(store))
    }

    fn start_full(mut template: String, limits: Limits, store: Option<&std::path::Path>) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix("leafd-test-")
            .tempdir()
            .expect("create temporary directory");
        assert!(
            template.contains("{port}"),
            "LEAFD_CMD must contain a {{port}} placeholder, got: {template}"
        );
        let kind = Kind::of(&template);
        if let Some(store) = store {
            let store = store.display().to_string();
            template = template
                .replace("{dir}/store", &store)
                .replace("{dir}/js", &store);
        }
        let http_port = limits.http.as_ref().map(|_| candidate_port());
        if !limits.is_default() {
            let flag = kind.config_flag(dir.path(), &limits, http_port);
            template = format!("{template} {flag}");
        }
        let log_path = dir.path().join("broker.log");
        let mut broker = Broker {
            child: None,
            port: 0,
            template,
            dir,
            log_path,
            log_shown: false,
            http_port,
            tls_first: limits.tls.as_ref().is_some_and(|t| t.handshake_first),
        };
        for attempt in 1..=START_ATTEMPTS {
            broker.port = candidate_port();
            match broker.spawn_and_wait() {
                Ok(()) => return broker,
                Err(StartError::Exited(status)) if attempt < START_ATTEMPTS => {
                    broker.note(&format!("exited with {status}; retrying on another port"));
                }
                Err(e) => broker.fail_start(e),
            }
        }
        unreachable!("the last attempt either returns or panics")
    }

    /// Kills the broker (SIGKILL) and starts it again on the same port (same limits, same
    /// directory).
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Stops the broker gracefully (SIGTERM, waiting for it to exit) and starts it again on
    /// the same port and directory.
    pub fn restart_graceful(&mut self) {
        let status = self.terminate();
        assert!(status.success(), "graceful stop exited with {status}");
        self.start_again();
    }

    fn start_again(&mut self) {
        let deadline = Instant::now() + start_timeout();
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                // The old socket can linger for a moment; only the same port will do here.
                Err(StartError::Exited(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => self.fail_start(e),
            }
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The monitoring listener's address (the test asked for it in [`Limits::http`]).
    pub fn http_addr(&self) -> SocketAddr {
        let port = self.http_port.expect("start the broker with Limits::http");
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The broker process's id while it runs (under qemu-user, qemu's).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The broker's JetStream store directory (`{dir}/store` for leafd, `{dir}/js` for
    /// nats-server, as the default and validation commands place them).
    pub fn store_dir(&self) -> PathBuf {
        let leafd = self.dir.path().join("store");
        if leafd.exists() {
            leafd
        } else {
            self.dir.path().join("js")
        }
    }

    /// Writes `limits` over the broker's config file and sends SIGHUP (leafd and
    /// nats-server both reload on it); waits until the broker logs that it reloaded or
    /// refused to. Returns whether it reloaded.
    pub fn reload(&mut self, limits: &Limits) -> bool {
        let kind = Kind::of(&self.template);
        let flag = kind.config_flag(self.dir.path(), limits, self.http_port);
        assert!(
            self.template.contains(&flag),
            "reload needs a broker started with a config file (non-default Limits)"
        );
        self.hup_and_wait(kind)
    }

    /// Writes `text` over the broker's config file and sends SIGHUP, as [`Broker::reload`].
    pub fn reload_text(&mut self, text: &str) -> bool {
        let kind = Kind::of(&self.template);
        let file = match kind {
            Kind::Leafd => "leafd.toml",
            Kind::NatsServer => "nats-server.conf",
        };
        fs::write(self.dir.path().join(file), text).expect("rewrite the config file");
        self.hup_and_wait(kind)
    }

    fn hup_and_wait(&mut self, kind: Kind) -> bool {
        let (done, refused) = match kind {
            Kind::Leafd => ("configuration reloaded", "reload refused"),
            Kind::NatsServer => (
                "Reloaded server configuration",
                "Failed to reload server configuration",
            ),
        };
        let count = |log: &str| (log.matches(done).count(), log.matches(refused).count());
        let before = count(&self.log());
        let pid = self.pid().expect("the broker is running").to_string();
        let sent = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -HUP {pid} failed");
        let deadline = Instant::now() + crate::util::timeout();
        loop {
            let now = count(&self.log());
            if now.0 > before.0 {
                return true;
            }
            if now.1 > before.1 {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "no reload line ({done:?} or {refused:?}) within {:?} of SIGHUP\n{}",
                crate::util::timeout(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the broker wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The broker's command line, placeholders filled in.
    pub fn argv(&self) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        self.template
            .replace("{port}", &self.port.to_string())
            .replace("{dir}", &dir)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    fn note(&self, line: &str) {
        if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
        {
            let _ = writeln!(f, "=== test harness: {line}");
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        let argv = self.argv();
        self.note(&format!("starting: {}", argv.join(" ")));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open broker log");
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run the broker command `{}`: {e}\n\
                     The broker comes from LEAFD_CMD (default: the leafd binary cargo built).\n\
                     Peers such as nats-server (target/test-venv) and qemu-user are installed by \
                     tests/run.sh; run it once, or install the missing program.",
                    argv.join(" ")
                )
            });
        self.child = Some(child);
        self.wait_ready()
    }

    /// Polls until the port answers with an `INFO` line from *our* child.
    fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + start_timeout();
        let mut backoff = Duration::from_millis(5);
        loop {
            let child = self.child.as_mut().expect("spawned above");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(StartError::Exited(status));
            }
            let up = if self.tls_first {
                TcpStream::connect_timeout(&self.addr(), Duration::from_millis(500)).is_ok()
            } else {
                reads_info(self.addr())
            };
            if up {
                // Another process answering on the port would leave our child exiting.
                let child = self.child.as_mut().expect("spawned above");
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(StartError::Exited(status));
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::Timeout);
            }
            // Readiness polling, not synchronisation between test steps.
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
    }

    fn fail_start(&mut self, e: StartError) -> ! {
        let why = match e {
            StartError::Exited(s) => format!("exited with {s}"),
            StartError::Timeout => {
                format!("did not accept connections within {:?}", start_timeout())
            }
        };
        self.kill();
        self.log_shown = true;
        panic!(
            "broker `{}` {why}\n--- broker log ---\n{}\n--- end of broker log ---",
            self.argv().join(" "),
            self.log()
        );
    }

    /// Sends SIGTERM and waits (up to the test timeout) for the broker to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the broker is running");
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + crate::util::timeout();
        loop {
            if let Some(status) = child.try_wait().expect("wait for the broker") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "broker did not exit within {:?} of SIGTERM\n{}",
                    crate::util::timeout(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// True when a connection to `addr` succeeds and its first line starts with `INFO `.
///
/// The read waits briefly and the caller probes again: a forwarded port (qemu's `hostfwd`,
/// in front of a VM's broker) accepts before the broker listens and then holds the connection
/// without an answer for seconds, while a fresh connection made once the broker listens gets
/// INFO at once.
pub fn reads_info(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while got.len() < 5 {
        match s.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            _ => return false,
        }
    }
    got == b"INFO "
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && !self.log_shown {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "--- broker log ({}, last {} lines) ---\n{}\n--- end of broker log ---",
                self.log_path.display(),
                tail.len(),
                tail.join("\n")
            );
        }
    }
}
