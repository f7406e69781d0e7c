//! Hostile input (issue 7): malformed and oversized CONNECTs, thousands of connections that
//! never send CONNECT, password guessing. Each attack gets nats-server's answer, and the
//! broker keeps serving a legitimate client throughout, within the memory its model
//! promises (`max_connections × (read_buffer + 16 KiB)` for idle connections).
//!
//! Everything but the memory check also passes against nats-server 2.15.1.

use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions};

use crate::util::{
    client_with, next_msg, sync, within, AuthKind, Broker, ClientAuth, Limits, RawConn,
};

/// Silent connections opened at once: more than a Pi's default `max_connections` (1024).
const SILENT: usize = 1500;

fn guarded(timeout_ms: u64) -> Limits {
    Limits {
        max_connections: Some(SILENT as u32 + 64),
        auth: Some(ClientAuth {
            kind: AuthKind::Users(vec![("ops".into(), "0ps-pw".into())]),
            timeout_ms: Some(timeout_ms),
        }),
        ..Limits::default()
    }
}

fn ops() -> ConnectOptions {
    ConnectOptions::with_user_and_password("ops".into(), "0ps-pw".into())
}

/// A legitimate client gets in and round-trips a message.
async fn still_serving(broker: &Broker, subject: &str) {
    let nc = client_with(broker, ops()).await;
    let mut sub = nc.subscribe(subject.to_owned()).await.expect("subscribe");
    sync(&nc).await;
    nc.publish(subject.to_owned(), "ok".into())
        .await
        .expect("publish");
    assert_eq!(&next_msg(&mut sub).await.payload[..], b"ok");
}

#[tokio::test]
async fn malformed_and_oversized_connects_are_closed() {
    let broker = Broker::start_with(guarded(2000));
    // Not JSON, JSON of the wrong shape, and nesting deep enough to hurt a recursive
    // parser: each closes the connection without serving it.
    let nested = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    for body in ["{not json", "[1,2,3]", "\"a string\"", nested.as_str()] {
        let mut raw = RawConn::open(&broker);
        raw.send(format!("CONNECT {body}\r\nPING\r\n").as_bytes());
        let rest = raw.read_until_closed();
        assert!(
            !rest.windows(4).any(|w| w == b"PONG"),
            "CONNECT {:.40}: served anyway: {}",
            body,
            String::from_utf8_lossy(&rest)
        );
    }
    // A CONNECT past max_control_line (4 KiB) is cut off before it is buffered whole.
    let mut raw = RawConn::open(&broker);
    let huge = format!(r#"{{"user":"ops","pass":"{}"}}"#, "x".repeat(8192));
    raw.send(format!("CONNECT {huge}\r\n").as_bytes());
    raw.expect_then_closed(b"-ERR 'maximum control line exceeded'\r\n");
    still_serving(&broker, "hostile.connect").await;
}

#[tokio::test]
async fn silent_connections_are_cut_at_the_auth_timeout() {
    let broker = Broker::start_with(guarded(1500));
    // Each reads its INFO and then says nothing.
    let mut silent: Vec<RawConn> = (0..SILENT).map(|_| RawConn::open(&broker)).collect();
    // The broker keeps serving while they hold their sockets.
    still_serving(&broker, "hostile.silent").await;
    // Every one is told and closed once the auth timeout passes.
    for conn in &mut silent {
        conn.expect_then_closed(b"-ERR 'Authentication Timeout'\r\n");
    }
    still_serving(&broker, "hostile.after").await;
}

#[tokio::test]
async fn password_guessing_does_not_lock_out_the_right_password() {
    let broker = Broker::start_with(guarded(2000));
    let url = broker.url();
    // 32 guessers trying 20 passwords each, concurrently.
    let guessers: Vec<_> = (0..32)
        .map(|g| {
            let url = url.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let guess = ConnectOptions::with_user_and_password(
                        "ops".into(),
                        format!("guess-{g}-{i}"),
                    )
                    .connection_timeout(Duration::from_secs(10));
                    match guess.connect(url.as_str()).await {
                        Ok(_) => panic!("guess-{g}-{i} was accepted"),
                        Err(e) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation),
                    }
                }
            })
        })
        .collect();
    still_serving(&broker, "hostile.guess").await;
    for g in guessers {
        within("the guessers finish", g).await.expect("guesser");
    }
    still_serving(&broker, "hostile.guessed").await;
}

/// leafd only: the idle-connection part of the memory model holds under the silent flood.
#[tokio::test]
async fn a_silent_flood_stays_within_the_memory_model() {
    let broker = Broker::start_with(guarded(5000));
    let rss = || -> u64 {
        let pid = broker.pid().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS")
            * 1024
    };
    still_serving(&broker, "hostile.warm").await;
    let before = rss();
    let silent: Vec<RawConn> = (0..SILENT).map(|_| RawConn::open(&broker)).collect();
    still_serving(&broker, "hostile.flood").await;
    let during = rss();
    // leafd's budget per idle connection: its read buffer (32 KiB by default) + 16 KiB.
    let model = SILENT as u64 * (32 + 16) * 1024;
    let grew = during.saturating_sub(before);
    println!(
        "{SILENT} silent connections: RSS {:.1} MiB → {:.1} MiB (+{:.1} KiB each; model {:.1} MiB)",
        before as f64 / 1048576.0,
        during as f64 / 1048576.0,
        grew as f64 / 1024.0 / SILENT as f64,
        model as f64 / 1048576.0
    );
    assert!(grew <= model, "grew {grew} bytes, model {model}");
    drop(silent);
}

#[tokio::test]
async fn a_flood_of_bcrypt_guesses_does_not_stall_the_broker() {
    // bcrypt checks run off the event loop, two at a time, with a bounded queue: pub/sub
    // and plain-password logins go on while 48 guesses are checked or refused.
    let hash = bcrypt::hash_with_salt("r1ght-pw", 8, *b"leafd-test-salt!")
        .expect("hash")
        .format_for_version(bcrypt::Version::TwoA);
    let mut limits = guarded(5000);
    limits.auth = Some(ClientAuth {
        kind: AuthKind::Users(vec![
            ("ops".into(), "0ps-pw".into()),
            ("hashed".into(), hash),
        ]),
        timeout_ms: Some(5000),
    });
    let broker = Broker::start_with(limits);
    let url = broker.url();
    let guesses: Vec<_> = (0..48)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let guess =
                    ConnectOptions::with_user_and_password("hashed".into(), format!("guess-{i}"))
                        .connection_timeout(Duration::from_secs(30));
                match guess.connect(url.as_str()).await {
                    Ok(_) => panic!("guess-{i} was accepted"),
                    Err(e) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation),
                }
            })
        })
        .collect();
    still_serving(&broker, "hostile.bcrypt").await;
    for g in guesses {
        within("the guesses finish", g).await.expect("guess");
    }
    let right = ConnectOptions::with_user_and_password("hashed".into(), "r1ght-pw".into());
    client_with(&broker, right).await;
}
