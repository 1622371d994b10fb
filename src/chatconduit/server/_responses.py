"""Starlette responses for event streams (usable as is from FastAPI routes).

:class:`EventStreamResponse` differs from Starlette's ``StreamingResponse`` in
two ways that matter for agents:

* It always listens for ``http.disconnect`` while streaming. Starlette (for
  ASGI 2.4 servers) only notices a vanished client on the next write, which
  during a silent tool call may be minutes away; here the agent is cancelled as
  soon as the server reports the disconnect.
* The cancellation is delivered once (asyncio tasks, not a level-triggered
  anyio cancel scope), and the body generator is then closed explicitly, so the
  agent's ``finally`` blocks and the ``on_disconnect`` hook may still ``await``
  (bounded by ``close_timeout``).

This makes the responses asyncio-only, like uvicorn and hypercorn's default.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Mapping

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .._run_input import RunAgentInput
from ._dialect import Dialect
from ._errors import ErrorPayloadMapper
from ._errors import run_error_payload as default_error_payload
from ._heartbeat import aclose_quietly, raised_by_source
from ._http import NDJSON_HEADERS, SSE_HEADERS, merge_headers
from ._streams import (
    DEFAULT_HEARTBEAT,
    DisconnectHook,
    EventSource,
    http_stream,
    server_sent_events_stream,
)

__all__ = [
    "NDJSON_HEADERS",
    "SSE_HEADERS",
    "EventStreamResponse",
    "merge_headers",
    "to_http_response",
    "to_server_sent_events_response",
]


class EventStreamResponse(Response):
    """Streams ``content`` (bytes) and cancels it promptly when the client disconnects."""

    def __init__(
        self,
        content: AsyncIterable[bytes],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        background: BackgroundTask | None = None,
        close_timeout: float = 5.0,
    ) -> None:
        self.body_iterator = content
        self.status_code = status_code
        self.background = background
        self.close_timeout = close_timeout
        self.disconnected = False
        self.init_headers(dict(headers or {}))

    async def _stream(self, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # ASGI 2.4 servers raise on a write to a closed connection
            self.disconnected = True
        finally:
            # Runs the agent's finally blocks and the on_disconnect hook now, not at GC time.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.close_timeout):
                    await aclose_quietly(self.body_iterator)

    async def _watch(self, receive: Receive, streamer: asyncio.Task[None]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                streamer.cancel()
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streamer = asyncio.create_task(self._stream(send), name="chatconduit-stream")
        watcher = asyncio.create_task(self._watch(receive, streamer), name="chatconduit-watch")
        try:
            # Awaited directly, not through asyncio.wait: that kept a set, two coroutines,
            # a future and a closure of four cells alive for the whole stream.
            await streamer
        except asyncio.CancelledError as exc:
            if not raised_by_source(exc):
                raise  # *we* were cancelled (the stream with us), not just the stream
        except Exception:  # the stream's own error: raised below, after the cleanup
            pass
        finally:
            watcher.cancel()
            streamer.cancel()  # no-op when it has finished; needed if *we* were cancelled
            await asyncio.wait({streamer, watcher})
        if not streamer.cancelled() and (error := streamer.exception()) is not None:
            raise error
        if self.background is not None and not self.disconnected:
            await self.background()


def to_server_sent_events_response(
    events: EventSource,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    heartbeat: float = DEFAULT_HEARTBEAT,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    background: BackgroundTask | None = None,
    dialect: Dialect = "auto",
    params: RunAgentInput | None = None,
) -> EventStreamResponse:
    """An SSE response for ``events`` (TanStack's ``toServerSentEventsResponse``).

    Headers: ``text/event-stream``, ``Cache-Control: no-cache``,
    ``X-Accel-Buffering: no``, then ``headers`` on top. See
    :func:`~chatconduit.server.server_sent_events_stream` for the other options; pass
    ``params`` (the request) so that ``dialect="auto"`` answers in its client's dialect.
    """
    return EventStreamResponse(
        server_sent_events_stream(
            events,
            heartbeat=heartbeat,
            event_ids=event_ids,
            on_disconnect=on_disconnect,
            error_payload=error_payload,
            dialect=dialect,
            params=params,
        ),
        status_code,
        merge_headers(SSE_HEADERS, headers),
        background=background,
    )


def to_http_response(
    events: EventSource,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    heartbeat: float = 0.0,
    event_ids: bool = False,
    on_disconnect: DisconnectHook | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    background: BackgroundTask | None = None,
    dialect: Dialect = "auto",
    params: RunAgentInput | None = None,
) -> EventStreamResponse:
    """An NDJSON response for ``events`` (TanStack's ``toHttpResponse``).

    Unlike the 0.10 helper it sets ``Content-Type: application/x-ndjson`` and
    ``Cache-Control: no-cache`` (as TanStack does after 0.10); pass ``headers``
    to change them. Heartbeats are opt-in (``heartbeat=15``).
    """
    return EventStreamResponse(
        http_stream(
            events,
            heartbeat=heartbeat,
            event_ids=event_ids,
            on_disconnect=on_disconnect,
            error_payload=error_payload,
            dialect=dialect,
            params=params,
        ),
        status_code,
        merge_headers(NDJSON_HEADERS, headers),
        background=background,
    )
