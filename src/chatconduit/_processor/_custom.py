"""CUSTOM events (reference §4.4) and run interrupts: client tool calls, approval
requests, and the rest.

* ``tool-input-available`` (with a value) → ``on_tool_call(ToolCallRequest)``; nothing else.
* ``approval-requested`` (with a value) → the tool-call part gets state
  ``approval-requested`` and its ``approval``, wherever the call lives (difference 12);
  then ``on_approval_request(ApprovalRequest)``. No ``value.approval.id`` raises
  ``MalformedEventError`` (difference 10).
* any other name → ``on_custom_event(name, value, tool_call_id)``.

TanStack 0.58 and pydantic-ai ask the same two questions differently: the run ends with
``RUN_FINISHED.outcome.interrupts``. :func:`interrupt_request` reads one interrupt as the
request it stands for; the client, which also owes the server the answer, acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._events import CustomEvent
from .._events._run import Interrupt
from .._exceptions import MalformedEventError
from .._messages import ToolCallApproval, ToolCallPart, UIMessage
from ._context import Context, newest_tool_call
from ._partial_json import parse_partial_json
from ._records import ApprovalRequest, ToolCallRequest

__all__ = [
    "CLIENT_TOOL_REASON",
    "TOOL_CALL_REASON",
    "interrupt_kind",
    "interrupt_request",
    "mark_approval_requested",
    "on_custom",
]

CLIENT_TOOL_REASON = "tanstack:client_tool_execution"
"""TanStack 0.58's ``reason`` for "run this client tool and send me its output"."""
TOOL_CALL_REASON = "tool_call"
"""AG-UI's ``reason`` for a tool call waiting for the user (TanStack 0.58 approvals,
pydantic-ai ``requires_approval`` tools)."""


def on_custom(ctx: Context, ev: CustomEvent) -> None:
    name = ev.name or ""
    value = ev.value
    if name == "tool-input-available" and value and isinstance(value, Mapping):
        on_tool_call = ctx.listener.on_tool_call
        if on_tool_call is not None:
            on_tool_call(
                ToolCallRequest(
                    tool_call_id=value.get("toolCallId"),
                    tool_name=value.get("toolName"),
                    input=value.get("input"),
                )
            )
        return
    if name == "approval-requested" and value and isinstance(value, Mapping):
        _on_approval_requested(ctx, value)
        return
    on_custom_event = ctx.listener.on_custom_event
    if on_custom_event is not None:
        tool_call_id = value.get("toolCallId") if isinstance(value, Mapping) else None
        on_custom_event(name, value, tool_call_id)


def _on_approval_requested(ctx: Context, value: Mapping[str, Any]) -> None:
    approval = value.get("approval")
    approval_id = approval.get("id") if isinstance(approval, Mapping) else None
    if not isinstance(approval_id, str):
        raise MalformedEventError("CUSTOM approval-requested event has no value.approval.id")
    tool_call_id = value.get("toolCallId")
    part = _approval_target(ctx, tool_call_id)
    if part is not None:
        mark_approval_requested(part, approval_id)
        ctx.emit_messages()
    on_approval_request = ctx.listener.on_approval_request
    if on_approval_request is not None:
        on_approval_request(
            ApprovalRequest(
                tool_call_id=tool_call_id,
                tool_name=value.get("toolName"),
                input=value.get("input"),
                approval_id=approval_id,
            )
        )


def mark_approval_requested(part: ToolCallPart, approval_id: str) -> None:
    """The call waits for the user: state ``approval-requested`` and its ``approval``
    (``add_tool_approval_response`` finds it by ``approval_id``)."""
    part.state = "approval-requested"
    part.approval = ToolCallApproval(id=approval_id, needs_approval=True)


def _approval_target(ctx: Context, tool_call_id: Any) -> ToolCallPart | None:
    """The tool-call part an approval request is for: the call routed in this stream,
    else the newest message holding that id."""
    if not isinstance(tool_call_id, str):
        return None
    call = ctx.tool_calls.get(tool_call_id)
    if call is not None:
        return call.part
    found = newest_tool_call(ctx.messages, tool_call_id)
    return found[1] if found is not None else None


def interrupt_kind(interrupt: Interrupt) -> Literal["client_tool", "approval"] | None:
    """Whether an interrupt asks to run a client tool or to approve a call (``None``:
    neither, e.g. a question of the server's own).

    TanStack says which in ``metadata.kind``; otherwise ``reason`` decides:
    ``tanstack:client_tool_execution``, or ``tool_call`` (approval, pydantic-ai)."""
    kind = (interrupt.metadata or {}).get("kind")
    if kind == "client_tool" or (kind is None and interrupt.reason == CLIENT_TOOL_REASON):
        return "client_tool"
    if kind == "approval" or (kind is None and interrupt.reason == TOOL_CALL_REASON):
        return "approval"
    return None


def interrupt_request(
    interrupt: Interrupt, messages: Sequence[UIMessage]
) -> ToolCallRequest | ApprovalRequest | None:
    """What an interrupt asks of the client (see :func:`interrupt_kind`), as the request
    the CUSTOM event of TanStack 0.10 would have made; ``None`` for what no tool answer
    can give (no tool call, an unknown ``reason``). The tool's name and input come from
    the metadata when TanStack sends them, else from the call in ``messages``.
    """
    tool_call_id = interrupt.tool_call_id
    interrupt_id = interrupt.id
    kind = interrupt_kind(interrupt)
    if tool_call_id is None or interrupt_id is None or kind is None:
        return None
    metadata = interrupt.metadata or {}
    found = newest_tool_call(messages, tool_call_id)
    part = found[1] if found is not None else None
    name = metadata.get("toolName")
    if not isinstance(name, str):
        name = part.name if part is not None else None
    if "input" in metadata:
        tool_input = metadata["input"]
    else:
        tool_input = parse_partial_json(part.arguments) if part is not None else None
    if kind == "client_tool":
        return ToolCallRequest(tool_call_id, name, tool_input, interrupt=interrupt)
    return ApprovalRequest(
        tool_call_id,
        name,
        tool_input,
        interrupt_id,
        message=interrupt.message,
        response_schema=interrupt.response_schema,
        interrupt=interrupt,
    )
