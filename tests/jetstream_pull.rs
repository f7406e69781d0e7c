//! async-nats pull consumers: fetch, batch with expiry, `messages()`, acks of every kind,
//! redelivery after ack_wait and after a NAK delay, max_deliver, consumer info counters,
//! names/list/delete, ephemeral consumers, work queues with three workers, and a restart
//! that keeps streams, messages, consumers and ack floors. Validated against nats-server
//! 2.15.1 -js.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::stream::{self, RetentionPolicy};
use async_nats::jetstream::AckKind;
use futures::{StreamExt as _, TryStreamExt as _};

use crate::util::js::{fetch, js, make_stream, make_stream_with, publish, pull_consumer, text};
use crate::util::{within, Broker};

fn durable(name: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.into()),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

#[tokio::test]
async fn fetch_ack_and_consumer_info() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "PULL", &["pull.>"]).await;
    for i in 0..5 {
        publish(&js, "pull.x", &format!("m{i}")).await;
    }
    let mut c = pull_consumer(&s, durable("dur")).await;
    let got = fetch(&c, 3).await;
    assert_eq!(got.iter().map(text).collect::<Vec<_>>(), ["m0", "m1", "m2"]);
    let info = got[0].info().expect("ack subject parses");
    assert_eq!(
        (info.stream_sequence, info.consumer_sequence, info.delivered),
        (1, 1, 1)
    );
    assert_eq!(info.pending, 4, "num_pending after the first of five");
    for m in &got {
        m.ack().await.expect("ack");
    }
    // A double ack proves the acks before it were processed.
    let rest = fetch(&c, 10).await;
    assert_eq!(rest.iter().map(text).collect::<Vec<_>>(), ["m3", "m4"]);
    rest[0].double_ack().await.expect("double ack");
    let ci = within("consumer info", c.info()).await.expect("info");
    assert_eq!(ci.delivered.stream_sequence, 5);
    assert_eq!(ci.num_ack_pending, 1, "m4 is delivered, not acked");
    assert_eq!(ci.num_pending, 0);
    assert_eq!(ci.ack_floor.stream_sequence, 4);
    // Nothing left: fetch returns nothing.
    assert!(fetch(&c, 1).await.is_empty());
    // names, list, delete.
    let names: Vec<String> = within("names", s.consumer_names().try_collect())
        .await
        .expect("names");
    assert_eq!(names, vec!["dur".to_owned()]);
    let infos: Vec<_> = within("list", s.consumers().try_collect::<Vec<_>>())
        .await
        .expect("list");
    assert_eq!(infos.len(), 1);
    within("delete", s.delete_consumer("dur"))
        .await
        .expect("delete consumer");
    let err = within("info of deleted", s.consumer_info("dur"))
        .await
        .expect_err("deleted");
    assert!(err.to_string().contains("consumer not found"), "{err}");
}

#[tokio::test]
async fn batch_with_expiry_and_messages_stream() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "BATCH", &["batch.>"]).await;
    let c = pull_consumer(&s, durable("b")).await;
    publish(&js, "batch.x", "only").await;
    // batch(5) with a short expiry: one message, then the request ends (408).
    let mut batch = within(
        "batch",
        c.batch()
            .max_messages(5)
            .expires(Duration::from_millis(300))
            .messages(),
    )
    .await
    .expect("batch request");
    let mut got = Vec::new();
    while let Some(m) = within("batch messages", batch.next()).await {
        let m = m.expect("batch message");
        m.ack().await.expect("ack");
        got.push(text(&m));
    }
    assert_eq!(got, ["only"]);
    // messages(): a continuous stream that sees later publishes.
    let mut msgs = within("messages", c.messages())
        .await
        .expect("messages stream");
    for i in 0..3 {
        publish(&js, "batch.y", &format!("live{i}")).await;
    }
    for i in 0..3 {
        let m = within("next", msgs.next())
            .await
            .expect("stream open")
            .expect("message");
        assert_eq!(text(&m), format!("live{i}"));
        m.ack().await.expect("ack");
    }
}

#[tokio::test]
async fn nak_with_delay_ack_wait_max_deliver_term_and_progress() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "REDO", &["redo.>"]).await;
    let c = pull_consumer(
        &s,
        pull::Config {
            ack_wait: Duration::from_millis(500),
            max_deliver: 3,
            ..durable("r")
        },
    )
    .await;
    publish(&js, "redo.x", "a").await;
    let mut msgs = within("messages", c.messages()).await.expect("messages");
    macro_rules! next {
        () => {
            within("next delivery", msgs.next())
                .await
                .expect("stream open")
                .expect("message")
        };
    }
    // NAK with a delay: redelivered, delivered count 2.
    let m = next!();
    assert_eq!(m.info().expect("info").delivered, 1);
    m.ack_with(AckKind::Nak(Some(Duration::from_millis(200))))
        .await
        .expect("nak");
    let m = next!();
    assert_eq!(
        (text(&m), m.info().expect("info").delivered),
        ("a".to_owned(), 2)
    );
    // No ack: redelivered after ack_wait, the third and last time (max_deliver 3).
    let m = next!();
    assert_eq!(m.info().expect("info").delivered, 3);
    // A second message: +WPI keeps it, +TERM ends it.
    publish(&js, "redo.y", "b").await;
    let m = next!();
    assert_eq!(text(&m), "b");
    m.ack_with(AckKind::Progress).await.expect("in progress");
    m.ack_with(AckKind::Term).await.expect("term");
    // A third message proves nothing else comes back in the meantime ("a" is out of
    // deliveries, "b" was terminated).
    tokio::time::sleep(Duration::from_millis(700)).await;
    publish(&js, "redo.z", "c").await;
    let m = next!();
    assert_eq!(text(&m), "c", "a is past max_deliver and b was terminated");
    m.double_ack().await.expect("ack");
}

#[tokio::test]
async fn ephemeral_consumer_with_filter() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "EPH", &["eph.>"]).await;
    publish(&js, "eph.a", "1").await;
    publish(&js, "eph.b", "2").await;
    publish(&js, "eph.a", "3").await;
    let c = pull_consumer(
        &s,
        pull::Config {
            filter_subject: "eph.a".into(),
            ..Default::default()
        },
    )
    .await;
    let got = fetch(&c, 10).await;
    assert_eq!(got.iter().map(text).collect::<Vec<_>>(), ["1", "3"]);
    let info = within("info", s.consumer_info(c.cached_info().name.clone()))
        .await
        .expect("ephemeral info");
    assert!(info.config.durable_name.is_none());
}

#[tokio::test]
async fn work_queue_three_workers_each_job_once() {
    const JOBS: usize = 60;
    let b = Broker::start();
    let js = js(&b).await;
    let mut s = make_stream_with(
        &js,
        stream::Config {
            name: "JOBS".into(),
            subjects: vec!["jobs.>".into()],
            retention: RetentionPolicy::WorkQueue,
            ..Default::default()
        },
    )
    .await;
    for i in 0..JOBS {
        publish(&js, "jobs.run", &i.to_string()).await;
    }
    let c = pull_consumer(&s, durable("workers")).await;
    // A second unfiltered consumer on a work queue is refused.
    let err = within("second consumer", s.create_consumer(durable("other")))
        .await
        .expect_err("work queues allow one unfiltered consumer");
    assert!(err.to_string().contains("10099"), "{err}");
    let done: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (c, done) = (c.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let batch = fetch(&c, 4).await;
                if batch.is_empty() && done.lock().expect("done").len() >= JOBS {
                    return;
                }
                for m in batch {
                    done.lock().expect("done").push(text(&m));
                    m.double_ack().await.expect("ack");
                }
                if done.lock().expect("done").len() >= JOBS {
                    return;
                }
            }
        }));
    }
    for w in workers {
        within("worker", w).await.expect("worker task");
    }
    let done = done.lock().expect("done").clone();
    let unique: BTreeSet<&String> = done.iter().collect();
    assert_eq!(done.len(), JOBS, "every job processed once: {done:?}");
    assert_eq!(unique.len(), JOBS);
    let info = within("info", s.info()).await.expect("info");
    assert_eq!(info.state.messages, 0, "acked jobs are removed");
}

#[tokio::test]
async fn graceful_restart_keeps_streams_messages_consumers_and_ack_floors() {
    let mut b = Broker::start();
    {
        let js = js(&b).await;
        let s = make_stream(&js, "KEEP", &["keep.>"]).await;
        for i in 0..6 {
            publish(&js, "keep.x", &format!("k{i}")).await;
        }
        let c = pull_consumer(
            &s,
            pull::Config {
                ack_wait: Duration::from_millis(500),
                ..durable("kc")
            },
        )
        .await;
        let got = fetch(&c, 4).await;
        for m in &got[..2] {
            m.double_ack().await.expect("ack");
        }
        // k2 and k3 are delivered but not acked.
    }
    // Graceful: nats-server loses recent acks on SIGKILL (measured: ack floor 0 after it);
    // leafd's kill -9 behaviour is checked in `crash`.
    b.restart_graceful();
    let js = js(&b).await;
    let mut s = within("stream after restart", js.get_stream("KEEP"))
        .await
        .expect("stream survives");
    let info = within("info", s.info()).await.expect("info");
    assert_eq!((info.state.messages, info.state.last_sequence), (6, 6));
    let mut c: async_nats::jetstream::consumer::Consumer<pull::Config> =
        within("consumer after restart", s.get_consumer("kc"))
            .await
            .expect("consumer survives");
    let ci = within("consumer info", c.info()).await.expect("info");
    assert_eq!(ci.ack_floor.stream_sequence, 2, "acked k0 and k1");
    // Unacked k2, k3 come back (after ack_wait) with the rest; k0, k1 never do.
    let mut seen = Vec::new();
    let mut msgs = within("messages", c.messages()).await.expect("messages");
    while seen.len() < 4 {
        let m = within("redelivery", msgs.next())
            .await
            .expect("open")
            .expect("message");
        seen.push(text(&m));
        m.double_ack().await.expect("ack");
    }
    seen.sort();
    assert_eq!(seen, ["k2", "k3", "k4", "k5"]);
}
