"""Abort signals, as in the DOM, plus the glue that turns an abort into asyncio cancellation.

The reference threads an ``AbortSignal`` through every adapter call, so users
who port adapters expect one. In asyncio the natural way to stop a coroutine is
to cancel its task, so both must work: an abort cancels only the await that is
blocked on the network (see :class:`AbortScope`), and plain task cancellation
needs no help at all.

``abort()`` may be called from any thread (a synchronous UI thread stopping an
async run is the common case), so everything that wakes a coroutine goes
through ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

__all__ = ["AbortController", "AbortScope", "AbortSignal", "Aborted"]

T = TypeVar("T")

Listener = Callable[[], object]  # the result, if any, is ignored


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AbortSignal:
    """An abort flag to watch: ``aborted``, ``reason``, listeners and ``wait()``."""

    __slots__ = ("_aborted", "_listeners", "_lock", "_reason")

    def __init__(self) -> None:
        self._aborted = False
        self._reason: object = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    @property
    def aborted(self) -> bool:
        return self._aborted

    @property
    def reason(self) -> object:
        """What ``abort(reason)`` was given (``None`` when no reason was passed)."""
        return self._reason

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener()`` once when the signal aborts; returns a function that removes it.

        A listener added to an already aborted signal runs immediately. Listeners
        run in the thread that calls ``abort()`` and must not block.
        """
        with self._lock:
            if not self._aborted:
                self._listeners.append(listener)
                return lambda: self._remove(listener)
        listener()
        return lambda: None

    def _remove(self, listener: Listener) -> None:
        with self._lock, contextlib.suppress(ValueError):  # already ran, or removed twice
            self._listeners.remove(listener)

    async def wait(self) -> None:
        """Return once the signal is aborted (at once if it already is)."""
        if self._aborted:
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, fut)

        remove = self.add_listener(wake)
        try:
            await fut
        finally:
            remove()

    def _abort(self, reason: object) -> None:
        with self._lock:
            if self._aborted:
                return
            self._aborted = True
            self._reason = reason
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener()

    @classmethod
    def any(cls, signals: Iterable[AbortSignal | None]) -> AbortSignal:
        """A signal that aborts as soon as any of ``signals`` does (with that signal's reason)."""
        combined = cls()
        for signal in signals:
            if signal is None:
                continue
            if signal.aborted:
                combined._abort(signal.reason)
                break
            signal.add_listener(_forward(signal, combined))
        return combined

    def __repr__(self) -> str:
        state = f"aborted, reason={self._reason!r}" if self._aborted else "active"
        return f"<AbortSignal {state}>"


def _forward(source: AbortSignal, target: AbortSignal) -> Listener:
    def listener() -> None:
        target._abort(source.reason)

    return listener


class AbortController:
    """Owns an :class:`AbortSignal`; ``abort()`` trips it (idempotent, thread-safe)."""

    __slots__ = ("signal",)

    def __init__(self) -> None:
        self.signal = AbortSignal()

    def abort(self, reason: object = None) -> None:
        self.signal._abort(reason)

    def __repr__(self) -> str:
        return f"<AbortController signal={self.signal!r}>"


class Aborted(Exception):
    """Internal: :meth:`AbortScope.run` saw the signal abort. Never leaves the package."""


class AbortScope:
    """Lets an abort cancel one await at a time, and turns that cancellation into :class:`Aborted`.

    Like ``asyncio.timeout`` but driven by a signal: the listener cancels the
    task while it is suspended inside :meth:`run`, and ``run`` swallows the
    ``CancelledError`` it caused (``Task.uncancel`` tells ours from a genuine
    outside cancellation, which still propagates). One scope serves many awaits
    (one per network read) and registers its listener once. Only the awaited
    operation is ever cancelled, never the consumer's code between two reads,
    which is what makes it safe inside an async generator.
    """

    __slots__ = ("_active", "_fired", "_loop", "_remove", "_signal", "_task")

    def __init__(self, signal: AbortSignal | None) -> None:
        self._signal = signal
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active = False
        self._fired = False
        self._remove: Callable[[], None] | None = None

    @property
    def aborted(self) -> bool:
        return self._signal is not None and self._signal.aborted

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; raise :class:`Aborted` instead if the signal aborts first."""
        signal = self._signal
        if signal is None:
            return await awaitable
        if signal.aborted:
            _discard(awaitable)
            raise Aborted
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            raise RuntimeError("AbortScope.run must be awaited inside an asyncio task")
        if self._remove is None:
            self._loop = asyncio.get_running_loop()
            self._remove = signal.add_listener(self._on_abort)
        self._task = task
        cancelling = task.cancelling()
        self._fired = False
        self._active = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self._fired:
                self._fired = False
                if task.uncancel() <= cancelling:
                    raise Aborted from None
            raise
        finally:
            self._active = False
            if self._fired:
                # We cancelled, but the awaitable swallowed the CancelledError and
                # returned: take our cancel request back; the next run() raises.
                self._fired = False
                task.uncancel()

    def _on_abort(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        # Runs on the loop thread. If the scope is idle (between reads) nothing is
        # cancelled: the next ``run`` sees ``signal.aborted`` and raises at once.
        if self._active and not self._fired and self._task is not None:
            self._fired = True
            self._task.cancel()

    def close(self) -> None:
        """Unregister from the signal."""
        if self._remove is not None:
            self._remove()
            self._remove = None


def _discard(awaitable: Awaitable[Any]) -> None:
    # Close a coroutine we will not await, so Python does not warn "never awaited".
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()
