//! Publish/subscribe through the real Rust client (async-nats 0.51): plain and wildcard
//! subscriptions, queue groups, headers, `unsubscribe_after`, echo off, many subscriptions.

use std::collections::BTreeMap;

use async_nats::{ConnectOptions, HeaderMap};
use futures::StreamExt as _;

use crate::util::{client, client_with, next_msg, ready_msgs, sync, text, unique, within, Broker};

#[tokio::test]
async fn publish_reaches_a_subscriber_on_another_connection() {
    let b = Broker::start();
    let (subc, pubc) = (client(&b).await, client(&b).await);
    let subject = unique("ps");
    let mut sub = subc.subscribe(subject.clone()).await.unwrap();
    sync(&subc).await;
    for i in 0..10 {
        pubc.publish(subject.clone(), format!("m{i}").into())
            .await
            .unwrap();
    }
    for i in 0..10 {
        let m = next_msg(&mut sub).await;
        assert_eq!(
            (m.subject.as_str(), text(&m)),
            (subject.as_str(), format!("m{i}"))
        );
    }
}

#[tokio::test]
async fn star_and_full_wildcards_match_by_token() {
    let b = Broker::start();
    let c = client(&b).await;
    let root = unique("wc");
    let mut star = c.subscribe(format!("{root}.*")).await.unwrap();
    let mut full = c.subscribe(format!("{root}.>")).await.unwrap();
    let mut exact = c.subscribe(format!("{root}.a")).await.unwrap();
    let mut mid = c.subscribe(format!("{root}.*.c")).await.unwrap();
    sync(&c).await;
    for s in ["", ".a", ".a.b", ".a.c", ".b"] {
        c.publish(format!("{root}{s}"), s.to_owned().into())
            .await
            .unwrap();
    }
    sync(&c).await;
    let got = |sub: &mut async_nats::Subscriber| -> Vec<String> {
        ready_msgs(sub).iter().map(text).collect()
    };
    assert_eq!(got(&mut star), [".a", ".b"], "{root}.*");
    assert_eq!(got(&mut full), [".a", ".a.b", ".a.c", ".b"], "{root}.>");
    assert_eq!(got(&mut exact), [".a"], "{root}.a");
    assert_eq!(got(&mut mid), [".a.c"], "{root}.*.c");
}

#[tokio::test]
async fn queue_groups_deliver_once_per_group_and_to_every_plain_sub() {
    const N: usize = 90;
    let b = Broker::start();
    let subject = unique("jobs");
    // Three member connections, each in both groups; one plain subscriber.
    let mut members = Vec::new();
    for _ in 0..3 {
        let c = client(&b).await;
        let ga = c
            .queue_subscribe(subject.clone(), "ga".into())
            .await
            .unwrap();
        let gb = c
            .queue_subscribe(subject.clone(), "gb".into())
            .await
            .unwrap();
        sync(&c).await;
        members.push((c, ga, gb));
    }
    let plainc = client(&b).await;
    let mut plain = plainc.subscribe(subject.clone()).await.unwrap();
    sync(&plainc).await;

    let pubc = client(&b).await;
    for i in 0..N {
        pubc.publish(subject.clone(), i.to_string().into())
            .await
            .unwrap();
    }
    for i in 0..N {
        assert_eq!(text(&next_msg(&mut plain).await), i.to_string());
    }
    // Everything is queued to the members by now; a round trip on each flushes it through.
    let (mut seen_a, mut seen_b) = (BTreeMap::new(), BTreeMap::new());
    for (idx, (c, ga, gb)) in members.iter_mut().enumerate() {
        sync(c).await;
        let (a, bb) = (ready_msgs(ga), ready_msgs(gb));
        assert!(
            !a.is_empty() && !bb.is_empty(),
            "member {idx} got nothing in a group"
        );
        for m in a {
            *seen_a.entry(text(&m)).or_insert(0) += 1;
        }
        for m in bb {
            *seen_b.entry(text(&m)).or_insert(0) += 1;
        }
    }
    for (name, seen) in [("ga", seen_a), ("gb", seen_b)] {
        assert_eq!(seen.len(), N, "group {name} missed messages");
        assert!(
            seen.values().all(|&n| n == 1),
            "group {name} got duplicates: {seen:?}"
        );
    }
    sync(&plainc).await;
    assert!(
        ready_msgs(&mut plain).is_empty(),
        "plain subscriber got extra messages"
    );
}

#[tokio::test]
async fn headers_round_trip_with_repeated_keys() {
    let b = Broker::start();
    let (subc, pubc) = (client(&b).await, client(&b).await);
    let subject = unique("hdr");
    let mut sub = subc.subscribe(subject.clone()).await.unwrap();
    sync(&subc).await;
    let mut headers = HeaderMap::new();
    headers.insert("X-Single", "one");
    headers.append("X-Multi", "a");
    headers.append("X-Multi", "b");
    headers.append("X-Multi", "c");
    pubc.publish_with_headers(subject.clone(), headers, "body".into())
        .await
        .unwrap();
    let m = next_msg(&mut sub).await;
    let h = m.headers.as_ref().expect("message has headers");
    assert_eq!(h.get("X-Single").map(|v| v.as_str()), Some("one"));
    let multi: Vec<&str> = h.get_all("X-Multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["a", "b", "c"]);
    assert_eq!(text(&m), "body");
    // Headers with an empty payload.
    let mut headers = HeaderMap::new();
    headers.insert("Only", "headers");
    pubc.publish_with_headers(subject, headers, "".into())
        .await
        .unwrap();
    let m = next_msg(&mut sub).await;
    assert!(m.payload.is_empty());
    assert_eq!(
        m.headers.unwrap().get("Only").map(|v| v.as_str()),
        Some("headers")
    );
}

#[tokio::test]
async fn unsubscribe_after_stops_at_the_limit() {
    let b = Broker::start();
    let (subc, pubc) = (client(&b).await, client(&b).await);
    let subject = unique("max");
    let mut sub = subc.subscribe(subject.clone()).await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    sync(&subc).await;
    for i in 0..6 {
        pubc.publish(subject.clone(), i.to_string().into())
            .await
            .unwrap();
    }
    for i in 0..3 {
        assert_eq!(text(&next_msg(&mut sub).await), i.to_string());
    }
    assert!(
        within("subscription end after max", sub.next())
            .await
            .is_none(),
        "subscription delivered past unsubscribe_after(3)"
    );
    // The subject itself is unaffected: a fresh subscription on the same client works
    // (the broker-side UNSUB max is checked byte by byte in wire_delivery).
    let mut again = subc.subscribe(subject.clone()).await.unwrap();
    sync(&subc).await;
    pubc.publish(subject, "after".into()).await.unwrap();
    assert_eq!(text(&next_msg(&mut again).await), "after");
}

#[tokio::test]
async fn no_echo_hides_own_messages_only() {
    let b = Broker::start();
    let quiet = client_with(&b, ConnectOptions::new().no_echo()).await;
    let other = client(&b).await;
    let subject = unique("echo");
    let mut mine = quiet.subscribe(subject.clone()).await.unwrap();
    let mut theirs = other.subscribe(subject.clone()).await.unwrap();
    // `quiet` can't see its own sync message: a request answered by `other` is its round trip.
    let svc = unique("echo.svc");
    let mut service = other.subscribe(svc.clone()).await.unwrap();
    sync(&other).await;
    let answer = tokio::spawn({
        let other = other.clone();
        async move {
            let m = service.next().await.expect("the request");
            other
                .publish(m.reply.expect("reply subject"), "pong".into())
                .await
                .unwrap();
        }
    });

    quiet
        .publish(subject.clone(), "from quiet".into())
        .await
        .unwrap();
    let reply = within("request", quiet.request(svc, "ping".into()))
        .await
        .unwrap();
    assert_eq!(text(&reply), "pong");
    answer.await.unwrap();
    assert_eq!(text(&next_msg(&mut theirs).await), "from quiet");
    // An echo would have been queued to `quiet` before the reply.
    assert!(
        ready_msgs(&mut mine).is_empty(),
        "no_echo client received its own message"
    );

    other
        .publish(subject.clone(), "from other".into())
        .await
        .unwrap();
    assert_eq!(text(&next_msg(&mut mine).await), "from other");
}

#[tokio::test]
async fn ten_thousand_subscriptions_on_one_connection() {
    const N: usize = 10_000;
    let b = Broker::start();
    let c = client(&b).await;
    let root = unique("many");
    let mut subs = Vec::with_capacity(N);
    for i in 0..N {
        subs.push(c.subscribe(format!("{root}.{i}")).await.unwrap());
    }
    sync(&c).await;
    let pubc = client(&b).await;
    let targets = [0, 1, 4_999, 9_998, 9_999];
    for &i in &targets {
        pubc.publish(format!("{root}.{i}"), i.to_string().into())
            .await
            .unwrap();
    }
    for &i in &targets {
        assert_eq!(text(&next_msg(&mut subs[i]).await), i.to_string());
    }
    sync(&c).await;
    let extra: usize = subs.iter_mut().map(|s| ready_msgs(s).len()).sum();
    assert_eq!(
        extra, 0,
        "messages reached subscriptions that were not published to"
    );
}
