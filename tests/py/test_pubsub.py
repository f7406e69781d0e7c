"""Publish/subscribe with nats-py 2.16: wildcards, queue groups, headers, unsubscribe limits.

Waits use `support.sync` (a real round trip), never `flush()`: see support.py.
"""

import collections

from support import TIMEOUT, drain, sync, texts


async def test_wildcard_subscriptions_match_by_token(connect):
    nc = await connect()
    star = await nc.subscribe("py.wc.*")
    full = await nc.subscribe("py.wc.>")
    mid = await nc.subscribe("py.wc.*.c")
    await sync(nc)
    for s in ["py.wc", "py.wc.a", "py.wc.a.b", "py.wc.a.c", "py.wc.b"]:
        await nc.publish(s, s.encode())
    await sync(nc)
    assert texts(await drain(star)) == ["py.wc.a", "py.wc.b"]
    assert texts(await drain(full)) == ["py.wc.a", "py.wc.a.b", "py.wc.a.c", "py.wc.b"]
    assert texts(await drain(mid)) == ["py.wc.a.c"]


async def test_queue_group_delivers_each_message_to_one_member(connect):
    n = 60
    members = []
    for _ in range(3):
        nc = await connect()
        members.append((nc, await nc.subscribe("py.jobs", queue="workers")))
        await sync(nc)
    plain_nc = await connect()
    plain = await plain_nc.subscribe("py.jobs")
    await sync(plain_nc)
    pub = await connect()
    for i in range(n):
        await pub.publish("py.jobs", str(i).encode())
    got = [(await plain.next_msg(timeout=TIMEOUT)).data.decode() for _ in range(n)]
    assert got == [str(i) for i in range(n)]
    seen = collections.Counter()
    for nc, sub in members:
        await sync(nc)
        msgs = await drain(sub)
        assert msgs, "a queue member received nothing"
        seen.update(m.data.decode() for m in msgs)
    assert sorted(seen, key=int) == [str(i) for i in range(n)]
    assert set(seen.values()) == {1}, f"duplicates: {seen}"


async def test_headers_round_trip(connect):
    nc = await connect()
    sub = await nc.subscribe("py.hdr")
    await sync(nc)
    await nc.publish("py.hdr", b"body", headers={"X-One": "1", "Trace-Id": "abc-123"})
    msg = await sub.next_msg(timeout=TIMEOUT)
    assert msg.data == b"body"
    assert msg.headers == {"X-One": "1", "Trace-Id": "abc-123"}
    await nc.publish("py.hdr", b"", headers={"Only": "headers"})
    msg = await sub.next_msg(timeout=TIMEOUT)
    assert msg.data == b"" and msg.headers == {"Only": "headers"}


async def test_unsubscribe_with_max(connect):
    nc = await connect()
    pub = await connect()
    sub = await nc.subscribe("py.max")
    await sub.unsubscribe(limit=2)
    await sync(nc)
    for i in range(5):
        await pub.publish("py.max", str(i).encode())
    assert (await sub.next_msg(timeout=TIMEOUT)).data == b"0"
    assert (await sub.next_msg(timeout=TIMEOUT)).data == b"1"
    await sync(nc)
    assert sub.delivered == 2 and sub.pending_msgs == 0


async def test_one_mib_payload(connect):
    nc = await connect()
    assert nc.max_payload == 1024 * 1024
    sub = await nc.subscribe("py.big")
    await sync(nc)
    payload = bytes((i * 31) % 256 for i in range(1024 * 1024))
    await nc.publish("py.big", payload)
    msg = await sub.next_msg(timeout=TIMEOUT)
    assert msg.data == payload
