"""Run lifecycle and step events: RUN_*, STEP_*, and the ``Usage``/``RunErrorDetail``/
``RunOutcome``/``Interrupt`` objects nested in them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, ValidationError

from .._exceptions import MalformedEventError
from ._base import BaseEvent, NestedWireModel
from ._types import EventType, JSNumber


class Usage(NestedWireModel):
    """Token usage, in either spelling the wire uses.

    TanStack 0.10 writes one object ``{promptTokens, completionTokens, totalTokens}``; AG-UI
    (TanStack 0.58, pydantic-ai) writes a list of ``{model?, inputTokens, outputTokens,
    totalTokens}``, one per model. Each object keeps the keys it arrived with (and any
    other, as extras); the ``resolved_*`` properties read a count whichever spelling holds
    it, and :meth:`combined` totals a list.
    """

    model: str | None = None
    input_tokens: JSNumber | None = None
    output_tokens: JSNumber | None = None
    prompt_tokens: JSNumber | None = None
    completion_tokens: JSNumber | None = None
    total_tokens: JSNumber | None = None

    # Built in Python, each spelling comes out in its own order: AG-UI's ``model,
    # inputTokens, outputTokens, totalTokens``, TanStack's ``promptTokens, completionTokens,
    # totalTokens`` (only the keys that are set are written).
    __wire_order__ = (
        "model",
        "input_tokens",
        "output_tokens",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
    )

    @property
    def resolved_input_tokens(self) -> JSNumber | None:
        """``promptTokens ?? inputTokens``."""
        return self.prompt_tokens if self.prompt_tokens is not None else self.input_tokens

    @property
    def resolved_output_tokens(self) -> JSNumber | None:
        """``completionTokens ?? outputTokens``."""
        if self.completion_tokens is not None:
            return self.completion_tokens
        return self.output_tokens

    @property
    def resolved_total_tokens(self) -> JSNumber | None:
        """``totalTokens``, else input plus output when both are known."""
        if self.total_tokens is not None:
            return self.total_tokens
        counts = (self.resolved_input_tokens, self.resolved_output_tokens)
        return None if None in counts else counts[0] + counts[1]  # type: ignore[operator]

    @classmethod
    def combined(cls, usage: Usage | Sequence[Usage] | None) -> Usage | None:
        """One :class:`Usage` for what a RUN_FINISHED reports: the object itself, or the
        entries of a list added up (AG-UI spelling; ``model`` kept when every entry names
        the same one). ``None`` for no usage or an empty list; a count no entry reports
        stays ``None``."""
        if usage is None or isinstance(usage, Usage):
            return usage
        if not usage:
            return None

        def total(counts: list[JSNumber | None]) -> JSNumber | None:
            known = [n for n in counts if n is not None]
            return sum(known) if known else None

        models = {entry.model for entry in usage}
        return cls(
            model=models.pop() if len(models) == 1 else None,
            input_tokens=total([entry.resolved_input_tokens for entry in usage]),
            output_tokens=total([entry.resolved_output_tokens for entry in usage]),
            total_tokens=total([entry.resolved_total_tokens for entry in usage]),
        )


class RunErrorDetail(NestedWireModel):
    """The nested ``error`` of a TanStack RUN_ERROR: ``{message, code?}`` (deprecated form, still
    the only one the 0.10 server writes)."""

    message: str | None = None
    code: str | None = None


class Interrupt(NestedWireModel):
    """One reason a run paused for the client (AG-UI ``Interrupt``), in ``RUN_FINISHED.outcome``.

    TanStack 0.58 writes ``{id: "client_tool_<callId>" | "approval_<callId>", reason, message,
    toolCallId, responseSchema, metadata: {kind, toolName, input, ...}}``; pydantic-ai writes
    ``{id: "int-<callId>", reason: "tool_call", message, toolCallId, responseSchema}``. The
    client answers it with a ``resume`` entry naming ``id``. Other keys (``expiresAt``, ...)
    are kept as extras.
    """

    id: str | None = None
    reason: str | None = None
    message: str | None = None
    tool_call_id: str | None = None
    response_schema: Any = None
    """A JSON Schema of the expected answer; kept as raw JSON (a schema may be a boolean)."""
    metadata: dict[str, Any] | None = None

    __wire_order__ = ("id", "reason", "message", "tool_call_id", "response_schema", "metadata")


class RunOutcome(NestedWireModel):
    """AG-UI ``RUN_FINISHED.outcome``: ``{type: "success" | "interrupt" | "cancelled", ...}``.

    ``interrupts`` comes with ``type: "interrupt"``; pydantic-ai adds
    ``pendingToolCallIds`` to a ``success`` that left frontend tool calls to the client.

    ``interrupts`` holds the entries as the JSON objects they arrived as: the encoder writes
    a nested model only as a direct field value, not inside a list, and these must
    re-encode to the same bytes. :meth:`parsed_interrupts` reads them as :class:`Interrupt`.
    """

    # The wire key is ``type``; the field has another name because the base classes
    # reserve ``type`` for an event's own discriminator (written first, never as a field).
    kind: str | None = Field(default=None, alias="type")
    """``"success"``, ``"interrupt"``, ``"cancelled"`` (the wire's ``type``)."""
    interrupts: list[dict[str, Any]] | None = None
    pending_tool_call_ids: list[str] | None = None

    __wire_order__ = ("kind", "interrupts", "pending_tool_call_ids")

    def parsed_interrupts(self) -> list[Interrupt]:
        """The interrupts as :class:`Interrupt` objects (``[]`` when there are none).

        Raises :class:`~chatconduit.MalformedEventError` naming the entry when one has a
        known field of the wrong JSON type.
        """
        out: list[Interrupt] = []
        for i, entry in enumerate(self.interrupts or ()):
            try:
                out.append(Interrupt.model_validate(entry))
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(part) for part in problem["loc"])
                raise MalformedEventError(
                    f"RUN_FINISHED outcome.interrupts[{i}].{where}: {problem['msg']}"
                ) from None
        return out


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
    usage: Usage | list[Usage] | None = None
    """TanStack 0.10 writes one :class:`Usage` object; AG-UI (TanStack 0.58, pydantic-ai)
    writes a list of them, one per model (:meth:`Usage.combined` totals it)."""
    result: Any = None
    outcome: RunOutcome | None = None
    """AG-UI: how the run ended; ``type: "interrupt"`` means it waits for the client's
    ``resume`` answers (TanStack 0.58, pydantic-ai)."""

    __wire_order__ = (
        "run_id",
        "thread_id",
        "model",
        "timestamp",
        "finish_reason",
        "usage",
        "result",
        "outcome",
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
