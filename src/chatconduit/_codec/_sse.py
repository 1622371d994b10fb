"""Server-Sent Events: an incremental WHATWG decoder with the TanStack 0.10 leniencies; encoders.

Decoding follows the WHATWG "event stream interpretation" algorithm
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

* lines end with CRLF, LF or a lone CR (also when the CR and the LF arrive in different
  reads); nothing else ends a line, so U+2028, U+2029 and U+0085 inside JSON stay put
  (never ``str.splitlines()``);
* a leading UTF-8 BOM is dropped once;
* ``field: value`` with one optional space after the colon; a line without a colon is a
  field with an empty value; lines starting with ``:`` are comments; unknown fields are
  ignored; ``data`` lines of one event are joined with ``\\n``; a blank line dispatches;
  an event with no ``data`` is not dispatched;
* ``event`` names the event (``"message"`` when absent or empty); ``id`` sets the last
  event id, which persists across events until changed and is ignored when it contains
  NUL; ``retry`` (ASCII digits only) sets the reconnection time.

The decoder works on bytes: it only ever splits at ``\\n``/``\\r``, which can never occur
inside a multi-byte UTF-8 sequence, so a character split across two reads is simply
joined again, and each payload is decoded exactly once (by the JSON parser, or when an
:class:`SSEMessage` is built). Invalid UTF-8 becomes U+FFFD, as the reference's
``TextDecoder`` does.

TanStack 0.10 leniencies (SPEC 2.2), kept so that everything the reference reads is read:

* **Bare JSON lines.** A line starting with ``{`` is not a field (WHATWG would ignore it)
  but an event of its own, dispatched at once with the id in force. The 0.10 client reads
  NDJSON through its SSE adapter this way. Lines with leading blanks are still ignored.
* **[DONE].** A ``data: [DONE]`` payload (or a bare ``[DONE]`` line) is surfaced, not
  parsed: :attr:`SSEMessage.is_done` is true. The caller decides whether to stop.
* **One event per data line.** The 0.10 client treats every ``data:`` line as its own
  event, so a server that writes ``data: {..}\\ndata: {..}\\n\\n`` works with it. We join
  the lines as WHATWG says; only when the joined text is *not* valid JSON but every
  non-blank line is (JSON or ``[DONE]``), the lines are dispatched as separate events,
  in order. A JSON value spread over several ``data:`` lines (which the reference loses)
  is one event.

Limits and errors (all :class:`~chatconduit.ProtocolError` subclasses, naming the
1-based line where the offending line or event starts):

* a line, or the joined data of one event, longer than ``max_frame_bytes`` is a
  :class:`~chatconduit.FrameTooLargeError`; nothing more of it is buffered;
* at end of stream (:meth:`SSEDecoder.finish`) unterminated input is delivered when it
  completes an event whose data is valid JSON (or ``[DONE]``), as the reference does; an
  unterminated comment is ignored; anything else left over - a partial field line, or
  ``data`` lines without their blank line that are not valid JSON - is a
  :class:`~chatconduit.StreamTruncatedError`, never a silent drop. Complete ``id``/
  ``event``/``retry`` lines with no data and no blank line are discarded (WHATWG), since
  nothing is lost.

Strict mode (the default) stops at the first error. Errors are raised in stream order:
events decoded before the error in the same :meth:`~SSEDecoder.feed` are returned
first, and the error is raised by the next call (or at once, when nothing precedes it;
:meth:`~SSEDecoder.check` raises it immediately; :meth:`~SSEDecoder.finish` always
raises it). After an error the decoder refuses more input. With ``lenient=True`` the
error is passed to ``on_error`` (default: a warning on the ``chatconduit`` logger), the
offending line or event is skipped, and decoding goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import TypeAlias, cast

from .._exceptions import FrameTooLargeError, StreamTruncatedError

# Shared with _ndjson (and re-exported: callers import them from here).
from ._framing import DEFAULT_MAX_FRAME_BYTES as DEFAULT_MAX_FRAME_BYTES
from ._framing import DONE as _DONE
from ._framing import ErrorHandler as ErrorHandler
from ._framing import LineDecoder
from ._framing import encode_payload as encode_payload
from ._framing import excerpt as excerpt
from ._framing import is_json as is_json
from ._framing import log_protocol_error as log_protocol_error
from ._sse_encode import encode_sse as encode_sse
from ._sse_encode import encode_sse_comment as encode_sse_comment

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DONE_SENTINEL",
    "ErrorHandler",
    "SSEDecoder",
    "SSEMessage",
    "SSERun",
    "encode_sse",
    "encode_sse_comment",
]

DONE_SENTINEL = "[DONE]"
"""The legacy end-of-stream payload some servers send; TanStack 0.10 skips it with a warning."""

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
        return self.data == DONE_SENTINEL


def _json_or_done(line: bytes) -> bool:
    return line == _DONE or is_json(line)


class SSEDecoder(LineDecoder):
    """Incremental, pure (no I/O) SSE decoder: bytes in, :class:`SSEMessage` out.

    ``feed()`` as many reads as arrive, then ``finish()`` once at end of stream. See the
    module docstring for the rules, the leniencies and the error behaviour; the state
    shared with the NDJSON decoder (limit, BOM, unterminated line, error reporting) is
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
        "_pending_cr",
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
        # Byte-level state (beyond LineDecoder's).
        self._pending_cr = False  # the last read ended with CR: drop a leading LF next
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

    # --- public API (also pending_error and check(), from LineDecoder) ------------------

    @property
    def last_event_id(self) -> str | None:
        """The last event id of the stream (set at each dispatch; send it as ``Last-Event-ID``)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for, in milliseconds, if any."""
        return self._retry

    def feed(self, data: bytes) -> list[SSEMessage]:
        """Decode one read; return the events it completed."""
        return self._messages(self.feed_raw(data))

    def finish(self) -> list[SSEMessage]:
        """End of stream: deliver a complete trailing event, or raise StreamTruncatedError.

        Unlike :meth:`feed`, an error found here is raised at once even if the same call
        completed events (there is no later call to raise it from); such events can only
        be fragments of the same broken tail.
        """
        messages = self._messages(self.finish_raw())
        self.check()
        return messages

    # --- raw output (the hot path used by _decode) -------------------------------------

    def feed_raw(self, data: bytes) -> list[SSEFrame | SSERun]:
        """Like :meth:`feed`, returning :data:`SSEFrame` tuples and :class:`SSERun` batches."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("SSEDecoder.feed() called after finish()")
        if not data:
            return []
        return self._feed(data)

    def finish_raw(self) -> list[SSEFrame | SSERun]:
        """Like :meth:`finish`, returning raw output."""
        if self._error is not None:
            raise self._error
        if self._finished:
            return []
        self._finished = True
        out: list[SSEFrame | SSERun] = []
        if self._head:  # a stream of one or two bytes that looked like a BOM's start
            head, self._head, self._started = self._head, b"", True
            out = self._feed(head)
        tail = b"".join(self._partial)
        self._partial = []
        self._partial_bytes = 0
        if self._skip_line or self._skip_event or self._error is not None:
            return out  # the event being dropped was reported already
        tail_line = self._line + 1
        if tail:
            if tail[0] == 0x7B or tail == _DONE:  # a bare JSON line, or a bare [DONE]
                if not _json_or_done(tail):
                    return self._truncated(out, tail, tail_line)
                out.append((tail, None, self._id, self._retry, tail_line))
                self._last_event_id = self._id
            elif tail[0] != 0x3A:  # not a comment: a field line, maybe cut short
                had = len(self._data)
                self._lines([tail], tail_line, out)
                if len(self._data) == had:  # not a data line: we cannot tell it is whole
                    return self._truncated(out, tail, tail_line)
        if self._data:
            lines, self._data = self._data, []
            payloads = _split_payload(lines)
            if not all(map(_json_or_done, payloads)):
                return self._truncated(out, b"\n".join(lines), self._data_line)
            for payload in payloads:
                out.append((payload, self._event, self._id, self._retry, self._data_line))
            self._last_event_id = self._id
        return out

    # --- internals -------------------------------------------------------------------

    def _messages(self, raw: list[SSEFrame | SSERun]) -> list[SSEMessage]:
        if not raw:
            self.check()
            return []
        out: list[SSEMessage] = []
        for item in raw:
            if type(item) is SSERun:
                retry = item.retry
                out.extend(
                    SSEMessage(p.decode("utf-8", "replace"), "message", i, retry)
                    for p, i in zip(item.payloads, item.event_ids(), strict=True)
                )
            else:
                data, event, last_id, retry, _ = cast(SSEFrame, item)
                name = event.decode("utf-8", "replace") if event else "message"
                out.append(SSEMessage(data.decode("utf-8", "replace"), name, last_id, retry))
        return out

    def _feed(self, data: bytes) -> list[SSEFrame | SSERun]:
        if not self._started:
            data = self._strip_bom(data)
            if not data:
                return []
        if self._pending_cr:
            self._pending_cr = False
            if data[0] == 0x0A:  # the LF of a CRLF split across reads
                data = data[1:]
                if not data:
                    return []
        if b"\r" in data:
            self._pending_cr = data[-1] == 0x0D
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._skip_line:
            cut = data.find(b"\n")
            if cut < 0:
                return []
            self._skip_line = False
            self._line += 1
            data = data[cut + 1 :]
            if not data:
                return []

        if (
            data[:6] == b"data: "
            and data.find(b"\n") == len(data) - 2
            and data[-1] == 0x0A
            and not self._partial
            and not self._data
            and self._event is None
            and not self._skip_event
            and len(data) <= self._max
        ):
            # A read holding exactly one plain event (the usual read of a live stream).
            self._line += 2
            self._last_event_id = self._id
            return [(data[6:-2], None, self._id, self._retry, self._line - 1)]

        end = data.rfind(b"\n")
        if end < 0:  # no line end in this read
            self._partial.append(data)
            self._partial_bytes += len(data)
            if self._partial_bytes > self._max:
                self._oversized(b"".join(self._partial), self._line + 1)
            return []
        rest = data[end + 1 :]
        if self._partial:
            self._partial.append(data[: end + 1])
            text = b"".join(self._partial)
            self._partial = []
        else:
            text = data[: end + 1] if rest else data
        self._partial_bytes = len(rest)
        if rest:
            self._partial.append(rest)

        out: list[SSEFrame | SSERun] = []
        first = self._line + 1
        if len(text) > self._max:
            lines = text[:-1].split(b"\n")
            self._line += len(lines)
            if max(map(len, lines)) > self._max:
                self._feed_with_oversized_lines(lines, first, out)
            else:
                self._lines(lines, first, out)
        else:
            self._line += self._text(text, first, out)
        if self._error is None:
            if self._partial_bytes > self._max:
                self._oversized(b"".join(self._partial), self._line + 1)
            elif len(self._data) > 1:
                self._check_data_size()
        return out

    def _text(self, text: bytes, first: int, out: list[SSEFrame | SSERun]) -> int:
        """Decode complete lines (``text`` ends with LF); return how many there were.

        An event left open by the previous read is finished by the general loop; then,
        while ``text`` starts with plain events (see :meth:`_run`), they are taken in
        batches without a Python step per line; whatever is left goes through
        :meth:`_lines`.
        """
        line = first
        if self._data or self._event is not None or self._skip_event:
            # Finish the event in progress with the general loop, up to its blank line.
            if text[0] == 0x0A:
                cut = 1
            else:
                blank = text.find(b"\n\n")
                cut = len(text) if blank < 0 else blank + 2
            head = text[: cut - 1].split(b"\n")
            self._lines(head, line, out)
            line += len(head)
            if cut == len(text) or self._error is not None:
                return line - first
            text = text[cut:]
        while text:
            run = self._run(text, line, out)
            if run is None:  # not (or no longer) the plain framing: the general loop
                lines = text[:-1].split(b"\n")
                self._lines(lines, line, out)
                return line + len(lines) - first
            consumed, text = run
            line += consumed
        return line - first

    def _run(
        self, text: bytes, line: int, out: list[SSEFrame | SSERun]
    ) -> tuple[int, bytes] | None:
        """The fast path of :meth:`_text`: decode the :class:`SSERun` that ``text`` starts
        with; return the number of lines it took and the rest of ``text``, or ``None``
        (having done nothing) when ``text`` does not start with a run.

        Splitting at ``"\\n\\ndata: "`` (or ``"\\n\\nid: "``) yields the events
        themselves. That is the whole truth only if no piece holds a stray LF (for
        ``id:`` runs: exactly one, before its ``data:`` line), which one ``memchr`` over
        the joined pieces checks. The last piece ends at its blank line.
        """
        with_ids = text.startswith(b"id: ")
        if not with_ids and not text.startswith(b"data: "):
            return None
        sep = b"\n\nid: " if with_ids else b"\n\ndata: "
        pieces = text.split(sep)
        last = pieces[-1]
        end = last.find(b"\n\n")
        if end >= 0:
            pieces[-1] = last[:end]
            tail = last[end + 2 :]
        elif len(pieces) > 1:  # the last block has no blank line yet: it is the tail
            pieces.pop()
            tail = sep[2:] + last
        else:
            return None
        count = len(pieces)
        if with_ids:
            pieces[0] = pieces[0][4:]
            # Each piece must be exactly "<id>\ndata: <payload>": no piece without the
            # data line, no other LF (checked once over all ids and all payloads).
            parts = map(bytes.partition, pieces, repeat(b"\ndata: "))
            raw_ids, seps, found = zip(*parts, strict=True)
            if not all(seps):
                return None
            payloads = list(found)
            joined_ids = b"".join(raw_ids)
            if b"\n" in joined_ids or b"\n" in b"".join(payloads) or b"\x00" in joined_ids:
                return None  # (an id with NUL is ignored: leave that to the general loop)
            ids = b"\n".join(raw_ids).decode("utf-8", "replace").split("\n")
            out.append(SSERun(payloads, line, ids[-1], self._retry, ids))
            self._id = self._last_event_id = ids[-1]
            consumed = 3 * count
        else:
            pieces[0] = pieces[0][6:]
            if b"\n" in b"".join(pieces):
                return None
            out.append(SSERun(pieces, line, self._id, self._retry))
            self._last_event_id = self._id
            consumed = 2 * count
        return consumed, tail

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
                elif line == _DONE:  # a bare [DONE] line (TanStack leniency)
                    out.append((_DONE, None, last_id, retry, lineno))
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
        for payload in _split_payload(data):
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

    def _feed_with_oversized_lines(
        self, lines: list[bytes], first: int, out: list[SSEFrame | SSERun]
    ) -> None:
        """Slow path for a read bigger than the limit: handle each too-long line as an error."""
        start = 0
        for i, line in enumerate(lines):
            if len(line) <= self._max:
                continue
            self._lines(lines[start:i], first + start, out)
            if self._error is not None:
                return
            is_event_line = line[0] != 0x7B
            if is_event_line:
                self._reset_event()
            self._report(
                FrameTooLargeError(
                    f"SSE line is {len(line)} bytes, over the {self._max}-byte limit",
                    line=first + i,
                    excerpt=excerpt(line),
                )
            )
            if self._error is not None:
                return
            self._skip_event = self._skip_event or is_event_line
            start = i + 1
        self._lines(lines[start:], first + start, out)

    def _oversized(self, line: bytes, lineno: int) -> None:
        """The unterminated current line passed the limit: drop it and skip to its end."""
        self._partial = []
        self._partial_bytes = 0
        if line[:1] != b"{":
            self._reset_event()
            self._skip_event = True
        self._skip_line = True
        self._report(
            FrameTooLargeError(
                f"SSE line grew over the {self._max}-byte limit",
                line=lineno,
                excerpt=excerpt(line),
            )
        )

    def _reset_event(self) -> None:
        self._data = []
        self._data_bytes = self._data_counted = 0
        self._event = None

    def _truncated(
        self, out: list[SSEFrame | SSERun], data: bytes, line: int
    ) -> list[SSEFrame | SSERun]:
        self._report(
            StreamTruncatedError(
                "SSE stream ended in the middle of an event", line=line, excerpt=excerpt(data)
            )
        )
        return out

    def _drop_buffers(self) -> None:
        super()._drop_buffers()
        self._reset_event()


def _split_payload(lines: list[bytes]) -> list[bytes]:
    """Join an event's data lines; apply the one-event-per-line leniency (module docstring)."""
    if len(lines) == 1:
        return lines
    joined = b"\n".join(lines)
    if is_json(joined):
        return [joined]
    parts = [line for line in lines if line.strip()]
    if parts and all(map(_json_or_done, parts)):
        return parts
    return [joined]
