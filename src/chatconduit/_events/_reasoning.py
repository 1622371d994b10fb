"""REASONING_* events and the deprecated THINKING_* ones (AG-UI 0.0.52)."""

from __future__ import annotations

from typing import Literal

from ._base import BaseEvent
from ._types import EventType

# --- reasoning -----------------------------------------------------------------------------


class ReasoningStartEvent(BaseEvent):
    type: Literal[EventType.REASONING_START] = EventType.REASONING_START
    message_id: str | None = None

    __wire_order__ = ("message_id", "model", "timestamp")


class ReasoningMessageStartEvent(BaseEvent):
    type: Literal[EventType.REASONING_MESSAGE_START] = EventType.REASONING_MESSAGE_START
    message_id: str | None = None
    role: str | None = None
    """Always ``'reasoning'`` in AG-UI."""

    __wire_order__ = ("message_id", "role", "model", "timestamp")


class ReasoningMessageContentEvent(BaseEvent):
    type: Literal[EventType.REASONING_MESSAGE_CONTENT] = EventType.REASONING_MESSAGE_CONTENT
    message_id: str | None = None
    delta: str | None = None

    __wire_order__ = ("message_id", "delta", "model", "timestamp")


class ReasoningMessageEndEvent(BaseEvent):
    type: Literal[EventType.REASONING_MESSAGE_END] = EventType.REASONING_MESSAGE_END
    message_id: str | None = None

    __wire_order__ = ("message_id", "model", "timestamp")


class ReasoningMessageChunkEvent(BaseEvent):
    type: Literal[EventType.REASONING_MESSAGE_CHUNK] = EventType.REASONING_MESSAGE_CHUNK
    message_id: str | None = None
    delta: str | None = None

    __wire_order__ = ("message_id", "delta", "model", "timestamp")


class ReasoningEndEvent(BaseEvent):
    type: Literal[EventType.REASONING_END] = EventType.REASONING_END
    message_id: str | None = None

    __wire_order__ = ("message_id", "model", "timestamp")


class ReasoningEncryptedValueEvent(BaseEvent):
    type: Literal[EventType.REASONING_ENCRYPTED_VALUE] = EventType.REASONING_ENCRYPTED_VALUE
    subtype: str | None = None
    """``'tool-call' | 'message'``."""
    entity_id: str | None = None
    encrypted_value: str | None = None

    __wire_order__ = ("subtype", "entity_id", "encrypted_value", "model", "timestamp")


# --- deprecated THINKING_* (AG-UI 0.0.52) --------------------------------------------------


class ThinkingStartEvent(BaseEvent):
    type: Literal[EventType.THINKING_START] = EventType.THINKING_START
    title: str | None = None

    __wire_order__ = ("title", "model", "timestamp")


class ThinkingEndEvent(BaseEvent):
    type: Literal[EventType.THINKING_END] = EventType.THINKING_END


class ThinkingTextMessageStartEvent(BaseEvent):
    type: Literal[EventType.THINKING_TEXT_MESSAGE_START] = EventType.THINKING_TEXT_MESSAGE_START


class ThinkingTextMessageContentEvent(BaseEvent):
    type: Literal[EventType.THINKING_TEXT_MESSAGE_CONTENT] = EventType.THINKING_TEXT_MESSAGE_CONTENT
    delta: str | None = None

    __wire_order__ = ("delta", "model", "timestamp")


class ThinkingTextMessageEndEvent(BaseEvent):
    type: Literal[EventType.THINKING_TEXT_MESSAGE_END] = EventType.THINKING_TEXT_MESSAGE_END
