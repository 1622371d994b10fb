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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .. import _json
from ._base import _set_wire_keys
from ._plain import DELTA_KEYS, PLAIN_KEYS
from ._union import _EVENT_CLASSES, Event

__all__ = ["hand_built_available", "hand_built_events"]

_loads = _json.orjson_loads
hand_built_available = _loads is not None
"""Without orjson, the stdlib's parser would cost more than the validator saves."""

_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__  # past BaseModel.__setattr__

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
# The deltas' usual three keys: (class, defaults, id key, id field name), checked in one go.
_DELTAS: dict[str, tuple[type[Any], dict[str, Any], str, str]] = {
    kind: (
        _SHAPES[kind][0],
        _SHAPES[kind][1],
        id_key,
        _SHAPES[kind][2][id_key][0],
    )
    for kind, (_, id_key, _delta) in DELTA_KEYS.items()
    if kind in _SHAPES
}


def _build(value: dict[str, Any], payload: bytes) -> Any:
    """The event of a decoded payload, or None to ask the validator."""
    try:
        shape = _SHAPES.get(value.get("type"))  # type: ignore[arg-type]
    except TypeError:  # an unhashable "type": the validator words it
        return None
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


def hand_built_events(payloads: Sequence[bytes]) -> tuple[list[Event | None], list[int]]:
    """One entry per payload: its event when it has a plain shape, else ``None``; and the
    indexes of the ``None`` entries, for the caller to ask the validator about.

    Payloads must be ``bytes``: the events keep them (key order, and the fields set).
    """
    loads = _loads
    assert loads is not None, "check hand_built_available first"
    out: list[Event | None] = []
    append = out.append
    misses: list[int] = []
    deltas, new, set_dict, set_wire_keys = _DELTAS, _new, _set_dict, _set_wire_keys
    for payload in payloads:
        try:
            value = loads(payload)
        except ValueError:  # orjson's JSONDecodeError: the reference parser words it
            misses.append(len(out))
            append(None)
            continue
        try:
            # The token as producers write it, checked in one go: a delta type, its id and
            # delta exactly strings, and nothing else but an int timestamp (TanStack
            # stamps every event). Whatever raises here (no object, no such key, an
            # unhashable "type") or fails the test goes the general way, below.
            cls, defaults, id_key, id_name = deltas[value["type"]]
            ident = value[id_key]
            text = value["delta"]
        except (TypeError, KeyError):
            pass
        else:
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
        built = _build(value, payload) if type(value) is dict else None
        if built is None:
            misses.append(len(out))
        append(built)
    return out, misses
