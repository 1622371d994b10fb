"""Agent events to response bytes: SSE or NDJSON, for any ASGI framework.

:func:`server_sent_events_stream` and :func:`http_stream` are async generators
of ``bytes``. Hand them to any streaming response; Starlette users can take the
ready-made responses in ``_responses``. What they add over a plain loop:

* every item is checked and normalised (:func:`~chatconduit._events.event_to_dict`; the
  plain events agents send most - content deltas, the opening and closing of runs and
  messages - by a hand check that gives the same dict, ``_events/_agent_fast``), so an
  agent yielding garbage is reported as a RUN_ERROR, not a broken stream;
* an exception from the agent becomes one RUN_ERROR (see ``_errors`` for what the
  client is told) and the stream ends, as the reference's helpers do;
* heartbeats during silence (``_heartbeat``);
* optional event ids (SSE ``id:`` lines, NDJSON ``{id, chunk}`` envelopes);
* the wire dialect (``_dialect``): the events as the TanStack 0.10 client reads them, or
  as the current clients (TanStack 0.33, ``@ag-ui/client`` 1.0) do, whatever the agent
  yields (:class:`DialectStream`);
* when the stream is closed before the agent finished (the client went away),
  the agent is closed at once, so its ``finally`` runs, and ``on_disconnect``
  receives the events produced so far.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

from .._codec import Framing
from .._exceptions import AgentOutputError
from .._redact import redact_text
from .._run_input import RunAgentInput
from ._chunks import encode_frame, frame_encoder, frame_payload, heartbeat_frame, joined_chunks
from ._dialect import Dialect, WireDialect, check_dialect, choose_dialect
from ._errors import (
    ErrorPayloadMapper,
    RunErrorPayload,
    log_agent_failure,
    run_error_event,
)
from ._errors import run_error_payload as default_error_payload
from ._frames import (
    DialectStream,
    EventSource,
    Frames,
    RunIds,
    as_dialect_stream,
    dialect_events,
)
from ._heartbeat import (
    HEARTBEAT,
    MAX_BATCH_ITEMS,
    aclose_quietly,
    check_heartbeat,
    heartbeat_batches,
    inline_batches,
    raised_by_source,
)

__all__ = [
    "AgentOutputError",
    "DialectStream",
    "DisconnectHook",
    "EventSource",
    "Framing",
    "check_heartbeat",
    "encode_frame",
    "event_bytes",
    "frame_payload",
    "guarded_batches",
    "guarded_events",
    "heartbeat_frame",
    "http_stream",
    "server_sent_events_stream",
]

logger = logging.getLogger("chatconduit.server")

DisconnectHook: TypeAlias = Callable[[list[dict[str, Any]]], Awaitable[None] | None]
"""Called with the events produced so far when a stream is abandoned before the end."""

DEFAULT_HEARTBEAT = 15.0

# Hook tasks that outlived a cancelled stream; kept here so they are not garbage collected.
_background: set[asyncio.Task[None]] = set()

T = TypeVar("T")


async def _call_hook(hook: DisconnectHook, events: list[dict[str, Any]]) -> None:
    try:
        result = hook(events)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        logger.error("on_disconnect hook failed: %s", redact_text(repr(exc)))


async def run_disconnect_hook(hook: DisconnectHook, events: list[dict[str, Any]]) -> None:
    """Run ``hook`` in its own task: a cancellation of the caller does not cut it short."""
    task = asyncio.create_task(_call_hook(hook, events), name="chatconduit-on-disconnect")
    _background.add(task)
    task.add_done_callback(_background.discard)
    await asyncio.shield(task)


def _client_payload(mapper: ErrorPayloadMapper, exc: BaseException) -> RunErrorPayload:
    """``mapper(exc)``, falling back to the default policy if a custom mapper fails."""
    if mapper is default_error_payload:
        return mapper(exc)
    try:
        payload = mapper(exc)
        if isinstance(payload.get("message"), str):
            return payload
        raise TypeError(f"error_payload returned {payload!r}, expected a dict with a 'message'")
    except Exception as failure:
        log_agent_failure(failure, where="error_payload mapper")
        return default_error_payload(exc)


async def guarded_events(
    events: EventSource,
    *,
    transform: Callable[[dict[str, Any], int], T],
    heartbeat: float = 0.0,
    pulse: T | None = None,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    run_id: str | None = None,
    thread_id: str | None = None,
) -> AsyncIterator[T]:
    """The engine behind every stream here, one item at a time (see the module docstring).

    Each event is normalised to a wire dict and passed to ``transform(event, index)``
    (an encoder); whatever fails on the way - the agent, a malformed event, the
    encoder - ends the stream with one RUN_ERROR (transformed the same way). ``pulse``
    is yielded after each ``heartbeat`` seconds of silence. ``run_id``/``thread_id``
    name the run in that RUN_ERROR until the agent announces its own with RUN_STARTED.
    """
    batches = guarded_batches(
        events,
        transform=transform,
        heartbeat=heartbeat,
        pulse=pulse,
        on_disconnect=on_disconnect,
        error_payload=error_payload,
        run_id=run_id,
        thread_id=thread_id,
        batched=False,
    )
    try:
        async for batch in batches:
            for out in batch:
                yield out
    finally:
        await aclose_quietly(batches)  # the agent's finally and on_disconnect run now


async def guarded_batches(
    events: EventSource,
    *,
    transform: Callable[[dict[str, Any], int], T],
    heartbeat: float = 0.0,
    pulse: T | None = None,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    run_id: str | None = None,
    thread_id: str | None = None,
    batched: bool = True,
) -> AsyncIterator[list[T]]:
    """:func:`guarded_events` in batches (never empty, in order): with ``batched`` the
    agent runs in a pump task (``heartbeat_batches``) and each batch is what it produced
    while the previous batch was being written, so a busy agent costs one hand-over (and
    one body write) per batch, and a lone event is handed on at once. Without it (and
    without heartbeats) the agent runs in the caller's task and each batch is what one
    item became. A heartbeat is a batch of its own (``[pulse]``).

    ``events`` written in a dialect (:func:`dialect_events`) are converted by its
    converter; anything else is written as it comes. Either way each item is finished
    (normalised, converted, transformed) where the agent runs (:class:`~._frames.Frames`): an
    event that fails stops the agent right there, never a batch later."""
    stream = as_dialect_stream(events)
    produced: list[dict[str, Any]] | None = [] if on_disconnect is not None else None
    ids = RunIds(run_id, thread_id)
    frames = Frames(stream, transform, ids, produced)
    ticks = heartbeat > 0 and pulse is not None
    ticking: AsyncIterator[Any]
    if batched or ticks:
        size = MAX_BATCH_ITEMS if batched else 1  # 1: heartbeats, one item at a time
        ticking = heartbeat_batches(
            stream.source,
            heartbeat if ticks else None,
            max_items=size,
            step=frames.push,
            end=frames.end,
        )
    else:
        ticking = inline_batches(stream.source, step=frames.push, end=frames.end)
    complete = False
    try:
        try:
            async for got in ticking:
                if got is HEARTBEAT:
                    if pulse is not None:  # always true: heartbeats are only on with a pulse
                        yield [pulse]
                    continue
                yield got
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not raised_by_source(exc):
                raise  # the client went away (or the server stops): nobody to tell
            await aclose_quietly(ticking)  # stop the agent before telling the client
            log_agent_failure(exc, where="agent stream")
            payload = _client_payload(error_payload, exc)
            error = run_error_event(payload, run_id=ids.run_id, thread_id=ids.thread_id)
            finals: list[T] = []
            for final in stream.converter.error(error):
                finals.append(transform(final, frames.count))
                frames.count += 1
            yield finals
        complete = True
    finally:
        await aclose_quietly(ticking)
        if not complete and on_disconnect is not None and produced is not None:
            await run_disconnect_hook(on_disconnect, produced)


def event_bytes(
    events: EventSource,
    *,
    framing: Framing,
    heartbeat: float,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    run_id: str | None = None,
    thread_id: str | None = None,
    dialect: WireDialect = "tanstack-0.18",
) -> AsyncIterator[bytes]:
    """``events`` in ``dialect``, framed as SSE or NDJSON; ids ``"0"``, ``"1"``, ... when
    ``event_ids``. The frames the agent produced together come as one chunk
    (:func:`guarded_batches`, :func:`joined_chunks`)."""
    check_heartbeat(heartbeat)

    return joined_chunks(
        guarded_batches(
            dialect_events(events, dialect, run_id=run_id, thread_id=thread_id),
            transform=frame_encoder(framing, event_ids),
            heartbeat=heartbeat,
            pulse=heartbeat_frame(framing),
            on_disconnect=on_disconnect,
            error_payload=error_payload,
            run_id=run_id,
            thread_id=thread_id,
        )
    )


def stream_dialect(
    dialect: Dialect, params: RunAgentInput | None
) -> tuple[WireDialect, str | None, str | None]:
    """The dialect a helper writes, and the request's run and thread ids."""
    check_dialect(dialect)
    wire = choose_dialect(params, dialect)
    if params is None:
        return wire, None, None
    return wire, params.run_id, params.thread_id


def server_sent_events_stream(
    events: EventSource,
    *,
    heartbeat: float = DEFAULT_HEARTBEAT,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    dialect: Dialect = "auto",
    params: RunAgentInput | None = None,
) -> AsyncIterator[bytes]:
    """``data: <json>\\n\\n`` per event, byte-equal to TanStack's ``toServerSentEventsStream``.

    ``heartbeat`` seconds of silence produce a ``: ping`` comment (``0`` disables).
    ``event_ids=True`` writes ``id: 0``, ``id: 1``, ... before each ``data:``.
    ``dialect``: ``"tanstack-0.18"`` (the events as yielded, for the 0.10 client),
    ``"current"`` (TanStack 0.33 and AG-UI 1.0 clients) or ``"auto"``: chosen from
    ``params`` (the request) as ``chat_endpoint`` does, ``"tanstack-0.18"`` without it.
    """
    wire, run_id, thread_id = stream_dialect(dialect, params)
    return event_bytes(
        events,
        framing="sse",
        heartbeat=heartbeat,
        event_ids=event_ids,
        on_disconnect=on_disconnect,
        error_payload=error_payload,
        run_id=run_id,
        thread_id=thread_id,
        dialect=wire,
    )


def http_stream(
    events: EventSource,
    *,
    heartbeat: float = 0.0,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    dialect: Dialect = "auto",
    params: RunAgentInput | None = None,
) -> AsyncIterator[bytes]:
    """``<json>\\n`` per event (NDJSON), byte-equal to TanStack's ``toHttpStream``.

    Heartbeats are opt-in here: a ``{"type":"ping"}`` line is an event the 0.10
    client hands to ``onChunk`` (its processor ignores it). ``event_ids=True``
    wraps each event as ``{"id": "<n>", "chunk": {...}}``, which only resumable
    readers (chatconduit, TanStack after 0.10) understand. ``dialect`` and ``params``
    as for :func:`server_sent_events_stream`.
    """
    wire, run_id, thread_id = stream_dialect(dialect, params)
    return event_bytes(
        events,
        framing="ndjson",
        heartbeat=heartbeat,
        event_ids=event_ids,
        on_disconnect=on_disconnect,
        error_payload=error_payload,
        run_id=run_id,
        thread_id=thread_id,
        dialect=wire,
    )
