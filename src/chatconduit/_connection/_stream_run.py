"""One ``connect()`` of an HTTP adapter: requests, retries, resume, the watchdog, status.

A run is one logical stream, which may take several requests:

1. *Opening.* Before anything is delivered, a connect failure, 408, 429 or
   5xx is retried per :class:`RetryPolicy`. Other failures are raised.
2. *Reading.* Each read waits at most ``idle_timeout``; events go through the
   :class:`ResumeTracker`, which drops those delivered by an earlier request.
3. *After a drop* (broken connection, cut-off event, idle, or a clean end
   without a terminal event): a resumable stream (one whose events carry
   ids) is requested again with ``Last-Event-ID``, bounded by
   :class:`ResumePolicy` (waiting the reconnection time an SSE server set with
   ``retry:``, within the policy's cap); anything else is raised, or ends
   quietly when the run had completed.

An abort cancels only the await that is blocked (see ``AbortScope``) and ends
the run quietly; the response is always closed, never drained.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

import httpx

from .._codec._event_decoder import EventDecoder, Framing
from .._events import Event, is_terminal
from .._exceptions import (
    HTTPStatusError,
    ReconnectLimitError,
    StreamReadError,
    StreamTimeoutError,
    StreamTruncatedError,
    TransportError,
)
from .._redact import redact_url
from .._run_input import encode_run_agent_input
from ._abort import Aborted, AbortScope, AbortSignal
from ._options import (
    FetchOptions,
    OptionsInput,
    UrlInput,
    cookie_items,
    merge_headers,
    resolve_options,
    resolve_url,
    scrub,
    secret_values,
)
from ._protocols import RunContext
from ._resume import ResumeTracker, coerce_resume_policy
from ._retry import coerce_retry_policy, parse_retry_after
from ._send import OpenFailed, open_stream, read
from ._status import ConnectionStatus, ConnectionStatusEvent, notify

__all__ = ["ACCEPT", "StreamRun"]

logger = logging.getLogger("chatconduit.connection")

ACCEPT: dict[Framing, str] = {"sse": "text/event-stream", "ndjson": "application/x-ndjson"}

Drop = TransportError | StreamTruncatedError  # what ends a response early
OpenError = TransportError | HTTPStatusError  # what keeps a response from starting


class StreamRun:
    """The state of one logical stream. Iterate :meth:`events` once."""

    def __init__(
        self,
        *,
        framing: Framing,
        url: UrlInput,
        options: OptionsInput,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None,
        abort_signal: AbortSignal | None,
        run_context: RunContext | None,
        client_for: Callable[[FetchOptions], httpx.AsyncClient],
    ) -> None:
        self._framing: Framing = framing
        self._url_input = url
        self._options_input = options
        self._messages = messages
        self._data = data
        self._abort_signal = abort_signal
        self._run_context = run_context
        self._client_for = client_for
        # Resolved when the run starts (the first iteration), see _start().
        self._options = FetchOptions()
        self._scope = AbortScope(None)
        self._retry = coerce_retry_policy(True)
        self._resume = coerce_resume_policy(True)
        self._body = b""
        self._tracker = ResumeTracker()
        self._attempt = 0  # requests so far, for status events
        self._retries = 0  # retries of the initial request
        self._last_was_terminal = False
        self._reported_end = False  # a CLOSED or ERROR status went out
        # Seconds from the last SSE ``retry:`` field. Like EventSource's reconnection
        # time it outlives the response that set it: later reconnects use it too.
        self._server_retry: float | None = None
        self._safe_url = "<unresolved>"
        self._secrets: list[str] = []

    async def _start(self) -> None:
        options = self._options = await resolve_options(self._options_input)
        signal = self._abort_signal if self._abort_signal is not None else options.signal
        self._scope = AbortScope(signal)
        self._retry = coerce_retry_policy(options.retry)
        self._resume = coerce_resume_policy(options.resume)
        rc = self._run_context
        # Built once: every request of this run (retries, resumes) sends the same
        # bytes, so the same run id.
        self._body = encode_run_agent_input(
            self._messages,
            thread_id=rc.thread_id if rc else None,
            run_id=rc.run_id if rc else None,
            parent_run_id=rc.parent_run_id if rc else None,
            tools=list(rc.client_tools) if rc and rc.client_tools else None,
            forwarded_props=rc.forwarded_props if rc else None,
            adapter_body=options.body,
            data=self._data,
        )

    # -- status -----------------------------------------------------------------------------

    def _status(self, kind: ConnectionStatus, **extra: Any) -> None:
        if kind in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
            self._reported_end = True
        event = ConnectionStatusEvent(kind, self._safe_url, attempt=self._attempt, **extra)
        notify(self._options.on_status, event)

    # -- the run --------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[Event, None]:
        await self._start()
        try:
            while True:
                response = await self._open()
                drop: Drop | None = None
                decoder = EventDecoder(self._framing, max_frame_bytes=self._options.max_frame_bytes)
                reader = self._read(response, decoder)
                try:
                    async for event in reader:
                        yield event
                except (TransportError, StreamTruncatedError) as exc:
                    drop = exc
                finally:
                    await reader.aclose()
                    await response.aclose()  # closed, never drained: the server sees it
                    if decoder.retry is not None:
                        self._server_retry = decoder.retry / 1000
                if not await self._continue_after(drop, done=decoder.done):
                    return
        except Aborted:
            self._status(ConnectionStatus.CLOSED)
        except BaseException as exc:
            if not self._reported_end:
                if isinstance(exc, Exception):
                    self._status(ConnectionStatus.ERROR, error=exc)
                else:  # cancelled, or the consumer closed the iterator
                    self._status(ConnectionStatus.CLOSED)
            raise
        finally:
            self._scope.close()

    async def _request(self) -> tuple[httpx.AsyncClient, httpx.Request]:
        self._attempt += 1
        if self._attempt > 1:  # re-read for every retry and resume: a token may be fresh
            self._options = await self._scope.run(resolve_options(self._options_input))
        options = self._options
        url = await self._scope.run(resolve_url(self._url_input))
        self._safe_url = redact_url(url)
        headers = merge_headers(
            {"Content-Type": "application/json", "Accept": ACCEPT[self._framing]},
            options.headers,
        )
        if self._tracker.last_id is not None:
            headers["Last-Event-ID"] = self._tracker.last_id
        self._secrets = secret_values(headers, options.cookies)
        client = self._client_for(options)
        request = client.build_request(
            "POST",
            url,
            content=self._body,
            headers=headers,
            cookies=dict(cookie_items(options.cookies)) or None,
            # Overrides the client's own: reads are the idle watchdog's business.
            timeout=httpx.Timeout(
                connect=options.connect_timeout,
                read=None,
                write=None,
                pool=options.connect_timeout,
            ),
        )
        return client, request

    async def _open(self) -> httpx.Response:
        """A 2xx response, after as many retries (or resume attempts) as allowed."""
        while True:
            client, request = await self._request()
            self._status(ConnectionStatus.CONNECTING, last_event_id=self._tracker.last_id)
            try:
                response = await self._scope.run(
                    open_stream(
                        client,
                        request,
                        idle=self._options.idle_timeout,
                        safe_url=self._safe_url,
                        secrets=self._secrets,
                    )
                )
            except OpenFailed as failed:
                delay = self._delay_after_failed_open(failed)
                self._status(ConnectionStatus.RECONNECTING, delay=delay, error=failed.error)
                await self._scope.run(asyncio.sleep(delay))
                continue
            self._status(ConnectionStatus.OPEN)
            self._tracker.start_attempt()
            return response

    def _delay_after_failed_open(self, failed: OpenFailed) -> float:
        """How long to wait before trying again; raises the error when we must not."""
        error = failed.error
        if self._resuming:
            # Getting a resumable stream back: a failure counts as no progress.
            if not (failed.retryable or isinstance(error, StreamTimeoutError)):
                raise error from error.__cause__
            delay = self._resume_delay(error)
            asked = parse_retry_after(failed.retry_after)
            if asked is not None:  # a busy server's wish, within the retry cap
                delay = max(delay, min(asked, self._retry.max_retry_after))
            return delay
        wait = None
        if failed.retryable:
            self._retries += 1
            wait = self._retry.delay_for(self._retries, failed.retry_after)
        if wait is None:
            raise error from error.__cause__
        logger.info(
            "retrying %s in %.2fs (retry %d of %d) after: %s",
            self._safe_url,
            wait,
            self._retries,
            self._retry.max_attempts - 1,
            error,
        )
        return wait

    @property
    def _resuming(self) -> bool:
        return self._tracker.resumable and self._resume.max_reconnects > 0

    async def _read(
        self, response: httpx.Response, decoder: EventDecoder
    ) -> AsyncGenerator[Event, None]:
        """Yield the new events of one response; a drop is raised as a transport error."""
        idle = self._options.idle_timeout
        chunks = response.aiter_bytes()
        while True:
            try:
                piece = await self._scope.run(read(chunks, idle))
            except TimeoutError:
                raise StreamTimeoutError(
                    f"no data from {self._safe_url} for {idle}s (idle_timeout); "
                    "the server or the network stalled"
                ) from None
            except httpx.RequestError as exc:
                detail = scrub(str(exc) or type(exc).__name__, self._secrets)
                raise StreamReadError(
                    f"the connection to {self._safe_url} broke while reading the response: {detail}"
                ) from exc
            # iter_feed validates each event as it is reached, so a big read never has all
            # its events alive at once; an error it finds is raised by check() below, after
            # the events before it were delivered (a stalled connection may bring no next read).
            decoded = decoder.finish() if piece is None else decoder.iter_feed(piece)
            for event, event_id in decoded:
                if not self._tracker.accept(event_id):
                    continue  # delivered before a reconnect
                self._last_was_terminal = is_terminal(event)
                yield event
            decoder.check()  # an error found in this read, after its earlier events
            if piece is None or decoder.done:
                return

    async def _continue_after(self, drop: Drop | None, *, done: bool) -> bool:
        """After a response: False when the run is over, True to request it again."""
        if drop is None:
            if done or self._last_was_terminal or not self._resuming:
                self._status(ConnectionStatus.CLOSED)
                return False
            drop = StreamReadError(
                f"the stream from {self._safe_url} ended without RUN_FINISHED or RUN_ERROR"
            )
        elif self._last_was_terminal:
            # The run had completed; what broke afterwards cost nothing.
            self._status(ConnectionStatus.CLOSED)
            return False
        elif not self._resuming:
            raise drop
        delay = self._resume_delay(drop)
        self._status(
            ConnectionStatus.RECONNECTING,
            delay=delay,
            error=drop,
            last_event_id=self._tracker.last_id,
        )
        await self._scope.run(asyncio.sleep(delay))
        return True

    def _resume_delay(
        self, error: TransportError | HTTPStatusError | StreamTruncatedError
    ) -> float:
        failures = self._tracker.record_drop()
        limit = self._resume.max_reconnects
        if failures > limit:
            raise ReconnectLimitError(
                f"gave up resuming after {limit} reconnects in a row brought no new event "
                f"(last event id {self._tracker.last_id!r}); last problem: {error}"
            ) from error
        delay = self._resume.delay_for(failures, self._server_retry)
        logger.info(
            "resuming after event id %r in %.2fs (reconnect %d of at most %d): %s",
            self._tracker.last_id,
            delay,
            failures,
            limit,
            error,
        )
        return delay
