//! Config reload on SIGHUP (issue 7, item 5): users and permissions change without dropping
//! the connections that remain allowed; a revoked user's connections get `-ERR
//! 'Authorization Violation'`; subscriptions the new permissions forbid are removed with
//! `-ERR 'Permissions Violation for Subscription to "x" (sid "1")'`; a config that does not
//! load is refused and the running one stays.
//!
//! The tests that only use `Limits` also pass against nats-server 2.15.1, which reloads on
//! SIGHUP the same way; the log-level test is leafd's.

use crate::util::{
    client_with, next_msg, sync, within, AuthKind, Broker, ClientAuth, Limits, Perms, RawConn,
};
use async_nats::{ConnectErrorKind, ConnectOptions};

fn limits(users: &[(&str, Perms)]) -> Limits {
    let list = users
        .iter()
        .map(|(u, p)| ((*u).to_owned(), format!("{u}-pw"), p.clone()))
        .collect();
    with_users(list)
}

fn with_users(list: Vec<(String, String, Perms)>) -> Limits {
    Limits {
        auth: Some(ClientAuth {
            kind: AuthKind::Permitted(list),
            timeout_ms: None,
        }),
        ..Limits::default()
    }
}

fn login(user: &str) -> ConnectOptions {
    ConnectOptions::with_user_and_password(user.into(), format!("{user}-pw"))
}

fn raw_as(broker: &Broker, user: &str) -> RawConn {
    RawConn::login(broker, user, &format!("{user}-pw"))
}

async fn round_trip(client: &async_nats::Client, subject: &str) {
    let mut sub = client
        .subscribe(subject.to_owned())
        .await
        .expect("subscribe");
    sync(client).await;
    client
        .publish(subject.to_owned(), "still here".into())
        .await
        .expect("publish");
    assert_eq!(&next_msg(&mut sub).await.payload[..], b"still here");
}

#[tokio::test]
async fn reload_revokes_a_user_and_grants_another() {
    let mut broker = Broker::start_with(limits(&[
        ("alice", Perms::default()),
        ("bob", Perms::default()),
    ]));
    let alice = client_with(&broker, login("alice")).await;
    let mut bob = raw_as(&broker, "bob");

    assert!(broker.reload(&limits(&[
        ("alice", Perms::default()),
        ("carol", Perms::default())
    ])));

    // bob's connection is closed (as nats-server does for a removed user: without an
    // -ERR); alice's stays and works.
    bob.expect_closed();
    round_trip(&alice, "reload.alice").await;
    // carol can log in now, bob no longer.
    let carol = client_with(&broker, login("carol")).await;
    round_trip(&carol, "reload.carol").await;
    let refused = within("bob's new login", login("bob").connect(broker.url())).await;
    assert_eq!(
        refused.expect_err("bob was revoked").kind(),
        ConnectErrorKind::AuthorizationViolation
    );
}

#[tokio::test]
async fn reload_closes_the_connections_of_a_changed_password() {
    let mut broker = Broker::start_with(limits(&[
        ("alice", Perms::default()),
        ("bob", Perms::default()),
    ]));
    let mut bob = raw_as(&broker, "bob");
    let alice = client_with(&broker, login("alice")).await;
    let users = |bob_pw: &str| {
        with_users(vec![
            ("alice".into(), "alice-pw".into(), Perms::default()),
            ("bob".into(), bob_pw.into(), Perms::default()),
        ])
    };
    assert!(broker.reload(&users("n3w-bob-pw")));
    bob.expect_then_closed(b"-ERR 'Authorization Violation'\r\n");
    round_trip(&alice, "reload.alice").await;
    let bob = ConnectOptions::with_user_and_password("bob".into(), "n3w-bob-pw".into());
    round_trip(&client_with(&broker, bob).await, "reload.bob").await;
}

#[tokio::test]
async fn reload_changes_permissions_and_removes_forbidden_subscriptions() {
    let mut broker = Broker::start_with(limits(&[
        ("admin", Perms::default()),
        ("dev", Perms::default()),
    ]));
    let mut dev = raw_as(&broker, "dev");
    dev.send(b"SUB cmd.* 1\r\nSUB status.x 2\r\nSUB jobs q 3\r\n");
    dev.ping_pong();

    let restricted = Perms {
        pub_deny: vec!["cmd.>".into()],
        sub_allow: Some(vec!["status.>".into(), "_INBOX.>".into()]),
        ..Perms::default()
    };
    assert!(broker.reload(&limits(&[("admin", Perms::default()), ("dev", restricted)])));

    // The two subscriptions now forbidden are removed, each with its sid (in either order).
    let mut errs = vec![
        String::from_utf8(dev.next_line()).expect("utf-8"),
        String::from_utf8(dev.next_line()).expect("utf-8"),
    ];
    errs.sort();
    assert_eq!(
        errs,
        [
            "-ERR 'Permissions Violation for Subscription to \"cmd.*\" (sid \"1\")'\r\n",
            "-ERR 'Permissions Violation for Subscription to \"jobs\" using queue \"q\" (sid \"3\")'\r\n",
        ]
    );
    // The connection stays, with the new rules for publishing too.
    dev.send(b"PUB cmd.reboot 0\r\n\r\n");
    dev.expect_line(b"-ERR 'Permissions Violation for Publish to \"cmd.reboot\"'\r\n");
    dev.ping_pong();
    let admin = client_with(&broker, login("admin")).await;
    for subject in ["cmd.reboot", "jobs", "status.x"] {
        admin
            .publish(subject, subject.into())
            .await
            .expect("publish");
    }
    admin.flush().await.expect("flush");
    // Only the subscription that is still allowed receives.
    dev.expect(b"MSG status.x 2 8\r\nstatus.x\r\n");
    dev.ping_pong();
}

#[tokio::test]
async fn a_config_that_does_not_load_is_refused_and_the_old_one_stays() {
    let mut broker = Broker::start_with(limits(&[("alice", Perms::default())]));
    let alice = client_with(&broker, login("alice")).await;
    assert!(
        !broker.reload_text("this is [not a config\n"),
        "a broken config was applied"
    );
    round_trip(&alice, "reload.kept").await;
    let again = client_with(&broker, login("alice")).await;
    round_trip(&again, "reload.again").await;
    let stranger = within("an unknown user", login("mallory").connect(broker.url())).await;
    assert!(stranger.is_err(), "auth is still on");
}

/// leafd only: `log_level` changes on SIGHUP (nats-server's `debug: true` differs).
#[tokio::test]
async fn reload_changes_the_log_level() {
    let mut broker = Broker::start_with(limits(&[("alice", Perms::default())]));
    let config = |level: &str| {
        format!(
            "log_level = {level:?}\n[auth]\n[[auth.users]]\nuser = \"alice\"\npassword = \"alice-pw\"\n"
        )
    };
    let debug_lines = |b: &Broker| b.log().matches("CONNECT lang=").count();
    client_with(&broker, login("alice")).await;
    assert_eq!(
        debug_lines(&broker),
        0,
        "info level logs no CONNECT details"
    );
    assert!(broker.reload_text(&config("debug")));
    let nc = client_with(&broker, login("alice")).await;
    sync(&nc).await;
    assert_eq!(debug_lines(&broker), 1, "debug level logs the CONNECT");
    assert!(broker.reload_text(&config("info")));
    let nc = client_with(&broker, login("alice")).await;
    sync(&nc).await;
    assert_eq!(debug_lines(&broker), 1, "back at info");
}
