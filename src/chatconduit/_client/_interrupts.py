"""Interrupts: a run that paused for the client, and the answers the next request owes it.

TanStack 0.58 and pydantic-ai (AG-UI 1.0) end such a run with
``RUN_FINISHED.outcome = {type: "interrupt", interrupts: [...]}``: run this client tool,
approve this call. The client records the paused run (:class:`InterruptedRun`) and acts
on each interrupt as on the TanStack 0.10 CUSTOM events (``Conversation`` runs the tool
or marks the call for approval). The answers are then read off the conversation when the
next request is built (:meth:`InterruptedRun.answers`), so that however a call was
answered (a tool's ``execute``, ``add_tool_result``, ``add_tool_approval_response``,
``stop()``) the server hears it the way it asked:

- ``parentRunId``: the interrupted run;
- ``resume``: one entry per interrupt, ``resolved`` with a payload (a client tool's
  output, ``{"error": ...}`` when it failed, an approval's ``{"approved": bool}``) or
  ``cancelled`` without one (a call nobody answered, as when the user sends a new
  message instead);
- for TanStack interrupts (those with ``metadata.kind``), the ``role: "tool"`` message
  of each answered call as the 0.33 client writes it, in this request and every later
  one (``Conversation.tanstack_calls``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._events._run import Interrupt
from .._messages import ToolCallPart, ToolResultPart, UIMessage
from .._processor import ApprovalRequest, ToolCallRequest
from .._processor._context import newest_tool_call
from .._processor._custom import interrupt_kind, interrupt_request
from .._run_input._request_body import ResumeEntry

__all__ = ["InterruptedRun", "is_answered"]


@dataclass(frozen=True, slots=True)
class InterruptedRun:
    """A run that ended waiting for the client: its id and what it waits for."""

    run_id: str | None
    interrupts: tuple[Interrupt, ...]

    def requests(self, messages: Sequence[UIMessage]) -> list[ToolCallRequest | ApprovalRequest]:
        """What the interrupts ask of the client, in order (those no tool answer can give,
        a question of the server's own, are answered ``cancelled`` later)."""
        found = (interrupt_request(interrupt, messages) for interrupt in self.interrupts)
        return [request for request in found if request is not None]

    def answers(self, messages: Sequence[UIMessage]) -> list[ResumeEntry]:
        """The ``resume`` entries the conversation gives now, one per interrupt."""
        return [_answer(interrupt, messages) for interrupt in self.interrupts if interrupt.id]

    def tanstack_calls(self) -> list[str]:
        """The calls TanStack asked about (its interrupts say ``metadata.kind``): their tool
        messages are written the 0.33 way from now on."""
        return [
            i.tool_call_id
            for i in self.interrupts
            if i.tool_call_id is not None and "kind" in (i.metadata or {})
        ]


def _answer(interrupt: Interrupt, messages: Sequence[UIMessage]) -> ResumeEntry:
    assert interrupt.id is not None
    cancelled = ResumeEntry(interrupt.id, "cancelled")
    kind = interrupt_kind(interrupt)
    found = newest_tool_call(messages, interrupt.tool_call_id) if interrupt.tool_call_id else None
    if kind is None or found is None:
        return cancelled  # no tool answer, or the call is gone (reload(), set_messages())
    message, part = found
    if kind == "approval":
        approval = part.approval
        if approval is None or approval.approved is None:
            return cancelled
        return ResumeEntry(interrupt.id, "resolved", {"approved": approval.approved})
    if not is_answered(message, part):
        return cancelled
    # The output; {"error": text} for a failed call, as the 0.33 client sends it.
    return ResumeEntry(interrupt.id, "resolved", part.output)


def is_answered(message: UIMessage, part: ToolCallPart) -> bool:
    """Whether the call has an output, or a tool-result part in its message."""
    return part.has_output or any(
        isinstance(p, ToolResultPart) and p.tool_call_id == part.id for p in message.parts
    )
