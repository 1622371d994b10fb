"""``AutoProtocol``: an AG-UI adapter that switches to the Vercel bridge when a response
says the endpoint speaks the Vercel AI SDK UI message stream.

What says so: the ``x-vercel-ai-ui-message-stream`` header (or Vercel chunks in the
body), reported by the response reader as an ``UnexpectedResponseError`` naming
``vercel_ui_stream``; or a 400/422 refusing our body for lacking the AI SDK's
``trigger`` (pydantic-ai's ``VercelAIAdapter``, our own ``protocol="vercel"`` route).
Either comes before a single event was delivered, so the same request is sent again,
once, in the AI SDK's shape; from then on every request is. ``chatconduit chat`` uses
it when no ``--protocol`` is given.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping, Sequence
from typing import Any

from .._connection._abort import AbortSignal
from .._connection._content import READERS
from .._connection._options import FetchOptions
from .._connection._protocols import Chunk, ConnectConnectionAdapter, RunContext
from .._events import UnknownEvent
from .._exceptions import HTTPStatusError, UnexpectedResponseError
from ._adapters import openai_chat_completions, vercel_ui_stream

__all__ = ["AutoProtocol", "protocol_adapter", "says_vercel"]


def says_vercel(error: BaseException) -> bool:
    """Whether a failed first response names the Vercel UI message stream protocol."""
    if isinstance(error, UnexpectedResponseError):
        return READERS["vercel"] in str(error)
    if isinstance(error, HTTPStatusError):
        # pydantic-ai names the missing discriminator 'trigger'; our own Vercel route
        # reports the problem at the JSON path $.trigger.
        return error.status_code in (400, 422) and (
            "'trigger'" in error.body or '"$.trigger"' in error.body
        )
    return False


class AutoProtocol:
    """``connect`` through ``agui`` until a response says the endpoint is Vercel's."""

    def __init__(
        self,
        agui: ConnectConnectionAdapter,
        vercel: ConnectConnectionAdapter,
        on_switch: Callable[[str], None] | None = None,
    ) -> None:
        self._active = agui
        self._vercel = vercel
        self._on_switch = on_switch
        self.protocol = "agui"

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        return self._events(messages, data, abort_signal, run_context)

    async def _events(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None,
        abort_signal: AbortSignal | None,
        run_context: RunContext | None,
    ) -> AsyncGenerator[Chunk, None]:
        delivered = False
        try:
            async for event in _iterate(
                self._active.connect(messages, data, abort_signal, run_context)
            ):
                # Unknown types are what an AG-UI reader makes of Vercel chunks: they
                # carry nothing, and the reader fails at the end of such a stream.
                delivered = delivered or not isinstance(event, UnknownEvent)
                yield event
            return
        except Exception as exc:
            if delivered or self.protocol != "agui" or not says_vercel(exc):
                raise
        self._active, self.protocol = self._vercel, "vercel"
        if self._on_switch is not None:
            self._on_switch(
                "the endpoint speaks the Vercel AI SDK UI message stream: "
                "switched to --protocol vercel"
            )
        async for event in _iterate(
            self._active.connect(messages, data, abort_signal, run_context)
        ):
            yield event

    async def aclose(self) -> None:
        for adapter in (self._active, self._vercel):
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()


async def _iterate(events: AsyncIterable[Chunk]) -> AsyncGenerator[Chunk, None]:
    iterator = aiter(events)
    try:
        async for event in iterator:
            yield event
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


def protocol_adapter(
    protocol: str | None,
    url: str,
    options: FetchOptions,
    *,
    agui: Callable[[str, FetchOptions], ConnectConnectionAdapter],
    model: str | None = None,
    api_key_env: str | None = None,
    on_switch: Callable[[str], None] | None = None,
) -> ConnectConnectionAdapter:
    """The adapter for ``--protocol`` (``None``: AG-UI via ``agui``, switching to Vercel
    when the endpoint says so). For ``openai``, ``url`` is the API root and the key is
    read from ``api_key_env`` when that variable is set (a local server needs none)."""
    if protocol == "vercel":
        return vercel_ui_stream(url, options)
    if protocol == "openai":
        if not model:
            raise ValueError("the openai protocol needs a model")
        settings: dict[str, Any] = {"model": model}
        if api_key_env and os.environ.get(api_key_env):
            settings["api_key_env"] = api_key_env
        fetch = {f: getattr(options, f) for f in FetchOptions.__dataclass_fields__}
        return openai_chat_completions(url, {**settings, **fetch})
    if protocol == "agui":
        return agui(url, options)
    if protocol is not None:
        raise ValueError(f"protocol must be agui, vercel or openai, got {protocol!r}")
    return AutoProtocol(agui(url, options), vercel_ui_stream(url, options), on_switch)
