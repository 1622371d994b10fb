"""The client side of the request body: the ``RunAgentInput`` dict TanStack AI 0.10 POSTs.

reference §1.2-1.5: :func:`build_run_agent_input` turns UIMessages plus the run context
into the exact dict the reference ``fetch`` adapters POST (same key order, same
fan-out of reasoning and tool messages), and :func:`encode_run_agent_input` gives
its bytes. For the same inputs the bytes are identical to the reference's.

A request that answers a run's interrupts (TanStack 0.58, AG-UI 1.0) also carries
``parentRunId`` and ``resume`` (:class:`ResumeEntry`), in the key order the 0.33 client
writes them; the tool calls a TanStack 0.58 server asked about that way get their tool
messages as the 0.33 client writes them, in that request and every later one.

Read top to bottom: the run ids, the messages (:func:`ui_messages_to_wire` with
its reasoning-id hash), the interrupt answers, the tool declarations
(:class:`ToolSpec`), then the whole body.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel

from .. import _json
from .._ids import now_ms, random_base36, to_base36
from .._messages import MEDIA_PART_TYPES, ModelMessage, UIMessage, to_json_value

WireInputMessage: TypeAlias = UIMessage | ModelMessage | Mapping[str, Any]
"""What the serialisers accept: our models, or plain camelCase dicts."""


def generate_run_id(prefix: str) -> str:
    """``thread-1795480475343-zbln8``: the reference's ``<prefix>-<Date.now()>-<≤6 base36>``."""
    return f"{prefix}-{now_ms()}-{random_base36(6)}"


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


def tool_error_content(content: Any, error: Any) -> Any:
    """The ``content`` of a failed call's tool message: what servers read as the result.

    A call that failed without output records ``"null"`` (its output, JSON ``null``),
    and a server reading ``content`` (pydantic-ai, most agents) would tell the model
    ``null``. Then the error is the content, as ``{"error": "<text>"}`` (the output the
    failed call holds, and how TanStack 0.58 writes its own failed results). Content
    that says more than ``null`` is kept.
    """
    if error and content == "null":
        return _json.dumps({"error": error})
    return content


def approval_decision(approved: bool) -> str:
    """The tool result an answered approval stands for, as the reference writes it
    (TanStack's ``uiMessagesToWire`` and ``convertMessagesToModelMessages``)."""
    decision: dict[str, Any] = {"approved": approved}
    if approved:
        decision["pendingExecution"] = True
    decision["message"] = "User approved this action" if approved else "User denied this action"
    return _json.dumps(decision)


# The 0.33 client's tool messages end with this (TanStack's ``rebuiltToolMetadata`` of a
# result with no id, date or content parts of its own); a fresh copy per message.
def _tool_result_metadata() -> dict[str, Any]:
    return {"tanstack": {"toolResult": {}}}


def ui_messages_to_wire(
    messages: Iterable[WireInputMessage], *, tanstack_calls: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """``RunAgentInput.messages`` as the reference's ``uiMessagesToWire`` builds it (ref. §1.5).

    Each anchor keeps all of its own keys (``parts`` verbatim) and gains the AG-UI
    mirror fields; assistants are preceded by one ``reasoning`` entry per thinking
    part and followed by one ``tool`` entry per tool-result part. A failed call's
    ``"null"`` content becomes its error (:func:`tool_error_content`).

    ``tanstack_calls``: ids of tool calls a TanStack 0.58 server asked about with an
    interrupt. Their tool messages are written as the 0.33 client writes them: with
    ``metadata.tanstack.toolResult``, and an answered approval, which has no tool-result
    part, gets one too (its decision, :func:`approval_decision`), in the order of the
    parts. The 0.58 server reads an approval's outcome only from that message: without
    it in a later request, it asks for the approval again.
    """
    resumed = set(tanstack_calls)
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

        results = {
            p.get("toolCallId")
            for p in parts
            if resumed and isinstance(p, dict) and p.get("type") == "tool-result"
        }
        for p in parts:
            if not isinstance(p, dict):
                continue
            if p.get("type") == "tool-result":
                tool_call_id = p.get("toolCallId")
                fan_out: dict[str, Any] = {
                    "role": "tool",
                    "id": f"tool-{tool_call_id}",
                    "toolCallId": tool_call_id,
                    "content": tool_error_content(p.get("content"), p.get("error")),
                }
                if "error" in p:
                    fan_out["error"] = p["error"]
                if tool_call_id in resumed:
                    fan_out["metadata"] = _tool_result_metadata()
                wire.append(fan_out)
            elif p.get("type") == "tool-call" and p.get("id") in resumed:
                answer = _resumed_call_content(p) if p.get("id") not in results else None
                if answer is not None:
                    wire.append(
                        {
                            "role": "tool",
                            "id": f"tool-{p.get('id')}",
                            "toolCallId": p.get("id"),
                            "content": answer,
                            "metadata": _tool_result_metadata(),
                        }
                    )
    return wire


def _resumed_call_content(part: dict[str, Any]) -> str | None:
    """The tool message content the 0.33 client writes for a call without a result part:
    its output, else an answered approval's decision, else none (no message)."""
    if "output" in part:
        output = part["output"]
        return output if isinstance(output, str) else _json.dumps(output)
    approval = part.get("approval")
    approved = approval.get("approved") if isinstance(approval, dict) else None
    if part.get("state") == "approval-responded" and isinstance(approved, bool):
        return approval_decision(approved)
    return None


@dataclass(frozen=True, slots=True)
class ResumeEntry:
    """The answer to one interrupt of the run a request continues (AG-UI ``resume[]``).

    ``status`` ``"resolved"`` carries ``payload`` (a client tool's output, an approval's
    ``{"approved": bool, "editedArgs"?: {...}}``); ``"cancelled"`` carries none.
    """

    interrupt_id: str
    status: Literal["resolved", "cancelled"] = "resolved"
    payload: Any = None
    metadata: Mapping[str, Any] | None = None

    @property
    def approved(self) -> bool | None:
        """For an approval: the user's decision; ``None`` when cancelled or when the
        payload carries no boolean ``approved``."""
        if self.status != "resolved" or not isinstance(self.payload, Mapping):
            return None
        decision = self.payload.get("approved")
        return decision if isinstance(decision, bool) else None

    def to_wire(self) -> dict[str, Any]:
        """``{interruptId, payload, status}`` in the 0.33 client's key order (then
        ``metadata`` when set); a cancellation has no ``payload``."""
        out: dict[str, Any] = {"interruptId": self.interrupt_id}
        if self.status == "resolved":
            out["payload"] = to_json_value(self.payload)
        out["status"] = self.status
        if self.metadata is not None:
            out["metadata"] = to_json_value(dict(self.metadata))
        return out


class RequestMessages(list[Any]):
    """A request's messages, with what its body owes the server beyond them: the
    ``resume`` answers to the run it continues, and the TanStack-interrupted calls
    whose tool messages are written the 0.33 way (see :func:`ui_messages_to_wire`).

    They ride on the messages so that every body built from them has them: the HTTP
    transports and any adapter calling :func:`build_run_agent_input` with the messages
    it was given. (Fields of ``RunContext`` would be the natural home; the transports
    pass :func:`build_run_agent_input` its fields one by one, and these are not among
    them.)
    """

    __slots__ = ("resume", "tanstack_calls")

    def __init__(
        self,
        messages: Iterable[Any],
        resume: Iterable[ResumeEntry] = (),
        tanstack_calls: Iterable[str] = (),
    ) -> None:
        super().__init__(messages)
        self.resume: tuple[ResumeEntry, ...] = tuple(resume)
        self.tanstack_calls: frozenset[str] = frozenset(tanstack_calls)


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


def merge_forwarded_props(
    adapter_body: Mapping[str, Any] | None,
    forwarded_props: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What a request forwards to the server (``forwardedProps``, or a bridge's extra body
    keys): the adapter's ``body`` < the run context's ``forwarded_props`` < the call's
    ``data``; a later source wins a key, which keeps its first position."""
    merged: dict[str, Any] = {}
    for source in (adapter_body, forwarded_props, data):
        if source:
            merged.update(source)
    return merged


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
    resume: Sequence[ResumeEntry | Mapping[str, Any]] | None = None,
    tanstack_calls: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The POST body, key for key as the reference's fetch adapters build it (reference §1.2-1.3).

    ``forwardedProps`` merges ``adapter_body`` < ``forwarded_props`` < ``data`` (later
    wins, first insertion keeps its position); ``data`` in the body is a copy of it.
    Missing thread/run ids are generated like the reference's. ``resume`` answers the
    interrupts of the run ``parent_run_id`` names, written after it as the 0.33 client
    does (an entry may also be a plain ``{interruptId, status, payload?}`` mapping);
    ``tanstack_calls`` see :func:`ui_messages_to_wire`. Both default to what
    :class:`RequestMessages` carry.
    """
    if isinstance(messages, RequestMessages):
        resume = messages.resume if resume is None else resume
        tanstack_calls = messages.tanstack_calls if tanstack_calls is None else tanstack_calls
    wire_messages = ui_messages_to_wire(messages, tanstack_calls=tanstack_calls or ())
    props: dict[str, Any] = to_json_value(
        merge_forwarded_props(adapter_body, forwarded_props, data)
    )

    body: dict[str, Any] = {
        "threadId": thread_id if thread_id is not None else generate_run_id("thread"),
        "runId": run_id if run_id is not None else generate_run_id("run"),
    }
    if parent_run_id is not None:
        body["parentRunId"] = parent_run_id
    if resume:
        body["resume"] = [
            entry.to_wire() if isinstance(entry, ResumeEntry) else to_json_value(dict(entry))
            for entry in resume
        ]
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
    resume: Sequence[ResumeEntry | Mapping[str, Any]] | None = None,
    tanstack_calls: Iterable[str] | None = None,
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
            resume=resume,
            tanstack_calls=tanstack_calls,
        )
    )
