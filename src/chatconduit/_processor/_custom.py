"""CUSTOM events (reference §4.4): client tool calls, approval requests, and the rest.

* ``tool-input-available`` (with a value) → ``on_tool_call(ToolCallRequest)``; nothing else.
* ``approval-requested`` (with a value) → the tool-call part gets state
  ``approval-requested`` and its ``approval``, wherever the call lives (difference 12);
  then ``on_approval_request(ApprovalRequest)``. No ``value.approval.id`` raises
  ``MalformedEventError`` (difference 10).
* any other name → ``on_custom_event(name, value, tool_call_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._events import CustomEvent
from .._exceptions import MalformedEventError
from .._messages import ToolCallApproval, ToolCallPart
from ._context import Context
from ._records import ApprovalRequest, ToolCallRequest

__all__ = ["on_custom"]


def on_custom(ctx: Context, ev: CustomEvent) -> None:
    name = ev.name or ""
    value = ev.value
    if name == "tool-input-available" and value and isinstance(value, Mapping):
        if ctx.on_tool_call is not None:
            ctx.on_tool_call(
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
    if ctx.on_custom_event is not None:
        tool_call_id = value.get("toolCallId") if isinstance(value, Mapping) else None
        ctx.on_custom_event(name, value, tool_call_id)


def _on_approval_requested(ctx: Context, value: Mapping[str, Any]) -> None:
    approval = value.get("approval")
    approval_id = approval.get("id") if isinstance(approval, Mapping) else None
    if not isinstance(approval_id, str):
        raise MalformedEventError("CUSTOM approval-requested event has no value.approval.id")
    tool_call_id = value.get("toolCallId")
    part = _approval_target(ctx, tool_call_id)
    if part is not None:
        part.state = "approval-requested"
        part.approval = ToolCallApproval(id=approval_id, needs_approval=True)
        ctx.emit_messages()
    if ctx.on_approval_request is not None:
        ctx.on_approval_request(
            ApprovalRequest(
                tool_call_id=tool_call_id,
                tool_name=value.get("toolName"),
                input=value.get("input"),
                approval_id=approval_id,
            )
        )


def _approval_target(ctx: Context, tool_call_id: Any) -> ToolCallPart | None:
    """The tool-call part an approval request is for: the call routed in this stream,
    else the newest message holding that id."""
    if not isinstance(tool_call_id, str):
        return None
    call = ctx.tool_calls.get(tool_call_id)
    if call is not None:
        return call.part
    for message in reversed(ctx.messages):
        for part in message.parts:
            if isinstance(part, ToolCallPart) and part.id == tool_call_id:
                return part
    return None
