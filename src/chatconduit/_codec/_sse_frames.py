"""What the SSE decoder dispatches: raw frames and runs (the hot path), and SSEMessage.

:class:`~chatconduit._codec._sse.SSEDecoder` produces the raw forms - an
:data:`SSEFrame` tuple for one event, an :class:`SSERun` for a batch of plain events -
which :class:`~chatconduit._codec._event_decoder.EventDecoder` consumes without an
object per event; the decoder's public ``feed()`` wraps them in :class:`SSEMessage`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import TypeAlias

from ._framing import DONE_TEXT

__all__ = ["SSEFrame", "SSEMessage", "SSERun"]

# A raw dispatched event: (data, event type or None, last event id in force, retry in
# force, 1-based line where its data starts). Tuples keep the hot path cheap; the
# public API wraps them in SSEMessage.
SSEFrame: TypeAlias = tuple[bytes, bytes | None, str | None, int | None, int]


class SSERun:
    """Consecutive events in the plain framing servers write, decoded in one batch.

    Each event is ``data: <payload>`` + blank line (TanStack), or ``id: <id>`` + ``data:
    <payload>`` + blank line (resumable servers). The event type is ``message``;
    ``ids`` holds each event's id (``None`` when the events carry no ``id:`` line, and
    then ``id`` is the one in force for all); ``retry`` is the one in force; payload
    ``i`` starts on line ``lines()[i]``.
    """

    __slots__ = ("first_line", "id", "ids", "payloads", "retry")

    def __init__(
        self,
        payloads: list[bytes],
        first_line: int,
        id: str | None,
        retry: int | None,
        ids: list[str] | None = None,
    ) -> None:
        self.payloads = payloads
        self.first_line = first_line
        self.id = id
        self.ids = ids
        self.retry = retry

    def event_ids(self) -> Iterable[str | None]:
        """The id of each event, in order."""
        return self.ids if self.ids is not None else repeat(self.id, len(self.payloads))

    def lines(self) -> range:
        """The line number where each payload's ``data:`` line is."""
        if self.ids is None:
            return range(self.first_line, self.first_line + 2 * len(self.payloads), 2)
        return range(self.first_line + 1, self.first_line + 3 * len(self.payloads), 3)


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched SSE event.

    ``id`` is the last event id *in force* when the event was dispatched: it persists
    across events until the server sends another ``id:`` line, as WHATWG says (``None``
    until any id was seen; ``""`` after an empty ``id:`` line, which resets it).
    ``retry`` is the reconnection time in force, in milliseconds, likewise.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    @property
    def is_done(self) -> bool:
        """True for the legacy ``[DONE]`` sentinel."""
        return self.data == DONE_TEXT
