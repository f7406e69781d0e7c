"""KV and push consumers with nats-py 2.16 (issue 5): a full KV session (create bucket, put,
create-if-absent, update with revision, get, delete, purge, keys, history, watch with a live
update, restart with the bucket intact), a push subscription with a callback and acks, and an
ordered consumer. Validated against nats-server 2.15.1 -js."""

import asyncio

import nats.js.errors
import pytest

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
