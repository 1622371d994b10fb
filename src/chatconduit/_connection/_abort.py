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
import contextvars
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

__all__ = ["AbortController", "AbortScope", "AbortSignal", "Aborted"]

T = TypeVar("T")

Listener = Callable[[], object]  # the result, if any, is ignored


# One lock for every signal, not one per signal (a request each): it guards a few
# list operations and is never held while a listener runs, so it is never nested.
_LOCK = threading.Lock()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AbortSignal:
    """An abort flag to watch: ``aborted``, ``reason``, listeners and ``wait()``."""

    __slots__ = (
        "__weakref__",
        "_aborted",
        "_first",
        "_links",
        "_listeners",
        "_pruned_at",
        "_reason",
    )

    def __init__(self) -> None:
        self._aborted = False
        self._reason: object = None
        # The first listener, in a slot of its own: most signals (one per request) have
        # just one (the stream's scope), and thousands of live conversations would each
        # hold a list for it otherwise. The others, in order, in a list made when needed;
        # ``_first`` is only filled while that list is empty, so it always runs first.
        self._first: Listener | None = None
        self._listeners: list[Listener] | None = None
        # A signal made by any(): its links in its sources' listeners (see _Link).
        self._links: tuple[_Link, ...] | None = None
        # How many listeners were left by the last pruning of dead links (_add_link).
        self._pruned_at = 0

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
        if self._watch(listener):
            return lambda: self._unwatch(listener)
        listener()
        return lambda: None

    def _watch(self, listener: Listener) -> bool:
        """Register ``listener``; False (and nothing registered) when already aborted.
        Internal: ``AbortScope`` removes itself with :meth:`_unwatch`, without the
        closure ``add_listener`` returns."""
        with _LOCK:
            if self._aborted:
                return False
            if self._first is None and not self._listeners:
                self._first = listener
            elif self._listeners is None:
                self._listeners = [listener]
            else:
                self._listeners.append(listener)
            if self._links is not None:  # someone listens: the sources keep this alive
                for link in self._links:
                    link.strong = self
            return True

    def _unwatch(self, listener: Listener) -> None:
        with _LOCK:
            if self._first is not None and self._first == listener:  # as list.remove compares
                self._first = None
            elif self._listeners is not None and listener in self._listeners:
                self._listeners.remove(listener)  # else it already ran, or was removed
            if self._first is None and not self._listeners and self._links is not None:
                for link in self._links:
                    link.strong = None

    def _add_link(self, link: _Link) -> bool:
        """:meth:`_watch` for a signal made by :meth:`any`; first drops the links whose
        signal is gone, once the list has doubled since the last time (so each call
        costs O(1) on average and the list stays within twice what is alive)."""
        with _LOCK:
            if self._aborted:
                return False
            listeners = self._listeners
            if listeners is None:
                self._listeners = [link]
                return True
            if len(listeners) >= 2 * self._pruned_at + 16:
                listeners[:] = [x for x in listeners if type(x) is not _Link or x.alive]
                self._pruned_at = len(listeners)
            listeners.append(link)
            return True

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
        with _LOCK:
            if self._aborted:
                return
            self._aborted = True
            self._reason = reason
            first, self._first = self._first, None
            listeners = self._listeners or ()
            self._listeners = None
            if first is not None:
                listeners = [first, *listeners]
            links, self._links = self._links, None
        for link in links or ():
            link.strong = None
        for listener in listeners:
            listener()

    @classmethod
    def any(cls, signals: Iterable[AbortSignal | None]) -> AbortSignal:
        """A signal that aborts as soon as any of ``signals`` does (with that signal's reason)."""
        combined = cls()
        links: list[_Link] = []
        for signal in signals:
            if signal is None:
                continue
            link = _Link(signal, combined)
            if not signal._add_link(link):  # aborted already
                combined._abort(signal.reason)
                return combined
            links.append(link)
        combined._links = tuple(links)
        return combined

    def __repr__(self) -> str:
        state = f"aborted, reason={self._reason!r}" if self._aborted else "active"
        return f"<AbortSignal {state}>"


class _Link:
    """A signal made by :meth:`AbortSignal.any`, as a listener of one of its sources.

    It holds that signal weakly: a long-lived source (an app-wide signal, combined with
    each request's own) must not keep every signal made from it alive, one per request,
    without bound; the source drops links whose signal is gone (``_add_link``). While the
    signal has listeners of its own, the link holds it strongly too, as the DOM keeps
    such a signal alive: someone is waiting for it to abort.
    """

    __slots__ = ("source", "strong", "weak")

    def __init__(self, source: AbortSignal, target: AbortSignal) -> None:
        self.source = source
        self.weak = weakref.ref(target)
        self.strong: AbortSignal | None = None

    @property
    def alive(self) -> bool:
        return self.weak() is not None

    def __call__(self) -> None:
        target = self.weak()
        if target is not None:
            target._abort(self.source.reason)


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

    Like ``asyncio.timeout`` but driven by a signal: the scope (its own listener)
    cancels the task while it is suspended inside :meth:`run`, and ``run`` swallows
    the ``CancelledError`` it caused (``Task.uncancel`` tells ours from a genuine
    outside cancellation, which still propagates). One scope serves many awaits
    (one per network read) and registers once. Only the awaited operation is ever
    cancelled, never the consumer's code between two reads, which is what makes it
    safe inside an async generator.

    An await's time limit (``wait``) is kept without an ``asyncio.timeout`` per await (a
    ``Timeout``, its timer handle and a copied context each time): one timer per scope,
    moved only when it fires early (see :meth:`_expire`). A stream's own awaits (the
    exchange, each read) are guarded in their own frame::

        with scope.guarding(wait):
            piece = await anext(chunks, None)

    which is what ``run`` does, without a coroutine of its own alive for every
    suspended stream (thousands of them are objects the collector walks).
    """

    __slots__ = (
        "_active",
        "_cancelling",
        "_due",
        "_fired",
        "_loop",
        "_registered",
        "_signal",
        "_task",
        "_timer",
        "_timer_at",
    )

    def __init__(self, signal: AbortSignal | None) -> None:
        self._signal = signal
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active = False
        # What cancelled the current await: None, _ABORT or _TIMEOUT (the abort wins).
        self._fired: object = None
        self._cancelling = 0  # the task's cancel requests when the guarded await began
        self._registered = False
        # The read watchdog: when the current read must end (loop time, None: no
        # limit), and the one timer with the time it was set for.
        self._due: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    @property
    def aborted(self) -> bool:
        return self._signal is not None and self._signal.aborted

    def run(self, awaitable: Awaitable[T], wait: float | None = None) -> Awaitable[T]:
        """Await ``awaitable``; raise :class:`Aborted` instead if the signal aborts first,
        and ``TimeoutError`` after ``wait`` seconds (the scope's one timer, as for reads:
        no ``asyncio.timeout`` with its own timer and copied context per call).

        Used as ``await scope.run(...)``. Not a coroutine itself: it hands back the one
        that does the work, so a stream's await chain has no extra frame for it."""
        if self._signal is None:
            if wait is None:
                return awaitable
        elif self._signal.aborted:
            _discard(awaitable)
            return _aborted()
        return self._guarded(awaitable, wait)

    async def _guarded(self, awaitable: Awaitable[T], wait: float | None) -> T:
        try:
            self.guarding(wait)
        except BaseException:
            _discard(awaitable)
            raise
        with self:
            return await awaitable

    def guarding(self, wait: float | None) -> AbortScope:
        """Guard the one await inside the ``with`` block this returns the scope for: as
        :meth:`run` would. Raises :class:`Aborted` at once if the signal has aborted."""
        signal = self._signal
        if signal is not None and signal.aborted:
            raise Aborted
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            raise RuntimeError("AbortScope.run must be awaited inside an asyncio task")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if signal is not None and not self._registered:
            if not signal._watch(self):  # aborted from another thread since the check
                raise Aborted
            self._registered = True
        self._task = task
        if wait is not None:
            self._arm(self._loop.time() + wait)
        self._cancelling = task.cancelling()
        self._fired = None
        self._active = True
        return self

    def __enter__(self) -> AbortScope:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, tb: object) -> None:
        task = self._task
        assert task is not None  # guarding() set it
        try:
            if kind is not None and issubclass(kind, asyncio.CancelledError):
                fired = self._fired
                if fired is not None:
                    self._fired = None
                    if task.uncancel() <= self._cancelling:
                        if fired is _ABORT:
                            raise Aborted from None
                        raise TimeoutError from None
        finally:
            self._active = False
            self._due = None
            if self._fired is not None:
                # We cancelled, but the awaitable swallowed the CancelledError and
                # returned: take our cancel request back (after an abort, the next
                # run() raises).
                self._fired = None
                task.uncancel()

    # -- the read watchdog ----------------------------------------------------------------

    def _arm(self, due: float) -> None:
        self._due = due
        timer = self._timer
        if timer is not None:
            if self._timer_at <= due:
                return  # it fires first and moves itself on to ``due`` (_expire)
            timer.cancel()
        assert self._loop is not None
        self._timer_at = due
        self._timer = self._loop.call_at(due, self._expire, context=_timer_context())

    def _expire(self) -> None:
        # The timer was set for an earlier read's limit, or for this one's. A read that
        # began since then has a later limit: move on to it. Between reads (the scope
        # idle) nothing is pending, and the next read sets a timer again.
        self._timer = None
        due = self._due
        if not self._active or due is None:
            return
        if due > self._timer_at:
            assert self._loop is not None
            self._timer_at = due
            self._timer = self._loop.call_at(due, self._expire, context=_timer_context())
        elif self._fired is None and self._task is not None:
            self._fired = _TIMEOUT
            self._task.cancel()

    # -- the abort ------------------------------------------------------------------------

    def __call__(self) -> None:
        """The signal's listener (the scope itself: no bound method or closure to hold);
        runs in the thread that aborts."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        # Runs on the loop thread. If the scope is idle (between reads) nothing is
        # cancelled: the next ``run`` sees ``signal.aborted`` and raises at once.
        if not self._active or self._task is None:
            return
        if self._fired is None:
            self._task.cancel()
        # Already cancelled by the watchdog: the one cancel now means the abort, as an
        # abort outranked an ``asyncio.timeout`` nested inside the scope.
        self._fired = _ABORT

    def close(self) -> None:
        """Unregister from the signal, and stop the read watchdog."""
        if self._registered and self._signal is not None:
            self._signal._unwatch(self)
            self._registered = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_THREAD = threading.local()


def _timer_context() -> contextvars.Context:
    """The context the watchdog's timers run in: one per thread rather than a copy of
    the caller's per timer (``_expire`` reads no context variable). Callbacks of one
    thread's loop run one at a time, so it is never entered twice at once."""
    context: contextvars.Context | None = getattr(_THREAD, "context", None)
    if context is None:
        context = _THREAD.context = contextvars.Context()
    return context


async def _aborted() -> Any:
    # Raised when awaited, as from a coroutine, not when run() is called.
    raise Aborted


_ABORT = "abort"
_TIMEOUT = "timeout"


def _discard(awaitable: Awaitable[Any]) -> None:
    # Close a coroutine we will not await, so Python does not warn "never awaited".
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()
