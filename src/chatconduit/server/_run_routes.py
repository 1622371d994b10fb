"""The read-only GETs of a durable chat route: ``joinRun`` and ``hydrate``.

TanStack's 0.33 client asks the chat URL itself, with a GET:

* ``?offset=-1&runId=<id>`` (``joinRun``): the run from its first event, then live until
  it ends; ``?offset=<event id>`` or ``Last-Event-ID: <event id>`` (its reconnect):
  strictly after that event. Framed like the route, or as the ``Accept`` header asks
  (``text/event-stream`` or ``application/x-ndjson``, the first one listed wins).
* ``?threadId=<id>`` without an offset (``hydrate``, ``Accept: application/json``): the
  thread's ``{messages, activeRun, interrupts}`` from the run's
  :class:`~chatconduit.server.ThreadStore`.

And one that is not a read: ``DELETE ?runId=<id>`` (or ``X-Run-Id``) stops the run
wherever it is produced (:meth:`~chatconduit.server.DurableRuns.stop`): 200 ``stopped``
(it ran here and has ended) or ``finished``, 202 ``stopping`` (its producer, another
replica, was asked), 404 for an unknown run. A log that cannot be reached is 503
``log_unavailable`` everywhere.

Answers where 0.58 has one: a GET naming a run but no offset is its ``400 text/plain``
"No resume offset provided ..."; an unknown run is a clear ``404 unknown_run`` rather
than 0.58's ``200`` whose only event is a RUN_ERROR (0.58 waits 100 ms for a producer
that may start late; here a run exists from the moment its POST is answered). The 0.33
client treats the 404 as "nothing to re-join": it clears its stale run pointer and
stays ready, without an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .. import _json
from .._exceptions import ReplayError, ReplayGapError, UnknownRunError
from ._callers import scope_of
from ._durable import DurableRuns, scoped_key
from ._http import NDJSON_HEADERS, SSE_HEADERS, merge_headers
from ._replay import StreamLogUnavailableError
from ._responses import EventStreamResponse
from ._streams import DEFAULT_HEARTBEAT, Framing

__all__ = [
    "NO_OFFSET_MESSAGE",
    "durable_get",
    "durable_stop",
    "log_unavailable",
    "negotiated_framing",
]

ScopeOf: TypeAlias = Callable[[Request], str | Awaitable[str]]

NO_OFFSET_MESSAGE = (
    "No resume offset provided (expected a Last-Event-ID header or an ?offset query parameter)."
)
"""0.58's exact words (``resumeServerSentEventsResponse`` without an offset)."""

_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})


def negotiated_framing(accept: str | None, default: Framing) -> Framing:
    """The framing a GET asks for in ``Accept``: the first of ``text/event-stream`` /
    an NDJSON type listed, else ``default`` (``*/*``, none, anything else)."""
    for item in (accept or "").split(","):
        media_type = item.split(";", 1)[0].strip().lower()
        if media_type == "text/event-stream":
            return "sse"
        if media_type in _NDJSON_TYPES:
            return "ndjson"
    return default


def _short(value: str | None) -> str:
    """A client-supplied id quoted in an error message, cut to a sane length."""
    return repr(value if value is None or len(value) <= 80 else value[:80] + "…")


def _error(
    status_code: int, message: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    # The shape of chat_endpoint's error_response (not imported: _endpoint imports us).
    return JSONResponse(
        {"error": {"message": message, "code": code}}, status_code=status_code, headers=headers
    )


def log_unavailable() -> JSONResponse:
    """503 ``log_unavailable``: the durable runs' store (Redis) cannot be reached."""
    return _error(
        503, "The durable runs' log cannot be reached", "log_unavailable", {"Retry-After": "5"}
    )


async def durable_stop(
    request: Request, durable: DurableRuns, *, run_scope: ScopeOf | None = None
) -> Response:
    """Answer a DELETE to a durable chat route (after ``authorize``): stop a run."""
    run_id = request.query_params.get("runId") or request.headers.get("x-run-id")
    if not run_id:
        return _error(400, "Stopping needs a runId query parameter", "missing_run_id")
    scope = await scope_of(run_scope, request)
    try:
        state = await durable.stop(scoped_key(scope, run_id))
    except StreamLogUnavailableError:
        return log_unavailable()
    if state == "unknown":
        return _error(404, f"No replay buffer for run {_short(run_id)}", "unknown_run")
    return JSONResponse(
        {"runId": run_id, "state": state}, status_code=202 if state == "stopping" else 200
    )


async def durable_get(
    request: Request,
    durable: DurableRuns,
    *,
    framing: Framing,
    heartbeat: float,
    headers: Mapping[str, str] | None = None,
    run_scope: ScopeOf | None = None,
) -> Response:
    """Answer a GET to a durable chat route (after ``authorize``): joinRun or hydrate.

    ``framing``/``heartbeat`` are the route's; an answer in the other framing (asked for
    with ``Accept``) gets that framing's default heartbeat (15 s SSE, none NDJSON).
    ``headers`` are set on stream answers, as on the route's POSTs.
    """
    scope = await scope_of(run_scope, request)
    query = request.query_params
    last_event_id = request.headers.get("last-event-id")
    offset = query.get("offset")
    if not last_event_id and not offset:
        thread_id = query.get("threadId")
        if thread_id:
            try:
                return await _hydrate(durable, scope, thread_id)
            except StreamLogUnavailableError:
                return log_unavailable()
        if query.get("runId") or request.headers.get("x-run-id"):
            return PlainTextResponse(NO_OFFSET_MESSAGE, status_code=400)
        return _error(
            405,
            "Use POST (GET joins a durable run: ?runId=&offset=, or reads a thread: ?threadId=)",
            "method_not_allowed",
        )
    run_id = query.get("runId") or request.headers.get("x-run-id")
    if not run_id:
        return _error(400, "Resuming needs a runId query parameter", "missing_run_id")
    # Last-Event-ID wins: 0.33 re-sends the join URL (?offset=-1) with it on a reconnect.
    after = last_event_id or (None if offset == "-1" else offset)
    chosen = negotiated_framing(request.headers.get("accept"), framing)
    if chosen != framing:
        heartbeat = DEFAULT_HEARTBEAT if chosen == "sse" else 0.0
    try:
        stream = await durable.stream(
            scoped_key(scope, run_id),
            after=after,
            framing=chosen,
            heartbeat=heartbeat,
            run_id=run_id,
        )
    except UnknownRunError:
        return _error(404, f"No replay buffer for run {_short(run_id)}", "unknown_run")
    except ReplayGapError:
        message = (
            f"Offset {_short(after)} of run {_short(run_id)} is not available "
            "(too old, or not an event id of that run)"
        )
        return _error(410, message, "replay_gap")
    except StreamLogUnavailableError:
        return log_unavailable()
    except ReplayError:
        return _error(409, f"Run {_short(run_id)} cannot be replayed", "replay_error")
    base = SSE_HEADERS if chosen == "sse" else NDJSON_HEADERS
    return EventStreamResponse(stream, headers=merge_headers(base, headers))


async def _hydrate(durable: DurableRuns, scope: str | None, thread_id: str) -> Response:
    store = durable.threads
    if store is None:
        return _error(
            501,
            "This endpoint keeps no thread state; hydrate is not possible.",
            "no_thread_store",
        )
    record = await store.load(scoped_key(scope, thread_id))
    document = (
        record.to_json()
        if record is not None
        else {"messages": [], "activeRun": None, "interrupts": None}
    )
    active = record.active_run if record is not None else None
    if active is not None and not await durable.log.has_run(scoped_key(scope, active)):
        # The run is gone from the log (a restart, an eviction): nothing to re-join, and
        # a client told otherwise would wait for it.
        document["activeRun"] = None
    return Response(
        _json.dumps_bytes(document),
        media_type="application/json",
        # A transcript is private and changes with every run: never cached.
        headers={"cache-control": "no-store"},
    )
