"""Agent events to response bytes: SSE or NDJSON, for any ASGI framework.

:func:`server_sent_events_stream` and :func:`http_stream` are async generators
of ``bytes``. Hand them to any streaming response; Starlette users can take the
ready-made responses in ``_responses``. What they add over a plain loop:

* every item is checked and normalised (:func:`~chatconduit._events.event_to_dict`; the
  plain content deltas agents send most by a hand check that gives the same dict,
  ``_events/_agent_fast``), so an agent yielding garbage is reported as a RUN_ERROR, not a
  broken stream;
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
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, cast

from pydantic import BaseModel

from .. import _json
from .._codec import NDJSON_HEARTBEAT, SSE_HEARTBEAT, Framing, encode_ndjson, encode_sse
from .._events import BaseEvent, event_to_dict
from .._events._agent_fast import fast_event_dict
from .._exceptions import AgentOutputError, MalformedEventError
from .._redact import redact_text
from .._run_input import RunAgentInput
from ._chunks import joined_chunks
from ._dialect import (
    Dialect,
    DialectConverter,
    WireDialect,
    check_dialect,
    choose_dialect,
    make_converter,
)
from ._errors import (
    ErrorPayloadMapper,
    RunErrorPayload,
    log_agent_failure,
    run_error_event,
)
from ._errors import run_error_payload as default_error_payload
from ._heartbeat import (
    HEARTBEAT,
    MAX_BATCH_ITEMS,
    aclose_quietly,
    heartbeat_batches,
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

EventSource: TypeAlias = AsyncIterable[BaseEvent | Mapping[str, Any] | BaseModel]
"""What an agent produces: AG-UI events, as camelCase dicts, as chatconduit's event models,
or as any pydantic model of an event (``ag_ui.core`` events, pydantic-ai's)."""
DisconnectHook: TypeAlias = Callable[[list[dict[str, Any]]], Awaitable[None] | None]
"""Called with the events produced so far when a stream is abandoned before the end."""

DEFAULT_HEARTBEAT = 15.0

# Hook tasks that outlived a cancelled stream; kept here so they are not garbage collected.
_background: set[asyncio.Task[None]] = set()


def encode_frame(framing: Framing, event: dict[str, Any], event_id: str | None = None) -> bytes:
    """One event in the chosen framing (``data: <json>\\n\\n`` or ``<json>\\n``)."""
    if framing == "sse":
        return encode_sse(event, id=event_id)
    return encode_ndjson(event, id=event_id)


def frame_payload(framing: Framing, payload: bytes, event_id: str | None = None) -> bytes:
    """Frame an already-encoded compact JSON ``payload`` (as a replay log stores it).

    Same bytes as :func:`encode_frame` for the same event: compact JSON has no raw
    CR/LF, so no line splitting is needed.
    """
    if framing == "sse":
        head = b"" if event_id is None else b"id: " + _one_line_id(event_id) + b"\n"
        return head + b"data: " + payload + b"\n\n"
    if event_id is None:
        return payload + b"\n"
    return b'{"id":' + _json.dumps_bytes(event_id) + b',"chunk":' + payload + b"}\n"


def _one_line_id(event_id: str) -> bytes:
    if "\n" in event_id or "\r" in event_id or "\x00" in event_id:
        raise ValueError(f"event id must be one line without NUL, got {event_id[:40]!r}")
    return event_id.encode("utf-8")


def check_heartbeat(heartbeat: float) -> None:
    """Refuse a negative or non-numeric interval when the stream is set up, not mid-stream."""
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float) or heartbeat < 0:
        raise ValueError(
            f"heartbeat must be a number of seconds >= 0 (0 disables), got {heartbeat!r}"
        )


def heartbeat_frame(framing: Framing) -> bytes:
    """An SSE comment (``: ping``), or the ``{"type":"ping"}`` line for NDJSON."""
    return SSE_HEARTBEAT if framing == "sse" else NDJSON_HEARTBEAT


def _normalize(item: object, index: int) -> dict[str, Any]:
    # The content deltas agents yield most, as plain dicts of strings: checked by hand,
    # no model built (same dict as event_to_dict's; anything unusual returns None).
    fast = fast_event_dict(item)
    if fast is not None:
        return fast
    if not isinstance(item, BaseEvent) and isinstance(item, BaseModel):
        # A foreign event model (``ag_ui.core``, pydantic-ai): its camelCase aliases are
        # the wire keys, ``None`` means "not set", and an enum ``type`` becomes its string.
        try:
            item = item.model_dump(mode="json", by_alias=True, exclude_none=True)
        except Exception as exc:  # a model pydantic cannot serialise: the agent's fault
            raise AgentOutputError(
                f"agent event #{index} ({type(item).__name__}) cannot be dumped: {exc}"
            ) from None
    if isinstance(item, BaseEvent | Mapping):
        try:
            return event_to_dict(item)
        except MalformedEventError as exc:  # no string "type", a field of the wrong type, ...
            raise AgentOutputError(
                f"agent event #{index} is not a valid AG-UI event: {exc}"
            ) from None
    raise AgentOutputError(
        f"agent event #{index} is a {type(item).__name__}, "
        "expected an AG-UI event model or a mapping with a string 'type'"
    )


class DialectStream:
    """An agent's events, normalised to wire dicts and rewritten into one dialect.

    An async iterator, so it fits anywhere an :data:`EventSource` does (the heartbeat
    pump, :class:`~chatconduit.server.DurableRuns`); :func:`guarded_events` recognises it
    and routes the RUN_ERROR it writes for a failed agent through the same converter,
    so that error is in the stream's dialect too. The source's own exceptions pass
    through unchanged; closing this closes the source.
    """

    def __init__(self, source: EventSource, converter: DialectConverter) -> None:
        self.converter = converter
        self._source = aiter(source)
        self._ready: deque[dict[str, Any]] = deque()
        self._index = 0
        self._ended = False

    def __aiter__(self) -> DialectStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            try:
                item = await anext(self._source)
            except StopAsyncIteration:
                self._ended = True
                self._ready.extend(self.converter.finish())
                continue
            event = _normalize(item, self._index)
            self._index += 1
            self._ready.extend(self.converter.convert(event))
        return self._ready.popleft()

    async def aclose(self) -> None:
        self._ended = True
        await aclose_quietly(self._source)


def dialect_events(
    events: EventSource,
    dialect: WireDialect,
    *,
    run_id: str | None = None,
    thread_id: str | None = None,
) -> DialectStream:
    """``events`` written in ``dialect``; ``run_id``/``thread_id`` are the request's."""
    return DialectStream(events, make_converter(dialect, run_id=run_id, thread_id=thread_id))


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


@dataclass
class _RunIds:
    """Ids of the run the agent announced (RUN_STARTED), so a RUN_ERROR names the same run."""

    run_id: str | None = None
    thread_id: str | None = None

    def note(self, event: dict[str, Any]) -> None:
        if event.get("type") == "RUN_STARTED":
            run_id, thread_id = event.get("runId"), event.get("threadId")
            self.run_id = run_id if isinstance(run_id, str) else self.run_id
            self.thread_id = thread_id if isinstance(thread_id, str) else self.thread_id


T = TypeVar("T")


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
    without heartbeats) the agent runs in the caller's task and every batch is one item.
    A heartbeat is a batch of its own (``[pulse]``)."""
    # A DialectStream hands over events already normalised and converted; anything else
    # is normalised here, one event at a time.
    converter = events.converter if isinstance(events, DialectStream) else None
    source = aiter(events)

    async def encoded() -> AsyncIterator[tuple[dict[str, Any], T]]:
        # Normalised and encoded where the agent runs (in the pump when batched): an event
        # that fails stops the agent right there, never a batch later.
        index = 0
        try:
            async for item in source:
                if converter is not None:
                    assert isinstance(item, dict)  # what a DialectStream yields
                    event = item
                else:
                    event = _normalize(item, index)
                yield event, transform(event, index)
                index += 1
        finally:
            await aclose_quietly(source)

    ticks = heartbeat > 0 and pulse is not None
    ticking: AsyncIterator[Any]
    if batched or ticks:
        size = MAX_BATCH_ITEMS if batched else 1  # 1: heartbeats, one item at a time
        ticking = heartbeat_batches(encoded(), heartbeat if ticks else None, max_items=size)
        many = True
    else:
        ticking, many = encoded(), False
    produced: list[dict[str, Any]] | None = [] if on_disconnect is not None else None
    ids = _RunIds(run_id, thread_id)
    count = 0
    complete = False
    try:
        try:
            async for got in ticking:
                if got is HEARTBEAT:
                    if pulse is not None:  # always true: heartbeats are only on with a pulse
                        yield [pulse]
                    continue
                out: list[T] = []
                pairs = cast("list[tuple[dict[str, Any], T]]", got if many else [got])
                for event, frame in pairs:
                    out.append(frame)
                    ids.note(event)
                    if produced is not None:
                        produced.append(event)
                count += len(out)
                yield out
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not raised_by_source(exc):
                raise  # the client went away (or the server stops): nobody to tell
            await aclose_quietly(ticking)  # stop the agent before telling the client
            log_agent_failure(exc, where="agent stream")
            payload = _client_payload(error_payload, exc)
            error = run_error_event(payload, run_id=ids.run_id, thread_id=ids.thread_id)
            finals: list[T] = []
            for final in converter.error(error) if converter is not None else [error]:
                finals.append(transform(final, count))
                count += 1
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

    def encode(event: dict[str, Any], index: int) -> bytes:
        return encode_frame(framing, event, str(index) if event_ids else None)

    return joined_chunks(
        guarded_batches(
            dialect_events(events, dialect, run_id=run_id, thread_id=thread_id),
            transform=encode,
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
