"""The processor's bookkeeping for the current stream: ``MessageState`` and ``StreamToolCall``.

reference §4.3 lists the reference's per-message fields; :class:`MessageState` is the same
state, shaped for linear-time streaming: no field holds a copy of the text (the parts
hold it). A message's tool calls of this stream are :class:`StreamToolCall` records, and
each of them knows its message, so the two types live together here, below
``_context`` and the handlers that update them (``_tool_calls`` drives the calls).
"""

from __future__ import annotations

from typing import Any

from .._messages import Role, TextPart, ThinkingPart, ToolCallPart, ToolCallState, UIMessage
from ._partial_json import parse_partial_json

__all__ = ["MessageState", "StreamToolCall"]


class MessageState:
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
        # Text (see _text_messages): the text part of the current segment, which holds
        # the segment's text; None until text arrives (or after a segment ended). A
        # segment continues only while its part is the message's last part: text after a
        # tool call, a tool result or thinking goes into a new part.
        self.segment: TextPart | None = None
        # len(segment text) when it was last announced (strategies may delay).
        self.emitted_len = 0
        # `content` (accumulated) values include this many characters of earlier
        # segments of the same message.
        self.content_skip = 0
        # TEXT_MESSAGE_START for a message we hold but had no state for: its last text
        # part restarts (the reference's behaviour).
        self.restart_text = False
        # Thinking (see _thinking): step id → its thinking part (None while the step has
        # no content yet), the current step, and whether REASONING_* content was seen.
        self.steps: dict[str, ThinkingPart | None] = {}
        self.current_step: str | None = None
        self.seen_reasoning = False
        # Tool calls (see _tool_calls): all of this message's calls of this stream, and
        # the ids of those whose input is not complete yet (so that forced completion
        # stays O(1) per text delta when there are none). Ids, not the calls: each call
        # holds this dict, and a call held back would make a reference cycle.
        self.tool_calls: dict[str, StreamToolCall] = {}
        self.pending_tools: dict[str, None] = {}
        # Finalized (reference §4.5): later TEXT_MESSAGE_END events for it are ignored.
        self.complete = False

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def role(self) -> Role:
        return self.message.role

    def segment_text(self) -> str:
        return self.segment.content if self.segment is not None else ""


class StreamToolCall:
    """A tool call of the current stream as the processor tracks it (read-only).

    The UI-facing data is the :attr:`part`; this adds what the part does not hold: the
    arrival ``index``, the *input* state (which never leaves ``input-complete`` for the
    approval states, unlike the part's) and the lazily parsed arguments. Its underscored
    fields are written by the TOOL_CALL_* handlers (``_tool_calls``) only.
    """

    __slots__ = (
        "_index",
        "_message",
        "_parsed_cache",
        "_parsed_input",
        "_part",
        "_pending",
        "_state",
    )

    def __init__(
        self, part: ToolCallPart, message: UIMessage, pending: dict[str, None], index: int
    ) -> None:
        # The message and its MessageState's pending ids, not the MessageState, which
        # holds this call (a cycle would leave every stream's calls to the cyclic GC).
        self._part = part
        self._message = message
        self._pending = pending
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
