"""Object store with nats-py 2.16 (issue 5): create a bucket, put a multi-chunk object, get it
back byte for byte, info, list, delete. Validated against nats-server 2.15.1 -js."""

import nats.js.errors
import pytest

from support import TIMEOUT


async def test_object_store_session(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    obs = await js.create_object_store("pyfirmware")
    image = bytes((i * 7) % 251 for i in range(300 * 1024))
    info = await obs.put("image.bin", image)
    assert info.size == len(image)
    assert info.chunks > 1
    await obs.put("notes.txt", b"v1")
    got = await obs.get("image.bin")
    assert got.data == image
    assert (await obs.get_info("notes.txt")).size == 2
    await obs.delete("notes.txt")
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await obs.get("notes.txt")
    names = [o.name for o in await obs.list(ignore_deletes=True)]
    assert names == ["image.bin"]
