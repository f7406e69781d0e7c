"""Helpers shared by the nats-py tests.

Trap: nats-py 2.16's `flush()` writes its PING straight to the socket, ahead of commands still
queued in the client's pending buffer, so the PONG can come back before the broker has seen
earlier SUBs or PUBs. `sync()` is the real round trip: a SUB and a PUB through the same queue,
and the message coming back proves everything queued before it was processed.
"""

import os

TIMEOUT = float(os.environ.get("LEAFD_TEST_TIMEOUT_SECS", "10"))


async def sync(nc):
    """Returns once the broker has processed every command `nc` queued before this call, and
    every message it sent `nc` before that is in the subscriptions' pending queues."""
    subject = nc.new_inbox()
    sub = await nc.subscribe(subject)
    await nc.publish(subject, b"")
    await sub.next_msg(timeout=TIMEOUT)
    await sub.unsubscribe()


async def drain(sub):
    """Messages already in a subscription's pending queue (call after `sync`)."""
    out = []
    while sub.pending_msgs:
        out.append(await sub.next_msg(timeout=TIMEOUT))
    return out


def texts(msgs):
    return [m.data.decode() for m in msgs]
