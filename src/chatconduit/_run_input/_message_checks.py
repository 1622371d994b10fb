"""Validation of the ``messages[]`` of a request body, one message at a time.

:func:`_check_message` checks an AG-UI message (or, for a legacy body, a TanStack
ModelMessage) against its role: content and content parts (media sources, legacy
``binary`` content), tool calls, tool results, activity. A message whose ``parts`` are
valid comes back as a :class:`~chatconduit._messages.UIMessage` (only for the roles a
UIMessage can have), any other as a dict of the keys its role knows. Problems go to the
:class:`~._checker._Checker` with their JSON paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .._ids import generate_id
from .._messages import MEDIA_PART_TYPES, PART_TYPES, UIMessage, validation_problems
from ._checker import _Checker, _kind, _one_of, _short

_ROLES = ("developer", "system", "assistant", "user", "tool", "activity", "reasoning")
_UI_ROLES = frozenset({"system", "user", "assistant"})
_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "developer": ("id", "role", "content", "name"),
    "system": ("id", "role", "content", "name"),
    "assistant": ("id", "role", "content", "name", "toolCalls"),
    "user": ("id", "role", "content", "name"),
    "tool": ("id", "role", "content", "toolCallId", "error"),
    "activity": ("id", "role", "activityType", "content"),
    "reasoning": ("id", "role", "content"),
}
_COMMON_OPTIONAL = ("encryptedValue", "metadata")
_INPUT_CONTENT_TYPES = ("text", "image", "audio", "video", "document", "binary")


def _valid_parts(value: object) -> bool:
    """reference §6.2: parts are re-attached only if every element is an object of a known type."""
    return isinstance(value, list) and all(
        isinstance(p, Mapping) and isinstance(p.get("type"), str) and p["type"] in PART_TYPES
        for p in value
    )


def _check_source(c: _Checker, item: Mapping[str, Any], path: str) -> None:
    source = item.get("source")
    where = f"{path}.source"
    if source is None:
        c.add(where, "is required")
        return
    if c.obj(source, where) is None:
        return
    kind = source.get("type")
    if kind not in ("data", "url"):
        c.add(f"{where}.type", f"{_one_of(('data', 'url'))}, got {_short(kind)}")
        return
    c.string(source, "value", where, required=True)
    c.string(source, "mimeType", where, required=kind == "data")


def _check_input_content(c: _Checker, items: list[Any], path: str, *, legacy: bool) -> None:
    for j, raw in enumerate(items):
        where = f"{path}[{j}]"
        item = c.obj(raw, where)
        if item is None:
            continue
        kind = item.get("type")
        if kind == "text":
            if legacy and "text" not in item:
                c.string(item, "content", where, required=True)  # a TanStack ContentPart
            else:
                c.string(item, "text", where, required=True)
        elif isinstance(kind, str) and kind in MEDIA_PART_TYPES:  # a list is unhashable
            _check_source(c, item, where)
        elif kind == "binary":
            c.string(item, "mimeType", where, required=True)
            for key in ("id", "url", "data", "filename"):
                c.string(item, key, where, required=False)
            if item.get("url") is None and item.get("data") is None:
                c.add(where, "binary content needs `data` or `url` (a bare `id` is not supported)")
        else:
            c.add(f"{where}.type", f"{_one_of(_INPUT_CONTENT_TYPES)}, got {_short(kind)}")


def _check_tool_calls(c: _Checker, msg: Mapping[str, Any], path: str) -> None:
    for j, raw in enumerate(c.array(msg, "toolCalls", path, required=False)):
        where = f"{path}.toolCalls[{j}]"
        call = c.obj(raw, where)
        if call is None:
            continue
        c.string(call, "id", where, required=True)
        if call.get("type") != "function":
            c.add(f"{where}.type", f"must be 'function', got {_short(call.get('type'))}")
        fn = call.get("function")
        if fn is None:
            c.add(f"{where}.function", "is required")
        elif c.obj(fn, f"{where}.function") is not None:
            c.string(fn, "name", f"{where}.function", required=True)
            c.string(fn, "arguments", f"{where}.function", required=True)


def _check_content(
    c: _Checker, msg: Mapping[str, Any], role: str, path: str, *, legacy: bool
) -> None:
    where = f"{path}.content"
    content = msg.get("content")
    if legacy:
        # A TanStack ModelMessage: string, content-part array or null, on any role.
        if isinstance(content, list):
            _check_input_content(c, content, where, legacy=True)
        elif content is not None and not isinstance(content, str):
            c.add(where, f"must be a string, an array or null, got {_kind(content)}")
        return
    if role == "user":
        if isinstance(content, list):
            _check_input_content(c, content, where, legacy=False)
        elif not isinstance(content, str):
            problem = "is required" if "content" not in msg else f"got {_kind(content)}"
            c.add(where, f"must be a string or an array of content parts ({problem})")
    elif role == "activity":
        if content is None:
            c.add(where, "is required" if "content" not in msg else "must be an object, got null")
        else:
            c.obj(content, where)
    else:
        c.string(msg, "content", path, required=role != "assistant")


def _check_message(
    c: _Checker, raw: object, index: int, *, legacy: bool
) -> UIMessage | dict[str, Any] | None:
    path = f"messages[{index}]"
    msg = c.obj(raw, path)
    if msg is None:
        return None
    role = msg.get("role")
    if role not in _ROLES:
        problem = "is required" if "role" not in msg else f"{_one_of(_ROLES)}, got {_short(role)}"
        c.add(f"{path}.role", problem)
        return None
    assert isinstance(role, str)
    message_id = c.string(msg, "id", path, required=not legacy)
    for key in ("name", "encryptedValue"):
        c.string(msg, key, path, required=False)

    with_parts = role in _UI_ROLES and _valid_parts(msg.get("parts"))
    if not (legacy and with_parts):
        _check_content(c, msg, role, path, legacy=legacy)
        if role == "assistant":
            _check_tool_calls(c, msg, path)
        elif role == "tool":
            c.string(msg, "toolCallId", path, required=True)
            c.string(msg, "error", path, required=False)
        elif role == "activity":
            c.string(msg, "activityType", path, required=True)

    if with_parts:
        payload: dict[str, Any] = {
            "id": message_id if message_id is not None else generate_id("msg"),
            "role": role,
            "parts": msg["parts"],
        }
        if msg.get("createdAt") is not None:
            payload["createdAt"] = msg["createdAt"]
        try:
            return UIMessage.model_validate(payload)
        except ValidationError as exc:
            for loc, problem in validation_problems(exc, path, payload):
                c.add(loc, problem)
            return None

    known = _KNOWN_KEYS[role] + _COMMON_OPTIONAL
    # Optional keys sent as null are treated as absent, so the dict matches what
    # a zod parse of the same message without them would return.
    return {k: v for k, v in msg.items() if k in known and (v is not None or k == "content")}
