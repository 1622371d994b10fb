"""The request body: AG-UI ``RunAgentInput`` as TanStack AI 0.10 sends it, and back.

Client side (SPEC 1.2-1.5): :func:`build_run_agent_input` turns UIMessages plus the
run context into the exact dict the reference ``fetch`` adapters POST (same key
order, same fan-out of reasoning and tool messages), and
:func:`encode_run_agent_input` gives its bytes. For the same inputs the bytes
are identical to the reference's.

Server side (SPEC 6.2-6.3): :func:`parse_run_agent_input` validates a body and
returns a typed :class:`RunAgentInput`; :func:`convert_messages_to_model_messages`
flattens messages into LLM-ready :class:`~chatconduit._messages.ModelMessage`\\ s.

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
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from . import _json
from ._exceptions import RequestValidationError
from ._ids import generate_id, now_ms, to_base36
from ._messages import (
    MEDIA_PART_TYPES,
    PART_TYPES,
    AudioPart,
    ContentPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MessageValidationError,
    ModelMessage,
    ModelToolCall,
    ModelToolCallFunction,
    TextPart,
    ThinkingEntry,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    UrlSource,
    VideoPart,
    message_from_dict,
    part_from_dict,
    to_json_value,
    validation_problems,
)

__all__ = [
    "ClientTool",
    "ContextItem",
    "RunAgentInput",
    "ToolSpec",
    "WireInputMessage",
    "build_run_agent_input",
    "convert_messages_to_model_messages",
    "encode_run_agent_input",
    "generate_run_id",
    "merge_agent_tools",
    "parse_run_agent_input",
    "reasoning_hash",
    "ui_message_to_model_messages",
    "ui_messages_to_wire",
]

WireInputMessage: TypeAlias = UIMessage | ModelMessage | Mapping[str, Any]
"""What the serialisers accept: our models, or plain camelCase dicts."""

_RAND_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def generate_run_id(prefix: str) -> str:
    """``thread-1795480475343-zbln8``: the reference's ``<prefix>-<Date.now()>-<≤6 base36>``."""
    rand = "".join(secrets.choice(_RAND_ALPHABET) for _ in range(6))
    return f"{prefix}-{now_ms()}-{rand}"


# =========================================================================== client side

_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


def reasoning_hash(text: str) -> str:
    """The suffix of a reasoning fan-out id when the thinking part has no ``id``.

    Java's ``String.hashCode`` as the reference computes it: ``h = (h*31 + unit) | 0``
    over UTF-16 code units (so an emoji counts twice), then ``Math.abs`` and base 36.
    """
    h = 0
    units = memoryview(text.encode(_UTF16, "surrogatepass")).cast("H")
    for unit in units:
        h = (h * 31 + unit) & 0xFFFFFFFF
    if h & 0x80000000:
        h -= 0x1_0000_0000  # back to a signed 32-bit value, as ``| 0`` leaves it
    return to_base36(abs(h))


def _message_dict(message: object, index: int) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        result: dict[str, Any] = to_json_value(message)
        return result
    if isinstance(message, Mapping):
        return {str(k): to_json_value(v) for k, v in message.items()}
    raise TypeError(
        f"messages[{index}] must be a UIMessage, ModelMessage or mapping, "
        f"got {type(message).__name__}"
    )


def _collect_text(parts: list[Any]) -> str:
    return "".join(
        p["content"]
        for p in parts
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("content"), str)
    )


def _own_content(message: dict[str, Any]) -> Any:
    content = message.get("content")
    return "" if content is None else content


def _user_content(parts: list[Any]) -> str | list[dict[str, Any]]:
    if not any(isinstance(p, dict) and p.get("type") in MEDIA_PART_TYPES for p in parts):
        return _collect_text(parts)
    out: list[dict[str, Any]] = []
    for p in parts:
        if not isinstance(p, dict):
            continue
        if p.get("type") == "text":
            out.append({"type": "text", "text": p.get("content")})
        elif p.get("type") in MEDIA_PART_TYPES:
            out.append(p)
    return out


def ui_messages_to_wire(messages: Iterable[WireInputMessage]) -> list[dict[str, Any]]:
    """``RunAgentInput.messages`` as the reference's ``uiMessagesToWire`` builds it (SPEC 1.5).

    Each anchor keeps all of its own keys (``parts`` verbatim) and gains the AG-UI
    mirror fields; assistants are preceded by one ``reasoning`` entry per thinking
    part and followed by one ``tool`` entry per tool-result part.
    """
    wire: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        msg = _message_dict(message, index)
        raw_parts = msg.get("parts")
        parts: list[Any] = raw_parts if isinstance(raw_parts, list) else []
        role = msg.get("role")

        if role == "system":
            wire.append({**msg, "content": _collect_text(parts) if parts else _own_content(msg)})
            continue
        if role == "user":
            wire.append({**msg, "content": _user_content(parts) if parts else _own_content(msg)})
            continue

        message_id = msg.get("id")
        id_text = "undefined" if message_id is None else str(message_id)
        for p in parts:
            if isinstance(p, dict) and p.get("type") == "thinking":
                suffix = p.get("id")
                if suffix is None:
                    content = p.get("content")
                    suffix = reasoning_hash(content if isinstance(content, str) else "")
                entry: dict[str, Any] = {"role": "reasoning", "id": f"{id_text}-reasoning-{suffix}"}
                if "content" in p:
                    entry["content"] = p["content"]
                wire.append(entry)

        anchor = dict(msg)
        text = _collect_text(parts)
        if text:
            anchor["content"] = text
        tool_calls = [
            {
                "id": p.get("id"),
                "type": "function",
                "function": {"name": p.get("name"), "arguments": p.get("arguments")},
            }
            for p in parts
            if isinstance(p, dict) and p.get("type") == "tool-call"
        ]
        if tool_calls:
            anchor["toolCalls"] = tool_calls
        wire.append(anchor)

        for p in parts:
            if isinstance(p, dict) and p.get("type") == "tool-result":
                tool_call_id = p.get("toolCallId")
                fan_out: dict[str, Any] = {
                    "role": "tool",
                    "id": f"tool-{tool_call_id}",
                    "toolCallId": tool_call_id,
                    "content": p.get("content"),
                }
                if "error" in p:
                    fan_out["error"] = p["error"]
                wire.append(fan_out)
    return wire


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool declaration: a client tool the server may ask for, or one parsed from a request.

    On the wire it is ``{name, description, parameters}``; a tool without a schema
    advertises ``{"type": "object"}``, as the reference does.
    """

    name: str
    description: str | None = None
    parameters: Any = None
    metadata: Any = None

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str | None,
        schema: Mapping[str, Any] | type[BaseModel] | None = None,
    ) -> ToolSpec:
        """Build a spec from a JSON Schema mapping (kept as is) or a pydantic model class.

        A model class is converted the way the reference converts a Standard
        Schema validator: its JSON Schema without ``$schema``, and for object
        schemas ``properties`` and ``required`` always present.
        """
        if schema is None:
            return cls(name, description)
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            converted = dict(schema.model_json_schema())
            converted.pop("$schema", None)
            if converted.get("type") == "object":
                converted.setdefault("properties", {})
                converted.setdefault("required", [])
            return cls(name, description, converted)
        if isinstance(schema, Mapping):
            return cls(name, description, dict(schema))
        raise TypeError(
            f"tool {name!r}: schema must be a JSON Schema mapping or a pydantic model class, "
            f"got {type(schema).__name__}"
        )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["parameters"] = (
            {"type": "object"} if self.parameters is None else to_json_value(self.parameters)
        )
        if self.metadata is not None:
            out["metadata"] = to_json_value(self.metadata)
        return out


def build_run_agent_input(
    messages: Iterable[WireInputMessage],
    *,
    thread_id: str | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
    forwarded_props: Mapping[str, Any] | None = None,
    adapter_body: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The POST body, key for key as the reference's fetch adapters build it (SPEC 1.2-1.3).

    ``forwardedProps`` merges ``adapter_body`` < ``forwarded_props`` < ``data`` (later
    wins, first insertion keeps its position); ``data`` in the body is a copy of it.
    Missing thread/run ids are generated like the reference's.
    """
    wire_messages = ui_messages_to_wire(messages)
    merged: dict[str, Any] = {}
    for source in (adapter_body, forwarded_props, data):
        if source:
            merged.update(source)
    props: dict[str, Any] = to_json_value(merged)

    body: dict[str, Any] = {
        "threadId": thread_id if thread_id is not None else generate_run_id("thread"),
        "runId": run_id if run_id is not None else generate_run_id("run"),
    }
    if parent_run_id is not None:
        body["parentRunId"] = parent_run_id
    body["state"] = {}
    body["messages"] = wire_messages
    body["tools"] = [
        tool.to_wire() if isinstance(tool, ToolSpec) else to_json_value(dict(tool))
        for tool in tools or ()
    ]
    body["context"] = []
    body["forwardedProps"] = props
    body["data"] = dict(props)
    return body


def encode_run_agent_input(
    messages: Iterable[WireInputMessage],
    *,
    thread_id: str | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
    forwarded_props: Mapping[str, Any] | None = None,
    adapter_body: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> bytes:
    """:func:`build_run_agent_input` as the exact bytes ``JSON.stringify`` would send."""
    return _json.dumps_bytes(
        build_run_agent_input(
            messages,
            thread_id=thread_id,
            run_id=run_id,
            parent_run_id=parent_run_id,
            tools=tools,
            forwarded_props=forwarded_props,
            adapter_body=adapter_body,
            data=data,
        )
    )


# =========================================================================== server side


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
    conversation flattened for an LLM (fan-out duplicates removed, SPEC 6.3).
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
    """SPEC 6.2: parts are re-attached only if every element is an object of a known type."""
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
        elif kind in MEDIA_PART_TYPES:
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


# =========================================================================== model messages

_MEDIA_BY_PREFIX: dict[str, type[ImagePart | AudioPart | VideoPart]] = {
    "image/": ImagePart,
    "audio/": AudioPart,
    "video/": VideoPart,
}


def _content_part(item: Mapping[str, Any], where: str) -> ContentPart:
    """An AG-UI input content item (or a TanStack content part) as a typed content part."""
    kind = item.get("type")
    if kind == "text":
        text = item["text"] if "text" in item else item.get("content")
        extra = {"metadata": item["metadata"]} if item.get("metadata") is not None else {}
        return TextPart(content=text if isinstance(text, str) else "", **extra)
    if kind == "binary":
        mime = str(item.get("mimeType", ""))
        source: DataSource | UrlSource
        if item.get("data") is not None:
            source = DataSource(value=str(item["data"]), mime_type=mime)
        elif item.get("url") is not None:
            source = UrlSource(value=str(item["url"]), mime_type=mime)
        else:
            raise MessageValidationError(
                f"{where}: binary content needs `data` or `url`",
                [(where, "binary content needs `data` or `url`")],
            )
        cls: type[ImagePart | AudioPart | VideoPart | DocumentPart] = DocumentPart
        for prefix, media_cls in _MEDIA_BY_PREFIX.items():
            if mime.startswith(prefix):
                cls = media_cls
        if item.get("filename") is not None:
            return cls(source=source, metadata={"filename": item["filename"]})
        return cls(source=source)
    part = part_from_dict(item, where=where)
    if part.type not in MEDIA_PART_TYPES:
        raise MessageValidationError(
            f"{where}.type: {part.type!r} is not a content part",
            [(f"{where}.type", f"{part.type!r} is not a content part")],
        )
    assert isinstance(part, ImagePart | AudioPart | VideoPart | DocumentPart)
    return part


def _model_message_from_mapping(msg: Mapping[str, Any], where: str) -> ModelMessage:
    fields = {str(k): v for k, v in msg.items()}
    content = fields.get("content")
    if isinstance(content, list):
        fields["content"] = [
            _content_part(item, f"{where}.content[{j}]")
            if isinstance(item, Mapping)
            else item  # left for the model validation to report
            for j, item in enumerate(content)
        ]
    try:
        return ModelMessage.model_validate(fields)
    except ValidationError as exc:
        problems = validation_problems(exc, where, fields)
        text = "; ".join(f"{loc}: {problem}" for loc, problem in problems)
        raise MessageValidationError(f"invalid ModelMessage: {text}", problems) from None


def convert_messages_to_model_messages(
    messages: Iterable[WireInputMessage],
) -> list[ModelMessage]:
    """Flatten a conversation for an LLM, as the reference's ``convertMessagesToModelMessages``.

    UIMessages (or mappings with ``parts``) go through
    :func:`ui_message_to_model_messages`; a parts-less ``tool`` message whose
    ``toolCallId`` is already answered by a tool-result part is the AG-UI fan-out
    duplicate and is dropped; ``reasoning``/``activity`` messages are dropped;
    ``developer`` becomes ``system``; anything else is kept as a ModelMessage.
    """
    items: list[UIMessage | ModelMessage | Mapping[str, Any]] = []
    for i, message in enumerate(messages):
        if isinstance(message, Mapping) and "parts" in message:
            items.append(message_from_dict(message, where=f"messages[{i}]"))
        elif isinstance(message, UIMessage | ModelMessage | Mapping):
            items.append(message)
        else:
            raise TypeError(
                f"messages[{i}] must be a UIMessage, ModelMessage or mapping, "
                f"got {type(message).__name__}"
            )

    anchored = {
        part.tool_call_id
        for m in items
        if isinstance(m, UIMessage)
        for part in m.parts
        if isinstance(part, ToolResultPart)
    }

    out: list[ModelMessage] = []
    for i, m in enumerate(items):
        if isinstance(m, UIMessage):
            out.extend(ui_message_to_model_messages(m))
            continue
        if isinstance(m, ModelMessage):
            role: object = m.role
            tool_call_id: object = m.tool_call_id
        else:
            role = m.get("role")
            tool_call_id = m.get("toolCallId", m.get("tool_call_id"))
        if role == "tool" and tool_call_id and tool_call_id in anchored:
            continue
        if role in ("reasoning", "activity"):
            continue
        if role == "developer" and not isinstance(m, ModelMessage):
            system = {"role": "system", "content": m.get("content")}
            out.append(_model_message_from_mapping(system, f"messages[{i}]"))
            continue
        if isinstance(m, ModelMessage):
            out.append(m)
        else:
            out.append(_model_message_from_mapping(m, f"messages[{i}]"))
    return out


def _collapse(parts: list[ContentPart]) -> str | list[ContentPart] | None:
    """No parts → None; only text → the joined text (None if empty); else the parts."""
    if not parts:
        return None
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.content for p in parts if isinstance(p, TextPart)) or None
    return parts


def ui_message_to_model_messages(message: UIMessage) -> list[ModelMessage]:
    """One UIMessage as model messages, keeping the order of text, tool calls and results.

    ``system`` yields nothing (system prompts travel separately); ``user`` yields one
    message; an ``assistant`` is split at each tool result into
    ``assistant(content, toolCalls)`` / ``tool(result)`` pairs, then outputs and
    approval decisions recorded on tool-call parts are appended as tool messages.
    """
    if message.role == "system":
        return []
    if message.role != "assistant":
        content_parts: list[ContentPart] = [
            p.model_copy()
            for p in message.parts
            if isinstance(p, TextPart | ImagePart | AudioPart | VideoPart | DocumentPart)
        ]
        return [ModelMessage(role=message.role, content=_collapse(content_parts))]

    out: list[ModelMessage] = []
    segment: list[ContentPart] = []
    calls: list[ModelToolCall] = []
    thinking: list[ThinkingEntry] = []
    emitted: set[str] = set()

    def flush() -> None:
        nonlocal segment, calls, thinking
        content = _collapse(segment)
        if content is not None or calls:
            fields: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                fields["tool_calls"] = calls
            if thinking:
                fields["thinking"] = thinking
                thinking = []
            out.append(ModelMessage(**fields))
        segment, calls = [], []

    for part in message.parts:
        if isinstance(part, TextPart | ImagePart | AudioPart | VideoPart | DocumentPart):
            segment.append(part.model_copy())
        elif isinstance(part, ToolCallPart):
            if part.state in ("input-complete", "approval-responded") or part.has_output:
                call = ModelToolCall(
                    id=part.id,
                    function=ModelToolCallFunction(name=part.name, arguments=part.arguments),
                )
                if part.metadata is not None:
                    call.metadata = part.metadata
                calls.append(call)
        elif isinstance(part, ToolResultPart):
            flush()
            if part.state in ("complete", "error") and part.tool_call_id not in emitted:
                out.append(
                    ModelMessage(role="tool", content=part.content, tool_call_id=part.tool_call_id)
                )
                emitted.add(part.tool_call_id)
        elif part.type == "thinking" and part.content:
            entry = ThinkingEntry(content=part.content)
            if part.signature:
                entry.signature = part.signature
            thinking.append(entry)
    flush()

    for part in message.parts:
        if not isinstance(part, ToolCallPart) or part.id in emitted:
            continue
        if part.has_output:
            result = _json.dumps(to_json_value(part.output))
        elif (
            part.state == "approval-responded"
            and part.approval is not None
            and part.approval.approved is not None
        ):
            approved = part.approval.approved
            decision: dict[str, Any] = {"approved": approved}
            if approved:
                decision["pendingExecution"] = True
            decision["message"] = (
                "User approved this action" if approved else "User denied this action"
            )
            result = _json.dumps(decision)
        else:
            continue
        out.append(ModelMessage(role="tool", content=result, tool_call_id=part.id))
        emitted.add(part.id)

    if not out:
        out.append(ModelMessage(role="assistant", content=None))
    return out


# =========================================================================== tools


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool the client declared and the server does not implement.

    It has no ``execute``: an agent runtime that meets one should emit a
    ``tool-input-available`` request and let the client run it.
    """

    name: str
    description: str | None
    input_schema: Any = None
    metadata: Any = None
    execute: None = None


_T = TypeVar("_T")


def _tool_name(tool: object) -> object:
    if isinstance(tool, Mapping):
        return tool.get("name")
    return getattr(tool, "name", None)


def merge_agent_tools(
    server_tools: Sequence[_T],
    client_tools: Iterable[ToolSpec | Mapping[str, Any]],
) -> list[_T | ClientTool]:
    """Server tools first (unchanged), then client-only tools as :class:`ClientTool`.

    The server wins on a name collision, and of two client tools with the same
    name the first is kept (SPEC 6.2). Server tools may be any objects with a
    ``name`` attribute, or mappings with a ``"name"`` key.
    """
    seen = {_tool_name(t) for t in server_tools}
    merged: list[_T | ClientTool] = list(server_tools)
    for tool in client_tools:
        spec = tool if isinstance(tool, ToolSpec) else _spec_from_mapping(tool)
        if spec.name in seen:
            continue
        seen.add(spec.name)
        merged.append(ClientTool(spec.name, spec.description, spec.parameters, spec.metadata))
    return merged


def _spec_from_mapping(tool: Mapping[str, Any]) -> ToolSpec:
    name = tool.get("name")
    if not isinstance(name, str):
        raise TypeError(f"a client tool needs a string 'name', got {_kind(name)}")
    description = tool.get("description")
    return ToolSpec(
        name,
        description if isinstance(description, str) else None,
        tool.get("parameters"),
        tool.get("metadata"),
    )
