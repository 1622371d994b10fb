"""The demo's server-side tools: their specs (``calculator``, ``get_current_time``, the
approval-gated ``delete_file``) and what running each one streams. ``delete_file``
never touches a file: carrying out an approved call only pretends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._exceptions import CalculatorError
from .._messages import ModelToolCall
from .._run_input import ToolSpec
from ._calculator import evaluate, format_number
from ._events import Run
from ._limits import MAX_INPUT_CHARS, MAX_TOOL_NAME_CHARS, clip

__all__ = ["APPROVAL_TOOL", "SERVER_TOOLS", "calculate", "carry_out", "tell_time"]

SERVER_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "calculator",
        "Evaluate an arithmetic expression (+ - * / // % ** and parentheses).",
        {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    ),
    ToolSpec(
        "get_current_time",
        "The current date and time in an IANA time zone (default UTC).",
        {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []},
    ),
)

APPROVAL_TOOL = ToolSpec(
    "delete_file",
    "Delete a file, once the user approves. The demo only pretends: nothing is touched.",
    # The schema TanStack's examples give the tool: a client declaring the same schema
    # with ``needsApproval`` binds the approval as a typed one (the hashes match).
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": []},
    {"needsApproval": True},
)
"""The demo's approval-gated server tool (harmless: it never touches a file)."""


async def calculate(run: Run, expression: str) -> AsyncIterator[dict[str, Any]]:
    """The ``calculator`` tool on ``expression``, between an intro and the answer."""
    async for event in run.text("Let me calculate that with the `calculator` tool."):
        yield event
    try:
        value = evaluate(expression)
        result: dict[str, Any] = {"expression": expression, "result": value}
        answer = f"`{expression}` = **{format_number(value)}**"
    except CalculatorError as exc:
        result = {"expression": clip(expression), "error": str(exc)}
        answer = f"I could not compute `{clip(expression)}`: {exc}."
    arguments = {"expression": clip(expression)}
    async for event in run.server_tool("calculator", arguments, result):
        yield event
    async for event in run.text(answer):
        yield event


async def tell_time(
    run: Run, zone_name: str, clock: Callable[[], datetime]
) -> AsyncIterator[dict[str, Any]]:
    """The ``get_current_time`` tool in ``zone_name`` (UTC when unknown), then the answer."""
    zone: tzinfo
    try:
        # No IANA name is longer than ~32 characters; a longer one is not looked up.
        if len(zone_name) > MAX_TOOL_NAME_CHARS:
            raise ValueError(zone_name)
        zone = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone, zone_name = UTC, "UTC"
    now = clock().astimezone(zone)
    result = {"timezone": zone_name, "iso": now.isoformat(timespec="seconds")}
    async for event in run.server_tool("get_current_time", {"timezone": zone_name}, result):
        yield event
    answer = f"It is **{now:%H:%M}** on {now:%A, %d %B %Y} ({zone_name})."
    async for event in run.text(answer):
        yield event


async def carry_out(run: Run, call: ModelToolCall, decision: str) -> AsyncIterator[dict[str, Any]]:
    """The answered approval of a ``delete_file`` call: pretend to delete, or say why not."""
    path = "the file"
    try:
        arguments = json.loads(call.function.arguments[:MAX_INPUT_CHARS])
        if isinstance(arguments, dict) and isinstance(arguments.get("path"), str):
            path = f"`{clip(arguments['path'], 80)}`"
    except (ValueError, RecursionError):
        pass
    if decision == "approved":
        result = {"deleted": path.strip("`"), "simulated": True}
        content = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        answer = f"Done: {path} is deleted (not really: the demo only pretends)."
    elif decision == "cancelled":
        # As TanStack 0.58 closes a cancelled call: an error result.
        content = '{"error":"Tool execution cancelled"}'
        answer = f"Cancelled: {path} stays where it is."
    else:
        content = ""
        answer = f"You declined, so {path} stays where it is."
    if content:
        extra = {"state": "output-error"} if decision == "cancelled" else {}
        yield run.event(
            "TOOL_CALL_RESULT",
            {"toolCallId": call.id, "messageId": run.next_id("tool-result")},
            content=content,
            role="tool",
            **extra,
        )
    async for event in run.text(answer):
        yield event
