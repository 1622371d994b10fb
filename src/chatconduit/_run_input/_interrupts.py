"""The interrupts a paused run sends, built byte for byte as TanStack 0.58 writes them.

:func:`client_tool_interrupt` asks the client to run one of its tools,
:func:`approval_interrupt` asks the user to approve a tool call (its answer schema from
:func:`approval_response_schema`), and :func:`interrupt_run_event` is the RUN_FINISHED
that pauses the run on them. Each interrupt carries TanStack's binding metadata
(:data:`INTERRUPT_BINDING_KEY`) whose schema digests are :func:`canonical_json` hashed,
so a 0.33 client can bind it to a typed handler. :class:`~._run_agent_input.RunAgentInput`
offers them as methods, filled in with the run being paused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from .. import _json

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
