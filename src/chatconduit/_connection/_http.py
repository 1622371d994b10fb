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
``connect()``, so every request of a stream carries the same run id, in the body
and in the ``X-Run-Id`` header (by which a durable TanStack server keys the run).

Beyond ``connect()``, as the 0.33 reference's adapters do (and with the same
plumbing, see ``_request``):

- ``join_run(run_id)`` GETs ``<url>?offset=-1&runId=<id>`` and yields a durable
  run's events from its log, as ``connect()`` would (resumed the same way);
- ``hydrate(thread_id)`` GETs ``<url>?threadId=<id>`` as JSON: the thread's
  stored messages, its running run and its pending interrupts (``_hydrate``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import httpx

from .._codec import Framing
from .._events import Event
from .._events._text_runs import SliceItem
from .._redact import redact_url
from ._abort import AbortSignal
from ._hydrate import HydratedThread, fetch_hydration
from ._options import FetchOptions, OptionsInput, UrlInput
from ._pool import shared_client
from ._protocols import RunContext
from ._request import join_target, run_target
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
        self._used_shared = False  # whether a request went through the shared client
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop this adapter: it sends no further request. A client you passed is left
        open; the client default adapters share (one per event loop, see
        ``_connection._pool``) stays open for the others and is closed with its loop."""
        self._closed = True

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
        # The running loop's shared client: a client's connections belong to the loop
        # that opened them, so asyncio.run per call in sync code gets its loop's own.
        self._used_shared = True
        return shared_client()

    # -- the adapter ---------------------------------------------------------------------

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncGenerator[Event, None]:
        """POST the run and yield its events. Nothing is sent until the first iteration.

        Every request of the run (retries, resumes) says ``X-Run-Id: <the run id>``."""
        return self._new_run(messages, data, abort_signal, run_context).events()

    def connect_slices(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
        *,
        text_runs: bool = False,
    ) -> AsyncGenerator[list[SliceItem], None]:
        """``connect()``'s events in the reader's slices (non-empty lists, in order): what
        ``ChatClient`` reads from our own adapters, one hand-over per network read
        rather than per event; with ``text_runs``, plain text deltas in runs
        (``_events._text_runs``). Internal: not part of the adapter protocol."""
        run = self._new_run(messages, data, abort_signal, run_context)
        return run.slices(text_runs=text_runs)

    def _new_run(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None,
        abort_signal: AbortSignal | None,
        run_context: RunContext | None,
    ) -> StreamRun:
        framing = self._framing
        return StreamRun(
            framing=framing,
            url=self._url,
            options=self._options,
            target=lambda options: run_target(framing, messages, data, run_context, options),
            abort_signal=abort_signal,
            client_for=self._client_for,
        )

    def join_run(
        self,
        run_id: str,
        *,
        offset: str | None = None,
        abort_signal: AbortSignal | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Yield the events of a durable run from the server's log, as ``connect()`` does
        (the reference's ``joinRun``): ``GET <url>?offset=<offset or -1>&runId=<run_id>``.

        ``offset`` ``None`` (``-1``) joins from the first event; an event id of the run
        joins strictly after it. A join that drops is resumed with ``Last-Event-ID``
        like a stream, and it has the same watchdogs, retries, status events and
        errors: a 400 (e.g. a server that reads no offset) is an
        :class:`~chatconduit.HTTPStatusError` with its status and body. A server that
        knows no such run may also answer with a stream whose only event is a
        ``RUN_ERROR`` (TanStack 0.58: "produced no data"): it is yielded like any
        other. Nothing is sent until the first iteration.
        """
        if not isinstance(run_id, str) or not run_id:
            raise ValueError(f"run_id must be a non-empty str, got {run_id!r}")
        if offset is not None and (not isinstance(offset, str) or not offset):
            raise ValueError(f"offset must be a non-empty str or None, got {offset!r}")
        framing = self._framing
        run = StreamRun(
            framing=framing,
            url=self._url,
            options=self._options,
            target=lambda _options: join_target(framing, run_id, offset),
            abort_signal=abort_signal,
            client_for=self._client_for,
        )
        return run.events()

    async def hydrate(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
    ) -> HydratedThread:
        """The thread as the server stores it (the reference's ``hydrate``):
        ``GET <url>?threadId=<thread_id>`` with ``Accept: application/json``, read into
        a :class:`HydratedThread` (messages, the run still running, pending interrupts).

        ``limit`` and ``before`` (a cursor from ``HydratedThread.cursor``) page through
        a long thread, as the reference does. The initial request is retried like a
        stream's; ``idle_timeout`` bounds each wait, ``deadline`` the whole call.
        Raises :class:`~chatconduit.HydrateUnsupportedError` when the server answers
        405/501 (it has no hydrate route), :class:`~chatconduit.HTTPStatusError` for
        another non-2xx, :class:`~chatconduit.UnexpectedResponseError` for a 2xx that
        is not a JSON object, :class:`~chatconduit.MessageValidationError` for a stored
        message that is not a UI message. It is one await: cancel its task to stop it
        (the connection is closed); ``FetchOptions.signal`` is for streams.
        """
        if not isinstance(thread_id, str) or not thread_id:
            raise ValueError(f"thread_id must be a non-empty str, got {thread_id!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f"limit must be an int or None, got {limit!r}")
        return await fetch_hydration(
            url=self._url,
            options=self._options,
            thread_id=thread_id,
            limit=limit,
            before=before,
            client_for=self._client_for,
        )


def fetch_server_sent_events(url: UrlInput, options: OptionsInput = None) -> HTTPStreamAdapter:
    """A pull adapter reading the response as Server-Sent Events (the reference's
    ``fetchServerSentEvents``). ``url`` and ``options`` may be callables (sync or
    async), resolved for every request. See :class:`FetchOptions`."""
    return HTTPStreamAdapter(url, options, framing="sse")


def fetch_http_stream(url: UrlInput, options: OptionsInput = None) -> HTTPStreamAdapter:
    """A pull adapter reading the response as NDJSON, bare or ``{"id", "chunk"}``
    enveloped (the reference's ``fetchHttpStream``). See :class:`FetchOptions`."""
    return HTTPStreamAdapter(url, options, framing="ndjson")
