"""An agent backed by any OpenAI-compatible ``/chat/completions`` endpoint.

It serves a real model (OpenAI, or a local server such as llama.cpp, vLLM or
Ollama's OpenAI API) behind chatconduit's server helpers; it needs ``httpx`` only,
not Starlette. Nothing in the test-suite needs a network: the tests run it
against a local fake upstream.

The upstream's chunks are mapped to events by the mapping the client adapter
``openai_chat_completions`` uses too (``chatconduit._bridges._openai_events``), and the
request is built by the same code (``_bridges._openai_body``).

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

from .._bridges._openai_body import chat_completions_body, to_openai_messages
from .._bridges._openai_events import OpenAIChunkMapper
from .._codec import DONE_TEXT, SSEDecoder
from .._exceptions import HTTPStatusError, UserFacingError
from .._redact import redact_headers
from .._run_input import RunAgentInput

__all__ = ["OpenAICompatibleAgent", "to_openai_messages"]

_ERROR_BODY_LIMIT = 2048


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
        messages = to_openai_messages(params.model_messages, self.system_prompt)
        return chat_completions_body(self.model, messages, params.tools or ())

    def __call__(
        self, params: RunAgentInput, request: object = None
    ) -> AsyncIterator[dict[str, Any]]:
        return self.run(params)

    async def run(self, params: RunAgentInput) -> AsyncIterator[dict[str, Any]]:
        """The events of one run (see the module docstring)."""
        mapper = OpenAIChunkMapper(
            thread_id=params.thread_id, run_id=params.run_id, model=self.model
        )
        for event in mapper.start():
            yield event
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        url = f"{self.base_url}/chat/completions"
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
            try:
                async with client.stream(
                    "POST", url, json=self._request_body(params), headers=headers
                ) as response:
                    if response.status_code >= 400:
                        raise await _status_error(response, url)
                    decoder = SSEDecoder()
                    done = False
                    async for data in response.aiter_bytes():
                        for message in decoder.feed(data):
                            if message.data.strip() == DONE_TEXT:
                                done = True
                                break
                            chunk = json.loads(message.data)
                            if isinstance(chunk, Mapping):
                                for event in mapper.chunk(chunk):
                                    yield event
                        if done or mapper.failed:
                            break
            except httpx.TransportError as exc:
                raise UserFacingError(
                    "The model service could not be reached.", "upstream_unreachable"
                ) from exc
        for event in mapper.end():
            yield event


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
