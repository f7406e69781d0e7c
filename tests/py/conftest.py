"""The broker under test for the nats-py suite.

Same convention as the Rust harness (tests/util/broker.rs): LEAFD_CMD is a command template
with a {port} placeholder (and optionally {dir}, a fresh temporary directory), split on
whitespace; unset, it runs target/debug/leafd. Each test gets its own broker on its own port.
"""

import asyncio
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import nats
import pytest
import pytest_asyncio

from support import TIMEOUT

REPO = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0  # qemu-user start-up is slow


def _template() -> str:
    cmd = os.environ.get("LEAFD_CMD", "").strip()
    if cmd:
        return cmd
    return f"{REPO}/target/debug/leafd --listen 127.0.0.1:{{port}} --store {{dir}}/store"


_next_port = [None]


def native_leafd_template() -> str:
    """LEAFD_CMD's template when it runs leafd, else the leafd cargo built (for tests of
    leafd's own features, which nats-server does not have)."""
    cmd = _template()
    if "nats-server" in cmd.split()[0]:
        return f"{REPO}/target/debug/leafd --listen 127.0.0.1:{{port}} --store {{dir}}/store"
    return cmd


def candidate_port() -> int:
    """A free port (see `_candidate_port`)."""
    return _candidate_port()


def _candidate_port() -> int:
    """A free port below Linux's ephemeral range, so client sockets cannot take it first."""
    low, span = 20000, 12000
    if _next_port[0] is None:
        _next_port[0] = (os.getpid() * 7919 + span // 2) % span
    while True:
        port = low + _next_port[0] % span
        _next_port[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _reads_info(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(5)
            got = b""
            while len(got) < 5:
                chunk = s.recv(5 - len(got))
                if not chunk:
                    return False
                got += chunk
            return got == b"INFO "
    except OSError:
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    def __init__(self, auth=None, tls=None, template=None, leafd_toml=None) -> None:
        """`auth`: None, {"token": T}, {"users": [(user, password[, permissions]), ...]} or
        {"nkeys": [U...]}, written as leafd's `[auth]` or nats-server's `authorization { }`
        (the template names the broker). `tls`: None or {"cert_file", "key_file", and
        optionally "ca_file", "verify", "handshake_first", "timeout" (seconds)}, written as
        leafd's `[tls]` or nats-server's `tls { }`. `template`: a command template instead of
        LEAFD_CMD's. `leafd_toml`: a leafd config file's text (leafd only; `{dir}` in it is
        the broker's directory)."""
        self.dir = tempfile.mkdtemp(prefix="leafd-pytest-")
        self.log_path = os.path.join(self.dir, "broker.log")
        self.template = template or _template()
        assert "{port}" in self.template, f"LEAFD_CMD needs a {{port}} placeholder: {self.template}"
        self.tls_first = bool(tls and tls.get("handshake_first"))
        if auth is not None or tls is not None:
            self.template += " " + self._config(auth, tls)
        if leafd_toml is not None:
            assert "nats-server" not in self.template.split()[0], "leafd_toml is leafd's"
            assert auth is None and tls is None, "leafd_toml is the whole config"
            path = os.path.join(self.dir, "leafd.toml")
            with open(path, "w") as f:
                f.write(leafd_toml.replace("{dir}", self.dir))
            self.template += f" --config {path}"
        self.port = 0
        self.proc = None

    @staticmethod
    def _toml_permissions(perms) -> str:
        """{"publish": {"allow": [...], "deny": [...]}, ...} as leafd's [auth.users.permissions]."""
        lines = ["[auth.users.permissions]"]
        for key, rules in perms.items():
            if isinstance(rules, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in rules.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {json.dumps(rules)}")
        return "\n".join(lines) + "\n"

    def _config(self, auth, tls) -> str:
        nats_server = "nats-server" in self.template.split()[0]
        text = ""
        if auth is not None:
            text, name, flag = self._auth_config(auth, nats_server)
        else:
            name, flag = ("nats-server.conf", "-c") if nats_server else ("leafd.toml", "--config")
        if tls is not None:
            text += self._tls_config(tls, nats_server)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return f"{flag} {path}"

    @staticmethod
    def _tls_config(tls, nats_server) -> str:
        keys = [("cert_file", json.dumps(str(tls["cert_file"]))), ("key_file", json.dumps(str(tls["key_file"])))]
        if tls.get("ca_file"):
            keys.append(("ca_file", json.dumps(str(tls["ca_file"]))))
        keys.append(("verify", "true" if tls.get("verify") else "false"))
        keys.append(("verify_and_map", "true" if tls.get("verify_and_map") else "false"))
        keys.append(("handshake_first", "true" if tls.get("handshake_first") else "false"))
        if nats_server:
            if "timeout" in tls:
                keys.append(("timeout", str(tls["timeout"])))
            return "tls { " + ", ".join(f"{k}: {v}" for k, v in keys) + " }\n"
        if "timeout" in tls:
            keys.append(("timeout", json.dumps(f'{int(tls["timeout"] * 1000)}ms')))
        return "[tls]\n" + "".join(f"{k} = {v}\n" for k, v in keys)

    @staticmethod
    def _auth_config(auth, nats_server):
        if nats_server:
            if "token" in auth:
                body = f'token: {json.dumps(auth["token"])}'
            elif "nkeys" in auth:
                body = "users: [" + ", ".join(f"{{nkey: {json.dumps(k)}}}" for k in auth["nkeys"]) + "]"
            else:
                # An empty password: a user named by its client certificate (verify_and_map).
                users = ", ".join(
                    f"{{user: {json.dumps(u[0])}"
                    + (f", password: {json.dumps(u[1])}" if u[1] else "")
                    + (f", permissions: {json.dumps(u[2])}" if len(u) > 2 else "")
                    + "}"
                    for u in auth["users"]
                )
                body = f"users: [{users}]"
            text, name, flag = f"authorization {{ {body} }}\n", "nats-server.conf", "-c"
        else:
            if "token" in auth:
                text = f'[auth]\ntoken = {json.dumps(auth["token"])}\n'
            elif "nkeys" in auth:
                text = "[auth]\n" + "".join(f"[[auth.users]]\nnkey = {json.dumps(k)}\n" for k in auth["nkeys"])
            else:
                text = "[auth]\n" + "".join(
                    f"[[auth.users]]\nuser = {json.dumps(u[0])}\n"
                    + (f"password = {json.dumps(u[1])}\n" if u[1] else "")
                    + (Broker._toml_permissions(u[2]) if len(u) > 2 else "")
                    for u in auth["users"]
                )
            name, flag = "leafd.toml", "--config"
        return text, name, flag

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _spawn(self) -> None:
        argv = self.template.replace("{port}", str(self.port)).replace("{dir}", self.dir).split()
        with open(self.log_path, "a") as log:
            log.write(f"=== test harness: starting: {' '.join(argv)}\n")
            log.flush()
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            except FileNotFoundError:
                pytest.fail(
                    f"cannot run the broker command `{' '.join(argv)}`: not found.\n"
                    "The broker comes from LEAFD_CMD (default: target/debug/leafd, built by cargo).\n"
                    "tests/run.sh builds leafd and installs nats-server and qemu-user; run it once.",
                    pytrace=False,
                )

    def _wait_ready(self) -> bool:
        """True when our child answers with INFO; False if it exited."""
        deadline = time.monotonic() + START_TIMEOUT
        backoff = 0.005
        while True:
            if self.proc.poll() is not None:
                return False
            # A TLS-first broker sends no plaintext INFO: accepting connections is ready.
            if _accepts(self.port) if self.tls_first else _reads_info(self.port):
                return self.proc.poll() is None
            if time.monotonic() >= deadline:
                self.stop()
                pytest.fail(f"broker did not accept connections within {START_TIMEOUT}s\n{self.log()}")
            time.sleep(backoff)  # readiness polling only
            backoff = min(backoff * 2, 0.1)

    def start(self) -> None:
        for _ in range(3):
            self.port = _candidate_port()
            self._spawn()
            if self._wait_ready():
                return
        pytest.fail(f"broker exited with {self.proc.returncode}\n--- broker log ---\n{self.log()}")

    def restart(self, graceful: bool = False) -> None:
        """Kill (SIGKILL), or with `graceful` stop (SIGTERM, and a clean exit), and start
        again on the same port. nats-server loses recent consumer acks on SIGKILL, so a test
        that checks ack floors across a restart against both brokers wants `graceful`."""
        if graceful:
            self.terminate()
        else:
            self.stop()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._spawn()
            if self._wait_ready():
                return
            if time.monotonic() >= deadline:
                pytest.fail(f"broker did not restart on port {self.port}\n{self.log()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        """SIGTERM, then wait for the broker to exit, which must be with status 0."""
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"broker did not exit within {START_TIMEOUT}s of SIGTERM\n{self.log()}")
        assert rc == 0, f"broker exited with {rc} on SIGTERM\n{self.log()}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def broker():
    b = Broker()
    b.start()
    yield b
    b.stop()
    # pytest shows this only for a failing test.
    print(f"--- broker log ({b.log_path}) ---\n{b.log()}--- end of broker log ---")
    shutil.rmtree(b.dir, ignore_errors=True)


@pytest_asyncio.fixture
async def connect(broker):
    """Factory for nats-py connections to the test's broker; all closed at teardown."""
    clients = []

    async def factory(**options):
        options.setdefault("connect_timeout", TIMEOUT)
        options.setdefault("max_reconnect_attempts", 0)
        nc = await asyncio.wait_for(nats.connect(broker.url, **options), TIMEOUT)
        clients.append(nc)
        return nc

    yield factory
    for nc in clients:
        if not nc.is_closed:
            await nc.close()
