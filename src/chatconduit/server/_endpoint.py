"""``chat_endpoint(agent)``: a whole chat route in one line.

    app = Starlette(routes=[Route("/api/chat", chat_endpoint(my_agent), methods=["POST"])])

The endpoint reads and validates the body (400/408/413/415 before the agent is
ever called), optionally checks ``authorize(request)`` (401), calls
``agent(params, request)`` and streams what it yields. With ``durable=`` it also
serves resumes: a request carrying ``Last-Event-ID`` or ``?offset=`` (with the
run named by ``X-Run-Id``, ``?runId=`` or the body, the key 0.58 uses) replays the
run's log from there instead of starting the agent again; register the route for
``GET`` too to allow ``joinRun`` (``GET ?runId=<id>&offset=-1``) and ``hydrate``
(``GET ?threadId=<id>``, see ``_run_routes``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .._events import BaseEvent
from .._exceptions import (
    AgentOutputError,
    ReplayError,
    ReplayGapError,
    RequestValidationError,
    RunExistsError,
    StreamLogFullError,
    TooManyRunsError,
    UnknownRunError,
)
from .._run_input import RunAgentInput
from ._callers import is_authorized, scope_of
from ._dialect import Dialect, check_dialect, choose_dialect
from ._durable import DurableRuns, durable_runs, scoped_key
from ._errors import ErrorPayloadMapper
from ._errors import run_error_payload as default_error_payload
from ._frames import dialect_events
from ._heartbeat import Deferred
from ._http import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PENDING_BODIES,
    NDJSON_HEADERS,
    SSE_HEADERS,
    merge_headers,
)
from ._replay import StreamLog, StreamLogUnavailableError
from ._requests import PendingBodies, close_after, read_chat_request, request_error_response
from ._responses import EventStreamResponse
from ._run_routes import durable_get, durable_stop, log_unavailable
from ._streams import (
    DEFAULT_HEARTBEAT,
    DisconnectHook,
    EventSource,
    Framing,
    check_heartbeat,
    event_bytes,
)

__all__ = ["Agent", "Authorize", "RunScope", "chat_endpoint", "error_response"]

Agent: TypeAlias = Callable[[RunAgentInput, Request], EventSource | Awaitable[EventSource]]
"""``agent(params, request)``: an async generator of events, or a coroutine returning one."""
Authorize: TypeAlias = Callable[[Request], bool | Awaitable[bool]]
"""``authorize(request)``: falsy means 401, before the body is read."""
RunScope: TypeAlias = Callable[[Request], str | Awaitable[str]]
"""``run_scope(request)``: the namespace durable runs of this caller are kept in."""


def error_response(
    status_code: int, message: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``{"error": {"message", "code"}}`` with ``status_code``: the shape of every refusal."""
    return JSONResponse(
        {"error": {"message": message, "code": code}}, status_code=status_code, headers=headers
    )


def agent_events(
    agent: Agent, params: RunAgentInput, request: Request
) -> Deferred[BaseEvent | Mapping[str, Any] | BaseModel]:
    """The agent's events, the agent called lazily, inside the stream, so that even an
    agent failing at call time ends as a RUN_ERROR like any other failure."""
    return Deferred(partial(_open_agent, agent, params, request))


async def _open_agent(
    agent: Agent, params: RunAgentInput, request: Request
) -> AsyncIterator[BaseEvent | Mapping[str, Any] | BaseModel]:
    result = agent(params, request)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, AsyncIterable):
        raise AgentOutputError(
            f"agent returned a {type(result).__name__}; expected an async iterable of events"
        )
    return aiter(result)


def _short(value: str | None) -> str:
    """A client-supplied id quoted in an error message, cut to a sane length."""
    return repr(value if value is None or len(value) <= 80 else value[:80] + "…")


def _sends_body(request: Request) -> bool:
    """Whether the request announced a body (one we may leave unread by refusing early)."""
    declared = request.headers.get("content-length")
    return (declared is not None and declared.strip() != "0") or (
        "transfer-encoding" in request.headers
    )


def _refusal(
    request: Request,
    status_code: int,
    message: str,
    code: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """``error_response``, closing the connection if the body is left unread."""
    merged = dict(headers or {})
    if _sends_body(request):
        close_after(request, merged)
    return error_response(status_code, message, code, merged)


def _resume_point(request: Request) -> tuple[bool, str | None]:
    """``(is a resume, offset)``; offset ``None`` means "from the first event"."""
    last_event_id = request.headers.get("last-event-id")
    if last_event_id:
        return True, last_event_id
    offset = request.query_params.get("offset")
    if offset:
        return True, None if offset == "-1" else offset
    return False, None


def chat_endpoint(
    agent: Agent,
    *,
    framing: Framing = "sse",
    heartbeat: float | None = None,
    headers: Mapping[str, str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    max_pending_bodies: int | PendingBodies | None = DEFAULT_MAX_PENDING_BODIES,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    authorize: Authorize | None = None,
    durable: DurableRuns | StreamLog | None = None,
    run_scope: RunScope | None = None,
    dialect: Dialect = "auto",
    protocol: Literal["agui", "vercel"] = "agui",
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette/FastAPI endpoint streaming ``agent``'s events.

    ``heartbeat`` defaults to 15 s for SSE and off for NDJSON. ``event_ids``
    adds ids without durability (resume then has nothing to replay, so resume
    requests are refused with 409); ``durable`` implies ids. ``durable`` is a
    :class:`DurableRuns`, or a log (a :class:`StreamLog`, e.g. a ``RedisStreamLog``
    shared by replicas) that gets ``DurableRuns``' defaults. A durable route registered
    for ``DELETE`` stops a run (``?runId=`` or ``X-Run-Id``) wherever it is produced.

    Run ids are chosen by clients, so with ``durable`` anyone who knows (or
    guesses) a run id could join that run. ``run_scope(request)`` returns the
    caller's namespace (a user or tenant id, after authentication); runs are
    then kept per namespace and a caller can only start, resume or join its own,
    and at most ``durable.max_live_runs_per_scope`` at once (429 beyond).

    What a request may cost before the agent runs is bounded: a body must be
    declared as JSON (415), at most ``max_body_bytes`` long (413) and arrive
    within ``body_timeout`` seconds (408, ``None``: no deadline); at most
    ``max_pending_bodies`` requests may still be receiving their body at once
    (503 beyond, ``None``: unbounded; pass one :class:`PendingBodies` to several
    endpoints to bound them together).

    ``dialect``: ``"auto"`` answers each request in its client's dialect (the TanStack
    0.10 body gets the byte-exact 0.18 stream, TanStack 0.33 and AG-UI 1.0 clients the
    current one; see ``_dialect.choose_dialect``); ``"tanstack-0.18"`` or ``"current"``
    force one.

    ``protocol="vercel"`` serves a Vercel AI SDK ``useChat`` front end instead: the AI
    SDK's request body in, a UI message stream out (``chatconduit._bridges._vercel_server``;
    same body limits and ``authorize``, no durability, no heartbeat).
    """
    if protocol == "vercel":
        if durable is not None:
            raise ValueError("protocol='vercel' has no durable runs (the AI SDK cannot resume)")
        from .._bridges._vercel_server import vercel_chat_endpoint

        return vercel_chat_endpoint(
            lambda params, request: agent_events(agent, params, request),
            refuse=error_response,
            headers=headers,
            max_body_bytes=max_body_bytes,
            body_timeout=body_timeout,
            pending_bodies=(
                PendingBodies(max_pending_bodies)
                if isinstance(max_pending_bodies, int)
                else max_pending_bodies
            ),
            error_payload=error_payload,
            authorize=authorize,
        )
    if protocol != "agui":
        raise ValueError(f"protocol must be 'agui' or 'vercel', got {protocol!r}")
    if framing not in ("sse", "ndjson"):
        raise ValueError(f"framing must be 'sse' or 'ndjson', got {framing!r}")
    if heartbeat is None:
        heartbeat = DEFAULT_HEARTBEAT if framing == "sse" else 0.0
    check_heartbeat(heartbeat)
    check_dialect(dialect)
    if max_body_bytes < 0:
        raise ValueError(f"max_body_bytes must be >= 0, got {max_body_bytes}")
    if body_timeout is not None and not body_timeout > 0:
        raise ValueError(f"body_timeout must be > 0 seconds or None, got {body_timeout!r}")
    pending = (
        PendingBodies(max_pending_bodies)
        if isinstance(max_pending_bodies, int)
        else max_pending_bodies
    )
    response_headers = merge_headers(SSE_HEADERS if framing == "sse" else NDJSON_HEADERS, headers)
    pulse = heartbeat
    runs = durable_runs(durable)

    async def endpoint(request: Request) -> Response:
        if authorize is not None and not await is_authorized(authorize, request):
            # The status line already says "Unauthorized"; the body says why.
            return _refusal(
                request,
                401,
                "Missing or invalid bearer token",
                "unauthorized",
                {"WWW-Authenticate": "Bearer"},
            )
        if request.method == "GET" and runs is not None:
            return await durable_get(
                request,
                runs,
                framing=framing,
                heartbeat=pulse,
                headers=headers,
                run_scope=run_scope,
            )
        if request.method == "DELETE" and runs is not None:
            return await durable_stop(request, runs, run_scope=run_scope)
        resuming, offset = _resume_point(request)
        if request.method != "POST" and not (runs is not None and resuming):
            return _refusal(
                request,
                405,
                "Use POST (GET only joins a durable run: ?runId=&offset=)",
                "method_not_allowed",
            )
        if resuming and runs is None:
            return _refusal(
                request,
                409,
                "This endpoint keeps no replay buffer; resume is not possible.",
                "no_replay",
            )
        params: RunAgentInput | None = None
        # The durable log is keyed as 0.58 keys it: X-Run-Id, else ?runId, else the body.
        run_id = request.headers.get("x-run-id") or request.query_params.get("runId")
        if request.method == "POST" and not (resuming and run_id):
            try:
                params = await read_chat_request(
                    request,
                    max_body_bytes=max_body_bytes,
                    body_timeout=body_timeout,
                    pending_bodies=pending,
                )
            except RequestValidationError as exc:
                return request_error_response(exc, request=request)
            except ClientDisconnect:
                return Response(status_code=400)
            run_id = run_id or params.run_id
        if runs is None:
            assert params is not None
            body = event_bytes(
                agent_events(agent, params, request),
                framing=framing,
                heartbeat=pulse,
                event_ids=event_ids,
                on_disconnect=on_disconnect,
                error_payload=error_payload,
                run_id=params.run_id,
                thread_id=params.thread_id,
                dialect=choose_dialect(params, dialect),
            )
            return EventStreamResponse(body, headers=response_headers)
        if not run_id:
            return error_response(400, "Resuming needs a runId query parameter", "missing_run_id")
        scope = await scope_of(run_scope, request)
        key = scoped_key(scope, run_id)
        try:
            fresh = params is not None and not resuming and not await runs.log.has_run(key)
        except StreamLogUnavailableError:
            return log_unavailable()
        if fresh and params is not None:
            try:
                await runs.start(
                    key,
                    # The log keeps the bytes of the dialect of the request that started it.
                    dialect_events(
                        agent_events(agent, params, request),
                        choose_dialect(params, dialect),
                        run_id=run_id,
                        thread_id=params.thread_id,
                    ),
                    run_id=run_id,
                    thread_id=params.thread_id,
                    on_disconnect=on_disconnect,
                    error_payload=error_payload,
                    scope=scope,
                    messages=params.messages,
                )
            except TooManyRunsError as exc:
                # This caller's own quota, not the server's capacity: 429, not 503.
                return error_response(
                    429,
                    f"Too many runs in progress for this caller (at most {exc.limit})",
                    "too_many_runs",
                    {"Retry-After": "5"},
                )
            except StreamLogUnavailableError:
                return log_unavailable()
            except StreamLogFullError:
                return error_response(
                    503, "Too many runs in progress", "busy", {"Retry-After": "5"}
                )
            except RunExistsError:
                pass  # a concurrent identical POST won the race: join it below
        # A repeated POST of a recorded run replays it from the start instead of
        # running the agent twice.
        try:
            stream = await runs.stream(
                key, after=offset, framing=framing, heartbeat=pulse, run_id=run_id
            )
        except UnknownRunError:
            return error_response(404, f"No replay buffer for run {_short(run_id)}", "unknown_run")
        except ReplayGapError:
            message = (
                f"Offset {_short(offset)} of run {_short(run_id)} is not available "
                "(too old, or not an event id of that run)"
            )
            return error_response(410, message, "replay_gap")
        except StreamLogUnavailableError:
            return log_unavailable()
        except ReplayError:
            return error_response(409, f"Run {_short(run_id)} cannot be replayed", "replay_error")
        return EventStreamResponse(stream, headers=response_headers)

    return endpoint
