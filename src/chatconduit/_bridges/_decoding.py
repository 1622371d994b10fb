"""``ChunkDecoder``: a response body of another protocol's JSON chunks, read as AG-UI events.

Both bridged protocols frame their chunks as Server-Sent Events (``data: <json>``, then
``data: [DONE]``). The framing is the project's own SSE decoder; each payload is parsed
as JSON and handed to a :class:`ChunkMapper`, whose event dicts become typed events.
It keeps :class:`~chatconduit._connection._content.StreamDecoder`'s contract, so the
HTTP machinery (requests, retries, watchdogs, error mapping) reads it as it reads AG-UI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from .._codec import DONE_TEXT, SSEDecoder
from .._events import Event, parse_event
from .._exceptions import MalformedEventError, ProtocolError

__all__ = ["ChunkDecoder", "ChunkMapper"]

_EXCERPT = 120


class ChunkMapper(Protocol):
    """One protocol's chunks → AG-UI event dicts, remembering what is open."""

    def chunk(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events one chunk stands for (none for a chunk that carries nothing)."""
        ...

    def end(self) -> list[dict[str, Any]]:
        """The events that close what is still open, at ``[DONE]`` or the end of the body."""
        ...


class ChunkDecoder:
    """Bytes of one response → ``(event, None)`` pairs (the bridged protocols have no ids)."""

    def __init__(self, mapper: ChunkMapper, *, what: str, max_frame_bytes: int) -> None:
        self._mapper = mapper
        self._what = what  # "Vercel UI message chunk", for errors
        self._sse = SSEDecoder(max_frame_bytes=max_frame_bytes)
        self._error: ProtocolError | None = None
        self._ended = False
        self.done = False

    @property
    def retry(self) -> int | None:
        return self._sse.retry

    @property
    def lines_read(self) -> int:
        return self._sse.lines_read

    def check(self) -> None:
        error = self._error or (None if self.done else self._sse.pending_error)
        if error is not None:
            raise error

    def iter_feed(self, data: bytes) -> Iterator[tuple[Event, str | None]]:
        if self._error is not None:
            raise self._error
        if self.done:
            return iter(())
        try:
            messages = self._sse.feed(data)
        except ProtocolError as exc:
            self._error = exc
            return iter(())
        return iter(self._events([message.data for message in messages]))

    def finish(self) -> list[tuple[Event, str | None]]:
        self.check()
        out: list[tuple[Event, str | None]] = []
        if not self.done:
            out = self._events([message.data for message in self._sse.finish()])
        if not self._ended:
            self._ended = True
            out += [(parse_event(event), None) for event in self._mapper.end()]
        return out

    def _events(self, payloads: list[str]) -> list[tuple[Event, str | None]]:
        out: list[tuple[Event, str | None]] = []
        for payload in payloads:
            if payload == DONE_TEXT:
                self.done = True
                self._ended = True
                out += [(parse_event(event), None) for event in self._mapper.end()]
                break
            if not payload.strip():
                continue
            try:
                chunk = json.loads(payload)
            except ValueError:
                self._error = MalformedEventError(
                    f"{self._what} is not valid JSON", excerpt=payload[:_EXCERPT]
                )
                break
            if not isinstance(chunk, Mapping):
                self._error = MalformedEventError(
                    f"{self._what} is not a JSON object", excerpt=payload[:_EXCERPT]
                )
                break
            out += [(parse_event(event), None) for event in self._mapper.chunk(chunk)]
        return out
