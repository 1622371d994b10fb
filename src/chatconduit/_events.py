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

import re
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, Union, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    ModelWrapValidatorHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaValidator, core_schema

from . import _json
from ._exceptions import MalformedEventError

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

JSNumber: TypeAlias = int | float
"""A JavaScript number. ``int`` stays ``int`` so that ``12`` re-encodes as ``12``, not ``12.0``."""


class EventType(StrEnum):
    """Every AG-UI event type (``@ag-ui/core`` 0.0.52 plus the later SUBAGENT_* ones).

    A ``StrEnum``: ``event.type == "RUN_STARTED"`` and ``event.type == EventType.RUN_STARTED``
    are both true.
    """

    RUN_STARTED = "RUN_STARTED"
    RUN_FINISHED = "RUN_FINISHED"
    RUN_ERROR = "RUN_ERROR"
    TEXT_MESSAGE_START = "TEXT_MESSAGE_START"
    TEXT_MESSAGE_CONTENT = "TEXT_MESSAGE_CONTENT"
    TEXT_MESSAGE_END = "TEXT_MESSAGE_END"
    TEXT_MESSAGE_CHUNK = "TEXT_MESSAGE_CHUNK"
    TOOL_CALL_START = "TOOL_CALL_START"
    TOOL_CALL_ARGS = "TOOL_CALL_ARGS"
    TOOL_CALL_END = "TOOL_CALL_END"
    TOOL_CALL_RESULT = "TOOL_CALL_RESULT"
    TOOL_CALL_CHUNK = "TOOL_CALL_CHUNK"
    STEP_STARTED = "STEP_STARTED"
    STEP_FINISHED = "STEP_FINISHED"
    MESSAGES_SNAPSHOT = "MESSAGES_SNAPSHOT"
    STATE_SNAPSHOT = "STATE_SNAPSHOT"
    STATE_DELTA = "STATE_DELTA"
    CUSTOM = "CUSTOM"
    RAW = "RAW"
    REASONING_START = "REASONING_START"
    REASONING_MESSAGE_START = "REASONING_MESSAGE_START"
    REASONING_MESSAGE_CONTENT = "REASONING_MESSAGE_CONTENT"
    REASONING_MESSAGE_END = "REASONING_MESSAGE_END"
    REASONING_MESSAGE_CHUNK = "REASONING_MESSAGE_CHUNK"
    REASONING_END = "REASONING_END"
    REASONING_ENCRYPTED_VALUE = "REASONING_ENCRYPTED_VALUE"
    ACTIVITY_SNAPSHOT = "ACTIVITY_SNAPSHOT"
    ACTIVITY_DELTA = "ACTIVITY_DELTA"
    # Deprecated in @ag-ui/core 0.0.52 in favour of REASONING_*; TanStack 0.10 ignores them.
    THINKING_START = "THINKING_START"
    THINKING_END = "THINKING_END"
    THINKING_TEXT_MESSAGE_START = "THINKING_TEXT_MESSAGE_START"
    THINKING_TEXT_MESSAGE_CONTENT = "THINKING_TEXT_MESSAGE_CONTENT"
    THINKING_TEXT_MESSAGE_END = "THINKING_TEXT_MESSAGE_END"
    # Added to AG-UI after 0.0.52 (present in the Python ``ag_ui.core``); not in TanStack 0.10.
    SUBAGENT_STARTED = "SUBAGENT_STARTED"
    SUBAGENT_FINISHED = "SUBAGENT_FINISHED"
    SUBAGENT_ERROR = "SUBAGENT_ERROR"


# The name of the slot holding the wire key order of a parsed model (a tuple of keys, or the
# JSON payload it was parsed from, read on first encode). It lives outside pydantic's state
# on purpose: ``==``, ``model_copy`` and pickling ignore it.
_WIRE_KEYS_SLOT = "_cc_wire_keys"


class WireModel(BaseModel):
    """Common base of the events and their nested objects: camelCase wire, strict, extras kept."""

    __slots__ = (_WIRE_KEYS_SLOT,)

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        strict=True,
    )

    # Canonical key order, as python field names. Fields not listed follow in declaration order.
    __wire_order__: ClassVar[tuple[str, ...]] = ()
    # Filled in by __pydantic_init_subclass__: (field name, wire key) pairs in canonical
    # order, and the reverse map used when following a parsed event's own order.
    _cc_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()
    _cc_alias_to_name: ClassVar[dict[str, str]] = {}
    _cc_renamed: ClassVar[frozenset[str]] = frozenset()  # fields whose wire key differs
    _cc_nested: ClassVar[bool] = False  # True for objects inside events (they have no ``type``)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = {name: info for name, info in cls.model_fields.items() if name != "type"}
        names = [n for n in cls.__wire_order__ if n in fields]
        unknown = set(cls.__wire_order__) - set(fields) - {"type"}
        if unknown:  # a typo here would silently reorder output; fail at import instead
            raise TypeError(f"{cls.__name__}.__wire_order__ names unknown fields {sorted(unknown)}")
        names += [n for n in fields if n not in names]
        cls._cc_pairs = tuple((n, fields[n].alias or n) for n in names)
        cls._cc_alias_to_name = {alias: name for name, alias in cls._cc_pairs}
        cls._cc_renamed = frozenset(name for name, alias in cls._cc_pairs if name != alias)


class NestedWireModel(WireModel):
    """An object nested inside an event (``usage``, ``error``). It remembers its own key order
    while being validated: the event-level bookkeeping in :func:`parse_event` only sees the top
    level. Events do not use this validator; it would cost every event a Python call."""

    _cc_nested: ClassVar[bool] = True

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        model = handler(data)
        if type(data) is dict and model is not data:
            object.__setattr__(model, _WIRE_KEYS_SLOT, tuple(data))
        return model


class Usage(NestedWireModel):
    """Token usage on TanStack's RUN_FINISHED: ``{promptTokens, completionTokens, totalTokens}``."""

    prompt_tokens: JSNumber | None = None
    completion_tokens: JSNumber | None = None
    total_tokens: JSNumber | None = None


class RunErrorDetail(NestedWireModel):
    """The nested ``error`` of a TanStack RUN_ERROR: ``{message, code?}`` (deprecated form, still
    the only one the 0.10 server writes)."""

    message: str | None = None
    code: str | None = None


class BaseEvent(WireModel):
    """Fields every event may carry. ``model`` is a TanStack addition (the LLM's name)."""

    type: str
    timestamp: JSNumber | None = None
    model: str | None = None
    raw_event: Any = None


# --- lifecycle -----------------------------------------------------------------------------


class RunStartedEvent(BaseEvent):
    type: Literal[EventType.RUN_STARTED] = EventType.RUN_STARTED
    run_id: str | None = None
    thread_id: str | None = None
    parent_run_id: str | None = None
    input: Any = None
    """The RunAgentInput that started the run, kept as the raw JSON object."""

    __wire_order__ = ("run_id", "thread_id", "parent_run_id", "model", "timestamp", "input")


class RunFinishedEvent(BaseEvent):
    type: Literal[EventType.RUN_FINISHED] = EventType.RUN_FINISHED
    run_id: str | None = None
    thread_id: str | None = None
    finish_reason: str | None = None
    """TanStack: ``'stop' | 'length' | 'content_filter' | 'tool_calls' | null``."""
    usage: Usage | list[dict[str, Any]] | None = None
    """TanStack writes a :class:`Usage` object; newer AG-UI writes a list of per-provider
    ``TokenUsage`` objects, kept as plain dicts."""
    result: Any = None

    __wire_order__ = (
        "run_id",
        "thread_id",
        "model",
        "timestamp",
        "finish_reason",
        "usage",
        "result",
    )


class RunErrorEvent(BaseEvent):
    type: Literal[EventType.RUN_ERROR] = EventType.RUN_ERROR
    thread_id: str | None = None
    run_id: str | None = None
    message: str | None = None
    code: str | None = None
    error: RunErrorDetail | None = None
    """TanStack's nested (deprecated) form; the 0.10 server writes only this, no ``message``."""

    __wire_order__ = ("thread_id", "run_id", "model", "timestamp", "message", "code", "error")

    @property
    def error_message(self) -> str:
        """What the reference client shows: ``message || error.message || 'An error occurred'``."""
        if self.message:
            return self.message
        if self.error is not None and self.error.message:
            return self.error.message
        return "An error occurred"

    @property
    def error_code(self) -> str | None:
        """``code``, else the nested ``error.code``."""
        if self.code is not None:
            return self.code
        return self.error.code if self.error is not None else None


# --- text messages -------------------------------------------------------------------------


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


# --- tool calls ----------------------------------------------------------------------------


class ToolCallStartEvent(BaseEvent):
    type: Literal[EventType.TOOL_CALL_START] = EventType.TOOL_CALL_START
    tool_call_id: str | None = None
    tool_call_name: str | None = None
    tool_name: str | None = None
    """TanStack's deprecated alias of ``tool_call_name``; the 0.10 server writes both."""
    parent_message_id: str | None = None
    index: JSNumber | None = None
    metadata: dict[str, Any] | None = None

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


# --- steps (TanStack 0.10 carries "thinking" on STEP_FINISHED) -----------------------------


class StepStartedEvent(BaseEvent):
    type: Literal[EventType.STEP_STARTED] = EventType.STEP_STARTED
    step_name: str | None = None
    step_id: str | None = None
    """TanStack's deprecated alias; the reference processor uses it as the step's id."""
    step_type: str | None = None

    __wire_order__ = ("step_name", "step_id", "model", "timestamp", "step_type")


class StepFinishedEvent(BaseEvent):
    type: Literal[EventType.STEP_FINISHED] = EventType.STEP_FINISHED
    step_name: str | None = None
    step_id: str | None = None
    delta: str | None = None
    content: str | None = None
    signature: str | None = None

    __wire_order__ = ("step_name", "step_id", "model", "timestamp", "delta", "content", "signature")


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


# --- parsing -------------------------------------------------------------------------------

_EXCERPT_CHARS = 200


def _excerpt(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: _EXCERPT_CHARS * 4]).decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else repr(value)
    if len(text) > _EXCERPT_CHARS:
        return text[:_EXCERPT_CHARS] + "…"
    return text


def _wire_path(obj: Any, loc: tuple[int | str, ...]) -> str:
    """The path of a bad value in the input, as JSON keys and indexes.

    pydantic's ``loc`` also names the union member it tried (``usage.Usage.promptTokens.int``,
    ``usage.list[dict[str,any]]``); walking the input keeps only the steps that exist in it.
    """
    steps: list[str] = []
    node = obj
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            steps.append(str(part))
    return ".".join(steps)


def _describe(exc: ValidationError, obj: dict[str, Any]) -> str:
    """One line naming the event type and, per bad top-level field, its wire path and problem.

    pydantic reports one error per union member; the first one per field is what a reader
    needs (``field 'usage': Input should be a valid integer (at usage.promptTokens)``).
    """
    by_field: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        field = str(loc[0]) if loc else "(event)"
        if field not in by_field:
            where = _wire_path(obj, loc)
            by_field[field] = f"{field!r}: {err['msg']}" + (
                f" (at {where})" if where and where != field else ""
            )
    return f"invalid {obj['type']} event: field " + "; field ".join(by_field.values())


def _type_problem(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return "event is not a JSON object but " + ("null" if obj is None else type(obj).__name__)
    if "type" not in obj:
        return "event has no 'type'"
    return f"event 'type' is not a string but {type(obj['type']).__name__}"


# Per class, validating a decoded dict. ``by_name=False`` keeps the wire camelCase-only (see
# the module docstring); passing it at the call site is ~0.15 us faster than a partial.
_VALIDATORS: dict[str, Callable[..., Any]] = {
    name: cls.__pydantic_validator__.validate_python for name, cls in _EVENT_CLASSES.items()
}
_validate_unknown: Callable[..., Any] = UnknownEvent.__pydantic_validator__.validate_python

# Going through the slot's descriptor skips BaseModel.__setattr__/__getattr__ (and pydantic's
# state); an unset slot raises AttributeError from the getter. The slot holds the arrival key
# order as a tuple, or - for events from the JSON fast path - the payload itself, from which
# the order is read the first time the event is encoded (see _arrival_order).
_wire_keys_slot = WireModel.__dict__[_WIRE_KEYS_SLOT]
_get_wire_keys: Callable[[Any], tuple[str, ...] | bytes | str] = _wire_keys_slot.__get__
_set_wire_keys: Callable[[Any, tuple[str, ...] | bytes | str], None] = _wire_keys_slot.__set__

# Key orders seen on the wire, shared: a producer writes every event of a type in the same
# order, so one tuple per shape replaces one per event. Bounded, since the wire is not trusted.
_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}
_KEY_ORDERS_MAX = 1024


def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    if len(_KEY_ORDERS) > _KEY_ORDERS_MAX:
        _KEY_ORDERS.clear()
    return _KEY_ORDERS.setdefault(keys, keys)


def _arrival_order(payload: bytes | str) -> tuple[str, ...]:
    """The top-level keys of a payload the fast path accepted, in order (type included).

    The fast path only accepts what :func:`_json.loads` parses to the same values (see
    ``_js_safe``), so this parse sees the same keys; ``()`` (canonical order) is only a
    guard.
    """
    try:
        obj = _json.loads(payload)
    except ValueError:  # pragma: no cover - the fast path accepted it, so it is JSON
        return ()
    return _key_order(tuple(obj)) if type(obj) is dict else ()


def _build(obj: dict[str, Any], source: Any) -> Event:
    """Validate a decoded object whose ``type`` is known to be a string."""
    validate = _VALIDATORS.get(obj["type"], _validate_unknown)
    try:
        event = validate(obj, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise MalformedEventError(_describe(exc, obj), excerpt=_excerpt(source)) from None
    _set_wire_keys(event, _key_order(tuple(obj)))
    return event  # type: ignore[no-any-return]


def parse_event(obj: Mapping[str, Any]) -> Event:
    """Build the event for a decoded JSON object. Raises :class:`MalformedEventError` when it is
    not an object, has no string ``type``, or a known field has the wrong type."""
    if type(obj) is not dict:
        if not isinstance(obj, Mapping):
            raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(obj))
        obj = dict(obj)
    if not isinstance(obj.get("type"), str):  # an EventType member is fine here
        raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(obj))
    return _build(obj, obj)


# --- parsing: the JSON fast path ------------------------------------------------------------
#
# pydantic can validate JSON bytes straight into a model (its Rust parser, jiter), which skips
# building an intermediate dict and is the fastest path measured (see parse_event_json). But
# jiter and JavaScript's JSON.parse (which _json.loads follows) disagree on a few inputs:
#
# * jiter accepts NaN and Infinity anywhere a value may be - also in a value that a later
#   duplicate key replaces, where no schema ever sees it - and JSON.parse refuses them. A
#   payload holding these bytes is left to the reference path (inside a string they are
#   harmless, and merely cost that payload the slower path);
# * jiter keeps integers beyond 64 bits exact, where orjson and JSON.parse make doubles of
#   them. The fast path validates with its own schema, derived from the event classes'
#   schemas, whose integers are bounded to orjson's range, so that a bigger one becomes the
#   same double; free-form (``Any``) fields and extras get a JSON-value schema that does the
#   same inside nested values. Its floats refuse non-finite values too: ``1e400`` reads as
#   Infinity on both paths, so that only sends a rare payload the slower way, and it lets the
#   import-time check below see that the derived schema is really in force.
#
# Whatever jiter refuses (lone surrogate escapes, invalid UTF-8, deep nesting) and whatever the
# fast schema refuses (unknown event types, wrong field types) is parsed by the reference path
# above, so results and errors are unchanged. tests/test_codec_properties.py checks the two
# paths agree on adversarial input.

_NAN_BYTES = re.compile(rb"NaN").search  # re beats bytes.find for these needles (measured)
_INFINITY_BYTES = re.compile(rb"Infinity").search

_JS_VALUE_REF = "chatconduit.js-json-value"
_JS_VALUE: dict[str, Any] = {"type": "definition-ref", "schema_ref": _JS_VALUE_REF}
# orjson parses integers in [-2**63, 2**64) to int and anything beyond to float; jiter keeps
# the digits. Inside these bounds the two agree; outside, an int | float field falls through
# to float (the same double orjson gives) and a free-form value's union does the same.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_SCHEMA_KEYS = ("schema", "items_schema", "keys_schema", "values_schema")
_PLAIN_KINDS = frozenset({"str", "bool", "literal", "default", "nullable", "list", "dict"})
_KNOWN_KINDS = _PLAIN_KINDS | {"any", "int", "float", "union", "model", "model-fields"}
_KNOWN_KINDS |= {"model-field", "function-wrap"}


class _UnsupportedSchema(Exception):
    """A schema node the fast path does not know how to make JS-safe: it stays off."""


def _js_safe(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic core schema that refuses what jiter and JSON.parse read differently.

    Raises _UnsupportedSchema for a node kind it was not written for.
    """
    kind = schema["type"]
    if kind not in _KNOWN_KINDS:
        raise _UnsupportedSchema(kind)
    if kind == "any":
        return _JS_VALUE
    out = dict(schema)
    if kind == "int":
        if any(key in schema for key in ("ge", "gt", "le", "lt", "multiple_of")):
            raise _UnsupportedSchema("constrained int")
        out.update(ge=_INT_MIN, le=_INT_MAX)
    elif kind == "float":
        out["allow_inf_nan"] = False
    elif kind == "union":
        out["choices"] = [
            _js_safe(c) if isinstance(c, dict) else (_js_safe(c[0]), c[1])
            for c in schema["choices"]
        ]
    elif kind == "model-fields":
        out["fields"] = {
            name: {**field, "schema": _js_safe(field["schema"])}
            for name, field in schema["fields"].items()
        }
        if "extras_schema" in schema:
            raise _UnsupportedSchema("typed extras")
        out["extras_schema"] = _JS_VALUE  # extras are free-form values, like Any
    for key in _SCHEMA_KEYS:
        if key in out:
            out[key] = _js_safe(out[key])
    return out


def _js_value_definition() -> Any:
    """A JSON value as _json.loads returns it, refusing the jiter-only readings."""
    number_int = core_schema.int_schema(strict=True, ge=_INT_MIN, le=_INT_MAX)
    number_float = core_schema.float_schema(strict=True, allow_inf_nan=False)
    ref = core_schema.definition_reference_schema(_JS_VALUE_REF)
    # left_to_right: JSON true must not reach int, and an int must be tried as int first.
    value = core_schema.union_schema(
        [
            core_schema.bool_schema(strict=True),
            number_int,
            number_float,
            core_schema.str_schema(strict=True),
            core_schema.list_schema(ref),
            core_schema.dict_schema(core_schema.str_schema(), ref),
        ],
        mode="left_to_right",
    )
    return core_schema.nullable_schema(value, ref=_JS_VALUE_REF)


def _model_classes(schema: Any, found: set[type]) -> set[type]:
    """Every model class a core schema validates into (events and their nested objects)."""
    if isinstance(schema, dict):
        if schema.get("type") == "model":
            found.add(schema["cls"])
        for value in schema.values():
            _model_classes(value, found)
    elif isinstance(schema, list | tuple):
        for value in schema:
            _model_classes(value, found)
    return found


def _build_ignoring_prebuilt(schema: Any, classes: set[type]) -> SchemaValidator:
    """``SchemaValidator(schema)``, really built from ``schema``.

    pydantic-core reuses a complete model class's own validator for any ``model`` schema that
    names the class (its "prebuilt" shortcut), which would silently drop the _js_safe changes.
    It only does so for classes whose ``__pydantic_complete__`` is true, so they read as
    incomplete while we build (at import, under the import lock), and are restored after.
    """
    saved = [(cls, cls.__dict__.get("__pydantic_complete__", False)) for cls in classes]
    try:
        for cls, _ in saved:
            type.__setattr__(cls, "__pydantic_complete__", False)
        return SchemaValidator(schema)
    finally:
        for cls, complete in saved:
            type.__setattr__(cls, "__pydantic_complete__", complete)


# What the fast path must read as the reference does, checked once at import: should a
# pydantic-core release ignore our schema, the fast path stays off rather than parse
# differently. Non-finite literals are refused (JSON.parse refuses them); an integer beyond
# 64 bits becomes the double orjson and JSON.parse make of it.
_MUST_REFUSE = (
    b'{"type":"TEXT_MESSAGE_CONTENT","timestamp":NaN}',
    b'{"type":"RUN_FINISHED","usage":{"promptTokens":Infinity}}',
    b'{"type":"CUSTOM","value":[-Infinity]}',
)
_BIG_INT = b'{"type":"CUSTOM","value":18446744073709551616,"extra":-9223372036854775809}'


def _reads_like_the_reference(one: SchemaValidator) -> bool:
    for payload in _MUST_REFUSE:
        try:
            one.validate_python(payload, by_alias=True, by_name=False)
        except ValidationError:
            continue
        return False  # pragma: no cover - depends on the pydantic-core release
    event = one.validate_python(_BIG_INT, by_alias=True, by_name=False)
    return type(event.value) is float and type(event.model_extra["extra"]) is float


def _fast_validators() -> tuple[Callable[..., Any], Callable[..., list[Any]]] | None:
    """(one payload -> event, list of payloads -> events), or None if unavailable."""
    try:
        choices: dict[Hashable, Any] = {
            str(tag): _js_safe(cast(dict[str, Any], cls.__pydantic_core_schema__))
            for tag, cls in _EVENT_CLASSES.items()
        }
    except _UnsupportedSchema:  # pragma: no cover - a pydantic that builds other schemas
        return None
    classes = _model_classes(choices, set())
    # Plain-str tags: the discriminator lookup stays in Rust (EventType hashes in Python).
    union = core_schema.json_schema(core_schema.tagged_union_schema(choices, "type"))
    definitions = [_js_value_definition()]
    one = _build_ignoring_prebuilt(core_schema.definitions_schema(union, definitions), classes)
    many = _build_ignoring_prebuilt(
        core_schema.definitions_schema(core_schema.list_schema(union), definitions), classes
    )
    if not _reads_like_the_reference(one):  # pragma: no cover - depends on pydantic-core
        return None
    return one.validate_python, many.validate_python


_FAST = _fast_validators()
_fast_one, _fast_many = _FAST if _FAST is not None else (None, None)
_BYTES_ONLY = frozenset({bytes})


def _parse_reference(data: str | bytes) -> Event:
    """The reference parser: ``_json.loads`` (JSON.parse semantics) and per-class validation.

    Everything the fast path refuses ends up here, including every error: its messages are
    the ones users see.
    """
    try:
        obj = _json.loads(data)
    except ValueError as exc:
        raise MalformedEventError(
            f"event is not valid JSON ({exc})", excerpt=_excerpt(data)
        ) from None
    if type(obj) is not dict or type(obj.get("type")) is not str:
        raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(data))
    return _build(obj, data)


def parse_event_json(data: str | bytes) -> Event:
    """Parse one JSON payload (an SSE ``data`` value or an NDJSON line) into an event.

    This is the hot path of the library. Per event, on the 124 NDJSON fixture lines
    (CPython 3.11.7 built without PGO, pydantic 2.14, orjson 3.13; best of 5 runs;
    re-measure with ``python tests/test_events.py``)::

        orjson.loads alone                                      0.39 us
        parse_event_json (this: the fast path)                  1.73 us  (~580k events/s)
        parse_event_json_batch, slices of 48                    1.50 us
        reference path (orjson.loads + per-class validation)    1.97 us
        TypeAdapter(Event).validate_json                        2.28 us
        orjson.loads + TypeAdapter(Event).validate_python       2.15 us
        json.loads + model_validate                             3.72 us
        orjson.loads + model_construct (and no validation!)     3.83 us
        parse_event_json + first event_to_json                  4.67 us
        reference path + first event_to_json                    3.88 us

    The fast path validates the bytes straight into the model with a schema derived from the
    event classes (see the comment above ``_js_safe``); what it refuses - unknown types,
    pings, bad JSON, the few inputs where jiter and ``JSON.parse`` differ - goes through
    ``_json.loads`` and per-class validation, which also words every error. Of its 1.73 us,
    ~0.2 us is the NaN/Infinity check. The payload is kept on the event (a ``bytes`` object
    costs the garbage collector nothing) and the key order is read from it only when the
    event is first encoded: decoding pays nothing for it, and code that re-encodes every
    parsed event pays ~0.65 us once per event (the last two rows). ``TypeAdapter(Event)``
    is slower because its discriminator is a Python callable; ``model_construct`` runs in
    Python.
    """
    if type(data) is bytes:
        if _NAN_BYTES(data) is not None or _INFINITY_BYTES(data) is not None:
            return _parse_reference(data)
    elif isinstance(data, str):
        if "NaN" in data or "Infinity" in data:
            return _parse_reference(data)
    else:  # a bytearray: the event keeps the payload, so it must not change later
        return parse_event_json(bytes(data))
    if _fast_one is not None:
        try:
            event = _fast_one(data, by_alias=True, by_name=False)
        except ValidationError:
            return _parse_reference(data)
        _set_wire_keys(event, data)
        return event  # type: ignore[no-any-return]
    return _parse_reference(data)  # pragma: no cover - no fast path


def parse_event_json_batch(payloads: Sequence[bytes]) -> list[Event]:
    """Parse many payloads in one call into pydantic's core: all of them, or none.

    Returns one event per payload, exactly what :func:`parse_event_json` returns for each;
    raises ``ValueError`` (pydantic's ``ValidationError``) when any payload is not a plain
    event of a known type - an unknown type, a ping, ``[DONE]``, bad JSON, or one of the
    inputs the reference parser has to read - and the caller then parses them one by one.
    Payloads must be ``bytes`` (the events keep them, for key order).
    """
    if _fast_many is None:  # pragma: no cover - no fast path
        raise ValueError("no batch parser with this pydantic")
    if not set(map(type, payloads)) <= _BYTES_ONLY:
        raise ValueError("payloads must be bytes")  # the events keep them
    joined = b"".join(payloads)  # one scan per slice beats one call per payload (measured)
    if _NAN_BYTES(joined) is not None or _INFINITY_BYTES(joined) is not None:
        raise ValueError("NaN or Infinity: the reference parser decides")
    events: list[Event] = _fast_many(payloads, by_alias=True, by_name=False)
    deque(map(_set_wire_keys, events, payloads), maxlen=0)
    return events


def coerce_event(event: BaseEvent | Mapping[str, Any]) -> Event:
    """Accept an event or a plain dict (camelCase keys, as on the wire) and return an event."""
    if isinstance(event, BaseEvent):
        return cast(Event, event)
    return parse_event(event)


# --- encoding ------------------------------------------------------------------------------


# Values of these types are written as they are. A JSON value from the wire is always one of
# them, so the per-value check below almost never falls through to _plain().
_JSON_LEAF_TYPES = frozenset({str, int, float, bool, type(None), dict, list})


def _plain(value: Any) -> Any:
    if isinstance(value, WireModel):
        return _dump(value, {})
    if isinstance(value, BaseModel):  # a foreign model a user put into an ``Any`` field
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return value


def _shadowed_fields(
    model: WireModel, extra: dict[str, Any], wire_keys: tuple[str, ...] | None
) -> set[str]:
    """Fields that only *look* set because an extra key has their Python name.

    pydantic puts extra keys into ``model_fields_set``, so a wire key ``"message_id"`` (an
    extra: the wire is camelCase-only) makes the ``message_id`` field look set. The field
    really is set when its camelCase key arrived too, or when it was assigned a value since.
    """
    shadowed = set()
    for name in extra.keys() & model._cc_renamed:
        info = type(model).model_fields[name]
        arrived = wire_keys is not None and info.alias in wire_keys
        if not arrived and model.__dict__[name] == info.default:
            shadowed.add(name)
    return shadowed


def _dump(model: WireModel, out: dict[str, Any]) -> dict[str, Any]:
    values = model.__dict__
    fields_set = model.__pydantic_fields_set__
    extra = model.__pydantic_extra__
    leaf = _JSON_LEAF_TYPES
    wire_keys: tuple[str, ...] | None = None
    # Reading an unset slot raises, and raising costs ~0.4 us. Events built in Python (the
    # server's hot path) never have it set and, unlike parsed ones, do not have ``type`` in
    # their fields set, so they skip the read. (Overriding __init__ to always set the slot
    # would be neater, but pydantic then calls that Python __init__ on every validation:
    # parsing got 70% slower when tried.)
    if "type" in fields_set or model._cc_nested:
        try:
            remembered = _get_wire_keys(model)
        except AttributeError:  # built in Python, model_construct()ed or model_copy()ed
            wire_keys = None
        else:
            if isinstance(remembered, tuple):
                wire_keys = remembered
            else:  # the payload of a fast-path event: read its order once, then keep that
                wire_keys = _arrival_order(remembered)
                _set_wire_keys(model, wire_keys)
    if wire_keys is not None:
        # Follow the order the event arrived in; fields set since then are added below.
        alias_to_name = model._cc_alias_to_name
        for key in wire_keys:
            name = alias_to_name.get(key)
            if name is not None:
                if name in fields_set:
                    value = values[name]
                    out[key] = value if type(value) in leaf else _plain(value)
            elif extra and key in extra:
                value = extra[key]
                out[key] = value if type(value) in leaf else _plain(value)
    shadowed = _shadowed_fields(model, extra, wire_keys) if extra else None
    for name, alias in model._cc_pairs:
        if name in fields_set and alias not in out:
            if shadowed and name in shadowed:
                continue
            value = values[name]
            out[alias] = value if type(value) in leaf else _plain(value)
    if extra:
        for key, value in extra.items():
            if key not in out:
                out[key] = value if type(value) in leaf else _plain(value)
    return out


def event_to_dict(event: BaseEvent | Mapping[str, Any]) -> dict[str, Any]:
    """The event as a JSON-ready dict: ``type`` first, camelCase keys, absent fields omitted,
    explicit ``None`` kept as ``null``, extras kept, in wire order (see the module docstring).

    Values of ``Any`` fields (``input``, ``value``, ``snapshot``, ...) are expected to be JSON
    values. A pydantic model given as such a value is dumped; anything else (including models
    nested deeper) is left to the JSON encoder, which rejects what JSON cannot hold.
    """
    ev = event if type(event) in _EVENT_CLASS_SET else coerce_event(event)
    return _dump(ev, {"type": str(ev.type)})  # type: ignore[union-attr, arg-type]


def event_to_json(event: BaseEvent | Mapping[str, Any]) -> str:
    """Compact JSON exactly as ``JSON.stringify`` writes the same event in TanStack."""
    return _json.dumps(event_to_dict(event))


def is_terminal(event: BaseEvent | Mapping[str, Any]) -> bool:
    """True for RUN_FINISHED and RUN_ERROR: the events that end a run."""
    event_type = event.get("type") if isinstance(event, Mapping) else event.type
    return event_type in _TERMINAL_TYPES


_TERMINAL_TYPES = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})
