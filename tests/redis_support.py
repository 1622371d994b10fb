"""A real Redis and real replica processes for the ``test_redis_*`` tests.

``redis_server()`` starts ``redis-server`` on a free loopback port (no persistence:
``--save "" --appendonly no``) and stops it afterwards. Where it is not installed the
tests are skipped with the reason, except under CI (``CI=true``), where that is a
failure: ``.ci/run`` installs it.

``serve_replica()`` starts the real ``chatconduit serve --redis-url URL --port 0``.

``replica()`` starts this file as a script: one uvicorn process serving the demo app
(``chatconduit.demo.create_app``) with a ``RedisStreamLog``, configured like
``chatconduit serve`` (the same uvicorn settings, the same SIGTERM handling), with a
short lease and an agent that leaves a file behind when its ``finally`` runs, so a
test can tell that a run stopped in *that* process::

    python tests/redis_support.py --redis-url URL --lease 1.5 --delay 0.05 --marks DIR

``RoutingProxy`` is the cutting proxy of ``interop_current/cutting_proxy.py`` sending
each new connection to the replica queued for it: what a load balancer does to a
client that reconnects.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from interop_current.cutting_proxy import CuttingProxy

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)
HERE = Path(__file__).resolve().parent


def require_redis_server() -> str:
    """The ``redis-server`` binary; skip without it (fail under CI)."""
    if REDIS_SERVER is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it", pytrace=False)
        pytest.skip(message)
    return REDIS_SERVER


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str) -> Any:
        """One command over a fresh synchronous connection (``INFO``, ``FLUSHALL``...)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def used_memory(self) -> int:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return int(client.info("memory")["used_memory"])
        finally:
            client.close()


@contextlib.contextmanager
def redis_server(binary: str | None = None) -> Iterator[RedisServer]:
    """``redis-server`` on a free loopback port for the ``with`` block."""
    binary = binary or require_redis_server()
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield RedisServer(process, port)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --- replica processes ---------------------------------------------------------------------


class Replica:
    """A running replica process: ``url`` is its base URL, ``marks`` the folder where its
    agent leaves ``<runId>.finally`` files."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        marks: Path,
        log: Any,
        replica_id: str = "",
    ) -> None:
        self.process = process
        self.port = port
        self.marks = marks
        self._log = log
        self.replica_id = replica_id

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat(self, framing: str = "sse") -> str:
        return f"{self.url}/api/chat/{framing}"

    def finished(self, run_id: str) -> bool:
        """Whether this replica's agent ran the ``finally`` of run ``run_id``."""
        return (self.marks / f"{run_id}.finally").exists()

    def log_text(self) -> str:
        self._log.seek(0)
        return str(self._log.read().decode("utf-8", "replace"))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)


@contextlib.contextmanager
def replica(
    redis_url: str,
    *,
    lease: float = 1.5,
    delay: float = 0.05,
    drain: float = 30.0,
    extra: tuple[str, ...] = (),
) -> Iterator[Replica]:
    """Start one replica process (this file as a script) and stop it afterwards."""
    marks = Path(tempfile.mkdtemp(prefix="replica-marks-"))
    with tempfile.TemporaryFile() as log:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--redis-url",
            redis_url,
            "--lease",
            str(lease),
            "--delay",
            str(delay),
            "--drain",
            str(drain),
            "--marks",
            str(marks),
            *extra,
        ]
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            try:
                started = json.loads(line)
                port = int(started["port"])
            except (ValueError, KeyError):
                log.seek(0)
                raise RuntimeError(
                    f"replica did not start: {line!r} {log.read().decode('utf-8', 'replace')}"
                ) from None
            yield Replica(process, port, marks, log, started["replica"])
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            shutil.rmtree(marks, ignore_errors=True)


@contextlib.contextmanager
def serve_replica(redis_url: str, *, delay: float = 0.05) -> Iterator[Replica]:
    """``chatconduit serve --redis-url redis_url --port 0 --delay delay`` until the end."""
    command = [sys.executable, "-m", "chatconduit", "serve", "--port", "0"]
    command += ["--redis-url", redis_url, "--delay", str(delay)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
        )
        try:
            assert process.stdout is not None
            banner: list[str] = []
            port = replica_id = None
            while replica_id is None:
                line = process.stdout.readline().decode()
                if not line:
                    log.seek(0)
                    raise RuntimeError(
                        f"serve did not start: {''.join(banner)} {log.read().decode()}"
                    )
                banner.append(line)
                if port is None and " POST http://127.0.0.1:" in line:
                    port = int(line.split("127.0.0.1:")[1].split("/")[0])
                if "(this replica: " in line:
                    replica_id = line.rsplit("(this replica: ", 1)[1].rstrip(")\n")
            assert port is not None
            yield Replica(process, port, Path(), log, replica_id)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


class RoutingProxy(CuttingProxy):
    """A :class:`CuttingProxy` whose connections go to the ports queued with
    :meth:`route_next` (none queued: the last one routed). ``routes`` lists where each
    connection went, in the order of ``log``."""

    def __init__(self, port: int) -> None:
        self._default = port
        self._queued: list[int] = []
        self.routes: list[int] = []
        super().__init__(port)

    @property  # type: ignore[override]
    def upstream_port(self) -> int:
        # Read once per connection, right after it took its place in ``log``.
        port = self._queued.pop(0) if self._queued else self._default
        self._default = port
        self.routes.append(port)
        return port

    @upstream_port.setter
    def upstream_port(self, port: int) -> None:
        self._default = port

    def route_next(self, *ports: int) -> None:
        self._queued.extend(ports)


@contextlib.contextmanager
def routing_proxy(port: int) -> Iterator[RoutingProxy]:
    proxy = RoutingProxy(port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


def _marking_agent(marks: Path, delay: float) -> Any:
    """The demo agent, leaving ``<runId>.finally`` behind when a run's ``finally`` runs."""
    from chatconduit.demo import DemoAgent

    demo = DemoAgent(delay=delay)

    async def agent(params: Any, request: Any) -> AsyncIterator[Any]:
        try:
            async for event in demo(params, request):
                yield event
        finally:
            (marks / f"{params.run_id}.finally").write_text("done")

    return agent


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from chatconduit.cli._serve import listening_socket, server_config
    from chatconduit.demo import create_app
    from chatconduit.server import RedisStreamLog

    log = RedisStreamLog(args.redis_url, lease=args.lease)
    app = create_app(
        agent=_marking_agent(Path(args.marks), args.delay),
        log=log,
        drain_grace=args.drain,
    )
    sock = listening_socket("127.0.0.1", 0)
    print(json.dumps({"port": sock.getsockname()[1], "replica": log.replica}), flush=True)
    server = uvicorn.Server(server_config(app))
    # As `chatconduit serve` does: SIGTERM is a graceful shutdown, then a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: server.handle_exit(signal.SIGTERM, None))
    server.run(sockets=[sock])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--lease", type=float, default=1.5)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--drain", type=float, default=30.0)
    parser.add_argument("--marks", required=True)
    _serve(parser.parse_args())
