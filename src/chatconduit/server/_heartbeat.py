"""Keep-alives while an agent is quiet.

Proxies (nginx, load balancers) close idle connections after 30-60 s and the
client's idle watchdog gives up after its own timeout; a long tool call easily
exceeds both. :func:`with_heartbeats` interleaves a :data:`HEARTBEAT` marker
whenever the source has been silent for ``interval`` seconds.

The source runs to completion in *one* dedicated task (a pump) that hands items
over through a one-slot queue. One task matters: an agent that uses
``anyio.fail_after`` or a context variable across its ``yield`` statements would
break if each step ran in a fresh task (as ``asyncio.wait_for(anext(...))``
would do), and a timeout around ``anext`` would throw into the agent. A timer
that drops a marker into the empty queue does not touch the agent at all, and
costs one timer per interval rather than one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, Final, Generic, NoReturn, TypeVar

__all__ = [
    "HEARTBEAT",
    "MAX_BATCH_ITEMS",
    "Deferred",
    "Heartbeat",
    "aclose_quietly",
    "check_heartbeat",
    "heartbeat_batches",
    "inline_batches",
    "raised_by_source",
    "start",
    "with_heartbeats",
]

T = TypeVar("T")


class Heartbeat(enum.Enum):
    """The type of :data:`HEARTBEAT` (an enum so that ``is`` checks narrow types)."""

    TICK = "tick"


HEARTBEAT: Final = Heartbeat.TICK

_END: Final = object()

# How far a batch pump lets the source run ahead of its consumer: the most items one
# batch holds (what the response writes as one body chunk is bounded by bytes too).
# Measured flat out at 1,000 clients (benchmarks/README.md, round 3): 16 writes ~15 %
# more events per server CPU second than 8, at ~+15 ms emit->client p50; 32 adds little
# more throughput for another ~+30 ms.
MAX_BATCH_ITEMS: Final = 16


class _Failure:
    """What the source raised, handed from the pump to the consumer."""

    __slots__ = ("exc",)
    exc: BaseException | None  # None once re-raised

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def reraise(self) -> NoReturn:
        """Raise it in the consumer, holding it nowhere else: its traceback keeps the
        frames it passes, so a reference from one of them (this object, or a local
        naming the exception) would be a cycle keeping the whole failed stream (frames,
        agent, request) for the cyclic GC."""
        exc, self.exc = self.exc, None
        assert exc is not None, "raised twice"
        try:
            raise exc
        finally:
            del exc


class _Silence:
    """Calls ``due()`` after each ``interval`` in which nothing was handed over while
    ``idle()`` (the consumer is waiting for the source): one timer per interval instead
    of a timeout around every wait, so the per-item cost stays a hand-over. The consumer
    sets :attr:`last` when it takes something. The pending timer holds a bound method,
    not a closure that names itself: once :meth:`cancel` has run, nothing of a finished
    stream is left in a reference cycle for the cyclic GC."""

    __slots__ = ("_due", "_idle", "_interval", "_loop", "_timer", "last")

    def __init__(self, interval: float, idle: Callable[[], bool], due: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._interval = interval
        self._idle = idle
        self._due = due
        self.last = self._loop.time()
        self._timer = self._loop.call_later(interval, self._tick)

    def _tick(self) -> None:
        interval = self._interval
        quiet = self._loop.time() - self.last
        if quiet >= interval and self._idle():
            self._due()
            quiet = 0.0
        self._timer = self._loop.call_later(
            interval - quiet if quiet < interval else interval, self._tick
        )

    def cancel(self) -> None:
        self._timer.cancel()


async def aclose_quietly(iterator: object) -> None:
    """Run an async generator's ``finally`` now (not whenever the GC gets to it)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


class Deferred(Generic[T]):
    """An async iterable whose iterator ``open()`` makes, once iteration starts: an agent
    called inside its stream, so that one failing at call time ends as any failure does.

    The pumps here :func:`start` it (await ``open()``) and iterate the agent's own
    iterator: no async generator passing each item on (~75 ns an item). Anything else
    iterates it like any async iterable."""

    __slots__ = ("open",)

    def __init__(self, open: Callable[[], Awaitable[AsyncIterator[T]]]) -> None:
        self.open = open

    def __aiter__(self) -> AsyncIterator[T]:
        return _opened(self.open)


async def _opened(open: Callable[[], Awaitable[AsyncIterator[T]]]) -> AsyncIterator[T]:
    iterator = await open()
    try:
        async for item in iterator:
            yield item
    finally:
        await aclose_quietly(iterator)


async def start(source: AsyncIterable[T]) -> AsyncIterator[T]:
    """The iterator of ``source``; a :class:`Deferred`'s is made now."""
    if isinstance(source, Deferred):
        return await source.open()
    return aiter(source)


def check_heartbeat(heartbeat: float) -> None:
    """Refuse a negative or non-numeric interval when the stream is set up, not mid-stream."""
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float) or heartbeat < 0:
        raise ValueError(
            f"heartbeat must be a number of seconds >= 0 (0 disables), got {heartbeat!r}"
        )


def raised_by_source(exc: asyncio.CancelledError) -> bool:
    """True when ``exc`` was raised by the code we run, not by a cancellation of our task.

    An agent can leak a ``CancelledError`` (say, from a task of its own that was
    cancelled); that is its failure and must end the stream like any other, not
    be mistaken for the client going away.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


async def with_heartbeats(
    source: AsyncIterable[T], interval: float
) -> AsyncIterator[T | Heartbeat]:
    """Yield the items of ``source``, plus :data:`HEARTBEAT` after each ``interval`` of silence.

    Exceptions raised by ``source`` are re-raised here. Closing this generator
    (or cancelling its consumer) cancels the source and waits until its
    ``finally`` blocks have run.
    """
    if interval <= 0:
        raise ValueError(f"heartbeat interval must be > 0 seconds, got {interval!r}")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        iterator = None
        try:
            iterator = await start(source)
            async for item in iterator:
                await queue.put(item)
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(_Failure(exc))
            return
        except asyncio.CancelledError as exc:
            if not raised_by_source(exc):
                raise
            await queue.put(_Failure(exc))  # else the consumer would wait forever
            return
        finally:
            # If we were cancelled while parked in queue.put, the source is suspended
            # at a yield and only aclose() runs its cleanup.
            await aclose_quietly(iterator)
        await queue.put(_END)

    task = asyncio.create_task(pump(), name="chatconduit-heartbeat-pump")
    # An empty queue means the consumer is waiting for the source: a heartbeat is due.
    silence = _Silence(interval, queue.empty, lambda: queue.put_nowait(HEARTBEAT))
    try:
        while True:
            item = await queue.get()
            if item is HEARTBEAT:
                yield HEARTBEAT
                continue
            silence.last = loop.time()
            if item is _END:
                return
            if isinstance(item, _Failure):
                item.reraise()
            yield item
    finally:
        silence.cancel()
        if not task.done():
            task.cancel()
            # asyncio.wait never raises the task's own CancelledError; it raises only
            # if *we* are cancelled meanwhile, and then the pump finishes on its own.
            await asyncio.wait({task})


async def heartbeat_batches(
    source: AsyncIterable[T],
    interval: float | None,
    *,
    max_items: int = MAX_BATCH_ITEMS,
    step: Callable[[list[Any], T], None] = list.append,
    end: Callable[[list[Any]], None] | None = None,
) -> AsyncIterator[list[Any] | Heartbeat]:
    """The items of ``source`` in batches: each batch is what the source produced while
    the consumer was busy with the previous one (at most ``max_items``; the source waits
    while a full batch is unclaimed), plus :data:`HEARTBEAT` after each ``interval`` of
    silence (``None``: never).

    ``step(pending, item)`` puts what ``item`` becomes into the pending batch (by default
    the item itself; it may add none or several entries), and ``end(pending)`` what is
    owed once the source is exhausted. Both run in the pump, as plain calls between two
    steps of the source: an item is finished (a server encodes it there) before the
    source runs on, with no coroutine or generator per item, and whatever they raise
    ends the stream as the source's own exception would, after the entries put before.

    The same pump as :func:`with_heartbeats` (one task runs the source to completion,
    closing this cancels it and waits for its ``finally``), but the hand-over is a list
    taken whole: a consumer that writes each batch as one body chunk pays one wake-up
    and one write per batch, not per item. Nothing waits for a batch to fill: a lone
    item is handed over as soon as the consumer is free.
    """
    if interval is not None and interval <= 0:
        raise ValueError(f"heartbeat interval must be > 0 seconds, got {interval!r}")
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items!r}")
    loop = asyncio.get_running_loop()
    state = _Batches(source, max_items, step, end)
    pending = state.pending
    task = asyncio.create_task(state.pump(), name="chatconduit-batch-pump")
    # Nothing pending means the consumer is waiting for the source: a heartbeat is due.
    silence = None if interval is None else _Silence(interval, state.idle, state.heartbeat_due)
    try:
        while True:
            if not pending:
                if state.beat:
                    state.beat = False
                    yield HEARTBEAT
                    continue
                state.waiting = waiting = loop.create_future()
                await waiting
                continue
            # One step may put several entries: past max_items the rest waits for the
            # next batch (the terminal marker is last, so never in a cut-off head).
            if len(pending) > max_items:
                batch = pending[:max_items]
                del pending[:max_items]
            else:
                batch = pending[:]
                pending.clear()
                blocked = state.blocked
                if blocked is not None:  # the source waits for room: there is now
                    state.blocked = None
                    if not blocked.done():
                        blocked.set_result(None)
            state.beat = False
            if silence is not None:
                silence.last = loop.time()
            tail = batch[-1]
            if tail is _END or isinstance(tail, _Failure):
                batch.pop()
                if batch:
                    yield batch
                if isinstance(tail, _Failure):
                    tail.reraise()
                return
            yield batch
    finally:
        if silence is not None:
            silence.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


class _Batches:
    """What :func:`heartbeat_batches`' pump task and its consumer share: one object with
    slots, where closures over the generator's variables kept a cell per variable and a
    function per callback (~14 objects per open stream for the cyclic GC to walk). Only
    the generator holds the pump's task, so no reference cycle is left behind.

    Each side waits on a bare future the other resolves (``waiting``: the consumer's, for
    entries; ``blocked``: the source's, for room), not an ``asyncio.Event``: an Event's
    wait is a coroutine and a deque per wait, and its set a loop over waiters, paid twice
    per batch (round 13: ~4 % less CPU for 1,000 streams flat out, in-process)."""

    __slots__ = ("beat", "blocked", "end", "max_items", "pending", "source", "step", "waiting")

    def __init__(
        self,
        source: AsyncIterable[Any],
        max_items: int,
        step: Callable[[list[Any], Any], None],
        end: Callable[[list[Any]], None] | None,
    ) -> None:
        self.source = source
        self.max_items = max_items
        self.step = step
        self.end = end
        self.pending: list[Any] = []  # entries, then _END or a _Failure last
        self.waiting: asyncio.Future[None] | None = None  # the consumer, for entries
        self.blocked: asyncio.Future[None] | None = None  # the source, for room
        self.beat = False

    def idle(self) -> bool:
        return not self.pending

    def wake(self) -> None:
        """Pending has something, or a heartbeat is due: wake the consumer if it waits."""
        waiting = self.waiting
        if waiting is not None:
            self.waiting = None
            if not waiting.done():  # not cancelled with the consumer
                waiting.set_result(None)

    def heartbeat_due(self) -> None:
        self.beat = True
        self.wake()

    async def pump(self) -> None:
        pending, step, max_items = self.pending, self.step, self.max_items
        loop = asyncio.get_running_loop()
        iterator = None
        first = True
        try:
            iterator = await start(self.source)
            async for item in iterator:
                had = len(pending)
                step(pending, item)
                if len(pending) == had:
                    continue  # nothing to hand over yet (say, a finish held back)
                if not had and self.waiting is not None:
                    # The consumer waits only on an empty batch: wake it for the first
                    # entries, not once per entry.
                    self.wake()
                if first:
                    # The first entries go out alone, at once: let the consumer take
                    # them before a busy source fills a batch behind them.
                    first = False
                    await asyncio.sleep(0)
                elif len(pending) >= max_items:
                    self.blocked = blocked = loop.create_future()
                    await blocked
            if self.end is not None:
                self.end(pending)
        except Exception as exc:  # handed to the consumer, which re-raises it
            pending.append(_Failure(exc))
            self.wake()
            return
        except asyncio.CancelledError as exc:
            if not raised_by_source(exc):
                raise
            pending.append(_Failure(exc))  # else the consumer would wait forever
            self.wake()
            return
        finally:
            await aclose_quietly(iterator)
        pending.append(_END)
        self.wake()


async def inline_batches(
    source: AsyncIterable[T],
    *,
    step: Callable[[list[Any], T], None] = list.append,
    end: Callable[[list[Any]], None] | None = None,
) -> AsyncIterator[list[Any]]:
    """:func:`heartbeat_batches` without the pump: the source runs in the consumer's own
    task (its context variables and cancellation are the caller's) and each batch is what
    one item became (``step``, ``end`` as there). Entries a failing step put before it
    failed are handed over before the exception."""
    iterator = None
    pending: list[Any] = []
    try:
        try:
            iterator = await start(source)
            async for item in iterator:
                step(pending, item)
                if pending:
                    yield pending
                    pending = []
            if end is not None:
                end(pending)
        except Exception:
            if pending:
                yield pending
            raise
        if pending:
            yield pending
    finally:
        await aclose_quietly(iterator)
