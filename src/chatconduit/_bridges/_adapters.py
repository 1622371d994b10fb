"""The bridge adapters: ``vercel_ui_stream`` and ``openai_chat_completions``.

Both are the HTTP pull adapter of ``fetch_server_sent_events`` (same options, retries,
watchdogs, redirects, typed errors, secrets masked) with another request body and
another decoder: a :class:`~chatconduit._connection._content.Wire` tells the response
reader which protocol to expect, so a response of yet another protocol is still a
typed error that names it. ``ChatClient`` uses them like any adapter: client tools run
and the conversation continues with their results, approvals are asked and answered.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import httpx

from .._connection._abort import AbortSignal
from .._connection._content import Wire
from .._connection._http import HTTPStreamAdapter
from .._connection._options import FetchOptions, OptionsInput, UrlInput, merge_headers
from .._connection._protocols import RunContext
from .._connection._request import ACCEPT, Target
from .._connection._stream_run import StreamRun
from .._events import Event
from .._ids import generate_id
from .._redact import redact_url
from .._run_input import generate_run_id, merge_forwarded_props
from ._decoding import ChunkDecoder
from ._openai_body import encode_openai_body
from ._openai_events import OpenAIChunkMapper
from ._vercel_body import encode_vercel_body
from ._vercel_events import VercelChunkMapper

__all__ = [
    "OpenAIChatCompletionsAdapter",
    "VercelUIStreamAdapter",
    "openai_chat_completions",
    "vercel_ui_stream",
]

_OPENAI_KEYS = frozenset({"model", "api_key", "api_key_env", "params", "system_prompt"})


def _extra_body(
    options: FetchOptions, data: Mapping[str, Any] | None, run_context: RunContext | None
) -> dict[str, Any]:
    """What the AG-UI adapter would put in ``forwardedProps``, with its precedence."""
    forwarded = run_context.forwarded_props if run_context is not None else None
    return merge_forwarded_props(options.body, forwarded, data)


class _BridgeAdapter(HTTPStreamAdapter):
    """An HTTP pull adapter speaking another protocol; subclasses say which."""

    _name = "bridge"

    def __init__(self, url: UrlInput, options: OptionsInput = None) -> None:
        super().__init__(url, options, framing="sse")

    def __repr__(self) -> str:
        url = redact_url(self._url) if isinstance(self._url, str | httpx.URL) else "<callable>"
        return f"{self._name}({url!r})"

    def _target(self, body: bytes) -> Target:
        return Target("POST", ACCEPT["sse"], content=body)

    def _run(
        self,
        target: Any,
        wire: Wire,
        abort_signal: AbortSignal | None,
    ) -> AsyncGenerator[Event, None]:
        run = StreamRun(
            framing="sse",
            url=self._url,
            options=self._options,
            target=target,
            abort_signal=abort_signal,
            client_for=self._client_for,
            wire=wire,
        )
        return run.events()

    # These protocols keep no durable runs or threads: without the two capabilities,
    # ChatClient.join_run()/hydrate() refuse with the typed AdapterContractError that
    # names the adapter, as for any adapter lacking them.
    join_run = None  # type: ignore[assignment]
    hydrate = None  # type: ignore[assignment]


class VercelUIStreamAdapter(_BridgeAdapter):
    """A pull adapter for a Vercel AI SDK ``useChat`` backend. Create it with
    :func:`vercel_ui_stream`."""

    _name = "vercel_ui_stream"

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncGenerator[Event, None]:
        """POST the chat as ``DefaultChatTransport`` does and yield its chunks as events."""
        thread_id = run_context.thread_id if run_context is not None else generate_id("chat")
        run_id = run_context.run_id if run_context is not None else generate_run_id("run")

        def target(options: FetchOptions) -> Target:
            extra = _extra_body(options, data, run_context)
            return self._target(encode_vercel_body(messages, chat_id=thread_id, extra=extra))

        def decoder(max_frame_bytes: int) -> ChunkDecoder:
            mapper = VercelChunkMapper(thread_id=thread_id, run_id=run_id)
            return ChunkDecoder(
                mapper, what="Vercel UI message chunk", max_frame_bytes=max_frame_bytes
            )

        return self._run(target, Wire("vercel", decoder), abort_signal)


class _KeyedOptions:
    """The fetch options of an OpenAI adapter, with ``Authorization`` added per request: the
    key is read every time (an environment variable may be rotated) and lives only in
    that header, which the request's scrubber masks in every error and log line. An
    object of its own, not a method of the adapter: the adapter holds its options, and a
    bound method there would keep the adapter in a reference cycle."""

    __slots__ = ("_api_key", "_api_key_env", "_fetch")

    def __init__(self, fetch: FetchOptions, api_key: str | None, api_key_env: str | None) -> None:
        self._fetch = fetch
        self._api_key = api_key
        self._api_key_env = api_key_env

    @property
    def has_key(self) -> bool:
        return bool(self._api_key or self._api_key_env)

    def __call__(self) -> FetchOptions:
        key = self._api_key
        if key is None and self._api_key_env is not None:
            key = os.environ.get(self._api_key_env)
            if not key:
                raise ValueError(
                    f"the environment variable {self._api_key_env} (api_key_env) is not set"
                )
        if not key:
            return self._fetch
        headers = merge_headers({}, self._fetch.headers)
        headers["Authorization"] = f"Bearer {key}"
        return dataclasses.replace(self._fetch, headers=headers)

    def __repr__(self) -> str:  # never the key
        return "<OpenAI fetch options>"


class OpenAIChatCompletionsAdapter(_BridgeAdapter):
    """A pull adapter for an OpenAI-compatible ``/chat/completions`` endpoint. Create it
    with :func:`openai_chat_completions`."""

    _name = "openai_chat_completions"

    def __init__(self, base_url: str, options: Mapping[str, Any]) -> None:
        if not isinstance(options, Mapping):
            raise TypeError(
                f"options must be a mapping with at least 'model', got {type(options).__name__}"
            )
        model = options.get("model")
        if not isinstance(model, str) or not model:
            raise ValueError("openai_chat_completions() needs options['model'], a non-empty str")
        if "api_key" in options and "api_key_env" in options:
            raise ValueError("give api_key or api_key_env, not both")
        params = options.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"options['params'] must be a mapping, got {type(params).__name__}")
        if not isinstance(base_url, str) or not base_url:
            raise TypeError(f"base_url must be a non-empty str, got {base_url!r}")
        self.model = model
        self._params = dict(params or {})
        self._system_prompt = options.get("system_prompt")
        fetch = {key: value for key, value in options.items() if key not in _OPENAI_KEYS}
        self._keyed = _KeyedOptions(
            FetchOptions.from_mapping(fetch),  # bad keys are named now
            options.get("api_key"),
            options.get("api_key_env"),
        )
        base = base_url.rstrip("/")
        url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        super().__init__(url, self._keyed)

    def __repr__(self) -> str:
        key = "set" if self._keyed.has_key else "none"
        url = redact_url(str(self._url))
        return f"openai_chat_completions({url!r}, model={self.model!r}, key={key})"

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncGenerator[Event, None]:
        """POST ``stream: true`` and yield the completion's chunks as events."""
        thread_id = run_context.thread_id if run_context is not None else generate_id("thread")
        run_id = run_context.run_id if run_context is not None else generate_run_id("run")
        tools = list(run_context.client_tools or ()) if run_context is not None else []

        def target(options: FetchOptions) -> Target:
            params = {**self._params, **_extra_body(options, data, run_context)}
            body = encode_openai_body(
                messages,
                model=self.model,
                tools=tools,
                params=params,
                system_prompt=self._system_prompt,
            )
            return self._target(body)

        def decoder(max_frame_bytes: int) -> ChunkDecoder:
            mapper = OpenAIChunkMapper(thread_id=thread_id, run_id=run_id, model=self.model)
            return ChunkDecoder(
                mapper, what="chat completions chunk", max_frame_bytes=max_frame_bytes
            )

        return self._run(target, Wire("openai", decoder), abort_signal)


def vercel_ui_stream(url: UrlInput, options: OptionsInput = None) -> VercelUIStreamAdapter:
    """A pull adapter for a Vercel AI SDK UI message stream endpoint (a ``useChat``
    backend: ``toUIMessageStreamResponse()``, pydantic-ai's ``VercelAIAdapter``).

    ``options`` are :class:`FetchOptions`; ``body`` is spread into the request body as
    ``DefaultChatTransport``'s ``body`` option is."""
    return VercelUIStreamAdapter(url, options)


def openai_chat_completions(
    base_url: str, options: Mapping[str, Any]
) -> OpenAIChatCompletionsAdapter:
    """A pull adapter talking straight to an OpenAI-compatible ``/chat/completions``
    endpoint (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM).

    ``options``: ``model`` (required); ``api_key`` or ``api_key_env`` (the name of an
    environment variable holding it, read for every request); ``params`` (merged into
    the request: ``temperature``, ``max_tokens``, ...); ``system_prompt``; and any
    :class:`FetchOptions` key. ``base_url`` is the API root (``.../v1``); the
    ``/chat/completions`` path is added unless it is already there."""
    return OpenAIChatCompletionsAdapter(base_url, options)
