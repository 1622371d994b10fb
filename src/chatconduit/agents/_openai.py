"""An agent backed by any OpenAI-compatible ``/chat/completions`` endpoint.

It serves a real model (OpenAI, or a local server such as llama.cpp, vLLM or
Ollama's OpenAI API) behind chatconduit's server helpers; it needs ``httpx`` only,
not Starlette. Nothing in the test-suite needs a network: the tests run it
against a local fake upstream.

Mapping of the upstream stream (``stream: true``) to AG-UI / TanStack events:

* ``delta.content``                -> TEXT_MESSAGE_START / _CONTENT / _END
* ``delta.reasoning_content`` (or ``reasoning``) -> thinking (STEP_STARTED / STEP_FINISHED)
* ``delta.tool_calls``             -> TOOL_CALL_START / TOOL_CALL_ARGS, and at the end
  TOOL_CALL_END with the parsed ``input`` plus a ``tool-input-available`` CUSTOM event:
  the tools are the client's (from the request), so the client runs them and sends
  the results back, exactly as with TanStack's own server;
* the final ``usage`` chunk        -> ``RUN_FINISHED.usage``.

An upstream HTTP error raises :class:`~chatconduit.HTTPStatusError` (the client
sees ``Upstream service error`` with the status as its code); an unreachable
upstream raises a :class:`~chatconduit.server.UserFacingError`. The API key is
only ever put in the ``Authorization`` header, never in a repr, log or error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from .._codec import DONE_TEXT, SSEDecoder
from .._exceptions import HTTPStatusError, UserFacingError
from .._ids import now_ms
from .._messages import DataSource, ImagePart, ModelMessage, TextPart
from .._redact import redact_headers
from .._run_input import RunAgentInput

__all__ = ["OpenAICompatibleAgent", "to_openai_messages"]

_ERROR_BODY_LIMIT = 2048


def _content(message: ModelMessage) -> str | list[dict[str, Any]] | None:
    if message.content is None or isinstance(message.content, str):
        return message.content
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.content})
        elif isinstance(part, ImagePart):
            source = part.source
            url = (
                f"data:{source.mime_type};base64,{source.value}"
                if isinstance(source, DataSource)
                else source.value
            )
            out.append({"type": "image_url", "image_url": {"url": url}})
        else:  # audio/video/documents: not part of the common chat-completions API
            out.append({"type": "text", "text": f"[{part.type} omitted]"})
    return out


def to_openai_messages(
    messages: list[ModelMessage], system_prompt: str | None = None
) -> list[dict[str, Any]]:
    """Model messages in the chat-completions request shape."""
    out: list[dict[str, Any]] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    for message in messages:
        entry: dict[str, Any] = {"role": message.role, "content": _content(message)}
        if message.role == "tool":
            entry["tool_call_id"] = message.tool_call_id or ""
            if entry["content"] is None:
                entry["content"] = ""
        if message.tool_calls:
            entry["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in message.tool_calls
            ]
        out.append(entry)
    return out


class OpenAICompatibleAgent:
    """``agent(params, request)`` streaming from ``{base_url}/chat/completions``."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        system_prompt: str | None = None,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.system_prompt = system_prompt
        self.timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"OpenAICompatibleAgent(base_url={self.base_url!r}, model={self.model!r}, key={key})"

    def _request_body(self, params: RunAgentInput) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(params.model_messages, self.system_prompt),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description or "",
                        "parameters": tool.parameters or {"type": "object"},
                    },
                }
                for tool in params.tools
            ]
        return body

    def __call__(
        self, params: RunAgentInput, request: object = None
    ) -> AsyncIterator[dict[str, Any]]:
        return self.run(params)

    async def run(self, params: RunAgentInput) -> AsyncIterator[dict[str, Any]]:
        """The events of one run (see the module docstring)."""
        ids = {"runId": params.run_id, "threadId": params.thread_id}
        yield {"type": "RUN_STARTED", **ids, "model": self.model, "timestamp": now_ms()}
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        url = f"{self.base_url}/chat/completions"
        state = _State(params.run_id, self.model)
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
            try:
                async with client.stream(
                    "POST", url, json=self._request_body(params), headers=headers
                ) as response:
                    if response.status_code >= 400:
                        raise await _status_error(response, url)
                    decoder = SSEDecoder()
                    async for data in response.aiter_bytes():
                        for message in decoder.feed(data):
                            if message.data.strip() == DONE_TEXT:
                                state.done = True
                                break
                            for event in state.chunk(json.loads(message.data)):
                                yield event
                        if state.done:
                            break
            except httpx.TransportError as exc:
                raise UserFacingError(
                    "The model service could not be reached.", "upstream_unreachable"
                ) from exc
        for event in state.finish():
            yield event
        yield {
            "type": "RUN_FINISHED",
            **ids,
            "model": self.model,
            "timestamp": now_ms(),
            "finishReason": state.finish_reason(),
            **({"usage": state.usage} if state.usage else {}),
        }


async def _status_error(response: httpx.Response, url: str) -> HTTPStatusError:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > _ERROR_BODY_LIMIT:
            break
    return HTTPStatusError(
        response.status_code,
        response.reason_phrase,
        url=url,
        headers=redact_headers(response.headers.items()),
        body=body[:_ERROR_BODY_LIMIT].decode("utf-8", "replace"),
        body_truncated=len(body) > _ERROR_BODY_LIMIT,
    )


class _State:
    """Turns upstream chunks into events, remembering what is open."""

    def __init__(self, run_id: str, model: str) -> None:
        self.run_id = run_id
        self.model = model
        self.text_id: str | None = None
        self.text_count = 0
        self.step_id: str | None = None
        self.thought = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False  # the upstream sent [DONE]

    def _event(self, type_: str, head: Mapping[str, Any], **payload: Any) -> dict[str, Any]:
        return {"type": type_, **head, "model": self.model, "timestamp": now_ms(), **payload}

    def _close_text(self) -> list[dict[str, Any]]:
        if self.text_id is None:
            return []
        event = self._event("TEXT_MESSAGE_END", {"messageId": self.text_id})
        self.text_id = None
        return [event]

    def chunk(self, chunk: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not isinstance(chunk, Mapping):
            return out
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

    def finish(self) -> list[dict[str, Any]]:
        out = self._close_text()
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
        return out

    def finish_reason(self) -> str:
        if self.calls:
            return "tool_calls"
        if self.reason in ("stop", "length", "content_filter", "tool_calls"):
            return self.reason
        return "stop"
