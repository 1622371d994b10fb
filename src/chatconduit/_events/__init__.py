"""The AG-UI event union with the TanStack AI 0.10 extensions (SPEC §4.1).

Every event is a pydantic model. Python attributes are snake_case, the wire is camelCase
(``alias_generator=to_camel``); both spellings are accepted by the constructor.

Leniency (decided here, relied on by the processor and the codecs):

* Only ``type`` is required to build an event from the wire. The reference client never
  validates chunks and reads every field defensively, so a field the AG-UI spec calls
  required (``messageId``, ``RUN_ERROR.message`` - which the 0.10 server does not even
  write) is optional here and reads as ``None`` when absent.
* A known field with the wrong JSON type (``"delta": 5``, ``"timestamp": "1"``) is a
  :class:`MalformedEventError`. Validation is *strict*: nothing is coerced, because a
  coerced value would re-encode to different bytes than it arrived as.
* Free-form strings stay ``str`` (roles, finish reasons, subtypes): a value outside the
  documented set is tolerated, the way the JS client tolerates it.
* Unknown keys are kept (``extra="allow"``) and re-emitted; an unknown ``type`` becomes
  :class:`UnknownEvent`, which keeps every field and validates none.
* Wire keys are camelCase only: a snake_case key on the wire (``"message_id"``) is an
  unknown extra, not the field, so it round-trips unchanged.

Absent vs. ``null``: a field that was never set is omitted on output; a field explicitly
set to ``None`` (or parsed from ``null``) is written as ``null``, the way
``JSON.stringify`` treats ``undefined`` vs. ``null``.

Key order: :func:`event_to_dict` writes ``type`` first, then, for a parsed event, the keys
in the order they arrived, then any field set later in the canonical order. The order is
remembered in a slot outside pydantic's state (so ``==`` ignores it and ``model_copy()``
forgets it); :func:`parse_event_json` stores the payload bytes there and the order is read
from them the first time the event is encoded, so parsing pays nothing for it. Encode
with :func:`event_to_dict` / :func:`event_to_json`, not ``model_dump``: pydantic's dump
does not know these orders, and with ``exclude_unset=True`` it drops the ``type`` of an
event built in Python (``type`` is a default, not a set field).

The canonical order of each class (``__wire_order__``) is the order TanStack 0.10 writes
that event, read off every line of ``tests/fixtures/tanstack-0.10/responses`` and
the client's synthesized RUN_ERROR; events built in Python therefore come out byte-equal
to the reference's. (TanStack itself is not consistent: its chat engine writes
``type, timestamp, model, ...`` for the TOOL_CALL_END/CUSTOM events it synthesizes, while the
adapters write ``..., model, timestamp, ...``. One canonical order per class cannot match both;
the fixtures win, and CUSTOM, which only the engine writes, follows the engine.)
"""

from __future__ import annotations

# The package is split by what each module holds (see docs/architecture.md):
#   _types      EventType, JSNumber
#   _base       WireModel, NestedWireModel, BaseEvent; the key-order slot and its accessors
#   _run, _text_messages, _tool_calls, _reasoning, _state, _custom   the event classes by family
#   _union      the Event union, event_adapter, event_class_for, the type -> class table
#   _fast       the JSON fast path's validators, built and self-checked at import
#   _parse      parse_event, parse_event_json (the hot path), parse_event_json_batch
#   _encode     event_to_dict, event_to_json, coerce_event, is_terminal
from ._base import BaseEvent
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
from ._encode import coerce_event, event_to_dict, event_to_json, is_terminal
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
    RunErrorDetail,
    RunErrorEvent,
    RunFinishedEvent,
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
    "is_terminal",
    "parse_event",
    "parse_event_json",
    "parse_event_json_batch",
]
