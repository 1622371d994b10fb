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
in the order they arrived (remembered in a slot outside pydantic's state, so ``==``
ignores it and ``model_copy()`` forgets it), then any field set later in the canonical
order. Encode with :func:`event_to_dict` / :func:`event_to_json`, not ``model_dump``:
pydantic's dump does not know these orders, and with ``exclude_unset=True`` it drops the
``type`` of an event built in Python (``type`` is a default, not a set field).

The canonical order of each class (``__wire_order__``) is the order TanStack 0.10 writes
that event, read off every line of ``tests/fixtures/tanstack-0.10/responses`` and
the client's synthesized RUN_ERROR; events built in Python therefore come out byte-equal
to the reference's. (TanStack itself is not consistent: its chat engine writes
``type, timestamp, model, ...`` for the TOOL_CALL_END/CUSTOM events it synthesizes, while the
adapters write ``..., model, timestamp, ...``. One canonical order per class cannot match both;
the fixtures win, and CUSTOM, which only the engine writes, follows the engine.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeAlias, Union, cast

import pydantic
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


# The name of the slot holding the wire key order of a parsed model. It lives outside
# pydantic's state on purpose: ``==``, ``model_copy`` and pickling ignore it.
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

# ``by_name=False`` keeps the wire camelCase-only (see the module docstring). It needs
# pydantic >= 2.11; older versions fall back to populate_by_name semantics on the wire too.
_PYDANTIC_HAS_BY_NAME = tuple(int(p) for p in pydantic.VERSION.split(".")[:2]) >= (2, 11)


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


class _Validate(Protocol):
    def __call__(self, obj: dict[str, Any], /, *, by_alias: bool, by_name: bool) -> Any: ...


def _make_validator(cls: type[BaseEvent]) -> _Validate:
    validate = cls.__pydantic_validator__.validate_python
    if _PYDANTIC_HAS_BY_NAME:
        # Passing the keywords at the call site is ~0.15 us faster than a functools.partial.
        return validate

    def old_pydantic(
        obj: dict[str, Any], *, by_alias: bool, by_name: bool
    ) -> Any:  # pragma: no cover
        return validate(obj)

    return old_pydantic  # pragma: no cover


_VALIDATORS: dict[str, _Validate] = {
    name: _make_validator(cls) for name, cls in _EVENT_CLASSES.items()
}
_validate_unknown = _make_validator(UnknownEvent)
# Going through the slot's descriptor skips BaseModel.__setattr__/__getattr__ (and pydantic's
# state); an unset slot raises AttributeError from the getter.
_wire_keys_slot = WireModel.__dict__[_WIRE_KEYS_SLOT]
_get_wire_keys: Callable[[Any], tuple[str, ...] | None] = _wire_keys_slot.__get__
_set_wire_keys: Callable[[Any, tuple[str, ...]], None] = _wire_keys_slot.__set__


def _build(obj: dict[str, Any], source: Any) -> Event:
    """Validate a decoded object whose ``type`` is known to be a string."""
    validate = _VALIDATORS.get(obj["type"], _validate_unknown)
    try:
        event = validate(obj, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise MalformedEventError(_describe(exc, obj), excerpt=_excerpt(source)) from None
    _set_wire_keys(event, tuple(obj))
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


def parse_event_json(data: str | bytes) -> Event:
    """Parse one JSON payload (an SSE ``data`` value or an NDJSON line) into an event.

    This is the hot path of the library. Per event, on the 124 NDJSON fixture lines
    (CPython 3.11, pydantic 2.14, orjson 3; best of 5 runs; re-measure with
    ``python tests/test_events.py``)::

        orjson.loads alone                                      0.34 us
        orjson.loads + per-class validate_python (this)         1.8 us   (~550k events/s)
        TypeAdapter(Event).validate_json                        2.2 us
        orjson.loads + TypeAdapter(Event).validate_python       2.1 us
        json.loads + model_validate                             3.7 us
        orjson.loads + model_construct (and no validation!)     3.7 us

    Looking the class up by ``type`` in a dict beats pydantic's callable discriminator, and
    ``model_construct`` is slower than validating in Rust. Of the 1.8 us, remembering the key
    order (a tuple in a slot) is ~0.15 us; passing ``by_name=False`` as keywords rather than
    via ``functools.partial`` saves ~0.15 us. Encoding: ``event_to_json`` ~1.1-1.4 us
    (``model_dump(by_alias=True, exclude_unset=True)`` alone is 1.8 us).
    """
    try:
        obj = _json.loads(data)
    except ValueError as exc:
        raise MalformedEventError(
            f"event is not valid JSON ({exc})", excerpt=_excerpt(data)
        ) from None
    if type(obj) is not dict or type(obj.get("type")) is not str:
        raise MalformedEventError(_type_problem(obj), excerpt=_excerpt(data))
    # _build(obj, data) inlined: one Python call less per event is ~3% here.
    validate = _VALIDATORS.get(obj["type"], _validate_unknown)
    try:
        event = validate(obj, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise MalformedEventError(_describe(exc, obj), excerpt=_excerpt(data)) from None
    _set_wire_keys(event, tuple(obj))
    return event  # type: ignore[no-any-return]


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
            wire_keys = _get_wire_keys(model)
        except AttributeError:  # built in Python, model_construct()ed or model_copy()ed
            wire_keys = None
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
