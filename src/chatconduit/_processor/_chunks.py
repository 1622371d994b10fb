"""``*_CHUNK`` events, expanded into start / content (args) / end (difference 5).

As AG-UI clients do (``transformChunks``): a chunk with a new id (or the first one)
starts a new message or call, a chunk without an id continues the open one, and the
next event of a kind in :data:`CLOSES_CHUNK` ends it, as does ``finalize_stream``. The
synthesized events go through the ordinary handlers, so a chunk means exactly what its
expanded events mean. (The reference ignores chunks.)
"""

from __future__ import annotations

from .._events import (
    EventType,
    ReasoningMessageChunkEvent,
    ReasoningMessageContentEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallChunkEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)
from ._context import Context, require
from ._text_messages import on_text_message_content, on_text_message_end, on_text_message_start
from ._thinking import on_reasoning_message_content
from ._tool_calls import on_tool_call_args, on_tool_call_end, on_tool_call_start

__all__ = [
    "CLOSES_CHUNK",
    "close_chunk",
    "on_reasoning_message_chunk",
    "on_text_message_chunk",
    "on_tool_call_chunk",
]

# Event types that end an open chunk sequence, as in AG-UI's transformChunks. The others
# (RAW, ACTIVITY_*, REASONING_ENCRYPTED_VALUE, SUBAGENT_*, unknown types, and the chunks
# themselves, which decide on their own) leave it open.
CLOSES_CHUNK = frozenset(
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


def close_chunk(ctx: Context) -> None:
    """End the open chunk sequence with its synthesized END event."""
    chunk = ctx.chunk
    if chunk is None:
        return
    ctx.chunk = None
    kind, ident = chunk
    if kind == "text":
        on_text_message_end(ctx, TextMessageEndEvent.model_construct(message_id=ident))
    elif kind == "tool":
        on_tool_call_end(ctx, ToolCallEndEvent.model_construct(tool_call_id=ident))
    # REASONING_MESSAGE_END is a no-op for messages.


def _continues(ctx: Context, kind: str, ident: str | None) -> bool:
    """Whether a chunk of ``kind`` with id ``ident`` continues the open sequence; if not,
    that sequence is ended (and the caller starts a new one)."""
    open_ = ctx.chunk
    if open_ is not None and open_[0] == kind and (ident is None or ident == open_[1]):
        return True
    close_chunk(ctx)
    return False


def on_text_message_chunk(ctx: Context, ev: TextMessageChunkEvent) -> None:
    if not _continues(ctx, "text", ev.message_id):
        message_id = require(ev, ev.message_id, "messageId (first chunk of a message)")
        ctx.chunk = ("text", message_id)
        on_text_message_start(
            ctx,
            TextMessageStartEvent.model_construct(
                message_id=message_id, role=ev.role or "assistant"
            ),
        )
    if ev.delta is not None:
        assert ctx.chunk is not None
        on_text_message_content(
            ctx, TextMessageContentEvent.model_construct(message_id=ctx.chunk[1], delta=ev.delta)
        )


def on_tool_call_chunk(ctx: Context, ev: ToolCallChunkEvent) -> None:
    if not _continues(ctx, "tool", ev.tool_call_id):
        call_id = require(ev, ev.tool_call_id, "toolCallId (first chunk of a call)")
        name = require(ev, ev.tool_call_name, "toolCallName (first chunk of a call)")
        ctx.chunk = ("tool", call_id)
        on_tool_call_start(
            ctx,
            ToolCallStartEvent.model_construct(
                tool_call_id=call_id, tool_call_name=name, parent_message_id=ev.parent_message_id
            ),
        )
    if ev.delta is not None:
        assert ctx.chunk is not None
        on_tool_call_args(
            ctx, ToolCallArgsEvent.model_construct(tool_call_id=ctx.chunk[1], delta=ev.delta)
        )


def on_reasoning_message_chunk(ctx: Context, ev: ReasoningMessageChunkEvent) -> None:
    if not _continues(ctx, "reasoning", ev.message_id):
        message_id = require(ev, ev.message_id, "messageId (first chunk of a message)")
        ctx.chunk = ("reasoning", message_id)
    if ev.delta is not None:
        assert ctx.chunk is not None
        on_reasoning_message_content(
            ctx,
            ReasoningMessageContentEvent.model_construct(message_id=ctx.chunk[1], delta=ev.delta),
        )
