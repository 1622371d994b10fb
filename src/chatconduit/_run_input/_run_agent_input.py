"""The typed result of request validation: :class:`RunAgentInput` and the values it holds.

:class:`RunAgentInput` is a validated request body: its messages (UIMessages or dicts),
tools, :class:`ContextItem`\\ s, and, with an answer to a paused run, one
:class:`ResumeEntry` per interrupt. ``role: "reasoning"`` history messages stay in
``messages`` as dicts and are also offered typed as :class:`ReasoningMessage`\\ s
(:attr:`RunAgentInput.reasoning`). The interrupts an agent pauses a run with are
methods here (:meth:`RunAgentInput.client_tool_interrupt`,
:meth:`RunAgentInput.approval_interrupt`, :meth:`RunAgentInput.interrupt_run`, built by
:mod:`._interrupts`), because the run they name and the answers that come back both
live on :class:`RunAgentInput`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._messages import ModelMessage, UIMessage
from ._interrupts import approval_interrupt, client_tool_interrupt, interrupt_run_event
from ._request_body import ToolSpec


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One AG-UI context entry (``{description, value}``)."""

    description: str
    value: str


@dataclass(frozen=True, slots=True)
class ResumeEntry:
    """One answer to an interrupt of the paused run (AG-UI ``resume[]``).

    ``status`` is ``"resolved"`` (``payload`` holds the answer: a client tool's output,
    ``{"approved": bool, "editedArgs"?: {...}}`` for an approval) or ``"cancelled"``
    (the user dismissed it; ``payload`` is usually ``None``). ``payload`` is ``None``
    when the client sent none (or ``null``).
    """

    interrupt_id: str
    status: Literal["resolved", "cancelled"]
    payload: Any = None
    metadata: Mapping[str, Any] | None = None

    @property
    def approved(self) -> bool | None:
        """For an approval: ``True``/``False`` as the user decided, ``None`` when
        cancelled or when the payload carries no boolean ``approved``."""
        if self.status != "resolved" or not isinstance(self.payload, Mapping):
            return None
        decision = self.payload.get("approved")
        return decision if isinstance(decision, bool) else None


@dataclass(frozen=True, slots=True)
class ReasoningMessage:
    """A ``role: "reasoning"`` history message: the thinking of an earlier answer.

    TanStack (0.10 and 0.33) sends each thinking part of an assistant message as a
    separate message right before it, ``{id, role: "reasoning", content,
    encryptedValue?}``; ``encryptedValue`` is the provider's signature of that thinking
    (what a model needs to continue from it). ``assistant_id`` is the id of the next
    assistant message in the list, the one this thinking belongs to (``None`` when
    none follows). The dict form stays in :attr:`RunAgentInput.messages`.
    """

    id: str
    content: str
    encrypted_value: str | None = None
    metadata: Mapping[str, Any] | None = None
    assistant_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunAgentInput:
    """A validated request body.

    ``messages`` is what the reference's ``chatParamsFromRequestBody`` returns:
    a :class:`UIMessage` where the request carried valid ``parts``, otherwise the
    AG-UI message as a dict of its known keys. ``model_messages`` is the same
    conversation flattened for an LLM (fan-out duplicates removed, reference §6.3).
    ``legacy`` tells that the body was the pre-AG-UI ``{messages, data}`` shape.

    ``parent_run_id`` and ``resume`` come with an answer to a paused run: the run that
    paused, and one :class:`ResumeEntry` per interrupt it paused with.
    ``protocol_version`` is what the client declared (``"1.0"`` from AG-UI 1.0 clients).
    """

    thread_id: str
    run_id: str
    parent_run_id: str | None
    state: Any
    messages: list[UIMessage | dict[str, Any]]
    tools: list[ToolSpec]
    context: list[ContextItem]
    forwarded_props: Any
    model_messages: list[ModelMessage] = field(default_factory=list)
    legacy: bool = False
    resume: tuple[ResumeEntry, ...] = ()
    protocol_version: str | None = None

    @property
    def ui_messages(self) -> list[UIMessage]:
        """The messages that arrived with ``parts``, in order."""
        return [m for m in self.messages if isinstance(m, UIMessage)]

    @property
    def reasoning(self) -> list[ReasoningMessage]:
        """The ``role: "reasoning"`` messages, typed, each with the assistant it precedes."""
        found: list[ReasoningMessage] = []
        waiting: list[int] = []  # reasoning entries not yet followed by an assistant
        for message in self.messages:
            role = message.role if isinstance(message, UIMessage) else message.get("role")
            if role == "assistant":
                assistant_id = message.id if isinstance(message, UIMessage) else message.get("id")
                for index in waiting:
                    entry = found[index]
                    found[index] = ReasoningMessage(
                        entry.id,
                        entry.content,
                        entry.encrypted_value,
                        entry.metadata,
                        assistant_id if isinstance(assistant_id, str) else None,
                    )
                waiting = []
            elif role == "reasoning" and isinstance(message, Mapping):
                metadata = message.get("metadata")
                waiting.append(len(found))
                found.append(
                    ReasoningMessage(
                        id=str(message.get("id", "")),
                        content=str(message.get("content") or ""),
                        encrypted_value=message.get("encryptedValue"),
                        metadata=metadata if isinstance(metadata, Mapping) else None,
                    )
                )
        return found

    def resumed(self, interrupt_id: str) -> ResumeEntry | None:
        """The answer this request carries for ``interrupt_id``, if any."""
        return next((e for e in self.resume if e.interrupt_id == interrupt_id), None)

    # --- pausing the run: interrupts (TanStack 0.58 / AG-UI 1.0 shape) ---------------

    def client_tool_interrupt(
        self, tool_call_id: str, tool_name: str, input: Any
    ) -> dict[str, Any]:
        """The interrupt asking the client to run its tool ``tool_name`` with ``input``.

        Exactly what TanStack 0.58 sends (``id: "client_tool_<toolCallId>"``, reason
        ``tanstack:client_tool_execution`` and its resume binding), so a 0.33 client runs
        the tool and answers with ``resume``; end the run with :meth:`interrupt_run`.
        """
        return client_tool_interrupt(self.run_id, tool_call_id, tool_name, input)

    def approval_interrupt(
        self,
        tool_call_id: str,
        tool_name: str,
        input: Any,
        *,
        input_schema: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """The interrupt asking the user to approve the call of ``tool_name`` (reason
        ``tool_call``, ``id: "approval_<toolCallId>"``), as TanStack 0.58 sends it.

        ``input_schema`` is the tool's JSON Schema: it lets the user edit the arguments
        (``editedArgs``) and lets a client that declares the same tool with
        ``needsApproval`` bind the interrupt as a typed approval. The answer arrives as
        a :class:`ResumeEntry` (``resumed("approval_<toolCallId>").approved``) and, from
        TanStack clients, also as a tool message ``{"approved": ..., ...}``.
        """
        return approval_interrupt(
            self.run_id, tool_call_id, tool_name, input, input_schema=input_schema, message=message
        )

    def interrupt_run(
        self, interrupts: Iterable[Mapping[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        """The RUN_FINISHED that pauses this run on ``interrupts`` (yield it last).

        ``fields`` are added before ``finishReason`` (``model``, ``timestamp``, ``usage``,
        ...). In the current dialect it is sent as is (``outcome: {type: "interrupt"}``);
        for TanStack 0.10 clients the server turns each interrupt into the CUSTOM
        ``tool-input-available`` / ``approval-requested`` event they understand.
        """
        return interrupt_run_event(self.run_id, self.thread_id, interrupts, **fields)
