"""SSE, complete lines to events: the WHATWG fields, the event buffers, dispatch.

:class:`SSELineInterpreter` holds the state the WHATWG algorithm keeps between lines
(the data buffer, the event type, the last event id, the reconnection time) and
interprets complete lines (:meth:`~SSELineInterpreter._lines`), including the TanStack
leniencies that concern a line or an event: bare JSON lines, a bare ``[DONE]`` line, and
one event per ``data:`` line (:func:`split_payload`). It also bounds the joined data of
one event. Turning bytes into lines - line ends, the BOM, the per-line limit, the fast
path for plain events, end of stream - is :class:`~chatconduit._codec._sse.SSEDecoder`'s,
which extends this class; :mod:`chatconduit._codec._sse` states the rules.
"""

from __future__ import annotations

from .._exceptions import FrameTooLargeError
from ._framing import DEFAULT_MAX_FRAME_BYTES, DONE, ErrorHandler, LineDecoder, excerpt, is_json
from ._sse_frames import SSEFrame, SSERun

__all__ = ["SSELineInterpreter", "json_or_done", "split_payload"]


def json_or_done(line: bytes) -> bool:
    """True when ``line`` is one complete JSON value, or ``[DONE]``."""
    return line == DONE or is_json(line)


def split_payload(lines: list[bytes]) -> list[bytes]:
    """Join an event's data lines; when the joined text is not JSON but every non-blank
    line is (JSON or ``[DONE]``), the lines are the events (TanStack leniency)."""
    if len(lines) == 1:
        return lines
    joined = b"\n".join(lines)
    if is_json(joined):
        return [joined]
    parts = [line for line in lines if line.strip()]
    if parts and all(map(json_or_done, parts)):
        return parts
    return [joined]


class SSELineInterpreter(LineDecoder):
    """The WHATWG event-stream state, and the loop over complete lines that updates it.

    Dispatched events are appended to the caller's list as :data:`SSEFrame` tuples. The
    byte-level state (unterminated line, BOM, limit, errors) is
    :class:`~chatconduit._codec._framing.LineDecoder`'s.
    """

    __slots__ = (
        "_data",
        "_data_bytes",
        "_data_counted",
        "_data_line",
        "_event",
        "_id",
        "_last_event_id",
        "_retry",
        "_skip_event",
    )

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        lenient: bool = False,
        on_error: ErrorHandler | None = None,
    ) -> None:
        super().__init__(max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error)
        self._skip_event = False  # dropping lines up to the next blank line
        # WHATWG buffers.
        self._data: list[bytes] = []
        self._data_line = 0
        self._data_bytes = 0  # size of _data[:_data_counted], for the limit
        self._data_counted = 0
        self._event: bytes | None = None
        self._id: str | None = None  # the last event ID buffer
        self._last_event_id: str | None = None  # committed at dispatch
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id of the stream (set at each dispatch; send it as ``Last-Event-ID``)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for, in milliseconds, if any."""
        return self._retry

    def _lines(self, lines: list[bytes], first: int, out: list[SSEFrame | SSERun]) -> None:
        """The WHATWG line loop over complete lines; appends dispatched frames to ``out``."""
        if self._skip_event:
            try:
                blank = lines.index(b"")
            except ValueError:
                return
            self._skip_event = False
            first += blank + 1
            lines = lines[blank + 1 :]
        # Decoder state in locals for the loop; written back at the end.
        data = self._data
        event = self._event
        last_id = self._id
        committed = self._last_event_id
        retry = self._retry
        data_line = self._data_line
        lineno = first - 1
        for line in lines:
            lineno += 1
            if not line:  # blank line: dispatch
                if data:
                    if len(data) == 1:
                        out.append((data[0], event, last_id, retry, data_line))
                    else:
                        self._dispatch_multi(data, event, last_id, retry, data_line, out)
                        if self._error is not None:
                            return
                        self._data_bytes = self._data_counted = 0
                    data.clear()
                event = None
                committed = last_id
            elif line[:6] == b"data: ":
                if not data:
                    data_line = lineno
                data.append(line[6:])
            elif line[:4] == b"id: ":
                value = line[4:]
                if b"\x00" not in value:
                    last_id = value.decode("utf-8", "replace")
            elif line[0] == 0x7B:  # "{": bare JSON (TanStack leniency)
                out.append((line, None, last_id, retry, lineno))
                committed = last_id
            elif line[0] != 0x3A:  # not a comment: a general field line
                colon = line.find(b":")
                if colon < 0:
                    name, value = line, b""
                else:
                    name, value = line[:colon], line[colon + 1 :]
                    if value[:1] == b" ":
                        value = value[1:]
                if name == b"data":
                    if not data:
                        data_line = lineno
                    data.append(value)
                elif name == b"event":
                    event = value or None
                elif name == b"id":
                    if b"\x00" not in value:
                        last_id = value.decode("utf-8", "replace")
                elif name == b"retry":
                    if value.isdigit() and len(value) <= 15:  # int() refuses huge ones
                        retry = int(value)
                elif line == DONE:  # a bare [DONE] line (TanStack leniency)
                    out.append((DONE, None, last_id, retry, lineno))
                # any other field is ignored (WHATWG)
        self._event = event
        self._id = last_id
        self._last_event_id = committed
        self._retry = retry
        self._data_line = data_line

    def _dispatch_multi(
        self,
        data: list[bytes],
        event: bytes | None,
        last_id: str | None,
        retry: int | None,
        data_line: int,
        out: list[SSEFrame | SSERun],
    ) -> None:
        size = sum(map(len, data)) + len(data) - 1
        if size > self._max:
            self._report(
                FrameTooLargeError(
                    f"SSE event data is {size} bytes, over the {self._max}-byte limit",
                    line=data_line,
                    excerpt=excerpt(data[0]),
                )
            )
            return
        for payload in split_payload(data):
            out.append((payload, event, last_id, retry, data_line))

    def _check_data_size(self) -> None:
        """Bound the data of an event that spans reads (multi-line, no blank line yet)."""
        data = self._data
        for i in range(self._data_counted, len(data)):
            self._data_bytes += len(data[i]) + 1
        self._data_counted = len(data)
        if self._data_bytes - 1 > self._max:  # the joined size: one LF between lines
            first = data[0]
            self._reset_event()
            self._skip_event = True
            self._report(
                FrameTooLargeError(
                    f"SSE event data grew over the {self._max}-byte limit",
                    line=self._data_line,
                    excerpt=excerpt(first),
                )
            )

    def _reset_event(self) -> None:
        self._data = []
        self._data_bytes = self._data_counted = 0
        self._event = None

    def _drop_buffers(self) -> None:
        super()._drop_buffers()
        self._reset_event()
