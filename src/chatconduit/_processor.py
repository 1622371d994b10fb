"""``StreamProcessor``: turns a stream of AG-UI events into ``UIMessage``s (SPEC §4).

The processor owns the conversation (``messages``) and, while a response streams, the
per-message bookkeeping that decides where each event's content lands: which message
is active, which text *segment* is growing, which tool call a delta belongs to, which
thinking step is current. ``ChatClient`` feeds it every event and calls
:meth:`StreamProcessor.prepare_assistant_message` before a request and
:meth:`StreamProcessor.finalize_stream` when the response has ended.

Cost model (why the code looks the way it does)
-----------------------------------------------
Work is proportional to the bytes received, never to the size of the conversation or of
the text so far:

* Text, thinking and tool-argument deltas are appended to the string stored *in the
  part itself*. That string is referenced from nowhere else, and it is extended through
  a local variable (:func:`_append`) so that CPython's in-place string concatenation
  applies (refcount 1) and the append costs O(delta) amortised. Reading a part always
  gives the current text. (Keeping a second copy of the text anywhere, e.g. in the
  processor's state, would make every append copy the whole string: quadratic.)
* Parts and messages are updated in place; the message list is never copied per event.
  ``on_messages_change`` receives a live read-only view of the list (O(1)); copy it if
  you need a snapshot.
* Partial JSON for tool arguments is parsed lazily, when
  :meth:`StreamProcessor.tool_call_arguments` is called, and cached by length, rather
  than on every ``TOOL_CALL_ARGS`` delta (which would be quadratic).
* ``STATE_DELTA`` patches are applied in place with an undo log (``_json_patch``).

Deliberate differences from the reference (also in ``docs/differences.md``)
-----------------------------------------------------------------------------
1. **RUN_ERROR creates no message.** The reference appends an empty assistant message
   when none is active; here the error is kept on the processor (``error``,
   ``has_error``) and on the run (``runs[run_id].error``) instead.
2. **No repeated text after tools.** Text that follows tool calls in the same message
   starts a new text part containing only the new text, also when it arrives as bare
   deltas without a new ``TEXT_MESSAGE_START`` (the reference repeats the earlier text:
   ``"Before"``, tool call, ``"BeforeAfter"``), or as accumulated ``content``. The rule
   is general: a text segment continues only while its part is the message's last part,
   so text after a tool result or a thinking part also starts a new part.
3. **One finish per response.** ``RUN_FINISHED`` with ``finishReason: "tool_calls"`` is an
   intermediate step of a server agent loop (more events of the same response follow, or
   the client runs its tools): it completes the pending tool calls and records the
   reason and usage but does not finalize. The stream is finalized by a terminal
   ``RUN_FINISHED`` (no run left and any other reason) or by :meth:`finalize_stream`, so
   ``on_stream_end`` fires once per stream instead of once per agent-loop iteration.
4. **Shared state.** ``STATE_SNAPSHOT`` / ``STATE_DELTA`` (RFC 6902 JSON Patch) are applied
   to :attr:`StreamProcessor.state`; a patch that does not apply raises
   :class:`~chatconduit.JSONPatchError` and leaves the state unchanged. (The reference
   ignores both.)
5. **Chunk events.** ``TEXT_MESSAGE_CHUNK``, ``TOOL_CALL_CHUNK`` and
   ``REASONING_MESSAGE_CHUNK`` are expanded into start / content (args) / end as AG-UI
   clients do: a chunk with a new id starts a new message or call, and the next event
   of another kind ends it. (The reference ignores them.)
6. **Usage.** ``RUN_FINISHED.usage`` and ``finishReason`` are kept on the processor and on
   the run. (The reference drops usage.)
7. **AG-UI message snapshots.** ``MESSAGES_SNAPSHOT`` entries in AG-UI shape
   (``content``/``toolCalls``, ``role: "tool"``) are converted to UIMessages with parts.
   (The reference stores them as-is, and later code reading ``parts`` breaks.)
8. **Chunk strategies throttle notifications, not data.** A strategy decides when
   ``on_messages_change`` / ``on_text_update`` fire for text; the parts always hold the
   current text. (In the reference the part lags until the strategy emits.)
9. **Bad input is reported.** An event missing an id it cannot be applied without raises
   :class:`~chatconduit.MalformedEventError`; events that refer to an unknown tool call
   are dropped, as in the reference, but with a logged warning.
10. **Small fixes.** ``approval-requested`` updates the tool call wherever it lives (the
    reference looks only in the active message); a duplicate ``TOOL_CALL_START`` id is a
    no-op across messages, not only within one; text parts are updated in place and keep
    their ``metadata``; renaming an auto-created message never gives two messages one id.

API shape: ``on_stream_start(message)`` receives the new message; ``on_custom_event`` gets
``(name, value, tool_call_id)``; ``on_messages_change`` gets a live :class:`MessagesView`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias, cast, overload

from pydantic import BaseModel

from . import _json
from ._events import (
    BaseEvent,
    CustomEvent,
    EventType,
    MessagesSnapshotEvent,
    ReasoningMessageChunkEvent,
    ReasoningMessageContentEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallChunkEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    Usage,
    coerce_event,
)
from ._exceptions import MalformedEventError, RunError
from ._ids import generate_id
from ._json_patch import apply_patch, copy_json
from ._messages import (
    AudioPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MessagePart,
    Role,
    TextPart,
    ThinkingPart,
    ToolCallApproval,
    ToolCallPart,
    ToolCallState,
    ToolResultPart,
    UIMessage,
    UrlSource,
    VideoPart,
    message_from_dict,
    part_from_dict,
)
from ._partial_json import parse_partial_json
from ._strategies import ChunkStrategy, ImmediateStrategy, reset_strategy

__all__ = [
    "ApprovalRequest",
    "MessagesView",
    "RunInfo",
    "StreamProcessor",
    "StreamToolCall",
    "ToolCallRequest",
    "ui_messages_from_snapshot",
]

logger = logging.getLogger("chatconduit.processor")

# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A client tool should run now (CUSTOM ``tool-input-available``)."""

    tool_call_id: str | None
    tool_name: str | None
    input: Any


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A tool call waits for the user's approval (CUSTOM ``approval-requested``)."""

    tool_call_id: str | None
    tool_name: str | None
    input: Any
    approval_id: str


RunStatus: TypeAlias = Literal["running", "finished", "error"]


@dataclass(slots=True)
class RunInfo:
    """What the processor knows about one run of the current stream.

    ``status`` is ``running`` after RUN_STARTED, ``finished`` after RUN_FINISHED (also an
    intermediate one with ``finish_reason == "tool_calls"``) and ``error`` after RUN_ERROR.
    """

    run_id: str | None
    thread_id: str | None = None
    status: RunStatus = "running"
    finish_reason: str | None = None
    usage: Usage | list[dict[str, Any]] | None = None
    error: RunError | None = None


class MessagesView(Sequence[UIMessage]):
    """A live, read-only view of the processor's message list (no copy is made).

    It always reflects the current messages; ``list(view)`` takes a snapshot of the list
    (the messages themselves are shared: deep-copy them with
    ``m.model_copy(deep=True)`` if you need to keep a point-in-time state).
    """

    __slots__ = ("_items",)

    def __init__(self, items: list[UIMessage]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> UIMessage: ...
    @overload
    def __getitem__(self, index: slice) -> list[UIMessage]: ...
    def __getitem__(self, index: int | slice) -> UIMessage | list[UIMessage]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[UIMessage]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"MessagesView({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessagesView):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


MessagesChangeCallback: TypeAlias = Callable[[MessagesView], None]
MessageCallback: TypeAlias = Callable[[UIMessage], None]
ErrorCallback: TypeAlias = Callable[[RunError], None]
ToolCallCallback: TypeAlias = Callable[[ToolCallRequest], None]
ApprovalCallback: TypeAlias = Callable[[ApprovalRequest], None]
CustomEventCallback: TypeAlias = Callable[[str, Any, "str | None"], None]
TextUpdateCallback: TypeAlias = Callable[[str, str], None]
ThinkingUpdateCallback: TypeAlias = Callable[[str, str, str], None]
ToolCallStateCallback: TypeAlias = Callable[[str, str, ToolCallState, str], None]
StateChangeCallback: TypeAlias = Callable[[Any], None]

EventInput: TypeAlias = BaseEvent | Mapping[str, Any]
MessageInput: TypeAlias = UIMessage | Mapping[str, Any]
PartInput: TypeAlias = BaseModel | Mapping[str, Any]

# --------------------------------------------------------------------------- internals


def _append(part: BaseModel, name: str, text: str) -> None:
    """Append ``text`` to the string field ``name`` of ``part`` in amortised O(len(text)).

    The field is detached while the local ``s`` holds the only reference, so CPython
    resizes the string in place instead of copying it. Writing ``__dict__`` directly also
    skips pydantic's ``__setattr__`` (the field is required, so it is already "set").
    """
    d = part.__dict__
    s = d[name]
    d[name] = ""
    s += text
    d[name] = s


def _now() -> datetime:
    return datetime.now(UTC)


# What JavaScript's String.prototype.trim() removes (WhiteSpace + LineTerminator).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def _is_blank(text: str) -> bool:
    return not text.strip(_JS_WHITESPACE)


def _parse_output(text: str) -> Any:
    """``JSON.parse(text)``, or the raw string when it is not JSON (SPEC 4.4)."""
    try:
        return _json.loads(text)
    except ValueError:
        return text


class StreamToolCall:
    """A tool call of the current stream as the processor tracks it (read-only).

    The UI-facing data is the :attr:`part`; this adds what the part does not hold: the
    arrival ``index``, the *input* state (which never leaves ``input-complete`` for the
    approval states, unlike the part's) and the lazily parsed arguments.
    """

    __slots__ = ("_index", "_message", "_parsed_cache", "_parsed_input", "_part", "_state")

    def __init__(self, part: ToolCallPart, message: _MessageState, index: int) -> None:
        self._part = part
        self._message = message
        self._index = index
        self._state: ToolCallState = "awaiting-input"
        self._parsed_input: tuple[Any] | None = None  # TOOL_CALL_END.input, when given
        self._parsed_cache: tuple[int, Any] | None = None  # (len(arguments), parsed)

    @property
    def id(self) -> str:
        return self._part.id

    @property
    def name(self) -> str:
        return self._part.name

    @property
    def index(self) -> int:
        """``TOOL_CALL_START.index``, else the number of calls the message had before."""
        return self._index

    @property
    def input_state(self) -> ToolCallState:
        """``awaiting-input`` → ``input-streaming`` → ``input-complete``."""
        return self._state

    @property
    def message_id(self) -> str:
        return self._message.id

    @property
    def part(self) -> ToolCallPart:
        return self._part

    @property
    def arguments(self) -> str:
        """The raw argument text received so far."""
        return self._part.arguments

    @property
    def parsed_arguments(self) -> Any:
        """The arguments parsed as far as they have arrived (see ``_partial_json``).

        ``TOOL_CALL_END.input``, when the server sent it, is authoritative. Parsed on read
        and cached until more arguments arrive, so streaming stays linear.
        """
        if self._parsed_input is not None:
            return self._parsed_input[0]
        arguments = self._part.arguments
        cached = self._parsed_cache
        if cached is None or cached[0] != len(arguments):
            cached = (len(arguments), parse_partial_json(arguments))
            self._parsed_cache = cached
        return cached[1]

    def __repr__(self) -> str:
        return f"StreamToolCall(id={self.id!r}, name={self.name!r}, input_state={self._state!r})"


class _MessageState:
    """Processor-side state of one message touched by the current stream."""

    __slots__ = (
        "complete",
        "content_skip",
        "current_step",
        "emitted_len",
        "message",
        "pending_tools",
        "restart_text",
        "seen_reasoning",
        "segment",
        "steps",
        "tool_calls",
    )

    def __init__(self, message: UIMessage) -> None:
        self.message = message
        # The text part of the current segment, which holds the segment's text; None
        # until text arrives (or after a segment ended). A segment continues only while
        # its part is the message's last part: text after a tool call, a tool result or
        # thinking goes into a new part.
        self.segment: TextPart | None = None
        # len(segment text) when it was last announced (strategies may delay).
        self.emitted_len = 0
        # `content` (accumulated) values include this many characters of earlier
        # segments of the same message (see _on_text_content).
        self.content_skip = 0
        # TEXT_MESSAGE_START for a message we hold but had no state for: its last text
        # part restarts (the reference's behaviour, see _segment_part).
        self.restart_text = False
        self.seen_reasoning = False
        # step id → its thinking part (None while the step has no content yet).
        self.steps: dict[str, ThinkingPart | None] = {}
        self.current_step: str | None = None
        self.tool_calls: dict[str, StreamToolCall] = {}
        # Tool calls whose input is not complete yet: forced completion stays O(1)
        # per text delta when there are none.
        self.pending_tools: dict[str, StreamToolCall] = {}
        self.complete = False

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def role(self) -> Role:
        return self.message.role

    def segment_text(self) -> str:
        return self.segment.content if self.segment is not None else ""


_Handler: TypeAlias = Callable[["StreamProcessor", Any], None]

# Event types that end a pending *_CHUNK sequence, as in AG-UI's transformChunks. The
# others (RAW, ACTIVITY_*, REASONING_ENCRYPTED_VALUE, SUBAGENT_*, unknown types, and the
# chunks themselves, which decide on their own) leave it open.
_CLOSES_CHUNK = frozenset(
    {
        EventType.TEXT_MESSAGE_START,
        EventType.TEXT_MESSAGE_CONTENT,
        EventType.TEXT_MESSAGE_END,
        EventType.TOOL_CALL_START,
        EventType.TOOL_CALL_ARGS,
        EventType.TOOL_CALL_END,
        EventType.TOOL_CALL_RESULT,
        EventType.STATE_SNAPSHOT,
        EventType.STATE_DELTA,
        EventType.MESSAGES_SNAPSHOT,
        EventType.CUSTOM,
        EventType.RUN_STARTED,
        EventType.RUN_FINISHED,
        EventType.RUN_ERROR,
        EventType.STEP_STARTED,
        EventType.STEP_FINISHED,
        EventType.THINKING_START,
        EventType.THINKING_END,
        EventType.THINKING_TEXT_MESSAGE_START,
        EventType.THINKING_TEXT_MESSAGE_CONTENT,
        EventType.THINKING_TEXT_MESSAGE_END,
        EventType.REASONING_START,
        EventType.REASONING_MESSAGE_START,
        EventType.REASONING_MESSAGE_CONTENT,
        EventType.REASONING_MESSAGE_END,
        EventType.REASONING_END,
    }
)


def _require(event: BaseEvent, value: str | None, wire_name: str) -> str:
    if value is None:
        raise MalformedEventError(f"{event.type} event has no {wire_name}; cannot apply it")
    return value


# --------------------------------------------------------------------------- the processor


class StreamProcessor:
    """Builds and updates ``UIMessage``s from AG-UI events.

    Typical use (what ``ChatClient`` does)::

        processor = StreamProcessor(on_messages_change=render)
        processor.add_user_message("Hello")
        processor.prepare_assistant_message()   # a new response begins
        for event in response:                   # typed events or camelCase dicts
            processor.process(event)
        processor.finalize_stream()              # the response has ended

    Callbacks run synchronously inside the call that caused them, after the messages
    were updated; an exception raised by a callback propagates to the caller.

    ``on_messages_change(messages)`` receives a live :class:`MessagesView`: not a copy.
    ``on_stream_start(message)`` fires when the stream creates a message;
    ``on_stream_end(message)`` once per finalized stream with its last assistant message
    (not for a whitespace-only reply, which is removed). ``on_error(RunError)`` fires on
    RUN_ERROR. ``on_tool_call(ToolCallRequest)`` and
    ``on_approval_request(ApprovalRequest)`` fire for the CUSTOM events
    ``tool-input-available`` / ``approval-requested``; other CUSTOM events go to
    ``on_custom_event(name, value, tool_call_id)``. ``on_text_update(message_id, text)``,
    ``on_thinking_update(message_id, step_id, text)`` and
    ``on_tool_call_state_change(message_id, tool_call_id, state, arguments)`` report
    content changes; ``on_state_change(state)`` reports the shared agent state.
    """

    def __init__(
        self,
        *,
        initial_messages: Iterable[MessageInput] | None = None,
        chunk_strategy: ChunkStrategy | None = None,
        on_messages_change: MessagesChangeCallback | None = None,
        on_stream_start: MessageCallback | None = None,
        on_stream_end: MessageCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_tool_call: ToolCallCallback | None = None,
        on_approval_request: ApprovalCallback | None = None,
        on_custom_event: CustomEventCallback | None = None,
        on_text_update: TextUpdateCallback | None = None,
        on_thinking_update: ThinkingUpdateCallback | None = None,
        on_tool_call_state_change: ToolCallStateCallback | None = None,
        on_state_change: StateChangeCallback | None = None,
    ) -> None:
        self._messages: list[UIMessage] = (
            _coerce_messages(initial_messages, "initial_messages")
            if initial_messages is not None
            else []
        )
        self._view = MessagesView(self._messages)
        self._strategy: ChunkStrategy = chunk_strategy or ImmediateStrategy()
        self._on_messages_change = on_messages_change
        self._on_stream_start = on_stream_start
        self._on_stream_end = on_stream_end
        self._on_error = on_error
        self._on_tool_call = on_tool_call
        self._on_approval_request = on_approval_request
        self._on_custom_event = on_custom_event
        self._on_text_update = on_text_update
        self._on_thinking_update = on_thinking_update
        self._on_tool_call_state_change = on_tool_call_state_change
        self._on_state_change = on_state_change
        # Shared agent state (STATE_SNAPSHOT / STATE_DELTA); conversation-scoped.
        self._state: Any = None
        # Stream-scoped state, (re)initialised by _reset_stream().
        self._states: dict[str, _MessageState] = {}
        self._active: dict[str, _MessageState] = {}
        self._tool_routes: dict[str, StreamToolCall] = {}
        self._pending_manual_id: str | None = None
        self._pending_step_id: str | None = None
        self._active_runs: dict[str | None, None] = {}
        self._runs: dict[str | None, RunInfo] = {}
        self._finish_reason: str | None = None
        self._usage: Usage | list[dict[str, Any]] | None = None
        self._error: RunError | None = None
        self._is_done = False
        # Open *_CHUNK sequence: ("text" | "tool" | "reasoning", its id).
        self._chunk: tuple[str, str] | None = None

    # ------------------------------------------------------------------ read-only state

    @property
    def messages(self) -> MessagesView:
        """The conversation, as a live read-only view."""
        return self._view

    @property
    def state(self) -> Any:
        """The agent's shared state from STATE_SNAPSHOT / STATE_DELTA (``None`` until then).

        This is the live object; treat it as read-only.
        """
        return self._state

    @property
    def finish_reason(self) -> str | None:
        """``finishReason`` of the latest RUN_FINISHED of this stream (``None`` if absent)."""
        return self._finish_reason

    @property
    def usage(self) -> Usage | list[dict[str, Any]] | None:
        """``usage`` of the latest RUN_FINISHED of this stream."""
        return self._usage

    @property
    def is_done(self) -> bool:
        """True once a terminal RUN_FINISHED finalized this stream."""
        return self._is_done

    @property
    def has_error(self) -> bool:
        """True after a RUN_ERROR in this stream."""
        return self._error is not None

    @property
    def error(self) -> RunError | None:
        """The RUN_ERROR of this stream, as an exception object (not raised)."""
        return self._error

    @property
    def runs(self) -> Mapping[str | None, RunInfo]:
        """The runs seen in this stream, by run id, in order of appearance."""
        return self._runs

    @property
    def chunk_strategy(self) -> ChunkStrategy:
        return self._strategy

    @property
    def tool_calls(self) -> Mapping[str, StreamToolCall]:
        """The tool calls of the current stream, by id, in order of TOOL_CALL_START."""
        return self._tool_routes

    def tool_call_arguments(self, tool_call_id: str) -> Any:
        """The tool call's arguments parsed as far as they have arrived (partial JSON).

        ``TOOL_CALL_END.input``, when the server sent it, is authoritative. ``None`` while
        nothing parseable has arrived. Raises ``KeyError`` for an unknown id. Parsing
        happens here, on read, and is cached until more arguments arrive.
        """
        call = self._tool_routes.get(tool_call_id)
        if call is not None:
            return call.parsed_arguments
        part = self._find_tool_call_part(tool_call_id)  # a call of an earlier stream
        if part is None:
            raise KeyError(f"unknown tool call id {tool_call_id!r}")
        return parse_partial_json(part.arguments)

    # ------------------------------------------------------------------ conversation ops

    def add_user_message(
        self, content: str | Sequence[PartInput], id: str | None = None
    ) -> UIMessage:
        """Append a user message: a string becomes one text part, a sequence is the parts."""
        if isinstance(content, str):
            parts: list[MessagePart] = [TextPart(content=content)]
        else:
            parts = [_coerce_part(p, f"content[{i}]") for i, p in enumerate(content)]
        message = UIMessage(
            id=id if id is not None else generate_id("msg"),
            role="user",
            parts=parts,
            created_at=_now(),
        )
        self._messages.append(message)
        self._emit_messages()
        return message

    def add_tool_result(self, tool_call_id: str, output: Any, error: str | None = None) -> bool:
        """Record a client tool's output (or ``error``) on its tool call.

        Sets the tool-call part's ``output`` (``{"error": error}`` when an error is
        given) and state ``input-complete``, and adds or replaces the tool-result part in
        the same message. Returns False, with a logged warning, when no message holds
        that tool call. ``output`` must be JSON-serialisable (``TypeError`` otherwise,
        before anything changes).
        """
        found = self._find_tool_call(tool_call_id)
        if found is None:
            logger.warning(
                "[StreamProcessor] Could not find message with tool call %s", tool_call_id
            )
            return False
        message, part = found
        content = output if isinstance(output, str) else _json.dumps(output)
        part.set_output({"error": error} if error else output)
        part.state = "input-complete"
        _upsert_tool_result(
            message,
            ToolResultPart(
                tool_call_id=tool_call_id,
                content=content,
                state="error" if error else "complete",
                **({"error": error} if error else {}),
            ),
        )
        self._emit_messages()
        return True

    def add_tool_approval_response(self, approval_id: str, approved: bool) -> bool:
        """Answer an approval request: in each message, the first tool call with that
        approval id gets ``approval.approved`` and state ``approval-responded``.
        Returns whether any tool call matched (the change event fires either way)."""
        matched = False
        for message in self._messages:
            for part in message.parts:
                if (
                    isinstance(part, ToolCallPart)
                    and part.approval is not None
                    and part.approval.id == approval_id
                ):
                    part.approval.approved = approved
                    part.state = "approval-responded"
                    matched = True
                    break
        self._emit_messages()
        return matched

    def are_all_tools_complete(self) -> bool:
        """Whether every tool call of the last assistant message has been answered.

        True when there is no assistant message or it has no tool calls; otherwise each
        tool call must be ``approval-responded``, or have an output and no approval, or
        have a tool-result part in the same message.
        """
        last = next((m for m in reversed(self._messages) if m.role == "assistant"), None)
        if last is None:
            return True
        calls = [p for p in last.parts if isinstance(p, ToolCallPart)]
        if not calls:
            return True
        results = {p.tool_call_id for p in last.parts if isinstance(p, ToolResultPart)}
        return all(
            p.state == "approval-responded"
            or (p.has_output and p.approval is None)
            or p.id in results
            for p in calls
        )

    def remove_messages_after(self, index: int) -> None:
        """Keep ``messages[: index + 1]`` (JavaScript ``slice(0, index + 1)`` semantics)."""
        del self._messages[index + 1 :]
        self._emit_messages()

    def clear_messages(self) -> None:
        """Remove every message and all stream state (the shared ``state`` is kept)."""
        self._messages.clear()
        self._reset_stream()
        self._emit_messages()

    def set_messages(self, messages: Iterable[MessageInput]) -> None:
        """Replace the conversation (UIMessages or their camelCase dicts)."""
        new = _coerce_messages(messages, "messages")
        self._messages[:] = new
        self._emit_messages()

    # ------------------------------------------------------------------ stream lifecycle

    def prepare_assistant_message(self) -> None:
        """Start a new stream: clear all stream-scoped state (messages stay).

        No message is created here; the assistant message appears with the first event
        that carries content, so a response without content leaves no empty message.
        """
        self._reset_stream()

    def finalize_stream(self) -> None:
        """End the stream: complete pending tool calls, announce pending text, and fire
        ``on_stream_end`` with the last assistant message. Idempotent.

        A whitespace-only assistant reply (text parts only, all blank) is removed instead,
        unless the stream had an error.
        """
        self._close_chunk()
        last_assistant: UIMessage | None = None
        for ms in self._active.values():
            self._complete_tool_calls(ms)
            self._flush_text(ms)
            ms.complete = True
            if ms.role == "assistant" and self._index_of(ms.message) is not None:
                last_assistant = ms.message
        self._active.clear()
        if last_assistant is None:
            return
        if (
            self._error is None
            and last_assistant.parts
            and all(isinstance(p, TextPart) and _is_blank(p.content) for p in last_assistant.parts)
        ):
            index = self._index_of(last_assistant)
            if index is not None:
                del self._messages[index]
            self._emit_messages()
            return
        if self._on_stream_end is not None:
            self._on_stream_end(last_assistant)

    def process(self, event: EventInput) -> None:
        """Apply one event (a typed event, or a camelCase dict as decoded from the wire).

        Raises :class:`~chatconduit.MalformedEventError` for an event that cannot be
        applied (a dict that is not a valid event, or a missing id the event needs) and
        :class:`~chatconduit.JSONPatchError` for a STATE_DELTA that does not apply.
        Unknown event types and types without meaning for messages are ignored.
        """
        ev = coerce_event(event)
        kind = ev.type
        if self._chunk is not None and kind in _CLOSES_CHUNK:
            self._close_chunk()
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, ev)

    # ------------------------------------------------------------------ helpers: notify

    def _emit_messages(self) -> None:
        if self._on_messages_change is not None:
            self._on_messages_change(self._view)

    def _announce_text(self, ms: _MessageState) -> None:
        """Tell the UI about the current segment text (SPEC 4.3 emitText)."""
        ms.emitted_len = len(ms.segment_text())
        self._emit_messages()
        if self._on_text_update is not None:
            self._on_text_update(ms.id, ms.segment_text())

    def _flush_text(self, ms: _MessageState) -> None:
        if ms.segment is not None and len(ms.segment.content) != ms.emitted_len:
            self._announce_text(ms)

    # ------------------------------------------------------------------ helpers: state

    def _reset_stream(self) -> None:
        self._states = {}
        self._active = {}
        self._tool_routes = {}
        self._pending_manual_id = None
        self._pending_step_id = None
        self._active_runs = {}
        self._runs = {}
        self._finish_reason = None
        self._usage = None
        self._error = None
        self._is_done = False
        self._chunk = None
        reset_strategy(self._strategy)

    def _index_of(self, message: UIMessage) -> int | None:
        """Position of this very message object (not an equal one), newest first."""
        for i in range(len(self._messages) - 1, -1, -1):
            if self._messages[i] is message:
                return i
        return None

    def _find_message(self, message_id: str) -> UIMessage | None:
        # Newest first: streamed events almost always concern the latest messages.
        for message in reversed(self._messages):
            if message.id == message_id:
                return message
        return None

    def _find_tool_call(self, tool_call_id: str) -> tuple[UIMessage, ToolCallPart] | None:
        """The first message (oldest first, as the reference) holding that tool call."""
        for message in self._messages:
            for part in message.parts:
                if isinstance(part, ToolCallPart) and part.id == tool_call_id:
                    return message, part
        return None

    def _find_tool_call_part(self, tool_call_id: str) -> ToolCallPart | None:
        found = self._find_tool_call(tool_call_id)
        return found[1] if found is not None else None

    def _new_state(self, message: UIMessage) -> _MessageState:
        ms = _MessageState(message)
        self._states[message.id] = ms
        self._active[message.id] = ms
        return ms

    def _active_assistant(self) -> _MessageState | None:
        for ms in reversed(self._active.values()):
            if ms.role == "assistant":
                return ms
        return None

    def _ensure_assistant(self, preferred_id: str | None = None) -> _MessageState:
        """The message an event without an explicit target belongs to (SPEC 4.3)."""
        if preferred_id is not None:
            ms = self._states.get(preferred_id)
            if ms is not None:
                return ms
        ms = self._active_assistant()
        if ms is not None:
            return ms
        if preferred_id is not None:
            existing = self._find_message(preferred_id)
            if existing is not None:
                # Resuming a message we already have (initial messages, a snapshot):
                # continue its last text part instead of duplicating it.
                ms = self._new_state(existing)
                last = existing.parts[-1] if existing.parts else None
                if isinstance(last, TextPart):
                    ms.segment = last
                    ms.emitted_len = len(last.content)
                return ms
        message = UIMessage(
            id=preferred_id or generate_id("msg"),
            role="assistant",
            parts=[],
            created_at=_now(),
        )
        self._messages.append(message)
        ms = self._new_state(message)
        self._pending_manual_id = message.id
        if self._on_stream_start is not None:
            self._on_stream_start(message)
        self._emit_messages()
        return ms

    def _segment_part(self, ms: _MessageState) -> TextPart:
        """The text part that receives the current segment's text, created on demand."""
        if ms.segment is not None:
            return ms.segment
        parts = ms.message.parts
        last = parts[-1] if parts else None
        if ms.restart_text and isinstance(last, TextPart):
            # TEXT_MESSAGE_START re-opened a message without state (e.g. a replay from
            # the message's start): as in the reference, its last text part restarts.
            last.__dict__["content"] = ""
            part = last
        else:
            part = TextPart(content="")
            parts.append(part)
        ms.restart_text = False
        ms.segment = part
        ms.emitted_len = 0
        return part

    def _end_segment(self, ms: _MessageState, content_skip: int = 0) -> None:
        self._flush_text(ms)
        ms.segment = None
        ms.emitted_len = 0
        ms.content_skip = content_skip

    def _segment_interrupted(self, ms: _MessageState) -> bool:
        """Whether another part was appended after the current (non-empty) segment."""
        segment = ms.segment
        if segment is None or not segment.content:
            return False
        parts = ms.message.parts
        return not parts or parts[-1] is not segment

    # ------------------------------------------------------------------ helpers: tools

    def _tool_state_changed(self, call: StreamToolCall, state: ToolCallState) -> None:
        if self._on_tool_call_state_change is not None:
            self._on_tool_call_state_change(
                call._message.id, call._part.id, state, call._part.arguments
            )

    def _complete_tool_call(self, call: StreamToolCall) -> None:
        call._state = "input-complete"
        call._part.state = "input-complete"
        call._message.pending_tools.pop(call._part.id, None)
        self._emit_messages()
        self._tool_state_changed(call, "input-complete")

    def _complete_tool_calls(self, ms: _MessageState) -> None:
        if ms.pending_tools:
            for call in list(ms.pending_tools.values()):
                self._complete_tool_call(call)

    def _set_tool_output(self, call: StreamToolCall, content: str, output: Any) -> None:
        """A server-side result for the call: output on the call, a tool-result part."""
        call._part.set_output(output)
        call._part.state = "input-complete"
        _upsert_tool_result(
            call._message.message,
            ToolResultPart(tool_call_id=call._part.id, content=content, state="complete"),
        )
        self._emit_messages()

    def _known_tool_call(self, event: BaseEvent, tool_call_id: str) -> StreamToolCall | None:
        call = self._tool_routes.get(tool_call_id)
        if call is None:
            logger.warning(
                "%s for unknown tool call %r dropped (no TOOL_CALL_START in this stream)",
                event.type,
                tool_call_id,
            )
        return call

    # ------------------------------------------------------------------ helpers: thinking

    def _step_part(self, ms: _MessageState, step_id: str) -> ThinkingPart:
        """The thinking part of a step, found by step id or appended (an upsert)."""
        part = ms.steps.get(step_id)
        if part is None:
            for p in ms.message.parts:
                if isinstance(p, ThinkingPart) and p.step_id == step_id:
                    part = p
                    p.__dict__["content"] = ""  # the step's text restarts, as upserted
                    break
            else:
                part = ThinkingPart(content="", step_id=step_id)
                ms.message.parts.append(part)
            ms.steps[step_id] = part
        return part

    def _register_step(self, ms: _MessageState, step_id: str) -> None:
        if step_id not in ms.steps:
            ms.steps[step_id] = None
            ms.current_step = step_id

    def _adopt_pending_step(self, ms: _MessageState) -> None:
        step_id = self._pending_step_id
        if step_id is not None:
            ms.current_step = step_id
            ms.steps.setdefault(step_id, None)
            self._pending_step_id = None

    def _thinking_updated(self, ms: _MessageState, step_id: str, part: ThinkingPart) -> None:
        self._emit_messages()
        if self._on_thinking_update is not None:
            self._on_thinking_update(ms.id, step_id, part.content)

    # ------------------------------------------------------------------ chunk expansion

    def _close_chunk(self) -> None:
        """End the open *_CHUNK sequence with its synthesized END event."""
        chunk = self._chunk
        if chunk is None:
            return
        self._chunk = None
        kind, ident = chunk
        if kind == "text":
            self._on_text_end(TextMessageEndEvent.model_construct(message_id=ident))
        elif kind == "tool":
            self._on_tool_end(ToolCallEndEvent.model_construct(tool_call_id=ident))
        # REASONING_MESSAGE_END is a no-op for messages.

    def _on_text_chunk(self, ev: TextMessageChunkEvent) -> None:
        open_ = self._chunk
        if (
            open_ is None
            or open_[0] != "text"
            or (ev.message_id is not None and ev.message_id != open_[1])
        ):
            self._close_chunk()
            message_id = _require(ev, ev.message_id, "messageId (first chunk of a message)")
            self._chunk = ("text", message_id)
            self._on_text_start(
                TextMessageStartEvent.model_construct(
                    message_id=message_id, role=ev.role or "assistant"
                )
            )
        if ev.delta is not None:
            assert self._chunk is not None
            self._on_text_content(
                TextMessageContentEvent.model_construct(message_id=self._chunk[1], delta=ev.delta)
            )

    def _on_tool_chunk(self, ev: ToolCallChunkEvent) -> None:
        open_ = self._chunk
        if (
            open_ is None
            or open_[0] != "tool"
            or (ev.tool_call_id is not None and ev.tool_call_id != open_[1])
        ):
            self._close_chunk()
            call_id = _require(ev, ev.tool_call_id, "toolCallId (first chunk of a call)")
            name = _require(ev, ev.tool_call_name, "toolCallName (first chunk of a call)")
            self._chunk = ("tool", call_id)
            self._on_tool_start(
                ToolCallStartEvent.model_construct(
                    tool_call_id=call_id,
                    tool_call_name=name,
                    parent_message_id=ev.parent_message_id,
                )
            )
        if ev.delta is not None:
            assert self._chunk is not None
            self._on_tool_args(
                ToolCallArgsEvent.model_construct(tool_call_id=self._chunk[1], delta=ev.delta)
            )

    def _on_reasoning_chunk(self, ev: ReasoningMessageChunkEvent) -> None:
        open_ = self._chunk
        if (
            open_ is None
            or open_[0] != "reasoning"
            or (ev.message_id is not None and ev.message_id != open_[1])
        ):
            self._close_chunk()
            message_id = _require(ev, ev.message_id, "messageId (first chunk of a message)")
            self._chunk = ("reasoning", message_id)
        if ev.delta is not None:
            assert self._chunk is not None
            self._on_reasoning_content(
                ReasoningMessageContentEvent.model_construct(
                    message_id=self._chunk[1], delta=ev.delta
                )
            )

    # ------------------------------------------------------------------ text events

    def _on_text_start(self, ev: TextMessageStartEvent) -> None:
        message_id = _require(ev, ev.message_id, "messageId")
        role: Role = (
            "user" if ev.role == "user" else "system" if ev.role == "system" else "assistant"
        )
        pending = self._pending_manual_id
        self._pending_manual_id = None
        pending_state = self._states.get(pending) if pending is not None else None
        if pending_state is not None and (
            pending == message_id or self._find_message(message_id) is None
        ):
            # A message was auto-created earlier in this stream (e.g. by thinking that
            # came first): it adopts the server's id. (Not when another message already
            # has that id: two messages must never share one; see below instead.)
            old_id = pending_state.id
            if old_id != message_id:
                del self._states[old_id]
                self._active.pop(old_id, None)
                pending_state.message.id = message_id
                self._states[message_id] = pending_state
                self._active[message_id] = pending_state
            self._emit_messages()
            return
        existing = self._find_message(message_id)
        if existing is not None:
            ms = self._states.get(message_id)
            if ms is None:
                # No seeding: the reference restarts the text of the last text part here.
                self._new_state(existing).restart_text = True
            else:
                self._active[message_id] = ms
                if self._segment_interrupted(ms):
                    self._end_segment(ms)
            return
        message = UIMessage(id=message_id, role=role, parts=[], created_at=_now())
        self._messages.append(message)
        self._new_state(message)
        if self._on_stream_start is not None:
            self._on_stream_start(message)
        self._emit_messages()

    def _on_text_content(self, ev: TextMessageContentEvent) -> None:
        ms = self._ensure_assistant(ev.message_id)
        self._complete_tool_calls(ms)
        delta = ev.delta or ""
        content = self._own_content(ms, ev.content) if not delta and ev.content else ""
        if self._segment_interrupted(ms):
            # A tool call (or result, or thinking) came after this segment: the text that
            # follows is a new segment, in a new part, holding only the new text.
            segment = ms.segment_text()
            if delta:
                self._end_segment(ms)
            elif content.startswith(segment) and len(content) > len(segment):
                # `content` accumulates across segments: skip what the old ones hold.
                self._end_segment(ms, content_skip=ms.content_skip + len(segment))
                content = content[len(segment) :]
            elif not segment.startswith(content):
                self._end_segment(ms)
                content = ev.content or ""
        added = delta
        if not added and content:
            segment = ms.segment_text()
            if content.startswith(segment):
                added = content[len(segment) :]
            elif not segment.startswith(content):
                added = content
        if added:
            _append(self._segment_part(ms), "content", added)
        emit = self._strategy.should_emit(delta or ev.content or "", ms.segment_text())
        if emit and ms.segment is not None and len(ms.segment.content) != ms.emitted_len:
            self._announce_text(ms)

    @staticmethod
    def _own_content(ms: _MessageState, content: str) -> str:
        """``content`` minus the earlier segments it accumulates, when it does."""
        skip = ms.content_skip
        return content[skip:] if skip and len(content) >= skip else content

    def _on_text_end(self, ev: TextMessageEndEvent) -> None:
        ms = self._states.get(ev.message_id) if ev.message_id is not None else None
        if ms is None or ms.complete:
            return
        self._flush_text(ms)
        self._complete_tool_calls(ms)

    # ------------------------------------------------------------------ tool events

    def _on_tool_start(self, ev: ToolCallStartEvent) -> None:
        tool_call_id = _require(ev, ev.tool_call_id, "toolCallId")
        name = _require(
            ev, ev.tool_call_name if ev.tool_call_name is not None else ev.tool_name, "toolCallName"
        )
        target = ev.parent_message_id
        if target is None:
            active = self._active_assistant()
            target = active.id if active is not None else None
        ms = self._ensure_assistant(target)
        if tool_call_id in self._tool_routes:
            return  # a duplicate START is a no-op
        extra: dict[str, Any] = {}
        if "metadata" in ev.model_fields_set and ev.metadata is not None:
            extra["metadata"] = ev.metadata
        part = ToolCallPart(
            id=tool_call_id, name=name, arguments="", state="awaiting-input", **extra
        )
        index = len(ms.tool_calls) if ev.index is None else int(ev.index)
        call = StreamToolCall(part, ms, index)
        ms.tool_calls[tool_call_id] = call
        ms.pending_tools[tool_call_id] = call
        self._tool_routes[tool_call_id] = call
        ms.message.parts.append(part)
        self._emit_messages()
        self._tool_state_changed(call, "awaiting-input")

    def _on_tool_args(self, ev: ToolCallArgsEvent) -> None:
        tool_call_id = _require(ev, ev.tool_call_id, "toolCallId")
        call = self._known_tool_call(ev, tool_call_id)
        if call is None:
            return
        delta = ev.delta or ""
        if delta:
            _append(call._part, "arguments", delta)
            if call._state == "awaiting-input":
                call._state = "input-streaming"
        # As in the reference the part is rewritten with the input state (which also
        # resets an approval state, should arguments arrive after an approval request).
        call._part.state = call._state
        self._emit_messages()
        self._tool_state_changed(call, call._state)

    def _on_tool_end(self, ev: ToolCallEndEvent) -> None:
        tool_call_id = _require(ev, ev.tool_call_id, "toolCallId")
        call = self._known_tool_call(ev, tool_call_id)
        if call is None:
            return
        has_input = "input" in ev.model_fields_set
        if call._state != "input-complete":
            if has_input and not call._part.arguments:
                call._part.__dict__["arguments"] = _json.dumps(ev.input)
            self._complete_tool_call(call)
        if has_input:
            call._parsed_input = (ev.input,)
        if ev.result:
            self._set_tool_output(call, ev.result, _parse_output(ev.result))

    def _on_tool_result(self, ev: ToolCallResultEvent) -> None:
        tool_call_id = _require(ev, ev.tool_call_id, "toolCallId")
        call = self._known_tool_call(ev, tool_call_id)
        if call is None:
            return
        raw = ev.content
        if isinstance(raw, str):
            self._set_tool_output(call, raw, _parse_output(raw))
        elif raw is None:
            self._set_tool_output(call, "", "")
        else:  # AG-UI content parts: keep them as the output, their JSON as the content
            self._set_tool_output(call, _json.dumps(raw), raw)

    # ------------------------------------------------------------------ run events

    def _run(self, run_id: str | None) -> RunInfo:
        info = self._runs.get(run_id)
        if info is None:
            info = self._runs[run_id] = RunInfo(run_id=run_id)
        return info

    def _on_run_started(self, ev: RunStartedEvent) -> None:
        info = self._run(ev.run_id)
        info.thread_id = ev.thread_id
        info.status = "running"
        self._active_runs[ev.run_id] = None
        self._is_done = False

    def _on_run_finished(self, ev: RunFinishedEvent) -> None:
        info = self._run(ev.run_id)
        if ev.thread_id is not None:
            info.thread_id = ev.thread_id
        info.status = "finished"
        info.finish_reason = ev.finish_reason
        info.usage = ev.usage
        self._finish_reason = ev.finish_reason
        self._usage = ev.usage
        self._active_runs.pop(ev.run_id, None)
        if self._active_runs:
            return  # other runs of this stream are still going
        for ms in list(self._active.values()):
            self._complete_tool_calls(ms)
        if ev.finish_reason == "tool_calls":
            # An agent-loop step: the same response usually continues (server tools),
            # or it ends and the owner calls finalize_stream(). Either way: not yet.
            return
        self._is_done = True
        self.finalize_stream()

    def _on_run_error(self, ev: RunErrorEvent) -> None:
        # message || error.message || 'An error occurred'; code ?? error.code
        nested = ev.error
        message = ev.message or (nested.message if nested is not None else None)
        code = ev.code if ev.code is not None else (nested.code if nested is not None else None)
        error = RunError(message or "An error occurred", code=code, run_id=ev.run_id)
        self._error = error
        if ev.run_id is not None:
            self._active_runs.pop(ev.run_id, None)
            info = self._run(ev.run_id)
            info.status = "error"
            info.error = error
        else:
            for run_id in self._active_runs:
                info = self._run(run_id)
                info.status = "error"
                info.error = error
            self._active_runs.clear()
        if self._on_error is not None:
            self._on_error(error)

    # ------------------------------------------------------------------ thinking events

    def _on_step_started(self, ev: StepStartedEvent) -> None:
        step_id = ev.step_id if ev.step_id is not None else generate_id("msg")
        ms = self._active_assistant()
        if ms is not None:
            ms.current_step = step_id
            ms.steps.setdefault(step_id, None)
            self._pending_step_id = None
        else:
            self._pending_step_id = step_id

    def _on_step_finished(self, ev: StepFinishedEvent) -> None:
        active = self._active_assistant()
        ms = self._ensure_assistant(active.id if active is not None else None)
        if ms.seen_reasoning:
            # REASONING_MESSAGE_CONTENT already carries this text: take only the signature.
            if ev.signature:
                step_id = ms.current_step if ms.current_step is not None else ev.step_id
                if step_id is not None and step_id in ms.steps:
                    part = self._step_part(ms, step_id)
                    part.signature = ev.signature
                    self._emit_messages()
            return
        self._adopt_pending_step(ms)
        step_id = ms.current_step
        if step_id is None:
            step_id = ev.step_id if ev.step_id is not None else generate_id("msg")
        self._register_step(ms, step_id)
        part = self._step_part(ms, step_id)
        delta = ev.delta or ""
        content = ev.content or ""
        if delta:
            _append(part, "content", delta)
        elif content:
            current = part.content
            if content.startswith(current):
                _append(part, "content", content[len(current) :])
            elif not current.startswith(content):
                _append(part, "content", content)
        if ev.signature:
            part.signature = ev.signature
        self._thinking_updated(ms, step_id, part)

    def _on_reasoning_content(self, ev: ReasoningMessageContentEvent) -> None:
        active = self._active_assistant()
        ms = self._ensure_assistant(active.id if active is not None else None)
        ms.seen_reasoning = True
        self._adopt_pending_step(ms)
        step_id = ms.current_step
        if step_id is None:
            step_id = ev.message_id if ev.message_id is not None else generate_id("msg")
        self._register_step(ms, step_id)
        part = self._step_part(ms, step_id)
        if ev.delta:
            _append(part, "content", ev.delta)
        self._thinking_updated(ms, step_id, part)

    # ------------------------------------------------------------------ snapshots, state

    def _on_messages_snapshot(self, ev: MessagesSnapshotEvent) -> None:
        messages = ui_messages_from_snapshot(ev.messages or [])
        self._reset_stream()
        self._messages[:] = messages
        self._emit_messages()

    def _on_state_snapshot(self, ev: StateSnapshotEvent) -> None:
        fields = ev.model_fields_set
        snapshot = ev.snapshot if "snapshot" in fields or "state" not in fields else ev.state
        # Copied once: later deltas patch our copy in place, never the event's data.
        self._state = copy_json(snapshot)
        if self._on_state_change is not None:
            self._on_state_change(self._state)

    def _on_state_delta(self, ev: StateDeltaEvent) -> None:
        self._state = apply_patch(self._state, ev.delta, in_place=True)
        if self._on_state_change is not None:
            self._on_state_change(self._state)

    # ------------------------------------------------------------------ custom events

    def _on_custom(self, ev: CustomEvent) -> None:
        name = ev.name or ""
        value = ev.value
        if name == "tool-input-available" and value and isinstance(value, Mapping):
            if self._on_tool_call is not None:
                self._on_tool_call(
                    ToolCallRequest(
                        tool_call_id=value.get("toolCallId"),
                        tool_name=value.get("toolName"),
                        input=value.get("input"),
                    )
                )
            return
        if name == "approval-requested" and value and isinstance(value, Mapping):
            approval = value.get("approval")
            approval_id = approval.get("id") if isinstance(approval, Mapping) else None
            if not isinstance(approval_id, str):
                raise MalformedEventError(
                    "CUSTOM approval-requested event has no value.approval.id"
                )
            tool_call_id = value.get("toolCallId")
            part = self._approval_target(tool_call_id)
            if part is not None:
                part.state = "approval-requested"
                part.approval = ToolCallApproval(id=approval_id, needs_approval=True)
                self._emit_messages()
            if self._on_approval_request is not None:
                self._on_approval_request(
                    ApprovalRequest(
                        tool_call_id=tool_call_id,
                        tool_name=value.get("toolName"),
                        input=value.get("input"),
                        approval_id=approval_id,
                    )
                )
            return
        if self._on_custom_event is not None:
            tool_call_id = value.get("toolCallId") if isinstance(value, Mapping) else None
            self._on_custom_event(name, value, tool_call_id)

    def _approval_target(self, tool_call_id: Any) -> ToolCallPart | None:
        """The tool-call part an approval request is for: the routed call of this
        stream, else the newest message holding that id."""
        if not isinstance(tool_call_id, str):
            return None
        call = self._tool_routes.get(tool_call_id)
        if call is not None:
            return call._part
        for message in reversed(self._messages):
            for part in message.parts:
                if isinstance(part, ToolCallPart) and part.id == tool_call_id:
                    return part
        return None


_HANDLERS: dict[str, _Handler] = {
    EventType.TEXT_MESSAGE_START: StreamProcessor._on_text_start,
    EventType.TEXT_MESSAGE_CONTENT: StreamProcessor._on_text_content,
    EventType.TEXT_MESSAGE_END: StreamProcessor._on_text_end,
    EventType.TEXT_MESSAGE_CHUNK: StreamProcessor._on_text_chunk,
    EventType.TOOL_CALL_START: StreamProcessor._on_tool_start,
    EventType.TOOL_CALL_ARGS: StreamProcessor._on_tool_args,
    EventType.TOOL_CALL_END: StreamProcessor._on_tool_end,
    EventType.TOOL_CALL_RESULT: StreamProcessor._on_tool_result,
    EventType.TOOL_CALL_CHUNK: StreamProcessor._on_tool_chunk,
    EventType.RUN_STARTED: StreamProcessor._on_run_started,
    EventType.RUN_FINISHED: StreamProcessor._on_run_finished,
    EventType.RUN_ERROR: StreamProcessor._on_run_error,
    EventType.STEP_STARTED: StreamProcessor._on_step_started,
    EventType.STEP_FINISHED: StreamProcessor._on_step_finished,
    EventType.REASONING_MESSAGE_CONTENT: StreamProcessor._on_reasoning_content,
    EventType.REASONING_MESSAGE_CHUNK: StreamProcessor._on_reasoning_chunk,
    EventType.MESSAGES_SNAPSHOT: StreamProcessor._on_messages_snapshot,
    EventType.STATE_SNAPSHOT: StreamProcessor._on_state_snapshot,
    EventType.STATE_DELTA: StreamProcessor._on_state_delta,
    EventType.CUSTOM: StreamProcessor._on_custom,
}
"""Event type → handler. Types not listed (REASONING_START/MESSAGE_START/MESSAGE_END/END,
REASONING_ENCRYPTED_VALUE, RAW, ACTIVITY_*, THINKING_*, SUBAGENT_*, unknown types) carry
nothing for the message list and are ignored, as in the reference."""


# --------------------------------------------------------------------------- module helpers


def _upsert_tool_result(message: UIMessage, result: ToolResultPart) -> None:
    """Replace the message's tool-result part for the same call, else append it."""
    parts = message.parts
    for i, part in enumerate(parts):
        if isinstance(part, ToolResultPart) and part.tool_call_id == result.tool_call_id:
            parts[i] = result
            return
    parts.append(result)


def _coerce_part(part: PartInput, where: str) -> MessagePart:
    if isinstance(part, BaseModel):
        return cast(MessagePart, part)
    if isinstance(part, Mapping):
        try:
            return part_from_dict(part, where=where)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    raise TypeError(f"{where}: expected a message part or a dict, got {type(part).__name__}")


def _coerce_messages(messages: Iterable[MessageInput], where: str) -> list[UIMessage]:
    if isinstance(messages, str | bytes | Mapping):
        raise TypeError(f"{where}: expected a list of messages, got {type(messages).__name__}")
    out: list[UIMessage] = []
    for i, m in enumerate(messages):
        if isinstance(m, UIMessage):
            out.append(m)
        elif isinstance(m, Mapping):
            out.append(message_from_dict(m, where=f"{where}[{i}]"))
        else:
            raise TypeError(f"{where}[{i}]: expected a UIMessage or a dict, got {type(m).__name__}")
    return out


# --------------------------------------------------------------------------- snapshots

_MEDIA_BY_MIME = (("image/", ImagePart), ("audio/", AudioPart), ("video/", VideoPart))
_MEDIA_TYPES = {
    "image": ImagePart,
    "audio": AudioPart,
    "video": VideoPart,
    "document": DocumentPart,
}


def ui_messages_from_snapshot(entries: Sequence[Any]) -> list[UIMessage]:
    """Convert a MESSAGES_SNAPSHOT's ``messages`` to UIMessages.

    Entries that already have ``parts`` (TanStack UIMessages) are parsed as such. AG-UI
    messages are converted: ``user`` / ``system`` / ``developer`` content becomes text (and
    media) parts; an ``assistant``'s ``content`` becomes a text part and its ``toolCalls``
    tool-call parts (``input-complete``); a ``tool`` message becomes a tool-result part
    (and the output) on the assistant message holding that call; a ``reasoning`` message
    becomes an assistant message with a thinking part. ``activity`` messages have no
    UIMessage form and are skipped with a logged warning. Anything else raises
    :class:`~chatconduit.MalformedEventError` naming the entry.
    """
    out: list[UIMessage] = []
    calls: dict[str, tuple[UIMessage, ToolCallPart]] = {}
    for i, entry in enumerate(entries):
        where = f"MESSAGES_SNAPSHOT messages[{i}]"
        try:
            message = _snapshot_entry(entry, where, calls)
        except ValueError as exc:
            raise MalformedEventError(str(exc)) from None
        if message is not None:
            out.append(message)
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    calls[part.id] = (message, part)
    return out


def _snapshot_entry(
    entry: Any, where: str, calls: dict[str, tuple[UIMessage, ToolCallPart]]
) -> UIMessage | None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    if "parts" in entry:
        return message_from_dict(entry, where=where)
    role = entry.get("role")
    message_id = entry.get("id")
    if not isinstance(message_id, str):
        raise ValueError(f"{where}: has no string 'id'")
    created_at = entry.get("createdAt")
    base: dict[str, Any] = {"id": message_id}
    if created_at is not None:
        base["createdAt"] = created_at
    content = entry.get("content")
    if role in ("user", "system", "developer"):
        parts = _input_content_parts(content, where)
        return message_from_dict(
            {**base, "role": "user" if role == "user" else "system", "parts": parts}, where=where
        )
    if role == "assistant":
        parts = []
        if isinstance(content, str) and content:
            parts.append({"type": "text", "content": content})
        elif content is not None and not isinstance(content, str):
            raise ValueError(f"{where}.content: expected a string, got {type(content).__name__}")
        for j, call in enumerate(entry.get("toolCalls") or []):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping):
                raise ValueError(f"{where}.toolCalls[{j}]: expected {{id, function}}")
            tool_part: dict[str, Any] = {
                "type": "tool-call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments", ""),
                "state": "input-complete",
            }
            if call.get("metadata") is not None:
                tool_part["metadata"] = call["metadata"]
            parts.append(tool_part)
        return message_from_dict({**base, "role": "assistant", "parts": parts}, where=where)
    if role == "tool":
        tool_call_id = entry.get("toolCallId")
        if not isinstance(tool_call_id, str):
            raise ValueError(f"{where}: a tool message needs a string 'toolCallId'")
        text = content if isinstance(content, str) else _json.dumps(content)
        error = entry.get("error")
        result = ToolResultPart(
            tool_call_id=tool_call_id,
            content=text,
            state="error" if error else "complete",
            **({"error": str(error)} if error else {}),
        )
        owner = calls.get(tool_call_id)
        if owner is None:
            # No assistant message holds the call: keep the result in one of its own.
            return UIMessage(id=message_id, role="assistant", parts=[result])
        owner_message, part = owner
        part.set_output({"error": str(error)} if error else _parse_output(text))
        _upsert_tool_result(owner_message, result)
        return None
    if role == "reasoning":
        text = content if isinstance(content, str) else ""
        return message_from_dict(
            {**base, "role": "assistant", "parts": [{"type": "thinking", "content": text}]},
            where=where,
        )
    if role == "activity":
        logger.warning("%s: activity message skipped (no UIMessage form)", where)
        return None
    raise ValueError(f"{where}: unknown role {role!r}")


def _input_content_parts(content: Any, where: str) -> list[Any]:
    """AG-UI user content (a string, or InputContent parts) as UIMessage part dicts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, list):
        raise ValueError(f"{where}.content: expected a string or a list")
    parts: list[Any] = []
    for j, item in enumerate(content):
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}.content[{j}]: expected an object")
        kind = item.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": item.get("text", item.get("content", ""))})
        elif kind == "binary":
            mime = item.get("mimeType")
            cls: type[BaseModel] = DocumentPart
            for prefix, media in _MEDIA_BY_MIME:
                if isinstance(mime, str) and mime.startswith(prefix):
                    cls = media
            if item.get("data") is not None:
                source: BaseModel = DataSource(value=item["data"], mime_type=mime)
            elif item.get("url") is not None:
                source = UrlSource(value=item["url"], mime_type=mime)
            else:
                raise ValueError(f"{where}.content[{j}]: binary content needs 'data' or 'url'")
            parts.append(cls(source=source))
        elif kind in _MEDIA_TYPES:
            parts.append(dict(item))  # already the UIMessage media shape
        else:
            raise ValueError(f"{where}.content[{j}]: unknown content type {kind!r}")
    return parts
