"""``StreamProcessor``: the public face of the processor (reference §4).

It owns a :class:`~._context.Context` and dispatches each event to its handler through
``_handlers.HANDLERS``; the other methods read that state or change the conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from .._events import BaseEvent, TextMessageContentEvent, Usage, coerce_event
from .._events._text_runs import PlainTextRun
from .._exceptions import RunError
from .._messages import UIMessage
from . import _conversation
from ._chunks import CLOSES_CHUNK, close_chunk
from ._context import Context
from ._conversation import MessageInput, PartInput, coerce_messages
from ._handlers import HANDLERS
from ._listener import (
    NO_CALLBACKS,
    ApprovalCallback,
    Callbacks,
    CustomEventCallback,
    ErrorCallback,
    MessageCallback,
    MessagesChangeCallback,
    ProcessorListener,
    StateChangeCallback,
    TextUpdateCallback,
    ThinkingUpdateCallback,
    ToolCallCallback,
    ToolCallStateCallback,
)
from ._message_state import StreamToolCall
from ._records import MessagesView, RunInfo
from ._runs import finalize
from ._strategies import ChunkStrategy, ImmediateStrategy
from ._text_messages import on_text_run
from ._tool_calls import tool_call_arguments

__all__ = ["EventInput", "StreamProcessor"]

EventInput: TypeAlias = BaseEvent | Mapping[str, Any]

# Bound once. (Written `HANDLERS.get(kind)` in process(), CPython 3.11 would build a bound
# method per event: it compiles method calls on imported names as attribute loads.)
_handler_for = HANDLERS.get

# Stateless, so every processor without a strategy of its own shares this one.
_IMMEDIATE = ImmediateStrategy()


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
    Instead of these keywords, ``listener`` may be one object with all eleven ``on_*``
    attributes (methods or ``None``): an owner can pass itself.
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
        listener: ProcessorListener | None = None,
    ) -> None:
        messages = (
            coerce_messages(initial_messages, "initial_messages")
            if initial_messages is not None
            else []
        )
        # In Callbacks' field order.
        given = (
            on_messages_change,
            on_stream_start,
            on_stream_end,
            on_error,
            on_tool_call,
            on_approval_request,
            on_custom_event,
            on_text_update,
            on_thinking_update,
            on_tool_call_state_change,
            on_state_change,
        )
        if given.count(None) < len(given):  # some callback was given
            if listener is not None:
                raise TypeError("StreamProcessor takes a listener or on_* callbacks, not both")
            listener = Callbacks(*given)
        elif listener is None:
            listener = NO_CALLBACKS
        self._ctx = Context(
            messages=messages, strategy=chunk_strategy or _IMMEDIATE, listener=listener
        )

    def drop_callbacks(self) -> None:
        """Forget the listener (every ``on_*`` callback): events are still applied, and
        nobody is told. An owner that listens itself calls this when done, so that the
        two do not keep each other alive in a reference cycle."""
        self._ctx.drop_callbacks()

    # ------------------------------------------------------------------ read-only state

    @property
    def messages(self) -> MessagesView:
        """The conversation, as a live read-only view."""
        return self._ctx.view

    @property
    def state(self) -> Any:
        """The agent's shared state from STATE_SNAPSHOT / STATE_DELTA (``None`` until then).

        This is the live object; treat it as read-only.
        """
        return self._ctx.agent_state

    @property
    def finish_reason(self) -> str | None:
        """The finish reason of the latest RUN_FINISHED of this stream: its ``finishReason``
        (top level, or ``metadata.tanstack`` from TanStack 0.58), else one derived from an
        AG-UI ``outcome`` (see ``_runs``); ``None`` when it has neither."""
        return self._ctx.finish_reason

    @property
    def usage(self) -> Usage | list[Usage] | None:
        """``usage`` of the latest RUN_FINISHED of this stream: one object (TanStack 0.10)
        or a list, one per model (AG-UI); ``Usage.combined()`` totals either."""
        return self._ctx.usage

    @property
    def is_done(self) -> bool:
        """True once a terminal RUN_FINISHED finalized this stream."""
        return self._ctx.is_done

    @property
    def has_error(self) -> bool:
        """True after a RUN_ERROR in this stream."""
        return self._ctx.error is not None

    @property
    def error(self) -> RunError | None:
        """The RUN_ERROR of this stream, as an exception object (not raised)."""
        return self._ctx.error

    @property
    def runs(self) -> Mapping[str | None, RunInfo]:
        """The runs seen in this stream, by run id, in order of appearance."""
        return self._ctx.runs

    @property
    def chunk_strategy(self) -> ChunkStrategy:
        return self._ctx.strategy

    @property
    def tool_calls(self) -> Mapping[str, StreamToolCall]:
        """The tool calls of the current stream, by id, in order of TOOL_CALL_START."""
        return self._ctx.tool_calls

    def tool_call_arguments(self, tool_call_id: str) -> Any:
        """The tool call's arguments parsed as far as they have arrived (partial JSON).

        ``TOOL_CALL_END.input``, when the server sent it, is authoritative. ``None`` while
        nothing parseable has arrived. Raises ``KeyError`` for an unknown id. Parsing
        happens here, on read, and is cached until more arguments arrive.
        """
        return tool_call_arguments(self._ctx, tool_call_id)

    # ------------------------------------------------------------------ conversation ops

    def add_user_message(
        self, content: str | Sequence[PartInput], id: str | None = None
    ) -> UIMessage:
        """Append a user message: a string becomes one text part, a sequence is the parts."""
        return _conversation.add_user_message(self._ctx, content, id)

    def add_tool_result(self, tool_call_id: str, output: Any, error: str | None = None) -> bool:
        """Record a client tool's output (or ``error``) on its tool call.

        Sets the tool-call part's ``output`` (``{"error": error}`` when an error is
        given) and state ``input-complete``, and adds or replaces the tool-result part in
        the same message. Returns False, with a logged warning, when no message holds
        that tool call. ``output`` must be JSON-serialisable (``TypeError`` otherwise,
        before anything changes).
        """
        return _conversation.add_tool_result(self._ctx, tool_call_id, output, error)

    def add_tool_approval_response(self, approval_id: str, approved: bool) -> bool:
        """Answer an approval request: in each message, the first tool call with that
        approval id gets ``approval.approved`` and state ``approval-responded``.
        Returns whether any tool call matched (the change event fires either way)."""
        return _conversation.add_tool_approval_response(self._ctx, approval_id, approved)

    def are_all_tools_complete(self) -> bool:
        """Whether every tool call of the last assistant message has been answered.

        True when there is no assistant message or it has no tool calls; otherwise each
        tool call must be ``approval-responded``, or have an output and no approval, or
        have a tool-result part in the same message.
        """
        return _conversation.are_all_tools_complete(self._ctx.messages)

    def remove_messages_after(self, index: int) -> None:
        """Keep ``messages[: index + 1]`` (JavaScript ``slice(0, index + 1)`` semantics)."""
        del self._ctx.messages[index + 1 :]
        self._ctx.emit_messages()

    def clear_messages(self) -> None:
        """Remove every message and all stream state (the shared ``state`` is kept)."""
        self._ctx.messages.clear()
        self._ctx.reset_stream()
        self._ctx.emit_messages()

    def set_messages(self, messages: Iterable[MessageInput]) -> None:
        """Replace the conversation (UIMessages or their camelCase dicts)."""
        self._ctx.messages[:] = coerce_messages(messages, "messages")
        self._ctx.emit_messages()

    # ------------------------------------------------------------------ stream lifecycle

    def prepare_assistant_message(self) -> None:
        """Start a new stream: clear all stream-scoped state (messages stay).

        No message is created here; the assistant message appears with the first event
        that carries content, so a response without content leaves no empty message.
        """
        self._ctx.reset_stream()

    def finalize_stream(self) -> None:
        """End the stream: complete pending tool calls, announce pending text, and fire
        ``on_stream_end`` with the last assistant message. Idempotent.

        A whitespace-only assistant reply (text parts only, all blank) is removed instead,
        unless the stream had an error.
        """
        finalize(self._ctx)

    def process(self, event: EventInput) -> None:
        """Apply one event (a typed event, or a camelCase dict as decoded from the wire).

        Raises :class:`~chatconduit.MalformedEventError` for an event that cannot be
        applied (a dict that is not a valid event, or a missing id the event needs) and
        :class:`~chatconduit.JSONPatchError` for a STATE_DELTA that does not apply.
        Unknown event types and types without meaning for messages are ignored.
        """
        ev = coerce_event(event)
        kind = ev.type
        ctx = self._ctx
        if ctx.chunk is not None and kind in CLOSES_CHUNK:
            close_chunk(ctx)
        handler = _handler_for(kind)
        if handler is not None:
            handler(ctx, ev)

    def process_text_run(self, events: Sequence[TextMessageContentEvent] | PlainTextRun) -> None:
        """Apply consecutive TEXT_MESSAGE_CONTENT events for one message (typed, at least
        one, or a ``PlainTextRun``): the messages end up as after :meth:`process` of each
        in turn, but a run of streaming deltas is announced once (``on_messages_change``,
        ``on_text_update``) rather than per delta. What ``ChatClient`` does with a slice
        of its reader."""
        ctx = self._ctx
        if ctx.chunk is not None:
            close_chunk(ctx)
        on_text_run(ctx, events)
