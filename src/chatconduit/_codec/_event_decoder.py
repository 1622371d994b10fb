"""Bytes to typed events: the SSE / NDJSON framing plus the event models.

This is the hot path of the HTTP transports. A read is split at line ends once (as
bytes; we never decode text ourselves), and its payloads are parsed a slice at a time by
:func:`~chatconduit._events.parse_event_json_batch`; a slice holding anything but events -
``[DONE]``, envelopes, blank payloads, pings, unknown types, errors - is redone one
payload at a time (:func:`~chatconduit._events.parse_event_json`).

:meth:`EventDecoder.iter_feed` decodes those slices as the caller iterates (the events
of a big read are never all alive at once); :meth:`EventDecoder.iter_slices` (the HTTP
reader's) gives them a slice at a time, each the very list pydantic returned, or for
``ChatClient`` (``text_runs``) with plain text deltas as runs of strings (``_text_runs``);
:meth:`EventDecoder.feed` returns them as one list.

What is skipped, explicitly:

* SSE comments (``: heartbeat``) and events without data never reach this layer;
* a **ping** (an object with ``"type": "ping"``, :data:`~chatconduit._codec._framing.PING`;
  other keys ignored), in either framing: a keep-alive (TanStack's WebSocket heartbeat,
  our NDJSON heartbeat, some providers' SSE), never an event;
* an event whose data is empty or only whitespace (``data:\\n\\n``) carries nothing and
  is skipped, as the reference skips it (with a warning).

``[DONE]`` (SSE ``data: [DONE]``, a bare ``[DONE]`` line, an NDJSON ``[DONE]`` line)
ends decoding exactly there: :attr:`EventDecoder.done` turns true, nothing after it is
returned (not the rest of the same read, nor later reads, nor a cut-off tail at
``finish()``); ``last_event_id`` stays the id in force at ``[DONE]``.

An NDJSON ``{"id": ..., "chunk": {...}}`` envelope (see :mod:`chatconduit._codec._ndjson`) is
unwrapped in both framings, since the 0.10 SSE reader also reads NDJSON lines; its id
becomes the event's id. In SSE the id is otherwise the last event id in force.

Errors are those of the framing decoders plus :class:`~chatconduit.MalformedEventError`
for a payload that is not JSON or not an event, naming the line where it starts and a
short excerpt. Strict mode raises in stream order (events before the error in the same
read are returned first; the error is raised by the next call, or by :meth:`check`;
``finish()`` always raises it); ``lenient=True`` reports to ``on_error`` and skips.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat
from typing import TypeAlias, cast

from .._events import (
    Event,
    UnknownEvent,
    parse_event_json,
    parse_event_json_batch,
)
from .._events._text_runs import SliceItem, plain_text_slice, text_runs_available
from .._exceptions import MalformedEventError, ProtocolError
from ._framing import (
    DEFAULT_MAX_FRAME_BYTES,
    DONE,
    PING,
    ErrorHandler,
    Framing,
    LineDecoder,
    excerpt,
    log_protocol_error,
)
from ._ndjson import NDJSONDecoder
from ._payload_events import (
    DecodedEvent,
    _payload_event,
    _plain_event,
    _reason,
    decode_event_payload,
)
from ._sse import SSEDecoder
from ._sse_frames import SSEFrame, SSERun

__all__ = [
    "DecodedEvent",
    "EventDecoder",
    "EventSlice",
    "decode_event_payload",
    "pairs_to_slices",
]

EventSlice: TypeAlias = tuple[list[SliceItem], list[str | None] | None]
"""``(events, ids)`` from :meth:`EventDecoder.iter_slices`: ``ids[i]`` is the id of
``events[i]``, or ``ids`` is ``None`` when none of them has one (only then, and only with
``text_runs=True``, may the slice hold ``PlainTextRun`` items)."""

# Payloads per slice: per call into the parser, and per hop through the reader's
# generators. When every event went through pydantic (each with a set of its own), slices
# over ~64 kept enough objects alive at once for the garbage collector to promote and
# traverse them (128: ~25% slower with the GC on). Hand-built events (_events._hand_built)
# leave fewer: over real sockets (bench_sockets.py --pin, issue 12 round 9), 192 against 48
# gave connect() +6% (SSE) / +2% (NDJSON), ChatClient +2-5%, 1,000 streams the same, and
# the same peak RSS.
_SLICE = 192
# After a slice fails (an unknown type, a ping, bad input), decode this many slices one
# payload at a time before trying again, so a stream full of vendor events does not pay
# for a failed slice every time.
_SOLO_SLICES = 16
# Below this many payloads one call per payload is as cheap as a batch.
_BATCH_MIN = 4


class _Skip(Exception):
    """Internal: the payload is not an event but nothing is wrong (ping, blank, [DONE])."""


class EventDecoder:
    """Incremental bytes → ``(event, id)`` decoder for one response body.

    ``feed()`` (or ``iter_feed()``) each read, ``finish()`` at end of stream. ``framing`` is
    ``"sse"`` or ``"ndjson"``; the SSE decoder also reads bare JSON lines, so ``"sse"`` is
    the safe choice when the content type is unknown.
    """

    _lines: LineDecoder  # the one of the two below in use

    __slots__ = (
        "_done_id",
        "_error",
        "_lenient",
        "_lines",
        "_ndjson",
        "_on_error",
        "_pending",
        "_solo",
        "_sse",
        "_text_runs",
        "done",
        "framing",
    )

    def __init__(
        self,
        framing: Framing = "sse",
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        lenient: bool = False,
        on_error: ErrorHandler | None = None,
        text_runs: bool = False,  # iter_slices makes PlainTextRuns: for ChatClient's reader
    ) -> None:
        if framing not in ("sse", "ndjson"):
            raise ValueError(f"framing must be 'sse' or 'ndjson', got {framing!r}")
        self.framing: Framing = framing
        self.done = False
        """True once the stream sent the legacy ``[DONE]`` sentinel; decoding ended there."""
        self._done_id: str | None = None
        self._lenient = lenient
        self._on_error = on_error or log_protocol_error
        self._error: ProtocolError | None = None
        self._solo = 0
        self._text_runs = text_runs and text_runs_available
        self._pending: Iterator[DecodedEvent] | None = None
        self._sse: SSEDecoder | None = None
        self._ndjson: NDJSONDecoder | None = None
        if framing == "sse":
            self._sse = self._lines = SSEDecoder(
                max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error
            )
        else:
            self._ndjson = self._lines = NDJSONDecoder(
                max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error
            )

    @property
    def last_event_id(self) -> str | None:
        """SSE: the stream's last event id (for ``Last-Event-ID``); NDJSON: always ``None``.

        After ``[DONE]``, the id in force at ``[DONE]``: what followed it was not delivered.
        """
        if self.done:
            return self._done_id
        return self._sse.last_event_id if self._sse is not None else None

    @property
    def retry(self) -> int | None:
        """SSE: the reconnection time the server asked for (ms), if any."""
        return self._sse.retry if self._sse is not None else None

    @property
    def lines_read(self) -> int:
        """The complete lines of the body read so far (see ``LineDecoder.lines_read``)."""
        return self._lines.lines_read

    @property
    def pending_error(self) -> ProtocolError | None:
        """The error that stopped decoding (strict mode), if any."""
        if self._error is not None or self.done:
            # The framing layer reads a whole read at once; what it found wrong after a
            # [DONE] is past the end of the stream.
            return self._error
        return self._lines.pending_error

    def check(self) -> None:
        """Raise the pending error now instead of at the next ``feed()``/``finish()``."""
        error = self.pending_error
        if error is not None:
            raise error

    def feed(self, data: bytes) -> list[DecodedEvent]:
        """Decode one read; return the events it completed."""
        if self._pending is not None or self._error is not None or self.done:
            out = list(self.iter_feed(data))  # the rules for those cases live there
            self._pending = None
        else:
            events = self._events_of(data)
            out = events if isinstance(events, list) else list(events)
        if not out:
            self.check()
        return out

    def iter_feed(self, data: bytes) -> Iterator[DecodedEvent]:
        """Like :meth:`feed`, but the read's payloads are validated a slice at a time as the
        iterator is consumed: a consumer that handles each event and drops it never has a
        whole read's events alive (the garbage collector's cost grows with what survives).
        An error found on the way ends the iterator and is raised by :meth:`check` or the
        next call, as with :meth:`feed`. Exhaust the iterator before the next call: if it
        was left unfinished, the next call finishes it and returns its events first."""
        left = None
        if self._pending is not None:  # inline: this runs once per read
            left = list(self._pending)
            self._pending = None
        if self._error is not None and not left:
            raise self._error
        events: Iterator[DecodedEvent]
        if self._error is not None or self.done:
            events = iter(left or ())
        else:
            decoded = self._events_of(data)
            events = iter(decoded) if isinstance(decoded, list) else decoded
            if left:
                events = chain(left, events)
        self._pending = events  # to be finished by the next call if left unfinished
        return events

    def iter_slices(self, data: bytes) -> Iterator[EventSlice]:
        """Like :meth:`iter_feed`, a slice of events at a time: ``(events, ids)``, where
        ``ids`` holds each event's id, or is ``None`` when none of them has one. For a
        consumer that hands events on in batches (the HTTP reader); exhaust the iterator
        before the next call (or stop using the decoder)."""
        if self._pending is not None or self._error is not None or self.done:
            # The rules for those cases live in iter_feed; these are rare.
            return pairs_to_slices(self.iter_feed(data))
        return self._slices_of(data)

    def finish(self) -> list[DecodedEvent]:
        """End of stream: the last events, or StreamTruncatedError for a cut-off event."""
        out = self._unfinished()
        if self._error is not None:
            raise self._error
        if self.done:
            return out  # what follows [DONE] is not part of the stream, cut off or not
        if self._sse is not None:
            out += self._from_sse(self._sse.finish_raw())
        else:
            assert self._ndjson is not None
            tail = self._ndjson.finish_line()
            if tail is not None:
                out += self._from_lines([tail[0]], tail[1])
        self.check()  # nothing comes after finish(): an error found here is raised now
        return out

    # --- internals -------------------------------------------------------------------

    def _unfinished(self) -> list[DecodedEvent]:
        """The rest of the last iter_feed() iterator, if it was not run to the end."""
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        return list(pending)

    def _events_of(self, data: bytes) -> list[DecodedEvent] | Iterator[DecodedEvent]:
        """Frame one read now. Its events: a list when the read held at most one plain
        event (no generator to set up for the usual read of a live stream), else an
        iterator that validates them a slice at a time."""
        if self._sse is not None:
            raw = self._sse.feed_raw(data)
            if not raw:
                return []
            if len(raw) == 1:
                # One event in the read, the usual case on a live stream: no slicing, no
                # generator; anything unusual takes the general route below.
                item = raw[0]
                if type(item) is SSERun:
                    if len(item.payloads) == 1:
                        event_id = item.ids[0] if item.ids is not None else item.id
                        decoded = _plain_event(item.payloads[0])
                        if decoded is not None:
                            return [(decoded, event_id)]
                else:
                    frame = cast(SSEFrame, item)
                    decoded = _plain_event(frame[0])
                    if decoded is not None:
                        return [(decoded, frame[2])]
            return self._from_sse(raw)
        assert self._ndjson is not None
        lines, first = self._ndjson.feed_lines(data)
        if not lines:
            return []
        if len(lines) == 1:
            decoded = _plain_event(lines[0])
            if decoded is not None:
                return [(decoded, None)]
        return self._from_lines(lines, first)

    def _slices_of(self, data: bytes) -> Iterator[EventSlice]:
        """:meth:`_events_of` a slice at a time (see :meth:`iter_slices`): the read is
        framed now, its payloads validated as the slices are consumed."""
        if self._sse is not None:
            raw = self._sse.feed_raw(data)
            return self._sse_slices(raw) if raw else iter(())
        assert self._ndjson is not None
        lines, first = self._ndjson.feed_lines(data)
        if not lines:
            return iter(())
        lines, numbers = _numbered(lines, first)
        return self._decode_slices(lines, None, numbers)

    def _sse_slices(self, raw: list[SSEFrame | SSERun]) -> Iterator[EventSlice]:
        for item in raw:
            if type(item) is SSERun:
                ids: list[str | None] | None = None  # the usual stream: no id at all
                if item.ids is not None or item.id is not None:
                    ids = list(item.event_ids())
                yield from self._decode_slices(item.payloads, ids, item.lines())
            else:  # one event the framing layer could not batch
                payload, _event, event_id, _retry, line = cast(SSEFrame, item)
                yield from pairs_to_slices(self._decode_each((payload,), (event_id,), (line,)))
            if self._stopped():
                return

    def _decode_slices(
        self, payloads: list[bytes], ids: list[str | None] | None, lines: Sequence[int]
    ) -> Iterator[EventSlice]:
        """:meth:`_decode` a slice at a time: a batch that validates is yielded as it is."""
        count = len(payloads)
        for start in range(0, count, _SLICE):
            stop = start + _SLICE
            part = payloads[start:stop] if count > _SLICE else payloads
            part_ids = None if ids is None else ids[start:stop]
            events: list[SliceItem] | None = None
            if self._solo:
                self._solo -= 1
            elif len(part) >= _BATCH_MIN:
                try:
                    # Runs only where no id is in force: an id counts its events (resume).
                    if self._text_runs and part_ids is None:
                        events = plain_text_slice(part)
                    else:
                        events = cast("list[SliceItem]", parse_event_json_batch(part))
                except ValueError:  # pydantic's ValidationError, for any payload in it
                    self._solo = _SOLO_SLICES
            if events is not None:
                yield events, part_ids
            else:
                each = self._decode_each(
                    part, repeat(None) if part_ids is None else part_ids, lines[start:stop]
                )
                yield from pairs_to_slices(each)
                if self._stopped():
                    return

    def _stopped(self) -> bool:
        return self._error is not None or self.done

    def _from_sse(self, raw: list[SSEFrame | SSERun]) -> Iterator[DecodedEvent]:
        for item in raw:
            if type(item) is SSERun:
                yield from self._decode(item.payloads, item.ids, item.id, item.lines())
            else:  # one event the framing layer could not batch
                payload, _event, event_id, _retry, line = cast(SSEFrame, item)
                yield from self._decode_each((payload,), (event_id,), (line,))
            if self._stopped():
                return

    def _from_lines(self, lines: list[bytes], first: int) -> Iterator[DecodedEvent]:
        lines, numbers = _numbered(lines, first)
        yield from self._decode(lines, None, None, numbers)

    def _decode(
        self,
        payloads: list[bytes],
        ids: list[str] | None,
        same_id: str | None,
        lines: Sequence[int],
    ) -> Iterator[DecodedEvent]:
        """Payloads to events, a slice per call into pydantic; ``ids`` is one id per payload,
        or ``None`` when every payload has ``same_id``."""
        count = len(payloads)
        for start in range(0, count, _SLICE):
            stop = start + _SLICE
            part = payloads[start:stop] if count > _SLICE else payloads
            part_ids: Iterable[str | None] = repeat(same_id) if ids is None else ids[start:stop]
            events: list[Event] | None = None
            if self._solo:
                self._solo -= 1
            elif len(part) >= _BATCH_MIN:
                try:
                    events = parse_event_json_batch(part)
                except ValueError:  # pydantic's ValidationError, for any payload in it
                    self._solo = _SOLO_SLICES
            if events is not None:
                # zip reuses its result tuple when the consumer has dropped the last one,
                # so a streaming consumer gets its (event, id) pairs without an allocation.
                yield from zip(events, part_ids, strict=False)  # ids may be repeat()
            else:
                yield from self._decode_each(part, part_ids, lines[start:stop])
                if self._stopped():
                    return

    def _decode_each(
        self,
        payloads: Iterable[bytes],
        ids: Iterable[str | None],
        lines: Iterable[int],
    ) -> Iterator[DecodedEvent]:
        """One payload at a time, with the reference parser and every special case."""
        for payload, event_id, line in zip(payloads, ids, lines, strict=False):
            try:
                event = parse_event_json(payload)
            except MalformedEventError as exc:
                try:
                    decoded = self._recover(payload, event_id, line, exc)
                except _Skip:
                    if self.done:
                        return
                    continue
                except ProtocolError as error:
                    if self._report(error):
                        return
                    continue
                yield decoded
                continue
            if event.__class__ is UnknownEvent and event.type == PING:
                continue
            yield (event, event_id)

    def _recover(
        self, payload: bytes, event_id: str | None, line: int, exc: MalformedEventError
    ) -> DecodedEvent:
        """The slow path: a payload that did not parse as an event. Raises _Skip or an error."""
        stripped = payload.strip()
        if stripped == DONE:
            self.done = True
            self._done_id = event_id
            raise _Skip
        try:
            decoded = _payload_event(payload, stripped, exc)
        except MalformedEventError as error:
            what = "SSE event" if self.framing == "sse" else "NDJSON line"
            raise MalformedEventError(
                f"{what}: {_reason(error)}", line=line, excerpt=excerpt(payload)
            ) from None
        if decoded is None:
            raise _Skip
        event, envelope_id = decoded
        return (event, envelope_id if envelope_id is not None else event_id)

    def _report(self, error: ProtocolError) -> bool:
        """Lenient: hand the error on and go on. Strict: keep it; True means stop."""
        if self._lenient:
            self._on_error(error)
            return False
        self._error = error
        return True


def _numbered(lines: list[bytes], first: int) -> tuple[list[bytes], Sequence[int]]:
    """NDJSON lines without the blank ones, and the line number of each."""
    if b"" not in lines:
        return lines, range(first, first + len(lines))
    kept = [(line, n) for n, line in enumerate(lines, first) if line]
    return [line for line, _ in kept], [n for _, n in kept]


def pairs_to_slices(pairs: Iterable[DecodedEvent]) -> Iterator[EventSlice]:
    """``(event, id)`` pairs as slices: runs of events without ids together (at most a
    slice's worth), any other event alone. For the general route's events, which are
    rare, and for decoders that only give pairs."""
    run: list[SliceItem] = []
    try:
        for event, event_id in pairs:
            if event_id is None:
                run.append(event)
                if len(run) == _SLICE:
                    full, run = run, []
                    yield full, None
                continue
            if run:
                full, run = run, []
                yield full, None
            yield [event], [event_id]
    except Exception:
        if run:  # what came before a failure is delivered before it
            yield run, None
        raise
    if run:
        yield run, None
