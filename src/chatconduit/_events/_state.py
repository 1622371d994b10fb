"""State, snapshot and activity events: MESSAGES_SNAPSHOT, STATE_*, ACTIVITY_*."""

from __future__ import annotations

from typing import Any, Literal

from ._base import BaseEvent
from ._types import EventType

# --- state and snapshots -------------------------------------------------------------------


class MessagesSnapshotEvent(BaseEvent):
    type: Literal[EventType.MESSAGES_SNAPSHOT] = EventType.MESSAGES_SNAPSHOT
    messages: list[dict[str, Any]] | None = None
    """AG-UI messages, kept as raw JSON objects (``_messages`` owns their models)."""

    __wire_order__ = ("messages", "model", "timestamp")


class StateSnapshotEvent(BaseEvent):
    type: Literal[EventType.STATE_SNAPSHOT] = EventType.STATE_SNAPSHOT
    snapshot: Any = None
    state: Any = None
    """TanStack's deprecated alias of ``snapshot``."""

    __wire_order__ = ("snapshot", "state", "model", "timestamp")


class StateDeltaEvent(BaseEvent):
    type: Literal[EventType.STATE_DELTA] = EventType.STATE_DELTA
    delta: list[Any] | None = None
    """A JSON Patch (RFC 6902) operation list."""

    __wire_order__ = ("delta", "model", "timestamp")


# --- activities ----------------------------------------------------------------------------


class ActivitySnapshotEvent(BaseEvent):
    type: Literal[EventType.ACTIVITY_SNAPSHOT] = EventType.ACTIVITY_SNAPSHOT
    message_id: str | None = None
    activity_type: str | None = None
    content: dict[str, Any] | None = None
    replace: bool | None = None

    __wire_order__ = ("message_id", "activity_type", "content", "replace", "model", "timestamp")


class ActivityDeltaEvent(BaseEvent):
    type: Literal[EventType.ACTIVITY_DELTA] = EventType.ACTIVITY_DELTA
    message_id: str | None = None
    activity_type: str | None = None
    patch: list[Any] | None = None

    __wire_order__ = ("message_id", "activity_type", "patch", "model", "timestamp")
