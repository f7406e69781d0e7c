//! Paced delivery (issue 5): `replay_policy: original` keeps the gaps the backlog was stored
//! with, and `rate_limit_bps` holds a push consumer to its rate after a 1 MiB burst.
//! Both assert lower bounds on time only, so a slow machine cannot fail them. Validated
//! against nats-server 2.15.1 -js.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{push, AckPolicy, ReplayPolicy};
use futures::StreamExt as _;

use crate::util::js::{js, make_stream, publish, text};
use crate::util::{within, Broker};

/// The gap the backlog is published with.
const GAP: Duration = Duration::from_millis(400);

#[tokio::test]
async fn replay_original_keeps_the_stored_gaps() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "REPLAY", &["replay.>"]).await;
    for i in 0..3 {
        if i > 0 {
            tokio::time::sleep(GAP).await;
        }
        publish(&js, "replay.x", &format!("m{i}")).await;
    }
    let c = within(
        "create push consumer",
        s.create_consumer(push::Config {
            deliver_subject: "deliver.replay".into(),
            ack_policy: AckPolicy::None,
            replay_policy: ReplayPolicy::Original,
            ..Default::default()
        }),
    )
    .await
    .expect("replay original is accepted");
    let mut msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    let mut arrived = Vec::new();
    for i in 0..3 {
        let m = within("replayed message", msgs.next())
            .await
            .expect("open")
            .expect("message");
        assert_eq!(text(&m), format!("m{i}"));
        arrived.push(Instant::now());
    }
    for w in arrived.windows(2) {
        let gap = w[1] - w[0];
        // The publisher's own round trip only adds to the stored gap.
        assert!(
            gap >= GAP - Duration::from_millis(50),
            "replayed {gap:?} apart"
        );
    }
    // Past the backlog, delivery is live.
    publish(&js, "replay.x", "live").await;
    let m = within("live message", msgs.next())
        .await
        .expect("open")
        .expect("message");
    assert_eq!(text(&m), "live");
}

#[tokio::test]
async fn rate_limit_holds_a_push_consumer_to_its_rate_after_the_burst() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "RATE", &["rate.>"]).await;
    let payload = "x".repeat(64 * 1024);
    // 48 × 64 KiB = 3 MiB: 1 MiB of burst, then 2 MiB at 1 MiB/s.
    for _ in 0..48 {
        publish(&js, "rate.x", &payload).await;
    }
    let c = within(
        "create push consumer",
        s.create_consumer(push::Config {
            deliver_subject: "deliver.rate".into(),
            ack_policy: AckPolicy::None,
            rate_limit: 8 * 1024 * 1024,
            ..Default::default()
        }),
    )
    .await
    .expect("rate_limit_bps is accepted on push consumers");
    let mut msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    let start = Instant::now();
    for _ in 0..48 {
        within("rate-limited message", msgs.next())
            .await
            .expect("open")
            .expect("message");
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1800),
        "3 MiB at 1 MiB/s after a 1 MiB burst took only {took:?}"
    );
}
