"""The server's fast path for the events agents yield most: ``fast_event_dict``.

A streaming agent yields one content delta per token: TEXT_MESSAGE_CONTENT,
REASONING_MESSAGE_CONTENT and TOOL_CALL_ARGS as plain dicts of strings. Normalising such a
dict through the model (:func:`~._encode.event_to_dict`: validate into an event, dump back)
was ~37 % of the server's time per event. Every turn also opens and closes its run and its
messages (RUN_STARTED, TEXT_MESSAGE_START, ...): ~3 µs each through the model, ~15 µs of a
short turn's ~45 µs of stream making. For these types (``_FAST_TYPES``), with only their
own ``str | None`` fields given as strings plus ``model`` (a string) and ``timestamp`` (an
``int``, as TanStack stamps every event), that round trip cannot change anything but the
key order (``type`` first, the rest as they came) and cannot fail, so this checks exactly
that by hand and returns the dict itself (or, ``type`` not first, a copy with it first).
The same holds for an extra key the model keeps as it is: one that names no field of the
class in any spelling, with a ``str`` or ``int`` value (an agent's own stamp such as
``emittedNs``; one delta in ten carrying one cost the server ~20 % more per event on the
model path). Anything else - another type, an extra with any other value, a key that
spells a field (``message_id``, ``rawEvent``, ``metadata``), an own field whose value is
not exactly a ``str`` (``None``, a subclass, a number), a field that is no ``str | None``
(RUN_STARTED's ``input``, RUN_FINISHED's ``result``), a timestamp that is not exactly an
``int`` (a float, a bool, a string the model would turn into a number), a key that is
not exactly a ``str``, a model, a Mapping that is not a dict - gets ``None`` and takes
the model path, which alone decides what is valid and words every error.
``tests/test_speed_server_fast.py`` checks that both give the same dicts and bytes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ._base import BaseEvent, WireModel
from ._union import _EVENT_CLASSES

__all__ = ["fast_event_dict"]

# The types taken here: the content deltas, and the events that open and close a run,
# a message, a tool call, a reasoning span or a step. Their classes have no validators and
# no required field (checked below: a class that gains one leaves the table).
_FAST_TYPES = (
    "TEXT_MESSAGE_CONTENT",
    "REASONING_MESSAGE_CONTENT",
    "TOOL_CALL_ARGS",
    "RUN_STARTED",
    "RUN_FINISHED",
    "TEXT_MESSAGE_START",
    "TEXT_MESSAGE_END",
    "TOOL_CALL_START",
    "TOOL_CALL_END",
    "REASONING_START",
    "REASONING_END",
    "REASONING_MESSAGE_START",
    "REASONING_MESSAGE_END",
    "STEP_STARTED",
    "STEP_FINISHED",
)


def _plain_class(cls: type[WireModel]) -> bool:
    """No validator, serializer, computed field, post-init hook or required field: a dict
    of the right types always validates, into exactly what it holds."""
    decorators = cls.__pydantic_decorators__
    return not (
        decorators.model_validators
        or decorators.field_validators
        or decorators.field_serializers
        or decorators.model_serializers
        or decorators.computed_fields
        or cls.model_post_init is not BaseModel.model_post_init
        or any(info.is_required() for name, info in cls.model_fields.items() if name != "type")
    )


def _own_string_keys(cls: type[WireModel]) -> dict[str, type]:
    """The wire keys of the class's own ``str | None`` fields: the model keeps a str there
    as it is. Its other fields (a number, an object, ``Any``) always go the model way."""
    return {
        info.alias or name: str
        for name, info in cls.model_fields.items()
        # ``Optional[str]`` compares equal too; the test _tanstack.py's restore makes.
        if name not in BaseEvent.model_fields and info.annotation == str | None
    }


# Per type, each key with the one exact type its value may have here (one lookup per key):
# the class's own ``str | None`` fields, ``model`` (a str) and ``timestamp`` (``int |
# float`` in the model, taken as an exact int). The BaseEvent fields of other types, and
# extras, are judged in the loop of fast_event_dict.
_COMMON: dict[str, type] = {"type": str, "model": str, "timestamp": int}
_FAST_KEYS: dict[str, dict[str, type]] = {
    kind: {**_COMMON, **_own_string_keys(_EVENT_CLASSES[kind])}
    for kind in _FAST_TYPES
    if _plain_class(_EVENT_CLASSES[kind])
}


# Every key that means a field of the class to the model: its wire alias and its Python
# name (``populate_by_name`` lets a snake_case key set the field), ``type`` included.
_FIELD_KEYS: dict[str, frozenset[str]] = {
    kind: frozenset(
        key
        for name, info in _EVENT_CLASSES[kind].model_fields.items()
        for key in (name, info.alias or name)
    )
    for kind in _FAST_KEYS
}
_EXTRA_VALUE_TYPES = frozenset({str, int})
# The token as agents yield it, keys in this order: checked in one go before the loop below,
# which would give the same answer (for these keys it checks only that every key and value
# is exactly a str) a key at a time.
_PLAIN: dict[str, tuple[str, str, str]] = {
    "TEXT_MESSAGE_CONTENT": ("type", "messageId", "delta"),
    "REASONING_MESSAGE_CONTENT": ("type", "messageId", "delta"),
    "TOOL_CALL_ARGS": ("type", "toolCallId", "delta"),
}


def fast_event_dict(item: object) -> dict[str, Any] | None:
    """The wire dict :func:`~._encode.event_to_dict` makes of ``item``, or ``None`` when
    ``item`` is not one of the plain shapes this path handles (then ask the model).

    When ``type`` is already the first key that dict equals ``item`` key for key, so
    ``item`` itself is returned (no allocation per event): the server encodes it before
    the agent runs on and keeps no reference (the ``on_disconnect`` list takes copies),
    and nothing on the way mutates an event. Otherwise a copy with ``type`` moved first."""
    if type(item) is not dict:
        return None
    kind = item.get("type")
    if type(kind) is not str:
        return None
    allowed = _FAST_KEYS.get(kind)
    if allowed is None:
        return None
    if len(item) == 3:
        kind_key, id_key, delta_key = item
        if (
            type(kind_key) is str
            and type(id_key) is str
            and type(delta_key) is str  # a str subclass equal to "delta" is the model's
            and (kind_key, id_key, delta_key) == _PLAIN.get(kind)  # deltas only
        ):
            return item if type(item[id_key]) is str and type(item[delta_key]) is str else None
    fields = _FIELD_KEYS[kind]
    first = None
    for key, value in item.items():
        if type(key) is not str:
            return None
        # An unknown key gets None, which no value's type is. It may still be an extra
        # the model keeps verbatim, in place: a key that is no field of the class in any
        # spelling, with a str or int value (an agent's own stamp, e.g. ``emittedNs``);
        # anything else is the model's to judge.
        if type(value) is not allowed.get(key) and (
            key in fields or type(value) not in _EXTRA_VALUE_TYPES
        ):
            return None
        if first is None:
            first = key
    if first == "type":
        return item
    return {"type": kind, **item}  # "type" again: same value, keeps its first place
