"""``websocket_push(url, options)``: the WebSocket protocol in the push shape, like 0.33's
``webSocket()``: ``subscribe()`` yields every event the long-lived socket brings, ``send()``
writes one RunAgentInput frame (opening the socket at ``?runId=`` first if needed).

One background reader per socket hands events to every live subscriber. An abort sends
``{"type": "abort", "runId"}`` and keeps the socket (the client drops the stopped run's
events by run id). A socket that drops mid-turn after an envelope id is reopened at
``?runId=&offset=<last id>`` (ids seen twice are skipped); otherwise subscribers get
:class:`WebSocketClosedError`. A drop between turns is quiet: the next ``send`` reopens.
Options, errors and secrets as for :func:`websocket` (see ``_websocket``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from .._events import Event
from .._exceptions import ChatConduitError, ReconnectLimitError
from ._abort import Aborted, AbortScope, AbortSignal
from ._protocols import RunContext
from ._request import encode_run_body
from ._websocket import _ABORT_SEND_TIMEOUT, WebSocketBase, WebSocketOptions, _Socket
from ._websocket_wire import RunResume, ends_turn, with_query

__all__ = ["WebSocketPushAdapter", "websocket_push"]

_Item = Event | BaseException


def _nothing() -> None:
    """A turn with no abort listener to take off."""


class _Turn:
    """The run the last ``send`` started: whether it ended or was aborted, and what
    resuming it needs."""

    __slots__ = ("_unlisten", "aborted", "ended", "resume", "run_id")

    def __init__(self, run_id: str, resume: RunResume) -> None:
        self.run_id = run_id
        self.resume = resume
        self.ended = False
        self.aborted = False
        self._unlisten: Callable[[], None] = _nothing

    def listen(self, signal: AbortSignal, listener: Callable[[], object]) -> None:
        """Call ``listener`` if ``signal`` aborts while this turn is on."""
        self._unlisten = signal.add_listener(listener)

    def forget_abort(self) -> None:
        """Take the listener off the signal once the turn is over (it ended, or a new one
        replaced it): a signal shared by many sends would otherwise collect one per send.
        The remover is dropped too: it holds the listener, which holds this turn."""
        unlisten, self._unlisten = self._unlisten, _nothing
        unlisten()


class WebSocketPushAdapter(WebSocketBase):
    """A push (``subscribe`` + ``send``) adapter over one long-lived WebSocket."""

    def __init__(self, url: str, options: WebSocketOptions | Mapping[str, Any] | None = None):
        super().__init__(url, options)
        self._listeners: set[asyncio.Queue[_Item]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._turn: _Turn | None = None
        self._send_lock = asyncio.Lock()

    # -- subscribe ------------------------------------------------------------------------

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Event]:
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._listeners.add(queue)
        return self._iterate(queue, abort_signal)

    async def _iterate(
        self, queue: asyncio.Queue[_Item], signal: AbortSignal | None
    ) -> AsyncIterator[Event]:
        scope = AbortScope(signal)
        try:
            while True:
                try:
                    item = await scope.run(queue.get())
                except Aborted:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            scope.close()  # off the signal's listeners
            self._listeners.discard(queue)

    def _push(self, item: _Item) -> None:
        for queue in list(self._listeners):
            queue.put_nowait(item)

    # -- send -----------------------------------------------------------------------------

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        """Write one RunAgentInput frame; the events arrive through ``subscribe()``."""
        run_id, encoded = encode_run_body(messages, data, run_context, self.options.body)
        body = encoded.decode("utf-8", "surrogatepass")
        scope = AbortScope(abort_signal)
        try:
            async with self._send_lock:
                sock = self._socket
                if sock is None or not sock.is_open or not sock.reusable:
                    await self._stop_reader()
                    target = with_query(self.url, runId=run_id)
                    sock = await self._open(target, reusable=True, scope=scope)
                    self._socket = sock
                    self._start_reader(sock)
                turn = _Turn(run_id, RunResume(run_id, self._resume))
                if self._turn is not None:
                    self._turn.forget_abort()
                self._turn = turn
                if abort_signal is not None:
                    loop = asyncio.get_running_loop()
                    turn.listen(
                        abort_signal, lambda: loop.call_soon_threadsafe(self._on_abort, turn)
                    )
                await scope.run(sock.conn.send(body))
        except Aborted:
            return
        finally:
            scope.close()  # off the signal's listeners (the turn's own stays, above)

    def _on_abort(self, turn: _Turn) -> None:
        if turn is not self._turn or turn.ended or turn.aborted:
            return
        turn.aborted = True
        sock = self._socket
        if sock is None or not sock.is_open or not sock.reusable:
            return
        frame = json.dumps({"type": "abort", "runId": turn.run_id})

        async def tell() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sock.conn.send(frame), _ABORT_SEND_TIMEOUT)

        task = asyncio.ensure_future(tell())
        _background.add(task)
        task.add_done_callback(_background.discard)

    # -- the reader -----------------------------------------------------------------------

    def _start_reader(self, sock: _Socket) -> None:
        self._reader = asyncio.create_task(self._read(sock), name="chatconduit-ws-reader")

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        await self._drop()

    async def aclose(self) -> None:
        """Stop reading and close the socket; subscribers see nothing more."""
        if self._turn is not None:
            self._turn.forget_abort()
        await self._stop_reader()

    def _in_turn(self) -> _Turn | None:
        turn = self._turn
        return turn if turn is not None and not turn.ended and not turn.aborted else None

    async def _read(self, sock: _Socket) -> None:
        from websockets.exceptions import ConnectionClosed

        from .._exceptions import StreamTimeoutError

        while True:
            try:
                timeout = self.options.idle_timeout if self._in_turn() else None
                try:
                    frame = await asyncio.wait_for(sock.conn.recv(), timeout)
                except TimeoutError:
                    raise StreamTimeoutError(
                        f"no WebSocket frame for {timeout} s during a turn"
                    ) from None
            except (ConnectionClosed, StreamTimeoutError) as exc:
                turn = self._in_turn()
                too_large = self._too_large(exc)
                if turn is None and too_large is None:
                    if self._socket is sock:
                        self._socket = None  # closed between turns: the next send reopens
                    return
                if too_large is None and turn is not None and turn.resume.last_id is not None:
                    try:
                        sock = await self._reopen(turn)
                    except ChatConduitError as error:
                        self._fail(error)
                        return
                    continue
                self._fail(too_large or self._closed_error(exc, sock))
                return
            try:
                decoded = self._decode(frame, sock)
            except ChatConduitError as error:
                self._fail(error)
                return
            if decoded is None:
                continue
            event, event_id = decoded
            turn = self._turn
            if turn is not None and not turn.resume.is_new(event_id):
                continue  # the replayed boundary after a resume
            self._push(event)
            if turn is not None and ends_turn(event):
                turn.ended = True
                turn.forget_abort()
                if not sock.reusable:
                    await self._drop()  # a resume socket serves one run only
                    return

    async def _reopen(self, turn: _Turn) -> _Socket:
        resume = turn.resume
        if not resume.resumable:
            raise ReconnectLimitError("resuming is disabled (resume=False)")
        delay = resume.next_delay()
        await self._drop()
        await asyncio.sleep(delay)
        assert resume.last_id is not None
        target = with_query(self.url, runId=turn.run_id, offset=resume.last_id)
        sock = await self._open(target, reusable=False, scope=AbortScope(None))
        self._socket = sock
        return sock

    def _fail(self, error: BaseException) -> None:
        self._push(error)
        sock, self._socket = self._socket, None
        if sock is not None:
            task = asyncio.ensure_future(sock.close())
            _background.add(task)
            task.add_done_callback(_background.discard)


_background: set[asyncio.Future[None]] = set()


def websocket_push(
    url: str, options: WebSocketOptions | Mapping[str, Any] | None = None
) -> WebSocketPushAdapter:
    """The push-shape WebSocket adapter (``subscribe`` + ``send`` on one socket), as
    0.33's ``webSocket()``. See :class:`WebSocketOptions`."""
    return WebSocketPushAdapter(url, options)
