"""What the transports watch in a body besides its events: whether one is in progress.

The idle watchdog restarts with every byte, so a server that trickles one byte
every half second keeps a stream open forever without ever completing an event.
``event_timeout`` bounds the time from the first byte of an event to its end; for
that the transport must know, after each read, whether an event has begun and not
yet ended. :class:`EventProgress` tells, from the bytes alone, without a second
decoder: keep-alives (SSE comments, blank lines, NDJSON blank lines) between
events are not an event in progress, so a server that sends heartbeats while its
model thinks for minutes is not cut off by it.

:func:`deep_nesting_line` finds, after the fact, the line whose JSON nests too
deeply for Python's parser (see ``ResponseReader.events``).
"""

from __future__ import annotations

import re
from itertools import accumulate

from .._codec import Framing

__all__ = ["EventProgress", "deep_nesting_line"]


class EventProgress:
    """After each read of a body: has an event begun that has not ended yet?

    SSE: an event is in progress from its first ``data`` line to the blank line that
    dispatches it; an unterminated line of any kind is in progress too (a comment
    arrives whole in practice). Lines that carry no data (``id:``, ``event:``,
    ``retry:``, comments) do not start one: they are what servers send while idle.
    A bare JSON line is an event of its own (the reference reads NDJSON that way).
    NDJSON: an unterminated line is an event in progress.
    """

    __slots__ = ("_data_open", "_line_start", "_pending_cr", "_sse")

    def __init__(self, framing: Framing) -> None:
        self._sse = framing == "sse"
        self._pending_cr = False  # the last read ended with CR: a leading LF is its CRLF
        self._data_open = False  # an SSE data line since the last blank line
        self._line_start = b""  # the first bytes of the unterminated line, if any

    def feed(self, data: bytes) -> tuple[bool, bool]:
        """``(in_progress, boundary)`` after ``data``: whether an event is unfinished
        at its end, and whether an event ended (or a line did, in NDJSON) within it."""
        if not self._sse:
            if not data:
                return bool(self._line_start), False
            self._line_start = b"" if data[-1] == 0x0A else b"x"
            return bool(self._line_start), b"\n" in data
        if self._pending_cr and data[:1] == b"\n":
            data = data[1:]
        if not data:
            return self._data_open or bool(self._line_start), False
        self._pending_cr = data[-1] == 0x0D
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # The text from the start of the current line: blank lines are then "\n\n" or
        # a leading "\n", and every line in it is whole from its start.
        text = self._line_start + data if self._line_start else data
        boundary = False
        cut = text.rfind(b"\n\n")
        if cut >= 0:
            text = text[cut + 2 :]
            boundary = True
        elif text[:1] == b"\n":
            text = text[1:]
            boundary = True
        if boundary:
            self._data_open = False
        end = text.rfind(b"\n")
        if end >= 0:
            whole = text[:end]
            if whole.startswith(b"data") or b"\ndata" in whole:
                self._data_open = True
            if whole.startswith(b"{") or b"\n{" in whole:
                boundary = True  # a bare JSON line is dispatched by its line end
            text = text[end + 1 :]
        self._line_start = text[:5]  # enough to tell a data line when it ends
        return self._data_open or bool(self._line_start), boundary


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_DEPTH_STEP = tuple(1 if byte in b"[{" else -1 if byte in b"]}" else 0 for byte in range(256))


def deep_nesting_line(data: bytes, first_line: int, limit: int = 256) -> int | None:
    """The number of the first line of ``data`` whose brackets open (or, for a line
    that began in an earlier read, close) more than ``limit`` levels, strings aside;
    ``None`` when there is none. For error messages only: it scans in Python."""
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    for offset, line in enumerate(text.split(b"\n")):
        if sum(line.count(b) for b in (b"[", b"{", b"]", b"}")) < limit:
            continue
        bare = _STRING.sub(b'""', line)  # brackets inside strings do not nest
        deepest = max(accumulate(map(_DEPTH_STEP.__getitem__, bare)), default=0)
        shallowest = min(accumulate(map(_DEPTH_STEP.__getitem__, bare)), default=0)
        if deepest >= limit or -shallowest >= limit:
            return first_line + offset
    return None
