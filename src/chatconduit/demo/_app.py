"""The demo's ASGI app: the demo agent behind SSE and NDJSON chat routes.

    POST /api/chat/sse      SSE framing (what fetchServerSentEvents reads)
    POST /api/chat/ndjson   NDJSON framing (what fetchHttpStream reads)
    WS   /api/chat/ws       TanStack 0.58's WebSocket protocol (webSocket(), websocket())
    GET  /                  the playground page for browsers (``Accept: text/html``),
                            else what this server is and how to talk to it (JSON)
    GET  /playground/...    the playground's bundle (and ``proxy`` with ``proxy=True``)
    GET  /health            {"status": "ok"}

With ``durable=True`` (or a ``log``) events carry ids and runs are kept in a replay
buffer, so a resumable client can reconnect with ``Last-Event-ID``; ``GET
/api/chat/sse?runId=...&offset=-1`` joins a run and ``GET ...?threadId=...``
returns a thread's messages, active run and pending interrupts (``hydrate``).
It is off by default because the TanStack 0.10 client does not understand ids: it
warns on every SSE ``id:`` line and cannot read NDJSON ``{id, chunk}`` envelopes
at all.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from .. import __version__
from ..playground import index_response, playground_app, render_index
from ..server import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEARTBEAT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PENDING_BODIES,
    Agent,
    InMemoryStreamLog,
    PendingBodies,
    StreamLog,
    ThreadStore,
    chat_endpoint,
    websocket_endpoint,
)
from ..server._durable import DEFAULT_DRAIN_GRACE, durable_runs
from ._agent import APPROVAL_TOOL, SERVER_TOOLS, DemoAgent

__all__ = ["create_app"]

SSE_PATH = "/api/chat/sse"
NDJSON_PATH = "/api/chat/ndjson"
WS_PATH = "/api/chat/ws"
VERCEL_PATH = "/api/chat/vercel"
PLAYGROUND_PATH = "/playground"


def _bearer_check(api_key: str) -> Any:
    expected = f"Bearer {api_key}".encode()

    def authorize(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        return secrets.compare_digest(given, expected)

    return authorize


def create_app(
    *,
    agent: Agent | None = None,
    delay: float = 0.03,
    api_key: str | None = None,
    heartbeat: float = DEFAULT_HEARTBEAT,
    durable: bool = False,
    log: StreamLog | None = None,
    threads: ThreadStore | None = None,
    drain_grace: float = DEFAULT_DRAIN_GRACE,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    max_pending_bodies: int | None = DEFAULT_MAX_PENDING_BODIES,
    playground_proxy: bool = False,
) -> Starlette:
    """The demo server. ``agent`` defaults to :class:`DemoAgent` with ``delay``.

    ``api_key`` requires ``Authorization: Bearer <api_key>`` on the chat routes
    (401 otherwise). ``heartbeat`` applies to SSE (NDJSON pings stay off, since
    the 0.10 client would hand them to ``onChunk``). ``cors_origins`` allows
    browser apps from those origins. ``max_body_bytes``, ``body_timeout`` and
    ``max_pending_bodies`` bound requests as in
    :func:`~chatconduit.server.chat_endpoint` (``max_pending_bodies`` for both
    chat routes together). ``playground_proxy`` adds the playground's CORS proxy
    route (it forwards to any URL the page names: trusted interfaces only).

    ``log`` keeps the durable runs (implies ``durable``; default: an in-memory log), e.g. a
    ``RedisStreamLog`` shared by replicas, whose thread store then defaults to one in the
    same Redis (``threads``, default: in memory). The app checks the log at start-up
    (Redis unreachable: start-up fails) and, on shutdown, lets running runs finish for
    up to ``drain_grace`` seconds without taking new ones. Durable routes also answer
    ``DELETE ?runId=`` (stop a run, wherever it is produced).
    """
    chat_agent: Agent = agent if agent is not None else DemoAgent(delay=delay)
    authorize = _bearer_check(api_key) if api_key else None
    durable = durable or log is not None
    runs = None
    if durable:
        runs = durable_runs(log if log is not None else InMemoryStreamLog())
        assert runs is not None
        if threads is not None:
            runs.threads = threads
    common: dict[str, Any] = {
        "authorize": authorize,
        "durable": runs,
        "max_body_bytes": max_body_bytes,
        "body_timeout": body_timeout,
        # One count for both routes: the sockets slow senders can hold is what matters.
        "max_pending_bodies": (
            PendingBodies(max_pending_bodies) if max_pending_bodies is not None else None
        ),
    }
    sse = chat_endpoint(chat_agent, framing="sse", heartbeat=heartbeat, **common)
    ndjson = chat_endpoint(chat_agent, framing="ndjson", **common)
    # The same agent for a Vercel AI SDK `useChat` front end (no durable runs there).
    vercel = chat_endpoint(chat_agent, protocol="vercel", **{**common, "durable": None})
    methods = ["POST", "GET", "DELETE"] if durable else ["POST"]

    async def info(request: Request) -> Response:
        # Browsers ask for HTML first and get the playground; API clients keep the JSON.
        if "text/html" in request.headers.get("accept", ""):
            return index_response(
                render_index(
                    PLAYGROUND_PATH + "/",
                    endpoint=SSE_PATH,
                    framing="sse",
                    proxy="proxy" if playground_proxy else None,
                )
            )
        return JSONResponse(
            {
                "name": "chatconduit demo",
                "version": __version__,
                "endpoints": {
                    "sse": SSE_PATH,
                    "ndjson": NDJSON_PATH,
                    "ws": WS_PATH,
                    "vercel": VERCEL_PATH,
                    "health": "/health",
                },
                "playground": PLAYGROUND_PATH + "/",
                "auth": "bearer" if api_key else None,
                "durable": durable,
                "tools": [tool.name for tool in (*SERVER_TOOLS, APPROVAL_TOOL)],
                "try": [
                    "what is 2+3*4",
                    "what time is it",
                    "think about rivers",
                    "delete_file notes.txt",
                    "hello",
                ],
            }
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runs is not None:
            await runs.open()  # a shared log that cannot be reached fails the start-up
        yield
        if runs is not None:
            # Only a shared log outlives this process: an in-memory one's runs just stop.
            await runs.drain(drain_grace if runs.control is not None else 0.0)

    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["*"],
            )
        )
    return Starlette(
        routes=[
            Route("/", info, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route(SSE_PATH, sse, methods=methods),
            Route(NDJSON_PATH, ndjson, methods=methods),
            Route(VERCEL_PATH, vercel, methods=["POST"]),
            WebSocketRoute(
                WS_PATH, websocket_endpoint(chat_agent, authorize=authorize, durable=runs)
            ),
            Mount(
                PLAYGROUND_PATH,
                playground_app(endpoint=SSE_PATH, proxy=playground_proxy),
            ),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
