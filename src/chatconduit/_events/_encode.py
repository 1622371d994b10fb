"""Encoding: ``event_to_dict``/``event_to_json`` (wire key order, absent vs. ``null``),
``coerce_event``, and what ends a run: ``is_terminal``, ``is_intermediate_finish`` and the
readers they share (``finish_reason_of``, ``outcome_type_of``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel

from .. import _json
from ._base import (
    BaseEvent,
    WireModel,
    _arrival_order,
    _fields_set_of,
    _fill_hand_built_state,
    _get_wire_keys,
    _set_wire_keys,
    tanstack_of,
)
from ._custom import UnknownEvent
from ._parse import parse_event
from ._types import EventType
from ._union import _EVENT_CLASS_SET, Event

_ENDING_TYPES = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})


def coerce_event(event: BaseEvent | Mapping[str, Any]) -> Event:
    """Accept an event or a plain dict (camelCase keys, as on the wire) and return an event."""
    # Exact class first: isinstance() on pydantic's ABC metaclass costs ~0.2 us per event.
    if event.__class__ in _EVENT_CLASS_SET:
        return event  # type: ignore[return-value]  # (cast() would cost a call per event)
    if isinstance(event, BaseEvent):
        return cast(Event, event)
    return parse_event(event)


# Values of these types are written as they are. A JSON value from the wire is always one of
# them, so the per-value check below almost never falls through to _plain().
_JSON_LEAF_TYPES = frozenset({str, int, float, bool, type(None), dict, list})


def _plain(value: Any) -> Any:
    if isinstance(value, WireModel):
        return _dump(value, {})
    if isinstance(value, BaseModel):  # a foreign model a user put into an ``Any`` field
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return value


def _shadowed_fields(
    model: WireModel, extra: dict[str, Any], wire_keys: tuple[str, ...] | None
) -> set[str]:
    """Fields that only *look* set because an extra key has their Python name.

    pydantic puts extra keys into ``model_fields_set``, so a wire key ``"message_id"`` (an
    extra: the wire is camelCase-only) makes the ``message_id`` field look set. The field
    really is set when its camelCase key arrived too, or when it was assigned a value since.
    """
    shadowed = set()
    for name in extra.keys() & model._cc_renamed:
        info = type(model).model_fields[name]
        arrived = wire_keys is not None and info.alias in wire_keys
        if not arrived and model.__dict__[name] == info.default:
            shadowed.add(name)
    return shadowed


def _dump(model: WireModel, out: dict[str, Any]) -> dict[str, Any]:
    values = model.__dict__
    try:
        fields_set = _fields_set_of(model)
    except AttributeError:
        # A hand-built event whose state nobody has read yet. Filling it in here, rather
        # than through BaseEvent.__getattr__, spares that Python-level detour (~0.5 us);
        # the fill reads the payload's key order, which is needed below anyway.
        _fill_hand_built_state(cast(BaseEvent, model))
        fields_set = _fields_set_of(model)
    extra = model.__pydantic_extra__
    leaf = _JSON_LEAF_TYPES
    wire_keys: tuple[str, ...] | None = None
    # Reading an unset slot raises, and raising costs ~0.4 us. Events built in Python (the
    # server's hot path) never have it set and, unlike parsed ones, do not have ``type`` in
    # their fields set, so they skip the read. (Overriding __init__ to always set the slot
    # would be neater, but pydantic then calls that Python __init__ on every validation:
    # parsing got 70% slower when tried.)
    if "type" in fields_set or model._cc_nested:
        try:
            remembered = _get_wire_keys(model)
        except AttributeError:  # built in Python, model_construct()ed or model_copy()ed
            wire_keys = None
        else:
            if isinstance(remembered, tuple):
                wire_keys = remembered
            else:  # the payload of a fast-path event: read its order once, then keep that
                wire_keys = _arrival_order(remembered)
                _set_wire_keys(model, wire_keys)
    if wire_keys is not None:
        # Follow the order the event arrived in; fields set since then are added below.
        alias_to_name = model._cc_alias_to_name
        for key in wire_keys:
            name = alias_to_name.get(key)
            if name is not None:
                if name in fields_set:
                    value = values[name]
                    out[key] = value if type(value) in leaf else _plain(value)
            elif extra and key in extra:
                value = extra[key]
                out[key] = value if type(value) in leaf else _plain(value)
    shadowed = _shadowed_fields(model, extra, wire_keys) if extra else None
    for name, alias in model._cc_pairs:
        if name in fields_set and alias not in out:
            if shadowed and name in shadowed:
                continue
            value = values[name]
            out[alias] = value if type(value) in leaf else _plain(value)
    if extra:
        for key, value in extra.items():
            if key not in out:
                out[key] = value if type(value) in leaf else _plain(value)
    if model._cc_model_lists:  # a list is a JSON leaf above; one of models is not
        for _, alias in model._cc_model_lists:
            items = out.get(alias)
            if type(items) is list:
                out[alias] = [_plain(item) for item in items]
    return out


def event_to_dict(event: BaseEvent | Mapping[str, Any]) -> dict[str, Any]:
    """The event as a JSON-ready dict: ``type`` first, camelCase keys, absent fields omitted,
    explicit ``None`` kept as ``null``, extras kept, in wire order (see the package docstring).

    Values of ``Any`` fields (``input``, ``value``, ``snapshot``, ...) are expected to be JSON
    values. A pydantic model given as such a value is dumped; anything else (including models
    nested deeper) is left to the JSON encoder, which rejects what JSON cannot hold.
    """
    ev = event if type(event) in _EVENT_CLASS_SET else coerce_event(event)
    return _dump(ev, {"type": str(ev.type)})  # type: ignore[union-attr, arg-type]


def event_to_json(event: BaseEvent | Mapping[str, Any]) -> str:
    """Compact JSON exactly as ``JSON.stringify`` writes the same event in TanStack."""
    return _json.dumps(event_to_dict(event))


# The event classes that can never end a run (their ``type`` is fixed by a Literal); the
# stream reader asks is_terminal() of every event.
_NEVER_TERMINAL: frozenset[type] = frozenset(
    cls
    for cls in _EVENT_CLASS_SET
    if cls is not UnknownEvent and cls.model_fields["type"].default not in _ENDING_TYPES
)


def is_terminal(event: BaseEvent | Mapping[str, Any]) -> bool:
    """True for the events that end a run: RUN_ERROR, and RUN_FINISHED unless it is a
    TanStack 0.58 agent-loop step.

    TanStack 0.58 sends one RUN_FINISHED per model iteration and marks the intermediate
    ones with ``metadata.tanstack.finishReason: "tool_calls"`` and no ``finishReason`` of
    their own; more events of the same run follow. So a response cut right after one has
    not ended, and is resumed. An ``outcome`` of ``type: "interrupt"`` is an end (the run
    pauses for the client; 0.58 sends ``tool_calls`` with it).

    A *top-level* ``finishReason: "tool_calls"`` still ends the response here: that is how
    the TanStack 0.10 protocol (and this library's server) ends a response that leaves
    client tools to run, so resuming after it would only find nothing more, and those
    servers never continue a response after one when they tag events with ids. (The
    processor, which must not finalize in the middle of an agent loop, reads both
    spellings: :func:`is_intermediate_finish`.)
    """
    if event.__class__ in _NEVER_TERMINAL:
        return False  # the hot path: one set lookup, no isinstance() on an ABC
    if not isinstance(event, BaseEvent):
        event_type = event.get("type")
        if event_type == EventType.RUN_ERROR:
            return True
        return event_type == EventType.RUN_FINISHED and not (
            "finishReason" not in event and is_intermediate_finish(event)
        )
    event_type = event.type
    if event_type == EventType.RUN_ERROR:
        return True
    # The cheap test first: the set of fields given costs a hand-built event its pydantic
    # state (see _hand_built), and is only needed for an intermediate finish.
    return event_type == EventType.RUN_FINISHED and not (
        is_intermediate_finish(event) and "finish_reason" not in event.model_fields_set
    )


def finish_reason_of(event: BaseEvent | Mapping[str, Any]) -> str | None:
    """A RUN_FINISHED's finish reason: ``finishReason`` at the top level (TanStack 0.10),
    else ``metadata.tanstack.finishReason`` (0.58); ``None`` when neither is a string.
    A top-level key wins, even ``null``, as in the 0.33 client."""
    # BaseEvent first: a concrete class is a quick test, the Mapping ABC a slow one.
    if not isinstance(event, BaseEvent):
        if "finishReason" in event:
            reason = event["finishReason"]
        else:
            reason = tanstack_of(event.get("metadata")).get("finishReason")
    else:
        # Parsing has already restored a reason found only in metadata.tanstack (_tanstack);
        # an event built in Python may still have it there only.
        reason = event.__dict__.get("finish_reason")
        if reason is None:
            found = event.tanstack_metadata.get("finishReason")
            # An explicit top-level null wins (asked last: see is_terminal).
            if found is not None and "finish_reason" not in event.model_fields_set:
                reason = found
    return reason if isinstance(reason, str) else None


def outcome_type_of(event: BaseEvent | Mapping[str, Any]) -> str | None:
    """The ``type`` of a RUN_FINISHED's AG-UI ``outcome`` (``"success"``, ``"interrupt"``,
    ``"cancelled"``), or ``None`` when it has none.

    Read from the typed field when the event class has one, else from the raw value kept
    as an extra, so it works whichever way ``outcome`` is modelled.
    """
    if not isinstance(event, BaseEvent):
        outcome = event.get("outcome")
    else:
        outcome = event.__dict__.get("outcome")
        # Only a class without the field can keep it as an extra (and reading the extras
        # costs a hand-built event its pydantic state).
        if outcome is None and "outcome" not in type(event).model_fields:
            extra = event.__pydantic_extra__
            outcome = extra.get("outcome") if extra else None
    if outcome is None:
        return None
    if isinstance(outcome, Mapping):
        kind = outcome.get("type")
    else:  # a nested model: its ``type`` may have another Python name
        kind = getattr(outcome, "kind", None) or getattr(outcome, "type", None)
    return kind if isinstance(kind, str) else None


def is_intermediate_finish(event: BaseEvent | Mapping[str, Any]) -> bool:
    """Whether a RUN_FINISHED ends one iteration of a server agent loop rather than the run:
    finish reason ``"tool_calls"`` (top level or ``metadata.tanstack``) and no
    ``interrupt`` outcome (an interrupt pauses the run: a real end, even though TanStack
    0.58 sends ``tool_calls`` with it). False for any other event."""
    event_type = event.type if isinstance(event, BaseEvent) else event.get("type")
    return event_type == EventType.RUN_FINISHED and is_loop_step(
        finish_reason_of(event), outcome_type_of(event)
    )


def is_loop_step(reason: str | None, outcome: str | None) -> bool:
    """:func:`is_intermediate_finish` for a RUN_FINISHED whose :func:`finish_reason_of` and
    :func:`outcome_type_of` were already read."""
    return reason == "tool_calls" and outcome != "interrupt"
