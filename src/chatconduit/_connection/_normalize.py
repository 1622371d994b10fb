"""``normalize_connection_adapter``: every adapter, as the push (subscribe + send) shape.

Shape detection follows the reference (reference §3.2): by attribute presence, so an
object that *has* ``connect`` counts as a pull adapter even if the attribute
is ``None``; a plain mapping is checked by its keys. The error messages are
the reference's, word for word.

Both wrappers pass an adapter's ``join_run`` and ``hydrate`` through, as the 0.33
reference's ``normalizeConnectionAdapter`` does (``joinRun``, ``hydrate``): a join's
chunks are typed like ``subscribe``'s, and calling one the adapter lacks is an
``AdapterContractError`` (a ``TypeError``) naming it; :func:`adapter_supports` asks first.

A pull adapter is wrapped in :class:`ConnectAdapterWrapper` (reference §3.3): ``send``
runs ``connect`` and pushes every event into a queue that the newest
``subscribe()`` iterator owns. Where the reference loses a chunk (an aborted
subscriber's parked waiter stays registered and swallows the next push), here
an aborted or closed subscriber detaches itself and hands back whatever it had
not delivered, so the next subscriber gets it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from .._events import (
    Event,
    RunErrorDetail,
    RunErrorEvent,
    RunFinishedEvent,
    coerce_event,
    is_terminal,
)
from .._exceptions import AdapterContractError
from .._ids import generate_id, now_ms
from ._abort import Aborted, AbortScope, AbortSignal
from ._iterables import close_iterator, to_async_iterator
from ._protocols import Chunk, ConnectConnectionAdapter, NormalizedConnectionAdapter, RunContext

if TYPE_CHECKING:
    from ._hydrate import HydratedThread

__all__ = [
    "CapableConnectionAdapter",
    "ConnectAdapterWrapper",
    "NativePushAdapter",
    "adapter_supports",
    "normalize_connection_adapter",
    "require_capability",
]

# The optional capabilities passed through (0.33's joinRun and hydrate).
_OPTIONAL = ("join_run", "hydrate")

MSG_REQUIRED = "Connection adapter is required"
MSG_BOTH_MODES = (
    "Connection adapter must provide either connect or both subscribe and send, not both modes"
)
MSG_NEITHER = "Connection adapter must provide either connect or both subscribe and send"


def _has(obj: object, name: str) -> bool:
    if isinstance(obj, Mapping):
        return name in obj
    return hasattr(obj, name)


def _get(obj: object, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def _capability(original: object, name: str) -> Any:
    """``original``'s callable ``name`` (an attribute, or a mapping's key), or ``None``."""
    found = original.get(name) if isinstance(original, Mapping) else getattr(original, name, None)
    return found if callable(found) else None


def adapter_supports(adapter: object, name: str) -> bool:
    """Whether a normalized adapter's original has ``name`` (``"join_run"`` / ``"hydrate"``)."""
    original = getattr(adapter, "original", adapter)
    return _capability(original, name) is not None


def require_capability(adapter: object, name: str) -> None:
    """Raise the ``AdapterContractError`` :meth:`join_run` / :meth:`hydrate` would, now,
    when a normalized adapter's original lacks ``name``."""
    original = getattr(adapter, "original", adapter)
    if _capability(original, name) is None:
        raise _missing(original, name)


def _missing(original: object, name: str) -> AdapterContractError:
    what = {"join_run": "join a run", "hydrate": "hydrate a thread"}[name]
    return AdapterContractError(
        f"the connection adapter {type(original).__name__} has no {name}(), so it cannot "
        f"{what}; use one that has (fetch_server_sent_events, fetch_http_stream)"
    )


class CapableConnectionAdapter(NormalizedConnectionAdapter, Protocol):
    """What :func:`normalize_connection_adapter` returns: the push shape, and the
    original adapter's ``join_run`` and ``hydrate`` (``AdapterContractError`` when it
    has none; :func:`adapter_supports` asks first)."""

    def join_run(
        self,
        run_id: str,
        *,
        offset: str | None = None,
        abort_signal: AbortSignal | None = None,
    ) -> AsyncIterator[Event]: ...

    async def hydrate(self, thread_id: str) -> HydratedThread: ...


class _Capabilities:
    """``join_run`` and ``hydrate``, passed through to :attr:`original`."""

    original: object

    def join_run(
        self,
        run_id: str,
        *,
        offset: str | None = None,
        abort_signal: AbortSignal | None = None,
    ) -> AsyncIterator[Event]:
        """The original's ``join_run(run_id, ...)``, its chunks typed. Raises
        ``AdapterContractError`` at once when the original has none."""
        join = _capability(self.original, "join_run")
        if join is None:
            raise _missing(self.original, "join_run")
        if offset is None:
            return _typed(join(run_id, abort_signal=abort_signal), "join_run()")
        return _typed(join(run_id, offset=offset, abort_signal=abort_signal), "join_run()")

    async def hydrate(self, thread_id: str) -> HydratedThread:
        """The original's ``hydrate(thread_id)``. Raises ``AdapterContractError`` when the
        original has none."""
        hydrate = _capability(self.original, "hydrate")
        if hydrate is None:
            raise _missing(self.original, "hydrate")
        result: HydratedThread = await hydrate(thread_id)
        return result


class NativePushAdapter(_Capabilities):
    """A push adapter as given, its events typed: dicts become events, and a chunk
    that is not an event is a ``MalformedEventError``. Its own ``subscribe`` and
    ``send`` are called, bound to the original object (reference §3.2)."""

    def __init__(self, subscribe: Any, send: Any, original: object) -> None:
        self._subscribe = subscribe
        self._send = send
        self.original = original

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Event]:
        return _typed(self._subscribe(abort_signal))

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        await self._send(messages, data, abort_signal, run_context)

    def __repr__(self) -> str:
        return f"NativePushAdapter({self.original!r})"


async def _typed(chunks: Any, what: str = "subscribe()") -> AsyncIterator[Event]:
    iterator = await to_async_iterator(chunks, what)
    try:
        async for chunk in iterator:
            yield coerce_event(chunk)
    finally:
        await close_iterator(iterator)


class _MappingConnect:
    def __init__(self, connection: Mapping[str, Any]) -> None:
        self.connect = connection["connect"]
        for name in _OPTIONAL:
            if name in connection:
                setattr(self, name, connection[name])


def normalize_connection_adapter(connection: object) -> CapableConnectionAdapter:
    """Return ``connection`` in the push shape, or raise ``AdapterContractError``.

    A push adapter's own ``subscribe``/``send`` are used (its chunks typed on the
    way out); a pull adapter is wrapped in a new :class:`ConnectAdapterWrapper`
    (one per call: the wrapper holds the queue).
    """
    if connection is None or connection is False:
        raise AdapterContractError(MSG_REQUIRED)
    has_connect = _has(connection, "connect")
    has_subscribe = _has(connection, "subscribe")
    has_send = _has(connection, "send")
    if has_connect and (has_subscribe or has_send):
        raise AdapterContractError(MSG_BOTH_MODES)
    if has_subscribe and has_send:
        return NativePushAdapter(
            _get(connection, "subscribe"), _get(connection, "send"), connection
        )
    if not has_connect:
        raise AdapterContractError(MSG_NEITHER)
    if isinstance(connection, Mapping):
        connection = _MappingConnect(connection)
    return ConnectAdapterWrapper(cast(ConnectConnectionAdapter, connection))


class _Subscriber:
    """One ``subscribe()`` iterator of a :class:`ConnectAdapterWrapper`.

    Ends only when its abort signal aborts or it is closed (``aclose``, or the
    consuming task is cancelled), as in the reference.
    """

    def __init__(self, owner: ConnectAdapterWrapper, signal: AbortSignal | None) -> None:
        self._owner = owner
        self._signal = signal
        self.queue: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self._remove_listener: Callable[[], None] | None = None
        if signal is not None:
            self._remove_listener = signal.add_listener(self._on_abort)

    def __aiter__(self) -> _Subscriber:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self.closed or (self._signal is not None and self._signal.aborted):
                self._close()
                raise StopAsyncIteration
            if self.queue:
                return self.queue.popleft()
            loop = asyncio.get_running_loop()
            self._loop = loop
            self._waiter = loop.create_future()
            try:
                # A cancelled wait loses nothing: pushes land in ``queue``, never in
                # the waiter, and a newer subscriber takes the queue over.
                await self._waiter
            finally:
                self._waiter = None

    def wake(self) -> None:
        # Called on the loop thread (by push) or via call_soon_threadsafe (by an abort).
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_abort(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake)

    def _close(self) -> None:
        if self.closed and self._remove_listener is None:
            return
        self.closed = True
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self._owner._detach(self)

    async def aclose(self) -> None:
        self._close()
        self.wake()


class ConnectAdapterWrapper(_Capabilities):
    """A pull adapter seen through the push shape (``subscribe`` + ``send``)."""

    def __init__(self, adapter: ConnectConnectionAdapter) -> None:
        self._adapter = adapter
        # Pushed while no live subscriber owned them; made when the first one is.
        self._orphans: deque[Event] | None = None
        self._active: _Subscriber | None = None

    @property
    def adapter(self) -> ConnectConnectionAdapter:
        """The wrapped pull adapter."""
        return self._adapter

    @property
    def original(self) -> object:  # type: ignore[override]
        """The wrapped pull adapter (whose ``join_run`` / ``hydrate`` are passed through)."""
        return self._adapter

    def __repr__(self) -> str:
        return f"ConnectAdapterWrapper({self._adapter!r})"

    # -- the queue ------------------------------------------------------------------------

    def _push(self, event: Event) -> None:
        active = self._active
        if active is None or active.closed:
            if self._orphans is None:
                self._orphans = deque()
            self._orphans.append(event)
            return
        active.queue.append(event)
        active.wake()

    def _detach(self, subscriber: _Subscriber) -> None:
        if self._active is subscriber:
            self._active = None
            # Undelivered events go back to the pool for the next subscriber.
            if subscriber.queue:
                if self._orphans is None:
                    self._orphans = deque()
                self._orphans.extend(subscriber.queue)
                subscriber.queue.clear()

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Event]:
        """The session's event stream. The newest subscriber takes over everything undelivered."""
        subscriber = _Subscriber(self, abort_signal)
        previous = self._active
        if previous is not None:
            # Ownership transfer: the previous subscriber keeps waiting but gets nothing more.
            subscriber.queue.extend(previous.queue)
            previous.queue.clear()
        if self._orphans:
            subscriber.queue.extend(self._orphans)
            self._orphans.clear()
        self._active = subscriber
        if abort_signal is not None and abort_signal.aborted:
            subscriber._close()
        return subscriber

    # -- a request ------------------------------------------------------------------------

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        """Run ``connect`` and push its events; resolves when the stream has been read.

        No terminal event → a synthesized RUN_FINISHED. ``connect`` raised → a
        synthesized RUN_ERROR (unless the stream already ended the run), then the
        error is raised again. Aborted → nothing synthesized, and the pull stream
        is closed even if the adapter ignores the signal.
        """
        saw_terminal = False
        scope = AbortScope(abort_signal)
        iterator: AsyncIterator[Chunk] | None = None
        try:
            result = self._adapter.connect(messages, data, abort_signal, run_context)
            events = await scope.run(to_async_iterator(result, "connect()"))
            iterator = events
            while True:
                try:
                    chunk = await scope.run(anext(events))
                except StopAsyncIteration:
                    break
                event = coerce_event(chunk)
                if is_terminal(event):
                    saw_terminal = True
                self._push(event)
        except Aborted:
            return
        except Exception as exc:
            if not saw_terminal and not scope.aborted:
                self._push(_synthesized_error(exc, run_context))
            raise
        finally:
            scope.close()
            await close_iterator(iterator)
        if not saw_terminal and not scope.aborted:
            self._push(_synthesized_finish(run_context))


def _ids(run_context: RunContext | None) -> tuple[str, str]:
    thread_id = run_context.thread_id if run_context else None
    run_id = run_context.run_id if run_context else None
    return thread_id or generate_id("thread"), run_id or generate_id("run")


def _synthesized_finish(run_context: RunContext | None) -> RunFinishedEvent:
    thread_id, run_id = _ids(run_context)
    return RunFinishedEvent(
        thread_id=thread_id,
        run_id=run_id,
        model="connect-wrapper",
        timestamp=now_ms(),
        finish_reason="stop",
    )


def _synthesized_error(exc: BaseException, run_context: RunContext | None) -> RunErrorEvent:
    thread_id, run_id = _ids(run_context)
    message = str(exc) or type(exc).__name__
    return RunErrorEvent(
        thread_id=thread_id,
        run_id=run_id,
        timestamp=now_ms(),
        message=message,
        error=RunErrorDetail(message=message),
    )
