//! Board budgets verified (issue 6 item 3): for each profile in `boards/`, leafd runs with
//! `board = "NAME"` and is driven to the profile's limits at once — every connection open,
//! every subscription taken, and ROOM slow consumers (the count `boards/README.md` works out)
//! backed up to `max_pending` together — and its peak RSS must stay within the profile's
//! `memory_budget`. One more connection gets `-ERR 'maximum connections exceeded'`, one more
//! subscription `-ERR 'maximum subscriptions exceeded'`, and the slow consumers are closed
//! without an `-ERR` (README, "Slow consumers and back-pressure").
//!
//! **Where the memory figures come from** (`Memory`):
//! - natively, and inside a full-system VM: leafd's own `$SYS.REQ.LEAFD.VARZ` reply (`mem` =
//!   VmRSS, `mem_peak` = VmHWM of `/proc/self/status`), since the host cannot read a guest's
//!   `/proc`;
//! - under qemu-user (`tests/run.sh` runs this module against the aarch64 and armv7 builds
//!   with `qemu-aarch64 -B … -R …` and `qemu-arm -B …`): leafd's VmRSS there is the
//!   emulator's, about 20 MiB more than the guest's own. So the test counts the guest's
//!   resident pages from the host (`util/guest_mem.rs`: the smaps entries inside the guest
//!   window `-B`/`-R` pin). VmHWM cannot be split that way, so the peak is the highest of
//!   samples taken every 10 ms and after every step of the load; a spike shorter than that
//!   can be missed. A command under qemu without `-B` fails with what to add.
//!
//! Against nats-server the module is not run: it has no board profiles.
//!
//! **Release binary**: a debug leafd idles at 35 MiB RSS (measured, empty, every board)
//! against release's 5.7 MiB: more than the Zero 2 W's whole 32 MiB budget before the first
//! client. The budgets are about the binary that ships, so without `LEAFD_CMD` this module
//! builds (`cargo build --release --bin leafd`, a no-op when fresh) and runs
//! `target/release/leafd`; with `LEAFD_CMD` it runs that command. `tests/run.sh` skips this
//! module in its debug run and runs it against `target/release/leafd` in a step of its own.
//!
//! **Store**: `rpi-zero-2w` (256 MiB) has its store filled: a discard-new stream is
//! published into until the store budget refuses with the documented 10047 JSON error
//! (`insufficient storage resources available`), then a discard-old stream takes twice the
//! budget; after every 4 MiB step `du` of the store must be within `store.max_bytes`.
//! Filling 1-8 GiB for the bigger boards would cost CI minutes (3x the budget written) and as
//! much scratch disk for the same code path (the budget is one number), so in CI the test
//! checks that leafd applies the profile's `store.max_bytes` (`leafd check-config --board
//! NAME` against `boards/NAME.toml`), and writes 2x 128 MiB through a discard-old stream of
//! `max_bytes` 128 MiB so that the store's write path and caches are in the memory figures.
//! `LEAFD_BOARDS_FILL_ALL=1` fills every board's store in full, as for the Zero; the figures
//! of that run are in `boards/README.md`. The store load runs first, then the connections,
//! subscriptions and slow consumers on top of it.
//!
//! **Stored messages**: each costs about 30 bytes of index in memory whatever its size, so
//! the store's memory bound is `store.max_msgs`. After the store load, stream MSGS takes
//! 100-byte core publishes until the store holds `max_msgs` messages (the discard-old stream
//! of the store load is evicted to make room), then a publish with a reply must get 10047.
//! MSGS stays full for the rest of the test, so its index is in every figure that follows.
//!
//! Measured figures, natively and under qemu-user, are in `boards/README.md`.

use std::future::IntoFuture as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use async_nats::jetstream::{self, stream};
use serde_json::Value;

use crate::util::guest_mem::{GuestWindow, PeakSampler};
use crate::util::{client, within, Broker, Limits, RawConn, KIB, MIB};

/// A board's figures as leafd applies them (`leafd check-config --board NAME`).
#[derive(Debug)]
struct Board {
    name: &'static str,
    memory_budget: u64,
    store_max_bytes: u64,
    store_max_msgs: u64,
    max_connections: usize,
    max_subscriptions_total: usize,
    max_pending: usize,
    max_payload: usize,
    /// Slow consumers that fit the budget with every other limit reached.
    room: usize,
}

/// `256MiB`, `256 MiB`, `8KiB`, `100000`, `10_000`, `2 GiB` in bytes.
fn parse_size(s: &str) -> u64 {
    let s = s.trim().trim_matches('"').replace(['_', ' '], "");
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("not a size: {s:?}"));
    let mult = match unit {
        "" | "B" => 1,
        "KiB" => KIB,
        "MiB" => MIB,
        "GiB" => 1024 * MIB,
        _ => panic!("unknown unit in {s:?}"),
    };
    (n * mult as f64) as u64
}

/// The lines of TOML table `[name]` in `text` (up to the next table header).
fn table<'a>(text: &'a str, name: &str) -> &'a str {
    let header = format!("[{name}]\n");
    let start = text
        .find(&header)
        .unwrap_or_else(|| panic!("no [{name}] in:\n{text}"))
        + header.len();
    let rest = &text[start..];
    &rest[..rest.find("\n[").map_or(rest.len(), |i| i + 1)]
}

/// The value of `key = value` in `text` (the first such line).
fn value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("no `{key} = …` in:\n{text}"))
}

impl Board {
    /// Reads what leafd applies for `name`, and checks it against `boards/NAME.toml`.
    fn load(name: &'static str) -> Board {
        let out = Command::new(env!("CARGO_BIN_EXE_leafd"))
            .args(["check-config", "--board", name])
            .output()
            .expect("run leafd check-config");
        assert!(out.status.success(), "check-config --board {name}: {out:?}");
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let budget = text
            .split("memory_budget ")
            .nth(1)
            .and_then(|r| r.lines().next())
            .unwrap_or_else(|| panic!("no memory_budget in:\n{text}"));
        let room = text
            .split("room for ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `room for N` in:\n{text}"));
        // Keys by table: [http] has a max_connections of its own.
        let (store, limits) = (table(&text, "store"), table(&text, "limits"));
        let num = |k| parse_size(value(limits, k)) as usize;
        let board = Board {
            name,
            memory_budget: parse_size(budget),
            store_max_bytes: parse_size(value(store, "max_bytes")),
            store_max_msgs: parse_size(value(store, "max_msgs")),
            max_connections: num("max_connections"),
            max_subscriptions_total: num("max_subscriptions_total"),
            max_pending: num("max_pending"),
            max_payload: num("max_payload"),
            room,
        };
        // What leafd applies is what the profile says (the store budget in particular).
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("boards/{name}.toml"));
        let toml = std::fs::read_to_string(&file).expect("read the board profile");
        assert_eq!(
            board.store_max_bytes,
            parse_size(value(&toml, "max_bytes")),
            "{name}: store.max_bytes"
        );
        assert_eq!(
            board.memory_budget,
            parse_size(value(&toml, "memory_budget")),
            "{name}: memory_budget"
        );
        assert_eq!(
            board.max_connections as u64,
            parse_size(value(&toml, "max_connections"))
        );
        assert_eq!(
            board.store_max_msgs,
            parse_size(value(&toml, "max_msgs")),
            "{name}: store.max_msgs"
        );
        assert_eq!(
            board.max_pending as u64,
            parse_size(value(&toml, "max_pending"))
        );
        assert!(board.room >= 1, "{name}: no room for a slow consumer");
        board
    }
}

/// The release leafd, built once per test process (see the module docs).
fn release_binary() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--bin", "leafd"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build --release");
        assert!(status.success(), "cargo build --release --bin leafd failed");
        // CARGO_BIN_EXE_leafd is <target>/debug/leafd.
        let debug = PathBuf::from(env!("CARGO_BIN_EXE_leafd"));
        let target = debug.parent().and_then(|d| d.parent()).expect("target dir");
        target.join("release/leafd").display().to_string()
    })
}

/// Starts leafd with `board = "NAME"`: `LEAFD_CMD` when set, else the release binary.
fn start(board: &Board) -> Broker {
    let limits = Limits {
        board: Some(board.name.to_owned()),
        ..Limits::default()
    };
    match std::env::var("LEAFD_CMD") {
        Ok(t) if !t.trim().is_empty() => Broker::start_with(limits),
        _ => Broker::start_command(
            &format!(
                "{} --listen 127.0.0.1:{{port}} --store {{dir}}/store",
                release_binary()
            ),
            limits,
        ),
    }
}

/// The next line that is not one of leafd's own keepalive PINGs, which are answered (its
/// first goes out 2 s after connecting, so a slow run sees them).
fn next_line(c: &mut RawConn) -> Vec<u8> {
    loop {
        let line = c.next_line();
        if line != b"PING\r\n" {
            return line;
        }
        c.send(b"PONG\r\n");
    }
}

/// PING, then expects PONG as the next line (keepalive PINGs aside).
fn sync(c: &mut RawConn) {
    c.send(b"PING\r\n");
    let line = next_line(c);
    assert_eq!(
        line,
        b"PONG\r\n",
        "expected PONG, got {}",
        line.escape_ascii()
    );
}

/// Asks leafd for its figures over `mon`, which holds `SUB _INBOX.varz 1`.
fn varz(mon: &mut RawConn) -> Value {
    request(mon, "$SYS.REQ.LEAFD.VARZ", "_INBOX.varz 1", "")
}

/// A request with a one-line JSON reply over `c`, which holds `SUB <inbox> <sid>`
/// (`inbox_sid` is `"<inbox> <sid>"`).
fn request(c: &mut RawConn, subject: &str, inbox_sid: &str, body: &str) -> Value {
    let inbox = inbox_sid.split(' ').next().expect("inbox");
    c.send(format!("PUB {subject} {inbox} {}\r\n{body}\r\n", body.len()).as_bytes());
    let head = next_line(c);
    assert!(
        head.starts_with(format!("MSG {inbox_sid} ").as_bytes()),
        "expected the reply to {subject}, got {}",
        head.escape_ascii()
    );
    let reply = next_line(c);
    serde_json::from_slice(reply.trim_ascii_end()).expect("the reply is JSON")
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("VARZ has no number `{key}`: {v}"))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / MIB as f64)
}

/// Where the memory figures come from: leafd's own VARZ reply (natively, or inside a VM), or,
/// under qemu-user, the guest's pages counted from the host (`util/guest_mem.rs`), since there
/// leafd's VmRSS would be the emulator's.
enum Memory {
    Varz,
    Guest(PeakSampler),
}

impl Memory {
    fn of(broker: &Broker) -> Memory {
        match GuestWindow::from_argv(&broker.argv()) {
            None => Memory::Varz,
            Some(Ok(window)) => Memory::Guest(PeakSampler::start(
                window,
                broker.pid().expect("the broker runs"),
            )),
            Some(Err(e)) => panic!("{e}"),
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Memory::Varz => "leafd's own (VARZ: mem = VmRSS, peak = VmHWM)",
            Memory::Guest(_) => {
                "the guest's resident pages under qemu-user, from the host's smaps \
                 (peak: sampled every 10 ms and at every step)"
            }
        }
    }

    /// RSS now; `varz` is a VARZ reply taken just before.
    fn now(&self, varz: &Value) -> u64 {
        match self {
            Memory::Varz => num(varz, "mem"),
            Memory::Guest(s) => s.sample(),
        }
    }

    /// Peak RSS so far; `varz` is a VARZ reply taken just before.
    fn peak(&self, varz: &Value) -> u64 {
        match self {
            Memory::Varz => num(varz, "mem_peak"),
            Memory::Guest(s) => {
                s.sample();
                s.peak()
            }
        }
    }

    /// For the log, not asserted: `, anon X, file Y` from `/proc/<pid>/status` natively, the
    /// qemu process's whole RSS under qemu-user, nothing when the host cannot see the process.
    fn parts(&self, broker: &Broker) -> String {
        let Some(status) = broker
            .pid()
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        else {
            return String::new();
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
                .map_or_else(|| "?".to_owned(), |kb| mib(kb * KIB))
        };
        match self {
            Memory::Varz => format!(", anon {}, file {}", field("RssAnon"), field("RssFile")),
            Memory::Guest(_) => format!(", the emulator process in all {}", field("VmRSS")),
        }
    }
}

/// Allocated bytes under `dir`, like `du` counts them.
fn du(dir: &std::path::Path) -> u64 {
    leafd::store::disk_usage(dir).expect("read the store directory")
}

/// Payload of each JetStream publish in the store fill, and messages per measured step.
const STORE_MSG: usize = 64 * 1024;
const STORE_STEP_MSGS: usize = 64;

/// Publishes one step into `subject`; the acks' results, in order.
async fn store_step(js: &jetstream::Context, subject: &str) -> Vec<bool> {
    let payload = vec![b's'; STORE_MSG];
    let mut acks = Vec::with_capacity(STORE_STEP_MSGS);
    for _ in 0..STORE_STEP_MSGS {
        acks.push(
            js.publish(subject.to_owned(), payload.clone().into())
                .await
                .expect("publish"),
        );
    }
    let mut ok = Vec::with_capacity(acks.len());
    for ack in acks {
        ok.push(within("pub ack", ack.into_future()).await.is_ok());
    }
    ok
}

/// Store budgets up to this are filled (and breached) in full; see the module docs.
const FULL_FILL_MAX: u64 = 256 * MIB;

/// Whether `budget` is filled in full: up to [`FULL_FILL_MAX`], or any with
/// `LEAFD_BOARDS_FILL_ALL=1` (3x the budget written and the budget in scratch disk: 24 GiB
/// and 8 GiB for rpi5; not for CI).
fn fills(budget: u64) -> bool {
    budget <= FULL_FILL_MAX || std::env::var("LEAFD_BOARDS_FILL_ALL").is_ok_and(|v| v == "1")
}
/// Bigger stores get a discard-old stream of this `max_bytes`, written twice over, so the
/// store's write path and caches are in the memory figures too.
const WARM_BYTES: u64 = 128 * MIB;

/// The store under load. A budget up to [`FULL_FILL_MAX`] (the Zero 2 W): a discard-new
/// stream until the budget refuses (10047), then twice the budget through a discard-old
/// stream with no limit of its own. A bigger one: twice [`WARM_BYTES`] through a discard-old
/// stream limited to it. `du` within `store.max_bytes` after every step. Returns the peak
/// `du`.
async fn fill_store(broker: &Broker, board: &Board) -> u64 {
    let budget = board.store_max_bytes;
    let full = fills(budget);
    let client = client(broker).await;
    let js = jetstream::new(client.clone());
    let store = broker.store_dir();
    let step_bytes = (STORE_MSG * STORE_STEP_MSGS) as u64;
    let mut peak = 0;
    let mut check = |what: &str, step: u64| {
        let used = du(&store);
        peak = peak.max(used);
        assert!(
            used <= budget,
            "{}: {what} step {step}: the store occupies {used} bytes, over its budget of {budget}",
            board.name
        );
    };
    let started = Instant::now();

    let mut stored = 0u64;
    if full {
        // Breach: nothing can be evicted, so publishing past the budget is refused.
        within(
            "create FULL",
            js.create_stream(stream::Config {
                name: "FULL".into(),
                subjects: vec!["full.>".into()],
                discard: stream::DiscardPolicy::New,
                ..Default::default()
            }),
        )
        .await
        .expect("create stream FULL");
        let mut step = 0;
        loop {
            let ok = store_step(&js, "full.x").await;
            stored += ok.iter().filter(|&&o| o).count() as u64 * STORE_MSG as u64;
            check("discard-new", step);
            if ok.contains(&false) {
                break;
            }
            step += 1;
            assert!(
                step * step_bytes <= 2 * budget,
                "{}: {} bytes stored into a discard-new stream and no refusal (budget {budget})",
                board.name,
                step * step_bytes
            );
        }
        let reply = within(
            "publish past the budget",
            client.request("full.x", vec![b's'; STORE_MSG].into()),
        )
        .await
        .expect("a reply to the refused publish");
        let json: Value = serde_json::from_slice(&reply.payload).expect("JSON reply");
        assert_eq!(
            json["error"],
            serde_json::json!({"code": 500, "err_code": 10047, "description": "insufficient storage resources available"}),
            "{}: the refusal past the store budget: {json}",
            board.name
        );
        eprintln!(
        "boards {}: discard-new stream refused with 10047 after {} stored ({} du) of a {} store budget",
        board.name,
        mib(stored),
        mib(du(&store)),
        mib(budget)
    );
        within("delete FULL", js.delete_stream("FULL"))
            .await
            .expect("delete stream FULL");
    }

    // Churn: twice the budget (or WARM_BYTES) through a discard-old stream.
    let (max_bytes, churned) = if full {
        (-1, budget)
    } else {
        (i64::try_from(WARM_BYTES).expect("fits"), WARM_BYTES)
    };
    within(
        "create CHURN",
        js.create_stream(stream::Config {
            name: "CHURN".into(),
            subjects: vec!["churn.>".into()],
            discard: stream::DiscardPolicy::Old,
            max_bytes,
            ..Default::default()
        }),
    )
    .await
    .expect("create stream CHURN");
    let steps = 2 * churned / step_bytes;
    for step in 0..steps {
        let ok = store_step(&js, "churn.x").await;
        assert!(
            ok.iter().all(|&o| o),
            "{}: a publish into the discard-old stream was refused at step {step}",
            board.name
        );
        check("discard-old", step);
    }
    eprintln!(
        "boards {}: {} written through the store in {:.1?}, peak du {} of a {} budget",
        board.name,
        mib(stored + steps * step_bytes),
        started.elapsed(),
        mib(peak),
        mib(budget)
    );
    drop(js);
    within("drain the store client", client.drain())
        .await
        .expect("drain the store client");
    peak
}

/// Payload of each message in the message-count fill (sensor-reading sized), and messages
/// per measured step.
const SMALL_MSG: usize = 100;
const SMALL_STEP_MSGS: usize = 20_000;

/// The stored-message bound: stream MSGS (discard new) takes core publishes of
/// [`SMALL_MSG`] bytes until the store holds `store.max_msgs` messages (the store load's
/// discard-old stream is evicted to make room), then a publish with a reply gets 10047. Left
/// full, so that the index of `max_msgs` messages is in the memory figures that follow.
/// `du` within `store.max_bytes` after every step. Returns the messages held and the peak
/// `du`.
fn fill_msgs(broker: &Broker, board: &Board) -> (u64, u64) {
    let started = Instant::now();
    let mut c = RawConn::client(broker);
    c.send(b"SUB _INBOX.fill 1\r\n");
    let inbox = "_INBOX.fill 1";
    let created = request(
        &mut c,
        "$JS.API.STREAM.CREATE.MSGS",
        inbox,
        r#"{"name":"MSGS","subjects":["msgs.>"],"discard":"new"}"#,
    );
    assert!(created.get("error").is_none(), "create MSGS: {created}");
    let total = |c: &mut RawConn| -> u64 {
        let info = request(c, "$JS.API.STREAM.INFO.MSGS", inbox, "");
        info["state"]["messages"]
            .as_u64()
            .unwrap_or_else(|| panic!("MSGS info: {info}"))
    };
    let store = broker.store_dir();
    let payload = vec![b'r'; SMALL_MSG];
    let (mut held, mut peak_du, mut step) = (0, 0, 0u64);
    loop {
        let mut frame = Vec::with_capacity(SMALL_STEP_MSGS * (SMALL_MSG + 24));
        for i in 0..SMALL_STEP_MSGS {
            frame.extend_from_slice(format!("PUB msgs.{} {SMALL_MSG}\r\n", i % 100).as_bytes());
            frame.extend_from_slice(&payload);
            frame.extend_from_slice(b"\r\n");
        }
        c.send(&frame);
        sync(&mut c);
        let now = total(&mut c);
        let used = du(&store);
        peak_du = peak_du.max(used);
        assert!(
            used <= board.store_max_bytes,
            "{}: message fill step {step}: the store occupies {used} bytes, over its budget",
            board.name
        );
        if now < held + SMALL_STEP_MSGS as u64 {
            held = now;
            break;
        }
        held = now;
        step += 1;
        assert!(
            held <= board.store_max_msgs,
            "{}: MSGS holds {held} messages, over store.max_msgs {}",
            board.name,
            board.store_max_msgs
        );
    }
    assert!(
        held <= board.store_max_msgs && held + 4096 >= board.store_max_msgs,
        "{}: MSGS stopped at {held} messages, store.max_msgs is {}",
        board.name,
        board.store_max_msgs
    );
    let refused = request(&mut c, "msgs.x", inbox, "one more");
    assert_eq!(
        refused["error"],
        serde_json::json!({"code": 500, "err_code": 10047, "description": "insufficient storage resources available"}),
        "{}: the refusal past store.max_msgs: {refused}",
        board.name
    );
    eprintln!(
        "boards {}: {held} messages of {SMALL_MSG} B held (store.max_msgs {}), then 10047; {:.1?}",
        board.name,
        board.store_max_msgs,
        started.elapsed()
    );
    (held, peak_du)
}

/// The whole check for one board (see the module docs).
async fn board_budget_holds(name: &'static str) {
    let started = Instant::now();
    let board = Board::load(name);
    let broker = start(&board);
    let memory = Memory::of(&broker);
    eprintln!("boards {name}: memory figures are {}", memory.what());

    let mut mon = RawConn::client(&broker);
    mon.send(b"SUB _INBOX.varz 1\r\n");
    sync(&mut mon);
    let empty = varz(&mut mon);
    let empty_mem = memory.now(&empty);
    assert_eq!(num(&empty, "max_connections"), board.max_connections as u64);
    assert_eq!(
        num(&empty, "max_subscriptions"),
        board.max_subscriptions_total as u64
    );
    assert_eq!(num(&empty, "max_pending"), board.max_pending as u64);
    assert_eq!(num(&empty, "max_payload"), board.max_payload as u64);

    let du_peak = {
        let peak = fill_store(&broker, &board).await;
        let (_, msgs_du) = fill_msgs(&broker, &board);
        let peak = peak.max(msgs_du);
        // The JetStream client's connection and inbox must be gone before counting.
        let deadline = Instant::now() + crate::util::timeout();
        loop {
            let v = varz(&mut mon);
            if num(&v, "connections") == 1 && num(&v, "subscriptions") == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the store client did not go away: {v}"
            );
            // Not a blocking sleep: the client's connection task runs on this runtime.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let v = varz(&mut mon);
        eprintln!(
            "boards {name}: after the store load, RSS {} (peak so far {}){}",
            mib(memory.now(&v)),
            mib(memory.peak(&v)),
            memory.parts(&broker)
        );
        peak
    };

    // Every connection: ROOM slow consumers, a publisher, the monitor, the rest idle; every
    // subscription: one per slow consumer, the monitor's inbox, the rest on the idle ones.
    let room = board.room;
    let mut slow = Vec::with_capacity(room);
    for i in 0..room {
        let mut c = RawConn::client(&broker);
        c.send(format!("SUB slow {i}\r\n").as_bytes());
        sync(&mut c);
        slow.push(c);
    }
    let mut publisher = RawConn::client(&broker);
    let n_idle = board.max_connections - room - 2;
    let n_subs = board.max_subscriptions_total - room - 1;
    let mut idle = Vec::with_capacity(n_idle);
    for i in 0..n_idle {
        let mut c = RawConn::client(&broker);
        let mine = n_subs / n_idle + usize::from(i < n_subs % n_idle);
        let mut subs = String::with_capacity(mine * 24);
        for j in 0..mine {
            subs.push_str(&format!("SUB b.{i}.{j} {}\r\n", j + 1));
        }
        c.send(subs.as_bytes());
        idle.push(c);
    }
    for c in &mut idle {
        sync(c);
    }
    let full = varz(&mut mon);
    let full_mem = memory.now(&full);
    eprintln!(
        "boards {name}: at every limit, RSS {}{}",
        mib(full_mem),
        memory.parts(&broker)
    );
    assert_eq!(num(&full, "connections"), board.max_connections as u64);
    assert_eq!(
        num(&full, "subscriptions"),
        board.max_subscriptions_total as u64
    );

    // Breaches of the connection and subscription limits get the documented -ERRs.
    let mut extra = RawConn::open(&broker);
    extra.expect_then_closed(b"-ERR 'maximum connections exceeded'\r\n");
    mon.send(b"SUB one.too.many 2\r\n");
    let line = next_line(&mut mon);
    assert_eq!(
        line,
        b"-ERR 'maximum subscriptions exceeded'\r\n",
        "one subscription past the limit: {}",
        line.escape_ascii()
    );
    sync(&mut mon);

    // ROOM slow consumers backed up at once: max_payload messages to all of them until
    // every one has been closed for passing max_pending.
    let mut frame = format!("PUB slow {}\r\n", board.max_payload).into_bytes();
    frame.extend_from_slice(&vec![b'p'; board.max_payload]);
    frame.extend_from_slice(b"\r\n");
    // Each outbox passes max_pending after that much plus what the sockets hold.
    let cap = 4 * (board.max_pending as u64 + 32 * MIB);
    let mut sent = 0u64;
    let mut sampled = 0;
    loop {
        publisher.send(&frame);
        sent += board.max_payload as u64;
        let v = varz(&mut mon);
        sampled = sampled.max(memory.now(&v));
        if num(&v, "slow_consumers") >= room as u64 {
            break;
        }
        assert!(
            sent <= cap,
            "{name}: {sent} bytes published to {room} subscribers that never read, and only {} closed as slow consumers",
            num(&v, "slow_consumers")
        );
    }
    let after = varz(&mut mon);
    let peak = memory.peak(&after);
    for (i, mut c) in slow.into_iter().enumerate() {
        let got = c.read_until_closed();
        let tail = &got[got.len().saturating_sub(64)..];
        assert!(
            !tail.windows(4).any(|w| w == b"-ERR"),
            "{name}: slow consumer {i} was closed with an -ERR; tail: {}",
            tail.escape_ascii()
        );
    }
    sync(&mut publisher);
    eprintln!(
        "boards {name}: empty {}, at every limit ({} connections, {} subscriptions) {}, \
         peak {} (highest sample {}) with {room} slow consumers at {} max_pending \
         ({} published), budget {}; store du peak {} of {}{}; {:.1?}",
        mib(empty_mem),
        board.max_connections,
        board.max_subscriptions_total,
        mib(full_mem),
        mib(peak),
        mib(sampled),
        mib(board.max_pending as u64),
        mib(sent),
        mib(board.memory_budget),
        mib(du_peak),
        mib(board.store_max_bytes),
        if fills(board.store_max_bytes) {
            " (filled)"
        } else {
            " (not filled: 2x 128 MiB through a stream of that max_bytes)"
        },
        started.elapsed()
    );
    assert!(
        peak <= board.memory_budget,
        "{name}: BUDGET BREACHED: peak RSS {peak} bytes ({}) over the {} memory budget",
        mib(peak),
        mib(board.memory_budget)
    );
    drop(idle);
}

#[tokio::test]
async fn generic_stays_within_its_budgets() {
    board_budget_holds("generic").await;
}

#[tokio::test]
async fn rpi_zero_2w_stays_within_its_budgets() {
    board_budget_holds("rpi-zero-2w").await;
}

#[tokio::test]
async fn rpi3_stays_within_its_budgets() {
    board_budget_holds("rpi3").await;
}

#[tokio::test]
async fn rpi4_stays_within_its_budgets() {
    board_budget_holds("rpi4").await;
}

#[tokio::test]
async fn rpi5_stays_within_its_budgets() {
    board_budget_holds("rpi5").await;
}
