"""The ``Event`` union, its ``TypeAdapter``, and the ``type`` string -> class table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeAlias, Union

from pydantic import Discriminator, Tag, TypeAdapter

from ._base import BaseEvent
from ._custom import (
    CustomEvent,
    RawEvent,
    SubagentErrorEvent,
    SubagentFinishedEvent,
    SubagentStartedEvent,
    UnknownEvent,
)
from ._reasoning import (
    ReasoningEncryptedValueEvent,
    ReasoningEndEvent,
    ReasoningMessageChunkEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ThinkingTextMessageContentEvent,
    ThinkingTextMessageEndEvent,
    ThinkingTextMessageStartEvent,
)
from ._run import (
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
)
from ._state import (
    ActivityDeltaEvent,
    ActivitySnapshotEvent,
    MessagesSnapshotEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
)
from ._text_messages import (
    TextMessageChunkEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
)
from ._tool_calls import (
    ToolCallArgsEvent,
    ToolCallChunkEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ._types import EventType

# Builders (the layers above) subclass nothing here; keep this table in sync with EventType.
_EVENT_CLASSES: dict[str, type[BaseEvent]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        RunStartedEvent,
        RunFinishedEvent,
        RunErrorEvent,
        TextMessageStartEvent,
        TextMessageContentEvent,
        TextMessageEndEvent,
        TextMessageChunkEvent,
        ToolCallStartEvent,
        ToolCallArgsEvent,
        ToolCallEndEvent,
        ToolCallResultEvent,
        ToolCallChunkEvent,
        StepStartedEvent,
        StepFinishedEvent,
        MessagesSnapshotEvent,
        StateSnapshotEvent,
        StateDeltaEvent,
        CustomEvent,
        RawEvent,
        ReasoningStartEvent,
        ReasoningMessageStartEvent,
        ReasoningMessageContentEvent,
        ReasoningMessageEndEvent,
        ReasoningMessageChunkEvent,
        ReasoningEndEvent,
        ReasoningEncryptedValueEvent,
        ActivitySnapshotEvent,
        ActivityDeltaEvent,
        ThinkingStartEvent,
        ThinkingEndEvent,
        ThinkingTextMessageStartEvent,
        ThinkingTextMessageContentEvent,
        ThinkingTextMessageEndEvent,
        SubagentStartedEvent,
        SubagentFinishedEvent,
        SubagentErrorEvent,
    )
}
if set(_EVENT_CLASSES) != set(EventType):  # pragma: no cover - guards edits to this module
    raise RuntimeError(f"event classes out of sync: {set(EventType) ^ set(_EVENT_CLASSES)}")

# Exact-type membership is much cheaper than isinstance() on pydantic's metaclass.
_EVENT_CLASS_SET: frozenset[type[BaseEvent]] = frozenset({*_EVENT_CLASSES.values(), UnknownEvent})

_UNKNOWN_TAG = "__unknown__"


def _discriminate(value: Any) -> str | None:
    """Route a raw dict or an event instance to its class's tag; unknown types to UnknownEvent."""
    tag = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    if not isinstance(tag, str):
        return None  # pydantic reports "unable to extract tag"
    return tag if tag in _EVENT_CLASSES else _UNKNOWN_TAG


Event: TypeAlias = Annotated[
    Union[  # noqa: UP007 - a Union spelled out is what Tag/Discriminator annotate
        Annotated[RunStartedEvent, Tag("RUN_STARTED")],
        Annotated[RunFinishedEvent, Tag("RUN_FINISHED")],
        Annotated[RunErrorEvent, Tag("RUN_ERROR")],
        Annotated[TextMessageStartEvent, Tag("TEXT_MESSAGE_START")],
        Annotated[TextMessageContentEvent, Tag("TEXT_MESSAGE_CONTENT")],
        Annotated[TextMessageEndEvent, Tag("TEXT_MESSAGE_END")],
        Annotated[TextMessageChunkEvent, Tag("TEXT_MESSAGE_CHUNK")],
        Annotated[ToolCallStartEvent, Tag("TOOL_CALL_START")],
        Annotated[ToolCallArgsEvent, Tag("TOOL_CALL_ARGS")],
        Annotated[ToolCallEndEvent, Tag("TOOL_CALL_END")],
        Annotated[ToolCallResultEvent, Tag("TOOL_CALL_RESULT")],
        Annotated[ToolCallChunkEvent, Tag("TOOL_CALL_CHUNK")],
        Annotated[StepStartedEvent, Tag("STEP_STARTED")],
        Annotated[StepFinishedEvent, Tag("STEP_FINISHED")],
        Annotated[MessagesSnapshotEvent, Tag("MESSAGES_SNAPSHOT")],
        Annotated[StateSnapshotEvent, Tag("STATE_SNAPSHOT")],
        Annotated[StateDeltaEvent, Tag("STATE_DELTA")],
        Annotated[CustomEvent, Tag("CUSTOM")],
        Annotated[RawEvent, Tag("RAW")],
        Annotated[ReasoningStartEvent, Tag("REASONING_START")],
        Annotated[ReasoningMessageStartEvent, Tag("REASONING_MESSAGE_START")],
        Annotated[ReasoningMessageContentEvent, Tag("REASONING_MESSAGE_CONTENT")],
        Annotated[ReasoningMessageEndEvent, Tag("REASONING_MESSAGE_END")],
        Annotated[ReasoningMessageChunkEvent, Tag("REASONING_MESSAGE_CHUNK")],
        Annotated[ReasoningEndEvent, Tag("REASONING_END")],
        Annotated[ReasoningEncryptedValueEvent, Tag("REASONING_ENCRYPTED_VALUE")],
        Annotated[ActivitySnapshotEvent, Tag("ACTIVITY_SNAPSHOT")],
        Annotated[ActivityDeltaEvent, Tag("ACTIVITY_DELTA")],
        Annotated[ThinkingStartEvent, Tag("THINKING_START")],
        Annotated[ThinkingEndEvent, Tag("THINKING_END")],
        Annotated[ThinkingTextMessageStartEvent, Tag("THINKING_TEXT_MESSAGE_START")],
        Annotated[ThinkingTextMessageContentEvent, Tag("THINKING_TEXT_MESSAGE_CONTENT")],
        Annotated[ThinkingTextMessageEndEvent, Tag("THINKING_TEXT_MESSAGE_END")],
        Annotated[SubagentStartedEvent, Tag("SUBAGENT_STARTED")],
        Annotated[SubagentFinishedEvent, Tag("SUBAGENT_FINISHED")],
        Annotated[SubagentErrorEvent, Tag("SUBAGENT_ERROR")],
        Annotated[UnknownEvent, Tag(_UNKNOWN_TAG)],
    ],
    Discriminator(_discriminate),
]
"""Any event. Discriminated on ``type``; a type this library does not know is an
:class:`UnknownEvent`."""

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
"""Validates/serialises :data:`Event` for code that wants pydantic's own API (e.g. as a
field of another model). :func:`parse_event` / :func:`event_to_dict` are faster and keep key
order; prefer them."""


def event_class_for(event_type: str) -> type[BaseEvent]:
    """The class for a ``type`` string: a known event class, else :class:`UnknownEvent`."""
    return _EVENT_CLASSES.get(event_type, UnknownEvent)
