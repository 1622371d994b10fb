"""Server-Sent Events: an incremental WHATWG decoder with the TanStack 0.10 leniencies; encoders.

Decoding follows the WHATWG "event stream interpretation" algorithm
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
:class:`SSEDecoder` turns bytes into lines here; what a line means is
:mod:`~chatconduit._codec._sse_lines`' (its base class), and what it dispatches is in
:mod:`~chatconduit._codec._sse_frames`.

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

TanStack 0.10 leniencies (reference §2.2), kept so that everything the reference reads is read:

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

The encoders (:func:`encode_sse`, :func:`encode_sse_comment`, and the heartbeat
:data:`SSE_HEARTBEAT`) write exactly what TanStack 0.10 writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from typing import Any, cast

from .._events import BaseEvent
from .._exceptions import FrameTooLargeError, StreamTruncatedError
from ._framing import DEFAULT_MAX_FRAME_BYTES, DONE, PING, ErrorHandler, encode_payload, excerpt
from ._sse_frames import SSEFrame, SSEMessage, SSERun
from ._sse_lines import SSELineInterpreter, json_or_done, split_payload

__all__ = ["SSE_HEARTBEAT", "SSEDecoder", "encode_sse", "encode_sse_comment"]


class SSEDecoder(SSELineInterpreter):
    """Incremental, pure (no I/O) SSE decoder: bytes in, :class:`SSEMessage` out.

    ``feed()`` as many reads as arrive, then ``finish()`` once at end of stream. See the
    module docstring for the rules, the leniencies and the error behaviour. The event
    state and the line loop are :class:`~chatconduit._codec._sse_lines.SSELineInterpreter`'s;
    the state shared with the NDJSON decoder (limit, BOM, unterminated line, error
    reporting) is :class:`~chatconduit._codec._framing.LineDecoder`'s.
    """

    __slots__ = ("_pending_cr",)

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        lenient: bool = False,
        on_error: ErrorHandler | None = None,
    ) -> None:
        super().__init__(max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error)
        self._pending_cr = False  # the last read ended with CR: drop a leading LF next

    # --- public API (also last_event_id, retry, pending_error, check(): inherited) ---

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

    # --- raw output (the hot path used by EventDecoder) ------------------------------

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
            if tail[0] == 0x7B or tail == DONE:  # a bare JSON line, or a bare [DONE]
                if not json_or_done(tail):
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
            payloads = split_payload(lines)
            if not all(map(json_or_done, payloads)):
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

    def _truncated(
        self, out: list[SSEFrame | SSERun], data: bytes, line: int
    ) -> list[SSEFrame | SSERun]:
        self._report(
            StreamTruncatedError(
                "SSE stream ended in the middle of an event", line=line, excerpt=excerpt(data)
            )
        )
        return out


def _field_value(name: str, value: str) -> bytes:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {name} must be one line, got {value[:40]!r}")
    if name == "id" and "\x00" in value:
        raise ValueError("SSE id must not contain NUL (readers ignore such ids)")
    return value.encode("utf-8")


def encode_sse(
    event_or_dict: BaseEvent | Mapping[str, Any],
    /,
    *,
    id: str | None = None,
    event: str | None = None,
) -> bytes:
    """One SSE frame: ``data: <compact JSON>\\n\\n``, exactly as TanStack 0.10 writes it.

    ``event:`` and ``id:`` lines (in that order, before ``data:``) are written only when
    asked for.
    Compact JSON never holds a raw CR or LF, but if a payload did, each of its lines is
    written as its own ``data:`` line so a reader joins them back (WHATWG).
    """
    payload = encode_payload(event_or_dict)
    head = b""
    if event is not None:
        head += b"event: " + _field_value("event", event) + b"\n"
    if id is not None:
        head += b"id: " + _field_value("id", id) + b"\n"
    # find(), not ``in``: bytes.__contains__ first tries its argument as an int and pays
    # for the failed attempt (~0.15 us a check, per frame).
    if payload.find(b"\n") >= 0 or payload.find(b"\r") >= 0:
        lines = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        return head + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    return head + b"data: " + payload + b"\n\n"


def encode_sse_comment(text: str = "") -> bytes:
    """An SSE comment (a heartbeat): ``:\\n\\n``, or ``: text\\n\\n``; readers ignore it."""
    if not text:
        return b":\n\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return b"".join(b": " + line.encode("utf-8") + b"\n" for line in lines) + b"\n"


SSE_HEARTBEAT = encode_sse_comment(PING)
"""The server's keep-alive during silence: ``: ping``, a comment every reader ignores."""
