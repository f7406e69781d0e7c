//! Request/reply through async-nats: the `_INBOX.<id>.*` mux, concurrent requests, queue-group
//! services and the no-responders status (PROTOCOL.md §1.8).

use async_nats::{client::RequestErrorKind, Client, HeaderMap, Subscriber};
use futures::StreamExt as _;
use tokio::task::JoinHandle;

use crate::util::{client, sync, text, unique, within, Broker};

/// Answers every request on `sub` with `<prefix>:<payload>`, echoing headers back.
fn serve(c: Client, mut sub: Subscriber, prefix: &'static str) -> JoinHandle<usize> {
    tokio::spawn(async move {
        let mut served = 0;
        while let Some(m) = sub.next().await {
            let Some(reply) = m.reply.clone() else {
                continue;
            };
            let body = format!("{prefix}:{}", text(&m));
            match m.headers.clone() {
                Some(h) => c.publish_with_headers(reply, h, body.into()).await.unwrap(),
                None => c.publish(reply, body.into()).await.unwrap(),
            }
            served += 1;
        }
        served
    })
}

#[tokio::test]
async fn request_gets_the_reply() {
    let b = Broker::start();
    let (svc, req) = (client(&b).await, client(&b).await);
    let subject = unique("svc");
    let sub = svc.subscribe(subject.clone()).await.unwrap();
    sync(&svc).await;
    let _server = serve(svc.clone(), sub, "r");
    for i in 0..20 {
        let m = within(
            "request",
            req.request(subject.clone(), i.to_string().into()),
        )
        .await
        .unwrap();
        assert_eq!(text(&m), format!("r:{i}"));
    }
}

#[tokio::test]
async fn concurrent_requests_share_one_inbox_and_get_their_own_replies() {
    let b = Broker::start();
    let (svc, req) = (client(&b).await, client(&b).await);
    let subject = unique("svc");
    let sub = svc.subscribe(subject.clone()).await.unwrap();
    sync(&svc).await;
    let _server = serve(svc.clone(), sub, "c");
    let calls = (0..50).map(|i| {
        let (req, subject) = (req.clone(), subject.clone());
        async move {
            let m = req.request(subject, i.to_string().into()).await.unwrap();
            assert_eq!(text(&m), format!("c:{i}"));
        }
    });
    within("50 concurrent requests", futures::future::join_all(calls)).await;
}

#[tokio::test]
async fn request_headers_reach_the_responder_and_come_back() {
    let b = Broker::start();
    let (svc, req) = (client(&b).await, client(&b).await);
    let subject = unique("svc");
    let sub = svc.subscribe(subject.clone()).await.unwrap();
    sync(&svc).await;
    let _server = serve(svc.clone(), sub, "h");
    let mut headers = HeaderMap::new();
    headers.insert("Trace-Id", "abc-123");
    let m = within(
        "request with headers",
        req.request_with_headers(subject, headers, "x".into()),
    )
    .await
    .unwrap();
    assert_eq!(text(&m), "h:x");
    let h = m.headers.expect("reply carries the headers back");
    assert_eq!(h.get("Trace-Id").map(|v| v.as_str()), Some("abc-123"));
}

#[tokio::test]
async fn a_queue_group_service_answers_each_request_once() {
    let b = Broker::start();
    let req = client(&b).await;
    let subject = unique("qsvc");
    let mut servers = Vec::new();
    let mut members = Vec::new();
    for _ in 0..2 {
        let c = client(&b).await;
        let sub = c
            .queue_subscribe(subject.clone(), "workers".into())
            .await
            .unwrap();
        sync(&c).await;
        members.push(c.clone());
        servers.push(serve(c, sub, "q"));
    }
    for i in 0..20 {
        let m = within(
            "queue request",
            req.request(subject.clone(), i.to_string().into()),
        )
        .await
        .unwrap();
        assert_eq!(text(&m), format!("q:{i}"));
    }
    // Each request was handled by exactly one member: draining the members ends their
    // subscriptions after everything already delivered, so the counts are final.
    for c in members {
        c.drain().await.unwrap();
    }
    let mut served = 0;
    for s in servers {
        served += within("server task end", s).await.unwrap();
    }
    assert_eq!(served, 20, "requests served by the group");
}

#[tokio::test]
async fn request_without_responders_fails_fast_with_no_responders() {
    let b = Broker::start();
    let req = client(&b).await;
    let err = within(
        "request to nobody",
        req.request(unique("nobody"), "hi".into()),
    )
    .await
    .expect_err("a request nobody listens to must fail");
    assert_eq!(err.kind(), RequestErrorKind::NoResponders, "{err}");
}
