"""TOOL_CALL_* events."""

from __future__ import annotations

from typing import Any, Literal

from ._base import BaseEvent
from ._types import EventType, JSNumber


class ToolCallStartEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_START] = EventType.TOOL_CALL_START
    tool_call_id: str | None = None
    tool_call_name: str | None = None
    tool_name: str | None = None
    """TanStack's deprecated alias of ``tool_call_name``; the 0.10 server writes both."""
    parent_message_id: str | None = None
    index: JSNumber | None = None
    # ``metadata`` (on every event) is written last, as TanStack 0.10 writes it here.

    __wire_order__ = (
        "tool_call_id",
        "tool_call_name",
        "tool_name",
        "parent_message_id",
        "model",
        "timestamp",
        "index",
        "metadata",
    )

    @property
    def resolved_tool_name(self) -> str | None:
        """``toolCallName ?? toolName``, as the reference processor reads it."""
        return self.tool_call_name if self.tool_call_name is not None else self.tool_name


class ToolCallArgsEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_ARGS] = EventType.TOOL_CALL_ARGS
    tool_call_id: str | None = None
    delta: str | None = None
    args: str | None = None
    """TanStack: the argument text accumulated so far."""

    __wire_order__ = ("tool_call_id", "model", "timestamp", "delta", "args")


class ToolCallEndEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_END] = EventType.TOOL_CALL_END
    tool_call_id: str | None = None
    tool_call_name: str | None = None
    tool_name: str | None = None
    input: Any = None
    """TanStack: the parsed arguments (any JSON value)."""
    result: str | None = None
    """TanStack: a server tool's result, as a JSON string."""

    __wire_order__ = (
        "tool_call_id",
        "tool_call_name",
        "tool_name",
        "model",
        "timestamp",
        "input",
        "result",
    )


class ToolCallResultEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_RESULT] = EventType.TOOL_CALL_RESULT
    tool_call_id: str | None = None
    message_id: str | None = None
    content: str | list[Any] | None = None
    """A string (TanStack), or AG-UI's list of content parts."""
    role: str | None = None

    __wire_order__ = ("tool_call_id", "message_id", "model", "timestamp", "content", "role")


class ToolCallChunkEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_CHUNK] = EventType.TOOL_CALL_CHUNK
    tool_call_id: str | None = None
    tool_call_name: str | None = None
    parent_message_id: str | None = None
    delta: str | None = None

    __wire_order__ = ("tool_call_id", "tool_call_name", "parent_message_id", "model", "timestamp")
