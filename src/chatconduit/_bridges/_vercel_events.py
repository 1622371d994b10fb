"""Vercel AI SDK UI message stream chunks (AI SDK 5, 6 and 7) → AG-UI event dicts.

One UI message stream is one assistant reply: its ``start`` names the message, and
every text, reasoning and tool part lands in that one message, as ``useChat`` shows it.

=====================================  =================================================
chunk                                  events
=====================================  =================================================
``start``                              RUN_STARTED (once)
``text-start`` / ``-delta`` / ``-end``   TEXT_MESSAGE_START / _CONTENT / _END
``reasoning-start`` / ``-delta`` / ``-end``  REASONING_START + REASONING_MESSAGE_START /
                                       REASONING_MESSAGE_CONTENT / REASONING_MESSAGE_END +
                                       REASONING_END
``tool-input-start`` / ``-delta``        TOOL_CALL_START / TOOL_CALL_ARGS
``tool-input-available``               TOOL_CALL_END with ``input`` (START and ARGS first
                                       when no ``tool-input-start`` came)
``tool-input-error``                   TOOL_CALL_END, then a TOOL_CALL_RESULT holding the error
``tool-output-available`` / ``-error``   TOOL_CALL_RESULT (output as JSON / ``{"error"}``)
``tool-output-denied``                 TOOL_CALL_RESULT ``{"error": "denied"}``
``tool-approval-request``              CUSTOM ``approval-requested`` (what ChatClient's
                                       approvals read)
``data-*``, ``message-metadata``,      CUSTOM named after the chunk type (``value``: the
``source-*``, ``file``, ``custom``,    chunk without its ``type``)
``tool-approval-response``,
``reasoning-file``, ``reset-step``
``finish``                             RUN_FINISHED (``finishReason`` in AG-UI spelling)
``error``                              RUN_ERROR ``errorText``
``abort``                              RUN_ERROR ``code: "abort"``: the server stopped it
``start-step`` / ``finish-step``         nothing (a step boundary carries no content)
=====================================  =================================================

A tool call whose tool is one of the client's (declared in the request) and that gets
no output is a client tool call: ``ChatClient`` runs it and sends the result back in
the next request (``_vercel_body``). Unknown chunk types are ignored, as the AI SDK's
own reader would fail on them: a stream of nothing but unknown chunks is reported by
the response reader as not being this protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from .._ids import generate_id, now_ms

__all__ = ["VercelChunkMapper"]

# AI SDK finish reasons in AG-UI / TanStack spelling.
_FINISH_REASONS = {"tool-calls": "tool_calls", "content-filter": "content_filter"}

# Chunks carried through as CUSTOM events, named after their type.
_CUSTOM_CHUNKS = frozenset(
    {
        "message-metadata",
        "source-url",
        "source-document",
        "file",
        "custom",
        "tool-approval-response",
        "reasoning-file",
        "reset-step",
    }
)


class VercelChunkMapper:
    """The chunks of one response → event dicts (see the module docstring)."""

    def __init__(self, *, thread_id: str, run_id: str) -> None:
        self._ids = {"threadId": thread_id, "runId": run_id}
        self._message_id = generate_id("msg")  # until a ``start`` chunk names it
        self._started = False
        self._finished = False
        self._text_open: set[str] = set()
        self._reasoning_open: set[str] = set()
        self._calls: dict[str, str] = {}  # tool call id -> tool name, for calls started
        self._ended_calls: set[str] = set()
        self._answered: set[str] = set()  # calls with an output (or an error)

    # -- helpers ----------------------------------------------------------------------------

    def _run_started(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [{"type": "RUN_STARTED", **self._ids, "timestamp": now_ms()}]

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, **fields}

    def _start_call(self, call_id: str, name: str) -> list[dict[str, Any]]:
        if call_id in self._calls:
            return []
        self._calls[call_id] = name
        return [
            self._event(
                "TOOL_CALL_START",
                toolCallId=call_id,
                toolCallName=name,
                parentMessageId=self._message_id,
            )
        ]

    def _result(self, call_id: str, content: Any) -> dict[str, Any]:
        self._answered.add(call_id)
        text = content if isinstance(content, str) else _json.dumps(content)
        return self._event(
            "TOOL_CALL_RESULT",
            toolCallId=call_id,
            messageId=generate_id("tool"),
            content=text,
            role="tool",
        )

    # -- the mapping ------------------------------------------------------------------------

    def chunk(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        kind = chunk.get("type")
        if not isinstance(kind, str):
            return []
        handler = _HANDLERS.get(kind)
        if handler is not None:
            out = self._run_started()
            return out + handler(self, chunk)
        if kind.startswith("data-") or kind in _CUSTOM_CHUNKS:
            value = {key: item for key, item in chunk.items() if key != "type"}
            if kind.startswith("data-") and "data" in chunk and set(value) <= {"data", "id"}:
                value = chunk["data"]
            return [*self._run_started(), self._event("CUSTOM", name=kind, value=value)]
        return []

    def end(self) -> list[dict[str, Any]]:
        """Close what the stream left open (a stream cut short after ``[DONE]``)."""
        out: list[dict[str, Any]] = []
        out += [
            self._event("TEXT_MESSAGE_END", messageId=self._message_id) for _ in self._text_open
        ]
        self._text_open.clear()
        for part_id in sorted(self._reasoning_open):
            out += self._close_reasoning(part_id)
        return out

    def _start(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        message_id = chunk.get("messageId")
        if isinstance(message_id, str) and message_id:
            self._message_id = message_id
        metadata = chunk.get("messageMetadata")
        if metadata is not None:
            return [self._event("CUSTOM", name="message-metadata", value=metadata)]
        return []

    def _text_start(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._text_open.add(str(chunk.get("id")))
        return [self._event("TEXT_MESSAGE_START", messageId=self._message_id, role="assistant")]

    def _text_delta(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = chunk.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        out = []
        if str(chunk.get("id")) not in self._text_open:  # a delta without its start
            out = self._text_start(chunk)
        return [*out, self._event("TEXT_MESSAGE_CONTENT", messageId=self._message_id, delta=delta)]

    def _text_end(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        part_id = str(chunk.get("id"))
        if part_id not in self._text_open:
            return []
        self._text_open.discard(part_id)
        return [self._event("TEXT_MESSAGE_END", messageId=self._message_id)]

    def _reasoning_start(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        part_id = str(chunk.get("id"))
        self._reasoning_open.add(part_id)
        reasoning_id = f"{self._message_id}-reasoning-{part_id}"
        return [
            self._event("REASONING_START", messageId=reasoning_id),
            self._event("REASONING_MESSAGE_START", messageId=reasoning_id, role="reasoning"),
        ]

    def _reasoning_delta(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = chunk.get("delta")
        part_id = str(chunk.get("id"))
        if not isinstance(delta, str) or not delta:
            return []
        out = [] if part_id in self._reasoning_open else self._reasoning_start(chunk)
        reasoning_id = f"{self._message_id}-reasoning-{part_id}"
        return [*out, self._event("REASONING_MESSAGE_CONTENT", messageId=reasoning_id, delta=delta)]

    def _reasoning_end(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        part_id = str(chunk.get("id"))
        if part_id not in self._reasoning_open:
            return []
        return self._close_reasoning(part_id)

    def _close_reasoning(self, part_id: str) -> list[dict[str, Any]]:
        self._reasoning_open.discard(part_id)
        reasoning_id = f"{self._message_id}-reasoning-{part_id}"
        return [
            self._event("REASONING_MESSAGE_END", messageId=reasoning_id),
            self._event("REASONING_END", messageId=reasoning_id),
        ]

    def _tool_input_start(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._start_call(str(chunk.get("toolCallId")), str(chunk.get("toolName") or ""))

    def _tool_input_delta(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        call_id = str(chunk.get("toolCallId"))
        delta = chunk.get("inputTextDelta")
        if call_id not in self._calls or not isinstance(delta, str) or not delta:
            return []
        return [self._event("TOOL_CALL_ARGS", toolCallId=call_id, delta=delta)]

    def _tool_input_available(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        call_id = str(chunk.get("toolCallId"))
        streamed = call_id in self._calls
        out = self._start_call(call_id, str(chunk.get("toolName") or ""))
        tool_input = chunk.get("input")
        if not streamed:
            out.append(
                self._event("TOOL_CALL_ARGS", toolCallId=call_id, delta=_json.dumps(tool_input))
            )
        if call_id not in self._ended_calls:
            self._ended_calls.add(call_id)
            out.append(self._event("TOOL_CALL_END", toolCallId=call_id, input=tool_input))
        return out

    def _tool_input_error(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        call_id = str(chunk.get("toolCallId"))
        out = self._tool_input_available(chunk)
        return [*out, self._result(call_id, {"error": str(chunk.get("errorText") or "")})]

    def _tool_output_available(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self._result(str(chunk.get("toolCallId")), chunk.get("output"))]

    def _tool_output_error(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        error = str(chunk.get("errorText") or "")
        return [self._result(str(chunk.get("toolCallId")), {"error": error})]

    def _tool_output_denied(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self._result(str(chunk.get("toolCallId")), {"error": "denied"})]

    def _tool_approval_request(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        call_id = str(chunk.get("toolCallId"))
        value = {
            "toolCallId": call_id,
            "toolName": self._calls.get(call_id),
            "approval": {"id": str(chunk.get("approvalId")), "needsApproval": True},
        }
        return [self._event("CUSTOM", name="approval-requested", value=value)]

    def _finish(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        if self._finished:
            return []
        self._finished = True
        out = self.end()
        metadata = chunk.get("messageMetadata")
        if metadata is not None:
            out.append(self._event("CUSTOM", name="message-metadata", value=metadata))
        reason = chunk.get("finishReason")
        if not isinstance(reason, str):  # AI SDK 5 sends none
            open_calls = set(self._calls) - self._answered
            reason = "tool-calls" if open_calls else "stop"
        out.append(
            self._event(
                "RUN_FINISHED",
                **self._ids,
                finishReason=_FINISH_REASONS.get(reason, reason),
                timestamp=now_ms(),
            )
        )
        return out

    def _error(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._finished = True
        text = chunk.get("errorText")
        message = text if isinstance(text, str) and text else "the Vercel AI SDK stream failed"
        return [*self.end(), self._event("RUN_ERROR", **self._ids, message=message)]

    def _abort(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._finished = True
        reason = chunk.get("reason")
        message = "the server aborted the stream"
        if isinstance(reason, str) and reason:
            message += f": {reason}"
        return [*self.end(), self._event("RUN_ERROR", **self._ids, message=message, code="abort")]

    def _nothing(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        return []


_HANDLERS = {
    "start": VercelChunkMapper._start,
    "start-step": VercelChunkMapper._nothing,
    "finish-step": VercelChunkMapper._nothing,
    "text-start": VercelChunkMapper._text_start,
    "text-delta": VercelChunkMapper._text_delta,
    "text-end": VercelChunkMapper._text_end,
    "reasoning-start": VercelChunkMapper._reasoning_start,
    "reasoning-delta": VercelChunkMapper._reasoning_delta,
    "reasoning-end": VercelChunkMapper._reasoning_end,
    "tool-input-start": VercelChunkMapper._tool_input_start,
    "tool-input-delta": VercelChunkMapper._tool_input_delta,
    "tool-input-available": VercelChunkMapper._tool_input_available,
    "tool-input-error": VercelChunkMapper._tool_input_error,
    "tool-output-available": VercelChunkMapper._tool_output_available,
    "tool-output-error": VercelChunkMapper._tool_output_error,
    "tool-output-denied": VercelChunkMapper._tool_output_denied,
    "tool-approval-request": VercelChunkMapper._tool_approval_request,
    "finish": VercelChunkMapper._finish,
    "error": VercelChunkMapper._error,
    "abort": VercelChunkMapper._abort,
}
