"""Pass-through events: CUSTOM, RAW, SUBAGENT_* (AG-UI after 0.0.52) and ``UnknownEvent``."""

from __future__ import annotations

from typing import Any, Literal

from ._base import BaseEvent
from ._types import EventType


class CustomEvent(BaseEvent):
    type: Literal[EventType.CUSTOM] = EventType.CUSTOM
    name: str | None = None
    value: Any = None

    # As TanStack's chat engine writes its tool-input-available / approval-requested events.
    __wire_order__ = ("timestamp", "model", "name", "value")


class RawEvent(BaseEvent):
    type: Literal[EventType.RAW] = EventType.RAW
    event: Any = None
    source: str | None = None

    __wire_order__ = ("event", "source", "model", "timestamp")


# --- sub-agents (AG-UI after 0.0.52) -------------------------------------------------------


class SubagentStartedEvent(BaseEvent):
    type: Literal[EventType.SUBAGENT_STARTED] = EventType.SUBAGENT_STARTED
    subagent_run_id: str | None = None
    name: str | None = None
    description: str | None = None
    parent_subagent_run_id: str | None = None
    parent_tool_call_id: str | None = None
    parent_message_id: str | None = None

    __wire_order__ = (
        "subagent_run_id",
        "name",
        "description",
        "parent_subagent_run_id",
        "parent_tool_call_id",
        "parent_message_id",
        "model",
        "timestamp",
    )


class SubagentFinishedEvent(BaseEvent):
    type: Literal[EventType.SUBAGENT_FINISHED] = EventType.SUBAGENT_FINISHED
    subagent_run_id: str | None = None
    result: Any = None
    outcome: Any = None

    __wire_order__ = ("subagent_run_id", "result", "outcome", "model", "timestamp")


class SubagentErrorEvent(BaseEvent):
    type: Literal[EventType.SUBAGENT_ERROR] = EventType.SUBAGENT_ERROR
    subagent_run_id: str | None = None
    message: str | None = None
    code: str | None = None

    __wire_order__ = ("subagent_run_id", "message", "code", "model", "timestamp")


# --- anything else -------------------------------------------------------------------------


class UnknownEvent(BaseEvent):
    """An event whose ``type`` this library does not know. Every field is kept as-is and none
    is validated (a vendor event may use ``model`` or ``timestamp`` differently)."""

    type: str
    timestamp: Any = None
    model: Any = None
    metadata: Any = None
