"""One payload to its event, by the reference rules: what the incremental decoder falls
back to for a payload its batches refuse (``_recover``), and what reads a self-contained
payload such as a WebSocket frame (:func:`decode_event_payload`).

A payload is a plain event, a ping or a blank payload (nothing), ``[DONE]``, an NDJSON
``{"id", "chunk"}`` envelope (unwrapped; its id is the event's), or an error naming what
is wrong with it (the caller adds the line).
"""

from __future__ import annotations

from typing import TypeAlias

from .. import _json
from .._events import Event, UnknownEvent, parse_event, parse_event_json
from .._exceptions import MalformedEventError, ProtocolError
from ._framing import DONE, PING, excerpt
from ._ndjson import unwrap_envelope

__all__ = ["DecodedEvent", "decode_event_payload"]

DecodedEvent: TypeAlias = tuple[Event, str | None]
"""``(event, id)``: the id is the SSE last event id in force, or the NDJSON envelope's id.
A plain tuple on purpose: it is built once per event on the hot path."""


def _plain_event(payload: bytes) -> Event | None:
    """The event a payload holds when it is a plain one (not a ping, not an error), else
    ``None``: the caller then takes the general route, which handles the rest."""
    try:
        event = parse_event_json(payload)
    except MalformedEventError:
        return None
    if event.__class__ is UnknownEvent and event.type == PING:
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
    if event.__class__ is UnknownEvent and event.type == PING:
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
        if stripped == DONE:
            return None
        try:
            decoded = _payload_event(data, stripped, exc)
        except MalformedEventError as error:
            raise MalformedEventError(_reason(error), excerpt=excerpt(data)) from None
        return decoded
    if event.__class__ is UnknownEvent and event.type == PING:
        return None
    return (event, None)
