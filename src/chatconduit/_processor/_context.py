"""``Context``: what every event handler reads and writes (reference §4.3 processor state).

It holds the conversation (the messages, the shared agent state), the owner's chunk
strategy and listener (``_listener``: who hears of changes), and the
*stream-scoped* state that :meth:`Context.reset_stream` clears. It also answers the
question most handlers start with: which message does this event land in
(:meth:`Context.ensure_assistant`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._events import BaseEvent, Usage
from .._exceptions import MalformedEventError, RunError
from .._ids import generate_id
from .._messages import Role, TextPart, ToolCallPart, UIMessage
from ._listener import NO_CALLBACKS, ProcessorListener
from ._message_state import MessageState, StreamToolCall
from ._records import MessagesView, RunInfo
from ._strategies import ChunkStrategy, reset_strategy

__all__ = ["Context", "newest_tool_call", "now", "require"]


def now() -> datetime:
    return datetime.now(UTC)


def newest_tool_call(
    messages: Sequence[UIMessage], tool_call_id: str
) -> tuple[UIMessage, ToolCallPart] | None:
    """The newest message holding a tool call of that id, and the call's part.

    Newest first, unlike :meth:`Context.find_tool_call` (the reference's oldest-first
    lookup for a client's answer): what the server says about a call it did not start
    in this stream (an interrupt, a result after an approval) concerns the latest turn.
    """
    for message in reversed(messages):
        for part in message.parts:
            if isinstance(part, ToolCallPart) and part.id == tool_call_id:
                return message, part
    return None


def require(event: BaseEvent, value: str | None, wire_name: str) -> str:
    """``value``, or :class:`MalformedEventError` when the event lacks that id
    (difference 10: the reference applies the event with ``undefined``)."""
    if value is None:
        raise MalformedEventError(f"{event.type} event has no {wire_name}; cannot apply it")
    return value


@dataclass(eq=False, kw_only=True)
class Context:
    """The processor's state, shared by the event handlers."""

    # Conversation-scoped: kept across streams.
    messages: list[UIMessage]
    strategy: ChunkStrategy
    # Who hears of changes: the owner itself, or its on_* callbacks (see _listener).
    listener: ProcessorListener = NO_CALLBACKS

    def __post_init__(self) -> None:
        self.view = MessagesView(self.messages)
        # Shared agent state (STATE_SNAPSHOT / STATE_DELTA, see _shared_state).
        self.agent_state: Any = None
        self._clear_stream()

    def reset_stream(self) -> None:
        """A new stream begins: clear the stream-scoped state (messages stay) and reset
        the chunk strategy."""
        self._clear_stream()
        reset_strategy(self.strategy)

    def _clear_stream(self) -> None:
        # Messages: the state of each message this stream touched, by id, and those
        # still active (ordered; finalize_stream empties it).
        self.states: dict[str, MessageState] = {}
        self.active: dict[str, MessageState] = {}
        # Tool calls of this stream by id, in order of TOOL_CALL_START (the routing map).
        self.tool_calls: dict[str, StreamToolCall] = {}
        # A message this stream auto-created; TEXT_MESSAGE_START renames it (_text_messages).
        self.pending_manual_id: str | None = None
        # STEP_STARTED before any assistant message existed (_thinking).
        self.pending_step_id: str | None = None
        # Runs (_runs).
        self.active_runs: dict[str | None, None] = {}
        self.runs: dict[str | None, RunInfo] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | list[Usage] | None = None
        self.error: RunError | None = None
        self.is_done = False
        # Open *_CHUNK sequence: ("text" | "tool" | "reasoning", its id) (_chunks).
        self.chunk: tuple[str, str] | None = None

    def drop_callbacks(self) -> None:
        """Nobody listens any more (see ``StreamProcessor.drop_callbacks``)."""
        self.listener = NO_CALLBACKS

    def emit_messages(self) -> None:
        callback = self.listener.on_messages_change
        if callback is not None:
            callback(self.view)

    # ------------------------------------------------------------------ lookups

    def index_of(self, message: UIMessage) -> int | None:
        """Position of this very message object (not an equal one), newest first."""
        messages = self.messages
        for i in range(len(messages) - 1, -1, -1):
            if messages[i] is message:
                return i
        return None

    def find_message(self, message_id: str) -> UIMessage | None:
        # Newest first: streamed events almost always concern the latest messages.
        for message in reversed(self.messages):
            if message.id == message_id:
                return message
        return None

    def find_tool_call(self, tool_call_id: str) -> tuple[UIMessage, ToolCallPart] | None:
        """The first message (oldest first, as the reference) holding that tool call."""
        for message in self.messages:
            for part in message.parts:
                if isinstance(part, ToolCallPart) and part.id == tool_call_id:
                    return message, part
        return None

    # ------------------------------------------------------------------ message states

    def new_state(self, message: UIMessage) -> MessageState:
        ms = MessageState(message)
        self.states[message.id] = ms
        self.active[message.id] = ms
        return ms

    def start_message(self, message_id: str, role: Role) -> MessageState:
        """Append a new, empty message that this stream writes to."""
        message = UIMessage(id=message_id, role=role, parts=[], created_at=now())
        self.messages.append(message)
        ms = self.new_state(message)
        callback = self.listener.on_stream_start
        if callback is not None:
            callback(message)
        self.emit_messages()
        return ms

    def active_assistant(self) -> MessageState | None:
        """The most recently activated assistant message (reference §4.3 "active assistant id")."""
        for ms in reversed(self.active.values()):
            if ms.role == "assistant":
                return ms
        return None

    def ensure_assistant(self, preferred_id: str | None = None) -> MessageState:
        """The message an event without an explicit target belongs to (reference §4.3
        ensureAssistantMessage, steps a to d)."""
        if preferred_id is not None:
            ms = self.states.get(preferred_id)
            if ms is not None:
                return ms
        ms = self.active_assistant()
        if ms is not None:
            return ms
        if preferred_id is not None:
            existing = self.find_message(preferred_id)
            if existing is not None:
                # Resuming a message we already have (initial messages, a snapshot):
                # continue its last text part instead of duplicating it.
                ms = self.new_state(existing)
                last = existing.parts[-1] if existing.parts else None
                if isinstance(last, TextPart):
                    ms.segment = last
                    ms.emitted_len = len(last.content)
                return ms
        message_id = preferred_id or generate_id("msg")
        self.pending_manual_id = message_id
        return self.start_message(message_id, "assistant")
