"""Real servers for tests: an ASGI app under uvicorn on 127.0.0.1 with a random port.

The server runs in a background thread with its own event loop, so a test's own
event loop (the client side) and the server never share a loop: what crosses
between them is a real TCP socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler: TypeAlias = Callable[[Request], Response]
Install: TypeAlias = Callable[[Handler], "RunningServer"]


class RunningServer:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self.server = server
        self.thread = thread
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def serve(app: Any, **config: Any) -> Iterator[RunningServer]:
    """Run ``app`` on a free loopback port until the ``with`` block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    cfg = uvicorn.Config(app, log_level="warning", lifespan="off", **config)
    server = uvicorn.Server(cfg)

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.005)
    try:
        yield RunningServer(server, thread, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def serve_handlers() -> Iterator[Install]:
    """One uvicorn for many tests, each with its own handler for ``/`` (POST and GET).

    Yields ``install``: ``install(handler)`` makes ``/`` answer with ``handler``
    from now on and returns the server. Starting uvicorn per test would cost a
    few hundred milliseconds each; use it in a module-scoped fixture.
    """
    handlers: list[Handler] = []

    async def endpoint(request: Request) -> Response:
        return handlers[-1](request)

    with serve(Starlette(routes=[Route("/", endpoint, methods=["POST", "GET"])])) as srv:

        def install(handler: Handler) -> RunningServer:
            handlers.append(handler)
            return srv

        yield install
