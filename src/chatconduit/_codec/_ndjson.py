"""Newline-delimited JSON: an incremental decoder and the encoder (reference §2.3, 6.1).

One JSON value per ``\\n``-terminated line; a trailing ``\\r`` is tolerated (JSON
whitespace) and blank or whitespace-only lines are skipped, as the reference's line
reader does. Only ``\\n`` ends a line: U+2028/U+2029/U+0085 inside JSON are data.

An item is either a bare event (``{"type": ...}``) or, as resumable servers write it,
an **envelope** ``{"id": "<offset>", "chunk": {...}}``: an object with a string ``id``,
an object ``chunk`` and no ``type``. The decoder unwraps envelopes and exposes the id.
A ``[DONE]`` line (not JSON; the 0.10 reference warns and skips it) is surfaced as an
item with ``done=True`` rather than treated as an error. :func:`encode_ndjson` writes a
line (or an envelope) exactly as TanStack 0.10 does; :data:`NDJSON_HEARTBEAT` is the
server's keep-alive line.

Limits and errors are those of :mod:`chatconduit._codec._sse`: a line over ``max_frame_bytes``
is a :class:`~chatconduit.FrameTooLargeError` (and is not buffered further); a line that
is not JSON is a :class:`~chatconduit.MalformedEventError` naming its line number; at end
of stream an unterminated last line is delivered when it is complete JSON (the reference
parses it) and is otherwise a :class:`~chatconduit.StreamTruncatedError`. Strict mode
raises in stream order (see :class:`~chatconduit._codec._sse.SSEDecoder`); ``lenient=True``
reports to ``on_error`` and skips the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _json
from .._events import BaseEvent
from .._exceptions import FrameTooLargeError, MalformedEventError, StreamTruncatedError
from ._framing import DONE, PING, LineDecoder, encode_payload, excerpt, is_json

__all__ = ["NDJSON_HEARTBEAT", "NDJSONDecoder", "NDJSONItem", "encode_ndjson", "unwrap_envelope"]


@dataclass(frozen=True, slots=True)
class NDJSONItem:
    """One decoded line: ``value`` is the JSON value (an envelope's ``chunk``), ``id`` the
    envelope's id (``None`` for a bare value), ``line`` its 1-based line number. ``done``
    marks a ``[DONE]`` line (``value`` is then ``None``)."""

    value: Any
    id: str | None = None
    line: int = 0
    done: bool = False


def unwrap_envelope(value: Any) -> tuple[Any, str | None]:
    """``({"id": i, "chunk": c})`` → ``(c, i)`` for an envelope; anything else → ``(value, None)``.

    An envelope is an object with a string ``id``, an object ``chunk`` and no ``type``
    (an event always has a ``type``, so an event that happens to carry ``id`` and ``chunk``
    keys is never mistaken for one).
    """
    if type(value) is dict and "type" not in value:
        env_id = value.get("id")
        chunk = value.get("chunk")
        if type(env_id) is str and type(chunk) is dict:
            return chunk, env_id
    return value, None


class NDJSONDecoder(LineDecoder):
    """Incremental, pure NDJSON decoder: bytes in, :class:`NDJSONItem` out.

    Its state (limit, BOM, unterminated line, line count, error reporting) is all
    :class:`~chatconduit._codec._framing.LineDecoder`'s; so are ``pending_error`` and ``check()``.
    """

    __slots__ = ()

    # --- public API --------------------------------------------------------------------

    def feed(self, data: bytes) -> list[NDJSONItem]:
        """Decode one read; return the items of the lines it completed."""
        lines, first = self.feed_lines(data)
        return self._items(lines, first)

    def finish(self) -> list[NDJSONItem]:
        """End of stream: deliver a complete unterminated last line, else StreamTruncatedError."""
        tail = self.finish_line()
        items = [] if tail is None else self._items([tail[0]], tail[1])
        self.check()  # nothing comes after finish(): an error found here is raised now
        return items

    # --- lines (the hot path used by EventDecoder) ------------------------------------

    def feed_lines(self, data: bytes) -> tuple[list[bytes], int]:
        """Split one read into complete lines: ``(lines, number of the first)``.

        Lines keep a trailing ``\\r`` and may be blank; JSON parsing tolerates both and the
        caller skips blank ones.
        """
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("NDJSONDecoder.feed() called after finish()")
        if not data:
            return [], 0
        if (
            data.find(b"\n") == len(data) - 1
            and self._started
            and not self._partial
            and not self._skip_line
            and len(data) <= self._max
        ):
            # A read holding exactly one whole line (the usual read of a live stream).
            self._line += 1
            return [data[:-1]], self._line
        if not self._started:
            data = self._strip_bom(data)
            if not data:
                return [], 0
        return self._split(data)

    def finish_line(self) -> tuple[bytes, int] | None:
        """End of stream: the unterminated last line, if it is complete JSON (or ``[DONE]``)."""
        if self._error is not None:
            raise self._error
        if self._finished:
            return None
        self._finished = True
        tail = self._head + b"".join(self._partial)
        self._head = b""
        self._partial = []
        self._partial_bytes = 0
        if self._skip_line or not tail.strip():
            return None
        line = self._line + 1
        if tail.rstrip(b"\r") == DONE or is_json(tail):
            return tail, line
        self._report(
            StreamTruncatedError(
                "NDJSON stream ended in the middle of a line", line=line, excerpt=excerpt(tail)
            )
        )
        return None

    # --- internals -------------------------------------------------------------------

    def _split(self, data: bytes) -> tuple[list[bytes], int]:
        if self._skip_line:
            cut = data.find(b"\n")
            if cut < 0:
                return [], 0
            self._skip_line = False
            self._line += 1
            data = data[cut + 1 :]
        lines = data.split(b"\n")
        rest = lines.pop()
        if not lines:
            self._partial.append(rest)
            self._partial_bytes += len(rest)
            if self._partial_bytes > self._max:
                self._oversized_partial()
            return [], 0
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial = []
        width = self._partial_bytes + len(data)
        self._partial_bytes = len(rest)
        if rest:
            self._partial.append(rest)
        first = self._line + 1
        self._line += len(lines)
        if width > self._max and max(map(len, lines)) > self._max:
            lines = self._drop_oversized(lines, first)
        if self._error is None and self._partial_bytes > self._max:
            self._oversized_partial()
        return lines, first

    def _drop_oversized(self, lines: list[bytes], first: int) -> list[bytes]:
        """Blank out too-long lines (lenient), or cut the batch before the first one (strict)."""
        kept = list(lines)
        for i, line in enumerate(lines):
            if len(line) > self._max:
                self._report(
                    FrameTooLargeError(
                        f"NDJSON line is {len(line)} bytes, over the {self._max}-byte limit",
                        line=first + i,
                        excerpt=excerpt(line),
                    )
                )
                if self._error is not None:
                    return kept[:i]
                kept[i] = b""  # blank lines are skipped; numbering stays right
        return kept

    def _oversized_partial(self) -> None:
        line = b"".join(self._partial)
        self._partial = []
        self._partial_bytes = 0
        self._skip_line = True
        self._report(
            FrameTooLargeError(
                f"NDJSON line grew over the {self._max}-byte limit",
                line=self._line + 1,
                excerpt=excerpt(line),
            )
        )

    def _items(self, lines: list[bytes], first: int) -> list[NDJSONItem]:
        out: list[NDJSONItem] = []
        for lineno, line in enumerate(lines, first):
            if not line:
                continue
            try:
                value = _json.loads(line)
            except ValueError as exc:
                stripped = line.strip()
                if not stripped:
                    continue
                if stripped == DONE:
                    out.append(NDJSONItem(None, None, lineno, True))
                    continue
                self._report(
                    MalformedEventError(
                        f"NDJSON line is not valid JSON ({exc})", line=lineno, excerpt=excerpt(line)
                    )
                )
                if self._error is not None:
                    break
                continue
            value, env_id = unwrap_envelope(value)
            out.append(NDJSONItem(value, env_id, lineno))
        if not out:
            self.check()
        return out


def encode_ndjson(
    event_or_dict: BaseEvent | Mapping[str, Any], /, *, id: str | None = None
) -> bytes:
    """One NDJSON line: ``<compact JSON>\\n``, exactly as TanStack 0.10 writes it; with ``id``,
    the resumable envelope ``{"id":<id>,"chunk":<JSON>}\\n``."""
    payload = encode_payload(event_or_dict)
    if payload.find(b"\n") >= 0 or payload.find(b"\r") >= 0:  # find: see encode_sse
        # Only possible as whitespace between JSON tokens (inside strings they are
        # escaped), so a space keeps the value and the framing.
        payload = payload.replace(b"\r", b" ").replace(b"\n", b" ")
    if id is None:
        return payload + b"\n"
    if not isinstance(id, str):
        raise TypeError(f"NDJSON envelope id must be a str, got {type(id).__name__}")
    return b'{"id":' + _json.dumps_bytes(id) + b',"chunk":' + payload + b"}\n"


NDJSON_HEARTBEAT = encode_ndjson({"type": PING})
"""The server's keep-alive during silence: ``{"type":"ping"}``, an event type no client
knows (the 0.10 processor ignores it, AG-UI clients skip it; our decoder skips pings)."""
