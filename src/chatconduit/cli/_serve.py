"""Running the demo backend: in the foreground (``serve``) or in a background thread (``demo``).

Both bind the listening socket themselves before uvicorn starts, so that port 0
("pick a free one") works and the printed URL is the real one, and so that
"address already in use" is reported as one line before anything else happens.

The socket is created as a TCP socket (protocol ``IPPROTO_TCP``, not ``0``):
asyncio only sets ``TCP_NODELAY`` on accepted sockets whose protocol says TCP, and
without it every kept-alive request after the first waited ~40 ms for Nagle's
algorithm and delayed ACKs. uvicorn gets limits that keep a slow or hostile
client from exhausting the process (see :func:`server_config`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from typing import Any, TextIO

import uvicorn

from ._agents import ServerStopping, load_agent
from ._args import API_KEY_ENV, ServeCommand
from ._errors import ExitCode, UsageError

__all__ = [
    "NDJSON_PATH",
    "SSE_PATH",
    "background_server",
    "concurrency_limit",
    "demo_app",
    "listening_socket",
    "run_serve",
    "server_config",
]

SSE_PATH = "/api/chat/sse"
NDJSON_PATH = "/api/chat/ndjson"
START_TIMEOUT = 15.0

BACKLOG = 1024
"""Connections the kernel queues before uvicorn accepts them (capped by somaxconn)."""
KEEP_ALIVE_TIMEOUT = 5
"""Seconds an idle kept-alive connection is held open (uvicorn's default, made explicit)."""
MAX_HEAD_BYTES = 16 * 1024
"""Largest request head (request line and headers) h11 buffers: room for big cookies."""
MAX_CONCURRENCY = 4096
"""Upper bound of :func:`concurrency_limit`, whatever the file descriptor limit."""
FD_RESERVE = 64
"""File descriptors kept free for everything that is not a connection (the listening
socket, logs, imports, the 503 answers to connections over the limit)."""


GC_THRESHOLDS = (10_000, 10, 100)
"""The cyclic garbage collector's thresholds while ``serve`` runs (CPython's are
``(700, 10, 10)``). With many streams open, every stream's objects outlive the young
generations, and CPython then collects the whole heap each time it grew by a quarter:
with 1,000 SSE clients flat out that was ~25 % of the server's CPU before round 4 and
still ~0.1 s of GC per 300,000 events after it. Collecting less often cost ~4 MB of
peak RSS there (docs/deployment.md, "Many streams in one process")."""


class ListenError(Exception):
    """The server could not listen on the requested address."""


def _openai_agent(command: ServeCommand, err: TextIO) -> Any:
    """``--openai-base-url``: the key comes from the environment variable the command
    names (a flag value would show in ``ps``); a local server may need none."""
    from ..agents import OpenAICompatibleAgent

    assert command.openai_base_url is not None and command.model is not None
    key = os.environ.get(command.api_key_env) or None
    if key is None:
        err.write(f"chatconduit: note: ${command.api_key_env} is not set; no API key is sent\n")
    return OpenAICompatibleAgent(base_url=command.openai_base_url, model=command.model, api_key=key)


def demo_app(
    delay: float | None,
    *,
    playground_proxy: bool = False,
    agent: Any = None,
    api_key: str | None = None,
    log: Any = None,
) -> Any:
    # Imported here: the demo needs Starlette (the ``cli``/``server`` extras), and
    # ``chatconduit chat`` must work without it.
    from ..demo import create_app

    extra: dict[str, Any] = {"agent": agent, "api_key": api_key}
    if log is not None:  # --redis-url: durable runs shared by replicas
        extra["log"] = log
    if delay is None:
        return create_app(playground_proxy=playground_proxy, **extra)
    return create_app(delay=delay, playground_proxy=playground_proxy, **extra)


def redis_log(command: ServeCommand, err: TextIO) -> tuple[Any, bool]:
    """``(log, ok)`` for ``--redis-url``: a ``RedisStreamLog`` when Redis answers a PING
    now; ``(None, True)`` without ``--redis-url`` or, with ``--redis-optional``, when
    it does not (said on ``err``); ``(None, False)``: exit, the error written."""
    if not command.redis_url:
        return None, True
    from ..server._redis_client import check_redis
    from ..server._redis_log import RedisStreamLog

    problem = check_redis(command.redis_url)
    if problem is None:
        return RedisStreamLog(command.redis_url), True
    if command.redis_optional:
        err.write(f"chatconduit: warning: {problem}; runs will not be durable\n")
        return None, True
    err.write(f"chatconduit: error: {problem}\n")
    return None, False


class _StoppingServer(uvicorn.Server):
    """uvicorn, telling running replies to end before it waits for them (``_agents``)."""

    def __init__(self, config: uvicorn.Config, stopping: ServerStopping) -> None:
        super().__init__(config)
        self._stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stopping.stop()
        await super().shutdown(sockets)


def listening_socket(host: str, port: int, *, backlog: int = BACKLOG) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: a free one), ready for uvicorn.

    Its protocol is ``IPPROTO_TCP``, which accepted sockets inherit and asyncio
    checks before setting ``TCP_NODELAY`` on each connection; ``TCP_NODELAY`` is
    also set on the listening socket itself (Linux copies it to accepted ones).
    Raises :class:`ListenError` with a one-line reason.
    """
    try:
        infos = socket.getaddrinfo(
            host,
            port,
            type=socket.SOCK_STREAM,
            proto=socket.IPPROTO_TCP,
            flags=socket.AI_PASSIVE,
        )
    except socket.gaierror as exc:
        raise ListenError(f"cannot resolve {host!r}: {exc.strerror}") from None
    family, _, proto, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def concurrency_limit() -> int:
    """Connections served at once before uvicorn answers 503 (and closes): the file
    descriptor limit less :data:`FD_RESERVE`, between 16 and :data:`MAX_CONCURRENCY`.

    Without it, connections past the descriptor limit make ``accept`` fail and
    nobody, a normal chat included, gets an answer.
    """
    soft = 1024
    if sys.platform != "win32":
        import resource

        limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        soft = MAX_CONCURRENCY + FD_RESERVE if limit == resource.RLIM_INFINITY else limit
    return max(16, min(MAX_CONCURRENCY, soft - FD_RESERVE))


def _base_url(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = "127.0.0.1"  # a wildcard address is not something a client can dial
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def server_config(app: Any, *, debug: bool = False, access_log: bool = False) -> uvicorn.Config:
    """The uvicorn configuration of ``serve`` and ``demo``, with explicit limits."""
    return uvicorn.Config(
        app,
        log_level="debug" if debug else "warning",
        access_log=access_log,
        lifespan="on",
        # Streaming replies must not be cut by a graceful shutdown that waits forever.
        timeout_graceful_shutdown=3,
        # h11 explicitly: the head-size bound below is h11's (httptools, if installed,
        # would be picked otherwise and ignore it).
        http="h11",
        limit_concurrency=concurrency_limit(),
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        backlog=BACKLOG,
    )


class _StopRequested(Exception):
    """SIGTERM arrived (re-raised by uvicorn after its graceful shutdown)."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _StopRequested


def _auth_hint(command: ServeCommand) -> str:
    # Single quotes: the chat command expands $NAME itself, the shell does not.
    return f" -H 'Authorization: Bearer ${API_KEY_ENV}'" if command.api_key else ""


def run_serve(command: ServeCommand, out: TextIO, err: TextIO) -> int:
    """``chatconduit serve``: serve the demo until Ctrl-C (or SIGTERM)."""
    try:
        sock = listening_socket(command.host, command.port)
    except ListenError as exc:
        err.write(f"chatconduit: error: {exc}\n")
        return ExitCode.FAILURE
    base = _base_url(sock, command.host)
    log, ok = redis_log(command, err)
    if not ok:
        sock.close()
        return ExitCode.FAILURE
    from ..demo import DemoAgent  # late, as in demo_app

    stopping = ServerStopping()
    try:
        if command.agent:
            inner = load_agent(command.agent)
        elif command.openai_base_url:
            inner = _openai_agent(command, err)
        else:
            inner = DemoAgent() if command.delay is None else DemoAgent(delay=command.delay)
    except UsageError as exc:
        sock.close()
        err.write(f"chatconduit: error: {exc}\n")
        return ExitCode.USAGE
    if command.agent and command.delay is not None:
        err.write("chatconduit: note: --delay paces the demo agent only; ignored with --agent\n")
    title = f"chatconduit server: {command.agent}" if command.agent else "chatconduit demo server"
    if command.openai_base_url:
        title = f"chatconduit server: {command.model} (OpenAI-compatible, {command.api_key_env})"
    out.write(
        f"{title}\n"
        f"  SSE     POST {base}{SSE_PATH}\n"
        f"  NDJSON  POST {base}{NDJSON_PATH}\n"
        f"  WS           {base.replace('http', 'ws', 1)}/api/chat/ws\n"
        f"  Vercel  POST {base}/api/chat/vercel  (AI SDK UI message stream)\n"
        f"  info    GET  {base}/  (JSON; a browser gets the playground page)\n"
        + (
            f"  proxy   {base}/playground/proxy  (the playground's CORS proxy)\n"
            if command.proxy
            else ""
        )
        + f"try: chatconduit chat {base}{SSE_PATH}{_auth_hint(command)}\n"
        f"  or open {base}/ in a browser\n"
        "Press Ctrl-C to stop.\n"
    )
    if log is not None:
        out.write(f"durable runs in Redis at {log.url} (this replica: {log.replica})\n")
    out.flush()
    app = demo_app(
        command.delay,
        playground_proxy=command.proxy,
        # Durable runs in Redis are drained on shutdown (they finish), not stopped.
        agent=stopping.wrap(inner) if log is None else inner,
        api_key=command.api_key,
        log=log,
    )
    config = server_config(app, debug=command.debug, access_log=True)
    gc.set_threshold(*GC_THRESHOLDS)  # this process is ours: see GC_THRESHOLDS
    server = _StoppingServer(config, stopping)
    # Show requests as they come, without uvicorn's start-up chatter.
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again
    # for the handler that was there before. For SIGINT that is a KeyboardInterrupt;
    # for SIGTERM the default would kill the process, so make it an exception too:
    # either way, being asked to stop is a clean exit.
    previous_term = signal.signal(signal.SIGTERM, _raise_stop)
    if command.open_browser:
        # The socket already listens: the browser's connection waits for uvicorn.
        webbrowser.open(f"{base}/")
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        sock.close()
    out.write("stopped\n")
    out.flush()
    return ExitCode.OK


@contextlib.contextmanager
def background_server(app: Any, *, debug: bool = False) -> Iterator[str]:
    """Run ``app`` on a free 127.0.0.1 port in a daemon thread; yield its base URL.

    Leaving the ``with`` block stops the server and waits for its thread, so
    nothing is left running when ``chatconduit demo`` returns.
    """
    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, debug=debug, access_log=debug))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by the waiting thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="chatconduit-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(
                "the demo server did not start"
                + (f": {failure[0]}" if failure else " (see --debug)")
            )
        time.sleep(0.01)
    try:
        yield _base_url(sock, "127.0.0.1")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
