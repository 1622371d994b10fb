"""``MessageState``: the processor's bookkeeping for one message of the current stream.

SPEC 4.3 lists the reference's per-message fields; this is the same state, shaped for
linear-time streaming: no field holds a copy of the text (the parts hold it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._messages import Role, TextPart, ThinkingPart, UIMessage

if TYPE_CHECKING:
    from ._tool_calls import StreamToolCall

__all__ = ["MessageState"]


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
        # those whose input is not complete yet (so that forced completion stays O(1)
        # per text delta when there are none).
        self.tool_calls: dict[str, StreamToolCall] = {}
        self.pending_tools: dict[str, StreamToolCall] = {}
        # Finalized (SPEC 4.5): later TEXT_MESSAGE_END events for it are ignored.
        self.complete = False

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def role(self) -> Role:
        return self.message.role

    def segment_text(self) -> str:
        return self.segment.content if self.segment is not None else ""
