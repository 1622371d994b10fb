"""Replay buffers: where a run's events are kept so a dropped client can resume.

:class:`StreamLog` is the interface; :class:`InMemoryStreamLog` keeps events in
this process. The interface is shaped so that a Redis Streams log can implement
it without change: ``append`` returns the id the store assigned (``XADD``),
``read`` checks the run and offset, then its iterator replays everything after
that id and follows live appends (``XRANGE`` then ``XREAD BLOCK``), ``close``
writes an end marker. Ids are opaque strings; only the log compares them.

Events are stored as their compact JSON (``bytes``): encoded once by the
writer, framed as is for every reader, and what a networked store keeps anyway.

Offsets as clients send them: the id of the last event they saw (``Last-Event-ID``
or ``?offset=<id>``), or ``-1`` for "from the beginning" (``joinRun``), which the
endpoint turns into ``after=None``.

A log shared by several processes (replicas behind a load balancer) also implements
:class:`RunControl`: exactly one process produces each run (``claim`` takes its lease),
any process can ask for a run to stop (``request_stop`` reaches the producer), and the
producer is told when it must stop (``on_stop``). :class:`InMemoryStreamLog` is a
per-process log and needs none of that; ``RedisStreamLog`` (``_redis_log``) is both.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from .._exceptions import (
    EventTooLargeError,
    ReplayError,
    ReplayGapError,
    RunExistsError,
    StreamLogFullError,
    UnknownRunError,
)

__all__ = [
    "DEFAULT_MAX_BYTES_PER_RUN",
    "DEFAULT_MAX_TOTAL_BYTES",
    "EventTooLargeError",
    "InMemoryStreamLog",
    "ReplayError",
    "ReplayGapError",
    "RunControl",
    "RunExistsError",
    "StopHandler",
    "StopState",
    "StreamLog",
    "StreamLogFullError",
    "StreamLogUnavailableError",
    "UnknownRunError",
]


class StreamLogUnavailableError(ReplayError):
    """The log's store cannot be reached (a networked log whose server is down or
    unreachable): nothing was recorded or read. Answered with 503 ``log_unavailable``
    before a stream starts, and with a RUN_ERROR of that code once it has."""


@runtime_checkable
class StreamLog(Protocol):
    """Where durable runs record their events. All methods are coroutines or async iterators."""

    async def create(self, run_id: str) -> None:
        """Start recording ``run_id``.

        Raises :class:`RunExistsError` or :class:`StreamLogFullError`.
        """
        ...

    async def append(self, run_id: str, payload: bytes) -> str:
        """Store one event (its compact JSON) and return its id.

        May raise :class:`EventTooLargeError` for an event the log will not keep.
        """
        ...

    async def close(self, run_id: str) -> None:
        """Mark the run complete: readers stop after its last event."""
        ...

    async def has_run(self, run_id: str) -> bool:
        """Whether ``run_id`` is kept (live or finished)."""
        ...

    async def read(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        """Check ``run_id`` and ``after`` now, raising :class:`UnknownRunError` or
        :class:`ReplayGapError`, and return an iterator of ``(id, payload)`` for every
        event after ``after`` (all when ``None``) that then follows live appends until
        the run is closed. The iterator raises :class:`ReplayGapError` if it falls
        so far behind that events it has not read yet were dropped."""
        ...


StopHandler: TypeAlias = Callable[[str, str], None]
"""``on_stop(run_id, reason)``: a run this process produces must stop, because a stop was
asked for (``reason`` ``"stop"``, from any process) or because this process no longer
holds the run's lease (``"lost"``: another process has declared it lost)."""

StopState: TypeAlias = Literal["stopped", "stopping", "finished", "unknown"]
"""What a stop request found: the run was producing here and has stopped (``"stopped"``),
its producer elsewhere was asked to stop it (``"stopping"``), it had already ended
(``"finished"``), or no such run is kept (``"unknown"``)."""


@runtime_checkable
class RunControl(Protocol):
    """How the processes sharing one :class:`StreamLog` coordinate durable runs.

    Implemented by shared logs next to :class:`StreamLog` (``DurableRuns`` uses the log
    as its control when it is one). All methods are coroutines.
    """

    async def open(self, on_stop: StopHandler) -> None:
        """Connect, raising :class:`StreamLogUnavailableError` when the store cannot be
        reached, and from now on call ``on_stop`` for runs this process claimed. Calling
        it again only adds ``on_stop`` (one per ``DurableRuns`` sharing the log)."""
        ...

    async def claim(self, run_id: str, *, name: str, thread_id: str | None) -> None:
        """Create ``run_id`` in the log with this process as its only producer (its
        lease is renewed until the run is closed). ``name``/``thread_id`` name the run in
        the RUN_ERROR readers get if this process is lost. Raises
        :class:`RunExistsError` when any process has that run."""
        ...

    async def request_stop(self, run_id: str) -> StopState:
        """Ask whichever process produces ``run_id`` to stop it: ``"stopping"``, or
        ``"finished"`` / ``"unknown"`` when nothing produces it."""
        ...

    async def aclose(self) -> None:
        """Stop renewing leases and listening for stops; release the connection."""
        ...


DEFAULT_MAX_BYTES_PER_RUN = 8 * 1024 * 1024
"""8 MiB of compact JSON per run: a long answer with tool results, many times over."""
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""256 MiB for all runs of one :class:`InMemoryStreamLog` together."""


class _Run:
    __slots__ = ("changed", "closed_at", "events", "first", "next", "size")

    def __init__(self) -> None:
        self.events: deque[bytes] = deque()
        self.first = 0  # offset of events[0]
        self.next = 0  # offset the next append gets
        self.size = 0  # bytes of the payloads in ``events``
        self.closed_at: float | None = None
        # Replaced on every append: readers wait on the current one, writers set it.
        self.changed = asyncio.Event()


class InMemoryStreamLog:
    """A bounded, per-process :class:`StreamLog`.

    ``max_runs`` runs are kept; finished runs are dropped after ``retention``
    seconds, or earlier (oldest first) when a new run needs the slot. When every
    slot holds a live run, :meth:`create` raises :class:`StreamLogFullError`
    instead of silently evicting a run somebody is still reading.

    Memory is bounded in bytes as well as in events: each run keeps its newest
    events up to ``max_events_per_run`` events and ``max_bytes_per_run`` bytes,
    and all runs together keep at most ``max_total_bytes``. When a new event does
    not fit in the total, finished runs are dropped first (oldest first), then
    the oldest events of the largest live run, so the run that produces the most
    pays, not the others. A resume from a dropped offset raises
    :class:`ReplayGapError` rather than replaying with a hole; an event larger
    than ``max_bytes_per_run`` on its own raises :class:`EventTooLargeError`.
    Offsets are ``"0"``, ``"1"``, ... in append order.
    """

    def __init__(
        self,
        *,
        max_runs: int = 1024,
        max_events_per_run: int = 10_000,
        max_bytes_per_run: int = DEFAULT_MAX_BYTES_PER_RUN,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        retention: float = 300.0,
    ) -> None:
        if max_runs < 1 or max_events_per_run < 1:
            raise ValueError("max_runs and max_events_per_run must be at least 1")
        if max_bytes_per_run < 1 or max_total_bytes < max_bytes_per_run:
            raise ValueError(
                "max_bytes_per_run must be at least 1 and max_total_bytes at least "
                f"max_bytes_per_run, got {max_bytes_per_run} and {max_total_bytes}"
            )
        if retention < 0:
            raise ValueError(f"retention must be >= 0 seconds, got {retention!r}")
        self.max_runs = max_runs
        self.max_events_per_run = max_events_per_run
        self.max_bytes_per_run = max_bytes_per_run
        self.max_total_bytes = max_total_bytes
        self.retention = retention
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._total = 0  # bytes of every kept payload, all runs together

    def __repr__(self) -> str:
        live = sum(1 for run in self._runs.values() if run.closed_at is None)
        return (
            f"InMemoryStreamLog(runs={len(self._runs)}, live={live}, max_runs={self.max_runs}, "
            f"bytes={self._total}, max_total_bytes={self.max_total_bytes})"
        )

    @property
    def total_bytes(self) -> int:
        """Bytes of event payloads kept right now, all runs together."""
        return self._total

    def _drop(self, run_id: str) -> None:
        run = self._runs.pop(run_id)
        self._total -= run.size

    def _drop_oldest_event(self, run: _Run) -> None:
        payload = run.events.popleft()
        run.first += 1
        run.size -= len(payload)
        self._total -= len(payload)

    def _make_room(self, needed: int) -> None:
        """Free bytes until ``needed`` more fit in ``max_total_bytes``."""
        if self._total + needed <= self.max_total_bytes:
            return
        for run_id, run in list(self._runs.items()):  # finished runs first, oldest first
            if run.closed_at is not None:
                self._drop(run_id)
                if self._total + needed <= self.max_total_bytes:
                    return
        while self._total + needed > self.max_total_bytes:
            # Only live runs are left: the largest loses its oldest events. Never empty
            # here, since needed <= max_bytes_per_run <= max_total_bytes.
            largest = max(self._runs.values(), key=lambda run: run.size)
            while largest.events and self._total + needed > self.max_total_bytes:
                self._drop_oldest_event(largest)

    def _evict(self) -> None:
        self._evict_expired()
        if len(self._runs) < self.max_runs:
            return
        for run_id, run in self._runs.items():  # insertion order: oldest first
            if run.closed_at is not None:
                self._drop(run_id)
                return
        raise StreamLogFullError(
            f"all {self.max_runs} replay slots hold runs that are still producing"
        )

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(f"no replay buffer for run {run_id!r}")
        return run

    async def create(self, run_id: str) -> None:
        if run_id in self._runs:
            raise RunExistsError(f"run {run_id!r} is already recorded")
        self._evict()
        self._runs[run_id] = _Run()

    async def append(self, run_id: str, payload: bytes) -> str:
        run = self._get(run_id)
        if run.closed_at is not None:
            raise ReplayError(f"run {run_id!r} is closed; cannot append")
        size = len(payload)
        if size > self.max_bytes_per_run:
            raise EventTooLargeError(
                f"an event of run {run_id!r} has {size} bytes; a run keeps at most "
                f"{self.max_bytes_per_run}"
            )
        while run.events and (
            len(run.events) >= self.max_events_per_run or run.size + size > self.max_bytes_per_run
        ):
            self._drop_oldest_event(run)
        self._make_room(size)
        run.events.append(payload)
        run.size += size
        self._total += size
        offset = run.next
        run.next += 1
        self._wake(run)
        return str(offset)

    async def close(self, run_id: str) -> None:
        run = self._get(run_id)
        if run.closed_at is None:
            run.closed_at = time.monotonic()
            self._wake(run)

    async def has_run(self, run_id: str) -> bool:
        self._evict_expired()
        return run_id in self._runs

    def _evict_expired(self) -> None:
        now = time.monotonic()
        for run_id, run in list(self._runs.items()):
            if run.closed_at is not None and now - run.closed_at >= self.retention:
                self._drop(run_id)

    @staticmethod
    def _wake(run: _Run) -> None:
        changed, run.changed = run.changed, asyncio.Event()
        changed.set()

    def _start(self, run: _Run, run_id: str, after: str | None) -> int:
        if after is None:
            position = run.first
        else:
            try:
                position = int(after) + 1
            except ValueError:
                raise ReplayGapError(
                    f"offset {after!r} is not an event id of run {run_id!r}"
                ) from None
            if position < 0 or position > run.next:
                raise ReplayGapError(f"offset {after!r} is not an event id of run {run_id!r}")
        if position < run.first:
            raise ReplayGapError(
                f"offset {after!r} of run {run_id!r} is no longer kept "
                f"(oldest kept event is {run.first})"
            )
        return position

    async def read(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        run = self._get(run_id)
        return self._follow(run, run_id, self._start(run, run_id, after))

    async def _follow(
        self, run: _Run, run_id: str, position: int
    ) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            if position < run.first:
                raise ReplayGapError(
                    f"reader of run {run_id!r} fell behind: event {position} was dropped "
                    f"(a run keeps {self.max_events_per_run} events, "
                    f"{self.max_bytes_per_run} bytes)"
                )
            if position < run.next:
                yield str(position), run.events[position - run.first]
                position += 1
            elif run.closed_at is not None:
                return
            else:
                await run.changed.wait()
