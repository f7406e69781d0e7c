"""TLS on the client port with nats-py (issue 7): an ssl context trusting the test CA
connects and works; with `verify` a client certificate from that CA is required; with
`handshake_first` nats-py's `tls_handshake_first=True` connects; with `verify_and_map` the
certificate's e-mail SAN names the user; a client without TLS is refused. Certificates are made per test with the `openssl` CLI. Also passes against
nats-server 2.15.1 with the same `tls { }` (LEAFD_TEST_VALIDATE_NATS=1)."""

import asyncio
import shutil
import ssl
import subprocess

import nats
import pytest

from conftest import Broker
from support import TIMEOUT


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _leaf(cwd, ca, name, ext):
    """`<name>.pem`/`<name>.key` signed by `<ca>.pem`/`<ca>.key`, with extensions `ext`."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.ec", cwd=cwd)
    _openssl("pkcs8", "-topk8", "-nocrypt", "-in", f"{name}.ec", "-out", f"{name}.key", cwd=cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN=leafd py {name}", "-out", f"{name}.csr", cwd=cwd)
    (cwd / f"{name}.ext").write_text(ext)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=cwd,
    )


def _ca(cwd, name):
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=leafd py {name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca.pem; server.pem/key (IP 127.0.0.1, DNS localhost); client.pem/key signed by the CA;
    stranger.pem/key signed by an unrelated CA; alice.pem/key (e-mail SAN alice@leafd.test)."""
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other")
    usage = "keyUsage=critical,digitalSignature\n"
    _leaf(d, "ca", "server", usage + "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _leaf(d, "ca", "client", usage + "extendedKeyUsage=clientAuth\n")
    _leaf(d, "other", "stranger", usage + "extendedKeyUsage=clientAuth\n")
    _leaf(d, "ca", "alice", usage + "subjectAltName=email:alice@leafd.test\nextendedKeyUsage=clientAuth\n")
    return d


@pytest.fixture
def tls_broker(request, pki):
    settings = {"cert_file": pki / "server.pem", "key_file": pki / "server.key", **request.param}
    if settings.get("verify"):
        settings["ca_file"] = pki / "ca.pem"
    b = Broker(tls=settings, auth=settings.pop("auth", None))
    b.start()
    yield b
    b.stop()
    print(f"--- broker log ({b.log_path}) ---\n{b.log()}--- end of broker log ---")
    shutil.rmtree(b.dir, ignore_errors=True)


def context(pki, cert=None):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert is not None:
        ctx.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return ctx


async def connect(url, **options):
    return await asyncio.wait_for(
        nats.connect(url, connect_timeout=TIMEOUT, max_reconnect_attempts=0, allow_reconnect=False, **options),
        TIMEOUT,
    )


async def round_trip(nc, subject):
    sub = await nc.subscribe(subject)
    await nc.flush()
    await nc.publish(subject, b"over tls")
    msg = await sub.next_msg(timeout=TIMEOUT)
    assert msg.data == b"over tls"


async def refused(url, what, **options):
    try:
        nc = await connect(url, **options)
    except Exception:
        return
    await nc.close()
    pytest.fail(f"{what}: the connection was accepted")


@pytest.mark.parametrize("tls_broker", [{}], indirect=True)
async def test_ca_file_context_publishes_and_subscribes(tls_broker, pki):
    nc = await connect(tls_broker.url, tls=context(pki))
    try:
        await round_trip(nc, "tls.py")
        assert nc.connected_server_version.major == 2
    finally:
        await nc.close()


@pytest.mark.parametrize("tls_broker", [{}], indirect=True)
async def test_a_client_without_the_ca_is_refused(tls_broker, pki):
    await refused(tls_broker.url, "no CA (system roots cannot verify the test CA)")


@pytest.mark.parametrize("tls_broker", [{"verify": True}], indirect=True)
async def test_mutual_tls_needs_a_certificate_from_the_ca(tls_broker, pki):
    nc = await connect(tls_broker.url, tls=context(pki, "client"))
    try:
        await round_trip(nc, "tls.py.mutual")
        await refused(tls_broker.url, "no client certificate", tls=context(pki))
        await refused(tls_broker.url, "a certificate from another CA", tls=context(pki, "stranger"))
        await round_trip(nc, "tls.py.mutual.after")
    finally:
        await nc.close()


@pytest.mark.parametrize("tls_broker", [{"handshake_first": True}], indirect=True)
async def test_handshake_first(tls_broker, pki):
    nc = await connect(tls_broker.url, tls=context(pki), tls_handshake_first=True)
    try:
        await round_trip(nc, "tls.py.first")
    finally:
        await nc.close()


@pytest.mark.parametrize(
    "tls_broker",
    [{"verify": True, "verify_and_map": True, "auth": {"users": [("alice@leafd.test", "")]}}],
    indirect=True,
)
async def test_verify_and_map_names_the_user_by_email(tls_broker, pki):
    nc = await connect(tls_broker.url, tls=context(pki, "alice"))
    try:
        await round_trip(nc, "tls.py.map")
        # Verified, but naming no user: the CN=leafd py client certificate.
        await refused(tls_broker.url, "a certificate naming no user", tls=context(pki, "client"))
    finally:
        await nc.close()
