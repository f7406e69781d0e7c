"""JetStream with nats-py 2.16's `js`: streams, acked publishing with dedupe, pull consumers
with ack / nak / redelivery, a work queue with three workers, purge, and a restart that keeps
the stream. Validated against nats-server 2.15.1 -js. The rest of issue 3 through nats-py
(stream update/delete, publish expectations, limits, nak delay / term / max_deliver, ack floors
across a restart, API error codes) is in test_jetstream_more.py."""

import asyncio

import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

from support import TIMEOUT


async def test_stream_publish_and_dedupe(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    info = await js.add_stream(name="PYS", subjects=["pys.>"])
    assert info.config.name == "PYS"
    acks = [await js.publish("pys.a", f"m{i}".encode()) for i in range(3)]
    assert [a.seq for a in acks] == [1, 2, 3]
    assert all(a.stream == "PYS" for a in acks)
    first = await js.publish("pys.a", b"once", headers={"Nats-Msg-Id": "x1"})
    again = await js.publish("pys.a", b"once", headers={"Nats-Msg-Id": "x1"})
    assert first.seq == again.seq == 4
    assert again.duplicate and not first.duplicate
    si = await js.stream_info("PYS")
    assert si.state.messages == 4 and si.state.last_seq == 4
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.stream_info("NOPE")
    with pytest.raises(nats.js.errors.BadRequestError):
        await js.add_stream(name="PYS", subjects=["pys.>"], max_msgs=5)
    msg = await js.get_msg("PYS", 2)
    assert msg.data == b"m1" and msg.subject == "pys.a"


async def test_pull_fetch_ack_nak_redelivery(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYP", subjects=["pyp.>"])
    for i in range(4):
        await js.publish("pyp.x", f"p{i}".encode())
    psub = await js.pull_subscribe("pyp.>", durable="pyd")
    msgs = await psub.fetch(3, timeout=TIMEOUT)
    assert [m.data for m in msgs] == [b"p0", b"p1", b"p2"]
    assert msgs[0].metadata.sequence.stream == 1
    assert msgs[0].metadata.num_delivered == 1
    for m in msgs[:2]:
        await m.ack()
    await msgs[2].nak()
    # nats-server handles the NAK and the next pull concurrently, so p2 may come with p3 or
    # in a later batch.
    again = []
    while len(again) < 2:
        again += await psub.fetch(2 - len(again), timeout=TIMEOUT)
    assert sorted(m.data for m in again) == [b"p2", b"p3"]
    (p2,) = [m for m in again if m.data == b"p2"]
    assert p2.metadata.num_delivered == 2
    for m in again:
        await m.ack_sync()
    # nats-py raises its own TimeoutError, or a bare asyncio.TimeoutError when the
    # deadline runs out between its no-wait probe and its lingering pull.
    with pytest.raises(asyncio.TimeoutError):
        await psub.fetch(1, timeout=0.5)
    ci = await js.consumer_info("PYP", "pyd")
    assert ci.num_ack_pending == 0 and ci.num_pending == 0
    assert ci.delivered.stream_seq == 4


async def test_ack_wait_redelivers(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYW", subjects=["pyw.>"])
    await js.publish("pyw.x", b"late")
    psub = await js.pull_subscribe(
        "pyw.>", durable="w", config=ConsumerConfig(ack_wait=0.5, ack_policy=AckPolicy.EXPLICIT)
    )
    (m,) = await psub.fetch(1, timeout=TIMEOUT)
    assert m.metadata.num_delivered == 1
    (m,) = await psub.fetch(1, timeout=TIMEOUT)  # waits for the redelivery
    assert m.data == b"late" and m.metadata.num_delivered == 2
    await m.ack_sync()


async def test_work_queue_three_workers(connect):
    jobs = 45
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(
        StreamConfig(name="PYJOBS", subjects=["pyjobs.>"], retention=RetentionPolicy.WORK_QUEUE)
    )
    for i in range(jobs):
        await js.publish("pyjobs.run", str(i).encode())
    done = []

    async def worker():
        wnc = await connect()
        wjs = wnc.jetstream(timeout=TIMEOUT)
        psub = await wjs.pull_subscribe("pyjobs.>", durable="workers")
        while len(done) < jobs:
            try:
                batch = await psub.fetch(3, timeout=0.5)
            except asyncio.TimeoutError:
                # nats-py 2.16 raises a bare asyncio.TimeoutError (not its own
                # subclass) when the deadline lapses between its no-wait probe and
                # its lingering pull: a busy CI machine hit exactly that.
                continue
            for m in batch:
                done.append(m.data)
                await m.ack_sync()

    await asyncio.wait_for(asyncio.gather(worker(), worker(), worker()), 3 * TIMEOUT)
    assert sorted(int(d) for d in done) == list(range(jobs)), "each job exactly once"
    si = await js.stream_info("PYJOBS")
    assert si.state.messages == 0


async def test_purge_and_restart_keeps_the_stream(broker, connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYR", subjects=["pyr.>"])
    for i in range(6):
        await js.publish("pyr.even" if i % 2 == 0 else "pyr.odd", str(i).encode())
    assert await js.purge_stream("PYR", subject="pyr.odd")
    si = await js.stream_info("PYR")
    assert si.state.messages == 3
    await nc.close()
    broker.restart()
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    si = await js.stream_info("PYR")
    assert si.state.messages == 3 and si.state.last_seq == 6
    msg = await js.get_last_msg("PYR", "pyr.even")
    assert msg.data == b"4"
