"""One ``XREAD BLOCK`` for all the runs this replica's readers follow.

A reader per connection, each blocking in its own ``XREAD``, would hold a Redis
connection per stream and pay a round trip per event per reader. Instead the hub
keeps one blocked ``XREAD`` over every followed run's stream (from the position of
its slowest reader) plus this replica's wake stream, and hands what comes back to
the readers' queues; readers ahead of that position drop what they already have.
A reader that stops consuming pauses its run in the hub once its queue holds
``high_water`` entries, and unpauses it when it has drained to half of that, so a
slow client costs bounded memory here (and Redis keeps what it has not read yet).

Attaching a run, moving its position back or unpausing it writes to the wake
stream, so a hub blocked in ``XREAD`` starts over at once with the new set.

The hub also watches for lost producers: every ``check_every`` seconds it asks the
log (``check_lost``) about the runs that brought nothing new meanwhile; a run whose
producer's lease has expired is then ended in Redis with its RUN_ERROR, which the
hub reads like any other entry. When Redis fails, every reader gets
:class:`~chatconduit.server.StreamLogUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .._exceptions import ReplayError, ReplayGapError
from ._replay import StreamLogUnavailableError

__all__ = ["Entry", "RedisTail", "entry_seq"]

logger = logging.getLogger("chatconduit.server")

Entry = tuple[int, Mapping[bytes, bytes]]
"""``(sequence number, fields)`` of one stream entry (its id is ``0-<seq>``)."""
CheckLost = Callable[[Sequence[str]], Awaitable[Mapping[str, int]]]
"""``check_lost(runs)``: for each run, 1 declared lost now, 0 alive or ended, -1 gone,
-2 lost but Redis refused to record its end (full): its readers are ended here."""


def entry_seq(entry_id: bytes | str) -> int:
    """The sequence number of an entry id ``0-<seq>``."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.rpartition("-")[2])


class _Reader:
    __slots__ = ("changed", "entries", "error", "queued")

    def __init__(self, position: int) -> None:
        self.entries: deque[Entry] = deque()
        self.queued = position  # highest seq handed to this reader (or its start)
        self.changed = asyncio.Event()
        self.error: ReplayError | None = None

    def fail(self, error: ReplayError) -> None:
        self.error = error
        self.changed.set()


class _Tail:
    __slots__ = ("active_at", "end", "key", "paused", "readers", "requested", "run")

    def __init__(self, run: str, key: bytes) -> None:
        self.run = run
        self.key = key
        self.readers: set[_Reader] = set()
        self.requested = -1  # where the XREAD on its way reads from (exclusive)
        self.end: int | None = None  # the seq of the end entry, once read
        self.paused = False
        self.active_at = time.monotonic()

    def start(self) -> int | None:
        """Where the next XREAD must read from: the slowest reader's position
        (``None``: every reader has everything up to the end)."""
        position = min(reader.queued for reader in self.readers)
        return None if self.end is not None and position >= self.end else position

    @property
    def ended(self) -> bool:
        return self.end is not None


class RedisTail:
    """The reader hub of one :class:`~chatconduit.server.RedisStreamLog` (one per replica)."""

    def __init__(
        self,
        client: Redis,
        wake_key: bytes,
        check_lost: CheckLost,
        *,
        check_every: float,
        block_ms: int = 1000,
        count: int = 256,
        high_water: int = 1024,
    ) -> None:
        self.client = client
        self.wake_key = wake_key
        self.check_lost = check_lost
        self.check_every = check_every
        self.block_ms = block_ms
        self.count = count
        self.high_water = high_water
        self._tails: dict[bytes, _Tail] = {}  # by stream key
        self._wake_id = b"0-0"
        self._blocked = False
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._wakes: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RedisTail(runs={len(self._tails)}, wake_key={self.wake_key!r})"

    # -- readers ------------------------------------------------------------------------------

    async def follow(
        self, run: str, key: bytes, position: int, *, strict: bool
    ) -> AsyncIterator[Entry]:
        """The entries of ``run``'s stream ``key`` after ``position``, until its end entry
        (yielded too). ``strict``: the first entry must be ``position + 1`` (a resume
        from a kept event); otherwise only later ones must follow without a hole."""
        reader = _Reader(position)
        tail = self._attach(run, key, reader)
        try:
            while True:
                if reader.entries:
                    seq, fields = reader.entries.popleft()
                    if tail.paused and len(reader.entries) <= self.high_water // 2:
                        self._unpause(tail)
                    if seq <= position:
                        continue
                    if strict and seq != position + 1:
                        raise ReplayGapError(
                            f"reader of run {run!r} fell behind: event {position} was the "
                            f"last it read and {seq - 1} is the oldest still kept"
                        )
                    strict = True
                    position = seq
                    yield seq, fields
                    if b"e" in fields:
                        return
                    continue
                if reader.error is not None:
                    raise reader.error
                reader.changed.clear()
                await reader.changed.wait()
        finally:
            self._detach(tail, reader)

    def _attach(self, run: str, key: bytes, reader: _Reader) -> _Tail:
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = _Tail(run, key)
        # A reader behind the others makes the next XREAD start from its position;
        # the readers ahead skip what they already have.
        tail.readers.add(reader)
        self._ensure_running()
        self._wake()
        return tail

    def _detach(self, tail: _Tail, reader: _Reader) -> None:
        tail.readers.discard(reader)
        if not tail.readers and self._tails.get(tail.key) is tail:
            del self._tails[tail.key]

    def _unpause(self, tail: _Tail) -> None:
        tail.paused = False
        self._wake()

    # -- the hub ------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="chatconduit-redis-tail")
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_lost(), name="chatconduit-redis-lost")

    def _wake(self) -> None:
        """Make a blocked ``XREAD`` return now (it also reads the wake stream)."""
        if not self._blocked:
            return  # the hub builds its next XREAD from the current set anyway
        task = asyncio.create_task(self._write_wake())
        self._wakes.add(task)
        task.add_done_callback(self._wakes.discard)

    async def _write_wake(self) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.xadd(self.wake_key, {b"w": b"1"}, maxlen=1, approximate=False)
                pipe.pexpire(self.wake_key, 600_000)
                await pipe.execute()
        except RedisError as exc:  # the hub's own XREAD fails too and reports it
            logger.debug("waking the Redis reader hub failed: %r", exc)

    async def _run(self) -> None:
        failures = 0
        while self._tails:
            streams: dict[Any, Any] = {self.wake_key: self._wake_id}
            for tail in self._tails.values():
                start = None if tail.paused or not tail.readers else tail.start()
                tail.requested = -1 if start is None else start
                if start is not None:
                    streams[tail.key] = b"0-%d" % start
            self._blocked = True
            try:
                reply = await self.client.xread(streams, count=self.count, block=self.block_ms)
            except RedisError as exc:
                failures += 1
                self._fail_all(exc)
                await asyncio.sleep(min(2.0, 0.05 * 2**failures))
                continue
            finally:
                self._blocked = False
            failures = 0
            for key, entries in _stream_items(reply):
                self._dispatch(key, entries)

    def _dispatch(self, key: bytes, entries: Sequence[tuple[bytes, Mapping[bytes, bytes]]]) -> None:
        if key == self.wake_key:
            if entries:
                self._wake_id = entries[-1][0]
            return
        tail = self._tails.get(key)
        if tail is None or tail.requested < 0:
            return  # every reader left while the XREAD was on its way
        tail.active_at = time.monotonic()
        # Only the readers this XREAD covers: one that attached while it was on its way,
        # behind where it started, gets its entries from the next one (a reader handed
        # entries past a hole would see a gap that is not there).
        covered = [reader for reader in tail.readers if reader.queued >= tail.requested]
        for entry_id, fields in entries:
            seq = entry_seq(entry_id)
            if b"e" in fields:
                tail.end = seq
            for reader in covered:
                if seq > reader.queued:
                    reader.queued = seq
                    reader.entries.append((seq, fields))
        for reader in covered:
            reader.changed.set()
            if len(reader.entries) >= self.high_water:
                tail.paused = True

    def _fail_all(self, exc: BaseException) -> None:
        logger.warning("reading the runs' streams from Redis failed: %r", exc)
        for tail in list(self._tails.values()):
            for reader in tail.readers:
                reader.fail(StreamLogUnavailableError(f"Redis cannot be read: {exc}"))

    async def _watch_lost(self) -> None:
        while self._tails:
            await asyncio.sleep(self.check_every)
            now = time.monotonic()
            quiet = {
                tail.run: tail
                for tail in self._tails.values()
                if not tail.ended and now - tail.active_at >= self.check_every
            }
            if not quiet:
                continue
            try:
                found = await self.check_lost(list(quiet))
            except (RedisError, StreamLogUnavailableError) as exc:
                logger.debug("checking for lost producers failed: %r", exc)
                continue
            for run, status in found.items():
                if status >= 0:
                    continue  # alive, or ended in Redis: its entries come through XREAD
                why = "is no longer kept" if status == -1 else "lost its producer (not recorded)"
                for reader in quiet[run].readers:
                    reader.fail(ReplayError(f"run {run!r} {why}"))

    async def aclose(self) -> None:
        for task in (self._task, self._watch, *self._wakes):
            if task is not None:
                task.cancel()
        for task in (self._task, self._watch, *self._wakes):
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        self._task = self._watch = None


def _stream_items(reply: Any) -> list[tuple[bytes, Any]]:
    """``XREAD``'s reply as ``[(key, entries)]``, whichever protocol answered (RESP2: a
    list of pairs; RESP3: a map; nothing: ``None``)."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        return [(key, value[0] if _nested(value) else value) for key, value in reply.items()]
    return [(item[0], item[1]) for item in reply]


def _nested(value: Any) -> bool:
    # redis-py's RESP3 XREAD parse gives {key: [entries]}: one more level of list.
    return bool(value) and isinstance(value[0], list)
