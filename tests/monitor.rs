//! The monitoring HTTP listener (`--http`, `[http] listen`; nats-server's `http:`).
//!
//! The first tests build a known situation with async-nats (three named connections,
//! subscriptions, a queue group, five 10-byte messages) and read `/varz`, `/connz` (with
//! `limit`, `offset`, `subs=1`, `subs=detail`), `/subsz` and `/healthz`; they run against
//! nats-server 2.15.1 too, so field names and values are nats-server's for the same
//! situation; so does `/leafz` with a link to a real nats-server hub (against a nats-server
//! leaf configured the same way). nats-server has internal subscriptions and an index page at every unknown path,
//! so server-wide subscription counts are compared as deltas and 404s are leafd-only.
//!
//! leafd-only (skipped against nats-server in tests/run.sh): hostile input to the listener,
//! `/jsz` with the store budget, `/leafz` with forward lag, `/healthz` turning 503 when the
//! uplink is down past the store's budget. `/metrics` is parsed by Prometheus's own Python
//! parser in tests/py/test_metrics.py.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use async_nats::{Client, ConnectOptions};
use futures::StreamExt as _;
use serde_json::Value;

use crate::util::http::{exchange, get, get_json, parse};
use crate::util::{client_with, next_msg, unique, within, Broker, Http, Limits, Uplink};

fn with_http() -> Limits {
    Limits {
        http: Some(Http::default()),
        ..Limits::default()
    }
}

async fn named(b: &Broker, name: &str) -> Client {
    client_with(b, ConnectOptions::new().name(name)).await
}

/// Proves the broker has processed what `c` sent: one message to its own `sync` subject,
/// through a subscription that stays (so counts stay exact: one more subscription, one
/// message in and out, no bytes).
async fn sync_on(c: &Client, subject: String) {
    let mut sub = c.subscribe(subject.clone()).await.unwrap();
    c.publish(subject, "".into()).await.unwrap();
    within("sync round trip", sub.next()).await.unwrap();
    // Keep the subscription: unsubscribing would leave a change the broker may not have seen.
    std::mem::forget(sub);
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// The situation: a subscribes to `root.x` and `root.y.*`, b to `root.x` in queue `q`, c
/// publishes five 10-byte messages to `root.x`; each syncs once on `root.sync.<name>`.
async fn situation(b: &Broker, root: &str) -> [Client; 3] {
    let (a, bq, c) = (
        named(b, "mon-a").await,
        named(b, "mon-b").await,
        named(b, "mon-c").await,
    );
    let mut ax = a.subscribe(format!("{root}.x")).await.unwrap();
    let _ay = a.subscribe(format!("{root}.y.*")).await.unwrap();
    let mut bx = bq
        .queue_subscribe(format!("{root}.x"), "q".into())
        .await
        .unwrap();
    sync_on(&a, format!("{root}.sync.a")).await;
    sync_on(&bq, format!("{root}.sync.b")).await;
    for i in 0..5 {
        c.publish(format!("{root}.x"), format!("payload-{i:02}").into())
            .await
            .unwrap();
    }
    for _ in 0..5 {
        next_msg(&mut ax).await;
        next_msg(&mut bx).await;
    }
    sync_on(&c, format!("{root}.sync.c")).await;
    std::mem::forget(ax);
    std::mem::forget(_ay);
    std::mem::forget(bx);
    [a, bq, c]
}

#[tokio::test]
async fn varz_counts_a_known_situation_like_nats_server() {
    let b = Broker::start_with(with_http());
    let http = b.http_addr();
    let before = get_json(http, "/varz");
    let root = unique("mon");
    let clients = situation(&b, &root).await;
    let v = get_json(http, "/varz");

    assert_eq!(v["server_id"], clients[0].server_info().server_id.as_str());
    assert_eq!(v["version"], "2.15.1");
    assert_eq!(u(&v, "port"), u64::from(b.addr().port()));
    assert_eq!(v["host"], "127.0.0.1");
    assert_eq!(u(&v, "http_port"), u64::from(http.port()));
    assert_eq!(v["http_host"], "127.0.0.1");
    assert_eq!(u(&v, "max_payload"), 1024 * 1024);
    assert_eq!(u(&v, "connections"), 3);
    assert!(u(&v, "total_connections") >= 3, "{v}");
    // Five messages in, ten out (a and the queue member each get five), plus one sync
    // round trip per client; only the payloads count as bytes.
    let delta = |k: &str| u(&v, k) - u(&before, k);
    assert_eq!(delta("in_msgs"), 5 + 3, "{v}");
    assert_eq!(delta("out_msgs"), 10 + 3, "{v}");
    assert_eq!(delta("in_bytes"), 50, "{v}");
    assert_eq!(delta("out_bytes"), 100, "{v}");
    assert_eq!(delta("subscriptions"), 6, "{v}");
    assert_eq!(u(&v, "slow_consumers"), 0);
    assert!(u(&v, "mem") > 0, "{v}");
    assert!(v["uptime"].as_str().unwrap().ends_with('s'), "{v}");
    for k in ["start", "now"] {
        assert!(v[k].as_str().unwrap().starts_with("20"), "{k}: {v}");
    }
}

#[tokio::test]
async fn connz_pages_and_lists_subscriptions_like_nats_server() {
    let b = Broker::start_with(with_http());
    let http = b.http_addr();
    let root = unique("mon");
    let clients = situation(&b, &root).await;

    let z = get_json(http, "/connz");
    assert_eq!(z["server_id"], clients[0].server_info().server_id.as_str());
    assert_eq!(
        (
            u(&z, "num_connections"),
            u(&z, "total"),
            u(&z, "offset"),
            u(&z, "limit")
        ),
        (3, 3, 0, 1024)
    );
    let conns = z["connections"].as_array().unwrap();
    let cids: Vec<u64> = conns.iter().map(|c| u(c, "cid")).collect();
    assert!(
        cids.windows(2).all(|w| w[0] < w[1]),
        "sorted by cid: {cids:?}"
    );
    let col = |k: &str| conns.iter().map(|c| c[k].clone()).collect::<Vec<_>>();
    assert_eq!(col("name"), ["mon-a", "mon-b", "mon-c"]);
    assert_eq!(col("subscriptions"), [3, 2, 1]);
    assert_eq!(col("in_msgs"), [1, 1, 6]);
    assert_eq!(col("in_bytes"), [0, 0, 50]);
    assert_eq!(col("out_msgs"), [6, 6, 1]);
    assert_eq!(col("out_bytes"), [50, 50, 0]);
    for c in conns {
        assert_eq!(c["kind"], "Client");
        assert_eq!(c["type"], "nats");
        assert_eq!(c["ip"], "127.0.0.1");
        assert!(u(c, "port") > 0);
        assert_eq!(c["lang"], "rust");
        assert!(c["version"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
        assert!(c["pending_bytes"].is_u64(), "{c}");
        for k in ["uptime", "idle"] {
            assert!(c[k].as_str().unwrap().ends_with('s'), "{k}: {c}");
        }
        for k in ["start", "last_activity"] {
            assert!(c[k].as_str().unwrap().starts_with("20"), "{k}: {c}");
        }
        assert!(
            c.get("subscriptions_list").is_none(),
            "only with subs=1: {c}"
        );
    }

    let page = get_json(http, "/connz?limit=1&offset=1");
    assert_eq!(
        (
            u(&page, "num_connections"),
            u(&page, "total"),
            u(&page, "offset"),
            u(&page, "limit")
        ),
        (1, 3, 1, 1)
    );
    assert_eq!(page["connections"][0]["name"], "mon-b");
    let past = get_json(http, "/connz?offset=5");
    assert_eq!((u(&past, "num_connections"), u(&past, "total")), (0, 3));

    let subs = get_json(http, "/connz?subs=1");
    let mut a_subs: Vec<String> = subs["connections"][0]["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    a_subs.sort();
    assert_eq!(
        a_subs,
        [
            format!("{root}.sync.a"),
            format!("{root}.x"),
            format!("{root}.y.*")
        ]
    );

    let detail = get_json(http, "/connz?subs=detail");
    let b_detail = detail["connections"][1]["subscriptions_list_detail"]
        .as_array()
        .unwrap();
    let queued = b_detail
        .iter()
        .find(|s| s["subject"] == format!("{root}.x").as_str())
        .unwrap_or_else(|| panic!("{root}.x in {detail}"));
    assert_eq!(queued["qgroup"], "q");
    assert_eq!(u(queued, "msgs"), 5);
    assert_eq!(u(queued, "cid"), cids[1]);
    assert!(queued["sid"].is_string(), "{queued}");

    let bad = get(http, "/connz?limit=lots");
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[tokio::test]
async fn subsz_and_healthz_like_nats_server() {
    let b = Broker::start_with(with_http());
    let http = b.http_addr();
    let before = get_json(http, "/subsz");
    let root = unique("mon");
    let clients = situation(&b, &root).await;

    let s = get_json(http, "/subsz");
    assert_eq!(s["server_id"], clients[0].server_info().server_id.as_str());
    assert_eq!(
        u(&s, "num_subscriptions") - u(&before, "num_subscriptions"),
        6
    );
    for k in ["num_cache", "num_inserts", "num_removes", "num_matches"] {
        assert!(s[k].is_u64(), "{k}: {s}");
    }
    assert!(s["cache_hit_rate"].is_number(), "{s}");
    assert!(
        s.get("subscriptions_list").is_none(),
        "only with subs=1: {s}"
    );

    let listed = get_json(http, "/subsz?subs=1");
    let ours: Vec<&Value> = listed["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["subject"].as_str().unwrap().starts_with(&root))
        .collect();
    assert_eq!(ours.len(), 6, "{listed}");
    for d in &ours {
        assert_eq!(d["account"], "$G", "{d}");
        assert!(d["cid"].is_u64() && d["sid"].is_string(), "{d}");
    }
    assert_eq!(ours.iter().filter(|d| d["qgroup"] == "q").count(), 1);

    let h = get(http, "/healthz");
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.header("content-type"), Some("application/json"));
    assert_eq!(h.json(), serde_json::json!({"status": "ok"}));
}

/// `/leafz` from the leaf's side of a link to a real nats-server hub, with `/varz`
/// `leafnodes` and the link in `/connz` as `Leafnode`, like a nats-server leaf shows them.
#[tokio::test]
async fn leafz_shows_the_link_to_the_hub_like_nats_server() {
    use crate::uplink_live::{hub_client, next_real, until_routed};
    let hub = crate::util::hub::Hub::single();
    let b = Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls: hub.leaf_urls(),
            name: "edge1".into(),
            forward: Vec::new(),
            auth_toml: None,
            tls_toml: None,
        }),
        http: Some(Http::default()),
        ..Limits::default()
    });
    let http = b.http_addr();
    let h = hub_client(&hub.node_url(0)).await;
    let e = crate::util::client(&b).await;
    let mut at_edge = e.subscribe("down.>").await.unwrap();
    crate::util::sync(&e).await;
    until_routed(&h, "down.probe", &mut at_edge).await;
    for i in 0..3 {
        h.publish(format!("down.{i}"), "hello".into())
            .await
            .unwrap();
    }
    h.flush().await.unwrap();
    for _ in 0..3 {
        next_real(&mut at_edge).await;
    }
    let leaf_port: u64 = hub.leaf_urls()[0]
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let l = get_json(http, "/leafz");
    assert_eq!(u(&l, "leafnodes"), 1, "{l}");
    let leafs = l["leafs"].as_array().unwrap();
    assert_eq!(leafs.len(), 1, "{l}");
    let link = &leafs[0];
    assert_eq!(link["name"], h.server_info().server_name.as_str(), "{link}");
    assert_eq!(link["ip"], "127.0.0.1");
    assert_eq!(u(link, "port"), leaf_port);
    assert_eq!(link["account"], "$G");
    assert_eq!(link["is_spoke"], true);
    assert!(
        u(link, "in_msgs") >= 3 && u(link, "in_bytes") >= 15,
        "{link}"
    );
    for k in ["id", "out_msgs", "out_bytes", "subscriptions"] {
        assert!(link[k].is_u64(), "{k}: {link}");
    }

    let v = get_json(http, "/varz");
    assert_eq!((u(&v, "leafnodes"), u(&v, "connections")), (1, 1), "{v}");
    let z = get_json(http, "/connz");
    assert_eq!(u(&z, "total"), 2, "the client and the link: {z}");
    let conns = z["connections"].as_array().unwrap();
    let link = conns
        .iter()
        .find(|c| c["kind"] == "Leafnode")
        .expect("the link in /connz");
    assert_eq!(u(link, "port"), leaf_port);
    assert!(conns.iter().any(|c| c["kind"] == "Client"), "{z}");
}

// ---- leafd-only from here on (tests/run.sh skips monitor::leafd_ against nats-server) ----

/// Bad requests get nats-server-like answers or a close, never a hang or unbounded memory:
/// 404, 405, 400 for malformed and oversized heads, a slow client closed after the timeout,
/// and connections past `max_connections` answered 503.
#[test]
fn leafd_hostile_requests_are_bounded() {
    let b = Broker::start_with(Limits {
        http: Some(Http {
            max_connections: Some(2),
            request_timeout: Some(Duration::from_millis(500)),
        }),
        ..Limits::default()
    });
    let http = b.http_addr();
    assert_eq!(get(http, "/nope").status, 404);
    let post = parse(&exchange(
        http,
        b"POST /varz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    ));
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
    for bad in [
        &b"GET /varz\r\n\r\n"[..],
        b"GET /varz HTTP/1.1\r\nno-colon-here\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        assert_eq!(parse(&exchange(http, bad)).status, 400, "{bad:?}");
    }
    // A head past 8 KiB: 400, then the connection closes (it is not read any further).
    let mut huge = b"GET /varz HTTP/1.1\r\nX-Pad: ".to_vec();
    huge.resize(9000, b'a');
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(crate::util::timeout())).unwrap();
    s.write_all(&huge).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("closed after the answer");
    assert_eq!(parse(&out).status, 400);

    // Slowloris: half a request line, then nothing. Closed once request_timeout passes,
    // without an answer.
    let started = Instant::now();
    let mut slow = TcpStream::connect(http).unwrap();
    slow.set_read_timeout(Some(crate::util::timeout())).unwrap();
    slow.write_all(b"GET /varz HT").unwrap();
    let mut got = Vec::new();
    slow.read_to_end(&mut got)
        .expect("the server closes a slow client");
    assert!(got.is_empty(), "no answer to half a request: {got:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );

    // Two idle connections fill max_connections: the next one (accepted after them, the
    // backlog is first in, first out) is answered 503 at once...
    let mut idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(http).unwrap()).collect();
    let busy = get(http, "/varz");
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert!(busy.body.contains("too many monitoring connections"));
    // ...and when the idle ones time out, the listener serves again.
    for s in &mut idle {
        s.set_read_timeout(Some(crate::util::timeout())).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("idle connection closed");
    }
    assert_eq!(get(http, "/varz").status, 200);
}

/// `/jsz`: streams, consumers, messages and the store's disk use against its budget.
#[tokio::test]
async fn leafd_jsz_shows_streams_consumers_and_the_store_budget() {
    let b = Broker::start_with(Limits {
        store_max_bytes: Some(64 << 20),
        http: Some(Http::default()),
        ..Limits::default()
    });
    let js = crate::util::js::js(&b).await;
    let stream = crate::util::js::make_stream(&js, "MON", &["mon.>"]).await;
    for i in 0..5 {
        crate::util::js::publish(&js, "mon.a", &format!("m{i}")).await;
    }
    crate::util::js::pull_consumer(
        &stream,
        async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("C1".into()),
            ..Default::default()
        },
    )
    .await;
    let z = get_json(b.http_addr(), "/jsz?consumers=1");
    assert_eq!(
        (u(&z, "streams"), u(&z, "consumers"), u(&z, "messages")),
        (1, 1, 5)
    );
    assert_eq!(u(&z, "store_max_bytes"), 64 << 20);
    assert_eq!(u(&z["config"], "max_storage"), 64 << 20);
    let used = u(&z, "store_used_bytes");
    assert!(used > 0 && used <= 64 << 20, "{z}");
    assert!(u(&z, "storage") > 0, "{z}");
    let s = &z["account_details"][0]["stream_detail"][0];
    assert_eq!(s["name"], "MON");
    assert_eq!(u(&s["state"], "messages"), 5);
    assert_eq!(s["consumer_detail"][0]["name"], "C1");
    assert_eq!(u(&s["consumer_detail"][0], "num_pending"), 5);
    let plain = get_json(b.http_addr(), "/jsz");
    assert!(plain.get("account_details").is_none(), "{plain}");
}

/// `/healthz` with an uplink that cannot connect: healthy while what waits for the hub fits
/// the store, 503 `unavailable` once the store's message budget is spent by it. `/leafz`
/// shows no link and the forward lag meanwhile.
#[tokio::test]
async fn leafd_healthz_turns_unavailable_when_the_uplink_is_down_past_the_budget() {
    // Nothing listens there: the harness's ports are never taken by accident.
    let dead = crate::util::candidate_port();
    let b = Broker::start_with(Limits {
        store_max_msgs: Some(1000),
        uplink: Some(Uplink {
            urls: vec![format!("nats-leaf://127.0.0.1:{dead}")],
            name: "edge1".into(),
            forward: vec![("FWD".into(), None)],
            auth_toml: None,
            tls_toml: None,
        }),
        http: Some(Http::default()),
        ..Limits::default()
    });
    let http = b.http_addr();
    let js = crate::util::js::js(&b).await;
    crate::util::js::make_stream(&js, "FWD", &["fwd.>"]).await;
    for i in 0..10 {
        crate::util::js::publish(&js, "fwd.a", &format!("m{i}")).await;
    }
    let h = get(http, "/healthz");
    assert_eq!(
        h.status, 200,
        "down but buffering within budget: {}",
        h.body
    );

    // The uplink's tick (every 100 ms) starts the stream's forwarder; wait for that event.
    let deadline = Instant::now() + crate::util::timeout();
    let l = loop {
        let l = get_json(http, "/leafz");
        if l["uplink"]["forwards"][0]["state"] != "no such stream" {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "the forwarder never started: {l}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // polling for the event above
    };
    assert_eq!(u(&l, "leafnodes"), 0);
    assert_eq!(l["uplink"]["connected"], false);
    let f = &l["uplink"]["forwards"][0];
    assert_eq!(f["stream"], "FWD");
    assert_eq!(u(f, "pending_msgs"), 10);
    assert!(u(f, "pending_bytes") > 0, "{f}");

    // Fill the store's message budget with records the hub has not taken.
    let mut refused = false;
    for i in 10..1200 {
        let ack = js
            .publish("fwd.a", format!("m{i}").into())
            .await
            .unwrap()
            .await;
        if ack.is_err() {
            refused = true;
            break;
        }
    }
    let h = get(http, "/healthz");
    assert_eq!(
        h.status,
        503,
        "refused a publish: {refused}; {}; {}; {}",
        h.body,
        get(http, "/leafz").body,
        get(http, "/jsz").body
    );
    let body = h.json();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}
