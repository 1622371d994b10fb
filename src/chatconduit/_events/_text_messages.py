"""TEXT_MESSAGE_* events."""

from __future__ import annotations

from typing import Literal

from ._base import BaseEvent
from ._types import EventType


class TextMessageStartEvent(BaseEvent):
    type: Literal[EventType.TEXT_MESSAGE_START] = EventType.TEXT_MESSAGE_START
    message_id: str | None = None
    role: str | None = None
    """``'developer' | 'system' | 'assistant' | 'user'``; absent means ``'assistant'``."""
    name: str | None = None

    __wire_order__ = ("message_id", "model", "timestamp", "role", "name")


class TextMessageContentEvent(BaseEvent):
    type: Literal[EventType.TEXT_MESSAGE_CONTENT] = EventType.TEXT_MESSAGE_CONTENT
    message_id: str | None = None
    delta: str | None = None
    content: str | None = None
    """TanStack: the text accumulated so far, including ``delta``."""

    __wire_order__ = ("message_id", "model", "timestamp", "delta", "content")


class TextMessageEndEvent(BaseEvent):
    type: Literal[EventType.TEXT_MESSAGE_END] = EventType.TEXT_MESSAGE_END
    message_id: str | None = None

    __wire_order__ = ("message_id", "model", "timestamp")


class TextMessageChunkEvent(BaseEvent):
    type: Literal[EventType.TEXT_MESSAGE_CHUNK] = EventType.TEXT_MESSAGE_CHUNK
    message_id: str | None = None
    role: str | None = None
    delta: str | None = None
    name: str | None = None

    __wire_order__ = ("message_id", "role", "model", "timestamp", "delta", "name")
