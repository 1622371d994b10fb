"""Appends of all runs to Redis in one pipeline per round trip, and Redis errors as log errors.

Every event of every run is one ``XADD``. Sent one by one, each costs a round trip and
a turn of the client's connection pool; with many runs producing at once most of the
time goes there. :class:`BatchWriter` queues the commands submitted while a pipeline is
on its way and sends them together in the next one, so one round trip carries the
events of every run that produced meanwhile. Order per run holds because a run awaits
each append before the next (``DurableRuns`` does), or queues them in order; a
command's reply (or its error, as a value) is what its future resolves to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._exceptions import ReplayError
from ._replay import StreamLogUnavailableError

__all__ = ["BatchWriter", "redis_failure"]

Command = tuple[Any, ...]

logger = logging.getLogger("chatconduit.server")


def redis_failure(exc: RedisError, doing: str) -> ReplayError:
    """The log error for a Redis error met while ``doing`` something."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
        logger.warning("Redis unreachable while %s: %s", doing, exc)
        return StreamLogUnavailableError(f"Redis is unreachable ({doing}): {exc}")
    return ReplayError(f"Redis failed {doing}: {exc}")


class BatchWriter:
    """Sends submitted command groups in pipelines, one pipeline in flight at a time."""

    def __init__(self, client: Redis, *, max_batch: int = 2048) -> None:
        self.client = client
        self.max_batch = max_batch
        self._queue: list[tuple[Sequence[Command], asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None
        self.round_trips = 0  # pipelines sent (for benchmarks and tests)

    def __repr__(self) -> str:
        return f"BatchWriter(queued={len(self._queue)}, round_trips={self.round_trips})"

    @property
    def backlog(self) -> int:
        """Command groups waiting for the next pipeline."""
        return len(self._queue)

    def enqueue(self, commands: Sequence[Command]) -> asyncio.Future[Any]:
        """Queue ``commands`` for the next pipeline (in order, after everything queued
        before). The future resolves to the first command's reply, an error reply as an
        exception *value*; a failure of the whole pipeline (the connection) is its
        exception."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((commands, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="chatconduit-redis-writer")
        return future

    async def submit(self, commands: Sequence[Command]) -> Any:
        """:meth:`enqueue` and wait for the reply."""
        return await self.enqueue(commands)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the runs woken in this loop turn submit too
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            self.round_trips += 1
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for commands, _ in batch:
                        for command in commands:
                            pipe.execute_command(*command)
                    results = await pipe.execute(raise_on_error=False)
            except (RedisError, OSError) as exc:
                failure = exc if isinstance(exc, RedisError) else RedisConnectionError(str(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                continue
            at = 0
            for commands, future in batch:
                if not future.done():
                    future.set_result(results[at])
                at += len(commands)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
        self._task = None
