"""Thinking: STEP_STARTED / STEP_FINISHED, REASONING_MESSAGE_CONTENT (reference §4.4) and
REASONING_ENCRYPTED_VALUE.

Each thinking *step* has one thinking part (matched by ``step_id``) that its text grows
in, in place. STEP_STARTED makes a step current; content without a current step opens
one. Once a message has seen REASONING_MESSAGE_CONTENT, STEP_FINISHED carries the same
text again and only its signature is taken. TanStack 0.58 sends a step's signature as a
REASONING_ENCRYPTED_VALUE instead. The other REASONING_* events carry nothing for
messages and are ignored.
"""

from __future__ import annotations

from .._events import (
    ReasoningEncryptedValueEvent,
    ReasoningMessageContentEvent,
    StepFinishedEvent,
    StepStartedEvent,
)
from .._ids import generate_id
from .._messages import ThinkingPart
from .._text import append_in_place
from ._context import Context
from ._message_state import MessageState
from ._text_messages import accumulated_suffix

__all__ = [
    "on_reasoning_encrypted_value",
    "on_reasoning_message_content",
    "on_step_finished",
    "on_step_started",
]


def _step_part(ms: MessageState, step_id: str) -> ThinkingPart:
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


def _content_step(ctx: Context, ms: MessageState, own_id: str | None) -> tuple[str, ThinkingPart]:
    """The step that content arriving now belongs to, and its part: the pending step
    (STEP_STARTED before the message existed), else the current one, else a new step
    with the event's own id (so switching steps needs a STEP_STARTED)."""
    pending = ctx.pending_step_id
    if pending is not None:
        ms.current_step = pending
        ms.steps.setdefault(pending, None)
        ctx.pending_step_id = None
    step_id = ms.current_step
    if step_id is None:
        step_id = own_id if own_id is not None else generate_id("msg")
    if step_id not in ms.steps:
        ms.steps[step_id] = None
        ms.current_step = step_id
    return step_id, _step_part(ms, step_id)


def _thinking_updated(ctx: Context, ms: MessageState, step_id: str, part: ThinkingPart) -> None:
    ctx.emit_messages()
    on_thinking_update = ctx.listener.on_thinking_update
    if on_thinking_update is not None:
        on_thinking_update(ms.id, step_id, part.content)


def on_step_started(ctx: Context, ev: StepStartedEvent) -> None:
    """STEP_STARTED: the step becomes current; before any assistant message exists it
    waits as the pending step. No message is created."""
    step_id = ev.step_id if ev.step_id is not None else generate_id("msg")
    ms = ctx.active_assistant()
    if ms is not None:
        ms.current_step = step_id
        ms.steps.setdefault(step_id, None)
        ctx.pending_step_id = None
    else:
        ctx.pending_step_id = step_id


def on_step_finished(ctx: Context, ev: StepFinishedEvent) -> None:
    """STEP_FINISHED: the step's text grows like text (``delta``, else accumulated
    ``content``); ``signature`` is kept."""
    ms = ctx.ensure_assistant()  # reference: ensureAssistantMessage(active id)
    if ms.seen_reasoning:
        # REASONING_MESSAGE_CONTENT already carries this text: take only the signature.
        if ev.signature:
            step_id = ms.current_step if ms.current_step is not None else ev.step_id
            if step_id is not None and step_id in ms.steps:
                _step_part(ms, step_id).signature = ev.signature
                ctx.emit_messages()
        return
    step_id, part = _content_step(ctx, ms, ev.step_id)
    added = ev.delta or accumulated_suffix(part.content, ev.content or "")
    if added:
        append_in_place(part, "content", added)
    if ev.signature:
        part.signature = ev.signature
    _thinking_updated(ctx, ms, step_id, part)


def on_reasoning_message_content(ctx: Context, ev: ReasoningMessageContentEvent) -> None:
    """REASONING_MESSAGE_CONTENT: the delta goes to the current step (later reasoning
    messages without a STEP_STARTED keep appending to the first one)."""
    ms = ctx.ensure_assistant()  # reference: ensureAssistantMessage(active id)
    ms.seen_reasoning = True
    step_id, part = _content_step(ctx, ms, ev.message_id)
    if ev.delta:
        append_in_place(part, "content", ev.delta)
    _thinking_updated(ctx, ms, step_id, part)


def on_reasoning_encrypted_value(ctx: Context, ev: ReasoningEncryptedValueEvent) -> None:
    """REASONING_ENCRYPTED_VALUE with ``subtype: "message"``: a thinking step's signature
    (TanStack 0.58 sends a STEP_FINISHED's ``signature`` this way, right after the step).

    As the 0.33 client, it goes to the active assistant message's current step, else to
    the step ``entityId`` names; unlike it, only onto a thinking part that exists: this
    event creates nothing (pydantic-ai sends its own markers this way, about messages
    without thinking). ``subtype: "tool-call"`` (a provider's signature of a tool call)
    has no place in a message part and is ignored.
    """
    value = ev.encrypted_value
    if not value or ev.subtype == "tool-call":
        return
    ms = ctx.active_assistant()
    if ms is None:
        return
    part = ms.steps.get(ms.current_step) if ms.current_step is not None else None
    if part is None and ev.entity_id is not None:
        part = ms.steps.get(ev.entity_id)
    if part is None:
        return
    part.signature = value
    ctx.emit_messages()
