"""leafd's /metrics read by Prometheus's own text-format parser (prometheus_client), checked
series by series against a situation this test builds: connections, messages and bytes in and
out, slow consumers, per-stream messages and bytes, per-consumer pending and ack pending,
uplink state, forward lag (messages, bytes, age), evictions, store disk use against its
budget, RSS; and the security counters (refused logins, permission violations).

leafd-only: nats-server has no /metrics, so under LEAFD_CMD=nats-server this test still runs
against the leafd cargo built (conftest.native_leafd_template), never silently skipped."""

import json
import shutil
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import conftest
from support import TIMEOUT, sync

STORE_MAX = 64 * 1024 * 1024


def native_leafd(toml, http_port):
    """Runs the leafd cargo built with config `toml` whose monitoring is on `http_port`;
    yields it (with `.http`, the monitoring base URL) and stops it."""
    b = conftest.Broker(template=conftest.native_leafd_template(), leafd_toml=toml)
    b.start()
    b.http = f"http://127.0.0.1:{http_port}"
    yield b
    b.stop()
    print(f"--- broker log ({b.log_path}) ---\n{b.log()}--- end of broker log ---")
    shutil.rmtree(b.dir, ignore_errors=True)


@pytest.fixture
def monitored():
    http_port = conftest.candidate_port()
    dead_port = conftest.candidate_port()  # nothing listens there: the uplink stays down
    toml = f"""
[store]
max_bytes = {STORE_MAX}
segment_bytes = {STORE_MAX // 16}

[http]
listen = "127.0.0.1:{http_port}"

[uplink]
urls = ["nats-leaf://127.0.0.1:{dead_port}"]
name = "edge1"
reconnect_min = "50ms"
reconnect_max = "500ms"

[[uplink.forward]]
stream = "FWD"
"""
    yield from native_leafd(toml, http_port)


def get(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def scrape(b):
    status, ctype, text = get(b.http + "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {}
    for f in families.values():
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples, text


async def test_metrics_parse_and_match_the_situation(monitored):
    import nats

    async def connect(**kw):
        return await nats.connect(monitored.url, connect_timeout=TIMEOUT, max_reconnect_attempts=0, **kw)

    sub_c, pub_c = await connect(name="sub"), await connect(name="pub")
    js_c = await connect(name="js")
    js = js_c.jetstream(timeout=TIMEOUT)
    sub = await sub_c.subscribe("m.x")
    await sync(sub_c)
    for _ in range(3):
        await pub_c.publish("m.x", b"abcd")
    await sync(pub_c)
    for _ in range(3):
        await sub.next_msg(timeout=TIMEOUT)

    # A stream with 5 messages, a consumer holding 2 of them unacknowledged.
    await js.add_stream(name="MET", subjects=["met.>"])
    for i in range(5):
        await js.publish("met.a", f"m{i}".encode())
    psub = await js.pull_subscribe("met.>", durable="C1", stream="MET")
    got = await psub.fetch(2, timeout=TIMEOUT)
    assert len(got) == 2
    # A stream whose own limit evicts 3 of 5.
    await js.add_stream(name="LIM", subjects=["lim.>"], max_msgs=2)
    for i in range(5):
        await js.publish("lim.a", f"l{i}".encode())
    # A forwarded stream whose records wait for the (unreachable) hub.
    await js.add_stream(name="FWD", subjects=["fwd.>"])
    for i in range(4):
        await js.publish("fwd.a", f"f{i}".encode())

    # The uplink's tick (every 100 ms) starts FWD's forwarder: wait for that event.
    import asyncio
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        leafz = json.loads(get(monitored.http + "/leafz")[2])
        if leafz["uplink"]["forwards"][0]["state"] != "no such stream":
            break
        assert loop.time() < deadline, leafz
        await asyncio.sleep(0.02)  # polling for the event above

    families, s, text = scrape(monitored)

    # Every family has HELP and TYPE, every name is leafd_-prefixed, counters end _total.
    for name, f in families.items():
        assert name.startswith("leafd_"), name
        assert f.documentation, name
        assert f.type in ("counter", "gauge"), (name, f.type)
        if f.type == "counter":
            assert all(x.name.endswith("_total") for x in f.samples), name

    one = lambda name, **labels: s[(name, tuple(sorted(labels.items())))]
    assert one("leafd_connections") == 3
    assert one("leafd_accepted_connections_total") >= 3
    # 3 messages of 4 bytes published; each sync is one message of 0 bytes in and out.
    assert one("leafd_received_messages_total") >= 3
    assert one("leafd_received_bytes_total") >= 12
    assert one("leafd_sent_messages_total") >= 3
    assert one("leafd_sent_bytes_total") >= 12
    assert one("leafd_slow_consumers_total") == 0
    assert one("leafd_subscriptions") >= 1
    assert one("leafd_resident_memory_bytes") > 1_000_000

    assert one("leafd_streams") == 3
    assert one("leafd_stream_messages", stream="MET") == 5
    assert one("leafd_stream_bytes", stream="MET") > 0
    assert one("leafd_stream_messages", stream="LIM") == 2
    assert one("leafd_stream_evicted_messages_total", stream="LIM") == 3
    assert one("leafd_evicted_messages_total") >= 3
    assert one("leafd_consumer_pending_messages", stream="MET", consumer="C1") == 3
    assert one("leafd_consumer_ack_pending_messages", stream="MET", consumer="C1") == 2

    assert one("leafd_store_max_bytes") == STORE_MAX
    used = one("leafd_store_used_bytes")
    assert 0 < used <= STORE_MAX

    assert one("leafd_uplink_up") == 0
    assert one("leafd_uplink_connects_total") == 0
    assert one("leafd_forward_lag_messages", stream="FWD") == 4
    assert one("leafd_forward_lag_bytes", stream="FWD") > 0
    assert one("leafd_forward_lag_seconds", stream="FWD") > 0
    assert one("leafd_forward_lost_messages_total", stream="FWD") == 0
    assert one("leafd_forward_acked_messages_total", stream="FWD") == 0

    for nc in (sub_c, pub_c, js_c):
        await nc.close()


async def test_metrics_label_values_are_escaped_for_the_parser(monitored):
    """A consumer name with a quote and a backslash (JetStream allows both) survives the
    round trip through the exposition format."""
    import nats

    nc = await nats.connect(monitored.url, connect_timeout=TIMEOUT, max_reconnect_attempts=0)
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="ESC", subjects=["esc.>"])
    await js.publish("esc.a", b"x")
    odd = 'odd"name'
    await js.add_consumer("ESC", durable_name=odd, ack_policy="explicit")
    _, s, text = scrape(monitored)
    assert s[("leafd_consumer_pending_messages", (("consumer", odd), ("stream", "ESC")))] == 1, text
    await nc.close()


@pytest.fixture
def guarded():
    """leafd with users, one of them restricted, and the monitoring listener."""
    http_port = conftest.candidate_port()
    toml = f"""
[http]
listen = "127.0.0.1:{http_port}"

[auth]
[[auth.users]]
user = "ops"
password = "0ps-pw"
[[auth.users]]
user = "sensor"
password = "s3nsor-pw"
[auth.users.permissions]
publish = ["sensors.>"]
"""
    yield from native_leafd(toml, http_port)


async def test_metrics_count_refused_logins_and_permission_violations(guarded):
    import asyncio

    import nats

    async def connect(**kw):
        return await nats.connect(
            guarded.url, connect_timeout=TIMEOUT, max_reconnect_attempts=0, allow_reconnect=False, **kw
        )

    for wrong in ("nope", "still-nope"):
        with pytest.raises(Exception):
            await connect(user="ops", password=wrong)
    refused = asyncio.Event()

    async def on_error(e):
        refused.set()

    sensor = await connect(user="sensor", password="s3nsor-pw", error_cb=on_error)
    await sensor.publish("cmd.reboot", b"x")
    await sensor.flush()
    await asyncio.wait_for(refused.wait(), TIMEOUT)

    _, s, _ = scrape(guarded)
    one = lambda name: s[(name, ())]
    assert one("leafd_auth_failures_total") == 2
    assert one("leafd_permission_violations_total") == 1
    assert one("leafd_tls_handshake_failures_total") == 0
    varz = json.loads(get(guarded.http + "/varz")[2])
    assert (varz["auth_failures"], varz["permission_violations"]) == (2, 1), varz
    await sensor.close()
