//! Client authentication (issue 7, first part): a token, users with plain or bcrypt-hashed
//! passwords, or nkey users who sign the INFO nonce, as nats-server does it: `auth_required` in INFO, `-ERR 'Authorization Violation'` and a close
//! for bad credentials or any op before CONNECT, `-ERR 'Authentication Timeout'` and a close
//! when no CONNECT arrives in time. Credentials never reach the log.
//!
//! Every test here also passes against nats-server 2.15.1 with the same `authorization { }`
//! (`LEAFD_TEST_VALIDATE_NATS=1`), except the log check, which is leafd's.

use std::time::{Duration, Instant};

use async_nats::{ConnectErrorKind, ConnectOptions};
use futures::StreamExt as _;

use crate::util::{client_with, next_msg, within, AuthKind, Broker, ClientAuth, Limits, RawConn};

fn with_auth(kind: AuthKind, timeout_ms: Option<u64>) -> Broker {
    Broker::start_with(Limits {
        auth: Some(ClientAuth { kind, timeout_ms }),
        ..Limits::default()
    })
}

fn users() -> AuthKind {
    AuthKind::Users(vec![
        ("alice".into(), "al1ce-pw".into()),
        ("bob".into(), "b0b-pw".into()),
    ])
}

/// A round trip through the broker on an authenticated connection.
async fn round_trip(client: &async_nats::Client) {
    let mut sub = client.subscribe("auth.echo").await.expect("subscribe");
    client.flush().await.expect("flush");
    client
        .publish("auth.echo", "hello".into())
        .await
        .expect("publish");
    let msg = next_msg(&mut sub).await;
    assert_eq!(&msg.payload[..], b"hello");
}

async fn refused(broker: &Broker, opts: ConnectOptions, what: &str) {
    let got = within("a refused connect", opts.connect(broker.url())).await;
    match got {
        Ok(_) => panic!("{what}: the connection was accepted"),
        Err(e) => assert_eq!(
            e.kind(),
            ConnectErrorKind::AuthorizationViolation,
            "{what}: {e}"
        ),
    }
}

#[tokio::test]
async fn a_token_lets_in_who_has_it() {
    let broker = with_auth(AuthKind::Token("t0ken-xyz".into()), None);
    let nc = client_with(&broker, ConnectOptions::with_token("t0ken-xyz".into())).await;
    round_trip(&nc).await;
    refused(
        &broker,
        ConnectOptions::with_token("t0ken".into()),
        "a wrong token",
    )
    .await;
    refused(&broker, ConnectOptions::new(), "no token").await;
}

#[tokio::test]
async fn users_log_in_with_their_own_password() {
    let broker = with_auth(users(), None);
    for (user, pass) in [("alice", "al1ce-pw"), ("bob", "b0b-pw")] {
        let opts = ConnectOptions::with_user_and_password(user.into(), pass.into());
        round_trip(&client_with(&broker, opts).await).await;
    }
    let bad = [
        ("alice", "b0b-pw", "another user's password"),
        ("carol", "al1ce-pw", "an unknown user"),
        ("alice", "", "an empty password"),
    ];
    for (user, pass, what) in bad {
        let opts = ConnectOptions::with_user_and_password(user.into(), pass.into());
        refused(&broker, opts, what).await;
    }
    refused(&broker, ConnectOptions::new(), "no credentials").await;
}

#[tokio::test]
async fn info_says_auth_is_required() {
    let broker = with_auth(users(), None);
    let c = RawConn::open(&broker);
    assert_eq!(c.info["auth_required"], true, "INFO: {}", c.info);
    let open = Broker::start();
    let c = RawConn::open(&open);
    assert!(c.info.get("auth_required").is_none(), "INFO: {}", c.info);
}

#[test]
fn bad_credentials_get_authorization_violation_and_a_close() {
    let broker = with_auth(users(), None);
    let mut c = RawConn::open(&broker);
    c.send(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"wrong\"}\r\nPING\r\n");
    c.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
}

#[test]
fn an_op_before_connect_is_an_authorization_violation() {
    let broker = with_auth(AuthKind::Token("t".into()), None);
    let mut c = RawConn::open(&broker);
    c.send(b"PING\r\n");
    c.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
    let mut c = RawConn::open(&broker);
    c.send(b"SUB foo 1\r\n");
    c.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
}

#[test]
fn no_connect_in_time_is_an_authentication_timeout() {
    let broker = with_auth(users(), Some(500));
    let started = Instant::now();
    let mut c = RawConn::open(&broker);
    c.expect_then_closed(b"-ERR 'Authentication Timeout'\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "closed after {:?}, before the 500 ms auth timeout",
        started.elapsed()
    );
    // In time, the same connection would have been fine.
    let mut ok = RawConn::open(&broker);
    ok.send(b"CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"b0b-pw\"}\r\nPING\r\n");
    ok.expect_line(b"PONG\r\n");
}

/// leafd-only: what the log says about logins, good and bad, names users but no secret.
#[tokio::test]
async fn credentials_never_reach_the_log() {
    let broker = with_auth(users(), None);
    let good = ConnectOptions::with_user_and_password("alice".into(), "al1ce-pw".into());
    let nc = client_with(&broker, good).await;
    round_trip(&nc).await;
    let bad = ConnectOptions::with_user_and_password("bob".into(), "guess-123".into());
    refused(&broker, bad, "a wrong password").await;
    let mut sub = nc.subscribe("auth.done").await.expect("subscribe");
    nc.publish("auth.done", "x".into()).await.expect("publish");
    let _ = within("done", sub.next()).await;
    let log = broker.log();
    assert!(
        log.contains("authorization violation") && log.contains("\"bob\""),
        "the refusal is logged with its user:\n{log}"
    );
    for secret in ["al1ce-pw", "b0b-pw", "guess-123"] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

#[tokio::test]
async fn nkey_users_sign_the_nonce_of_their_info() {
    let alice = nkeys::KeyPair::new_user();
    let bob = nkeys::KeyPair::new_user();
    let broker = with_auth(
        AuthKind::Nkeys(vec![alice.public_key(), bob.public_key()]),
        None,
    );
    for kp in [&alice, &bob] {
        let seed = kp.seed().expect("seed");
        round_trip(&client_with(&broker, ConnectOptions::with_nkey(seed)).await).await;
    }
    let stranger = nkeys::KeyPair::new_user().seed().expect("seed");
    refused(
        &broker,
        ConnectOptions::with_nkey(stranger),
        "an unknown nkey",
    )
    .await;

    // Each INFO carries its own nonce; a signature of another one is refused.
    let c1 = RawConn::open(&broker);
    let mut c2 = RawConn::open(&broker);
    let n1 = c1.info["nonce"]
        .as_str()
        .expect("INFO has a nonce")
        .to_owned();
    let n2 = c2.info["nonce"]
        .as_str()
        .expect("INFO has a nonce")
        .to_owned();
    assert_ne!(n1, n2);
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(alice.sign(n1.as_bytes()).expect("sign"));
    c2.send(
        format!(
            "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{sig}\"}}\r\nPING\r\n",
            alice.public_key()
        )
        .as_bytes(),
    );
    c2.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
}

/// A bcrypt hash of `password` (cost 4: the check's cost is not what this test is about).
fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash_with_salt(password, 4, *b"leafd-test-salt!")
        .expect("hash")
        .format_for_version(bcrypt::Version::TwoA)
}

#[tokio::test]
async fn bcrypt_hashed_passwords_are_checked() {
    let broker = with_auth(
        AuthKind::Users(vec![
            ("hashed".into(), bcrypt_hash("h4shed-pw")),
            ("plain".into(), "pl4in-pw".into()),
        ]),
        None,
    );
    let good = ConnectOptions::with_user_and_password("hashed".into(), "h4shed-pw".into());
    round_trip(&client_with(&broker, good).await).await;
    let plain = ConnectOptions::with_user_and_password("plain".into(), "pl4in-pw".into());
    round_trip(&client_with(&broker, plain).await).await;
    let hash_as_password =
        ConnectOptions::with_user_and_password("hashed".into(), bcrypt_hash("h4shed-pw"));
    refused(&broker, hash_as_password, "the hash itself as the password").await;
    let wrong = ConnectOptions::with_user_and_password("hashed".into(), "h4shed-pX".into());
    refused(&broker, wrong, "a wrong password").await;
}

/// The check runs off leafd's event loop; ops the client sent right behind its CONNECT wait
/// for it, and a failed check answers nothing but the violation.
#[test]
fn ops_behind_a_bcrypt_connect_wait_for_the_check() {
    let broker = with_auth(
        AuthKind::Users(vec![("hashed".into(), bcrypt_hash("h4shed-pw"))]),
        None,
    );
    let mut c = RawConn::open(&broker);
    c.send(
        b"CONNECT {\"verbose\":false,\"user\":\"hashed\",\"pass\":\"h4shed-pw\"}\r\n\
          SUB after 1\r\nPUB after 2\r\nhi\r\nPING\r\n",
    );
    c.expect_line(b"MSG after 1 2\r\n");
    c.expect_line(b"hi\r\n");
    c.expect_line(b"PONG\r\n");
    let mut bad = RawConn::open(&broker);
    bad.send(b"CONNECT {\"verbose\":false,\"user\":\"hashed\",\"pass\":\"nope\"}\r\nPING\r\n");
    bad.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
}
