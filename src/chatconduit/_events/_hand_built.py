"""The client's fast path: a payload of a plain shape straight to its event, checked by hand.

pydantic's core validating a payload into its event was ~0.95 µs of the ~1.6 µs an event
cost ``connect()`` over a socket, most of it for the one shape a stream is made of: a text
delta, ``{"type", "messageId", "delta"}``, all strings. For the types whose classes a dict
of exact strings always validates into exactly what it holds (``_plain.PLAIN_KEYS``, the
table the server's own fast path reads), a payload that orjson reads as such a dict is
checked here key by key and the event is made without the validator: the class's defaults,
the payload's values, the payload itself in the key-order slot (as the validated path
keeps it) and pydantic's remaining per-instance state left for the first read to fill in
(``_base._fill_hand_built_state``: the fields set are the payload's keys). The result
equals what the validator makes, in every field, in ``model_fields_set``, in its dumps and
its bytes; ``tests/test_events_hand_built.py`` checks that against the validated path.

What is taken: a JSON object (one per payload, read alone: orjson refuses what
``JSON.parse`` and it would read differently - lone surrogates, invalid UTF-8, NaN) of a
type in the table whose every key names a field of the class by its wire name, with a
value of exactly the type the table says (a ``str``, or an ``int`` timestamp). Anything
else - ``null`` or a number where a string goes, ``metadata`` (TanStack's extras are
restored from it), an extra key, a snake_case key, ``input`` or ``usage`` - is left to the
validator (``None`` here), which alone decides what is valid and words every error.

Each payload is read alone, never a slice as one JSON array: such a read cannot tell where
a payload ends, and two that are no JSON alone (``{...,"delta":"x`` and ``y"}``) would
read as one string. The usual delta shapes (three keys, or four with an int timestamp)
are checked in one go inside the batch loop; a call per payload there would cost ~0.1 µs
of its ~0.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _json
from ._base import HAND_BUILDABLE, _dict_slot, _set_wire_keys
from ._delta_reader import DeltaReader, delta_reader
from ._plain import DELTA_KEYS, PLAIN_KEYS
from ._union import _EVENT_CLASSES, Event

__all__ = ["DELTA_READER", "hand_built_available", "hand_built_event", "hand_built_events"]

_loads = _json.orjson_loads
_new = object.__new__
# Sets __dict__ past BaseModel.__setattr__ (None with a pydantic this path cannot serve).
_set_dict: Any = _dict_slot.__set__ if HAND_BUILDABLE else None

# Per type: the class, its fields' defaults (to copy per event) and, per wire key, the field
# name and the exact type its value must have.
_Shape = tuple[type[Any], dict[str, Any], dict[str, tuple[str, type]]]
_SHAPES: dict[str, _Shape] = {}
for _kind, _keys in PLAIN_KEYS.items():
    _cls = _EVENT_CLASSES[_kind]
    _to_name = {**_cls._cc_alias_to_name, "type": "type"}
    _SHAPES[_kind] = (
        _cls,
        {name: info.default for name, info in _cls.model_fields.items()},
        {key: (_to_name[key], value_type) for key, value_type in _keys.items()},
    )
# The deltas: (class, defaults, id key, id field name, the other keys a delta may carry as
# (wire key, field name, exact type): ``timestamp``, ``model``, TanStack 0.18's
# accumulated ``content`` or ``args``).
_Delta = tuple[type[Any], dict[str, Any], str, str, tuple[tuple[str, str, type], ...]]
_DELTAS: dict[str, _Delta] = {
    kind: (
        _SHAPES[kind][0],
        _SHAPES[kind][1],
        id_key,
        _SHAPES[kind][2][id_key][0],
        tuple(
            (key, name, value_type)
            for key, (name, value_type) in _SHAPES[kind][2].items()
            if key not in ("type", id_key, delta_key)
        ),
    )
    for kind, (_, id_key, delta_key) in DELTA_KEYS.items()
    if kind in _SHAPES
}

# msgspec's reader of the plain deltas (``_delta_reader``): each struct it returns names
# its event class, the class's defaults and the id's field name. None without msgspec.
DELTA_READER: DeltaReader | None = delta_reader(
    {kind: (cls, defaults, id_name) for kind, (cls, defaults, _, id_name, _) in _DELTAS.items()}
)


# A payload of another type costs a read here before the validator reads it again: ~0.4 µs
# for a small one, which is not worth a look at its bytes first (~0.3 µs in Python), but
# a snapshot can be megabytes. Above this size, a payload that visibly starts with a type
# this path never takes is left to the validator unread.
_LARGE = 512
_TYPE_FIRST = b'{"type":"'
_TYPES = frozenset(kind.encode() for kind in _SHAPES)


def _may_be_plain(payload: bytes) -> bool:
    if payload.startswith(_TYPE_FIRST):
        return payload[9 : payload.find(b'"', 9)] in _TYPES
    return True


def hand_built_events(payloads: Sequence[bytes]) -> tuple[list[Event | None], list[int]]:
    """One entry per payload: its event when it has a plain shape, else ``None``; and the
    indexes of the ``None`` entries, for the caller to ask the validator about.

    Payloads must be ``bytes``: the events keep them (key order, and the fields set).
    The loop is written out in one function on purpose: a call per payload cost ~0.1 µs
    of the ~0.7 µs a delta takes here.
    """
    loads = _loads
    assert loads is not None, "check hand_built_available first"
    out: list[Event | None] = []
    append = out.append
    misses: list[int] = []
    deltas, new, set_dict, set_wire_keys = _DELTAS, _new, _set_dict, _set_wire_keys
    large, may_be_plain = _LARGE, _may_be_plain
    read, refused, unset = DELTA_READER or (None, ValueError, None)
    value: Any
    for payload in payloads:
        if len(payload) > large and not may_be_plain(payload):
            misses.append(len(out))
            append(None)
            continue
        if read is not None:
            # The usual payload, a plain delta, read and checked in one call; whatever
            # msgspec refuses is read with orjson below, which decides what it is.
            try:
                plain = read(payload)
            except refused:
                pass
            else:
                cls, fields, id_name = plain.target
                fields = fields.copy()
                fields[id_name] = plain.ident
                fields["delta"] = plain.delta
                if plain.timestamp is not unset:
                    fields["timestamp"] = plain.timestamp
                event = new(cls)
                set_dict(event, fields)
                set_wire_keys(event, payload)
                append(event)
                continue
        try:
            value = loads(payload)
            delta = deltas.get(value["type"])  # raises for no object, no type
        except (ValueError, TypeError, KeyError):  # ValueError: no JSON
            misses.append(len(out))
            append(None)
            continue
        if delta is not None:
            # The token as producers write it, checked in one go: its id and delta
            # exactly strings, and nothing else but an int timestamp (TanStack stamps
            # every event). Other deltas are _delta_event's.
            cls, defaults, id_key, id_name, _ = delta
            ident = value.get(id_key)
            text = value.get("delta")
            size = len(value)
            if (
                type(ident) is str
                and type(text) is str
                and (size == 3 or (size == 4 and type(value.get("timestamp")) is int))
            ):
                fields = defaults.copy()
                fields[id_name] = ident
                fields["delta"] = text
                if size == 4:
                    fields["timestamp"] = value["timestamp"]
                event = new(cls)
                set_dict(event, fields)
                set_wire_keys(event, payload)
                append(event)
                continue
            event = _delta_event(delta, value, payload)
            if event is None:
                event = _general(value, payload)
        else:
            # Another type: the payload is read already, and checking it key by key costs
            # less than the validator reading it again (most of what a turn opens and
            # closes with is plain: RUN_STARTED, TEXT_MESSAGE_START, ...).
            event = _general(value, payload)
        if event is None:
            misses.append(len(out))
        append(event)
    return out, misses


def _general(value: dict[str, Any], payload: bytes) -> Any:
    """The event of a decoded object when it has a plain shape, key by key; else None.

    Both callers have already looked its ``type`` up (so it is there, and hashable); a
    ``type`` that is no str names no shape."""
    shape = _SHAPES.get(value["type"])
    if shape is None:
        return None
    cls, defaults, keys = shape
    fields = defaults.copy()
    for key, item in value.items():
        spec = keys.get(key)
        if spec is None or type(item) is not spec[1]:
            return None
        fields[spec[0]] = item
    fields["type"] = defaults["type"]  # the EventType member, as the Literal validates it
    event = _new(cls)
    _set_dict(event, fields)
    _set_wire_keys(event, payload)
    return event


def hand_built_event(payload: bytes) -> Event | None:
    """:func:`hand_built_events` of one payload (``parse_event_json``'s case: a read that
    held one event), where checking the other plain types key by key also pays: one call
    into the validator costs more than one in a batch."""
    if len(payload) > _LARGE and not _may_be_plain(payload):
        return None
    value: Any
    try:
        value = _loads(payload)  # type: ignore[misc]  # None without orjson: checked first
        delta = _DELTAS.get(value["type"])
    except (ValueError, TypeError, KeyError):  # no JSON, no object, no hashable type
        return None
    if delta is not None:
        event = _delta_event(delta, value, payload)
        if event is not None:
            return event  # type: ignore[no-any-return]
    return _general(value, payload)  # type: ignore[no-any-return]


def _delta_event(delta: _Delta, value: dict[str, Any], payload: bytes) -> Any:
    """The event of a decoded delta: its id and delta exactly strings, any other key one
    it may carry with a value of exactly its type; else None."""
    cls, defaults, id_key, id_name, others = delta
    ident = value.get(id_key)
    text = value.get("delta")
    if type(ident) is not str or type(text) is not str:
        return None
    fields = defaults.copy()
    fields[id_name] = ident
    fields["delta"] = text
    seen = 3
    size = len(value)
    if size > seen:
        for key, name, value_type in others:
            item = value.get(key)
            if item is not None:
                if type(item) is not value_type:
                    return None
                fields[name] = item
                seen += 1
    if seen != size:  # a key this check does not know, or a null: the validator decides
        return None
    event = _new(cls)
    _set_dict(event, fields)
    _set_wire_keys(event, payload)
    return event


# Checked once at import, as ``_fast`` checks its schema: one payload of each route here,
# and what is built must be what the validator makes of it.
_SAMPLES = (
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"d"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","timestamp":1,"delta":"d"}',
    b'{"type":"TOOL_CALL_ARGS","toolCallId":"c","model":"x","delta":"{","args":"{"}',
    b'{"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}',
)


def _agrees_with_the_validator() -> bool:
    """Whether this pydantic keeps an event's state as this path builds it; should a
    release keep it otherwise, the path stays off rather than make events that differ."""
    assert _loads is not None
    try:
        built, misses = hand_built_events(_SAMPLES)
        event: Any
        for event, payload in zip(built, _SAMPLES, strict=True):
            value = _loads(payload)
            validator = _EVENT_CLASSES[value["type"]].__pydantic_validator__
            reference = validator.validate_python(value, by_alias=True, by_name=False)
            if not (
                type(event) is type(reference)
                and event == reference
                and event.model_fields_set == reference.model_fields_set
                and event.model_extra == reference.model_extra
                and event.model_dump() == reference.model_dump()
                and event.model_dump_json(by_alias=True, exclude_unset=True)
                == reference.model_dump_json(by_alias=True, exclude_unset=True)
            ):
                return False  # pragma: no cover - depends on the pydantic release
        return not misses and hand_built_event(_SAMPLES[0]) == built[0]
    except Exception:  # pragma: no cover - depends on the pydantic release
        return False


hand_built_available = _loads is not None and HAND_BUILDABLE and _agrees_with_the_validator()
"""Off without orjson (the stdlib's parser would cost more than the validator saves) and
with a pydantic whose events this path cannot build as its validator does."""
