"""Parsing: ``parse_event`` (a decoded object), ``parse_event_json`` (the hot path) and
``parse_event_json_batch``, plus the wording of every parse error. Each of them restores
TanStack 0.58's ``metadata.tanstack`` extras onto the event's fields (``_tanstack``).

The hot functions and every global they read live in this module (imported names are plain
module globals here, so nothing costs an extra attribute lookup per event).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .. import _json
from .._exceptions import MalformedEventError
from ._base import _key_order, _set_wire_keys
from ._custom import UnknownEvent
from ._fast import _INFINITY_BYTES, _NAN_BYTES, _fast_many, _fast_one
from ._hand_built import hand_built_available, hand_built_event, hand_built_events
from ._tanstack import restore_tanstack as _restore_tanstack
from ._union import _EVENT_CLASSES, Event

_EXCERPT_CHARS = 200


def _excerpt(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: _EXCERPT_CHARS * 4]).decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else repr(value)
    if len(text) > _EXCERPT_CHARS:
        return text[:_EXCERPT_CHARS] + "…"
    return text


def _wire_path(obj: Any, loc: tuple[int | str, ...]) -> str:
    """The path of a bad value in the input, as JSON keys and indexes.

    pydantic's ``loc`` also names the union member it tried (``usage.Usage.promptTokens.int``,
    ``usage.list[dict[str,any]]``); walking the input keeps only the steps that exist in it.
    """
    steps: list[str] = []
    node = obj
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            steps.append(str(part))
    return ".".join(steps)


def _describe(exc: ValidationError, obj: dict[str, Any]) -> str:
    """One line naming the event type and, per bad top-level field, its wire path and problem.

    pydantic reports one error per union member; the first one per field is what a reader
    needs (``field 'usage': Input should be a valid integer (at usage.promptTokens)``).
    """
    by_field: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        field = str(loc[0]) if loc else "(event)"
        if field not in by_field:
            where = _wire_path(obj, loc)
            by_field[field] = f"{field!r}: {err['msg']}" + (
                f" (at {where})" if where and where != field else ""
            )
    return f"invalid {obj['type']} event: field " + "; field ".join(by_field.values())


def _type_problem(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return "event is not a JSON object but " + ("null" if obj is None else type(obj).__name__)
    if "type" not in obj:
        return "event has no 'type'"
    return f"event 'type' is not a string but {type(obj['type']).__name__}"


# Per class, validating a decoded dict. ``by_name=False`` keeps the wire camelCase-only (see
# the package docstring); passing it at the call site is ~0.15 us faster than a partial.
_VALIDATORS: dict[str, Callable[..., Any]] = {
    name: cls.__pydantic_validator__.validate_python for name, cls in _EVENT_CLASSES.items()
}
_validate_unknown: Callable[..., Any] = UnknownEvent.__pydantic_validator__.validate_python


def _build(obj: dict[str, Any], source: Any) -> Event:
    """Validate a decoded object whose ``type`` is known to be a string."""
    validate = _VALIDATORS.get(obj["type"], _validate_unknown)
    try:
        event = validate(obj, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise MalformedEventError(_describe(exc, obj), excerpt=_excerpt(source)) from None
    _set_wire_keys(event, _key_order(tuple(obj)))
    if event.metadata is not None:
        _restore_tanstack(event)
    return event  # type: ignore[no-any-return]


def parse_event(obj: Mapping[str, Any]) -> Event:
    """Build the event for a decoded JSON object. Raises :class:`MalformedEventError` when it is
    not an object, has no string ``type``, or a known field has the wrong type."""
    if type(obj) is not dict:
        if not isinstance(obj, Mapping):
            raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(obj))
        obj = dict(obj)
    if not isinstance(obj.get("type"), str):  # an EventType member is fine here
        raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(obj))
    return _build(obj, obj)


_BYTES_ONLY = frozenset({bytes})


def _parse_reference(data: str | bytes) -> Event:
    """The reference parser: ``_json.loads`` (JSON.parse semantics) and per-class validation.

    Everything the fast path refuses ends up here, including every error: its messages are
    the ones users see.
    """
    try:
        obj = _json.loads(data)
    except ValueError as exc:
        raise MalformedEventError(
            f"event is not valid JSON ({exc})", excerpt=_excerpt(data)
        ) from None
    except RecursionError:
        # orjson refuses more than 1024 levels (a ValueError, above); the stdlib parser it
        # falls back to recurses once per level and hits Python's recursion limit. A peer
        # decides the nesting, so this is bad input like any other, never a crash.
        raise MalformedEventError(
            "event is not valid JSON (nested too deeply)", excerpt=_excerpt(data)
        ) from None
    if type(obj) is not dict or type(obj.get("type")) is not str:
        raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(data))
    return _build(obj, data)


def parse_event_json(data: str | bytes) -> Event:
    """Parse one JSON payload (an SSE ``data`` value or an NDJSON line) into an event.

    This is the hot path of the library. A plain payload - a delta, or what opens and
    closes a run, a message, a tool call, reasoning or a step, with strings where strings go
    - is read by orjson and its event built by hand (``_hand_built``: ~0.8 µs for a text
    delta against ~1.2 µs through the validator). Anything else is validated straight from
    the bytes into the model with a schema derived from the event classes (see the comment
    atop ``_fast.py``); what that refuses - unknown types, pings, bad JSON, the few inputs
    where jiter and ``JSON.parse`` differ - goes through ``_json.loads`` and per-class
    validation, which also words every error.

    Per event, on the 124 NDJSON fixture lines (TanStack 0.18's events, a third of them not
    deltas; CPython 3.11.7 built without PGO, pydantic 2.14, orjson 3.13; best of 5, one
    pinned core; re-measure with ``python tests/test_events.py``), before (9934327) and
    after the hand-built path::

                                                            before    after
        orjson.loads alone                                  0.34 us   0.36 us
        parse_event_json (this)                             1.77 us   1.66 us
        parse_event_json_batch, slices of 48                1.55 us   1.72 us
        reference path (orjson.loads + per-class validation) 2.10 us  2.16 us
        parse_event_json + first event_to_json              4.74 us   5.70 us

    A payload that is not plain pays for the orjson read it was given first: ~0.4 µs more
    than before, and ~1 µs more for one whose type is plain but a field is not
    (RUN_FINISHED with ``usage``); the batch row above has many. A stream is mostly deltas,
    which are where the time goes. The payload is kept on the event (a ``bytes`` object
    costs the garbage collector nothing) and the key order is read from it only when the
    event is first encoded (the last row, ~0.65 µs of it; a hand-built event's pydantic
    state is filled in then too).
    """
    if type(data) is bytes:
        if hand_built_available:  # a plain payload needs no validator (see _hand_built)
            built = hand_built_event(data)
            if built is not None:
                return built
        if _NAN_BYTES(data) is not None or _INFINITY_BYTES(data) is not None:
            return _parse_reference(data)
    elif isinstance(data, str):
        if "NaN" in data or "Infinity" in data:
            return _parse_reference(data)
    else:  # a bytearray: the event keeps the payload, so it must not change later
        return parse_event_json(bytes(data))
    if _fast_one is not None:
        try:
            event = _fast_one(data, by_alias=True, by_name=False)
        except ValidationError:
            return _parse_reference(data)
        _set_wire_keys(event, data)
        if event.metadata is not None:  # TanStack 0.58 keeps its extras in there
            _restore_tanstack(event)
        return event  # type: ignore[no-any-return]
    return _parse_reference(data)  # pragma: no cover - no fast path


def parse_event_json_batch(payloads: Sequence[bytes]) -> list[Event]:
    """Parse many payloads at once: all of them, or none.

    Returns one event per payload, equal to what :func:`parse_event_json` returns for each;
    raises ``ValueError`` (pydantic's ``ValidationError``) when any payload is not a plain
    event of a known type - an unknown type, a ping, ``[DONE]``, bad JSON, or one of the
    inputs the reference parser has to read - and the caller then parses them one by one.
    Payloads must be ``bytes`` (the events keep them, for key order).

    The plain payloads (a text delta, a run or message opening or closing, all strings) are
    built by hand (``_hand_built``: ~0.7 µs for a text delta, against ~0.95 µs for
    pydantic's core in a batch); the rest go through pydantic's core in one call.
    """
    if not set(map(type, payloads)) <= _BYTES_ONLY:
        raise ValueError("payloads must be bytes")  # the events keep them
    if not hand_built_available:  # pragma: no cover - orjson is a dependency
        return _validated_batch(payloads)
    events, misses = hand_built_events(payloads)
    if misses:
        if len(misses) == len(payloads):
            return _validated_batch(payloads)
        others = _validated_batch([payloads[index] for index in misses])
        for index, event in zip(misses, others, strict=True):
            events[index] = event
    return events  # type: ignore[return-value]  # no None is left


def _validated_batch(payloads: Sequence[bytes]) -> list[Event]:
    """:func:`parse_event_json_batch` through pydantic's core alone."""
    if _fast_many is None:  # pragma: no cover - no fast path
        raise ValueError("no batch parser with this pydantic")
    joined = b"".join(payloads)  # one scan per slice beats one call per payload (measured)
    if _NAN_BYTES(joined) is not None or _INFINITY_BYTES(joined) is not None:
        raise ValueError("NaN or Infinity: the reference parser decides")
    events: list[Event] = _fast_many(payloads, by_alias=True, by_name=False)
    deque(map(_set_wire_keys, events, payloads), maxlen=0)
    for event in events:
        if event.metadata is not None:
            _restore_tanstack(event)
    return events
