"""Text: TEXT_MESSAGE_START / _CONTENT / _END and the text segments they fill.

A message's text arrives in *segments*. The current segment's text lives in one text
part (``MessageState.segment``) and grows there in place (:func:`append_in_place`);
nothing else holds a copy, so an append costs O(delta). A segment continues only while
its part is the message's last part: text after a tool call, a tool result or thinking
starts a new part holding only the new text (difference 2).

The chunk strategy decides when the UI is told about new text, never what the part
holds (difference 8); pending text is always announced when a segment ends, on
TEXT_MESSAGE_END and on finalize.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from .._events import TextMessageContentEvent, TextMessageEndEvent, TextMessageStartEvent
from .._events._text_runs import PlainTextRun
from .._messages import Role, TextPart
from .._text import append_in_place
from ._context import Context, require
from ._message_state import MessageState
from ._strategies import ImmediateStrategy
from ._tool_calls import complete_tool_calls

__all__ = [
    "accumulated_suffix",
    "flush_text",
    "on_text_message_content",
    "on_text_message_end",
    "on_text_message_start",
    "on_text_run",
]


def accumulated_suffix(current: str, content: str) -> str:
    """What an accumulated ``content`` value adds to ``current`` (reference §4.4): its new
    suffix if it extends ``current``, nothing if ``current`` already extends it, else
    all of it."""
    if content.startswith(current):
        return content[len(current) :]
    if current.startswith(content):
        return ""
    return content


# --------------------------------------------------------------------------- announcing


def announce_text(ctx: Context, ms: MessageState) -> None:
    """Tell the UI about the current segment text (reference §4.3 emitText; the part is
    already current and keeps its metadata: difference 14)."""
    segment = ms.segment
    ms.emitted_len = len(segment.content) if segment is not None else 0
    ctx.emit_messages()
    on_text_update = ctx.listener.on_text_update
    if on_text_update is not None:
        on_text_update(ms.id, ms.segment_text())


def flush_text(ctx: Context, ms: MessageState) -> None:
    """Announce text the chunk strategy held back."""
    if ms.segment is not None and len(ms.segment.content) != ms.emitted_len:
        announce_text(ctx, ms)


# --------------------------------------------------------------------------- segments


def segment_part(ms: MessageState) -> TextPart:
    """The text part that receives the current segment's text, created on demand."""
    if ms.segment is not None:
        return ms.segment
    parts = ms.message.parts
    last = parts[-1] if parts else None
    if ms.restart_text and isinstance(last, TextPart):
        # TEXT_MESSAGE_START re-opened a message without state (e.g. a replay from the
        # message's start): as in the reference, its last text part restarts.
        last.__dict__["content"] = ""
        part = last
    else:
        part = TextPart(content="")
        parts.append(part)
    ms.restart_text = False
    ms.segment = part
    ms.emitted_len = 0
    return part


def end_segment(ctx: Context, ms: MessageState, content_skip: int = 0) -> None:
    flush_text(ctx, ms)
    ms.segment = None
    ms.emitted_len = 0
    ms.content_skip = content_skip


def segment_interrupted(ms: MessageState) -> bool:
    """Whether another part was appended after the current (non-empty) segment."""
    segment = ms.segment
    if segment is None or not segment.content:
        return False
    parts = ms.message.parts
    return not parts or parts[-1] is not segment


def own_content(ms: MessageState, content: str) -> str:
    """``content`` minus the earlier segments it accumulates, when it does."""
    skip = ms.content_skip
    return content[skip:] if skip and len(content) >= skip else content


# --------------------------------------------------------------------------- events


def on_text_message_start(ctx: Context, ev: TextMessageStartEvent) -> None:
    """TEXT_MESSAGE_START (reference §4.4, steps 1 to 3; difference 15)."""
    message_id = require(ev, ev.message_id, "messageId")
    role: Role = "user" if ev.role == "user" else "system" if ev.role == "system" else "assistant"
    pending = ctx.pending_manual_id
    ctx.pending_manual_id = None
    pending_state = ctx.states.get(pending) if pending is not None else None
    if pending_state is not None and (
        pending == message_id or ctx.find_message(message_id) is None
    ):
        # 1. A message was auto-created earlier in this stream (e.g. by thinking that
        # came first): it adopts the server's id. (Not when another message already has
        # that id: two messages must never share one; see 2. instead.)
        old_id = pending_state.id
        if old_id != message_id:
            del ctx.states[old_id]
            ctx.active.pop(old_id, None)
            pending_state.message.id = message_id
            ctx.states[message_id] = pending_state
            ctx.active[message_id] = pending_state
        ctx.emit_messages()
        return
    existing = ctx.find_message(message_id)
    if existing is not None:
        # 2. A message we already hold.
        ms = ctx.states.get(message_id)
        if ms is None:
            # No seeding: the reference restarts the text of the last text part here.
            ctx.new_state(existing).restart_text = True
        else:
            ctx.active[message_id] = ms
            if segment_interrupted(ms):
                end_segment(ctx, ms)
        return
    # 3. A new message.
    ctx.start_message(message_id, role)


def on_text_message_content(ctx: Context, ev: TextMessageContentEvent) -> None:
    """TEXT_MESSAGE_CONTENT (reference §4.4; differences 2 and 8)."""
    # ensure_assistant's first step, inline: this runs for every delta.
    message_id = ev.message_id
    ms = ctx.states.get(message_id) if message_id is not None else None
    if ms is None:
        ms = ctx.ensure_assistant(message_id)
    delta = ev.delta
    current = ms.segment
    if delta and current is not None and not ms.pending_tools:
        parts = ms.message.parts
        if parts and parts[-1] is current:
            # The streaming case (a delta for the segment that is still the message's last
            # part): what the general route below does for it, minus the checks that
            # cannot apply, with announce_text inline. No local keeps the text across the
            # append (it would copy).
            append_in_place(current, "content", delta)
            strategy = ctx.strategy
            if type(strategy) is ImmediateStrategy or strategy.should_emit(delta, current.content):
                size = len(current.content)
                if size != ms.emitted_len:
                    ms.emitted_len = size
                    ctx.emit_messages()
                    on_text_update = ctx.listener.on_text_update
                    if on_text_update is not None:
                        on_text_update(ms.id, current.content)
            return
    complete_tool_calls(ctx, ms)
    delta = delta or ""
    content = own_content(ms, ev.content) if not delta and ev.content else ""
    if segment_interrupted(ms):
        # A tool call (or result, or thinking) came after this segment: the text that
        # follows is a new segment, in a new part, holding only the new text.
        segment = ms.segment_text()
        if delta:
            end_segment(ctx, ms)
        elif content.startswith(segment) and len(content) > len(segment):
            # `content` accumulates across segments: skip what the old ones hold.
            end_segment(ctx, ms, content_skip=ms.content_skip + len(segment))
            content = content[len(segment) :]
        elif not segment.startswith(content):
            end_segment(ctx, ms)
            content = ev.content or ""
    added = delta
    if not added and content:
        added = accumulated_suffix(ms.segment_text(), content)
    if added:
        append_in_place(segment_part(ms), "content", added)
    emit = ctx.strategy.should_emit(delta or ev.content or "", ms.segment_text())
    if emit and ms.segment is not None and len(ms.segment.content) != ms.emitted_len:
        announce_text(ctx, ms)


def on_text_run(ctx: Context, events: Sequence[TextMessageContentEvent] | PlainTextRun) -> None:
    """A run of TEXT_MESSAGE_CONTENT events for one message, as the reader delivered it
    (typed, or a ``PlainTextRun`` of plain deltas): the same part and text as applying
    them one by one, announced once.

    Only the streaming case (the immediate strategy, non-empty deltas for the segment
    that is still the message's last part) is joined; until it applies (the run's first
    delta may open the segment) and whenever it does not, each event takes the one-by-one
    route, so every other strategy sees each delta as before. A plain run makes typed
    events for that route: all of them for another strategy, else one delta at a time
    (the usual one: the delta opening the segment)."""
    if events.__class__ is PlainTextRun:
        if type(ctx.strategy) is not ImmediateStrategy:
            on_text_run(ctx, events.events())  # never joined: every delta its own route
            return
        texts = events.deltas  # non-empty strings (plain_text_slice checked)
        for index in range(len(texts)):
            ms = _joinable(ctx, events.message_id)
            if ms is not None:
                _append_joined(ctx, ms, "".join(texts[index:] if index else texts))
                return
            on_text_message_content(ctx, events.event(index))
        return
    typed = cast("Sequence[TextMessageContentEvent]", events)
    for index, ev in enumerate(typed):
        ms = _joinable(ctx, ev.message_id)
        if ms is not None:
            rest = typed[index:] if index else typed
            deltas = [e.delta for e in rest]
            if all(deltas):
                _append_joined(ctx, ms, "".join(cast("list[str]", deltas)))
                return
            for one in rest:
                on_text_message_content(ctx, one)
            return
        on_text_message_content(ctx, ev)


def _joinable(ctx: Context, message_id: str | None) -> MessageState | None:
    """The message whose streaming segment a run of deltas may be appended to at once."""
    ms = ctx.states.get(message_id) if message_id is not None else None
    if ms is None or ms.pending_tools or type(ctx.strategy) is not ImmediateStrategy:
        return None
    current = ms.segment
    parts = ms.message.parts
    if current is None or not parts or parts[-1] is not current:
        return None
    return ms


def _append_joined(ctx: Context, ms: MessageState, text: str) -> None:
    """Append a run's text to the streaming segment and announce it once."""
    assert ms.segment is not None  # _joinable checked
    append_in_place(ms.segment, "content", text)
    flush_text(ctx, ms)


def on_text_message_end(ctx: Context, ev: TextMessageEndEvent) -> None:
    """TEXT_MESSAGE_END (reference §4.4): announce pending text, complete the message's tool
    calls. It neither finalizes nor fires ``on_stream_end``."""
    ms = ctx.states.get(ev.message_id) if ev.message_id is not None else None
    if ms is None or ms.complete:
        return
    flush_text(ctx, ms)
    complete_tool_calls(ctx, ms)
