"""Request/reply with nats-py 2.16: the `_INBOX.<id>.*` mux, no responders, 1 MiB replies."""

import asyncio

import nats.errors
import pytest

from support import TIMEOUT, sync


async def serve(nc, subject, prefix):
    async def handler(msg):
        await msg.respond(prefix + msg.data)

    sub = await nc.subscribe(subject, cb=handler)
    await sync(nc)
    return sub


async def test_request_reply(connect):
    svc = await connect()
    await serve(svc, "py.svc", b"re:")
    req = await connect()
    for i in range(10):
        msg = await req.request("py.svc", str(i).encode(), timeout=TIMEOUT)
        assert msg.data == b"re:" + str(i).encode()


async def test_concurrent_requests(connect):
    svc = await connect()
    await serve(svc, "py.svc", b"c:")
    req = await connect()
    replies = await asyncio.gather(
        *(req.request("py.svc", str(i).encode(), timeout=TIMEOUT) for i in range(30))
    )
    assert [m.data for m in replies] == [b"c:" + str(i).encode() for i in range(30)]


async def test_no_responders(connect):
    req = await connect()
    with pytest.raises(nats.errors.NoRespondersError):
        await req.request("py.nobody", b"hi", timeout=TIMEOUT)


async def test_one_mib_request_and_reply(connect):
    svc = await connect()
    big = bytes((i * 7) % 256 for i in range(1024 * 1024))

    async def handler(msg):
        assert msg.data == big
        await msg.respond(big[::-1])

    await svc.subscribe("py.bigsvc", cb=handler)
    await sync(svc)
    req = await connect()
    msg = await req.request("py.bigsvc", big, timeout=TIMEOUT)
    assert msg.data == big[::-1]
