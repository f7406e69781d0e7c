//! TLS on the client port (issue 7): `[tls]` in leafd, `tls { }` in nats-server, with
//! throwaway certificates from `util/pki.rs`. Every test here except the startup-error one
//! also passes against nats-server 2.15.1 with the same settings.
//!
//! The order of a TLS connection is nats-server's: INFO in plaintext with `tls_required`
//! (and `tls_verify` when client certificates are verified), then the client's handshake,
//! then CONNECT inside TLS; with `handshake_first` the handshake comes before INFO. A client
//! that does not start TLS is closed without a NATS reply; one that never starts is closed
//! once the handshake timeout passes, while other clients go on being served. With
//! `verify_and_map`, users without passwords are named by the certificate: by an e-mail SAN
//! or by the subject, written in either order.

use std::io::Read as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use async_nats::ConnectOptions;

use crate::util::pki::Pki;
use crate::util::{
    client_with, next_msg, sync, timeout, within, AuthKind, Broker, ClientAuth, Limits, RawConn,
    ServerTls,
};

/// A broker serving TLS with the PKI's server certificate.
fn tls_broker(pki: &Pki, verify: bool, handshake_first: bool, timeout_ms: Option<u64>) -> Broker {
    Broker::start_with(Limits {
        tls: Some(ServerTls {
            cert_file: pki.path("server.pem"),
            key_file: pki.path("server.key"),
            ca_file: verify.then(|| pki.path("ca.pem")),
            verify,
            verify_and_map: false,
            handshake_first,
            timeout_ms,
        }),
        ..Limits::default()
    })
}

/// async-nats options trusting the PKI's CA.
fn trusting(pki: &Pki) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(pki.path("ca.pem"))
        .require_tls(true)
}

/// async-nats options trusting the CA and presenting `<name>.pem`/`<name>.key`.
fn with_cert(pki: &Pki, name: &str) -> ConnectOptions {
    trusting(pki).add_client_certificate(
        pki.path(&format!("{name}.pem")),
        pki.path(&format!("{name}.key")),
    )
}

/// A message makes a round trip through the broker on `client` (one connection: its SUB is
/// processed before its PUB whatever the flush does).
async fn round_trip(client: &async_nats::Client, subject: &str) {
    let mut sub = client
        .subscribe(subject.to_owned())
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");
    client
        .publish(subject.to_owned(), "over tls".into())
        .await
        .expect("publish");
    assert_eq!(&next_msg(&mut sub).await.payload[..], b"over tls");
}

/// The connect attempt fails (the broker refused the handshake).
async fn refused(broker: &Broker, opts: ConnectOptions, what: &str) {
    let got = within("a refused TLS connect", opts.connect(broker.url())).await;
    if got.is_ok() {
        panic!("{what}: the connection was accepted");
    }
}

#[test]
fn info_says_tls_is_required_and_whether_certificates_are_verified() {
    let pki = Pki::new();
    let plain = tls_broker(&pki, false, false, None);
    let c = RawConn::open(&plain);
    assert_eq!(c.info["tls_required"], true, "INFO: {}", c.info);
    assert!(c.info.get("tls_verify").is_none(), "INFO: {}", c.info);
    let verifying = tls_broker(&pki, true, false, None);
    let c = RawConn::open(&verifying);
    assert_eq!(c.info["tls_required"], true, "INFO: {}", c.info);
    assert_eq!(c.info["tls_verify"], true, "INFO: {}", c.info);
}

#[tokio::test]
async fn async_nats_with_a_ca_file_publishes_and_subscribes() {
    let pki = Pki::new();
    let broker = tls_broker(&pki, false, false, None);
    let a = client_with(&broker, trusting(&pki)).await;
    let b = client_with(&broker, trusting(&pki)).await;
    round_trip(&a, "tls.a").await;
    let mut sub = b.subscribe("tls.cross").await.expect("subscribe");
    // Not b.flush(): async-nats may send its PING ahead of the queued SUB.
    sync(&b).await;
    a.publish("tls.cross", "from a".into())
        .await
        .expect("publish");
    assert_eq!(&next_msg(&mut sub).await.payload[..], b"from a");
    // A CA that did not sign the server's certificate: the client refuses the server.
    let wrong = ConnectOptions::new()
        .add_root_certificates(pki.path("stranger.pem"))
        .require_tls(true);
    refused(&broker, wrong, "a client trusting another CA").await;
}

#[test]
fn a_plaintext_client_is_closed_without_a_reply() {
    let pki = Pki::new();
    let broker = tls_broker(&pki, false, false, None);
    let mut c = RawConn::open(&broker);
    c.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
    let rest = c.read_until_closed();
    // No NATS reply: neither PONG nor -ERR (a TLS alert record may come first).
    let text = String::from_utf8_lossy(&rest);
    assert!(
        !text.contains("PONG") && !text.contains("-ERR") && !text.contains("INFO"),
        "after a plaintext CONNECT: {text:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_handshakes_is_closed_after_the_timeout() {
    let pki = Pki::new();
    let broker = tls_broker(&pki, false, false, Some(500));
    let started = Instant::now();
    let mut idle = RawConn::open(&broker);
    // The idle connection holds up nobody: a TLS client comes and goes meanwhile.
    let nc = client_with(&broker, trusting(&pki)).await;
    round_trip(&nc, "tls.meanwhile").await;
    let rest = tokio::task::spawn_blocking(move || idle.read_until_closed())
        .await
        .expect("reader thread");
    let took = started.elapsed();
    assert!(rest.is_empty(), "bytes before the close: {rest:?}");
    assert!(
        took >= Duration::from_millis(450),
        "closed after {took:?}, before the 500 ms handshake timeout"
    );
    round_trip(&nc, "tls.after").await;
}

#[tokio::test]
async fn mutual_tls_takes_a_certificate_from_its_ca_only() {
    let pki = Pki::new();
    let broker = tls_broker(&pki, true, false, None);
    let nc = client_with(&broker, with_cert(&pki, "client")).await;
    round_trip(&nc, "tls.mutual").await;
    refused(&broker, trusting(&pki), "no client certificate").await;
    refused(
        &broker,
        with_cert(&pki, "stranger"),
        "a client certificate from another CA",
    )
    .await;
    // The refusals cost the good connection nothing.
    round_trip(&nc, "tls.mutual.after").await;
}

#[tokio::test]
async fn handshake_first_serves_tls_first_clients_and_sends_no_plaintext() {
    let pki = Pki::new();
    let broker = tls_broker(&pki, false, true, Some(1000));
    let nc = client_with(&broker, trusting(&pki).tls_first()).await;
    round_trip(&nc, "tls.first").await;
    // A plaintext client waits for an INFO that never comes, and is closed at the timeout.
    let addr = broker.addr();
    let got = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(timeout())).expect("read timeout");
        let started = Instant::now();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        (got, started.elapsed())
    })
    .await
    .expect("reader thread");
    assert!(got.0.is_empty(), "a TLS-first server sent {:?}", got.0);
    assert!(
        got.1 >= Duration::from_millis(900) && got.1 < timeout(),
        "closed after {:?}",
        got.1
    );
}

#[tokio::test]
async fn verify_and_map_names_the_user_from_the_certificate() {
    let pki = Pki::new();
    let users = [
        "alice@leafd.test",
        "CN=leafd test client",
        "O=Leafd Test,CN=carol",
    ];
    let broker = Broker::start_with(Limits {
        tls: Some(ServerTls {
            cert_file: pki.path("server.pem"),
            key_file: pki.path("server.key"),
            ca_file: Some(pki.path("ca.pem")),
            verify: true,
            verify_and_map: true,
            handshake_first: false,
            timeout_ms: None,
        }),
        auth: Some(ClientAuth {
            // No passwords: the certificate names the user.
            kind: AuthKind::Users(
                users
                    .iter()
                    .map(|u| (u.to_string(), String::new()))
                    .collect(),
            ),
            timeout_ms: None,
        }),
        ..Limits::default()
    });
    // An e-mail SAN, the subject as printed, the subject written in the other order.
    for name in ["alice", "client", "carol"] {
        let nc = client_with(&broker, with_cert(&pki, name)).await;
        round_trip(&nc, &format!("tls.map.{name}")).await;
    }
    // A certificate from the right CA that names no user.
    let got = within(
        "an unmapped certificate",
        with_cert(&pki, "nobody").connect(broker.url()),
    )
    .await;
    match got {
        Ok(_) => panic!("a certificate naming no user was accepted"),
        Err(e) => assert_eq!(
            e.kind(),
            async_nats::ConnectErrorKind::AuthorizationViolation,
            "{e}"
        ),
    }
    refused(&broker, trusting(&pki), "no client certificate").await;
}

/// leafd only: a `[tls]` file that cannot be used stops startup with a line naming it.
#[test]
fn an_unusable_key_file_stops_startup_naming_it() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    // The certificate where the key should be: readable, but no key in it.
    for (key, why) in [
        (pki.path("server.pem"), "holds no PEM private key"),
        (dir.path().join("missing.key"), "cannot be read"),
    ] {
        let config = dir.path().join("leafd.toml");
        std::fs::write(
            &config,
            format!(
                "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
                pki.path("server.pem"),
                key
            ),
        )
        .expect("write config");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_leafd"))
            .args(["--listen", "127.0.0.1:0", "--store"])
            .arg(dir.path().join("store"))
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run leafd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "leafd started: {stderr}");
        let want = format!("tls.key_file {} {why}", key.display());
        assert!(stderr.contains(&want), "wanted {want:?} in:\n{stderr}");
    }
}

/// SIGHUP reads the certificate files again: a renewed server certificate (here from
/// another CA, written over the same paths) serves new connections, the ones already up
/// stay; a key file that cannot be used refuses the reload and the running certificate
/// stays.
#[tokio::test]
async fn reload_reads_renewed_certificates() {
    let pki = Pki::new();
    let renewed = Pki::new();
    let limits = Limits {
        tls: Some(ServerTls {
            cert_file: pki.path("server.pem"),
            key_file: pki.path("server.key"),
            ca_file: None,
            verify: false,
            verify_and_map: false,
            handshake_first: false,
            timeout_ms: None,
        }),
        ..Limits::default()
    };
    let mut broker = Broker::start_with(limits.clone());
    let before = client_with(&broker, trusting(&pki)).await;

    for name in ["server.pem", "server.key"] {
        std::fs::copy(renewed.path(name), pki.path(name)).expect("renew");
    }
    assert!(
        broker.reload(&limits),
        "the renewed certificate was refused"
    );
    round_trip(
        &client_with(&broker, trusting(&renewed)).await,
        "tls.renewed",
    )
    .await;
    refused(&broker, trusting(&pki), "a client trusting only the old CA").await;
    round_trip(&before, "tls.before").await;

    std::fs::write(pki.path("server.key"), "not a key\n").expect("break the key");
    assert!(!broker.reload(&limits), "an unusable key file was applied");
    round_trip(&client_with(&broker, trusting(&renewed)).await, "tls.kept").await;
}
