"""JetStream with nats-py 2.16's `js`, the parts test_jetstream.py leaves out: stream update,
list (streams_info, find_stream_name_by_subject) and delete; the publish expectations
(Nats-Expected-Stream, -Last-Sequence, -Last-Subject-Sequence, -Last-Msg-Id); a fetch of a
batch larger than what is there; nak with a delay, max_deliver, in_progress and term; limits
(max_msgs with discard old and new, max_bytes both ways, max_msgs_per_subject with and without
discard_new_per_subject, max_msg_size); a durable consumer's ack floor across a graceful
restart; and the API errors for unknown streams and consumers and for bad configs.

Every code / err_code / description asserted here is what nats-server 2.15.1 -js sends, checked
against it. Where leafd answers differently, the check is left out with a comment naming the
difference."""

import asyncio
import time

import pytest
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
)
from nats.js.errors import (
    BadRequestError,
    NoStreamResponseError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)

from support import TIMEOUT

LAST_SEQ = "Nats-Expected-Last-Sequence"
LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
MSG_ID = "Nats-Msg-Id"


async def refused(coro, kind, code, err_code, description=None):
    """Awaits `coro`, which must raise `kind` with this HTTP-like code and JetStream err_code
    (and description, when given); returns the error."""
    with pytest.raises(kind) as caught:
        await coro
    err = caught.value
    assert (err.code, err.err_code) == (code, err_code), str(err)
    if description is not None:
        assert err.description == description, str(err)
    return err


async def test_stream_update_list_and_delete(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYU", subjects=["pyu.a"])
    await js.add_stream(name="PYV", subjects=["pyv.>"])
    info = await js.update_stream(name="PYU", subjects=["pyu.a", "pyu.b"], max_msgs=10)
    assert info.config.subjects == ["pyu.a", "pyu.b"] and info.config.max_msgs == 10
    assert (await js.publish("pyu.b", b"on the added subject")).stream == "PYU"
    si = await js.stream_info("PYU")
    assert si.config.max_msgs == 10 and si.state.messages == 1
    await refused(js.update_stream(name="PYX", subjects=["pyx.>"]), NotFoundError, 404, 10059)
    await refused(
        js.update_stream(name="PYU", subjects=["pyu.a", "pyu.b"], storage=StorageType.MEMORY),
        ServerError,
        500,
        10052,
        "stream configuration update can not change storage type",
    )
    assert sorted(s.config.name for s in await js.streams_info()) == ["PYU", "PYV"]
    assert await js.find_stream_name_by_subject("pyv.x") == "PYV"
    assert await js.delete_stream("PYU")
    await refused(js.stream_info("PYU"), NotFoundError, 404, 10059, "stream not found")
    await refused(js.delete_stream("PYU"), NotFoundError, 404, 10059)
    assert [s.config.name for s in await js.streams_info()] == ["PYV"]
    # No stream captures the subject any more: no responders.
    with pytest.raises(NoStreamResponseError):
        await js.publish("pyu.b", b"stored nowhere")


async def test_publish_expectations(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYE", subjects=["pye.>"])
    assert (await js.publish("pye.a", b"1", stream="PYE")).seq == 1
    await refused(
        js.publish("pye.a", b"x", stream="OTHER"),
        BadRequestError,
        400,
        10060,
        "expected stream does not match",
    )
    assert (await js.publish("pye.a", b"2", headers={LAST_SEQ: "1"})).seq == 2
    await refused(
        js.publish("pye.a", b"x", headers={LAST_SEQ: "1"}),
        BadRequestError,
        400,
        10071,
        "wrong last sequence: 2",
    )
    # Per subject; 0 means the subject must have no message yet.
    assert (await js.publish("pye.b", b"3", headers={LAST_SUBJECT_SEQ: "0"})).seq == 3
    await refused(
        js.publish("pye.b", b"x", headers={LAST_SUBJECT_SEQ: "0"}),
        BadRequestError,
        400,
        10071,
        "wrong last sequence: 3",
    )
    assert (await js.publish("pye.a", b"4", headers={LAST_SUBJECT_SEQ: "2"})).seq == 4
    await refused(
        js.publish("pye.a", b"x", headers={LAST_SUBJECT_SEQ: "2"}),
        BadRequestError,
        400,
        10071,
        "wrong last sequence: 4",
    )
    assert (await js.publish("pye.c", b"5", headers={MSG_ID: "id-5"})).seq == 5
    assert (await js.publish("pye.c", b"6", headers={MSG_ID: "id-6", LAST_MSG_ID: "id-5"})).seq == 6
    await refused(
        js.publish("pye.c", b"x", headers={LAST_MSG_ID: "id-5"}),
        BadRequestError,
        400,
        10070,
        "wrong last msg ID: id-6",
    )
    si = await js.stream_info("PYE")
    assert (si.state.messages, si.state.last_seq) == (6, 6), "nothing refused was stored"


async def test_fetch_a_batch_larger_than_what_is_there(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYB", subjects=["pyb.>"])
    for i in range(3):
        await js.publish("pyb.x", f"b{i}".encode())
    psub = await js.pull_subscribe("pyb.>", durable="b")
    msgs = await psub.fetch(10, timeout=TIMEOUT)
    assert [m.data for m in msgs] == [b"b0", b"b1", b"b2"]
    for m in msgs:
        await m.ack_sync()
    ci = await js.consumer_info("PYB", "b")
    assert (ci.num_ack_pending, ci.num_pending, ci.ack_floor.stream_seq) == (0, 0, 3)


async def test_nak_with_delay_and_max_deliver(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYD", subjects=["pyd.>"])
    psub = await js.pull_subscribe("pyd.>", durable="d", config=ConsumerConfig(ack_wait=0.5, max_deliver=2))
    await js.publish("pyd.a", b"a")
    (m,) = await psub.fetch(1, timeout=TIMEOUT)
    assert m.metadata.num_delivered == 1
    naked = time.monotonic()
    await m.nak(delay=0.3)
    (m,) = await psub.fetch(1, timeout=TIMEOUT)
    assert m.data == b"a" and m.metadata.num_delivered == 2
    assert time.monotonic() - naked >= 0.25, "redelivered before the nak's delay"
    ci = await js.consumer_info("PYD", "d")
    assert (ci.num_redelivered, ci.num_ack_pending) == (1, 1)
    # Not acked: its ack_wait runs out, and max_deliver 2 allows no third delivery.
    with pytest.raises(asyncio.TimeoutError):
        await psub.fetch(1, timeout=1.0)
    ci = await js.consumer_info("PYD", "d")
    assert ci.num_ack_pending == 0 and ci.num_pending == 0
    assert (ci.delivered.consumer_seq, ci.delivered.stream_seq) == (2, 1)
    # Left out, leafd differs: here nats-server 2.15.1 reports ack_floor (consumer 0, stream 0)
    # and num_redelivered 1 (and keeps num_redelivered 1 after later acks); leafd reports
    # ack_floor (2, 1) and num_redelivered 0.


async def test_in_progress_and_term(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYT", subjects=["pyt.>"])
    psub = await js.pull_subscribe("pyt.>", durable="t", config=ConsumerConfig(ack_wait=1.0))
    await js.publish("pyt.b", b"b")
    (m,) = await psub.fetch(1, timeout=TIMEOUT)
    # Each +WPI restarts the ack_wait: held 1.5 s in all, past the 1 s ack_wait, it stays
    # with us.
    for _ in range(3):
        await m.in_progress()
        with pytest.raises(asyncio.TimeoutError):
            await psub.fetch(1, timeout=0.5)
    ci = await js.consumer_info("PYT", "t")
    assert (ci.num_ack_pending, ci.num_redelivered) == (1, 0)
    # +TERM: never delivered again, not even after the ack_wait.
    await m.term()
    with pytest.raises(asyncio.TimeoutError):
        await psub.fetch(1, timeout=1.5)
    ci = await js.consumer_info("PYT", "t")
    assert ci.num_ack_pending == 0
    assert (ci.ack_floor.consumer_seq, ci.ack_floor.stream_seq) == (1, 1)
    await js.publish("pyt.c", b"c")
    (m,) = await psub.fetch(1, timeout=TIMEOUT)
    assert m.data == b"c" and m.metadata.num_delivered == 1
    await m.ack_sync()


async def test_limits(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)

    async def fill(subject, count, payload=lambda i: str(i).encode()):
        for i in range(count):
            await js.publish(subject, payload(i))

    # max_msgs, discard old: the oldest go.
    await js.add_stream(name="PYLO", subjects=["pylo.>"], max_msgs=3)
    await fill("pylo.x", 5)
    st = (await js.stream_info("PYLO")).state
    assert (st.messages, st.first_seq, st.last_seq) == (3, 3, 5)
    # max_msgs, discard new: the newest is refused.
    await js.add_stream(name="PYLN", subjects=["pyln.>"], max_msgs=2, discard=DiscardPolicy.NEW)
    await fill("pyln.x", 2)
    full = (ServiceUnavailableError, 503, 10077)
    await refused(js.publish("pyln.x", b"3"), *full, "maximum messages exceeded")
    # max_bytes both ways (a 60-byte payload is stored as about 95 bytes: two fit in 200).
    await js.add_stream(name="PYLB", subjects=["pylb.>"], max_bytes=200)
    await fill("pylb.x", 5, lambda i: b"x" * 60)
    st = (await js.stream_info("PYLB")).state
    assert (st.messages, st.first_seq, st.last_seq) == (2, 4, 5) and st.bytes <= 200
    await js.add_stream(name="PYLBN", subjects=["pylbn.>"], max_bytes=200, discard=DiscardPolicy.NEW)
    await fill("pylbn.x", 2, lambda i: b"x" * 60)
    await refused(js.publish("pylbn.x", b"x" * 60), *full, "maximum bytes exceeded")
    # max_msgs_per_subject keeps the newest of each subject ...
    await js.add_stream(name="PYLP", subjects=["pylp.>"], max_msgs_per_subject=2)
    for i in range(5):
        await js.publish("pylp.a", f"a{i}".encode())
        await js.publish("pylp.b", f"b{i}".encode())
    st = (await js.stream_info("PYLP", subjects_filter=">")).state
    assert st.messages == 4 and st.subjects == {"pylp.a": 2, "pylp.b": 2}
    assert (await js.get_last_msg("PYLP", "pylp.a")).data == b"a4"
    assert (await js.get_msg("PYLP", st.first_seq)).data == b"a3"
    # ... or, with discard new per subject, refuses the subject's next one.
    await js.add_stream(
        name="PYLPN",
        subjects=["pylpn.>"],
        max_msgs_per_subject=1,
        discard=DiscardPolicy.NEW,
        discard_new_per_subject=True,
    )
    await js.publish("pylpn.a", b"a")
    await refused(js.publish("pylpn.a", b"a again"), *full, "maximum messages per subject exceeded")
    assert (await js.publish("pylpn.b", b"b")).seq == 2
    # max_msg_size counts the payload and the headers.
    await js.add_stream(name="PYLS", subjects=["pyls.>"], max_msg_size=16)
    assert (await js.publish("pyls.x", b"x" * 16)).seq == 1
    too_big = (400, 10054, "message size exceeds maximum allowed")
    await refused(js.publish("pyls.x", b"x" * 17), BadRequestError, *too_big)
    await refused(js.publish("pyls.x", b"x" * 10, headers={"A": "b" * 12}), BadRequestError, *too_big)
    assert (await js.stream_info("PYLS")).state.messages == 1


async def test_graceful_restart_keeps_the_consumer_and_its_ack_floor(broker, connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYK", subjects=["pyk.>"])
    for i in range(6):
        await js.publish("pyk.x", f"k{i}".encode())
    psub = await js.pull_subscribe("pyk.>", durable="kc", config=ConsumerConfig(ack_wait=0.5))
    got = await psub.fetch(4, timeout=TIMEOUT)
    assert [m.data for m in got] == [b"k0", b"k1", b"k2", b"k3"]
    for m in got[:2]:
        await m.ack_sync()
    # k2 and k3 are delivered, not acked.
    await nc.close()
    # Graceful: nats-server loses recent acks on SIGKILL (measured: ack floor 0 after it, and
    # k0 and k1 delivered again).
    broker.restart(graceful=True)
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    si = await js.stream_info("PYK")
    assert (si.state.messages, si.state.last_seq) == (6, 6)
    ci = await js.consumer_info("PYK", "kc")
    assert (ci.ack_floor.consumer_seq, ci.ack_floor.stream_seq) == (2, 2)
    assert (ci.delivered.consumer_seq, ci.delivered.stream_seq) == (4, 4)
    assert (ci.num_ack_pending, ci.num_pending) == (2, 2)
    assert ci.config.ack_wait == 0.5
    # The next fetches resume after the floor: k2 and k3 again (after their ack_wait), k4, k5.
    psub = await js.pull_subscribe("pyk.>", durable="kc")
    seen = []
    while len(seen) < 4:
        for m in await psub.fetch(4 - len(seen), timeout=TIMEOUT):
            seen.append(m.data)
            await m.ack_sync()
    assert sorted(seen) == [b"k2", b"k3", b"k4", b"k5"]
    ci = await js.consumer_info("PYK", "kc")
    assert (ci.num_ack_pending, ci.ack_floor.stream_seq) == (0, 6)


async def test_api_errors_for_unknown_names_and_bad_configs(connect):
    nc = await connect()
    js = nc.jetstream(timeout=TIMEOUT)
    await js.add_stream(name="PYA", subjects=["pya.>"])
    await js.add_stream(name="PYW", subjects=["pyw.>"], retention=RetentionPolicy.WORK_QUEUE)
    no_stream = (NotFoundError, 404, 10059, "stream not found")
    no_consumer = (NotFoundError, 404, 10014, "consumer not found")
    await refused(js.consumer_info("NOPE", "c"), *no_stream)
    await refused(js.consumer_info("PYA", "c"), *no_consumer)
    await refused(js.delete_consumer("NOPE", "c"), *no_stream)
    await refused(js.delete_consumer("PYA", "c"), *no_consumer)
    await refused(js.add_consumer("NOPE", durable_name="c"), *no_stream)
    await refused(
        js.add_stream(name="PYA", subjects=["pya.>"], max_msgs=3),
        BadRequestError,
        400,
        10058,
        "stream name already in use with a different configuration",
    )
    await refused(
        js.add_stream(name="PYO", subjects=["pya.x"]),
        BadRequestError,
        400,
        10065,
        "subjects overlap with an existing stream",
    )
    await refused(js.add_stream(name="PYO", subjects=["pyo..x"]), ServerError, 500, 10052, "invalid subject")
    await refused(
        js.add_stream(name="PYO", subjects=["pyo.x", "pyo.x"]),
        ServerError,
        500,
        10052,
        'subject "pyo.x" overlaps with "pyo.x"',
    )
    await refused(
        js.add_stream(name="PYO", subjects=["pyo.>"], num_replicas=3),
        ServerError,
        500,
        10074,
        "replicas > 1 not supported in non-clustered mode",
    )
    await refused(
        js.update_stream(name="PYW", subjects=["pyw.>"], retention=RetentionPolicy.LIMITS),
        ServerError,
        500,
        10052,
        "stream configuration update can not change retention policy to/from workqueue",
    )
    await refused(
        js.add_consumer("PYW", durable_name="w", ack_policy=AckPolicy.NONE),
        BadRequestError,
        400,
        10084,
        "consumer in pull mode requires explicit ack policy on workqueue stream",
    )
    assert sorted(s.config.name for s in await js.streams_info()) == ["PYA", "PYW"]
    assert (await js.consumers_info("PYA")) == []
    # A filter outside the stream's subjects is no error in nats-server 2.15.1: the consumer
    # is created and never delivers (leafd refused it with 10093 until issue 3's review).
    ci = await js.add_consumer("PYA", durable_name="f", filter_subject="other.x")
    assert ci.config.filter_subject == "other.x" and ci.num_pending == 0
