"""The plain shapes: which event types a dict of exactly typed strings always validates into
exactly what it holds, and with which keys.

Two hot paths skip the model for them, each checking the shape by hand: the server's
(``_agent_fast``: an agent's dict straight to the wire) and the client's (``_hand_built``:
a payload straight to its event). Both read the table here, so a class that could change
a plain dict (it gains a validator, a serializer, a computed field, a post-init hook or a
required field) leaves both paths at once; ``tests/test_speed_server_fast.py`` builds such
classes and checks they stay out.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import TypeAlias

from pydantic import BaseModel

from ._base import BaseEvent, WireModel
from ._union import _EVENT_CLASSES

# The types considered: the content deltas, and the events that open and close a run, a
# message, a tool call, a reasoning span or a step - what a streamed turn is made of.
PLAIN_CANDIDATES = (
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


def plain_class(cls: type[WireModel]) -> bool:
    """No validator, serializer, computed field, post-init hook or required field, and every
    default a plain constant: a dict of the right types always validates, into exactly what
    it holds."""
    decorators = cls.__pydantic_decorators__
    return not (
        decorators.model_validators
        or decorators.field_validators
        or decorators.field_serializers
        or decorators.model_serializers
        or decorators.computed_fields
        or cls.model_post_init is not BaseModel.model_post_init
        or cls.__private_attributes__
        or any(
            info.is_required() or info.default_factory is not None
            for name, info in cls.model_fields.items()
            if name != "type"
        )
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


# Per type, each key with the one exact type its value may have (one lookup per key): the
# class's own ``str | None`` fields, ``model`` (a str) and ``timestamp`` (``int | float`` in
# the model, taken as an exact int: TanStack stamps every event with one).
_COMMON: dict[str, type] = {"type": str, "model": str, "timestamp": int}
PLAIN_KEYS: dict[str, dict[str, type]] = {
    kind: {**_COMMON, **_own_string_keys(_EVENT_CLASSES[kind])}
    for kind in PLAIN_CANDIDATES
    if plain_class(_EVENT_CLASSES[kind])
}

# Every key that means a field of the class to the model: its wire alias and its Python
# name (``populate_by_name`` lets a snake_case key set the field), ``type`` included.
FIELD_KEYS: dict[str, frozenset[str]] = {
    kind: frozenset(
        key
        for name, info in _EVENT_CLASSES[kind].model_fields.items()
        for key in (name, info.alias or name)
    )
    for kind in PLAIN_KEYS
}

# The token as producers write it, keys in this order; checked in one go before any loop
# over the keys, which would give the same answer a key at a time.
DELTA_KEYS: dict[str, tuple[str, str, str]] = {
    "TEXT_MESSAGE_CONTENT": ("type", "messageId", "delta"),
    "REASONING_MESSAGE_CONTENT": ("type", "messageId", "delta"),
    "TOOL_CALL_ARGS": ("type", "toolCallId", "delta"),
}

PlainDeltas: TypeAlias = Mapping[str, tuple[tuple[str, str, str], Container[str] | None]]
"""Some of the plain deltas, by type: the type's ``DELTA_KEYS`` and the ids taken (``None``:
any id). A server's dialect converter names so the deltas it passes on unchanged."""
