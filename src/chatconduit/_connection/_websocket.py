"""``websocket(url, options)``: TanStack 0.58's WebSocket protocol as a pull adapter.

The server side is ``toWebSocketStream`` (or :func:`chatconduit.server.websocket_endpoint`):
one socket per conversation, opened lazily at ``?runId=<runId of the first turn>``
and reused across turns. Each ``connect()`` (one turn) writes one RunAgentInput
text frame and yields the events that come back until the turn ends *as the
server defines it*: a ``RUN_ERROR``, a ``RUN_FINISHED`` whose finish reason (top
level or ``metadata.tanstack.finishReason``) is not ``tool_calls``, or one whose
``outcome.type`` is ``interrupt``. The intermediate ``RUN_FINISHED`` of a server
tool loop does not end the turn.

``{"type": "ping"}`` frames are skipped, ``{id, chunk}`` envelopes (durable servers)
unwrapped. A socket that drops mid-turn after an id was seen is reopened at
``?runId=<id>&offset=<last id>`` (the server replays strictly after it; an id seen
twice is skipped), bounded by :class:`ResumePolicy`. Opening a socket (the first
of a turn) is retried under :class:`RetryPolicy`. A stop (abort) sends
``{"type": "abort", "runId": ...}`` and then closes the socket, so frames of the
aborted run still in flight can never leak into the next turn; the next turn
opens a fresh socket. So does a turn that ends any other way than its own end.
``join_run(run_id)`` reads a durable run's log on a socket of its own
(``?runId=&offset=-1``) until the server closes it with 1000.

Errors are typed: a refused handshake is :class:`HTTPStatusError` (status,
redacted headers, scrubbed body), a socket closed mid-turn without a way to
resume is :class:`WebSocketClosedError` (close code and reason), silence beyond
``idle_timeout`` :class:`StreamTimeoutError`, a frame over ``max_frame_bytes``
:class:`FrameTooLargeError`. URLs in messages go through ``redact_url``; header
values and whatever the server echoes through the request's ``Scrubber``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from .._codec import DEFAULT_MAX_FRAME_BYTES
from .._codec._event_decoder import decode_event_payload
from .._events import Event
from .._exceptions import (
    ConnectError,
    FrameTooLargeError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StreamTimeoutError,
    WebSocketClosedError,
)
from .._redact import Scrubber, redact_url
from ._abort import Aborted, AbortScope, AbortSignal
from ._protocols import RunContext
from ._request import encode_run_body
from ._resume import ResumePolicy
from ._retry import RetryPolicy, coerce_retry_policy, is_retryable_status
from ._websocket_wire import (
    RunResume,
    close_code,
    close_reason,
    ends_turn,
    status_error,
    with_query,
)

__all__ = [
    "WebSocketAdapter",
    "WebSocketOptions",
    "ends_turn",
    "websocket",
]

logger = logging.getLogger("chatconduit.websocket")

HeadersValue: TypeAlias = Mapping[str, str]
HeadersInput: TypeAlias = HeadersValue | Callable[[], HeadersValue | Awaitable[HeadersValue]] | None

DEFAULT_OPEN_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 120.0  # 0.58 pings every 30 s
_ABORT_SEND_TIMEOUT = 2.0
_CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """Options of :func:`websocket`.

    - ``headers``: sent on the handshake; a mapping, or a callable (sync or async)
      called for every socket opened (a refreshed token reaches the reconnect).
    - ``subprotocols``: offered on the handshake (``Sec-WebSocket-Protocol``).
    - ``body``: merged into ``forwardedProps`` with the lowest precedence.
    - ``open_timeout``: seconds for the TCP + WebSocket handshake.
    - ``idle_timeout``: seconds without any frame (pings included) during a turn
      before the socket is given up (resumed when it can be, else
      :class:`StreamTimeoutError`). Never runs between turns. ``None``: no limit.
    - ``max_frame_bytes``: the largest frame accepted (:class:`FrameTooLargeError`).
    - ``retry``: :class:`RetryPolicy` for opening the socket of a turn; ``False`` disables.
    - ``resume``: :class:`ResumePolicy` for a drop after an envelope id; ``False`` disables.
    """

    headers: HeadersInput = None
    subprotocols: Sequence[str] | None = None
    body: Mapping[str, Any] | None = None
    open_timeout: float | None = DEFAULT_OPEN_TIMEOUT
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    retry: RetryPolicy | bool = True
    resume: ResumePolicy | bool = True

    def __post_init__(self) -> None:
        for name in ("open_timeout", "idle_timeout"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise ValueError(
                    f"WebSocketOptions.{name} must be a positive number or None, got {value!r}"
                )
        if not isinstance(self.max_frame_bytes, int) or self.max_frame_bytes < 1:
            raise ValueError(
                "WebSocketOptions.max_frame_bytes must be a positive int, "
                f"got {self.max_frame_bytes!r}"
            )
        if isinstance(self.subprotocols, str):
            raise TypeError("WebSocketOptions.subprotocols must be a sequence of strings")


class _Socket:
    """One open socket and what the adapter knows about it."""

    __slots__ = ("conn", "reusable", "scrubber", "url")

    def __init__(self, conn: Any, url: str, scrubber: Scrubber, *, reusable: bool) -> None:
        self.conn = conn
        self.url = url
        self.scrubber = scrubber
        self.reusable = reusable

    @property
    def is_open(self) -> bool:
        from websockets.protocol import State

        return bool(self.conn.state is State.OPEN)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), _CLOSE_TIMEOUT)


class WebSocketBase:
    """What both WebSocket adapters share: options, opening sockets (with retries), closing."""

    def __init__(self, url: str, options: WebSocketOptions | Mapping[str, Any] | None = None):
        if not isinstance(url, str) or not url.lower().startswith(("ws://", "wss://")):
            raise ValueError(
                f"websocket url must start with ws:// or wss://, got {redact_url(str(url))!r}"
            )
        if options is None:
            options = WebSocketOptions()
        elif isinstance(options, Mapping):
            options = WebSocketOptions(**options)
        self.url = url
        self.options = options
        self._retry = coerce_retry_policy(options.retry)
        resume = options.resume
        self._resume = (
            ResumePolicy()
            if resume is True or resume is None
            else ResumePolicy.disabled()
            if resume is False
            else resume
        )
        self._socket: _Socket | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self.url)!r})"

    # -- sockets --------------------------------------------------------------------------

    async def _headers(self) -> dict[str, str]:
        given = self.options.headers
        if given is None:
            return {}
        value: Any = given() if callable(given) else given
        if inspect.isawaitable(value):
            value = await value
        return dict(value or {})

    async def _open_once(self, url: str, *, reusable: bool) -> _Socket:
        from websockets.asyncio.client import connect as ws_connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        headers = await self._headers()
        scrubber = Scrubber.for_request(url, headers)
        options = self.options
        try:
            conn = await ws_connect(
                url,
                additional_headers=headers,
                subprotocols=list(options.subprotocols) if options.subprotocols else None,  # type: ignore[arg-type]
                open_timeout=options.open_timeout,
                max_size=options.max_frame_bytes,
                ping_interval=None,  # the application's own {"type":"ping"} frames keep it alive
                close_timeout=_CLOSE_TIMEOUT,
            )
        except InvalidStatus as exc:
            raise status_error(exc, url, scrubber) from None
        except TimeoutError:
            raise StreamTimeoutError(
                f"WebSocket handshake with {redact_url(url)} timed out "
                f"after {options.open_timeout} s"
            ) from None
        except (OSError, InvalidHandshake) as exc:
            detail = scrubber.text(str(exc))
            raise ConnectError(
                f"could not open a WebSocket to {redact_url(url)}: {type(exc).__name__}: {detail}"
            ) from None
        return _Socket(conn, url, scrubber, reusable=reusable)

    async def _open(self, url: str, *, reusable: bool, scope: AbortScope) -> _Socket:
        """Open a socket, retrying refusals and network failures under the retry policy."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await scope.run(self._open_once(url, reusable=reusable))
            except HTTPStatusError as exc:
                if not is_retryable_status(exc.status_code):
                    raise
                delay = self._retry.delay_for(attempt, exc.retry_after)
                if delay is None:
                    raise
            except (ConnectError, StreamTimeoutError):
                if not self._retry.retry_connect_errors:
                    raise
                delay = self._retry.delay_for(attempt)
                if delay is None:
                    raise
            await scope.run(asyncio.sleep(delay))

    async def _drop(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            await sock.close()

    async def aclose(self) -> None:
        """Close the conversation's socket (a later turn opens a new one)."""
        await self._drop()

    def _closed_error(
        self, exc: BaseException, sock: _Socket, until: str = "the turn ended"
    ) -> Exception:
        if isinstance(exc, StreamTimeoutError):
            return exc
        code = close_code(exc)
        reason = sock.scrubber.text(close_reason(exc))
        detail = f"{code}: {reason}" if reason else str(code)
        return WebSocketClosedError(
            f"WebSocket {redact_url(sock.url)} closed before {until} ({detail})",
            code=code,
            reason=reason,
        )

    def _too_large(self, exc: BaseException) -> FrameTooLargeError | None:
        if 1009 in (close_code(exc), close_code(exc, "sent")):
            return FrameTooLargeError(
                f"a WebSocket frame exceeded max_frame_bytes ({self.options.max_frame_bytes})"
            )
        return None

    def _decode(self, frame: str | bytes, sock: _Socket) -> tuple[Event, str | None] | None:
        """One frame: ``None`` for a ping, else the event and its envelope id."""
        if isinstance(frame, bytes):
            raise MalformedEventError("a binary WebSocket frame arrived; events are text frames")
        try:
            return decode_event_payload(frame)
        except ProtocolError as error:
            raise sock.scrubber.protocol_error(error) from None


class WebSocketAdapter(WebSocketBase):
    """A pull (``connect``) adapter speaking TanStack 0.58's WebSocket protocol.

    One socket serves the whole conversation; :meth:`aclose` closes it.
    """

    # -- a turn ---------------------------------------------------------------------------

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Event]:
        """Send one RunAgentInput frame and yield the turn's events."""
        run_id, body = encode_run_body(messages, data, run_context, self.options.body)
        return self._turn(body.decode("utf-8", "surrogatepass"), run_id, abort_signal)

    async def _turn(
        self, body: str, run_id: str, abort_signal: AbortSignal | None
    ) -> AsyncIterator[Event]:
        from websockets.exceptions import ConnectionClosed

        scope = AbortScope(abort_signal)
        async with self._lock:
            finished = False
            sent = False
            try:
                sock = await self._socket_for(run_id, body, scope)
                sent = True
                resume = RunResume(run_id, self._resume)
                while True:
                    try:
                        frame = await scope.run(self._recv(sock))
                    except (ConnectionClosed, StreamTimeoutError) as exc:
                        too_large = self._too_large(exc)
                        if too_large is not None:
                            raise too_large from None
                        if not resume.resumable:
                            raise self._closed_error(exc, sock) from None
                        delay = resume.next_delay()
                        await self._drop()
                        await scope.run(asyncio.sleep(delay))
                        assert resume.last_id is not None
                        target = with_query(self.url, runId=run_id, offset=resume.last_id)
                        sock = await self._open(target, reusable=False, scope=scope)
                        self._socket = sock
                        continue
                    decoded = self._decode(frame, sock)
                    if decoded is None:
                        continue
                    event, event_id = decoded
                    if not resume.is_new(event_id):
                        continue  # the replayed boundary after a resume
                    yield event
                    if ends_turn(event):
                        finished = True
                        return
            except Aborted:
                return
            finally:
                # Off the signal's listeners first (nothing below awaits through the
                # scope): a signal that outlives the turn (one for many calls) would
                # otherwise collect a scope per turn.
                scope.close()
                if not finished:
                    await self._abandon(run_id, sent=sent)
                elif self._socket is not None and not self._socket.reusable:
                    await self._drop()  # a resume socket serves one run only

    # -- joining a durable run --------------------------------------------------------------

    def join_run(
        self,
        run_id: str,
        *,
        offset: str | None = None,
        abort_signal: AbortSignal | None = None,
    ) -> AsyncIterator[Event]:
        """Yield the events of a durable run from the server's log (the reference's
        ``webSocket().joinRun``), on a socket of its own opened at
        ``?runId=<run_id>&offset=<offset or -1>``.

        The server replays the log strictly after ``offset``, goes on live while the run
        still produces, and closes with 1000 at the log's end, which ends the iteration.
        A drop before that is resumed after the last envelope id seen, under
        :class:`ResumePolicy`; any other close (1008 "unknown run", say) raises
        :class:`WebSocketClosedError` with its code and reason.
        """
        if not isinstance(run_id, str) or not run_id:
            raise ValueError(f"run_id must be a non-empty str, got {run_id!r}")
        return self._join(run_id, offset, AbortScope(abort_signal))

    async def _join(
        self, run_id: str, offset: str | None, scope: AbortScope
    ) -> AsyncIterator[Event]:
        from websockets.exceptions import ConnectionClosed

        resume = RunResume(run_id, self._resume, after=offset)
        sock: _Socket | None = None
        try:
            while True:
                if sock is None:
                    target = with_query(self.url, runId=run_id, offset=resume.last_id or "-1")
                    sock = await self._open(target, reusable=False, scope=scope)
                try:
                    frame = await scope.run(self._recv(sock))
                except (ConnectionClosed, StreamTimeoutError) as exc:
                    too_large = self._too_large(exc)
                    if too_large is not None:
                        raise too_large from None
                    if isinstance(exc, ConnectionClosed) and close_code(exc) == 1000:
                        return  # the end of the run's log
                    if not resume.resumable:
                        raise self._closed_error(exc, sock, "the run's log ended") from None
                    delay = resume.next_delay("joining")
                    await sock.close()
                    sock = None
                    await scope.run(asyncio.sleep(delay))
                    continue
                decoded = self._decode(frame, sock)
                if decoded is None:
                    continue  # a heartbeat ping
                event, event_id = decoded
                if resume.is_new(event_id):
                    yield event
        except Aborted:
            return
        finally:
            scope.close()  # off the signal's listeners, as in _turn
            if sock is not None:
                await sock.close()

    async def _socket_for(self, run_id: str, body: str, scope: AbortScope) -> _Socket:
        """The conversation's socket (opened at ``?runId=`` if needed), with ``body`` sent."""
        from websockets.exceptions import ConnectionClosed

        sock = self._socket
        if sock is not None and sock.is_open:
            try:
                await scope.run(sock.conn.send(body))
                return sock
            except ConnectionClosed:
                pass  # closed between turns: nothing of this turn reached it
        await self._drop()
        sock = await self._open(with_query(self.url, runId=run_id), reusable=True, scope=scope)
        self._socket = sock
        await scope.run(sock.conn.send(body))
        return sock

    async def _recv(self, sock: _Socket) -> str | bytes:
        timeout = self.options.idle_timeout
        try:
            frame: str | bytes = await asyncio.wait_for(sock.conn.recv(), timeout)
        except TimeoutError:
            raise StreamTimeoutError(
                f"no WebSocket frame from {redact_url(sock.url)} for {timeout} s"
            ) from None
        return frame

    async def _abandon(self, run_id: str, *, sent: bool) -> None:
        """The turn ended early (abort, error, consumer gone): tell the server, drop the socket."""
        sock = self._socket
        if sock is None:
            return
        if sent and sock.is_open:
            frame = json.dumps({"type": "abort", "runId": run_id})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sock.conn.send(frame), _ABORT_SEND_TIMEOUT)
        await self._drop()


def websocket(
    url: str, options: WebSocketOptions | Mapping[str, Any] | None = None
) -> WebSocketAdapter:
    """A pull adapter for TanStack 0.58's ``toWebSocketStream`` (and
    :func:`chatconduit.server.websocket_endpoint`). See :class:`WebSocketOptions`."""
    return WebSocketAdapter(url, options)
