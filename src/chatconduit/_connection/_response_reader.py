"""``ResponseReader``: the responses of one run read into their new events, under the watchdogs.

A response whose head proves it is no event stream (204, an HTML page, another
protocol) is an :class:`UnexpectedResponseError` at once; one whose body brings not
a single event is one at its end (see ``_content``). Otherwise the body is decoded
in bounded steps (``_encoding``); each read waits at most ``idle_timeout``, an event
may take at most ``event_timeout`` from its first byte to its end (``_watch``), the
whole run at most its :class:`Deadline`; bytes without any event are bounded by twice
``max_frame_bytes``. Events go through the run's :class:`ResumeTracker`, which drops
those an earlier response delivered, and a ``RUN_ERROR`` repeating a credential has
it masked. A drop is raised as a transport error for the run to resume or report
(``_stream_run``); what the reader counts (events decoded, the body's first bytes,
whether the last event ended the run) belongs to the run, not to one response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from collections.abc import Set as AbstractSet
from itertools import repeat
from typing import Any, Literal

import httpx

from .._codec import Framing
from .._codec._event_decoder import EventDecoder, EventSlice, pairs_to_slices
from .._events import RunErrorEvent, UnknownEvent, is_terminal
from .._events._text_runs import PlainTextRun, SliceItem
from .._exceptions import (
    FrameTooLargeError,
    MalformedEventError,
    ProtocolError,
    StreamReadError,
    StreamTimeoutError,
    UnexpectedResponseError,
)
from .._redact import NO_SECRETS, Scrubber
from ._abort import AbortScope
from ._content import (
    BODY_START_BYTES,
    ResponseHead,
    StreamDecoder,
    Wire,
    diagnose,
    foreign_body,
    unexpected_response,
)
from ._deadline import Deadline
from ._encoding import decoded_body
from ._options import NO_OPTIONS, FetchOptions
from ._resume import ResumeTracker
from ._watch import EventProgress, deep_nesting_line

__all__ = ["ResponseReader"]

Limit = Literal["idle", "event", "deadline"]

# What a read's slice variables are reset to once it is handed on (never mutated).
_NO_SLICES: Iterator[EventSlice] = iter(())
_NO_EVENTS: list[SliceItem] = []
_NO_TYPES: frozenset[str] = frozenset()


class ResponseReader:
    """Reads the responses of one run, one after the other, into their new events."""

    def __init__(
        self,
        framing: Framing,
        tracker: ResumeTracker,
        scope: AbortScope,
        deadline: Deadline,
        *,
        wire: Wire | None = None,
    ) -> None:
        self._framing: Framing = framing
        self._expect = wire.protocol if wire is not None else "agui"
        # Types of the unknown events read while no known one came: a stream of nothing
        # else is another protocol's (a Vercel stream without its header), not a reply.
        # A set made by the first unknown event; None once a known one came.
        self._unknown: AbstractSet[str] | None = _NO_TYPES
        self._tracker = tracker
        self._scope = scope
        self._deadline = deadline
        # The request whose response is being read, set by events(): the options may
        # be re-resolved and the URL may change from one request to the next.
        self._options = NO_OPTIONS
        self._safe_url = "<unresolved>"
        self._scrubber = NO_SECRETS  # each response's own, set by events()
        self._decoded = 0  # events decoded on this run (delivered or skipped as replays)
        self._body_start = bytearray()  # the first bytes, until the first event: for errors
        self.last_was_terminal = False  # the last event delivered was RUN_FINISHED/RUN_ERROR

    async def events(
        self,
        response: httpx.Response,
        decoder: StreamDecoder,
        *,
        options: FetchOptions,
        safe_url: str,
        scrubber: Scrubber,
    ) -> AsyncGenerator[list[SliceItem], None]:
        """Yield the new events of one response in batches: the decoder's slices (at most
        192 events, all from one read: one hop through this generator per slice rather than
        per event, and a big read never has all its events alive at once). A drop is
        raised as a transport error."""
        self._options, self._safe_url, self._scrubber = options, safe_url, scrubber
        head = ResponseHead.of(response)
        what = diagnose(head, expect=self._expect)
        if what is not None:  # the head alone proves it is no event stream
            start = b"" if head.status in (204, 205) else await self._first_bytes(response)
            raise unexpected_response(
                head,
                what,
                url=self._safe_url,
                body_start=start,
                scrubber=self._scrubber,
                expect=self._expect,
            )
        chunks = decoded_body(response)
        tracker = self._tracker
        loop = asyncio.get_running_loop()
        progress = EventProgress(self._framing) if options.event_timeout is not None else None
        event_started: float | None = None  # loop time of the first byte of an unfinished event
        # Blank lines, comments and fields without data produce nothing, so the frame
        # limits never see them: a body of nothing but newlines (255 KiB gzipped: 673 MiB)
        # would be read to its end. Bytes without an event are bounded separately.
        quiet = 0
        quiet_limit = 2 * options.max_frame_bytes
        lines_before = 0  # lines before the current read, for an error's line number
        try:
            while True:
                timeout, limit = self._read_timeout(event_started, loop.time())
                try:
                    # The scope's own watchdog, not asyncio.timeout: no objects per read.
                    with self._scope.guarding(timeout):
                        piece = await anext(chunks, None)
                except TimeoutError:
                    raise self._timed_out(limit) from None
                except httpx.RequestError as exc:
                    detail = self._scrubber.text(str(exc) or type(exc).__name__)
                    raise StreamReadError(
                        f"the connection to {self._safe_url} broke while reading the response: "
                        f"{detail}"
                    ) from exc
                except ProtocolError as exc:  # a Content-Encoding we refuse, or corrupt data
                    raise self._scrubber.protocol_error(exc) from None
                if piece and self._decoded == 0 and len(self._body_start) < BODY_START_BYTES:
                    self._body_start += piece[: BODY_START_BYTES - len(self._body_start)]
                decoded_before = self._decoded
                try:
                    # The decoder validates a slice at a time as it is reached, so a big read
                    # never has all its events alive at once; an error it finds is raised by
                    # check() below, after the events before it were delivered (a stalled
                    # connection may bring no next read).
                    slices: Iterator[EventSlice]
                    if piece is None:
                        slices = pairs_to_slices(decoder.finish())
                    elif type(decoder) is EventDecoder:
                        slices = decoder.iter_slices(piece)
                    else:  # a bridge's decoder
                        slices = pairs_to_slices(decoder.iter_feed(piece))
                    for events, ids in slices:
                        self._decoded += len(events)
                        if (
                            ids is None
                            and tracker.last_id is None
                            and self._unknown is None
                            and not (self._scrubber and RunErrorEvent in set(map(type, events)))
                        ):
                            # The usual slice: new events without ids, nothing to mask; it
                            # is handed on as the decoder made it (nothing runs per event).
                            tracker.progressed = True
                            yield self._deliver(events)
                            continue
                        batch = self._new_events(events, ids)
                        if batch:
                            yield self._deliver(batch)
                    decoder.check()  # an error found in this read, after its earlier events
                    # Nothing of this read stays referenced while the next one waits: with
                    # thousands of live streams, each would keep its last slice alive.
                    slices, batch = _NO_SLICES, _NO_EVENTS
                    events, ids = _NO_EVENTS, None
                except ProtocolError as exc:
                    self._scrubber.protocol_error(exc)
                    if self._decoded == 0 and (
                        not head.trusted or foreign_body(bytes(self._body_start), self._expect)
                    ):
                        # Not declared an event stream, and no event in it: say what it is.
                        raise self._not_events(head) from exc
                    raise
                except RecursionError:
                    raise self._too_deep(piece, lines_before) from None
                if piece is None or decoder.done:
                    if self._unknown or (piece is None and not self._decoded and not decoder.done):
                        raise self._not_events(head)
                    return
                lines_before = decoder.lines_read  # the decoder counts them as it reads
                if self._decoded > decoded_before:
                    quiet = 0
                else:
                    quiet += len(piece)
                    if quiet > quiet_limit:
                        raise self._scrubber.protocol_error(
                            FrameTooLargeError(
                                f"{quiet} bytes from {self._safe_url} without a single event "
                                f"(blank lines, comments or fields without data), over the limit "
                                f"of twice max_frame_bytes ({quiet_limit})",
                                line=lines_before,
                            )
                        )
                if progress is not None:
                    in_progress, boundary = progress.feed(piece)
                    if not in_progress:
                        event_started = None
                    elif event_started is None or boundary:
                        event_started = loop.time()
        finally:
            await chunks.aclose()  # the raw stream itself is closed with the response

    def _new_events(self, events: list[SliceItem], ids: list[str | None] | None) -> list[SliceItem]:
        """The slow path of a slice: the events not delivered before a reconnect, a
        ``RUN_ERROR`` masked, unknown types noted. A method, so that its loop variables
        do not stay alive in the reader's frame while the next read waits."""
        tracker = self._tracker
        batch: list[SliceItem] = []
        for event, event_id in zip(events, repeat(None) if ids is None else ids, strict=False):
            # Untagged events while no id is in force are always new (the tracker's own
            # first test): no call for them.
            if event_id is not None or tracker.last_id is not None:
                if not tracker.accept(event_id):
                    continue  # delivered before a reconnect
            else:
                tracker.progressed = True
            if event.__class__ is RunErrorEvent and self._scrubber:
                event = _scrub_run_error(event, self._scrubber)
            unknown = self._unknown
            if unknown is not None:
                if event.__class__ is not UnknownEvent:
                    self._unknown = None
                elif isinstance(unknown, set):
                    unknown.add(str(event.type))
                else:
                    self._unknown = {str(event.type)}
            batch.append(event)
        return batch

    def _deliver(self, batch: list[SliceItem]) -> list[SliceItem]:
        """Note whether a batch ends the run, as it is handed on."""
        last = batch[-1]
        self.last_was_terminal = not isinstance(last, PlainTextRun) and is_terminal(last)
        return batch

    # -- the watchdogs ----------------------------------------------------------------------

    def _read_timeout(self, event_started: float | None, now: float) -> tuple[float | None, Limit]:
        """How long the next read may wait, and which limit that is; raises when one of
        them has already run out."""
        options = self._options
        timeout: float | None = options.idle_timeout
        limit: Limit = "idle"
        candidates: list[tuple[float, Limit]] = []
        if event_started is not None and options.event_timeout is not None:
            candidates.append((event_started + options.event_timeout - now, "event"))
        remaining = self._deadline.remaining()
        if remaining is not None:
            candidates.append((remaining, "deadline"))
        for left, name in candidates:
            if timeout is None or left < timeout:
                timeout, limit = left, name
        if timeout is not None and timeout <= 0:
            raise self._timed_out(limit)
        return timeout, limit

    def _timed_out(self, limit: Limit) -> StreamTimeoutError:
        options = self._options
        if limit == "deadline":
            return self._deadline.exceeded(self._safe_url)
        if limit == "event":
            return StreamTimeoutError(
                f"an event from {self._safe_url} did not complete within "
                f"{options.event_timeout}s of its first byte (event_timeout); "
                "the server sends too slowly"
            )
        return StreamTimeoutError(
            f"no data from {self._safe_url} for {options.idle_timeout}s (idle_timeout); "
            "the server or the network stalled"
        )

    # -- a body that is no event stream -----------------------------------------------------

    async def _first_bytes(self, response: httpx.Response) -> bytes:
        """The start of a body that is no event stream, for the error; best effort."""
        collected = bytearray()
        chunks = decoded_body(response)

        async def excerpt() -> None:
            while len(collected) < BODY_START_BYTES:
                piece = await anext(chunks, None)
                if piece is None:
                    return
                collected.extend(piece)  # in place: the closure does not rebind it

        try:
            # One wait for the whole excerpt: a trickled page must not hold us up.
            await self._scope.run(
                asyncio.wait_for(excerpt(), self._deadline.bounded(self._options.idle_timeout))
            )
        except (TimeoutError, httpx.RequestError, ProtocolError):
            pass  # the status and the content type say enough
        finally:
            await chunks.aclose()
        return bytes(collected[:BODY_START_BYTES])

    def _not_events(self, head: ResponseHead) -> UnexpectedResponseError:
        start = bytes(self._body_start)
        what = diagnose(
            head,
            events=0,
            body_start=start,
            expect=self._expect,
            unknown_types=self._unknown or (),
        )
        return unexpected_response(
            head,
            what or "no event",
            url=self._safe_url,
            body_start=start,
            scrubber=self._scrubber,
            expect=self._expect,
        )

    def _too_deep(self, piece: bytes | None, lines_before: int) -> MalformedEventError:
        """A payload nested beyond what Python's JSON parser can recurse into.

        The event parser reports that itself; this is the net below it, for a parse
        that is not ours (the decoder re-reads refused payloads, e.g. as envelopes).
        """
        line = deep_nesting_line(piece, lines_before + 1) if piece else None
        what = "SSE event" if self._framing == "sse" else "NDJSON line"
        return MalformedEventError(
            f"{what}: payload is not valid JSON (nested too deeply) from {self._safe_url}",
            line=line,
        )


def _scrub_run_error(event: RunErrorEvent, scrubber: Scrubber) -> RunErrorEvent:
    """A RUN_ERROR whose text repeats our credentials, with them masked: its message
    becomes a RunError, shown and logged."""
    text = scrubber.text
    update: dict[str, Any] = {}
    for name in ("message", "code"):
        value = getattr(event, name)
        if value and text(value) != value:
            update[name] = text(value)
    detail = event.error
    if detail is not None:
        changes = {
            name: text(value)
            for name in ("message", "code")
            if (value := getattr(detail, name)) and text(value) != value
        }
        if changes:
            update["error"] = detail.model_copy(update=changes)
    return event.model_copy(update=update) if update else event
