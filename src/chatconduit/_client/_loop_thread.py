"""``LoopThread``: a private asyncio event loop running in a daemon thread, and
``LatestSlot``, which hands the newest snapshot from that thread to a blocking one. They
are the plumbing of ``SyncChatClient``: blocking callers hand work to the loop with
:meth:`LoopThread.call` / :meth:`LoopThread.submit` and wait for the result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from .._exceptions import ClientClosedError
from .._messages import UIMessage
from ._state import ChatSnapshot

__all__ = ["CLOSE_TIMEOUT", "LatestSlot", "LoopThread", "relay", "unwrap"]

T = TypeVar("T")

CLOSE_TIMEOUT = 10.0  # seconds closing waits for the loop to wind down


class _Waiting:
    """The futures that blocking callers of a :class:`LoopThread` wait on.

    A loop that has stopped runs nothing more: a call posted to it, or a task of it that
    was still running, would never complete, and its caller would wait forever (another
    thread calling ``close()`` while one iterates ``stream_message`` did exactly that).
    Stopping the loop therefore fails everything still waiting with
    :class:`ClientClosedError`, and refuses new work.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self.stopped = False

    def add(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            if self.stopped:
                raise ClientClosedError(_STOPPED)
            self._futures.add(future)
        future.add_done_callback(self._discard)

    def _discard(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True

    def release(self) -> None:
        with self._lock:
            self.stopped = True
            futures, self._futures = self._futures, set()
        for future in futures:
            _settle(future, error=ClientClosedError(_STOPPED))


_STOPPED = "the client was closed: its event loop has stopped"


def _settle(
    future: concurrent.futures.Future[Any], value: Any = None, error: BaseException | None = None
) -> None:
    """Complete ``future`` unless it already is (the loop and ``release`` may race)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _stop_loop(
    loop: asyncio.AbstractEventLoop, thread: threading.Thread, waiting: _Waiting
) -> None:
    """Stop and close a private loop (also the finalizer of an unclosed client)."""
    waiting.stop()  # nothing new is posted to a loop that is about to stop
    if not loop.is_closed():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)
        if not thread.is_alive():
            loop.close()
    waiting.release()  # what the loop will never complete now


_WIND_DOWN = 1.0  # seconds a stopped loop gives its leftover tasks to end


def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    """On the loop's thread, once ``run_forever()`` returned: cancel the tasks still there
    and finalize async generators (as ``asyncio.run`` does, bounded), so that nothing is
    destroyed pending ("Task was destroyed but it is pending!") when the loop closes.
    Normally nothing is left: closing the client stopped every turn first."""
    with contextlib.suppress(Exception):
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=_WIND_DOWN))
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), _WIND_DOWN))


class _Relayed(Exception):
    """Carries a KeyboardInterrupt / SystemExit out of a task of the loop (see :func:`relay`)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


async def relay(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` in a task of the private loop, carrying a KeyboardInterrupt /
    SystemExit (a client tool's, re-raised by the turn) out as an ordinary exception.

    A task ending with one of those re-raises it out of ``run_forever()``: the loop
    thread would die and every blocking caller would wait for it forever. The caller's
    thread raises it instead (see :func:`unwrap`).
    """
    try:
        return await awaitable
    except (KeyboardInterrupt, SystemExit) as exc:
        raise _Relayed(exc) from None


def unwrap(error: BaseException | None) -> BaseException | None:
    """The exception a task of :func:`relay` really ended with."""
    return error.original if isinstance(error, _Relayed) else error


class LatestSlot:
    """Hands the newest snapshot from the loop thread to the consuming thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: ChatSnapshot | None = None
        self._version = -1  # of the newest snapshot put
        self._finished = False
        self._result: UIMessage | None = None
        self._error: BaseException | None = None

    def put(self, item: ChatSnapshot) -> None:
        with self._cond:
            if item.version <= self._version:
                return  # already handed over (the final snapshot may repeat the last one)
            self._version = item.version
            self._item = item  # replaces an undelivered older one: coalescing
            self._cond.notify()

    def finish(self, result: UIMessage | None, error: BaseException | None) -> None:
        """The outcome; only the first call counts."""
        with self._cond:
            if self._finished:
                return
            self._finished = True
            self._result = result
            self._error = error
            self._cond.notify()

    def get(self) -> ChatSnapshot | None:
        """The next snapshot, or None once finished and everything was delivered."""
        with self._cond:
            while self._item is None and not self._finished:
                self._cond.wait()
            item, self._item = self._item, None
            return item

    def outcome(self) -> UIMessage | None:
        with self._cond:
            if self._error is not None:
                raise self._error
            return self._result


class LoopThread:
    """An event loop running in its own daemon thread until :attr:`stop` is called (or
    this object is garbage collected). Once stopped, :meth:`call` and :meth:`submit`
    raise, and whatever was still waiting for the loop fails, with
    :class:`ClientClosedError`."""

    def __init__(self, name: str) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        waiting = _Waiting()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                # Stopped, or killed: a KeyboardInterrupt / SystemExit escaping a task
                # (an idle client tool's) ends run_forever() too. Either way nothing
                # will run here any more: callers must not wait for it.
                waiting.stop()
                _wind_down(loop)
                waiting.release()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        ready.wait()
        self.loop = loop
        self.thread = thread
        self._waiting = waiting
        # Idempotent; also runs when the owner forgets to close (the thread would leak).
        self.stop = weakref.finalize(self, _stop_loop, loop, thread, self._waiting)

    @property
    def stopped(self) -> bool:
        return self._waiting.stopped

    def post(self, fn: Callable[[], object]) -> bool:
        """Schedule ``fn()`` on the loop without waiting; False when the loop has stopped."""
        if self._waiting.stopped:
            return False
        try:
            self.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the loop thread and return its result (never from that thread)."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._waiting.add(done)

        def run() -> None:
            try:
                result = fn()
            except BaseException as exc:
                _settle(done, error=exc)
            else:
                _settle(done, result)

        if not self.post(run):
            raise ClientClosedError(_STOPPED)
        return done.result()

    def submit(
        self, coro: Coroutine[Any, Any, T]
    ) -> tuple[asyncio.Task[T], concurrent.futures.Future[T]]:
        """Start ``coro`` as a task of the loop; returns the task (to cancel it, on the
        loop) and a future of its result for the calling thread."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        waiting = self._waiting  # not self: a pending task must not keep it from the finalizer

        def start() -> asyncio.Task[T]:
            task = self.loop.create_task(relay(coro))

            def finished(t: asyncio.Task[T]) -> None:
                if t.cancelled():
                    # Cancelled by the loop's wind-down (see _wind_down): the client closed.
                    stopped = waiting.stopped
                    _settle(
                        result,
                        error=ClientClosedError(_STOPPED)
                        if stopped
                        else concurrent.futures.CancelledError(),
                    )
                    return
                error = unwrap(t.exception())
                if error is not None:
                    _settle(result, error=error)
                else:
                    _settle(result, t.result())

            task.add_done_callback(finished)
            return task

        try:
            waiting.add(result)
            return self.call(start), result
        except BaseException:
            coro.close()  # never started: no "coroutine was never awaited" warning
            raise
