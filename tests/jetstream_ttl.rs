//! Per-message TTLs (issue 5): `Nats-TTL` removes its message after the TTL, `never` outlives
//! `max_age`, a stream without `allow_msg_ttl` refuses TTLs with 10166, and an async-nats KV
//! bucket with `limit_markers` sees a key with a TTL replaced by a delete marker that expires
//! in turn. Validated against nats-server 2.15.1 -js.

use std::time::{Duration, Instant};

use async_nats::jetstream::{kv, stream};
use async_nats::HeaderMap;
use futures::StreamExt as _;

use crate::util::js::{js, make_stream_with};
use crate::util::{client, timeout, within, Broker};

/// Publishes `payload` to `subject` with `Nats-TTL: ttl` (if any) and returns the raw
/// pub-ack JSON, errors included.
async fn publish_ttl(
    c: &async_nats::Client,
    subject: &str,
    ttl: Option<&str>,
) -> serde_json::Value {
    let mut h = HeaderMap::new();
    if let Some(ttl) = ttl {
        h.insert("Nats-TTL", ttl);
    }
    let reply = within(
        "publish with Nats-TTL",
        c.request_with_headers(subject.to_owned(), h, "v".into()),
    )
    .await
    .expect("pub-ack");
    serde_json::from_slice(&reply.payload).expect("pub-ack JSON")
}

/// Whether stream sequence `seq` is still stored.
async fn present(s: &stream::Stream, seq: u64) -> bool {
    within("get message", s.get_raw_message(seq)).await.is_ok()
}

/// Polls until `seq` is gone; returns how long that took.
async fn until_gone(s: &stream::Stream, seq: u64) -> Duration {
    let start = Instant::now();
    while present(s, seq).await {
        assert!(
            start.elapsed() < timeout(),
            "seq {seq} still stored after {:?}",
            timeout()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn message_ttls_expire_and_never_outlives_max_age() {
    let b = Broker::start();
    let js = js(&b).await;
    let c = client(&b).await;
    make_stream_with(
        &js,
        stream::Config {
            name: "NOTTL".into(),
            subjects: vec!["nottl.>".into()],
            ..Default::default()
        },
    )
    .await;
    let refused = publish_ttl(&c, "nottl.a", Some("5s")).await;
    assert_eq!(refused["error"]["err_code"], 10166, "{refused}");

    let s = make_stream_with(
        &js,
        stream::Config {
            name: "TTL".into(),
            subjects: vec!["ttl.>".into()],
            allow_message_ttl: true,
            ..Default::default()
        },
    )
    .await;
    let sent = Instant::now();
    let short = publish_ttl(&c, "ttl.short", Some("1s")).await;
    let keep = publish_ttl(&c, "ttl.keep", None).await;
    let short = short["seq"].as_u64().expect("seq");
    let keep = keep["seq"].as_u64().expect("seq");
    until_gone(&s, short).await;
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "a 1 s TTL removed its message after {:?}",
        sent.elapsed()
    );
    assert!(present(&s, keep).await, "a message without a TTL stays");

    let aged = make_stream_with(
        &js,
        stream::Config {
            name: "AGED".into(),
            subjects: vec!["aged.>".into()],
            allow_message_ttl: true,
            max_age: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .await;
    let never = publish_ttl(&c, "aged.never", Some("never")).await;
    let plain = publish_ttl(&c, "aged.plain", None).await;
    let long = publish_ttl(&c, "aged.long", Some("1h")).await;
    for seq in [&plain, &long] {
        until_gone(&aged, seq["seq"].as_u64().expect("seq")).await;
    }
    assert!(
        present(&aged, never["seq"].as_u64().expect("seq")).await,
        "Nats-TTL: never is exempt from max_age"
    );
}

#[tokio::test]
async fn kv_key_ttl_leaves_a_limit_marker_that_expires_too() {
    let b = Broker::start();
    let js = js(&b).await;
    let kv = within(
        "create bucket with limit markers",
        js.create_key_value(kv::Config {
            bucket: "leases".into(),
            limit_markers: Some(Duration::from_secs(1)),
            ..Default::default()
        }),
    )
    .await
    .expect("bucket");
    let mut watch = within("watch", kv.watch("lease")).await.expect("watch");
    within(
        "create with TTL",
        kv.create_with_ttl("lease", "held".into(), Duration::from_secs(1)),
    )
    .await
    .expect("create with TTL");
    let put = within("watch put", watch.next())
        .await
        .expect("open")
        .expect("entry");
    assert_eq!(
        (put.operation, put.value.as_ref()),
        (kv::Operation::Put, &b"held"[..])
    );
    // When the TTL runs out the key's last value is replaced by a marker, which watchers
    // see as a purge.
    let gone = within("watch marker", watch.next())
        .await
        .expect("open")
        .expect("entry");
    assert_eq!(gone.operation, kv::Operation::Purge);
    assert!(gone.revision > put.revision);
    assert_eq!(within("get", kv.get("lease")).await.expect("get"), None);
    let mut stream = within("stream", js.get_stream("KV_leases"))
        .await
        .expect("stream");
    let marker = within("marker", stream.get_raw_message(gone.revision))
        .await
        .expect("the marker is stored");
    let header = |k: &str| marker.headers.get(k).map(|v| v.as_str().to_owned());
    assert_eq!(header("Nats-Marker-Reason").as_deref(), Some("MaxAge"));
    assert_eq!(header("Nats-TTL").as_deref(), Some("1s"));
    assert_eq!(header("Nats-Rollup").as_deref(), Some("sub"));
    assert!(marker.payload.is_empty());
    // The marker lives for `limit_markers`, then the bucket is empty.
    let start = Instant::now();
    loop {
        let info = within("stream info", stream.info()).await.expect("info");
        if info.state.messages == 0 {
            break;
        }
        assert!(
            start.elapsed() < timeout(),
            "marker never expired: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
