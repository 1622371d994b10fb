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

What the current clients add is parsed into typed fields: ``resume`` (the answers to a
paused run's interrupts, :class:`ResumeEntry`), ``protocolVersion`` (AG-UI 1.0 clients
declare it), and ``role: "reasoning"`` history messages, which stay in ``messages`` as
dicts and are also offered typed (:attr:`RunAgentInput.reasoning`). The interrupts an
agent pauses a run with are built here too (:meth:`RunAgentInput.client_tool_interrupt`,
:meth:`RunAgentInput.approval_interrupt`, :meth:`RunAgentInput.interrupt_run`), because
the run they name and the answers that come back both live on :class:`RunAgentInput`.

Read top to bottom: the result types, the problem collector (:class:`_Checker`,
one ``(json path, problem)`` pair per problem), the body decoding, one check per
part of the body, then :func:`parse_run_agent_input` that ties them together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

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
class ResumeEntry:
    """One answer to an interrupt of the paused run (AG-UI ``resume[]``).

    ``status`` is ``"resolved"`` (``payload`` holds the answer: a client tool's output,
    ``{"approved": bool, "editedArgs"?: {...}}`` for an approval) or ``"cancelled"``
    (the user dismissed it; ``payload`` is usually ``None``). ``payload`` is ``None``
    when the client sent none (or ``null``).
    """

    interrupt_id: str
    status: Literal["resolved", "cancelled"]
    payload: Any = None
    metadata: Mapping[str, Any] | None = None

    @property
    def approved(self) -> bool | None:
        """For an approval: ``True``/``False`` as the user decided, ``None`` when
        cancelled or when the payload carries no boolean ``approved``."""
        if self.status != "resolved" or not isinstance(self.payload, Mapping):
            return None
        decision = self.payload.get("approved")
        return decision if isinstance(decision, bool) else None


@dataclass(frozen=True, slots=True)
class ReasoningMessage:
    """A ``role: "reasoning"`` history message: the thinking of an earlier answer.

    TanStack (0.10 and 0.33) sends each thinking part of an assistant message as a
    separate message right before it, ``{id, role: "reasoning", content,
    encryptedValue?}``; ``encryptedValue`` is the provider's signature of that thinking
    (what a model needs to continue from it). ``assistant_id`` is the id of the next
    assistant message in the list, the one this thinking belongs to (``None`` when
    none follows). The dict form stays in :attr:`RunAgentInput.messages`.
    """

    id: str
    content: str
    encrypted_value: str | None = None
    metadata: Mapping[str, Any] | None = None
    assistant_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunAgentInput:
    """A validated request body.

    ``messages`` is what the reference's ``chatParamsFromRequestBody`` returns:
    a :class:`UIMessage` where the request carried valid ``parts``, otherwise the
    AG-UI message as a dict of its known keys. ``model_messages`` is the same
    conversation flattened for an LLM (fan-out duplicates removed, reference §6.3).
    ``legacy`` tells that the body was the pre-AG-UI ``{messages, data}`` shape.

    ``parent_run_id`` and ``resume`` come with an answer to a paused run: the run that
    paused, and one :class:`ResumeEntry` per interrupt it paused with.
    ``protocol_version`` is what the client declared (``"1.0"`` from AG-UI 1.0 clients).
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
    resume: tuple[ResumeEntry, ...] = ()
    protocol_version: str | None = None

    @property
    def ui_messages(self) -> list[UIMessage]:
        """The messages that arrived with ``parts``, in order."""
        return [m for m in self.messages if isinstance(m, UIMessage)]

    @property
    def reasoning(self) -> list[ReasoningMessage]:
        """The ``role: "reasoning"`` messages, typed, each with the assistant it precedes."""
        found: list[ReasoningMessage] = []
        waiting: list[int] = []  # reasoning entries not yet followed by an assistant
        for message in self.messages:
            role = message.role if isinstance(message, UIMessage) else message.get("role")
            if role == "assistant":
                assistant_id = message.id if isinstance(message, UIMessage) else message.get("id")
                for index in waiting:
                    entry = found[index]
                    found[index] = ReasoningMessage(
                        entry.id,
                        entry.content,
                        entry.encrypted_value,
                        entry.metadata,
                        assistant_id if isinstance(assistant_id, str) else None,
                    )
                waiting = []
            elif role == "reasoning" and isinstance(message, Mapping):
                metadata = message.get("metadata")
                waiting.append(len(found))
                found.append(
                    ReasoningMessage(
                        id=str(message.get("id", "")),
                        content=str(message.get("content") or ""),
                        encrypted_value=message.get("encryptedValue"),
                        metadata=metadata if isinstance(metadata, Mapping) else None,
                    )
                )
        return found

    def resumed(self, interrupt_id: str) -> ResumeEntry | None:
        """The answer this request carries for ``interrupt_id``, if any."""
        return next((e for e in self.resume if e.interrupt_id == interrupt_id), None)

    # --- pausing the run: interrupts (TanStack 0.58 / AG-UI 1.0 shape) ---------------

    def client_tool_interrupt(
        self, tool_call_id: str, tool_name: str, input: Any
    ) -> dict[str, Any]:
        """The interrupt asking the client to run its tool ``tool_name`` with ``input``.

        Exactly what TanStack 0.58 sends (``id: "client_tool_<toolCallId>"``, reason
        ``tanstack:client_tool_execution`` and its resume binding), so a 0.33 client runs
        the tool and answers with ``resume``; end the run with :meth:`interrupt_run`.
        """
        return client_tool_interrupt(self.run_id, tool_call_id, tool_name, input)

    def approval_interrupt(
        self,
        tool_call_id: str,
        tool_name: str,
        input: Any,
        *,
        input_schema: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """The interrupt asking the user to approve the call of ``tool_name`` (reason
        ``tool_call``, ``id: "approval_<toolCallId>"``), as TanStack 0.58 sends it.

        ``input_schema`` is the tool's JSON Schema: it lets the user edit the arguments
        (``editedArgs``) and lets a client that declares the same tool with
        ``needsApproval`` bind the interrupt as a typed approval. The answer arrives as
        a :class:`ResumeEntry` (``resumed("approval_<toolCallId>").approved``) and, from
        TanStack clients, also as a tool message ``{"approved": ..., ...}``.
        """
        return approval_interrupt(
            self.run_id, tool_call_id, tool_name, input, input_schema=input_schema, message=message
        )

    def interrupt_run(
        self, interrupts: Iterable[Mapping[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        """The RUN_FINISHED that pauses this run on ``interrupts`` (yield it last).

        ``fields`` are added before ``finishReason`` (``model``, ``timestamp``, ``usage``,
        ...). In the current dialect it is sent as is (``outcome: {type: "interrupt"}``);
        for TanStack 0.10 clients the server turns each interrupt into the CUSTOM
        ``tool-input-available`` / ``approval-requested`` event they understand.
        """
        return interrupt_run_event(self.run_id, self.thread_id, interrupts, **fields)


# --- interrupts: what a paused run sends, as TanStack 0.58 writes it ---------------------

CLIENT_TOOL_REASON = "tanstack:client_tool_execution"
"""``reason`` of "run this client tool and send me its output" (TanStack 0.58)."""
APPROVAL_REASON = "tool_call"
"""``reason`` of "approve this tool call" (TanStack 0.58 approvals, pydantic-ai, AG-UI)."""
INTERRUPT_BINDING_KEY = "tanstack:interruptBinding"
"""The metadata key under which TanStack 0.58 binds an interrupt to its run and schemas."""


def _utf16_key(key: str) -> bytes:
    # JavaScript sorts object keys by UTF-16 code units, Python by code points; they
    # differ only for keys mixing astral characters with U+E000-U+FFFF.
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """TanStack's ``canonicalInterruptJson``: compact JSON with every object's keys sorted.

    The 0.33 client recomputes these digests from its own tool declarations to bind an
    interrupt to a typed handler, so the bytes must be the reference's exactly.
    """
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: _utf16_key(str(item[0])))
        return "{" + ",".join(f"{_json.dumps(str(k))}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))  # JavaScript has one number type: 2.0 is written "2"
    return _json.dumps(value)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


_UNDEFINED_SCHEMA_HASH = _digest("undefined")  # ``hashSchemaInput(undefined)``
_NO_APPROVAL_SCHEMA_HASH = _digest(canonical_json({"approve": None, "reject": None}))
_SCHEMA_KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "oneOf",
        "anyOf",
        "allOf",
        "enum",
        "const",
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
    }
)


def _json_schema(schema: Any) -> Mapping[str, Any] | None:
    """``schema`` if TanStack would read it as a raw JSON Schema (an object with at least
    one schema keyword), else ``None`` (treated like a tool without a schema)."""
    if isinstance(schema, Mapping) and any(key in _SCHEMA_KEYWORDS for key in schema):
        return schema
    return None


def approval_response_schema(input_schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """What an approval answer may be: ``{approved: true, editedArgs?}`` or ``{approved: false}``
    (TanStack's ``normalizeApprovalSchema`` for a tool without an ``approvalSchema``)."""
    approve: dict[str, Any] = {"approved": {"const": True}}
    schema = _json_schema(input_schema)
    if schema is not None:
        approve["editedArgs"] = schema
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": approve,
                "required": ["approved"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"approved": {"const": False}},
                "required": ["approved"],
                "additionalProperties": False,
            },
        ]
    }


def client_tool_interrupt(
    run_id: str, tool_call_id: str, tool_name: str, input: Any
) -> dict[str, Any]:
    """See :meth:`RunAgentInput.client_tool_interrupt`; ``run_id`` is the run that pauses."""
    interrupt_id = f"client_tool_{tool_call_id}"
    response_schema: dict[str, Any] = {}
    return {
        "id": interrupt_id,
        "reason": CLIENT_TOOL_REASON,
        "message": f"Client tool {tool_name} is ready to run",
        "toolCallId": tool_call_id,
        "responseSchema": response_schema,
        "metadata": {
            "kind": "client_tool",
            "toolName": tool_name,
            "input": input,
            INTERRUPT_BINDING_KEY: {
                "v": 1,
                "kind": "client-tool-execution",
                "interruptId": interrupt_id,
                "toolName": tool_name,
                "toolCallId": tool_call_id,
                # The client declares no output schema over the wire; TanStack hashes
                # ``undefined`` for that, and the 0.33 client compares with its own.
                "outputSchemaHash": _UNDEFINED_SCHEMA_HASH,
                "responseSchemaHash": _digest(canonical_json(response_schema)),
                "interruptedRunId": run_id,
                "generation": 0,
            },
        },
    }


def approval_interrupt(
    run_id: str,
    tool_call_id: str,
    tool_name: str,
    input: Any,
    *,
    input_schema: Mapping[str, Any] | None = None,
    message: str | None = None,
    interrupt_id: str | None = None,
) -> dict[str, Any]:
    """See :meth:`RunAgentInput.approval_interrupt`; ``run_id`` is the run that pauses."""
    interrupt_id = interrupt_id or f"approval_{tool_call_id}"
    response_schema = approval_response_schema(input_schema)
    schema = _json_schema(input_schema)
    return {
        "id": interrupt_id,
        "reason": APPROVAL_REASON,
        "message": message or f"Approval required to run {tool_name}",
        "toolCallId": tool_call_id,
        "responseSchema": response_schema,
        "metadata": {
            "kind": "approval",
            "toolName": tool_name,
            "input": input,
            INTERRUPT_BINDING_KEY: {
                "v": 1,
                "kind": "tool-approval",
                "interruptId": interrupt_id,
                "toolName": tool_name,
                "toolCallId": tool_call_id,
                "originalArgs": input,
                "inputSchemaHash": (
                    _UNDEFINED_SCHEMA_HASH if schema is None else _digest(canonical_json(schema))
                ),
                "approvalSchemaHash": _NO_APPROVAL_SCHEMA_HASH,
                "responseSchemaHash": _digest(canonical_json(response_schema)),
                "interruptedRunId": run_id,
                "generation": 0,
            },
        },
    }


def interrupt_run_event(
    run_id: str, thread_id: str, interrupts: Iterable[Mapping[str, Any]], **fields: Any
) -> dict[str, Any]:
    """See :meth:`RunAgentInput.interrupt_run`."""
    listed = [dict(interrupt) for interrupt in interrupts]
    if not listed:
        raise ValueError("a run pauses on at least one interrupt")
    # ``finishReason: "tool_calls"``: what TanStack writes on a paused run, and what makes
    # the 0.10 client send the follow-up once the tool ran or the user answered.
    event: dict[str, Any] = {"type": "RUN_FINISHED", "runId": run_id, "threadId": thread_id}
    event.update(fields)
    event.setdefault("finishReason", "tool_calls")
    event["outcome"] = {"type": "interrupt", "interrupts": listed}
    return event


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


_RESUME_STATUSES = ("resolved", "cancelled")


def _check_resume(c: _Checker, body: Mapping[str, Any]) -> tuple[ResumeEntry, ...]:
    """``resume[]``: the answers to the interrupts of the run named by ``parentRunId``."""
    entries: list[ResumeEntry] = []
    for i, raw in enumerate(c.array(body, "resume", "", required=False)):
        where = f"resume[{i}]"
        entry = c.obj(raw, where)
        if entry is None:
            continue
        interrupt_id = c.string(entry, "interruptId", where, required=True)
        status = entry.get("status")
        if status not in _RESUME_STATUSES:
            problem = "is required" if "status" not in entry else _one_of(_RESUME_STATUSES)
            c.add(
                f"{where}.status", problem if status is None else f"{problem}, got {_short(status)}"
            )
            continue
        metadata = entry.get("metadata")
        if metadata is not None and c.obj(metadata, f"{where}.metadata") is None:
            continue
        if interrupt_id is not None:
            entries.append(
                ResumeEntry(
                    interrupt_id,
                    "resolved" if status == "resolved" else "cancelled",
                    entry.get("payload"),
                    metadata,
                )
            )
    return tuple(entries)


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
        protocol_version = None
        resume: tuple[ResumeEntry, ...] = ()
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
        protocol_version = c.string(data, "protocolVersion", "", required=False)
        resume = _check_resume(c, data)
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
        resume=resume,
        protocol_version=protocol_version,
    )
