//! async-nats push consumers and KV (issue 5): durable push consumers with explicit acks
//! and redelivery, idle heartbeats with the headers clients check, flow control under a slow
//! subscriber, ordered consumers (in order, and recovering from a forced gap), and a full KV
//! session (create bucket, put, create-if-absent, update with revision, entry, delete, purge,
//! keys, history, watch with live updates, and a restart with the bucket intact). Validated
//! against nats-server 2.15.1 -js.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{push, AckPolicy, DeliverPolicy};
use async_nats::jetstream::{self, kv, stream};
use async_nats::{ConnectOptions, Event};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::util::js::{js, kv_history, make_stream, publish, text};
use crate::util::{client, client_with, within, Broker, RawConn};

#[tokio::test]
async fn push_consumer_delivers_acks_and_redelivers() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "PUSH", &["push.>"]).await;
    for i in 0..10 {
        publish(&js, "push.x", &format!("m{i}")).await;
    }
    let c = within(
        "create push consumer",
        s.create_consumer(push::Config {
            durable_name: Some("pd".into()),
            deliver_subject: "deliver.pd".into(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(500),
            ..Default::default()
        }),
    )
    .await
    .expect("push consumer created");
    let mut msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    for i in 0..10 {
        let m = within("push delivery", msgs.next())
            .await
            .expect("open")
            .expect("message");
        assert_eq!(text(&m), format!("m{i}"));
        if i != 3 {
            within("ack", m.ack()).await.expect("acked");
        }
    }
    // m3 was not acked: it comes again after ack_wait, marked as a redelivery.
    let again = within("redelivery", msgs.next())
        .await
        .expect("open")
        .expect("message");
    assert_eq!(text(&again), "m3");
    assert_eq!(again.info().expect("ack subject").delivered, 2);
    within("ack", again.ack()).await.expect("acked");
    let mut c = c;
    let info = within("consumer info", c.info()).await.expect("info");
    assert_eq!(info.delivered.stream_sequence, 10);
    assert_eq!(info.config.deliver_subject.as_deref(), Some("deliver.pd"));
}

#[tokio::test]
async fn idle_heartbeats_carry_the_last_sequences() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "HB", &["hb.>"]).await;
    publish(&js, "hb.x", "only").await;
    let nc = client(&b).await;
    let mut raw = nc.subscribe("deliver.hb").await.expect("subscribe");
    nc.flush().await.expect("flush");
    within(
        "create push consumer",
        s.create_consumer(push::Config {
            deliver_subject: "deliver.hb".into(),
            ack_policy: AckPolicy::None,
            idle_heartbeat: Duration::from_millis(200),
            ..Default::default()
        }),
    )
    .await
    .expect("created");
    let first = within("delivery", raw.next()).await.expect("message");
    assert_eq!(crate::util::text(&first), "only");
    let hb = within("heartbeat", raw.next()).await.expect("heartbeat");
    let status = hb.status.map(u16::from);
    assert_eq!(status, Some(100), "{hb:?}");
    let headers = hb.headers.expect("heartbeat headers");
    assert_eq!(
        headers
            .get("Nats-Last-Consumer")
            .map(|v| v.to_string())
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        headers
            .get("Nats-Last-Stream")
            .map(|v| v.to_string())
            .as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn flow_control_keeps_a_slow_subscriber_whole() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "FC", &["fc.>"]).await;
    let big = "x".repeat(16 * 1024);
    within("publish 3 MiB", async {
        for i in 0..200 {
            js.publish("fc.x", format!("{i}:{big}").into())
                .await
                .expect("sent")
                .await
                .expect("acked");
        }
    })
    .await;
    let c = within(
        "create push consumer",
        s.create_consumer(push::Config {
            deliver_subject: "deliver.fc".into(),
            ack_policy: AckPolicy::None,
            flow_control: true,
            idle_heartbeat: Duration::from_secs(1),
            ..Default::default()
        }),
    )
    .await
    .expect("created");
    let mut msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    for i in 0..200 {
        let m = within("flow-controlled delivery", msgs.next())
            .await
            .expect("open")
            .expect("message");
        let t = text(&m);
        assert_eq!(
            t.split(':').next(),
            Some(i.to_string().as_str()),
            "in order"
        );
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await; // a slow reader
        }
    }
}

#[tokio::test]
async fn ordered_consumer_reads_everything_in_order() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "ORD", &["ord.>"]).await;
    for i in 0..50 {
        publish(&js, &format!("ord.{}", i % 3), &format!("m{i}")).await;
    }
    let c = within(
        "ordered consumer",
        s.create_consumer(push::OrderedConfig {
            deliver_subject: "deliver.ord".into(),
            filter_subject: "ord.>".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("created");
    let mut msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    for i in 0..50 {
        let m = within("ordered delivery", msgs.next())
            .await
            .expect("open")
            .expect("message");
        assert_eq!(text(&m), format!("m{i}"));
    }
}

/// One ordered delivery as the reader saw it: payload, consumer, consumer and stream sequence.
type Seen = (String, String, u64, u64);

/// Creates an ordered push consumer delivering to `deliver`: its first name and its messages.
async fn start_ordered(s: &stream::Stream, deliver: &str) -> (String, push::Ordered) {
    let c = within(
        "ordered consumer",
        s.create_consumer(push::OrderedConfig {
            deliver_subject: deliver.into(),
            ..Default::default()
        }),
    )
    .await
    .expect("created");
    let first = c.cached_info().name.clone();
    let msgs = within("messages()", c.messages())
        .await
        .expect("subscribed");
    (first, msgs)
}

/// Reads `n` messages from an ordered consumer.
async fn read_ordered(msgs: &mut push::Ordered, got: &mut Vec<Seen>, n: usize) {
    for _ in 0..n {
        let m = within("ordered delivery", msgs.next())
            .await
            .expect("open")
            .expect("a message, not an error");
        let i = m.info().expect("ack subject");
        got.push((
            text(&m),
            i.consumer.to_owned(),
            i.consumer_sequence,
            i.stream_sequence,
        ));
    }
}

/// Asserts `got` is `m0`, `m1`, ... on stream sequences 1, 2, ..., delivered by `first`
/// until one switch to `first_1` (async-nats's name for its first replacement) whose consumer
/// sequences start again at 1; that the stream now holds the replacement only (async-nats
/// deleted the old one), starting right after the last message `first` gave the reader, on a
/// new deliver subject. Returns how many `first` delivered.
async fn assert_one_recreate(
    s: &stream::Stream,
    got: &[Seen],
    first: &str,
    old_deliver: &str,
) -> usize {
    let texts: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    let want: Vec<String> = (0..got.len()).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, want, "every real message once, in order");
    let stream_seqs: Vec<u64> = got.iter().map(|g| g.3).collect();
    assert_eq!(stream_seqs, (1..=got.len() as u64).collect::<Vec<_>>());
    let replacement = format!("{first}_1");
    let k = got
        .iter()
        .position(|g| g.1 != first)
        .expect("a recreated consumer delivered");
    for (j, g) in got.iter().enumerate() {
        let (name, seq) = if j < k {
            (first, j + 1)
        } else {
            (replacement.as_str(), j - k + 1)
        };
        assert_eq!(
            (g.1.as_str(), g.2),
            (name, seq as u64),
            "message {j}: {g:?}"
        );
    }
    let names: Vec<String> = within("consumer names", s.consumer_names().try_collect())
        .await
        .expect("names");
    assert_eq!(names, vec![replacement.clone()]);
    let info = within("consumer info", s.consumer_info(&replacement))
        .await
        .expect("info");
    assert_eq!(
        info.config.deliver_policy,
        DeliverPolicy::ByStartSequence {
            start_sequence: k as u64 + 1
        }
    );
    assert_ne!(info.config.deliver_subject.as_deref(), Some(old_deliver));
    k
}

/// An ordered consumer survives a real gap (issue 5): with room for 16 messages in the
/// subscription, 25 deliveries while the reader is busy lose the last 9 in the client, so the
/// next delivery comes as consumer sequence 31 where 22 was due. async-nats drops it, deletes
/// the consumer, makes `<name>_1` from the next stream sequence it needs, and every message,
/// stored or published after the gap, arrives exactly once and in order.
///
/// (A fake delivery with a skipping `$JS.ACK.` reply cannot force the gap: nats-server refuses
/// a client publish whose reply starts with `$JS.ACK.` as a permissions violation.)
#[tokio::test]
async fn ordered_consumer_recovers_from_a_forced_gap() {
    let b = Broker::start();
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let reader = client_with(
        &b,
        ConnectOptions::new()
            .subscription_capacity(16)
            .event_callback(move |event| {
                let counter = counter.clone();
                async move {
                    if let Event::SlowConsumer(_) = event {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }),
    )
    .await;
    let js = jetstream::new(reader);
    let s = make_stream(&js, "GAP", &["gap.>"]).await;
    for i in 0..5 {
        publish(&js, "gap.x", &format!("m{i}")).await;
    }
    let (first, mut msgs) = start_ordered(&s, "deliver.gap").await;
    let mut got = Vec::new();
    read_ordered(&mut msgs, &mut got, 5).await;

    // The reader is busy: m5..m20 fill the subscription, m21..m29 are lost in the client.
    for i in 5..30 {
        publish(&js, "gap.x", &format!("m{i}")).await;
    }
    within("9 deliveries lost", async {
        while dropped.load(Ordering::SeqCst) < 9 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    read_ordered(&mut msgs, &mut got, 16).await;
    // m30 comes as consumer sequence 31 where 22 was next: the gap.
    publish(&js, "gap.x", "m30").await;
    read_ordered(&mut msgs, &mut got, 10).await;
    // Live messages after the recovery.
    for i in 31..35 {
        publish(&js, "gap.x", &format!("m{i}")).await;
    }
    read_ordered(&mut msgs, &mut got, 4).await;

    let k = assert_one_recreate(&s, &got, &first, "deliver.gap").await;
    assert_eq!(
        k, 21,
        "recreated after m20, the last message before the gap"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        9,
        "no other message was lost"
    );
}

/// An ordered consumer survives a gap an idle heartbeat reveals (issue 5): a heartbeat on its
/// deliver subject (published raw, as the server words it) says the consumer delivered up to
/// sequence 25 while the reader has seen at most 20. async-nats takes it as a gap, never
/// surfaces it, drops its subscription (with the old consumer's copies of later messages),
/// deletes the consumer and makes `<name>_1` from the next stream sequence it needs; every
/// message, stored or published after the gap, arrives exactly once and in order.
#[tokio::test]
async fn ordered_consumer_recovers_when_a_heartbeat_reveals_a_gap() {
    let b = Broker::start();
    let js = js(&b).await;
    let s = make_stream(&js, "HBGAP", &["hbgap.>"]).await;
    for i in 0..20 {
        publish(&js, "hbgap.x", &format!("m{i}")).await;
    }
    let (first, mut msgs) = start_ordered(&s, "deliver.hbgap").await;
    let mut got = Vec::new();
    read_ordered(&mut msgs, &mut got, 5).await;

    // The server has delivered at most the 20 stored messages, so 25 is ahead wherever the
    // heartbeat lands among them. The PONG proves the broker routed it before m20.. exist, so
    // the old consumer's copies of m20.. come after it.
    let hdr =
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 25\r\nNats-Last-Stream: 25\r\n\r\n";
    let mut raw = RawConn::client(&b);
    raw.send(format!("HPUB deliver.hbgap {0} {0}\r\n{hdr}\r\n", hdr.len()).as_bytes());
    raw.ping_pong();
    for i in 20..30 {
        publish(&js, "hbgap.x", &format!("m{i}")).await;
    }
    read_ordered(&mut msgs, &mut got, 25).await;
    for i in 30..35 {
        publish(&js, "hbgap.x", &format!("m{i}")).await;
    }
    read_ordered(&mut msgs, &mut got, 5).await;

    let k = assert_one_recreate(&s, &got, &first, "deliver.hbgap").await;
    assert!((5..=20).contains(&k), "recreated after {k} messages");
}

#[tokio::test]
async fn a_kv_session_and_a_restart() {
    let mut b = Broker::start();
    let js = js(&b).await;
    let kv = within(
        "create bucket",
        js.create_key_value(kv::Config {
            bucket: "cfg".into(),
            history: 3,
            ..Default::default()
        }),
    )
    .await
    .expect("bucket");
    let r1 = within("put", kv.put("mode", "auto".into()))
        .await
        .expect("put");
    let r2 = within("put", kv.put("mode", "manual".into()))
        .await
        .expect("put");
    assert!(r2 > r1);
    assert!(
        within("create existing", kv.create("mode", "x".into()))
            .await
            .is_err(),
        "create refuses an existing key"
    );
    within("create new", kv.create("level", "3".into()))
        .await
        .expect("create absent key");
    assert!(
        within("stale update", kv.update("mode", "y".into(), r1))
            .await
            .is_err(),
        "update checks the revision"
    );
    let r3 = within("update", kv.update("mode", "eco".into(), r2))
        .await
        .expect("update with the current revision");
    let entry = within("entry", kv.entry("mode"))
        .await
        .expect("entry")
        .expect("present");
    assert_eq!((entry.value.as_ref(), entry.revision), (&b"eco"[..], r3));
    within("put", kv.put("gone", "1".into()))
        .await
        .expect("put");
    within("delete", kv.delete("gone")).await.expect("delete");
    assert_eq!(
        within("get deleted", kv.get("gone")).await.expect("get"),
        None
    );
    within("put", kv.put("wiped", "1".into()))
        .await
        .expect("put");
    within("purge", kv.purge("wiped")).await.expect("purge");
    let mut keys: Vec<String> = within("keys", async {
        kv.keys().await.expect("keys").try_collect().await
    })
    .await
    .expect("keys");
    keys.sort();
    assert_eq!(keys, ["level", "mode"]);
    let history = kv_history(&kv, "mode").await;
    let values: Vec<&[u8]> = history.iter().map(|e| e.value.as_ref()).collect();
    assert_eq!(values, [&b"auto"[..], b"manual", b"eco"]);

    let mut watch = within("watch", kv.watch("mode")).await.expect("watch");
    within("put", kv.put("mode", "boost".into()))
        .await
        .expect("put");
    let live = within("live update", watch.next())
        .await
        .expect("open")
        .expect("entry");
    assert_eq!(live.value.as_ref(), b"boost");

    b.restart();
    let js = crate::util::js::js(&b).await;
    let kv = within("get bucket", js.get_key_value("cfg"))
        .await
        .expect("the bucket survives a restart");
    let v = within("get", kv.get("mode")).await.expect("get");
    assert_eq!(v.as_deref(), Some(&b"boost"[..]));
}

#[tokio::test]
async fn interest_retention_keeps_messages_until_every_interested_consumer_acks() {
    use async_nats::jetstream::consumer::pull;
    use async_nats::jetstream::stream::{Config, RetentionPolicy};
    let b = Broker::start();
    let js = js(&b).await;
    let mut s = crate::util::js::make_stream_with(
        &js,
        Config {
            name: "INT".into(),
            subjects: vec!["int.>".into()],
            retention: RetentionPolicy::Interest,
            ..Default::default()
        },
    )
    .await;
    // Nobody is interested yet: acknowledged, but not kept.
    let ack = publish(&js, "int.a", "early").await;
    assert_eq!(ack.sequence, 1);
    let messages = |s: &mut async_nats::jetstream::stream::Stream| {
        let s = s.clone();
        async move {
            let mut s = s;
            within("stream info", s.info())
                .await
                .expect("info")
                .state
                .messages
        }
    };
    assert_eq!(
        messages(&mut s).await,
        0,
        "a stream without consumers keeps nothing"
    );
    let all = crate::util::js::pull_consumer(
        &s,
        pull::Config {
            durable_name: Some("all".into()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        },
    )
    .await;
    let only_a = crate::util::js::pull_consumer(
        &s,
        pull::Config {
            durable_name: Some("onlya".into()),
            filter_subject: "int.a".into(),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        },
    )
    .await;
    for subject in ["int.a", "int.b", "int.a", "int.b"] {
        publish(&js, subject, subject).await;
    }
    assert_eq!(messages(&mut s).await, 4);
    for m in crate::util::js::fetch(&all, 4).await {
        within("ack", m.double_ack()).await.expect("acked");
    }
    // int.b was wanted by `all` only; int.a still waits for `onlya`.
    assert_eq!(messages(&mut s).await, 2);
    for m in crate::util::js::fetch(&only_a, 2).await {
        assert_eq!(crate::util::js::text(&m), "int.a");
        within("ack", m.double_ack()).await.expect("acked");
    }
    assert_eq!(messages(&mut s).await, 0, "every interested consumer acked");
}
