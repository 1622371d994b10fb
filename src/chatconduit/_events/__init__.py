"""The AG-UI event models: one pydantic class per event type, with the TanStack AI
extensions, lenient where the reference client is lenient and exact about bytes (a
parsed event re-encodes to the bytes it arrived as). The rules (leniency, absent vs.
``null``, key order) are in docs/architecture.md, "The event model".
"""

from __future__ import annotations

from ._base import BaseEvent, tanstack_of
from ._base import NestedWireModel as NestedWireModel
from ._base import WireModel as WireModel  # tests walk field types against it
from ._base import _get_wire_keys as _get_wire_keys  # tests read the key-order slot
from ._custom import (
    CustomEvent,
    RawEvent,
    SubagentErrorEvent,
    SubagentFinishedEvent,
    SubagentStartedEvent,
    UnknownEvent,
)
from ._encode import (
    coerce_event,
    event_to_dict,
    event_to_json,
    finish_reason_of,
    is_intermediate_finish,
    is_loop_step,
    is_terminal,
    outcome_type_of,
)
from ._fast import _FAST as _FAST  # the import-time self-check's verdict (tested)
from ._parse import _parse_reference as _parse_reference  # timed by tests/test_events.py
from ._parse import parse_event, parse_event_json, parse_event_json_batch
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
    Interrupt,
    RunErrorDetail,
    RunErrorEvent,
    RunFinishedEvent,
    RunOutcome,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    Usage,
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
from ._types import EventType, JSNumber
from ._union import Event, event_adapter, event_class_for

__all__ = [
    "ActivityDeltaEvent",
    "ActivitySnapshotEvent",
    "BaseEvent",
    "CustomEvent",
    "Event",
    "EventType",
    "Interrupt",
    "JSNumber",
    "MessagesSnapshotEvent",
    "RawEvent",
    "ReasoningEncryptedValueEvent",
    "ReasoningEndEvent",
    "ReasoningMessageChunkEvent",
    "ReasoningMessageContentEvent",
    "ReasoningMessageEndEvent",
    "ReasoningMessageStartEvent",
    "ReasoningStartEvent",
    "RunErrorDetail",
    "RunErrorEvent",
    "RunFinishedEvent",
    "RunOutcome",
    "RunStartedEvent",
    "StateDeltaEvent",
    "StateSnapshotEvent",
    "StepFinishedEvent",
    "StepStartedEvent",
    "SubagentErrorEvent",
    "SubagentFinishedEvent",
    "SubagentStartedEvent",
    "TextMessageChunkEvent",
    "TextMessageContentEvent",
    "TextMessageEndEvent",
    "TextMessageStartEvent",
    "ThinkingEndEvent",
    "ThinkingStartEvent",
    "ThinkingTextMessageContentEvent",
    "ThinkingTextMessageEndEvent",
    "ThinkingTextMessageStartEvent",
    "ToolCallArgsEvent",
    "ToolCallChunkEvent",
    "ToolCallEndEvent",
    "ToolCallResultEvent",
    "ToolCallStartEvent",
    "UnknownEvent",
    "Usage",
    "coerce_event",
    "event_adapter",
    "event_class_for",
    "event_to_dict",
    "event_to_json",
    "finish_reason_of",
    "is_intermediate_finish",
    "is_loop_step",
    "is_terminal",
    "outcome_type_of",
    "parse_event",
    "parse_event_json",
    "parse_event_json_batch",
    "tanstack_of",
]
