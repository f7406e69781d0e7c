//! Size and back-pressure limits: `max_payload` as seen by async-nats and on the raw wire,
//! 1 MiB messages both ways, and a slow consumer that must be cut off without hurting anyone
//! else (PROTOCOL.md §1.1, §1.11).

use async_nats::client::PublishErrorKind;
use futures::StreamExt as _;

use crate::util::{
    client, next_msg, show, sync, unique, within, Broker, Limits, RawConn, KIB, MIB,
};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn client_refuses_a_publish_over_the_advertised_max_payload() {
    let b = Broker::start_with(Limits {
        max_payload: Some(KIB),
        ..Limits::default()
    });
    let c = client(&b).await;
    assert_eq!(c.server_info().max_payload, 1024);
    let subject = unique("mp");
    let mut sub = c.subscribe(subject.clone()).await.unwrap();
    sync(&c).await;

    let err = c
        .publish(subject.clone(), vec![b'x'; 1025].into())
        .await
        .expect_err("1025 bytes over a 1024 max_payload");
    assert_eq!(err.kind(), PublishErrorKind::MaxPayloadExceeded, "{err}");

    c.publish(subject, vec![b'y'; 1024].into()).await.unwrap();
    let m = next_msg(&mut sub).await;
    assert_eq!(m.payload.len(), 1024);
}

#[test]
fn raw_publish_over_a_configured_max_payload_closes() {
    let b = Broker::start_with(Limits {
        max_payload: Some(KIB),
        ..Limits::default()
    });
    let mut ok = RawConn::client(&b);
    let mut body = b"SUB big 1\r\nPUB big 1024\r\n".to_vec();
    body.extend(vec![b'z'; 1024]);
    body.extend(b"\r\nPING\r\n");
    ok.send(&body);
    let mut want = b"MSG big 1 1024\r\n".to_vec();
    want.extend(vec![b'z'; 1024]);
    want.extend(b"\r\nPONG\r\n");
    ok.expect(&want);

    let mut bad = RawConn::client(&b);
    bad.send(b"PUB big 1025\r\n");
    bad.expect_then_closed(b"-ERR 'Maximum Payload Violation'\r\n");
    ok.ping_pong(); // nothing leaked to the subscriber
}

#[tokio::test]
async fn one_mib_payloads_travel_both_ways() {
    let b = Broker::start();
    let (svc, req) = (client(&b).await, client(&b).await);
    assert_eq!(req.server_info().max_payload, MIB as usize);
    let subject = unique("big");
    let mut sub = svc.subscribe(subject.clone()).await.unwrap();
    sync(&svc).await;
    let request = pattern(MIB as usize, 1);
    let response = pattern(MIB as usize, 2);
    let server = tokio::spawn({
        let (svc, response, request) = (svc.clone(), response.clone(), request.clone());
        async move {
            let m = sub.next().await.expect("the request");
            assert!(m.payload == request, "request payload corrupted");
            svc.publish(m.reply.unwrap(), response.into())
                .await
                .unwrap();
        }
    });
    let m = within("1 MiB request", req.request(subject, request.into()))
        .await
        .unwrap();
    assert_eq!(m.payload.len(), MIB as usize);
    assert!(m.payload == response, "response payload corrupted");
    server.await.unwrap();
}

#[tokio::test]
async fn slow_consumer_is_cut_off_while_a_fast_one_gets_everything() {
    const MSG: usize = 16 * KIB as usize;
    const BATCH: usize = 32;
    const BATCHES: usize = 64; // 32 MiB in all: far beyond kernel buffers + max_pending
    let b = Broker::start_with(Limits {
        max_pending: Some(256 * KIB),
        max_payload: Some(64 * KIB), // both brokers require max_payload <= max_pending
        ..Limits::default()
    });
    let subject = unique("flood");

    let mut slow = RawConn::client(&b);
    slow.send(format!("SUB {subject} 1\r\n").as_bytes());
    slow.ping_pong(); // subscribed; from now on it never reads

    let fastc = client(&b).await;
    let mut fast = fastc.subscribe(subject.clone()).await.unwrap();
    sync(&fastc).await;

    let pubc = client(&b).await;
    let payload = vec![b'x'; MSG];
    for batch in 0..BATCHES {
        for _ in 0..BATCH {
            pubc.publish(subject.clone(), payload.clone().into())
                .await
                .unwrap();
        }
        // Paced by the fast consumer, so only the slow one can fall behind.
        for i in 0..BATCH {
            let m = within(
                &format!("fast subscriber, batch {batch} message {i}"),
                fast.next(),
            )
            .await
            .expect("fast subscription ended");
            assert_eq!(m.payload.len(), MSG);
        }
    }

    // The slow consumer gets what was already in flight, then the close; never everything.
    let rest = slow.read_until_closed();
    let total = BATCHES * BATCH * MSG;
    assert!(
        rest.len() < total,
        "slow consumer received {} of {total} bytes: it was never cut off",
        rest.len()
    );
    assert!(
        !rest.windows(5).any(|w| w == b"-ERR "),
        "slow consumers are closed without -ERR; tail: {}",
        show(&rest[rest.len().saturating_sub(200)..])
    );

    // The broker is fine: the fast client still works and new clients are served.
    sync(&fastc).await;
    let mut fresh = RawConn::client(&b);
    fresh.ping_pong();
}
