"""Per-message TTLs with nats-py 2.16 (issue 5): a publish with msg_ttl to a stream without
allow_msg_ttl is refused with 10166, one to a stream with it expires, and a KV bucket with
limit_marker_ttl sees a key created with a TTL replaced by a marker (a purge to watchers)
that expires in turn. Validated against nats-server 2.15.1 -js."""

import asyncio
import time

import nats.js.api
import nats.js.errors
import pytest

from support import TIMEOUT


async def _until(check, what):
    """Polls the async predicate `check` until it holds, failing after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while not await check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


async def test_msg_ttl_refused_without_allow_and_expires_with_it(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYNOTTL", subjects=["pynottl.>"])
    with pytest.raises(nats.js.errors.APIError) as refused:
        await js.publish("pynottl.a", b"v", msg_ttl=5)
    assert refused.value.err_code == 10166

    await js.add_stream(
        nats.js.api.StreamConfig(name="PYTTL", subjects=["pyttl.>"], allow_msg_ttl=True)
    )
    sent = time.monotonic()
    short = await js.publish("pyttl.short", b"v", msg_ttl=1)
    keep = await js.publish("pyttl.keep", b"v")

    async def gone():
        try:
            await js.get_msg("PYTTL", short.seq)
            return False
        except nats.js.errors.NotFoundError:
            return True

    await _until(gone, "the 1 s TTL message expires")
    assert time.monotonic() - sent >= 0.9
    kept = await js.get_msg("PYTTL", keep.seq)
    assert kept.data == b"v"


async def test_kv_key_ttl_leaves_a_limit_marker(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    kv = await js.create_key_value(bucket="pyleases", limit_marker_ttl=1)
    watcher = await kv.watch("lease")
    await kv.create("lease", b"held", msg_ttl=1)
    put = None
    while put is None:
        put = await asyncio.wait_for(watcher.updates(), TIMEOUT)
    assert (put.value, put.operation) == (b"held", None)
    gone = None
    while gone is None:
        gone = await asyncio.wait_for(watcher.updates(), TIMEOUT)
    assert gone.operation == "PURGE"
    assert gone.revision > put.revision
    # nats-py's get() reads only KV-Operation, so the marker comes back as an empty value
    # (from nats-server too).
    marker = await kv.get("lease")
    assert (marker.revision, marker.value) == (gone.revision, None)

    async def empty():
        info = await js.stream_info("KV_pyleases")
        return info.state.messages == 0

    await _until(empty, "the limit marker expires")
