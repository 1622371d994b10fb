"""OpenAI-compatible ``/chat/completions`` stream chunks (``stream: true``) → AG-UI event dicts.

The one mapping both sides use: the client adapter (``openai_chat_completions``) and the
server-side :class:`~chatconduit.agents.OpenAICompatibleAgent`.

* ``delta.content``                -> TEXT_MESSAGE_START / _CONTENT / _END
* ``delta.reasoning_content`` (or ``reasoning``, as vLLM, DeepSeek and OpenRouter
  spell it) -> thinking (STEP_STARTED / STEP_FINISHED, the thinking step TanStack reads)
* ``delta.tool_calls``             -> TOOL_CALL_START / TOOL_CALL_ARGS (the id and name
  arrive with the first piece of a call, later pieces carry only ``index`` and more
  argument text), and at the end TOOL_CALL_END with the parsed ``input`` plus a
  ``tool-input-available`` CUSTOM event: the tools are the client's, so the client
  runs them and sends the results back as ``tool`` messages;
* ``finish_reason``                -> ``RUN_FINISHED.finishReason``;
* the ``usage`` chunk (a final chunk with no choices, ``stream_options.include_usage``)
  -> ``RUN_FINISHED.usage``;
* an ``{"error": {...}}`` chunk (how OpenAI, vLLM and LiteLLM report a failure after
  the stream began) -> RUN_ERROR with its message and code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._ids import now_ms

__all__ = ["OpenAIChunkMapper"]


class OpenAIChunkMapper:
    """Upstream chunks → events, remembering what is open. ``start()`` opens the run,
    ``chunk()`` maps each chunk, ``end()`` closes it (RUN_FINISHED, unless it failed)."""

    def __init__(self, *, thread_id: str, run_id: str, model: str) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.model = model
        self.text_id: str | None = None
        self.text_count = 0
        self.step_id: str | None = None
        self.thought = ""
        self.calls: dict[Any, dict[str, str]] = {}
        self.reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.failed = False
        self._started = False
        self._ended = False

    def _event(self, type_: str, head: Mapping[str, Any], **payload: Any) -> dict[str, Any]:
        return {"type": type_, **head, "model": self.model, "timestamp": now_ms(), **payload}

    @property
    def _ids(self) -> dict[str, str]:
        return {"runId": self.run_id, "threadId": self.thread_id}

    def start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._event("RUN_STARTED", self._ids)]

    def _close_text(self) -> list[dict[str, Any]]:
        if self.text_id is None:
            return []
        event = self._event("TEXT_MESSAGE_END", {"messageId": self.text_id})
        self.text_id = None
        return [event]

    def chunk(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self.start()
        if self.failed:
            return out
        error = chunk.get("error")
        if isinstance(error, Mapping | str):
            return out + self._error(error)
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = {
                "promptTokens": usage.get("prompt_tokens", 0),
                "completionTokens": usage.get("completion_tokens", 0),
                "totalTokens": usage.get("total_tokens", 0),
            }
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            return out
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            return out
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            if self.step_id is None:
                self.step_id = f"step-{self.run_id}-1"
                step = {"stepName": self.step_id, "stepId": self.step_id}
                out.append(self._event("STEP_STARTED", step, stepType="thinking"))
            self.thought += thinking
            step = {"stepName": self.step_id, "stepId": self.step_id}
            out.append(self._event("STEP_FINISHED", step, delta=thinking, content=self.thought))
        text = delta.get("content")
        if isinstance(text, str) and text:
            if self.text_id is None:
                self.text_count += 1
                self.text_id = f"msg-{self.run_id}-{self.text_count}"
                out.append(
                    self._event("TEXT_MESSAGE_START", {"messageId": self.text_id}, role="assistant")
                )
            out.append(self._event("TEXT_MESSAGE_CONTENT", {"messageId": self.text_id}, delta=text))
        for call in delta.get("tool_calls") or ():
            if isinstance(call, Mapping):
                out += self._tool_call_delta(call)
        return out

    def _error(self, error: Mapping[str, Any] | str) -> list[dict[str, Any]]:
        self.failed = True
        message = error if isinstance(error, str) else str(error.get("message") or error)
        code = None if isinstance(error, str) else error.get("code") or error.get("type")
        extra = {"code": str(code)} if code is not None else {}
        return [*self._close_text(), self._event("RUN_ERROR", self._ids, message=message, **extra)]

    def _tool_call_delta(self, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        index = call.get("index", 0)
        raw_function = call.get("function")
        function: Mapping[str, Any] = raw_function if isinstance(raw_function, Mapping) else {}
        known = self.calls.get(index)
        if known is None:
            out += self._close_text()
            call_id = str(call.get("id") or f"call-{self.run_id}-{index}")
            name = str(function.get("name") or "")
            known = self.calls[index] = {"id": call_id, "name": name, "args": ""}
            head = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
            out.append(self._event("TOOL_CALL_START", head, index=len(self.calls) - 1))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            known["args"] += arguments
            out.append(
                self._event(
                    "TOOL_CALL_ARGS",
                    {"toolCallId": known["id"]},
                    delta=arguments,
                    args=known["args"],
                )
            )
        return out

    def end(self) -> list[dict[str, Any]]:
        """Close the text, end each tool call, then RUN_FINISHED (nothing after a RUN_ERROR)."""
        if self._ended:
            return []
        self._ended = True
        out = self.start() + self._close_text()
        if self.failed:
            return out
        for call in self.calls.values():
            try:
                parsed = json.loads(call["args"]) if call["args"].strip() else {}
            except ValueError:
                parsed = {}
            head = {
                "toolCallId": call["id"],
                "toolCallName": call["name"],
                "toolName": call["name"],
            }
            out.append(self._event("TOOL_CALL_END", head, input=parsed))
            value = {"toolCallId": call["id"], "toolName": call["name"], "input": parsed}
            out.append(self._event("CUSTOM", {"name": "tool-input-available", "value": value}))
        usage = {"usage": self.usage} if self.usage else {}
        out.append(
            self._event("RUN_FINISHED", self._ids, finishReason=self.finish_reason(), **usage)
        )
        return out

    def finish_reason(self) -> str:
        if self.calls:
            return "tool_calls"
        if self.reason in ("stop", "length", "content_filter", "tool_calls"):
            return self.reason
        return "stop"
