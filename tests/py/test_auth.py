"""Client authentication with nats-py (issue 7, first part): a token, or users with plain
passwords. Good credentials connect and work; bad ones get nats-server's
'Authorization Violation'. Also passes against nats-server 2.15.1 with the same
`authorization { }` (LEAFD_TEST_VALIDATE_NATS=1)."""

import asyncio
import os
import shutil

import nats
import nkeys
import pytest

from conftest import Broker
from support import TIMEOUT, sync


@pytest.fixture
def auth_broker(request):
    b = Broker(auth=request.param)
    b.start()
    yield b
    b.stop()
    print(f"--- broker log ({b.log_path}) ---\n{b.log()}--- end of broker log ---")
    shutil.rmtree(b.dir, ignore_errors=True)


async def connect(url, **options):
    return await asyncio.wait_for(
        nats.connect(url, connect_timeout=TIMEOUT, max_reconnect_attempts=0, allow_reconnect=False, **options),
        TIMEOUT,
    )


async def round_trip(nc):
    sub = await nc.subscribe("auth.py")
    await nc.flush()
    await nc.publish("auth.py", b"hi")
    msg = await sub.next_msg(timeout=TIMEOUT)
    assert msg.data == b"hi"
    await nc.close()


async def refused(url, **options):
    with pytest.raises(Exception) as err:
        nc = await connect(url, **options)
        await nc.close()
    assert "Authorization Violation" in repr(err.value) or "authorization" in repr(err.value).lower(), repr(err.value)


@pytest.mark.parametrize("auth_broker", [{"token": "py-t0ken"}], indirect=True)
async def test_token(auth_broker):
    await round_trip(await connect(auth_broker.url, token="py-t0ken"))
    await refused(auth_broker.url, token="wrong")
    await refused(auth_broker.url)


@pytest.mark.parametrize("auth_broker", [{"users": [("dave", "d4ve-pw"), ("erin", "er1n-pw")]}], indirect=True)
async def test_users_and_passwords(auth_broker):
    await round_trip(await connect(auth_broker.url, user="dave", password="d4ve-pw"))
    await round_trip(await connect(auth_broker.url, user="erin", password="er1n-pw"))
    await refused(auth_broker.url, user="dave", password="er1n-pw")
    await refused(auth_broker.url, user="frank", password="d4ve-pw")
    await refused(auth_broker.url)


def new_user_seed() -> str:
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()


def public_key(seed: str) -> str:
    return nkeys.from_seed(bytearray(seed.encode())).public_key.decode()


SEED_A, SEED_B = new_user_seed(), new_user_seed()


@pytest.mark.parametrize("auth_broker", [{"nkeys": [public_key(SEED_A)]}], indirect=True)
async def test_nkey_users(auth_broker):
    await round_trip(await connect(auth_broker.url, nkeys_seed_str=SEED_A))
    await refused(auth_broker.url, nkeys_seed_str=SEED_B)
    await refused(auth_broker.url)


SENSOR_PERMS = {"publish": {"allow": ["sensors.>"], "deny": ["sensors.secret"]}, "subscribe": {"allow": ["_INBOX.>", "cmd.*"]}}


@pytest.mark.parametrize(
    "auth_broker", [{"users": [("sensor", "s3nsor-pw", SENSOR_PERMS), ("ops", "0ps-pw")]}], indirect=True
)
async def test_permission_violations_reach_the_error_callback(auth_broker):
    """A denied publish or subscription is reported with nats-server's text; the connection
    stays up and allowed traffic flows."""
    errors = []
    both = asyncio.Event()

    async def on_error(e):
        errors.append(str(e))
        if len(errors) >= 2:
            both.set()

    sensor = await connect(auth_broker.url, user="sensor", password="s3nsor-pw", error_cb=on_error)
    ops = await connect(auth_broker.url, user="ops", password="0ps-pw")
    seen = await ops.subscribe("sensors.>")
    await sync(ops)
    await sensor.publish("sensors.secret", b"no")
    await sensor.publish("sensors.t1", b"21.5")
    await sensor.subscribe("admin.>")
    await sensor.flush()
    msg = await seen.next_msg(timeout=TIMEOUT)
    assert (msg.subject, msg.data) == ("sensors.t1", b"21.5")
    await asyncio.wait_for(both.wait(), TIMEOUT)
    # nats-py lowercases the server's text ('nats: permissions violation for ...').
    said = [e.lower() for e in errors]
    assert any('permissions violation for publish to "sensors.secret"' in e for e in said), errors
    assert any('permissions violation for subscription to "admin.>"' in e for e in said), errors
    assert sensor.is_connected
    await sensor.close()
    await ops.close()
