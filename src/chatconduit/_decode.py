"""Bytes to typed events: the SSE / NDJSON framing plus the event models.

This is the hot path of the HTTP transports. A read is split at line ends once (as
bytes; we never decode text ourselves). A read holding one event - the usual read of a
live stream - goes straight to :func:`parse_event_json`. The payloads of a bigger read
are parsed with orjson and validated **as one batch** by pydantic (one call into its
Rust core rather than a Python round trip per event); anything that is not the common
case - ``[DONE]``, envelopes, blank payloads, pings, unknown event types, errors - makes
the batch fail and is redone one payload at a time with :func:`parse_event_json`, whose
results and errors are the reference. ``benchmarks/bench_decode.py`` measures it.

What is skipped, explicitly:

* SSE comments (``: heartbeat``) and events without data never reach this layer;
* a **ping** is an event whose JSON is an object with ``"type": "ping"`` (exactly that
  string; other keys are ignored), in either framing. It is a keep-alive (the TanStack
  WebSocket server's heartbeat; some providers send it over SSE), never an event;
* an event whose data is empty or only whitespace (``data:\\n\\n``) carries nothing and
  is skipped, as the reference skips it (with a warning).

``[DONE]`` (SSE ``data: [DONE]``, a bare ``[DONE]`` line, an NDJSON ``[DONE]`` line)
sets :attr:`EventDecoder.done`; the transport may stop reading. Decoding goes on if it
is fed more (the 0.10 reference keeps reading after ``[DONE]``).

An NDJSON ``{"id": ..., "chunk": {...}}`` envelope (see :mod:`chatconduit._ndjson`) is
unwrapped in both framings, since the 0.10 SSE reader also reads NDJSON lines; its id
becomes the event's id. In SSE the id is otherwise the last event id in force.

Errors are those of the framing decoders plus :class:`~chatconduit.MalformedEventError`
for a payload that is not JSON or not an event, naming the line where it starts and a
short excerpt. Strict mode raises in stream order (events before the error in the same
read are returned first; the error is raised by the next call, or by :meth:`check`;
``finish()`` always raises it); ``lenient=True`` reports to ``on_error`` and skips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Annotated, Any, Literal, TypeAlias, Union, cast

import pydantic
from pydantic import Field, TypeAdapter

from . import _json
from ._events import (
    _WIRE_KEYS_SLOT,
    Event,
    EventType,
    UnknownEvent,
    WireModel,
    event_class_for,
    parse_event,
    parse_event_json,
)
from ._exceptions import MalformedEventError, ProtocolError
from ._ndjson import NDJSONDecoder, unwrap_envelope
from ._sse import (
    DEFAULT_MAX_FRAME_BYTES,
    ErrorHandler,
    SSEDecoder,
    SSEFrame,
    SSERun,
    excerpt,
    log_protocol_error,
)

__all__ = ["DecodedEvent", "EventDecoder", "Framing", "decode_event_payload"]

Framing: TypeAlias = Literal["sse", "ndjson"]

DecodedEvent: TypeAlias = tuple[Event, str | None]
"""``(event, id)``: the id is the SSE last event id in force, or the NDJSON envelope's id.
A plain tuple on purpose: it is built once per event on the hot path."""

_DONE = b"[DONE]"
_PING = "ping"
# After a batch fails (an unknown type, a ping, bad input), decode this many batches one
# payload at a time before trying again, so a stream full of vendor events does not pay
# for a failed batch every time.
_SOLO_BATCHES = 16
# Below this many payloads one call per payload is cheaper than setting up a batch
# (a read of a live stream usually holds one event).
_BATCH_MIN = 4

# --- batch validation ------------------------------------------------------------------------
#
# This mirrors ``_events._validate`` for a list: the same model validators, the same
# wire-only (camelCase) key rule and the same remembered key order, but for the known
# event types only (a plain tagged union, which pydantic dispatches in Rust). Anything
# it cannot do exactly like parse_event_json makes it raise, and the payloads are parsed
# one by one instead. tests/test_codec_properties.py checks the two agree.

# Built at runtime from the event table; typed as Any because it is not a static type.
_annotated: Any = Annotated
_union: Any = Union
_list: Any = list
_known_events_list: Any = _list[
    _annotated[_union[tuple(event_class_for(t) for t in EventType)], Field(discriminator="type")]
]
_batch_validator = TypeAdapter[Any](_known_events_list).validator.validate_python
_BY_NAME_KWARGS: dict[str, Any] = (
    {"by_alias": True, "by_name": False}
    if tuple(int(p) for p in pydantic.VERSION.split(".")[:2]) >= (2, 11)
    else {}
)
_set_wire_keys = getattr(WireModel, _WIRE_KEYS_SLOT).__set__
_fast_loads = _json.fast_loads


# Key orders seen on the wire, shared: a producer writes every event of a type in the
# same order, so one tuple per shape replaces one per event (less memory, fewer objects
# for the garbage collector). Bounded, since the wire is not trusted.
_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}
_KEY_ORDERS_MAX = 1024


def _parse_batch(payloads: list[bytes]) -> list[Event]:
    """All payloads as events in one validation call; raises ValueError if any is not plain."""
    objs = list(map(_fast_loads, payloads))
    events: list[Event] = _batch_validator(objs, **_BY_NAME_KWARGS)
    keys = list(map(tuple, objs))
    del objs
    if len(_KEY_ORDERS) > _KEY_ORDERS_MAX:
        _KEY_ORDERS.clear()
    for event, order in zip(events, map(_KEY_ORDERS.setdefault, keys, keys), strict=True):
        _set_wire_keys(event, order)
    return events


class _Skip(Exception):
    """Internal: the payload is not an event but nothing is wrong (ping, blank, [DONE])."""


class EventDecoder:
    """Incremental bytes → ``(event, id)`` decoder for one response body.

    ``feed()`` each read, ``finish()`` at end of stream. ``framing`` is ``"sse"`` or
    ``"ndjson"``; the SSE decoder also reads bare JSON lines, so ``"sse"`` is the safe
    choice when the content type is unknown.
    """

    __slots__ = (
        "_error",
        "_lenient",
        "_ndjson",
        "_on_error",
        "_solo",
        "_sse",
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
    ) -> None:
        if framing not in ("sse", "ndjson"):
            raise ValueError(f"framing must be 'sse' or 'ndjson', got {framing!r}")
        self.framing: Framing = framing
        self.done = False
        """True once the stream sent the legacy ``[DONE]`` sentinel."""
        self._lenient = lenient
        self._on_error = on_error or log_protocol_error
        self._error: ProtocolError | None = None
        self._solo = 0
        self._sse: SSEDecoder | None = None
        self._ndjson: NDJSONDecoder | None = None
        if framing == "sse":
            self._sse = SSEDecoder(
                max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error
            )
        else:
            self._ndjson = NDJSONDecoder(
                max_frame_bytes=max_frame_bytes, lenient=lenient, on_error=on_error
            )

    @property
    def last_event_id(self) -> str | None:
        """SSE: the stream's last event id (for ``Last-Event-ID``); NDJSON: always ``None``."""
        return self._sse.last_event_id if self._sse is not None else None

    @property
    def retry(self) -> int | None:
        """SSE: the reconnection time the server asked for (ms), if any."""
        return self._sse.retry if self._sse is not None else None

    @property
    def pending_error(self) -> ProtocolError | None:
        """The error that stopped decoding (strict mode), if any."""
        if self._error is not None:
            return self._error
        if self._sse is not None:
            return self._sse.pending_error
        assert self._ndjson is not None
        return self._ndjson.pending_error

    def check(self) -> None:
        """Raise the pending error now instead of at the next ``feed()``/``finish()``."""
        error = self.pending_error
        if error is not None:
            raise error

    def feed(self, data: bytes) -> list[DecodedEvent]:
        """Decode one read of the body; return the events it completed."""
        if self._error is not None:
            raise self._error
        if self._sse is not None:
            raw = self._sse.feed_raw(data)
            if len(raw) == 1:
                # One event in the read, the usual case on a live stream: skip the
                # batch machinery; anything unusual takes the general route below.
                item = raw[0]
                if isinstance(item, tuple):
                    decoded = _plain_event(item[0])
                    if decoded is not None:
                        return [(decoded, item[2])]
            return self._from_sse(raw)
        assert self._ndjson is not None
        lines, first = self._ndjson.feed_lines(data)
        if len(lines) == 1:
            decoded = _plain_event(lines[0])
            if decoded is not None:
                return [(decoded, None)]
        return self._from_lines(lines, first)

    def finish(self) -> list[DecodedEvent]:
        """End of stream: the last events, or StreamTruncatedError for a cut-off event."""
        if self._error is not None:
            raise self._error
        if self._sse is not None:
            out = self._from_sse(self._sse.finish_raw())
        else:
            assert self._ndjson is not None
            tail = self._ndjson.finish_line()
            out = [] if tail is None else self._from_lines([tail[0]], tail[1])
        self.check()  # nothing comes after finish(): an error found here is raised now
        return out

    # --- internals -------------------------------------------------------------------

    def _from_sse(self, raw: list[SSEFrame | SSERun]) -> list[DecodedEvent]:
        out: list[DecodedEvent] = []
        for item in raw:
            if type(item) is SSERun:
                stop = self._decode(item.payloads, item.event_ids(), item.lines(), out)
            else:  # one event the framing layer could not batch
                payload, _event, event_id, _retry, line = cast(SSEFrame, item)
                stop = self._decode_each((payload,), (event_id,), (line,), out)
            if stop:
                break
        if not out:
            self.check()
        return out

    def _from_lines(self, lines: list[bytes], first: int) -> list[DecodedEvent]:
        if not lines:
            self.check()
            return []
        numbers: Sequence[int]
        if b"" in lines:  # blank lines: drop them, keep the numbering
            kept = [(line, n) for n, line in enumerate(lines, first) if line]
            lines = [line for line, _ in kept]
            numbers = [n for _, n in kept]
        else:
            numbers = range(first, first + len(lines))
        out: list[DecodedEvent] = []
        self._decode(lines, repeat(None), numbers, out)
        if not out:
            self.check()
        return out

    def _decode(
        self,
        payloads: list[bytes],
        ids: Iterable[str | None],
        lines: Iterable[int],
        out: list[DecodedEvent],
    ) -> bool:
        """Decode payloads into ``out``; True when a strict-mode error stops the stream."""
        if self._solo:
            self._solo -= 1
        elif len(payloads) >= _BATCH_MIN:
            try:
                events = _parse_batch(payloads)
            except ValueError:  # pydantic's ValidationError and JSON errors alike
                self._solo = _SOLO_BATCHES
            else:
                out.extend(zip(events, ids, strict=False))  # ids may be repeat()
                return False
        return self._decode_each(payloads, ids, lines, out)

    def _decode_each(
        self,
        payloads: Iterable[bytes],
        ids: Iterable[str | None],
        lines: Iterable[int],
        out: list[DecodedEvent],
    ) -> bool:
        """One payload at a time, with the reference parser and every special case."""
        for payload, event_id, line in zip(payloads, ids, lines, strict=False):
            try:
                event = parse_event_json(payload)
            except MalformedEventError as exc:
                try:
                    out.append(self._recover(payload, event_id, line, exc))
                except _Skip:
                    pass
                except ProtocolError as error:
                    if self._report(error):
                        return True
                continue
            if event.__class__ is UnknownEvent and event.type == _PING:
                continue
            out.append((event, event_id))
        return False

    def _recover(
        self, payload: bytes, event_id: str | None, line: int, exc: MalformedEventError
    ) -> DecodedEvent:
        """The slow path: a payload that did not parse as an event. Raises _Skip or an error."""
        stripped = payload.strip()
        if stripped == _DONE:
            self.done = True
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


def _plain_event(payload: bytes) -> Event | None:
    """The event a payload holds when it is a plain one (not a ping, not an error), else
    ``None``: the caller then takes the general route, which handles the rest."""
    try:
        event = parse_event_json(payload)
    except MalformedEventError:
        return None
    if event.__class__ is UnknownEvent and event.type == _PING:
        return None
    return event


def _reason(exc: ProtocolError) -> str:
    """The message of a ProtocolError without its excerpt (we attach a shorter one)."""
    text = str(exc)
    tail = f": {exc.excerpt!r}" if exc.excerpt is not None else ""
    return text[: -len(tail)] if tail and text.endswith(tail) else text


def _payload_event(
    payload: bytes, stripped: bytes, exc: MalformedEventError
) -> tuple[Event, str | None] | None:
    """Re-examine a payload that :func:`parse_event_json` refused.

    Returns ``None`` for what is not an event but not wrong either (blank, ping), the
    event and envelope id for an envelope, and raises MalformedEventError (without a line
    number; the caller adds it) otherwise.
    """
    if not stripped:
        return None
    try:
        value = _json.loads(payload)
    except ValueError as json_error:
        detail = getattr(json_error, "msg", None) or str(json_error)
        pos = getattr(json_error, "pos", None)
        where = f" at char {pos}" if isinstance(pos, int) else ""
        raise MalformedEventError(f"payload is not valid JSON ({detail}{where})") from None
    chunk, envelope_id = unwrap_envelope(value)
    if envelope_id is None:
        raise MalformedEventError(_reason(exc)) from None
    event = parse_event(chunk)
    if event.__class__ is UnknownEvent and event.type == _PING:
        return None
    return event, envelope_id


def decode_event_payload(payload: str | bytes) -> DecodedEvent | None:
    """Decode one self-contained payload (e.g. a WebSocket frame) with the same rules.

    Returns ``None`` for a ping, a blank payload or ``[DONE]``; unwraps envelopes; raises
    :class:`~chatconduit.MalformedEventError` (with a short excerpt) for anything else
    that is not an event.
    """
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    try:
        event = parse_event_json(data)
    except MalformedEventError as exc:
        stripped = data.strip()
        if stripped == _DONE:
            return None
        try:
            decoded = _payload_event(data, stripped, exc)
        except MalformedEventError as error:
            raise MalformedEventError(_reason(error), excerpt=excerpt(data)) from None
        return decoded
    if event.__class__ is UnknownEvent and event.type == _PING:
        return None
    return (event, None)
