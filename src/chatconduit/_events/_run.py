"""Run lifecycle and step events: RUN_*, STEP_*, and the ``Usage``/``RunErrorDetail``
objects nested in them."""

from __future__ import annotations

from typing import Any, Literal

from ._base import BaseEvent, NestedWireModel
from ._types import EventType, JSNumber


class Usage(NestedWireModel):
    """Token usage on TanStack's RUN_FINISHED: ``{promptTokens, completionTokens, totalTokens}``."""

    prompt_tokens: JSNumber | None = None
    completion_tokens: JSNumber | None = None
    total_tokens: JSNumber | None = None


class RunErrorDetail(NestedWireModel):
    """The nested ``error`` of a TanStack RUN_ERROR: ``{message, code?}`` (deprecated form, still
    the only one the 0.10 server writes)."""

    message: str | None = None
    code: str | None = None


# --- lifecycle -----------------------------------------------------------------------------


class RunStartedEvent(BaseEvent):
    type: Literal[EventType.RUN_STARTED] = EventType.RUN_STARTED
    run_id: str | None = None
    thread_id: str | None = None
    parent_run_id: str | None = None
    input: Any = None
    """The RunAgentInput that started the run, kept as the raw JSON object."""

    __wire_order__ = ("run_id", "thread_id", "parent_run_id", "model", "timestamp", "input")


class RunFinishedEvent(BaseEvent):
    type: Literal[EventType.RUN_FINISHED] = EventType.RUN_FINISHED
    run_id: str | None = None
    thread_id: str | None = None
    finish_reason: str | None = None
    """TanStack: ``'stop' | 'length' | 'content_filter' | 'tool_calls' | null``."""
    usage: Usage | list[dict[str, Any]] | None = None
    """TanStack writes a :class:`Usage` object; newer AG-UI writes a list of per-provider
    ``TokenUsage`` objects, kept as plain dicts."""
    result: Any = None

    __wire_order__ = (
        "run_id",
        "thread_id",
        "model",
        "timestamp",
        "finish_reason",
        "usage",
        "result",
    )


class RunErrorEvent(BaseEvent):
    type: Literal[EventType.RUN_ERROR] = EventType.RUN_ERROR
    thread_id: str | None = None
    run_id: str | None = None
    message: str | None = None
    code: str | None = None
    error: RunErrorDetail | None = None
    """TanStack's nested (deprecated) form; the 0.10 server writes only this, no ``message``."""

    __wire_order__ = ("thread_id", "run_id", "model", "timestamp", "message", "code", "error")

    @property
    def error_message(self) -> str:
        """What the reference client shows: ``message || error.message || 'An error occurred'``."""
        if self.message:
            return self.message
        if self.error is not None and self.error.message:
            return self.error.message
        return "An error occurred"

    @property
    def error_code(self) -> str | None:
        """``code``, else the nested ``error.code``."""
        if self.code is not None:
            return self.code
        return self.error.code if self.error is not None else None


# --- steps (TanStack 0.10 carries "thinking" on STEP_FINISHED) -----------------------------


class StepStartedEvent(BaseEvent):
    type: Literal[EventType.STEP_STARTED] = EventType.STEP_STARTED
    step_name: str | None = None
    step_id: str | None = None
    """TanStack's deprecated alias; the reference processor uses it as the step's id."""
    step_type: str | None = None

    __wire_order__ = ("step_name", "step_id", "model", "timestamp", "step_type")


class StepFinishedEvent(BaseEvent):
    type: Literal[EventType.STEP_FINISHED] = EventType.STEP_FINISHED
    step_name: str | None = None
    step_id: str | None = None
    delta: str | None = None
    content: str | None = None
    signature: str | None = None

    __wire_order__ = ("step_name", "step_id", "model", "timestamp", "delta", "content", "signature")
