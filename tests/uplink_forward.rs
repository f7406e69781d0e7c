//! Store-and-forward over the uplink (issue 4): records of a `[[uplink.forward]]` stream
//! reach a real nats-server 2.15.1 hub stream in order and exactly once after a hub outage,
//! an outage longer than the hub's duplicate window, kill -9 of leafd, the loss of the hub
//! node leafd is attached to, and a link cut and stalled by a fault-injecting proxy.
//!
//! leafd only: nats-server has no `[[uplink.forward]]` (its leafs replay through hub-side
//! stream sourcing instead), so `tests/run.sh` skips this module when validating against it.
//!
//! Every local record `k` carries payload `m<k>`; the checks read the hub stream back and
//! require hub seq `k` to hold `m<k>` with `Nats-Msg-Id: edge1:<stream>:<epoch>:<k>`.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream, Context};
use async_nats::Client;
use serde_json::Value;

use crate::util::hub::Hub;
use crate::util::js::make_stream;
use crate::util::proxy::Proxy;
use crate::util::{client, within, Broker, Limits, Uplink};

use super::uplink_live::hub_client;

/// Replays here are bounded by this rather than the per-step test timeout: a hub cluster
/// may need a few seconds to elect a new stream leader after a node dies.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(60);

/// leafd linked to `urls` as `edge1`, forwarding `stream` under `prefix`.
fn edge(urls: Vec<String>, stream: &str, prefix: Option<&str>) -> Broker {
    Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls,
            name: "edge1".into(),
            forward: vec![(stream.into(), prefix.map(str::to_owned))],
            auth_toml: None,
            tls_toml: None,
        }),
        ..Limits::default()
    })
}

/// Creates the hub stream, retrying while a cluster is still electing its leaders.
async fn hub_stream(hjs: &Context, config: stream::Config) {
    let deadline = Instant::now() + REPLAY_TIMEOUT;
    loop {
        match hjs.create_stream(config.clone()).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("create hub stream {}: {e}", config.name),
        }
    }
}

/// A JetStream context on `hub` with a stream `name` on `subject` (defaults otherwise).
async fn hub_js_stream(hub: &Hub, name: &str, subject: &str) -> Context {
    let hjs = jetstream::new(hub_client(&hub.client_url()).await);
    hub_stream(
        &hjs,
        stream::Config {
            name: name.into(),
            subjects: vec![subject.into()],
            ..Default::default()
        },
    )
    .await;
    hjs
}

/// Publishes `m<k>` for k in `from..=to` into the local stream and waits for every ack.
async fn publish_local(js: &Context, subject: &str, from: u64, to: u64) {
    within("local publishes", async {
        let mut acks = Vec::new();
        for k in from..=to {
            acks.push(
                js.publish(subject.to_owned(), format!("m{k}").into())
                    .await
                    .unwrap(),
            );
            if acks.len() >= 256 {
                for a in acks.drain(..) {
                    a.await.unwrap();
                }
            }
        }
        for a in acks {
            a.await.unwrap();
        }
    })
    .await;
}

/// Messages in the hub stream now (`None` while the hub cannot answer).
async fn hub_count(hjs: &Context, name: &str) -> Option<u64> {
    let mut s = tokio::time::timeout(Duration::from_secs(2), hjs.get_stream(name))
        .await
        .ok()?
        .ok()?;
    let info = tokio::time::timeout(Duration::from_secs(2), s.info())
        .await
        .ok()?
        .ok()?;
    Some(info.state.messages)
}

/// Waits until the hub stream holds at least `n` messages; returns how many it holds.
async fn wait_hub_count(hjs: &Context, name: &str, n: u64) -> u64 {
    let deadline = Instant::now() + REPLAY_TIMEOUT;
    loop {
        if let Some(c) = hub_count(hjs, name).await {
            if c >= n {
                return c;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the hub stream {name} did not reach {n} messages within {REPLAY_TIMEOUT:?} (has {:?})",
            hub_count(hjs, name).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The uplink status leafd answers on `$SYS.REQ.LEAFD.UPLINK`.
async fn status(e: &Client) -> Value {
    let r = within(
        "uplink status",
        e.request("$SYS.REQ.LEAFD.UPLINK", "".into()),
    )
    .await
    .expect("status request answered");
    serde_json::from_slice(&r.payload).expect("status is JSON")
}

/// Waits until the forwarder's cursor reaches `n` (the hub acknowledged everything).
async fn wait_cursor(e: &Client, n: u64) {
    let deadline = Instant::now() + REPLAY_TIMEOUT;
    loop {
        let s = status(e).await;
        if s["forwards"][0]["cursor"].as_u64() == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the cursor did not reach {n}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hub stream holds exactly records 1..=n of `local`, in order, once each.
async fn assert_exactly_once(hjs: &Context, hub: &str, local: &str, n: u64) {
    let count = wait_hub_count(hjs, hub, n).await;
    assert_eq!(
        count, n,
        "hub stream {hub}: {count} messages for {n} records (duplicates)"
    );
    let s = hjs.get_stream(hub).await.expect("hub stream");
    for k in 1..=n {
        let m = within("read the hub stream", s.get_raw_message(k))
            .await
            .unwrap_or_else(|e| panic!("hub seq {k}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&m.payload),
            format!("m{k}"),
            "hub seq {k}"
        );
        let id = m
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert!(
            id.starts_with(&format!("edge1:{local}:")) && id.ends_with(&format!(":{k}")),
            "hub seq {k} has id {id:?}"
        );
    }
}

/// A hub, its stream `HUB` on `edge1.>`, and leafd forwarding `SENSORS` (`sensors.>`) to it.
async fn setup(
    hub: &Hub,
    urls: Vec<String>,
    replicas: usize,
    dup: Option<Duration>,
) -> (Broker, Context, Context, Client) {
    let h = hub_client(&hub.client_url()).await;
    let hjs = jetstream::new(h);
    hub_stream(
        &hjs,
        stream::Config {
            name: "HUB".into(),
            subjects: vec!["edge1.>".into()],
            num_replicas: replicas,
            duplicate_window: dup.unwrap_or(Duration::from_secs(120)),
            ..Default::default()
        },
    )
    .await;
    let b = edge(urls, "SENSORS", Some("edge1"));
    let e = client(&b).await;
    let js = jetstream::new(e.clone());
    make_stream(&js, "SENSORS", &["sensors.>"]).await;
    (b, hjs, js, e)
}

#[tokio::test]
async fn a_hub_outage_is_replayed_in_order_exactly_once() {
    let mut hub = Hub::single();
    let (b, hjs, js, e) = setup(&hub, hub.leaf_urls(), 1, None).await;
    publish_local(&js, "sensors.t", 1, 100).await;
    wait_hub_count(&hjs, "HUB", 100).await;
    hub.kill(0);
    publish_local(&js, "sensors.t", 101, 500).await;
    hub.restart(0);
    assert_exactly_once(&hjs, "HUB", "SENSORS", 500).await;
    wait_cursor(&e, 500).await;
    // `leafd status` prints the same state for the operator.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leafd"))
        .args(["status", "--server", &b.addr().to_string()])
        .output()
        .expect("run leafd status");
    assert!(out.status.success(), "leafd status: {out:?}");
    let s: Value = serde_json::from_slice(&out.stdout).expect("leafd status prints JSON");
    assert_eq!(s["connected"], Value::Bool(true), "{s}");
    assert_eq!(s["forwards"][0]["stream"], "SENSORS", "{s}");
    assert_eq!(s["forwards"][0]["cursor"], 500, "{s}");
    assert_eq!(s["forwards"][0]["pending_msgs"], 0, "{s}");
    assert_eq!(s["forwards"][0]["lost"], 0, "{s}");
}

#[tokio::test]
async fn an_outage_longer_than_the_duplicate_window_adds_no_duplicates() {
    let hub = Hub::single();
    let proxy = Proxy::start(([127, 0, 0, 1], hub.nodes[0].leaf_port).into());
    let (_b, hjs, js, e) = setup(&hub, vec![proxy.url()], 1, Some(Duration::from_secs(1))).await;
    publish_local(&js, "sensors.t", 1, 1).await;
    wait_cursor(&e, 1).await;
    // PubAcks stop coming back while records still reach the hub (a window's worth, 64):
    // those are in doubt.
    proxy.stall(false, true);
    publish_local(&js, "sensors.t", 2, 201).await;
    wait_hub_count(&hjs, "HUB", 50).await;
    proxy.refuse(true);
    proxy.cut();
    // The scenario itself: the outage must outlast the hub's 1 s duplicate window.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.stall(false, false);
    proxy.refuse(false);
    wait_cursor(&e, 201).await;
    publish_local(&js, "sensors.t", 202, 210).await;
    wait_cursor(&e, 210).await;
    assert_exactly_once(&hjs, "HUB", "SENSORS", 210).await;
}

#[tokio::test]
async fn leafd_killed_mid_replay_resumes_without_loss_or_duplicates() {
    let mut hub = Hub::single();
    let (mut b, hjs, js, _e) = setup(&hub, hub.leaf_urls(), 1, None).await;
    hub.kill(0);
    publish_local(&js, "sensors.t", 1, 3000).await;
    hub.restart(0);
    wait_hub_count(&hjs, "HUB", 1).await;
    b.restart();
    assert_exactly_once(&hjs, "HUB", "SENSORS", 3000).await;
}

#[tokio::test]
async fn losing_the_hub_node_mid_replay_fails_over_without_loss_or_duplicates() {
    let mut hub = Hub::cluster(3);
    let (_b, hjs, js, e) = setup(&hub, hub.leaf_urls(), 3, None).await;
    publish_local(&js, "sensors.t", 1, 1).await;
    wait_cursor(&e, 1).await;
    let attached = status(&e).await["hub"]
        .as_str()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok())
        .and_then(|p| hub.node_with_leaf_port(p))
        .expect("status names the hub node leafd is attached to");
    publish_local(&js, "sensors.t", 2, 2000).await;
    hub.kill(attached);
    assert_exactly_once(&hjs, "HUB", "SENSORS", 2000).await;
    let s = status(&e).await;
    assert_ne!(
        s["hub"].as_str().and_then(|a| a.rsplit(':').next()),
        Some(hub.nodes[attached].leaf_port.to_string().as_str()),
        "leafd moved to another node: {s}"
    );
}

#[tokio::test]
async fn a_cut_and_stalled_link_mid_replay_loses_and_duplicates_nothing() {
    let hub = Hub::single();
    let proxy = Proxy::start(([127, 0, 0, 1], hub.nodes[0].leaf_port).into());
    let (_b, hjs, js, e) = setup(&hub, vec![proxy.url()], 1, None).await;
    publish_local(&js, "sensors.t", 1, 1).await;
    wait_cursor(&e, 1).await;
    proxy.stall(true, true);
    publish_local(&js, "sensors.t", 2, 2000).await;
    for round in 0..3 {
        proxy.stall(false, false);
        wait_hub_count(&hjs, "HUB", 2 + round * 300).await;
        if round % 2 == 0 {
            proxy.cut();
        } else {
            proxy.stall(true, false);
            proxy.cut();
            proxy.stall(false, false);
        }
    }
    wait_cursor(&e, 2000).await;
    assert_exactly_once(&hjs, "HUB", "SENSORS", 2000).await;
}

#[tokio::test]
async fn forwarded_subjects_reach_the_hub_only_through_the_forwarder() {
    let hub = Hub::single();
    let hjs = hub_js_stream(&hub, "PLAIN", "plain.>").await;
    // No prefix: the hub stream captures the very subjects the local stream does, so the hub
    // has interest in them and the live path would send each record a second time.
    let b = edge(hub.leaf_urls(), "LOCAL", None);
    let e = client(&b).await;
    let js = jetstream::new(e.clone());
    make_stream(&js, "LOCAL", &["plain.>"]).await;
    // Wait for the link before publishing, so the live path had its chance.
    let deadline = Instant::now() + REPLAY_TIMEOUT;
    while status(&e).await["connected"] != Value::Bool(true) {
        assert!(Instant::now() < deadline, "the uplink did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    publish_local(&js, "plain.x", 1, 50).await;
    for k in 51..=100u64 {
        e.publish("plain.x", format!("m{k}").into()).await.unwrap();
    }
    e.flush().await.unwrap();
    wait_cursor(&e, 100).await;
    assert_exactly_once(&hjs, "PLAIN", "LOCAL", 100).await;
}

#[tokio::test]
async fn a_forwarded_streams_limits_wait_until_the_hub_has_the_records() {
    let mut hub = Hub::single();
    let hjs = hub_js_stream(&hub, "HUB", "edge1.>").await;
    hub.kill(0);
    let b = edge(hub.leaf_urls(), "SENSORS", Some("edge1"));
    let e = client(&b).await;
    let js = jetstream::new(e.clone());
    let mut local = crate::util::js::make_stream_with(
        &js,
        stream::Config {
            name: "SENSORS".into(),
            subjects: vec!["sensors.>".into()],
            max_messages: 10,
            ..Default::default()
        },
    )
    .await;
    publish_local(&js, "sensors.t", 1, 50).await;
    // The hub is away: max_messages 10 must not drop the 40 records it has not got yet.
    let held = local.info().await.expect("stream info").state.messages;
    assert_eq!(
        held, 50,
        "unforwarded records were evicted by the stream's own limit"
    );
    hub.restart(0);
    assert_exactly_once(&hjs, "HUB", "SENSORS", 50).await;
    wait_cursor(&e, 50).await;
    // Once the hub has them, the limit applies again.
    let deadline = Instant::now() + REPLAY_TIMEOUT;
    loop {
        let n = local.info().await.expect("stream info").state.messages;
        if n == 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the limit was not applied after forwarding: {n} messages"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_long_replay_over_a_slow_link_keeps_the_link_up() {
    let hub = Hub::single();
    let proxy = Proxy::start(([127, 0, 0, 1], hub.nodes[0].leaf_port).into());
    let hjs = hub_js_stream(&hub, "HUB", "edge1.>").await;
    // PINGs every second: two unanswered (about 2 s) and leafd drops the link. 200 records
    // of 600 bytes in flight at once (the record window alone) on a 32 KiB/s link would
    // queue a PING behind about 4 s of replay.
    let b = Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls: vec![proxy.url()],
            name: "edge1".into(),
            forward: vec![("SENSORS".into(), Some("edge1".into()))],
            auth_toml: Some("ping_interval = \"1s\"".into()),
            tls_toml: None,
        }),
        ..Limits::default()
    });
    let e = client(&b).await;
    let js = jetstream::new(e.clone());
    make_stream(&js, "SENSORS", &["sensors.>"]).await;
    publish_local(&js, "sensors.t", 1, 1).await;
    wait_cursor(&e, 1).await;
    proxy.throttle_up(Some(32 * 1024));
    let pad = "x".repeat(600);
    within("local publishes", async {
        for k in 2..=300u64 {
            js.publish("sensors.t", format!("m{k}{pad}").into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    })
    .await;
    wait_cursor(&e, 300).await;
    let s = status(&e).await;
    assert_eq!(
        s["live"]["connects"], 1,
        "the link dropped during the replay: {s}"
    );
    let rate = s["forwards"][0]["acked_bytes_per_sec"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        rate > 0 && rate < 64 * 1024,
        "the forwarder measured the slow link's rate: {s}"
    );
    let count = wait_hub_count(&hjs, "HUB", 300).await;
    assert_eq!(count, 300, "no duplicates");
}
