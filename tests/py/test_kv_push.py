"""KV and push consumers with nats-py 2.16 (issue 5): a full KV session (create bucket, put,
create-if-absent, update with revision, get, delete, purge, keys, history, watch with a live
update, restart with the bucket intact), a push subscription with a callback and acks, and an
ordered consumer, reading in order and surviving a forced gap. Validated against nats-server
2.15.1 -js."""

import asyncio

import nats.js.errors
import pytest
from nats.js import api

from support import TIMEOUT


async def test_kv_session_and_restart(broker, connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    kv = await js.create_key_value(bucket="pycfg", history=3)
    r1 = await kv.put("mode", b"auto")
    r2 = await kv.put("mode", b"manual")
    assert r2 > r1
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.create("mode", b"x")
    await kv.create("level", b"3")
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.update("mode", b"y", last=r1)
    r3 = await kv.update("mode", b"eco", last=r2)
    entry = await kv.get("mode")
    assert (entry.value, entry.revision) == (b"eco", r3)
    await kv.put("gone", b"1")
    await kv.delete("gone")
    with pytest.raises(nats.js.errors.KeyNotFoundError):  # nats-py maps "deleted" to this
        await kv.get("gone")
    await kv.put("wiped", b"1")
    await kv.purge("wiped")
    assert sorted(await kv.keys()) == ["level", "mode"]
    history = await kv.history("mode")
    assert [e.value for e in history] == [b"auto", b"manual", b"eco"]

    watcher = await kv.watch("mode")
    first = await asyncio.wait_for(watcher.updates(), TIMEOUT)
    assert first.value == b"eco"  # the current value first
    assert await asyncio.wait_for(watcher.updates(), TIMEOUT) is None  # then "caught up"
    await kv.put("mode", b"boost")
    live = await asyncio.wait_for(watcher.updates(), TIMEOUT)
    assert live.value == b"boost"
    await watcher.stop()
    await nc.close()

    broker.restart()
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    kv = await js.key_value("pycfg")
    assert (await kv.get("mode")).value == b"boost"


async def test_push_subscription_with_callback_and_acks(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYPUSH", subjects=["pypush.>"])
    for i in range(20):
        await js.publish("pypush.x", str(i).encode())
    got = []
    done = asyncio.Event()

    async def on_msg(msg):
        got.append(int(msg.data))
        await msg.ack()
        if len(got) == 20:
            done.set()

    await js.subscribe("pypush.>", durable="pyd", cb=on_msg, manual_ack=True)
    await asyncio.wait_for(done.wait(), TIMEOUT)
    assert got == list(range(20))
    info = await js.consumer_info("PYPUSH", "pyd")
    assert info.delivered.stream_seq == 20
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while info.num_ack_pending and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        info = await js.consumer_info("PYPUSH", "pyd")
    assert info.num_ack_pending == 0


async def test_ordered_consumer(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYORD", subjects=["pyord.>"])
    for i in range(30):
        await js.publish(f"pyord.{i % 3}", str(i).encode())
    sub = await js.subscribe("pyord.>", ordered_consumer=True)
    for i in range(30):
        msg = await sub.next_msg(timeout=TIMEOUT)
        assert int(msg.data) == i
        assert msg.metadata.sequence.stream == i + 1


async def _fake_idle_heartbeat(broker, subject, last_consumer, last_stream):
    """Publishes an idle heartbeat, worded as the server words one, to `subject` from a raw
    connection (nats-py cannot publish a status line), and returns once the broker has routed
    it (PONG). A fake delivery would not do: nats-server refuses a client publish whose reply
    starts with `$JS.ACK.`."""
    hdr = (
        "NATS/1.0 100 Idle Heartbeat\r\n"
        f"Nats-Last-Consumer: {last_consumer}\r\nNats-Last-Stream: {last_stream}\r\n\r\n"
    ).encode()
    opening = asyncio.open_connection("127.0.0.1", broker.port)
    reader, writer = await asyncio.wait_for(opening, TIMEOUT)
    try:
        assert (await asyncio.wait_for(reader.readline(), TIMEOUT)).startswith(b"INFO ")
        writer.write(
            b'CONNECT {"verbose":false,"headers":true,"protocol":1}\r\n'
            + f"HPUB {subject} {len(hdr)} {len(hdr)}\r\n".encode()
            + hdr
            + b"\r\nPING\r\n"
        )
        await writer.drain()
        while True:  # skip any INFO the server sends
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            if not line.startswith(b"INFO "):
                break
        assert line == b"PONG\r\n", line
    finally:
        writer.close()


async def test_ordered_consumer_forced_gap(broker, connect):
    """An ordered consumer survives a forced gap (issue 5): an idle heartbeat on its deliver
    subject says the consumer delivered up to sequence 25 while the reader has seen at most 20.
    nats-py takes it as a gap, never surfaces it, moves its subscription to a new inbox
    (dropping the old consumer's later deliveries) and creates a consumer from the next stream
    sequence it needs; every message, stored or published after the gap, arrives exactly once
    and in order, the replacement's consumer sequences starting again at 1."""
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYGAP", subjects=["pygap.>"])
    for i in range(20):
        await js.publish("pygap.x", f"m{i}".encode())
    sub = await js.subscribe(
        "pygap.>", ordered_consumer=True, config=api.ConsumerConfig(deliver_subject="deliver.pygap")
    )
    first = (await sub.consumer_info()).name
    got = []

    async def read(n):
        for _ in range(n):
            msg = await sub.next_msg(timeout=TIMEOUT)
            seq = msg.metadata.sequence
            got.append((msg.data.decode(), msg.metadata.consumer, seq.consumer, seq.stream))

    await read(5)
    # The server has delivered at most the 20 stored messages, so 25 is ahead wherever the
    # heartbeat lands among them; it is routed before m20.. exist, so the old consumer's
    # copies of m20.. come after it.
    await _fake_idle_heartbeat(broker, "deliver.pygap", 25, 25)
    for i in range(20, 30):
        await js.publish("pygap.x", f"m{i}".encode())
    await read(25)
    for i in range(30, 35):  # live messages after the recovery
        await js.publish("pygap.x", f"m{i}".encode())
    await read(5)

    assert [g[0] for g in got] == [f"m{i}" for i in range(35)], "every real message once, in order"
    assert [g[3] for g in got] == list(range(1, 36))
    k = next((j for j, g in enumerate(got) if g[1] != first), None)
    assert k is not None, "no recreated consumer delivered"
    assert 5 <= k <= 20, f"recreated after {k} messages"
    second = got[k][1]
    for j, g in enumerate(got):
        assert g[1:3] == ((first, j + 1) if j < k else (second, j - k + 1)), (j, g)
    # The replacement starts right after the last message the first consumer gave the reader.
    info = await sub.consumer_info()
    assert info.name == second
    assert info.config.deliver_policy == api.DeliverPolicy.BY_START_SEQUENCE
    assert info.config.opt_start_seq == k + 1
    assert info.config.deliver_subject != "deliver.pygap"
    # nats-py does not delete the old consumer (the server expires it once inactive).
    assert second in [c.name for c in await js.consumers_info("PYGAP")]
