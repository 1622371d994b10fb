"""The ``"tanstack-0.18"`` dialect: old-style events pass through, new-style ones are downgraded.

``@tanstack/ai-client@0.10`` reads what ``@tanstack/ai@0.18.0`` writes: TanStack extras
at the top level (``model``, ``finishReason``, ``toolName``, the accumulated
``content``/``args``), thinking as ``STEP_STARTED``/``STEP_FINISHED`` deltas, a server
tool's result on a second ``TOOL_CALL_END``, client tools and approvals as CUSTOM
``tool-input-available`` / ``approval-requested`` events. :class:`Tanstack018Dialect`
hands events an agent yields in this style on untouched, byte for byte, and rewrites
only the few current-style shapes that client would miss: ``metadata.tanstack`` extras
(lifted back to the top level) and paused runs (``RUN_FINISHED.outcome.interrupts``,
made into those CUSTOM events). The helpers that read those shapes are here too; the
choice of dialect is in ``_dialect``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from .._events._plain import DELTA_KEYS, PlainDeltas
from .._run_input._interrupts import APPROVAL_REASON, CLIENT_TOOL_REASON

__all__ = ["Tanstack018Dialect"]


# The plain deltas this dialect passes unchanged: text and reasoning, whatever their id. Not
# TOOL_CALL_ARGS: ``convert`` keeps a call's arguments (an interrupt's CUSTOM events need them).
_TEXT_AND_REASONING: PlainDeltas = {
    kind: (DELTA_KEYS[kind], None) for kind in ("TEXT_MESSAGE_CONTENT", "REASONING_MESSAGE_CONTENT")
}


def _tanstack_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metadata = event.get("metadata")
    if isinstance(metadata, Mapping):
        tanstack = metadata.get("tanstack")
        if isinstance(tanstack, Mapping):
            return tanstack
    return None


def _interrupt_kind(interrupt: Mapping[str, Any]) -> str | None:
    """``"client_tool"`` or ``"approval"`` (TanStack's ``metadata.kind``, else the reason)."""
    metadata = interrupt.get("metadata")
    kind = metadata.get("kind") if isinstance(metadata, Mapping) else None
    if kind in ("client_tool", "approval"):
        return str(kind)
    reason = interrupt.get("reason")
    if reason in (CLIENT_TOOL_REASON, "client_tool_input"):
        return "client_tool"
    if reason in (APPROVAL_REASON, "approval_required"):
        return "approval"
    return None


class Tanstack018Dialect:
    """Old-style events pass through as the very same dicts (so byte for byte).

    Two current-style shapes are downgraded, because the 0.10 client would otherwise
    lose them: ``metadata.tanstack`` extras are copied back to the top level (as the
    0.33 client does on arrival), and a RUN_FINISHED pausing on interrupts becomes the
    CUSTOM ``tool-input-available`` / ``approval-requested`` events plus a
    ``finishReason: "tool_calls"`` finish (so does a success leaving
    ``pendingToolCallIds`` to the client, pydantic-ai's frontend tools). Interrupts of
    any other kind (a question without a tool call) have no 0.10 form and are dropped.
    """

    def __init__(self) -> None:
        self.as_is = _TEXT_AND_REASONING
        # Tool calls seen in this stream: an interrupt without TanStack metadata
        # (pydantic-ai's) names only the call, and the CUSTOM events need its name and input.
        self._calls: dict[str, tuple[str | None, str]] = {}

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "TOOL_CALL_START":
            name = event.get("toolCallName") or event.get("toolName")
            call_id = event.get("toolCallId")
            if isinstance(call_id, str):
                self._calls[call_id] = (name if isinstance(name, str) else None, "")
        elif kind == "TOOL_CALL_ARGS":
            call_id, delta = event.get("toolCallId"), event.get("delta")
            if isinstance(call_id, str) and isinstance(delta, str) and call_id in self._calls:
                name, args = self._calls[call_id]
                self._calls[call_id] = (name, args + delta)
        if "metadata" in event:
            event = self._lift(event)
        if kind == "RUN_FINISHED":
            outcome = event.get("outcome")
            if isinstance(outcome, Mapping) and outcome.get("type") == "interrupt":
                return self._downgrade_interrupts(event, outcome)
            pending = outcome.get("pendingToolCallIds") if isinstance(outcome, Mapping) else None
            if isinstance(pending, list) and pending:
                # pydantic-ai's frontend tools: a success that leaves calls to the client.
                calls = [{"toolCallId": c, "reason": CLIENT_TOOL_REASON} for c in pending]
                return self._downgrade_interrupts(event, {"interrupts": calls})
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]

    @staticmethod
    def _lift(event: dict[str, Any]) -> dict[str, Any]:
        """``restoreInboundChunk``: ``metadata.tanstack`` extras back at the top level."""
        tanstack = _tanstack_of(event)
        if not tanstack:
            return event
        lifted = dict(event)
        for key, value in tanstack.items():
            if key not in lifted and key not in ("usage", "interruptErrors"):
                lifted[key] = value
        usage = lifted.get("usage")
        if isinstance(usage, list) and usage and isinstance(usage[0], Mapping):
            first = usage[0]  # the 0.10 shape holds one model's counts
            lifted["usage"] = {
                "promptTokens": first.get("inputTokens", 0),
                "completionTokens": first.get("outputTokens", 0),
                "totalTokens": first.get("totalTokens", 0),
            }
        return lifted

    def _downgrade_interrupts(
        self, event: dict[str, Any], outcome: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        tail: dict[str, Any] = {k: event[k] for k in ("model", "timestamp") if k in event}
        interrupts = outcome.get("interrupts")
        for interrupt in interrupts if isinstance(interrupts, list) else []:
            if not isinstance(interrupt, Mapping):
                continue
            custom = self._custom_for(interrupt)
            if custom is not None:
                out.append({"type": "CUSTOM", **custom, **tail})
        finished = {k: v for k, v in event.items() if k != "outcome"}
        finished.setdefault("finishReason", "tool_calls")
        out.append(finished)
        return out

    def _custom_for(self, interrupt: Mapping[str, Any]) -> dict[str, Any] | None:
        kind = _interrupt_kind(interrupt)
        call_id = interrupt.get("toolCallId")
        if kind is None or not isinstance(call_id, str):
            return None
        metadata = interrupt.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        seen_name, seen_args = self._calls.get(call_id, (None, ""))
        name = metadata.get("toolName", seen_name)
        if "input" in metadata:
            tool_input = metadata["input"]
        else:
            try:
                tool_input = _json.loads(seen_args) if seen_args else {}
            except ValueError:
                tool_input = {}
        value: dict[str, Any] = {"toolCallId": call_id, "toolName": name, "input": tool_input}
        if kind == "client_tool":
            return {"name": "tool-input-available", "value": value}
        value["approval"] = {"id": interrupt.get("id"), "needsApproval": True}
        return {"name": "approval-requested", "value": value}
