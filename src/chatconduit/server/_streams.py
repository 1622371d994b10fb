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
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeAlias, TypeVar

from pydantic import BaseModel

from .._codec import Framing
from .._events import BaseEvent, event_to_dict
from .._events._agent_fast import fast_event_dict
from .._exceptions import AgentOutputError, MalformedEventError
from .._redact import redact_text
from .._run_input import RunAgentInput
from ._chunks import encode_frame, frame_encoder, frame_payload, heartbeat_frame, joined_chunks
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

EventSource: TypeAlias = AsyncIterable[BaseEvent | Mapping[str, Any] | BaseModel]
"""What an agent produces: AG-UI events, as camelCase dicts, as chatconduit's event models,
or as any pydantic model of an event (``ag_ui.core`` events, pydantic-ai's)."""
DisconnectHook: TypeAlias = Callable[[list[dict[str, Any]]], Awaitable[None] | None]
"""Called with the events produced so far when a stream is abandoned before the end."""

DEFAULT_HEARTBEAT = 15.0

# Hook tasks that outlived a cancelled stream; kept here so they are not garbage collected.
_background: set[asyncio.Task[None]] = set()


def _normalize(item: object, index: int) -> dict[str, Any]:
    """The model path (``fast_event_dict`` is tried first, see :meth:`DialectStream.events_for`)."""
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

    An async iterator, so it fits anywhere an :data:`EventSource` does; the streams here
    (:func:`guarded_batches`) do not iterate it but drive its ``source`` themselves and
    call :meth:`events_for` on each item, a plain call where the agent runs, so the
    RUN_ERROR they write for a failed agent goes through the same ``converter`` (in the
    stream's dialect too). The source's own exceptions pass through unchanged; closing
    this closes the source.
    """

    def __init__(self, source: EventSource, converter: DialectConverter) -> None:
        self.converter = converter
        self.source: AsyncIterator[object] = aiter(source)
        self._ready: deque[dict[str, Any]] = deque()
        self._index = 0
        self._ended = False

    def events_for(self, item: object) -> list[dict[str, Any]]:
        """What the agent's next ``item`` is written as (none, one or several events)."""
        # The events agents yield most, as plain dicts of strings: checked by hand, no
        # model built (same dict as event_to_dict's; anything else gets None).
        event = fast_event_dict(item)
        if event is None:
            event = _normalize(item, self._index)
        self._index += 1
        return self.converter.convert(event)

    def __aiter__(self) -> DialectStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            try:
                item = await anext(self.source)
            except StopAsyncIteration:
                self._ended = True
                self._ready.extend(self.converter.finish())
                continue
            self._ready.extend(self.events_for(item))
        return self._ready.popleft()

    async def aclose(self) -> None:
        self._ended = True
        await aclose_quietly(self.source)


class _Verbatim:
    """The converter of a stream written as the agent yields it (no dialect)."""

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]


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
        """Take the ids of a RUN_STARTED (the caller checks the type, once per event)."""
        run_id, thread_id = event.get("runId"), event.get("threadId")
        self.run_id = run_id if isinstance(run_id, str) else self.run_id
        self.thread_id = thread_id if isinstance(thread_id, str) else self.thread_id


T = TypeVar("T")

_FINISH: Final = object()  # the item _Frames.push takes for "the agent has ended"


class _Frames(Generic[T]):
    """The one step between the agent and the pending batch, run where the agent runs.

    Each item the agent yields is normalised, converted into the stream's dialect and
    transformed (encoded) by plain calls before the agent is resumed, its frames
    appended to the batch in the making: no coroutine, generator or tuple per event
    (each was a hand-over on the profile), and a waiting batch holds bytes, not event
    dicts and tuples that the cyclic GC scans (and promotes) while they wait. The
    bookkeeping the RUN_ERROR and ``on_disconnect`` need is done here too.
    """

    __slots__ = ("count", "events", "produced", "run", "transform")

    def __init__(
        self,
        events: DialectStream,
        transform: Callable[[dict[str, Any], int], T],
        run: _RunIds,
        produced: list[dict[str, Any]] | None,
    ) -> None:
        self.events = events
        self.transform = transform
        self.run = run
        self.produced = produced
        self.count = 0  # frames made, the index of the next

    def push(self, pending: list[T], item: object) -> None:
        # One loop for the agent's items and for what is owed at its end (_FINISH), so
        # the per-event path is a single call deep.
        stream = self.events
        events = stream.events_for(item) if item is not _FINISH else stream.converter.finish()
        transform, produced = self.transform, self.produced
        for event in events:
            pending.append(transform(event, self.count))
            self.count += 1
            if event.get("type") == "RUN_STARTED":
                self.run.note(event)
            if produced is not None:
                # A copy: the hook keeps the events, and one may be the agent's own dict
                # (a delta passed through as is), which the agent may reuse.
                produced.append(dict(event))

    def end(self, pending: list[T]) -> None:
        self.push(pending, _FINISH)


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
    (normalised, converted, transformed) where the agent runs (:class:`_Frames`): an
    event that fails stops the agent right there, never a batch later."""
    stream = events if isinstance(events, DialectStream) else DialectStream(events, _Verbatim())
    produced: list[dict[str, Any]] | None = [] if on_disconnect is not None else None
    ids = _RunIds(run_id, thread_id)
    frames = _Frames(stream, transform, ids, produced)
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
