"""``PullDriver``: requests through a pull adapter (``connect``: one response per request).

Each request consumes its own response directly, so there is no queue between reading
and processing, and no race where ``send_message`` returns before the last events are
applied (reference §5.3, "Race"). The connection status describes each request
(``connecting`` → ``connected`` → ``disconnected`` / ``error``) rather than a
subscription that stays ``connected`` forever; there is nothing to subscribe to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from typing import Any

from .._connection._abort import Aborted, AbortScope
from .._connection._http import HTTPStreamAdapter
from .._connection._iterables import close_iterator, to_async_iterator
from .._connection._protocols import ConnectConnectionAdapter
from .._events import BaseEvent, coerce_event
from .._events._text_runs import SliceItem
from .._exceptions import HTTPStatusError, ProtocolError, TransportError
from .._messages import UIMessage
from ._conversation import Conversation
from ._observable import ObservableState
from ._request import Request
from ._state import ChatConnectionStatus


def is_transport_failure(error: BaseException) -> bool:
    """Whether an error means the connection itself failed (vs. the agent reporting one)."""
    return isinstance(error, TransportError | HTTPStatusError | ProtocolError) or not isinstance(
        error, Exception
    )


def _reads_slices(adapter: object) -> bool:
    """Whether ``adapter`` is one of our HTTP adapters whose ``connect()`` is its own (not
    overridden by a subclass): then the driver reads the same run in slices. Any other
    adapter is read through its ``connect()``, event by event, as before."""
    return (
        isinstance(adapter, HTTPStreamAdapter)
        and type(adapter).connect is HTTPStreamAdapter.connect
        and type(adapter).connect_slices is HTTPStreamAdapter.connect_slices
    )


class PullDriver:
    """Runs each request by calling ``connect()`` and applying the response it returns."""

    kind = "pull"

    def __init__(
        self,
        adapter: ConnectConnectionAdapter,
        conversation: Conversation,
        observable: ObservableState,
    ) -> None:
        self.adapter = adapter
        self._conversation = conversation
        self._observable = observable

    def run(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> Awaitable[None]:
        """The coroutine that reads the reply (see the Driver protocol). Not a coroutine
        itself: it hands that one back, so a stream's await chain has no frame for it.
        The request body is made from ``messages`` and ``data`` when the run starts."""
        self._observable.set_connection(ChatConnectionStatus.CONNECTING)
        try:
            slices = self._slices(request, messages, data)
        except Exception as exc:
            self._ended(request, exc)
            raise
        if slices is None:
            return self._consume_in_scope(request, messages, data)
        # Our adapter's run watches the request's signal itself (an abort ends its reads
        # quietly), so only the other awaits need a scope: see _consume_slices.
        return self._consume_slices(request, slices)

    def _ended(self, request: Request, error: Exception | None) -> None:
        """The reply ended, failed with ``error`` or not: the connection is closed (or
        broke) and no run is going on any more, unless the request went stale (then
        whatever replaced it owns those)."""
        if request.is_stale():
            return
        failed = error is not None and is_transport_failure(error)
        observable = self._observable
        observable.set_connection(
            ChatConnectionStatus.ERROR if failed else ChatConnectionStatus.DISCONNECTED
        )
        observable.clear_runs()

    def _slices(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> AsyncGenerator[list[SliceItem], None] | None:
        """Our own adapter's run in slices, or ``None`` for any other adapter."""
        adapter = self.adapter
        if not _reads_slices(adapter):
            return None
        assert isinstance(adapter, HTTPStreamAdapter)
        # Text deltas as plain runs unless on_chunk wants each as an event (it would then
        # be made twice; one added meanwhile still gets them: on_events makes them).
        text_runs = self._observable.callbacks.on_chunk is None
        signal, run_context = request.signal, request.run_context
        return adapter.connect_slices(messages, data, signal, run_context, text_runs=text_runs)

    async def _consume_in_scope(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> None:
        """``connect()`` read inside one scope: an abort cancels whatever the consumption
        awaits (the adapter's next event, an async callback), never the processing between.
        Awaited from here, without a coroutine layer per step."""
        scope = AbortScope(request.signal)
        try:
            try:
                consumption = self._consume(request, messages, data)
                del messages, data
                await scope.run(consumption)
            except Aborted:
                pass  # stop() / reload(): the request is already stale
            finally:
                scope.close()
        except Exception as exc:
            self._ended(request, exc)
            raise
        self._ended(request, None)

    async def _consume(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> None:
        signal, run_context = request.signal, request.run_context
        result = self.adapter.connect(messages, data, signal, run_context)
        iterator = await to_async_iterator(result, "connect()")
        on_event = self._conversation.on_event
        calls = self._observable.calls
        try:
            first = True
            async for chunk in iterator:
                if request.is_stale():
                    return
                event = chunk if isinstance(chunk, BaseEvent) else coerce_event(chunk)
                if first:
                    first = False
                    self._observable.set_connection(ChatConnectionStatus.CONNECTED)
                on_event(event)
                if calls.queue:
                    await calls.flush()
        finally:
            # Closing the iterator closes the HTTP response: the server sees the
            # disconnect at once rather than when it next writes.
            await close_iterator(iterator)

    async def _consume_slices(
        self, request: Request, slices: AsyncGenerator[list[SliceItem], None]
    ) -> None:
        """The loop above over our own adapter's slices (typed events, never empty): one
        hand-over per network read. A slice is applied at once (``Conversation.on_events``:
        ``on_chunk`` still sees every event, in order; a run of deltas is announced once)
        and the async callbacks it queued are awaited after it."""
        conversation = self._conversation  # no bound method kept alive for the stream
        calls = self._observable.calls
        # For awaiting async callbacks, made by the first that is queued: one scope (its
        # coroutine and its place among the signal's watchers) per conversation for the
        # whole stream was a good part of what an open ChatClient kept for the collector.
        scope: AbortScope | None = None
        try:  # returns early only once the request went stale (_ended would do nothing)
            try:
                first = True
                async for batch in slices:
                    if request.is_stale():
                        return
                    if first:
                        first = False
                        self._observable.set_connection(ChatConnectionStatus.CONNECTED)
                    conversation.on_events(batch, request)
                    del batch  # applied: not kept while the next read waits
                    if calls.queue:
                        if scope is None:
                            scope = AbortScope(request.signal)
                        try:
                            await scope.run(calls.flush())
                        except Aborted:
                            return  # stop() / reload(): the request is already stale
            finally:
                if scope is not None:
                    scope.close()
                await slices.aclose()  # closes the HTTP response, as close_iterator does
        except Exception as exc:
            self._ended(request, exc)
            raise
        self._ended(request, None)

    def cancelled(self, request: Request) -> None:
        """Nothing to do: aborting the request closed its response."""

    def stopped(self) -> None:
        self._observable.set_connection(ChatConnectionStatus.DISCONNECTED)

    def subscribe(self, *, restart: bool = False) -> None:
        """Pull adapters have no subscription."""

    def abort(self) -> asyncio.Task[None] | None:
        return None
