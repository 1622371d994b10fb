"""The server side of the request body: validate a ``RunAgentInput`` into typed values.

reference §6.2-6.3: :func:`parse_run_agent_input` validates a body and returns a typed
:class:`RunAgentInput`, its messages also flattened for an LLM by
:func:`~chatconduit._run_input._model_messages.convert_messages_to_model_messages`.

Where we differ from the reference on purpose:

- the legacy ``{messages, data}`` body of older clients is accepted (the
  reference rejects it): ``data`` and any other top-level keys become
  ``forwarded_props`` and ids are generated;
- every validation problem is reported with its JSON path
  (``messages[2].role``), all at once, as a
  :class:`~chatconduit._exceptions.RequestValidationError`;
- ``null`` is accepted wherever a field is optional (zod rejects it);
- legacy ``binary`` user content is turned into a media part, and refused when it
  carries neither ``data`` nor ``url`` (no model can use a bare file id);
- ``parts`` are only re-attached to ``system``/``user``/``assistant`` messages, the
  roles a UIMessage can have.

Read top to bottom: the result types, the problem collector (:class:`_Checker`,
one ``(json path, problem)`` pair per problem), the body decoding, one check per
part of the body, then :func:`parse_run_agent_input` that ties them together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pydantic import ValidationError

from .. import _json
from .._exceptions import RequestValidationError
from .._ids import generate_id
from .._messages import (
    MEDIA_PART_TYPES,
    PART_TYPES,
    MessageValidationError,
    ModelMessage,
    UIMessage,
    validation_problems,
)
from ._model_messages import convert_messages_to_model_messages
from ._request_body import ToolSpec, generate_run_id


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One AG-UI context entry (``{description, value}``)."""

    description: str
    value: str


@dataclass(frozen=True, slots=True)
class RunAgentInput:
    """A validated request body.

    ``messages`` is what the reference's ``chatParamsFromRequestBody`` returns:
    a :class:`UIMessage` where the request carried valid ``parts``, otherwise the
    AG-UI message as a dict of its known keys. ``model_messages`` is the same
    conversation flattened for an LLM (fan-out duplicates removed, reference §6.3).
    ``legacy`` tells that the body was the pre-AG-UI ``{messages, data}`` shape.
    """

    thread_id: str
    run_id: str
    parent_run_id: str | None
    state: Any
    messages: list[UIMessage | dict[str, Any]]
    tools: list[ToolSpec]
    context: list[ContextItem]
    forwarded_props: Any
    model_messages: list[ModelMessage] = field(default_factory=list)
    legacy: bool = False

    @property
    def ui_messages(self) -> list[UIMessage]:
        """The messages that arrived with ``parts``, in order."""
        return [m for m in self.messages if isinstance(m, UIMessage)]


_MAX_LISTED_ERRORS = 10
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


def _kind(value: object) -> str:
    """The JSON type name of a parsed value, for error messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _short(value: object) -> str:
    """A short quote of an enum-like string value, so a typo'd role is recognisable."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    return _kind(value)


def _one_of(options: Sequence[str]) -> str:
    return "must be one of " + ", ".join(repr(o) for o in options)


class _Checker:
    """Collects ``(path, problem)`` pairs while walking a body."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append((path or "(body)", problem))

    def string(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "is required" if key not in obj else "must be a string, got null")
            return None
        if not isinstance(value, str):
            self.add(where, f"must be a string, got {_kind(value)}")
            return None
        return value

    def array(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> list[Any]:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "is required" if key not in obj else "must be an array, got null")
            return []
        if not isinstance(value, list):
            self.add(where, f"must be an array, got {_kind(value)}")
            return []
        return value

    def obj(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"must be an object, got {_kind(value)}")
            return None
        return value


def _load_body(body: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> Any:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 BOM, which ``Response.json()`` also ignores
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"is not valid UTF-8 (byte offset {exc.start})"
            raise RequestValidationError(f"Request body {problem}", [("(body)", problem)]) from None
    elif isinstance(body, str):
        text = body.removeprefix("\ufeff")
    else:
        raise TypeError(f"body must be bytes, str or a mapping, got {type(body).__name__}")
    if not text.strip():
        problem = "is empty; expected a JSON RunAgentInput object"
        raise RequestValidationError(f"Request body {problem}", [("(body)", problem)])
    try:
        return _json.loads(text)
    except RecursionError:
        problem = "is not valid JSON: nested too deeply"
    except ValueError as exc:
        problem = f"is not valid JSON: {exc}"
    raise RequestValidationError(f"Request body {problem}", [("(body)", problem)]) from None


def _raise_problems(problems: list[tuple[str, str]]) -> NoReturn:
    listed = "; ".join(f"{loc}: {problem}" for loc, problem in problems[:_MAX_LISTED_ERRORS])
    more = len(problems) - _MAX_LISTED_ERRORS
    if more > 0:
        listed += f" (and {more} more)"
    raise RequestValidationError(
        f"Request body is not a valid AG-UI RunAgentInput: {listed}", list(problems)
    )


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


def _check_tools(c: _Checker, body: Mapping[str, Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for i, raw in enumerate(c.array(body, "tools", "", required=True)):
        where = f"tools[{i}]"
        tool = c.obj(raw, where)
        if tool is None:
            continue
        name = c.string(tool, "name", where, required=True)
        description = c.string(tool, "description", where, required=True)
        if name is not None and description is not None:
            tools.append(ToolSpec(name, description, tool.get("parameters"), tool.get("metadata")))
    return tools


def _check_context(c: _Checker, body: Mapping[str, Any]) -> list[ContextItem]:
    items: list[ContextItem] = []
    for i, raw in enumerate(c.array(body, "context", "", required=True)):
        where = f"context[{i}]"
        entry = c.obj(raw, where)
        if entry is None:
            continue
        description = c.string(entry, "description", where, required=True)
        value = c.string(entry, "value", where, required=True)
        if description is not None and value is not None:
            items.append(ContextItem(description, value))
    return items


def _is_legacy(body: Mapping[str, Any]) -> bool:
    return "messages" in body and "threadId" not in body and "runId" not in body


def parse_run_agent_input(
    body: bytes | bytearray | memoryview | str | Mapping[str, Any],
) -> RunAgentInput:
    """Validate a request body (raw bytes, text or an already-parsed mapping).

    Accepts the AG-UI ``RunAgentInput`` the TanStack 0.10 client sends, and the
    legacy ``{messages, data}`` shape of older clients. Raises
    :class:`~chatconduit._exceptions.RequestValidationError` listing every problem
    with its JSON path; input values are never echoed (bodies may carry secrets),
    except short enum-like strings such as an unknown ``role``.
    """
    data = _load_body(body)
    c = _Checker()
    if not isinstance(data, Mapping):
        _raise_problems([("(body)", f"must be a JSON object, got {_kind(data)}")])
    legacy = _is_legacy(data)

    if legacy:
        thread_id: str | None = generate_run_id("thread")
        run_id: str | None = generate_run_id("run")
        parent_run_id = None
        state = None
        tools: list[ToolSpec] = []
        context: list[ContextItem] = []
        extra_data = data.get("data")
        if extra_data is not None and not isinstance(extra_data, Mapping):
            c.add("data", f"must be an object, got {_kind(extra_data)}")
            extra_data = None
        # Older adapters spread their static ``body`` option onto the top level;
        # it ranks below ``data``, as the adapter body ranks below it today.
        forwarded: Any = {k: v for k, v in data.items() if k not in ("messages", "data")}
        forwarded.update(extra_data or {})
    else:
        thread_id = c.string(data, "threadId", "", required=True)
        run_id = c.string(data, "runId", "", required=True)
        parent_run_id = c.string(data, "parentRunId", "", required=False)
        state = data.get("state")
        tools = _check_tools(c, data)
        context = _check_context(c, data)
        forwarded = data.get("forwardedProps")
        if forwarded is None:
            forwarded = {}

    messages: list[UIMessage | dict[str, Any]] = []
    for i, raw in enumerate(c.array(data, "messages", "", required=True)):
        checked = _check_message(c, raw, i, legacy=legacy)
        if checked is not None:
            messages.append(checked)

    if c.problems:
        _raise_problems(c.problems)
    assert thread_id is not None and run_id is not None
    try:
        model_messages = convert_messages_to_model_messages(messages)
    except MessageValidationError as exc:  # pragma: no cover - validated above
        _raise_problems(exc.errors)
    return RunAgentInput(
        thread_id=thread_id,
        run_id=run_id,
        parent_run_id=parent_run_id,
        state=state,
        messages=messages,
        tools=tools,
        context=context,
        forwarded_props=forwarded,
        model_messages=model_messages,
        legacy=legacy,
    )
