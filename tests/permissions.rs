//! Per-user permissions (issue 7, item 3): publish and subscribe allow/deny lists with
//! wildcards, queue-group rules, deny rules filtering wider wildcard subscriptions at
//! delivery, `allow_responses` for request/reply services, and the JetStream API behind the
//! same publish rules. Violations get nats-server's `-ERR 'Permissions Violation for …'`
//! texts and the connection stays open.
//!
//! Every test here also passes against nats-server 2.15.1 with the same `permissions { }`.

use std::time::Duration;

use crate::util::{
    client_with, next_msg, ready_msgs, sync, AuthKind, Broker, ClientAuth, Limits, Perms, RawConn,
};

fn own(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A broker with an unrestricted `admin` and the given restricted users.
fn broker(users: &[(&str, Perms)]) -> Broker {
    let mut list = vec![("admin".to_owned(), "adm1n-pw".to_owned(), Perms::default())];
    list.extend(
        users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), format!("{u}-pw"), p.clone())),
    );
    Broker::start_with(Limits {
        auth: Some(ClientAuth {
            kind: AuthKind::Permitted(list),
            timeout_ms: None,
        }),
        ..Limits::default()
    })
}

/// A raw connection logged in as `user` (password `<user>-pw`).
fn raw_as(broker: &Broker, user: &str) -> RawConn {
    RawConn::login(broker, user, &format!("{user}-pw"))
}

async fn admin(broker: &Broker) -> async_nats::Client {
    let opts =
        async_nats::ConnectOptions::with_user_and_password("admin".into(), "adm1n-pw".into());
    client_with(broker, opts).await
}

#[tokio::test]
async fn publish_violations_are_refused_and_the_connection_stays() {
    let sensor = Perms {
        pub_allow: Some(own(&["sensors.>"])),
        pub_deny: own(&["sensors.secret.*"]),
        ..Perms::default()
    };
    let broker = broker(&[("sensor", sensor)]);
    let watcher = admin(&broker).await;
    let mut allowed = watcher.subscribe("sensors.>").await.expect("subscribe");
    let mut refused = watcher.subscribe("cmd.>").await.expect("subscribe");
    sync(&watcher).await;

    let mut raw = raw_as(&broker, "sensor");
    raw.send(b"PUB cmd.reboot 2\r\nno\r\n");
    raw.expect_line(b"-ERR 'Permissions Violation for Publish to \"cmd.reboot\"'\r\n");
    raw.send(b"PUB sensors.secret.key 2\r\nno\r\n");
    raw.expect_line(b"-ERR 'Permissions Violation for Publish to \"sensors.secret.key\"'\r\n");
    raw.send(b"PUB sensors.t1 4\r\n21.5\r\n");
    raw.ping_pong();

    // Only the allowed message went anywhere.
    let got = next_msg(&mut allowed).await;
    assert_eq!(got.subject.as_str(), "sensors.t1");
    assert_eq!(&got.payload[..], b"21.5");
    sync(&watcher).await;
    assert!(
        ready_msgs(&mut allowed).is_empty(),
        "the denied sensors.secret.key arrived"
    );
    assert!(
        ready_msgs(&mut refused).is_empty(),
        "the denied cmd.reboot arrived"
    );
}

#[tokio::test]
async fn subscribe_violations_and_queue_group_rules() {
    let worker = Perms {
        sub_allow: Some(own(&["status.>", "jobs.* workers", "_INBOX.>"])),
        sub_deny: own(&["status.private"]),
        ..Perms::default()
    };
    let broker = broker(&[("worker", worker)]);
    let mut raw = raw_as(&broker, "worker");
    raw.send(b"SUB cmd.> 1\r\n");
    raw.expect_line(b"-ERR 'Permissions Violation for Subscription to \"cmd.>\"'\r\n");
    raw.send(b"SUB status.private 2\r\n");
    raw.expect_line(b"-ERR 'Permissions Violation for Subscription to \"status.private\"'\r\n");
    // `jobs.* workers`: only the workers group, and no plain subscription, on jobs.*.
    raw.send(b"SUB jobs.build 3\r\n");
    raw.expect_line(b"-ERR 'Permissions Violation for Subscription to \"jobs.build\"'\r\n");
    raw.send(b"SUB jobs.build others 4\r\n");
    raw.expect_line(
        b"-ERR 'Permissions Violation for Subscription to \"jobs.build\" using queue \"others\"'\r\n",
    );
    // Admitted: no -ERR before the PONG.
    raw.send(b"SUB jobs.build workers 5\r\nSUB status.public 6\r\n");
    raw.ping_pong();

    // The admitted queue subscription receives work.
    let boss = admin(&broker).await;
    boss.publish("jobs.build", "go".into())
        .await
        .expect("publish");
    boss.flush().await.expect("flush");
    raw.expect(b"MSG jobs.build 5 2\r\ngo\r\n");
}

#[tokio::test]
async fn deny_rules_filter_wider_wildcards_at_delivery() {
    let device = Perms {
        sub_deny: own(&["cmd.reboot"]),
        ..Perms::default()
    };
    let broker = broker(&[("device", device)]);
    let mut raw = raw_as(&broker, "device");
    // The wildcard is admitted although it covers a denied subject...
    raw.send(b"SUB cmd.* 1\r\n");
    raw.ping_pong();
    let boss = admin(&broker).await;
    for subject in ["cmd.reboot", "cmd.status"] {
        boss.publish(subject, subject.into())
            .await
            .expect("publish");
    }
    boss.flush().await.expect("flush");
    // ...and the denied subject never reaches it.
    raw.expect(b"MSG cmd.status 1 10\r\ncmd.status\r\n");
    raw.ping_pong();
}

#[tokio::test]
async fn allow_responses_lets_a_service_answer_each_request_once() {
    let service = Perms {
        sub_allow: Some(own(&["svc.>"])),
        responses: Some((1, Duration::from_secs(60))),
        ..Perms::default()
    };
    let broker = broker(&[("service", service)]);
    let mut svc = raw_as(&broker, "service");
    svc.send(b"SUB svc.echo 1\r\n");
    svc.ping_pong();

    // The request goes out before the raw reads below block this test's thread.
    let requester = admin(&broker).await;
    let inbox = requester.new_inbox();
    let mut answers = requester.subscribe(inbox.clone()).await.expect("subscribe");
    requester
        .publish_with_reply("svc.echo", inbox.clone(), "ping".into())
        .await
        .expect("publish");
    requester.flush().await.expect("flush");
    // The service sees the request with its reply subject, and answers it.
    let line = String::from_utf8(svc.next_line()).expect("utf-8");
    assert_eq!(line, format!("MSG svc.echo 1 {inbox} 4\r\n"));
    svc.expect(b"ping\r\n");
    let reply = inbox;
    svc.send(format!("PUB {reply} 4\r\npong\r\n").as_bytes());
    svc.ping_pong();
    let answer = next_msg(&mut answers).await;
    assert_eq!(&answer.payload[..], b"pong");

    // One reply per request (max 1), and nothing else may be published.
    svc.send(format!("PUB {reply} 4\r\nmore\r\n").as_bytes());
    svc.expect_line(
        format!("-ERR 'Permissions Violation for Publish to \"{reply}\"'\r\n").as_bytes(),
    );
    svc.send(b"PUB svc.other 1\r\nx\r\n");
    svc.expect_line(b"-ERR 'Permissions Violation for Publish to \"svc.other\"'\r\n");
    svc.ping_pong();
}

#[tokio::test]
async fn the_jetstream_api_follows_the_publish_rules() {
    let reader = Perms {
        pub_allow: Some(own(&["$JS.API.INFO", "$JS.API.STREAM.INFO.*"])),
        sub_allow: Some(own(&["_INBOX.>"])),
        ..Perms::default()
    };
    let broker = broker(&[("reader", reader)]);
    let js = async_nats::jetstream::new(admin(&broker).await);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "PERM".into(),
        subjects: vec!["perm.>".into()],
        ..Default::default()
    })
    .await
    .expect("admin creates the stream");

    let mut raw = raw_as(&broker, "reader");
    raw.send(b"SUB _INBOX.r 1\r\n");
    // Allowed: stream info answers on the inbox.
    raw.send(b"PUB $JS.API.STREAM.INFO.PERM _INBOX.r 0\r\n\r\n");
    let line = String::from_utf8(raw.next_line()).expect("utf-8");
    assert!(line.starts_with("MSG _INBOX.r 1 "), "{line}");
    let body = raw.next_line();
    let info: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(info["config"]["name"], "PERM", "{info}");
    // Refused: create, delete and publishing into the stream.
    for (subject, body) in [
        (
            "$JS.API.STREAM.CREATE.MINE",
            r#"{"name":"MINE","subjects":["mine"]}"#,
        ),
        ("$JS.API.STREAM.DELETE.PERM", ""),
        ("perm.x", "data"),
    ] {
        raw.send(format!("PUB {subject} _INBOX.r {}\r\n{body}\r\n", body.len()).as_bytes());
        raw.expect_line(
            format!("-ERR 'Permissions Violation for Publish to \"{subject}\"'\r\n").as_bytes(),
        );
    }
    raw.ping_pong();
    let info = js
        .get_stream("PERM")
        .await
        .expect("the stream is still there");
    assert_eq!(info.cached_info().state.messages, 0);
}
