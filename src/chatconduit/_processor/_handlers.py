"""Event type → the function that applies it: where to look for "what happens on X".

Each handler takes the processor's :class:`~._context.Context` and the typed event, and
names the reference rule (§4.4) and the differences (``docs/differences.md``) it
implements. Types not listed carry nothing for the message list and are ignored, as in
the reference: REASONING_START / _MESSAGE_START / _MESSAGE_END / _END, RAW, ACTIVITY_*,
THINKING_*, SUBAGENT_* and unknown types.
Before any handler runs, an event in ``_chunks.CLOSES_CHUNK`` ends an open ``*_CHUNK``
sequence (``StreamProcessor.process``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from .._events import EventType
from ._chunks import on_reasoning_message_chunk, on_text_message_chunk, on_tool_call_chunk
from ._context import Context
from ._custom import on_custom
from ._runs import on_run_error, on_run_finished, on_run_started
from ._shared_state import on_state_delta, on_state_snapshot
from ._snapshot import on_messages_snapshot
from ._text_messages import on_text_message_content, on_text_message_end, on_text_message_start
from ._thinking import (
    on_reasoning_encrypted_value,
    on_reasoning_message_content,
    on_step_finished,
    on_step_started,
)
from ._tool_calls import (
    on_tool_call_args,
    on_tool_call_end,
    on_tool_call_result,
    on_tool_call_start,
)

__all__ = ["HANDLERS", "Handler"]

Handler: TypeAlias = Callable[[Context, Any], None]

HANDLERS: dict[str, Handler] = {
    # text: _text_messages
    EventType.TEXT_MESSAGE_START: on_text_message_start,
    EventType.TEXT_MESSAGE_CONTENT: on_text_message_content,
    EventType.TEXT_MESSAGE_END: on_text_message_end,
    # tool calls: _tool_calls
    EventType.TOOL_CALL_START: on_tool_call_start,
    EventType.TOOL_CALL_ARGS: on_tool_call_args,
    EventType.TOOL_CALL_END: on_tool_call_end,
    EventType.TOOL_CALL_RESULT: on_tool_call_result,
    # thinking: _thinking
    EventType.STEP_STARTED: on_step_started,
    EventType.STEP_FINISHED: on_step_finished,
    EventType.REASONING_MESSAGE_CONTENT: on_reasoning_message_content,
    EventType.REASONING_ENCRYPTED_VALUE: on_reasoning_encrypted_value,
    # runs and the end of the stream: _runs
    EventType.RUN_STARTED: on_run_started,
    EventType.RUN_FINISHED: on_run_finished,
    EventType.RUN_ERROR: on_run_error,
    # chunks, expanded into the events above: _chunks
    EventType.TEXT_MESSAGE_CHUNK: on_text_message_chunk,
    EventType.TOOL_CALL_CHUNK: on_tool_call_chunk,
    EventType.REASONING_MESSAGE_CHUNK: on_reasoning_message_chunk,
    # snapshots and shared state: _snapshot, _shared_state
    EventType.MESSAGES_SNAPSHOT: on_messages_snapshot,
    EventType.STATE_SNAPSHOT: on_state_snapshot,
    EventType.STATE_DELTA: on_state_delta,
    # CUSTOM: _custom
    EventType.CUSTOM: on_custom,
}
