"""Tool calls: TOOL_CALL_START / _ARGS / _END / _RESULT and the tool-call state machine.

reference §4.2: ``awaiting-input`` (START) → ``input-streaming`` (first non-empty ARGS delta)
→ ``input-complete`` (END; or forced by TEXT_MESSAGE_CONTENT / TEXT_MESSAGE_END of that
message, RUN_FINISHED, finalize) → ``approval-requested`` (CUSTOM, see ``_custom``) →
``approval-responded`` (``add_tool_approval_response``). Setting an output always writes
``input-complete``. Forced completion only touches calls whose *input* state is not
complete yet, so it never clobbers the approval states.

The handlers here drive :class:`~._message_state.StreamToolCall` (the record of one call,
defined next to the message state that holds it) and are the only writers of its fields.
Argument deltas are appended in place (O(delta)); partial JSON is parsed only when read
(:attr:`StreamToolCall.parsed_arguments`) and cached by length, never per delta.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import _json
from .._events import (
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from .._messages import ToolCallPart, ToolCallState, ToolResultPart, UIMessage
from .._text import append_in_place
from ._context import Context, newest_tool_call, require
from ._message_state import MessageState, StreamToolCall
from ._partial_json import parse_partial_json

__all__ = [
    "complete_tool_calls",
    "on_tool_call_args",
    "on_tool_call_end",
    "on_tool_call_result",
    "on_tool_call_start",
    "parse_output",
    "tool_call_arguments",
    "upsert_tool_result",
]

logger = logging.getLogger("chatconduit.processor")


def tool_call_arguments(ctx: Context, tool_call_id: str) -> Any:
    """A call of this stream parses lazily (cached); one of an earlier stream, from its
    part. ``KeyError`` for an unknown id."""
    call = ctx.tool_calls.get(tool_call_id)
    if call is not None:
        return call.parsed_arguments
    found = ctx.find_tool_call(tool_call_id)
    if found is None:
        raise KeyError(f"unknown tool call id {tool_call_id!r}")
    return parse_partial_json(found[1].arguments)


# --------------------------------------------------------------------------- state changes


def _state_changed(ctx: Context, call: StreamToolCall, state: ToolCallState) -> None:
    callback = ctx.listener.on_tool_call_state_change
    if callback is not None:
        callback(call._message.id, call._part.id, state, call._part.arguments)


def _complete(ctx: Context, call: StreamToolCall) -> None:
    """reference §4.3 completeToolCall."""
    call._state = "input-complete"
    call._part.state = "input-complete"
    call._pending.pop(call._part.id, None)
    ctx.emit_messages()
    _state_changed(ctx, call, "input-complete")


def complete_tool_calls(ctx: Context, ms: MessageState) -> None:
    """Force-complete the message's calls whose input is not complete yet."""
    if ms.pending_tools:
        for call_id in list(ms.pending_tools):
            _complete(ctx, ms.tool_calls[call_id])


def parse_output(text: str) -> Any:
    """``JSON.parse(text)``, or the raw string when it is not JSON (reference §4.4)."""
    try:
        return _json.loads(text)
    except ValueError:
        return text


def upsert_tool_result(message: UIMessage, result: ToolResultPart) -> None:
    """Replace the message's tool-result part for the same call, else append it."""
    parts = message.parts
    for i, part in enumerate(parts):
        if isinstance(part, ToolResultPart) and part.tool_call_id == result.tool_call_id:
            parts[i] = result
            return
    parts.append(result)


def _set_output(
    ctx: Context, message: UIMessage, part: ToolCallPart, content: str, output: Any
) -> None:
    """A server-side result for the call: output on the call, a tool-result part."""
    part.set_output(output)
    part.state = "input-complete"
    upsert_tool_result(
        message, ToolResultPart(tool_call_id=part.id, content=content, state="complete")
    )
    ctx.emit_messages()


def _known_call(
    ctx: Context, ev: ToolCallArgsEvent | ToolCallEndEvent | ToolCallResultEvent
) -> StreamToolCall | None:
    """The call of this stream the event is for, else None: the event is dropped, as in
    the reference, but with a logged warning (difference 11)."""
    tool_call_id = require(ev, ev.tool_call_id, "toolCallId")
    call = ctx.tool_calls.get(tool_call_id)
    if call is None:
        logger.warning(
            "%s for unknown tool call %r dropped (no TOOL_CALL_START in this stream)",
            ev.type,
            tool_call_id,
        )
    return call


# --------------------------------------------------------------------------- events


def on_tool_call_start(ctx: Context, ev: ToolCallStartEvent) -> None:
    """TOOL_CALL_START (reference §4.4): a new ``awaiting-input`` part in the parent message,
    else the active assistant message. A duplicate id is a no-op (difference 13)."""
    tool_call_id = require(ev, ev.tool_call_id, "toolCallId")
    name = require(
        ev, ev.tool_call_name if ev.tool_call_name is not None else ev.tool_name, "toolCallName"
    )
    # reference: ensureAssistantMessage(parentMessageId ?? active assistant id), which comes
    # to the same as ensure_assistant(parentMessageId).
    ms = ctx.ensure_assistant(ev.parent_message_id)
    if tool_call_id in ctx.tool_calls:
        return
    extra: dict[str, Any] = {}
    if "metadata" in ev.model_fields_set and ev.metadata is not None:
        extra["metadata"] = ev.metadata
    part = ToolCallPart(id=tool_call_id, name=name, arguments="", state="awaiting-input", **extra)
    index = len(ms.tool_calls) if ev.index is None else int(ev.index)
    call = StreamToolCall(part, ms.message, ms.pending_tools, index)
    ms.tool_calls[tool_call_id] = call
    ms.pending_tools[tool_call_id] = None
    ctx.tool_calls[tool_call_id] = call
    ms.message.parts.append(part)
    ctx.emit_messages()
    _state_changed(ctx, call, "awaiting-input")


def on_tool_call_args(ctx: Context, ev: ToolCallArgsEvent) -> None:
    """TOOL_CALL_ARGS (reference §4.4): append the delta; the first non-empty one moves the
    call to ``input-streaming``. Not parsed here (see ``parsed_arguments``)."""
    call = _known_call(ctx, ev)
    if call is None:
        return
    delta = ev.delta or ""
    if delta:
        append_in_place(call._part, "arguments", delta)
        if call._state == "awaiting-input":
            call._state = "input-streaming"
    # As in the reference the part is rewritten with the input state (which also resets
    # an approval state, should arguments arrive after an approval request).
    call._part.state = call._state
    ctx.emit_messages()
    _state_changed(ctx, call, call._state)


def on_tool_call_end(ctx: Context, ev: ToolCallEndEvent) -> None:
    """TOOL_CALL_END (reference §4.4): complete the input (``input`` fills empty arguments and
    is authoritative when parsed); a non-empty ``result`` is the server tool's output."""
    call = _known_call(ctx, ev)
    if call is None:
        return
    has_input = "input" in ev.model_fields_set
    if call._state != "input-complete":
        if has_input and not call._part.arguments:
            call._part.__dict__["arguments"] = _json.dumps(ev.input)
        _complete(ctx, call)
    if has_input:
        call._parsed_input = (ev.input,)
    if ev.result:
        _set_output(ctx, call._message, call._part, ev.result, parse_output(ev.result))


def on_tool_call_result(ctx: Context, ev: ToolCallResultEvent) -> None:
    """TOOL_CALL_RESULT (reference §4.4): as TOOL_CALL_END with a result, from ``content``.

    The call may belong to an earlier stream: answering an interrupt (an approved call,
    TanStack 0.58 and pydantic-ai), the server runs the tool and sends its result first
    thing, with no TOOL_CALL_START. The result then lands on the newest message holding
    that call; a call no message holds is dropped with a warning (difference 11).
    """
    tool_call_id = require(ev, ev.tool_call_id, "toolCallId")
    call = ctx.tool_calls.get(tool_call_id)
    if call is not None:
        message, part = call._message, call._part
    else:
        found = newest_tool_call(ctx.messages, tool_call_id)
        if found is None:
            _known_call(ctx, ev)  # logs the drop
            return
        message, part = found
    raw = ev.content
    if isinstance(raw, str):
        _set_output(ctx, message, part, raw, parse_output(raw))
    elif raw is None:
        _set_output(ctx, message, part, "", "")
    else:  # AG-UI content parts: keep them as the output, their JSON as the content
        _set_output(ctx, message, part, _json.dumps(raw), raw)
