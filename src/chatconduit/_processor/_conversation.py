"""What the owner does to the conversation between events (reference §4.6): add a user
message, answer a tool call or an approval, ask whether every tool call is answered.

The public methods of ``StreamProcessor`` (which document them) call these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, cast

from pydantic import BaseModel

from .. import _json
from .._ids import generate_id
from .._messages import (
    MessagePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    message_from_dict,
    part_from_dict,
)
from ._context import Context, now
from ._tool_calls import upsert_tool_result

__all__ = [
    "MessageInput",
    "PartInput",
    "add_tool_approval_response",
    "add_tool_result",
    "add_user_message",
    "are_all_tools_complete",
    "coerce_messages",
]

logger = logging.getLogger("chatconduit.processor")

MessageInput: TypeAlias = UIMessage | Mapping[str, Any]
PartInput: TypeAlias = BaseModel | Mapping[str, Any]


def add_user_message(ctx: Context, content: str | Sequence[PartInput], id: str | None) -> UIMessage:
    if isinstance(content, str):
        parts: list[MessagePart] = [TextPart(content=content)]
    else:
        parts = [_coerce_part(p, f"content[{i}]") for i, p in enumerate(content)]
    message = UIMessage(
        id=id if id is not None else generate_id("msg"),
        role="user",
        parts=parts,
        created_at=now(),
    )
    ctx.messages.append(message)
    ctx.emit_messages()
    return message


def add_tool_result(ctx: Context, tool_call_id: str, output: Any, error: str | None) -> bool:
    """The output on the tool-call part (state ``input-complete``) and a tool-result part
    in the same message; an unknown id is logged (difference 11)."""
    found = ctx.find_tool_call(tool_call_id)
    if found is None:
        logger.warning("[StreamProcessor] Could not find message with tool call %s", tool_call_id)
        return False
    message, part = found
    content = output if isinstance(output, str) else _json.dumps(output)
    part.set_output({"error": error} if error else output)
    part.state = "input-complete"
    upsert_tool_result(
        message,
        ToolResultPart(
            tool_call_id=tool_call_id,
            content=content,
            state="error" if error else "complete",
            **({"error": error} if error else {}),
        ),
    )
    ctx.emit_messages()
    return True


def add_tool_approval_response(ctx: Context, approval_id: str, approved: bool) -> bool:
    matched = False
    for message in ctx.messages:
        for part in message.parts:
            if (
                isinstance(part, ToolCallPart)
                and part.approval is not None
                and part.approval.id == approval_id
            ):
                part.approval.approved = approved
                part.state = "approval-responded"
                matched = True
                break
    ctx.emit_messages()
    return matched


def are_all_tools_complete(messages: Sequence[UIMessage]) -> bool:
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    if last is None:
        return True
    calls = [p for p in last.parts if isinstance(p, ToolCallPart)]
    if not calls:
        return True
    results = {p.tool_call_id for p in last.parts if isinstance(p, ToolResultPart)}
    return all(
        p.state == "approval-responded" or (p.has_output and p.approval is None) or p.id in results
        for p in calls
    )


def _coerce_part(part: PartInput, where: str) -> MessagePart:
    if isinstance(part, BaseModel):
        return cast(MessagePart, part)
    if isinstance(part, Mapping):
        try:
            return part_from_dict(part, where=where)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    raise TypeError(f"{where}: expected a message part or a dict, got {type(part).__name__}")


def coerce_messages(messages: Iterable[MessageInput], where: str) -> list[UIMessage]:
    """UIMessages or their camelCase dicts, as a new list (``TypeError`` for others)."""
    if isinstance(messages, str | bytes | Mapping):
        raise TypeError(f"{where}: expected a list of messages, got {type(messages).__name__}")
    out: list[UIMessage] = []
    for i, m in enumerate(messages):
        if isinstance(m, UIMessage):
            out.append(m)
        elif isinstance(m, Mapping):
            out.append(message_from_dict(m, where=f"{where}[{i}]"))
        else:
            raise TypeError(f"{where}[{i}]: expected a UIMessage or a dict, got {type(m).__name__}")
    return out
