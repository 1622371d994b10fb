"""``fetch_server_sent_events`` and ``fetch_http_stream``: the HTTP pull adapters, on httpx.

One ``connect()`` is one logical stream. It POSTs the RunAgentInput and yields
the response's events, and beyond the reference it:

- retries the *initial* request (connect errors, 408, 429, 5xx) per
  :class:`RetryPolicy`, honouring ``Retry-After``, but never once an event has
  been delivered;
- resumes a stream whose events carry ids when it drops, ends without a
  terminal event, or goes idle: the same body is sent again with
  ``Last-Event-ID``, already-delivered events are skipped, and consecutive
  reconnects without progress are bounded (:class:`ResumePolicy`);
- watches for idleness: no byte for ``idle_timeout`` seconds (heartbeats count);
  and, when set, bounds one event (``event_timeout``) and the whole run
  (``deadline``);
- bounds what a server can make it spend: decoded bytes per step, bytes without
  an event, redirects that would carry credentials or the conversation to
  another origin; a success that is not an event stream is an error, not an
  empty reply (see "Security and limits" in docs/connection-adapters.md);
- stops promptly on an abort or task cancellation, closing the response
  (never draining it) so the server sees the disconnect;
- raises a typed error for each failure (see ``_exceptions``), with secrets
  kept out of every message, repr and log record, also when the server echoes
  them back.

``url`` and ``options`` callables are resolved again for every request, so a
retry or a resume picks up a refreshed token; the body is built once per
``connect()``, so every request of a stream carries the same run id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import httpx

from .._codec import Framing
from .._events import Event
from .._redact import redact_url
from ._abort import AbortSignal
from ._options import FetchOptions, OptionsInput, UrlInput
from ._protocols import RunContext
from ._send import new_client
from ._stream_run import StreamRun

__all__ = ["HTTPStreamAdapter", "fetch_http_stream", "fetch_server_sent_events"]


class HTTPStreamAdapter:
    """A pull adapter streaming a POST response as SSE or NDJSON. Create it with
    :func:`fetch_server_sent_events` or :func:`fetch_http_stream`."""

    def __init__(self, url: UrlInput, options: OptionsInput = None, *, framing: Framing) -> None:
        if not (isinstance(url, str | httpx.URL) or callable(url)):
            raise TypeError(
                f"url must be a str or a callable returning one, got {type(url).__name__}"
            )
        if isinstance(options, Mapping) and not isinstance(options, FetchOptions):
            options = FetchOptions.from_mapping(options)  # report bad keys now, not mid-chat
        elif not (options is None or isinstance(options, FetchOptions) or callable(options)):
            raise TypeError(
                "options must be FetchOptions, a mapping, or a callable returning one, "
                f"got {type(options).__name__}"
            )
        self._url = url
        self._options = options
        self._framing: Framing = framing
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client this adapter created (a client you passed is left open)."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> HTTPStreamAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        name = "fetch_server_sent_events" if self._framing == "sse" else "fetch_http_stream"
        url = redact_url(self._url) if isinstance(self._url, str | httpx.URL) else "<callable>"
        if self._options is None or isinstance(self._options, FetchOptions):
            options = repr(self._options)
        else:
            options = "<callable>"
        return f"{name}({url!r}, {options})"

    def _client_for(self, options: FetchOptions) -> httpx.AsyncClient:
        if options.client is not None:
            return options.client
        if self._closed:
            raise RuntimeError("this adapter was closed (aclose()); create a new one")
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._client_loop is not loop:
            # A client's connections belong to the event loop that opened them, so a
            # new loop (asyncio.run per call in sync code) needs a new client.
            self._client = new_client()
            self._client_loop = loop
        return self._client

    # -- the adapter ---------------------------------------------------------------------

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncGenerator[Event, None]:
        """POST the run and yield its events. Nothing is sent until the first iteration."""
        run = StreamRun(
            framing=self._framing,
            url=self._url,
            options=self._options,
            messages=messages,
            data=data,
            abort_signal=abort_signal,
            run_context=run_context,
            client_for=self._client_for,
        )
        return run.events()


def fetch_server_sent_events(url: UrlInput, options: OptionsInput = None) -> HTTPStreamAdapter:
    """A pull adapter reading the response as Server-Sent Events (the reference's
    ``fetchServerSentEvents``). ``url`` and ``options`` may be callables (sync or
    async), resolved for every request. See :class:`FetchOptions`."""
    return HTTPStreamAdapter(url, options, framing="sse")


def fetch_http_stream(url: UrlInput, options: OptionsInput = None) -> HTTPStreamAdapter:
    """A pull adapter reading the response as NDJSON, bare or ``{"id", "chunk"}``
    enveloped (the reference's ``fetchHttpStream``). See :class:`FetchOptions`."""
    return HTTPStreamAdapter(url, options, framing="ndjson")
