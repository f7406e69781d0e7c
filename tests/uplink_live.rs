//! Live traffic over the leaf-node uplink (issue 4) between the broker under test and a
//! real nats-server 2.15.1 hub: pub/sub both ways with headers, request/reply both ways,
//! queue groups on either side (local members preferred), no-responders only when neither
//! side has interest, and interest resent after the hub restarts (PROTOCOL.md §2.5-2.9).
//!
//! Interest crosses the link asynchronously, so each test first publishes probes until one
//! arrives (an event, bounded by the test timeout), then checks exact deliveries.

use std::time::Duration;

use async_nats::{client::RequestErrorKind, Client, HeaderMap, Subscriber};
use futures::StreamExt as _;

use crate::util::hub::Hub;
use crate::util::{client, sync, text, within, Broker, Limits, Uplink};

/// The broker under test, linked to `hub` as node `edge1`.
pub fn edge(urls: Vec<String>) -> Broker {
    Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls,
            name: "edge1".into(),
            forward: Vec::new(),
            auth_toml: None,
            tls_toml: None,
        }),
        ..Limits::default()
    })
}

/// An async-nats client of the hub (`url` may list several nodes, comma-separated).
pub async fn hub_client(url: &str) -> Client {
    let addrs: Vec<async_nats::ServerAddr> = url
        .split(',')
        .map(|u| u.parse().expect("hub URL"))
        .collect();
    within("connect to the hub", async_nats::connect(addrs))
        .await
        .expect("connect to the hub")
}

/// Publishes `probe` on `subject` from `publisher` until `sub` receives one: interest has
/// crossed the link. Later probes are skipped by [`next_real`].
pub async fn until_routed(publisher: &Client, subject: &str, sub: &mut Subscriber) {
    within("interest to cross the uplink", async {
        loop {
            publisher
                .publish(subject.to_owned(), "probe".into())
                .await
                .expect("publish probe");
            publisher.flush().await.expect("flush");
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                if &*m.payload == b"probe" {
                    return;
                }
            }
        }
    })
    .await;
}

/// The next message on `sub` that is not a probe.
pub async fn next_real(sub: &mut Subscriber) -> async_nats::Message {
    within("a message over the uplink", async {
        loop {
            let m = sub.next().await.expect("subscription open");
            if &*m.payload != b"probe" {
                return m;
            }
        }
    })
    .await
}

/// Lines of leafd's log that report one failed uplink attempt.
fn failed_attempts(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("cannot link") || (l.contains("link to") && l.contains("down")))
        .count()
}

/// Once `seen` finds a line in leafd's log (a failed attempt, an event bounded by the test
/// timeout), for 2 s: edge publishes never reach the hub (no link), leafd keeps serving its
/// own clients, and the attempts in that window are few (the tests' backoff from 50 ms to
/// 500 ms makes a handful; a tight loop would make hundreds). Returns the line `seen` found.
pub async fn stays_unlinked(
    b: &Broker,
    h: &Client,
    seen: impl Fn(&str) -> Option<String>,
) -> String {
    let e = client(b).await;
    let mut at_hub = h
        .subscribe("unlinked.never.>")
        .await
        .expect("subscribe at the hub");
    let mut local = e
        .subscribe("unlinked.local")
        .await
        .expect("subscribe at the edge");
    sync(h).await;
    sync(&e).await;
    let line = within("the failed attempt in leafd's log", async {
        loop {
            if let Some(l) = seen(&b.log()) {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let first = std::time::Instant::now();
    let before = failed_attempts(&b.log());
    // The window the attempts are counted in; it is the scenario, so it is waited out, with
    // probes published all along.
    while first.elapsed() < Duration::from_secs(2) {
        e.publish("unlinked.never.probe", "x".into())
            .await
            .expect("publish at the edge");
        e.flush().await.expect("flush");
        if let Ok(m) = tokio::time::timeout(Duration::from_millis(100), at_hub.next()).await {
            panic!("a message crossed a link that should not exist: {m:?}");
        }
    }
    e.publish("unlinked.local", "here".into())
        .await
        .expect("publish at the edge");
    assert_eq!(
        text(&next_real(&mut local).await),
        "here",
        "leafd still serves its clients"
    );
    let log = b.log();
    let n = failed_attempts(&log) - before;
    assert!(
        (2..20).contains(&n),
        "{n} failed attempts in {:?} after the first: expected a few, with backoff\n{log}",
        first.elapsed()
    );
    line
}

/// Requests `subject` until it is answered (the service's interest has crossed the link).
async fn until_answers(c: &Client, subject: &str) {
    within("a service across the uplink", async {
        loop {
            match tokio::time::timeout(
                Duration::from_millis(500),
                c.request(subject.to_owned(), "ping".into()),
            )
            .await
            {
                Ok(Ok(_)) => return,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
}

/// Answers requests on `subject` with `<tag>:<payload>` until the client closes.
async fn serve(c: &Client, subject: &str, queue: Option<&str>, tag: &'static str) {
    let mut sub = match queue {
        Some(q) => c.queue_subscribe(subject.to_owned(), q.to_owned()).await,
        None => c.subscribe(subject.to_owned()).await,
    }
    .expect("subscribe service");
    sync(c).await;
    let c = c.clone();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let body = format!("{tag}:{}", String::from_utf8_lossy(&m.payload));
                let _ = c.publish(reply, body.into()).await;
            }
        }
    });
}

#[tokio::test]
async fn pub_sub_crosses_the_link_both_ways_in_order_with_headers() {
    let hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let h = hub_client(&hub.node_url(0)).await;
    let e = client(&b).await;
    let mut at_hub = h.subscribe("up.>").await.unwrap();
    let mut at_edge = e.subscribe("down.>").await.unwrap();
    sync(&h).await;
    sync(&e).await;
    until_routed(&e, "up.probe", &mut at_hub).await;
    until_routed(&h, "down.probe", &mut at_edge).await;
    for (from, to, prefix) in [(&e, &mut at_hub, "up"), (&h, &mut at_edge, "down")] {
        for i in 0..100 {
            let subject = format!("{prefix}.{i}");
            if i % 10 == 0 {
                let mut headers = HeaderMap::new();
                headers.insert("X-Seq", i.to_string().as_str());
                from.publish_with_headers(subject, headers, i.to_string().into())
                    .await
                    .unwrap();
            } else {
                from.publish(subject, i.to_string().into()).await.unwrap();
            }
        }
        from.flush().await.unwrap();
        for i in 0..100 {
            let m = next_real(to).await;
            assert_eq!(m.subject.as_str(), format!("{prefix}.{i}"), "in order");
            assert_eq!(text(&m), i.to_string());
            let seq = m
                .headers
                .as_ref()
                .and_then(|h| h.get("X-Seq"))
                .map(|v| v.to_string());
            assert_eq!(seq, (i % 10 == 0).then(|| i.to_string()), "headers of {i}");
        }
    }
}

#[tokio::test]
async fn requests_cross_the_link_both_ways() {
    let hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let h = hub_client(&hub.node_url(0)).await;
    let e = client(&b).await;
    serve(&h, "hubsvc.echo", None, "hub").await;
    serve(&e, "edgesvc.echo", None, "edge").await;
    until_answers(&e, "hubsvc.echo").await;
    until_answers(&h, "edgesvc.echo").await;
    for i in 0..20 {
        let r = within(
            "edge → hub request",
            e.request("hubsvc.echo", i.to_string().into()),
        )
        .await
        .unwrap();
        assert_eq!(text(&r), format!("hub:{i}"));
        let r = within(
            "hub → edge request",
            h.request("edgesvc.echo", i.to_string().into()),
        )
        .await
        .unwrap();
        assert_eq!(text(&r), format!("edge:{i}"));
    }
}

#[tokio::test]
async fn no_responders_only_when_neither_side_has_interest() {
    let hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let h = hub_client(&hub.node_url(0)).await;
    let e = client(&b).await;
    serve(&h, "hubonly.svc", None, "hub").await;
    until_answers(&e, "hubonly.svc").await;
    let err = within(
        "request nobody serves",
        e.request("nobody.home", "x".into()),
    )
    .await
    .expect_err("no one serves nobody.home");
    assert_eq!(err.kind(), RequestErrorKind::NoResponders);
    // A request the hub's service answers is not given a 503 first.
    let r = within("request", e.request("hubonly.svc", "y".into()))
        .await
        .unwrap();
    assert_eq!(text(&r), "hub:y");
}

/// Receives `n` non-probe messages from the subscribers together; returns their payloads.
async fn collect(subs: &mut [Subscriber], n: usize) -> Vec<Vec<String>> {
    let mut got: Vec<Vec<String>> = subs.iter().map(|_| Vec::new()).collect();
    within("queue deliveries", async {
        let mut total = 0;
        while total < n {
            for (i, s) in subs.iter_mut().enumerate() {
                if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(20), s.next()).await
                {
                    if &*m.payload != b"probe" {
                        got[i].push(text(&m));
                        total += 1;
                    }
                }
            }
        }
    })
    .await;
    got
}

#[tokio::test]
async fn queue_groups_on_either_side_get_each_message_once() {
    let hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let h = hub_client(&hub.node_url(0)).await;
    let e = client(&b).await;
    // A group only at the hub, fed from the edge; a group only at the edge, fed from the hub.
    let mut hub_members = vec![
        h.queue_subscribe("hwork", "workers".into()).await.unwrap(),
        h.queue_subscribe("hwork", "workers".into()).await.unwrap(),
    ];
    let mut edge_members = vec![
        e.queue_subscribe("ework", "eworkers".into()).await.unwrap(),
        e.queue_subscribe("ework", "eworkers".into()).await.unwrap(),
    ];
    sync(&h).await;
    sync(&e).await;
    until_answers_queue(&e, "hwork", &mut hub_members).await;
    until_answers_queue(&h, "ework", &mut edge_members).await;
    for (from, subject, members) in [
        (&e, "hwork", &mut hub_members),
        (&h, "ework", &mut edge_members),
    ] {
        for i in 0..50 {
            from.publish(subject, i.to_string().into()).await.unwrap();
        }
        from.flush().await.unwrap();
        let got = collect(members, 50).await;
        let mut all: Vec<u32> = got.iter().flatten().map(|s| s.parse().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..50).collect::<Vec<_>>(),
            "{subject}: each message exactly once"
        );
    }
}

/// Probes a queue subject until one of `members` gets a probe.
async fn until_answers_queue(from: &Client, subject: &str, members: &mut [Subscriber]) {
    within("queue interest to cross the uplink", async {
        loop {
            from.publish(subject.to_owned(), "probe".into())
                .await
                .unwrap();
            from.flush().await.unwrap();
            for m in members.iter_mut() {
                if let Ok(Some(msg)) =
                    tokio::time::timeout(Duration::from_millis(50), m.next()).await
                {
                    if &*msg.payload == b"probe" {
                        return;
                    }
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_local_queue_member_is_preferred_over_the_hubs() {
    let hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let h = hub_client(&hub.node_url(0)).await;
    let e = client(&b).await;
    let mut at_hub = h.queue_subscribe("mixed", "g".into()).await.unwrap();
    let mut end_at_hub = h.subscribe("mixed.end").await.unwrap();
    sync(&h).await;
    until_routed(&e, "mixed.end", &mut end_at_hub).await;
    let mut here = e.queue_subscribe("mixed", "g".into()).await.unwrap();
    sync(&e).await;
    for i in 0..20 {
        e.publish("mixed", i.to_string().into()).await.unwrap();
    }
    // The link is ordered: once the marker reaches the hub, any of the 20 sent up would have.
    e.publish("mixed.end", "end".into()).await.unwrap();
    e.flush().await.unwrap();
    for i in 0..20 {
        let m = next_real(&mut here).await;
        assert_eq!(text(&m), i.to_string());
    }
    assert_eq!(text(&next_real(&mut end_at_hub).await), "end");
    let stray = tokio::time::timeout(Duration::from_millis(1), at_hub.next()).await;
    assert!(
        stray.is_err(),
        "the hub's member got a message the local member should have: {stray:?}"
    );
}

#[tokio::test]
async fn interest_is_resent_after_the_hub_restarts() {
    let mut hub = Hub::single();
    let b = edge(hub.leaf_urls());
    let e = client(&b).await;
    let mut at_edge = e.subscribe("down.>").await.unwrap();
    sync(&e).await;
    {
        let h = hub_client(&hub.node_url(0)).await;
        until_routed(&h, "down.probe", &mut at_edge).await;
    }
    hub.restart(0);
    let h = hub_client(&hub.node_url(0)).await;
    let mut at_hub = h.subscribe("up.>").await.unwrap();
    sync(&h).await;
    // Both directions work again: the edge re-announced down.>, the hub up.>.
    until_routed(&h, "down.probe", &mut at_edge).await;
    until_routed(&e, "up.probe", &mut at_hub).await;
    h.publish("down.after", "ok".into()).await.unwrap();
    h.flush().await.unwrap();
    assert_eq!(text(&next_real(&mut at_edge).await), "ok");
}
