"""TanStack 0.58's ``metadata.tanstack``: its extras back on the event's own attributes.

``@tanstack/ai`` 0.58 writes spec-only events: what AG-UI does not define moves from the
top level into ``metadata.tanstack`` (``finishReason``; ``model``; ``toolName``,
``toolCallName``, ``index``, ``input``; ``stepId``, ``stepType`` and STEP_FINISHED's
``delta``/``content``; RUN_ERROR's ``threadId``/``runId``). The 0.33 client copies those
keys back to the top level before it processes an event (``restoreInboundChunk``);
:func:`restore_tanstack` does the same when an event is parsed, so every consumer reads
``ev.finish_reason`` or ``ev.tool_call_name`` whichever version wrote the event.

Re-encoding stays byte-exact: a restored value goes into the instance's ``__dict__``
(what the attribute reads) but not into ``model_fields_set``, and the encoder writes only
fields that are set, so the event still comes out as it arrived, with the value inside
``metadata`` only. Rules, as in 0.33: only a key absent at the top level is restored (an
explicit ``null`` there wins); ``usage`` is not (0.58 keeps only leftovers of it there).
Beyond 0.33: only keys the event class has a field for are restored (the rest stay
readable through ``tanstack_metadata``), and a value of the wrong JSON type for its field
is left in ``metadata`` alone - metadata is free-form, so that is no reason to refuse the
event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from pydantic import ConfigDict, PydanticUserError, TypeAdapter, ValidationError

from ._base import BaseEvent
from ._types import JSNumber

__all__ = ["restore_tanstack"]

# A field's check: the value to store for an accepted JSON value, or _REFUSED.
_Check: TypeAlias = Callable[[Any], Any]
_REFUSED: Any = object()

# Fields never restored: the spec's own (``type``, ``timestamp``, ``metadata``,
# ``rawEvent``) and ``usage`` (0.58 moves only the leftovers of a TanStack usage there).
_NOT_RESTORED = frozenset({"type", "timestamp", "metadata", "raw_event", "usage"})


def _is_str(value: Any) -> Any:
    return value if type(value) is str else _REFUSED


def _is_number(value: Any) -> Any:
    return value if type(value) is int or type(value) is float else _REFUSED


def _any(value: Any) -> Any:
    return value


def _refuse(value: Any) -> Any:
    return _REFUSED


_STRICT = ConfigDict(strict=True)


def _check_for(annotation: Any) -> _Check:
    """How to vet a metadata value for a field of this annotation. The common ones (strings,
    numbers, free-form values) are checked inline; anything else by pydantic, strictly, as
    the field itself would be."""
    if annotation == str | None:
        return _is_str
    if annotation == JSNumber | None:
        return _is_number
    if annotation is Any:
        return _any
    try:
        validate = TypeAdapter(annotation, config=_STRICT).validate_python
    except PydanticUserError:  # e.g. a bare model type, which takes no config: never restored
        return _refuse

    def check(value: Any) -> Any:
        try:
            return validate(value, by_alias=True, by_name=False)
        except ValidationError:
            return _REFUSED

    return check


# Per event class: wire key -> (field name, check). Built on first use of each class.
_TABLES: dict[type[BaseEvent], dict[str, tuple[str, _Check]]] = {}


def _table(cls: type[BaseEvent]) -> dict[str, tuple[str, _Check]]:
    table = _TABLES.get(cls)
    if table is None:
        table = {
            info.alias or name: (name, _check_for(info.annotation))
            for name, info in cls.model_fields.items()
            if name not in _NOT_RESTORED
        }
        _TABLES[cls] = table
    return table


def restore_tanstack(event: BaseEvent) -> None:
    """Copy ``metadata.tanstack`` values onto the event's fields whose top-level key is
    absent, without marking them set (see the module docstring). Call it on a freshly
    parsed event; a no-op when there is no ``metadata.tanstack`` object."""
    metadata = event.__dict__.get("metadata")
    if type(metadata) is not dict:
        return
    tanstack = metadata.get("tanstack")
    if type(tanstack) is not dict or not tanstack:
        return
    table = _table(type(event))
    values = event.__dict__
    fields_set = event.__pydantic_fields_set__
    for key, value in tanstack.items():
        entry = table.get(key)
        if entry is None or value is None:
            continue
        name, check = entry
        if name in fields_set:
            continue  # the top-level key is there (even as null): it wins
        checked = check(value)
        if checked is not _REFUSED:
            values[name] = checked
