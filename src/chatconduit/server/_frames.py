"""An agent's items to frames, one item at a time, where the agent runs.

:class:`DialectStream` holds what a stream is written as: the agent's iterator and the
converter of the stream's dialect (``_dialect``). :class:`Frames` is the one synchronous
step the streams of ``_streams`` take per item: it checks and normalises the item (the
plain shapes by hand, ``_events/_agent_fast``; anything else by the model), converts it
and encodes the result, before the agent is resumed.

The token agents yield most, a plain content delta that the converter would pass on
unchanged, is recognised first, in :meth:`Frames.push` itself: the converter says which
deltas those are (``as_is``) and the item is written as it is, without the two calls
that would return it unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeAlias, TypeVar

from pydantic import BaseModel

from .._events import BaseEvent, event_to_dict
from .._events._agent_fast import fast_event_dict
from .._events._plain import DELTA_KEYS, PlainDeltas
from .._exceptions import AgentOutputError, MalformedEventError
from ._dialect import DialectConverter, WireDialect, make_converter
from ._heartbeat import Deferred, aclose_quietly, start

__all__ = ["DialectStream", "EventSource", "Frames", "RunIds", "dialect_events"]

EventSource: TypeAlias = AsyncIterable[BaseEvent | Mapping[str, Any] | BaseModel]
"""What an agent produces: AG-UI events, as camelCase dicts, as chatconduit's event models,
or as any pydantic model of an event (``ag_ui.core`` events, pydantic-ai's)."""


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

    An async iterator, so it fits anywhere an :data:`EventSource` does; the streams of
    ``_streams`` do not iterate it but drive its ``source`` themselves and
    call :meth:`events_for` on each item, a plain call where the agent runs, so the
    RUN_ERROR they write for a failed agent goes through the same ``converter`` (in the
    stream's dialect too). The source's own exceptions pass through unchanged; closing
    this closes the source.
    """

    def __init__(self, source: EventSource, converter: DialectConverter) -> None:
        self.converter = converter
        # A Deferred stays one: the pumps start it themselves (``_heartbeat.start``).
        self.source: AsyncIterable[object] = (
            source if isinstance(source, Deferred) else aiter(source)
        )
        self._ready: deque[dict[str, Any]] = deque()
        self.index = 0  # the agent's items taken so far: an error names an item by it
        self._ended = False

    def events_for(self, item: object) -> list[dict[str, Any]]:
        """What the agent's next ``item`` is written as (none, one or several events)."""
        # The events agents yield most, as plain dicts of strings: checked by hand, no
        # model built (same dict as event_to_dict's; anything else gets None).
        event = fast_event_dict(item)
        if event is None:
            event = _normalize(item, self.index)
        self.index += 1
        return self.converter.convert(event)

    def __aiter__(self) -> DialectStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            source = self.source
            if not isinstance(source, AsyncIterator):  # a Deferred, not started yet
                source = self.source = await start(source)
            try:
                item = await anext(source)
            except StopAsyncIteration:
                self._ended = True
                self._ready.extend(self.converter.finish())
                continue
            self._ready.extend(self.events_for(item))
        return self._ready.popleft()

    async def aclose(self) -> None:
        self._ended = True
        await aclose_quietly(self.source)


_EVERY_DELTA: PlainDeltas = {kind: (keys, None) for kind, keys in DELTA_KEYS.items()}


class _Verbatim:
    """The converter of a stream written as the agent yields it (no dialect)."""

    def __init__(self) -> None:
        self.as_is = _EVERY_DELTA

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]


def as_dialect_stream(events: EventSource) -> DialectStream:
    """``events`` as a :class:`DialectStream`: itself if it is one, else written as it comes."""
    return events if isinstance(events, DialectStream) else DialectStream(events, _Verbatim())


def dialect_events(
    events: EventSource,
    dialect: WireDialect,
    *,
    run_id: str | None = None,
    thread_id: str | None = None,
) -> DialectStream:
    """``events`` written in ``dialect``; ``run_id``/``thread_id`` are the request's."""
    return DialectStream(events, make_converter(dialect, run_id=run_id, thread_id=thread_id))


@dataclass
class RunIds:
    """Ids of the run the agent announced (RUN_STARTED), so a RUN_ERROR names the same run."""

    run_id: str | None = None
    thread_id: str | None = None

    def note(self, event: dict[str, Any]) -> None:
        """Take the ids of a RUN_STARTED (the caller checks the type, once per event)."""
        run_id, thread_id = event.get("runId"), event.get("threadId")
        self.run_id = run_id if isinstance(run_id, str) else self.run_id
        self.thread_id = thread_id if isinstance(thread_id, str) else self.thread_id


T = TypeVar("T")

_FINISH: Final = object()  # the item Frames.push takes for "the agent has ended"


class Frames(Generic[T]):
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
        run: RunIds,
        produced: list[dict[str, Any]] | None,
    ) -> None:
        self.events = events
        self.transform = transform
        self.run = run
        self.produced = produced
        self.count = 0  # frames made, the index of the next

    def push(self, pending: list[T], item: object) -> None:
        # The token: a dict of exactly a delta type's keys in order (``DELTA_KEYS``), all
        # of them and all values exact strings (what ``fast_event_dict`` returns as it
        # is), of an id the converter passes on unchanged (``as_is``). Checked inline and
        # written as it is: the two calls that would return it cost ~0.5 us a token.
        if type(item) is dict and len(item) == 3:
            kind = item.get("type")
            # Only a str is looked up: a list there would not even be a key.
            passing = self.events.converter.as_is.get(kind) if type(kind) is str else None
            if passing is not None:
                keys, ids = passing
                kind_key, id_key, delta_key = item
                if (
                    (kind_key, id_key, delta_key) == keys
                    and type(kind_key) is str
                    and type(id_key) is str
                    and type(delta_key) is str
                ):
                    ident = item[id_key]
                    if (
                        type(ident) is str
                        and type(item[delta_key]) is str
                        and (ids is None or ident in ids)
                    ):
                        self.events.index += 1
                        pending.append(self.transform(item, self.count))
                        self.count += 1
                        if self.produced is not None:
                            self.produced.append(dict(item))  # a copy, as below
                        return
        self.push_any(pending, item)

    def push_any(self, pending: list[T], item: object) -> None:
        """:meth:`push` without its shortcut: the path every item can take (tests compare
        the two)."""
        # One loop for the agent's items and for what is owed at its end (_FINISH).
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
        self.push_any(pending, _FINISH)
