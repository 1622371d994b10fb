"""``StreamRun``: one logical stream of an HTTP adapter, from its first request to its last.

A ``connect()`` (POST the run) or a ``join_run()`` (GET a durable run's log) is one
logical stream; what it sends is its :class:`~._request.Target`, everything else is
the same for both. It may take several requests:

1. *Opening.* Before anything is delivered, a connect failure, 408, 429 or
   5xx is retried per :class:`RetryPolicy`. Other failures are raised.
   Redirects are followed safely (see ``_send``).
2. *Reading.* Each response is checked and read into its new events under the
   watchdogs by the run's :class:`ResponseReader` (``_response_reader``); the
   whole run is bounded by its :class:`Deadline` (``_deadline``).
3. *After a drop* (broken connection, cut-off event, idle or slow event, or a
   clean end without a terminal event): a resumable stream (one whose events
   carry ids) is requested again with ``Last-Event-ID``, bounded by
   :class:`ResumePolicy` (waiting the reconnection time an SSE server set with
   ``retry:``, within the policy's cap); anything else is raised, or ends
   quietly when the run had completed.

Whatever the server sends back that reaches an error, a log record or a status
event passes through the request's :class:`~chatconduit._redact.Scrubber` first,
``RUN_ERROR`` events included (their text becomes a ``RunError``).

An abort cancels only the await that is blocked (see ``AbortScope``) and ends
the run quietly; the response is always closed, never drained.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

import httpx

from .._codec import EventDecoder, Framing
from .._events import Event
from .._events._text_runs import SliceItem
from .._exceptions import (
    HTTPStatusError,
    ReconnectLimitError,
    StreamReadError,
    StreamTimeoutError,
    StreamTruncatedError,
    TransportError,
)
from .._redact import NO_SECRETS
from ._abort import Aborted, AbortScope, AbortSignal
from ._content import StreamDecoder, Wire
from ._deadline import NO_DEADLINE, Deadline
from ._options import (
    NO_OPTIONS,
    FetchOptions,
    OptionsInput,
    UrlInput,
    resolve_options,
    resolve_url,
)
from ._request import Target, prepare
from ._response_reader import ResponseReader
from ._resume import ResumeTracker, coerce_resume_policy
from ._retry import coerce_retry_policy, parse_retry_after
from ._send import OpenFailed, open_stream
from ._status import ConnectionStatus, ConnectionStatusEvent, notify

__all__ = ["StreamRun"]

logger = logging.getLogger("chatconduit.connection")

Drop = TransportError | StreamTruncatedError  # what ends a response early

# Placeholders until the run starts: immutable, so shared by every run.
_NO_TARGET = Target("GET", "*/*")

_SHOWN_ID_CHARS = 120  # an event id in a log line or message; ids may be megabytes long


class StreamRun:
    """The state of one logical stream. Iterate :meth:`events` once."""

    def __init__(
        self,
        *,
        framing: Framing,
        url: UrlInput,
        options: OptionsInput,
        target: Callable[[FetchOptions], Target],
        abort_signal: AbortSignal | None,
        client_for: Callable[[FetchOptions], httpx.AsyncClient],
        wire: Wire | None = None,
    ) -> None:
        """``target`` makes what the run sends from the first resolved options (a POST
        body merges ``options.body``); it is called once, see :meth:`_start`. ``wire``:
        another protocol's decoder (the bridges); ``None`` reads AG-UI events."""
        self._wire = wire
        self._framing: Framing = framing
        self._url_input = url
        self._options_input = options
        self._make_target: Callable[[FetchOptions], Target] | None = target
        self._abort_signal = abort_signal
        self._client_for = client_for
        # Resolved when the run starts (the first iteration), see _start().
        self._options = NO_OPTIONS
        self._scope = AbortScope(None)
        self._retry = coerce_retry_policy(True)
        self._resume = coerce_resume_policy(True)
        self._target = _NO_TARGET  # made by _start()
        # SSE ids stay in force across events, and into a resumed response (WHATWG).
        self._tracker = ResumeTracker(ids_persist=framing == "sse")
        self._attempt = 0  # requests so far, for status events
        self._retries = 0  # retries of the initial request
        self._reported_end = False  # a CLOSED or ERROR status went out
        # Seconds from the last SSE ``retry:`` field. Like EventSource's reconnection
        # time it outlives the response that set it: later reconnects use it too.
        self._server_retry: float | None = None
        self._safe_url = "<unresolved>"
        self._scrubber = NO_SECRETS  # the request's, made by _request()
        self._deadline = NO_DEADLINE
        self._reader: ResponseReader  # built by _start(), with the scope and the deadline

    async def _start(self) -> None:
        options = self._options = await resolve_options(self._options_input)
        self._deadline = Deadline.of(options.deadline)
        signal = self._abort_signal if self._abort_signal is not None else options.signal
        self._scope = AbortScope(signal)
        self._reader = ResponseReader(
            self._framing, self._tracker, self._scope, self._deadline, wire=self._wire
        )
        self._retry = coerce_retry_policy(options.retry)
        self._resume = coerce_resume_policy(options.resume)
        # Made once: every request of this run (retries, resumes) sends the same
        # body and the same X-Run-Id, so the server sees one run.
        if self._make_target is not None:
            self._target = self._make_target(options)
            # Dropped once used: its closure (messages, data, run context) would
            # otherwise stay alive, as tracked objects, for as long as the stream is read.
            self._make_target = None

    # -- status -----------------------------------------------------------------------------

    def _status(self, kind: ConnectionStatus, **extra: Any) -> None:
        if kind in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
            self._reported_end = True
        callback = self._options.on_status
        if callback is not None:  # most runs have none: no event is made for nobody
            event = ConnectionStatusEvent(kind, self._safe_url, attempt=self._attempt, **extra)
            notify(callback, event)

    def _shown_id(self, *, short: bool = False) -> str | None:
        """The last event id as status events and log lines show it: the server chose
        it, so it may echo a credential; in a log line, long ids are cut."""
        event_id = self._tracker.cursor
        if event_id is None:
            return None
        cut = short and len(event_id) > _SHOWN_ID_CHARS
        if cut:
            event_id = event_id[:_SHOWN_ID_CHARS] + "…"
        return self._scrubber.text(event_id, truncated=cut)

    # -- the run --------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[Event, None]:
        """The run's events, one by one (what ``connect()`` and ``join_run()`` yield)."""
        # Typed events only: slices() without text runs.
        slices = cast("AsyncGenerator[list[Event], None]", self.slices())
        try:
            async for batch in slices:
                for event in batch:
                    yield event
                # Neither stays referenced while the next read waits (thousands of live
                # streams would each keep their last slice alive). Slices are never empty.
                del batch, event
        finally:
            # Closing this iterator closes the run at once (the response, the status).
            await slices.aclose()

    async def slices(self, *, text_runs: bool = False) -> AsyncGenerator[list[SliceItem], None]:
        """The run's events in the reader's slices (lists of one network read's events,
        in order, never empty): one hand-over per slice instead of per event. Our own
        consumers (``ChatClient``'s pull driver) read this; a slice is theirs to keep.
        ``text_runs``: plain text deltas may come as ``PlainTextRun`` items (``_text_runs``)."""
        await self._start()
        try:
            while True:
                response = await self._open()
                drop: Drop | None = None
                decoder: StreamDecoder
                if self._wire is None:
                    decoder = EventDecoder(
                        self._framing,
                        max_frame_bytes=self._options.max_frame_bytes,
                        # Not after a resume under an SSE id: its untagged events count
                        # under that id, one by one (ResumeTracker.accept).
                        text_runs=text_runs and self._tracker.last_id is None,
                    )
                else:
                    decoder = self._wire.decoder(self._options.max_frame_bytes)
                reader = self._reader.events(
                    response,
                    decoder,
                    options=self._options,
                    safe_url=self._safe_url,
                    scrubber=self._scrubber,
                )
                try:
                    async for batch in reader:
                        yield batch
                        del batch  # not kept while the next read waits
                except (TransportError, StreamTruncatedError) as exc:
                    if exc is self._deadline.error:
                        raise  # the deadline ends the run: no resume
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
        prepared = prepare(
            self._target,
            url,
            options,
            self._client_for(options),
            # None for an id a header cannot carry.
            last_event_id=self._tracker.cursor,
        )
        self._safe_url = prepared.safe_url
        self._scrubber = prepared.scrubber
        return prepared.client, prepared.request

    async def _open(self) -> httpx.Response:
        """A 2xx response, after as many retries (or resume attempts) as allowed."""
        while True:
            error = self._deadline.passed(self._safe_url)
            if error is not None:
                raise error
            client, request = await self._request()
            self._status(ConnectionStatus.CONNECTING, last_event_id=self._shown_id())
            try:
                response = await open_stream(
                    client,
                    request,
                    cookies=self._options.cookies,
                    idle=self._deadline.bounded(self._options.idle_timeout),
                    safe_url=self._safe_url,
                    scrubber=self._scrubber,
                    guard=self._scope,
                )
            except OpenFailed as failed:
                error = self._deadline.passed(self._safe_url, failed.error)
                if error is not None:
                    raise error from None
                delay = self._delay_after_failed_open(failed)
                self._status(ConnectionStatus.RECONNECTING, delay=delay, error=failed.error)
                await self._sleep(delay, failed.error)
                continue
            self._status(ConnectionStatus.OPEN)
            self._tracker.start_attempt()
            return response

    def _delay_after_failed_open(self, failed: OpenFailed) -> float:
        """How long to wait before trying again; raises the error when we must not."""
        # The error is raised through failed.spent(), which lets go of it: raised here,
        # its __context__ is ``failed``, and the two would hold each other.
        error = failed.error
        if self._resuming:
            # Getting a resumable stream back: a failure counts as no progress.
            if not (failed.retryable or isinstance(error, StreamTimeoutError)):
                raise failed.spent() from error.__cause__
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
            raise failed.spent() from error.__cause__
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

    # -- between requests -----------------------------------------------------------------

    async def _continue_after(self, drop: Drop | None, *, done: bool) -> bool:
        """After a response: False when the run is over, True to request it again."""
        if drop is None:
            if done or self._reader.last_was_terminal or not self._resuming:
                self._status(ConnectionStatus.CLOSED)
                return False
            drop = StreamReadError(
                f"the stream from {self._safe_url} ended without RUN_FINISHED or RUN_ERROR"
            )
        elif self._reader.last_was_terminal:
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
            last_event_id=self._shown_id(),
        )
        await self._sleep(delay, drop)
        return True

    def _resume_delay(
        self, error: TransportError | HTTPStatusError | StreamTruncatedError
    ) -> float:
        failures = self._tracker.record_drop()
        limit = self._resume.max_reconnects
        if failures > limit:
            raise ReconnectLimitError(
                f"gave up resuming after {limit} reconnects in a row brought no new event "
                f"(last event id {self._shown_id(short=True)!r}); last problem: {error}"
            ) from error
        delay = self._resume.delay_for(failures, self._server_retry)
        logger.info(
            "resuming after event id %r in %.2fs (reconnect %d of at most %d): %s",
            self._shown_id(short=True),
            delay,
            failures,
            limit,
            error,
        )
        return delay

    async def _sleep(self, delay: float, cause: BaseException) -> None:
        """Wait before the next attempt; raise the deadline error when it would start late."""
        remaining = self._deadline.remaining()
        if remaining is not None and delay >= remaining:
            raise self._deadline.exceeded(self._safe_url, cause)
        await self._scope.run(asyncio.sleep(delay))
