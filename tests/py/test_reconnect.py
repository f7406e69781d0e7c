"""nats-py reconnects after the broker restarts on the same port and re-sends its SUBs."""

import asyncio

from support import TIMEOUT, sync


async def test_reconnect_after_broker_restart(broker, connect):
    reconnected = asyncio.Event()

    async def on_reconnect():
        reconnected.set()

    nc = await connect(
        reconnected_cb=on_reconnect,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.1,
    )
    sub = await nc.subscribe("py.re")
    await sync(nc)
    await nc.publish("py.re", b"before")
    assert (await sub.next_msg(timeout=TIMEOUT)).data == b"before"

    broker.restart()
    await asyncio.wait_for(reconnected.wait(), TIMEOUT)
    await sync(nc)  # the re-sent SUBs are processed before this round trip

    other = await connect()
    await other.publish("py.re", b"after")
    assert (await sub.next_msg(timeout=TIMEOUT)).data == b"after"
