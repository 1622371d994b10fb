"""Our agents' events → Vercel AI SDK UI message stream chunks (AI SDK 5-7), for a
``useChat`` front end served by chatconduit.

One run is one assistant message: ``start`` (with a message id) and ``start-step``
open it, ``finish-step`` and ``finish`` close it, then the stream ends with ``[DONE]``.
Text and reasoning segments become ``text-*`` / ``reasoning-*`` parts (TanStack's
thinking steps included), tool calls ``tool-input-start`` / ``-delta`` /
``-available``, results ``tool-output-available``, approval requests (CUSTOM
``approval-requested`` or an interrupt outcome) ``tool-approval-request``, a RUN_ERROR
``error``; other CUSTOM events become ``data-<name>`` parts. Events with nothing to
show (state, steps, activity) are left out: the UI message stream has no place for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._ids import generate_id

__all__ = ["VERCEL_HEADERS", "VercelChunkEncoder"]

VERCEL_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}

_FINISH_REASONS = {"tool_calls": "tool-calls", "content_filter": "content-filter"}
_VERCEL_FINISH = frozenset({"stop", "length", "content-filter", "tool-calls", "error", "other"})


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return text


class VercelChunkEncoder:
    """Events (as dicts, camelCase) → chunk dicts; remembers what is open."""

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._text: str | None = None  # the open text part's id
        self._reasoning: str | None = None  # the open reasoning part's id
        self._calls: dict[str, dict[str, Any]] = {}  # id -> {name, args, ended}
        self._in_step = False
        # A RUN_FINISHED may be intermediate (server tools ran, the agent goes on): the
        # step ends there, the message only at the end of the stream (see end()).
        self._reason: Any = None

    def _open(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            out.append({"type": "start", "messageId": generate_id("msg")})
        if not self._in_step:
            self._in_step = True
            out.append({"type": "start-step"})
        return out

    def _close_text(self) -> list[dict[str, Any]]:
        if self._text is None:
            return []
        part_id, self._text = self._text, None
        return [{"type": "text-end", "id": part_id}]

    def _close_reasoning(self) -> list[dict[str, Any]]:
        if self._reasoning is None:
            return []
        part_id, self._reasoning = self._reasoning, None
        return [{"type": "reasoning-end", "id": part_id}]

    def _text_delta(self, part_id: str, delta: Any) -> list[dict[str, Any]]:
        out = self._close_reasoning()
        if self._text != part_id:
            out += self._close_text()
            self._text = part_id
            out.append({"type": "text-start", "id": part_id})
        if isinstance(delta, str) and delta:
            out.append({"type": "text-delta", "id": part_id, "delta": delta})
        return out

    def _reasoning_delta(self, part_id: str, delta: Any) -> list[dict[str, Any]]:
        out = self._close_text()
        if self._reasoning != part_id:
            out += self._close_reasoning()
            self._reasoning = part_id
            out.append({"type": "reasoning-start", "id": part_id})
        if isinstance(delta, str) and delta:
            out.append({"type": "reasoning-delta", "id": part_id, "delta": delta})
        return out

    def _call_available(self, call_id: str, tool_input: Any = None) -> list[dict[str, Any]]:
        call = self._calls.get(call_id)
        if call is None or call["ended"]:
            return []
        call["ended"] = True
        value = tool_input if tool_input is not None else _parse(call["args"])
        return [
            {
                "type": "tool-input-available",
                "toolCallId": call_id,
                "toolName": call["name"],
                "input": value,
            }
        ]

    def encode(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The chunks one event stands for."""
        if self._ended:
            return []
        kind = event.get("type")
        if kind in ("RUN_STARTED", "RUN_FINISHED") and self._started:
            out: list[dict[str, Any]] = []  # no new step for the run's own bookends
        else:
            out = self._open()
        if kind in ("TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CHUNK"):
            part_id = str(event.get("messageId") or "text")
            out += self._text_delta(part_id, event.get("delta"))
        elif kind == "TEXT_MESSAGE_END":
            out += self._close_text()
        elif kind in ("REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT"):
            part_id = str(event.get("messageId") or "reasoning")
            out += self._reasoning_delta(part_id, event.get("delta"))
        elif kind in ("REASONING_MESSAGE_END", "REASONING_END"):
            out += self._close_reasoning()
        elif kind == "STEP_STARTED" and event.get("stepType") == "thinking":
            out += self._reasoning_delta(str(event.get("stepId") or "thinking"), None)
        elif kind == "STEP_FINISHED" and isinstance(event.get("delta"), str):
            out += self._reasoning_delta(str(event.get("stepId") or "thinking"), event["delta"])
        elif kind == "TOOL_CALL_START":
            out += self._tool_start(event)
        elif kind == "TOOL_CALL_ARGS":
            call = self._calls.get(str(event.get("toolCallId")))
            delta = event.get("delta")
            if call is not None and isinstance(delta, str) and delta:
                call["args"] += delta
                out.append(
                    {"type": "tool-input-delta", "toolCallId": call["id"], "inputTextDelta": delta}
                )
        elif kind == "TOOL_CALL_END":
            call_id = str(event.get("toolCallId"))
            out += self._call_available(call_id, event.get("input"))
            if event.get("result"):
                out.append(self._output(call_id, event["result"]))
        elif kind == "TOOL_CALL_RESULT":
            call_id = str(event.get("toolCallId"))
            out += self._call_available(call_id)
            out.append(self._output(call_id, event.get("content")))
        elif kind == "CUSTOM":
            out += self._custom(event)
        elif kind == "RUN_FINISHED":
            out += self._finish(event)
        elif kind == "RUN_ERROR":
            self._ended = True
            message = event.get("message") or "the agent failed"
            out += [*self._close_text(), *self._close_reasoning()]
            out.append({"type": "error", "errorText": str(message)})
        return out

    def _tool_start(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = [*self._close_text(), *self._close_reasoning()]
        call_id = str(event.get("toolCallId"))
        name = str(event.get("toolCallName") or event.get("toolName") or "")
        self._calls[call_id] = {"id": call_id, "name": name, "args": "", "ended": False}
        return [*out, {"type": "tool-input-start", "toolCallId": call_id, "toolName": name}]

    def _output(self, call_id: str, content: Any) -> dict[str, Any]:
        return {"type": "tool-output-available", "toolCallId": call_id, "output": _parse(content)}

    def _custom(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = str(event.get("name") or "")
        value = event.get("value")
        if name == "tool-input-available":
            return []  # the call's tool-input-available went out at TOOL_CALL_END
        if name == "approval-requested" and isinstance(value, Mapping):
            approval = value.get("approval")
            approval_id = approval.get("id") if isinstance(approval, Mapping) else None
            call_id = str(value.get("toolCallId"))
            return [
                *self._call_available(call_id, value.get("input")),
                {
                    "type": "tool-approval-request",
                    "approvalId": str(approval_id),
                    "toolCallId": call_id,
                },
            ]
        return [{"type": f"data-{name or 'custom'}", "data": value}]

    def _finish(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = [*self._close_text(), *self._close_reasoning()]
        for call_id in list(self._calls):
            out += self._call_available(call_id)
        outcome = event.get("outcome")
        if isinstance(outcome, Mapping) and outcome.get("type") == "interrupt":
            for interrupt in outcome.get("interrupts") or ():
                if isinstance(interrupt, Mapping) and interrupt.get("toolCallId"):
                    out.append(
                        {
                            "type": "tool-approval-request",
                            "approvalId": str(interrupt.get("id")),
                            "toolCallId": str(interrupt["toolCallId"]),
                        }
                    )
        reason = event.get("finishReason")
        reason = _FINISH_REASONS.get(str(reason), reason)
        out.append({"type": "finish-step"})
        finish: dict[str, Any] = {"type": "finish"}
        if reason in _VERCEL_FINISH:
            finish["finishReason"] = reason
        out.append(finish)
        self._ended = True
        return out

    def end(self) -> list[dict[str, Any]]:
        """What closes a stream whose agent stopped without RUN_FINISHED."""
        if self._ended:
            return []
        self._ended = True
        return [
            *self._open(),
            *self._close_text(),
            *self._close_reasoning(),
            {"type": "finish-step"},
            {"type": "finish"},
        ]
