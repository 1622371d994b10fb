"""Copies of messages that later changes do not reach, made cheaply enough to take often.

A snapshot (``ChatClient.snapshot()``, ``updates()``) must not change when the live
conversation does, yet copying every message for every snapshot would make a long
reply quadratic. :class:`MessageFreezer` keeps the copies it made last time and copies
again only the parts that changed since (text is shared, never copied: Python strings
are immutable); it reports what it copied so that ``UpdateHub`` can ration snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import BaseModel

from .._messages import TextPart, ThinkingPart, ToolCallPart, ToolResultPart, UIMessage

__all__ = ["MessageFreezer", "freeze_message", "freeze_part", "part_unchanged"]


_MISSING: Final = object()


def _string_size(part: BaseModel) -> int:
    """Characters of the part's growing string (what copying it would cost)."""
    if isinstance(part, TextPart | ThinkingPart | ToolResultPart):
        return len(part.content)
    if isinstance(part, ToolCallPart):
        return len(part.arguments)
    return 0


def freeze_part(part: BaseModel) -> BaseModel:
    """A copy of ``part`` that later in-place updates of ``part`` do not reach.

    Field values are shared (strings and the JSON values the processor assigns are
    replaced, never mutated), except nested models (a tool call's ``approval`` is
    updated in place), which are copied.
    """
    copy = part.model_copy()
    d = copy.__dict__
    for key, value in d.items():
        if isinstance(value, BaseModel):
            d[key] = value.model_copy(deep=True)
    return copy


def freeze_message(message: UIMessage) -> UIMessage:
    """A copy of ``message`` (and its parts) that later updates of it do not reach."""
    frozen = message.model_copy()
    frozen.__dict__["parts"] = [freeze_part(p) for p in message.parts]
    return frozen


def part_unchanged(live: BaseModel, frozen: BaseModel) -> bool:
    """Whether ``frozen`` (made by :func:`freeze_part`) still equals ``live``, in O(fields).

    Identity is enough for everything but nested models: an in-place append to a string
    that a snapshot shares always produces a new string object (the snapshot holds a
    reference, so CPython cannot resize it in place).
    """
    if type(live) is not type(frozen):
        return False
    ld = live.__dict__
    fd = frozen.__dict__
    if len(ld) != len(fd):
        return False
    for key, value in ld.items():
        other = fd.get(key, _MISSING)
        if value is other:
            continue
        if isinstance(value, BaseModel) and value == other:
            continue
        return False
    return (
        live.model_fields_set == frozen.model_fields_set
        and live.__pydantic_extra__ == frozen.__pydantic_extra__
    )


class _Entry:
    __slots__ = ("fields", "frozen", "live", "parts")

    def __init__(
        self,
        live: UIMessage,
        frozen: UIMessage,
        parts: tuple[BaseModel, ...],
        fields: tuple[tuple[str, Any], ...],
    ) -> None:
        self.live = live  # keeps the live object alive, so its id() is not reused
        self.frozen = frozen
        self.parts = parts  # the live part objects the frozen parts were copied from
        self.fields = fields  # the live message's other fields, by identity

    def fields_unchanged(self, message: UIMessage) -> bool:
        d = message.__dict__
        if len(d) != len(self.fields) + 1:
            return False
        return all(d.get(key, _MISSING) is value for key, value in self.fields)


def _other_fields(message: UIMessage) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in message.__dict__.items() if k != "parts")


class MessageFreezer:
    """Copies a message list for a snapshot, reusing the copies of what did not change.

    The cost of :meth:`freeze` is one check per message and part, plus copying the
    parts that changed; it returns that cost (in "characters", a part counting its
    text length) so that :class:`UpdateHub` can keep the total linear.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}

    def freeze(self, messages: Sequence[UIMessage]) -> tuple[tuple[UIMessage, ...], int]:
        entries: dict[int, _Entry] = {}
        out: list[UIMessage] = []
        cost = 0
        for message in messages:
            parts = message.parts
            cost += 1 + len(parts)
            entry = self._entries.get(id(message))
            if entry is not None and entry.live is not message:
                entry = None
            if (
                entry is not None
                and entry.fields_unchanged(message)
                and len(parts) == len(entry.parts)
                and all(
                    p is q and part_unchanged(p, f)
                    for p, q, f in zip(parts, entry.parts, entry.frozen.parts, strict=True)
                )
            ):
                entries[id(message)] = entry
                out.append(entry.frozen)
                continue
            old: dict[int, BaseModel] = {}
            if entry is not None:
                old = {id(p): f for p, f in zip(entry.parts, entry.frozen.parts, strict=True)}
            frozen_parts: list[Any] = []
            for part in parts:
                previous = old.get(id(part))
                if previous is not None and part_unchanged(part, previous):
                    frozen_parts.append(previous)
                else:
                    frozen_parts.append(freeze_part(part))
                    cost += _string_size(part)
            frozen = message.model_copy()
            frozen.__dict__["parts"] = frozen_parts
            entry = _Entry(message, frozen, tuple(parts), _other_fields(message))
            entries[id(message)] = entry
            out.append(frozen)
        self._entries = entries
        return tuple(out), cost
