"""Runs and the end of a stream: RUN_STARTED / RUN_FINISHED / RUN_ERROR, finalize.

A stream may carry several runs. Each is recorded in ``Context.runs`` (a
:class:`RunInfo`); the ones still going are ``Context.active_runs``. The finish rules:

* A RUN_FINISHED that leaves no run active completes every pending tool call. With
  finish reason ``"tool_calls"`` (top level, or TanStack 0.58's ``metadata.tanstack``) it
  is an agent-loop step and does not finalize, unless its ``outcome`` is an
  ``interrupt`` (the run pauses for the client: 0.58 sends ``tool_calls`` with it); any
  other RUN_FINISHED finalizes the stream (difference 3). Reason and usage are kept (6).
* The finish reason kept is the wire's. An AG-UI server that sends none but an
  ``outcome`` (pydantic-ai) gets one from it: ``"tool_calls"`` when the run paused for
  the client (an interrupt, or a success that leaves tool calls of this stream without
  output: frontend tools), ``"stop"`` for another success, none for ``cancelled``.
* RUN_ERROR records the error and creates no message (difference 1); it does not
  finalize.
* :func:`finalize` (reference §4.5) is also what ``StreamProcessor.finalize_stream`` does.
"""

from __future__ import annotations

from .._events import (
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    finish_reason_of,
    is_loop_step,
    outcome_type_of,
)
from .._exceptions import RunError
from .._messages import TextPart, UIMessage
from .._text import is_js_blank
from ._chunks import close_chunk
from ._context import Context
from ._records import RunInfo
from ._text_messages import flush_text
from ._tool_calls import complete_tool_calls

__all__ = ["finalize", "on_run_error", "on_run_finished", "on_run_started"]


def _run(ctx: Context, run_id: str | None) -> RunInfo:
    info = ctx.runs.get(run_id)
    if info is None:
        info = ctx.runs[run_id] = RunInfo(run_id=run_id)
    return info


def on_run_started(ctx: Context, ev: RunStartedEvent) -> None:
    """RUN_STARTED: the run is active. No message is created."""
    info = _run(ctx, ev.run_id)
    info.thread_id = ev.thread_id
    info.status = "running"
    ctx.active_runs[ev.run_id] = None
    ctx.is_done = False


def on_run_finished(ctx: Context, ev: RunFinishedEvent) -> None:
    """RUN_FINISHED (reference §4.4; differences 3 and 6)."""
    info = _run(ctx, ev.run_id)
    if ev.thread_id is not None:
        info.thread_id = ev.thread_id
    outcome = outcome_type_of(ev)
    reason = finish_reason_of(ev)
    intermediate = is_loop_step(reason, outcome)  # read before an outcome may supply one
    if reason is None and outcome is not None:
        reason = _reason_from_outcome(ctx, ev, outcome)
    info.status = "finished"
    info.finish_reason = reason
    info.usage = ev.usage
    ctx.finish_reason = reason
    ctx.usage = ev.usage
    ctx.active_runs.pop(ev.run_id, None)
    if ctx.active_runs:
        return  # other runs of this stream are still going
    for ms in list(ctx.active.values()):
        complete_tool_calls(ctx, ms)
    if intermediate:
        # An agent-loop step: the same response usually continues (server tools), or it
        # ends and the owner calls finalize_stream(). Either way: not yet.
        return
    ctx.is_done = True
    finalize(ctx)


def _reason_from_outcome(ctx: Context, ev: RunFinishedEvent, outcome: str) -> str | None:
    """A finish reason for a run that ended with an AG-UI ``outcome`` and none of its own
    (pydantic-ai), in TanStack's terms, so that code reading ``finish_reason`` (e.g. "was
    that the answer, or does the client owe a tool result?") works with either server.
    ``None`` for an outcome that says neither (``cancelled``, or one unknown to us)."""
    if outcome == "interrupt":
        return "tool_calls"  # what TanStack 0.58 sends with its interrupts
    if outcome != "success":
        return None
    pending = ev.outcome.pending_tool_call_ids if ev.outcome is not None else None
    if pending or any(not call.part.has_output for call in ctx.tool_calls.values()):
        # Frontend tools: the server left the calls to the client (pydantic-ai lists
        # them in pendingToolCallIds only when the request declared AG-UI 1.0).
        return "tool_calls"
    return "stop"


def on_run_error(ctx: Context, ev: RunErrorEvent) -> None:
    """RUN_ERROR (reference §4.4; difference 1): the error goes on the processor and on its
    run (every active run when it names none), then to ``on_error``. The message and code
    are read from either shape: AG-UI's flat ``{message, code}`` (TanStack 0.58) or the
    nested ``error`` TanStack 0.10 writes."""
    error = RunError(ev.error_message, code=ev.error_code, run_id=ev.run_id)
    ctx.error = error
    if ev.run_id is not None:
        ctx.active_runs.pop(ev.run_id, None)
        failed: list[str | None] = [ev.run_id]
    else:
        failed = list(ctx.active_runs)
        ctx.active_runs.clear()
    for run_id in failed:
        info = _run(ctx, run_id)
        info.status = "error"
        info.error = error
    on_error = ctx.listener.on_error
    if on_error is not None:
        on_error(error)


def finalize(ctx: Context) -> None:
    """End the stream (reference §4.5): complete pending tool calls, announce pending text,
    then fire ``on_stream_end`` with the last assistant message, or remove that message
    when it is a whitespace-only reply (and the stream had no error). Idempotent."""
    close_chunk(ctx)
    last_assistant: UIMessage | None = None
    for ms in ctx.active.values():
        complete_tool_calls(ctx, ms)
        flush_text(ctx, ms)
        ms.complete = True
        if ms.role == "assistant" and ctx.index_of(ms.message) is not None:
            last_assistant = ms.message
    ctx.active.clear()
    if last_assistant is None:
        return
    if (
        ctx.error is None
        and last_assistant.parts
        and all(isinstance(p, TextPart) and is_js_blank(p.content) for p in last_assistant.parts)
    ):
        index = ctx.index_of(last_assistant)
        if index is not None:
            del ctx.messages[index]
        ctx.emit_messages()
        return
    on_stream_end = ctx.listener.on_stream_end
    if on_stream_end is not None:
        on_stream_end(last_assistant)
