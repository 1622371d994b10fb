"""``RedisStreamLog``: durable runs shared by every replica, on Redis Streams.

A :class:`~chatconduit.server.StreamLog` and a :class:`~chatconduit.server.RunControl`
in one object (see ``_redis_scripts`` for the keys):

* ``claim``/``create`` make the run and take its lease in one script: exactly one
  replica produces it. The lease is renewed every third of ``lease`` seconds, for all
  of this replica's runs in one script call; a replica that stops renewing (killed,
  partitioned) loses its runs within ``lease`` seconds.
* ``append`` is an ``XADD`` with the next explicit id (``0-1``, ``0-2``, ...), so event
  ids are ``"0"``, ``"1"``, ... exactly as with the in-memory log. Appends from all runs
  are sent together, one pipeline per round trip (``batch=False``: one call each).
* ``read`` checks the run and the offset at once (404/410 before any byte is sent),
  then follows the stream through this replica's reader hub (``_redis_tail``), which
  also ends runs whose producer lost its lease with a RUN_ERROR ``producer_lost``
  naming that replica; the partial answer before it stays readable.
* ``request_stop`` marks the run and publishes its key on the stop channel; the
  producing replica cancels it (its agent's ``finally`` runs). A stop published while
  that replica was not listening is still seen at its next renewal.
* Redis failing shows as :class:`~chatconduit.server.StreamLogUnavailableError`:
  ``open`` at start-up, a RUN_ERROR ``log_unavailable`` for readers mid-stream.

Memory in Redis is bounded per run (``MAXLEN ~ max_events_per_run``, events of at most
``max_event_bytes``) and in time (every key expires ``retention`` seconds after its
run's end or its producer's last renewal); size ``maxmemory`` for the runs you expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from .. import _json
from .._exceptions import (
    EventTooLargeError,
    ReplayError,
    ReplayGapError,
    RunExistsError,
    StreamLogFullError,
    UnknownRunError,
)
from .._ids import now_ms
from .._redact import redact_url
from ._errors import run_error_event
from ._redis_client import default_replica_id, make_client
from ._redis_scripts import CLAIM, CLOSE, DECLARE_LOST, RENEW, REQUEST_STOP, encode_key
from ._redis_tail import RedisTail
from ._redis_threads import RedisThreadStore
from ._redis_writer import BatchWriter, redis_failure
from ._replay import StopHandler, StopState, StreamLogUnavailableError

__all__ = ["DEFAULT_LEASE", "DEFAULT_MAX_EVENT_BYTES", "RedisStreamLog"]

logger = logging.getLogger("chatconduit.server")

DEFAULT_LEASE = 10.0
"""Seconds a producer's lease lasts without renewal: how long a lost replica's runs take
to end with ``producer_lost``."""
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
"""1 MiB of compact JSON per event; a larger one ends its run with ``event_too_large``."""
_RENEW_CHUNK = 256  # runs per renewal script call
_IN_FLIGHT = 64  # appends of one run queued before it waits for their replies
_BACKLOG = 4096  # appends of all runs queued before each run waits for its own


@dataclass
class _Owned:
    """A run this replica produces: its keys, the last sequence number it used, and its
    appends on their way to Redis (``(seq, payload, reply)``, oldest first)."""

    meta: bytes
    lease: bytes
    events: bytes
    seq: int = 0
    sending: deque[tuple[int, bytes, asyncio.Future[Any]]] = field(default_factory=deque)


class RedisStreamLog:
    """A :class:`~chatconduit.server.StreamLog` on Redis Streams, shared by replicas.

    ``redis`` is a ``redis.asyncio.Redis`` (created with ``decode_responses=False``) or
    a URL (``redis://host:6379/0``; the client is then this log's, closed by
    :meth:`aclose`). ``prefix`` namespaces every key, so apps can share a Redis.
    ``lease``: see :data:`DEFAULT_LEASE`. ``retention``: seconds a run's events are
    kept after it ends (or after its producer was last heard of). ``replica``: this
    process's name in leases and ``producer_lost`` errors.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "chatconduit",
        lease: float = DEFAULT_LEASE,
        retention: float = 300.0,
        max_events_per_run: int = 10_000,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        replica: str | None = None,
        batch: bool = True,
    ) -> None:
        if not lease > 0 or not retention > 0:
            raise ValueError(f"lease and retention must be > 0 seconds, got {lease}, {retention}")
        if max_events_per_run < 1 or max_event_bytes < 1:
            raise ValueError("max_events_per_run and max_event_bytes must be at least 1")
        if not isinstance(redis, str) and redis.connection_pool.connection_kwargs.get(
            "decode_responses"
        ):
            raise ValueError("the Redis client must keep bytes: decode_responses=False")
        self._owns_client = isinstance(redis, str)
        self.url = redact_url(redis) if isinstance(redis, str) else None
        self.client: Redis = make_client(redis) if isinstance(redis, str) else redis
        self.prefix = prefix
        self.lease = lease
        self.retention = retention
        self.max_events_per_run = max_events_per_run
        self.max_event_bytes = max_event_bytes
        self.replica = replica or default_replica_id()
        self.batch = batch
        self._lease_ms = max(1, round(lease * 1000))
        self._ttl_ms = max(1, round((retention + lease) * 1000))  # while live
        self._retention_ms = max(1, round(retention * 1000))  # once ended
        self._channel = encode_key(prefix, "stop")
        self._owned: dict[str, _Owned] = {}
        self._stop_handlers: list[StopHandler] = []  # one per DurableRuns using this log
        self._opened = False
        self._tasks: list[asyncio.Task[None]] = []
        self._writer = BatchWriter(self.client)
        self._claim = self.client.register_script(CLAIM)
        self._close = self.client.register_script(CLOSE)
        self._renew = self.client.register_script(RENEW)
        self._lost = self.client.register_script(DECLARE_LOST)
        self._stop = self.client.register_script(REQUEST_STOP)
        self._tail = RedisTail(
            self.client,
            encode_key(prefix, "wake", self.replica),
            self._declare_lost,
            check_every=max(0.1, lease / 4),
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStreamLog:
        """``RedisStreamLog(url, **options)``."""
        return cls(url, **options)

    def __repr__(self) -> str:
        where = self.url or repr(self.client)
        return f"RedisStreamLog({where}, replica={self.replica!r}, producing={len(self._owned)})"

    def thread_store(self, **options: Any) -> RedisThreadStore:
        """A :class:`~chatconduit.server.RedisThreadStore` on the same client and prefix."""
        return RedisThreadStore(self.client, prefix=self.prefix, **options)

    def _keys(self, run_id: str) -> _Owned:
        return _Owned(
            encode_key(self.prefix, "meta", run_id),
            encode_key(self.prefix, "lease", run_id),
            encode_key(self.prefix, "ev", run_id),
        )

    # -- RunControl ---------------------------------------------------------------------------

    async def open(self, on_stop: StopHandler | None = None) -> None:
        if on_stop is not None and on_stop not in self._stop_handlers:
            self._stop_handlers.append(on_stop)
        if self._opened:
            return
        try:
            await self.client.ping()
        except RedisError as exc:
            raise StreamLogUnavailableError(
                f"cannot reach Redis at {self.url or self.client!r}: {exc}"
            ) from exc
        self._start_tasks()

    def _start_tasks(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._tasks = [
            asyncio.create_task(self._renew_leases(), name="chatconduit-redis-leases"),
            asyncio.create_task(self._listen_for_stops(), name="chatconduit-redis-stops"),
        ]

    async def claim(self, run_id: str, *, name: str, thread_id: str | None) -> None:
        self._start_tasks()
        keys = self._keys(run_id)
        head, tail = self._lost_event(name, thread_id)
        try:
            claimed = await self._claim(
                keys=[keys.meta, keys.lease],
                args=[self.replica, self._lease_ms, self._ttl_ms, head, tail],
            )
        except RedisError as exc:
            raise redis_failure(exc, f"creating run {run_id!r}") from exc
        if not claimed:
            raise RunExistsError(f"run {run_id!r} is already recorded")
        self._owned[run_id] = keys

    def _lost_event(self, name: str, thread_id: str | None) -> tuple[bytes, bytes]:
        """The RUN_ERROR a reader records if this replica is lost, split at its timestamp
        (which the script fills in)."""
        event = run_error_event(
            {
                "message": (
                    f"The replica producing this run ({self.replica}) stopped renewing its "
                    "lease; the run ended before it finished."
                ),
                "code": "producer_lost",
            },
            run_id=name,
            thread_id=thread_id,
            timestamp=0,
        )
        head, _, tail = _json.dumps_bytes(event).partition(b'"timestamp":0')
        return head + b'"timestamp":', tail

    async def request_stop(self, run_id: str) -> StopState:
        keys = self._keys(run_id)
        try:
            found = await self._stop(keys=[keys.meta], args=[self._channel, encode_key(run_id)])
        except RedisError as exc:
            raise redis_failure(exc, f"stopping run {run_id!r}") from exc
        return {0: "unknown", 1: "finished"}.get(int(found), "stopping")  # type: ignore[return-value]

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            owned = list(self._owned.items())
            for start in range(0, len(owned), _RENEW_CHUNK):
                chunk = owned[start : start + _RENEW_CHUNK]
                keys = [key for _, run in chunk for key in (run.meta, run.lease, run.events)]
                try:
                    statuses = await self._renew(
                        keys=keys, args=[self.replica, self._lease_ms, self._ttl_ms]
                    )
                except RedisError as exc:
                    logger.warning("renewing %d run lease(s) failed: %r", len(chunk), exc)
                    continue
                for (run_id, run), status in zip(chunk, statuses, strict=False):
                    if status != 1 and self._owned.get(run_id) is run:
                        self._stop_here(run_id, "lost" if status == 0 else "stop")

    def _stop_here(self, run_id: str, reason: str) -> None:
        if reason == "lost":
            logger.warning("run %r: this replica's lease on it was lost", run_id[:80])
        for handler in self._stop_handlers:
            handler(run_id, reason)  # each ignores runs it does not run

    async def _listen_for_stops(self) -> None:
        failures = 0
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                failures = 0
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        run_id = bytes(message["data"]).decode("utf-8", "surrogatepass")
                        if run_id in self._owned:
                            self._stop_here(run_id, "stop")
            except RedisError as exc:
                failures += 1
                logger.debug("the stop channel failed (renewals still see stops): %r", exc)
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def aclose(self) -> None:
        """Stop renewing leases and listening; close the client if this log made it."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        self._opened = False
        await self._tail.aclose()
        await self._writer.aclose()
        if self._owns_client:
            with contextlib.suppress(Exception):
                await self.client.aclose()

    # -- StreamLog ----------------------------------------------------------------------------

    async def create(self, run_id: str) -> None:
        await self.claim(run_id, name=run_id, thread_id=None)

    async def append(self, run_id: str, payload: bytes) -> str:
        run = self._owned.get(run_id)
        if run is None:
            raise ReplayError(f"run {run_id!r} is not being produced by this replica")
        if len(payload) > self.max_event_bytes:
            raise EventTooLargeError(
                f"an event of run {run_id!r} has {len(payload)} bytes; at most "
                f"{self.max_event_bytes} are kept"
            )
        run.seq += 1  # taken now: a cancelled append may still land, the next must follow it
        seq = run.seq
        command: tuple[Any, ...] = (
            "XADD", run.events, "MAXLEN", "~", self.max_events_per_run, b"0-%d" % seq, "d", payload
        )  # fmt: skip
        commands = [command]
        if seq == 1:  # the stream exists from now on: it expires like the run's other keys
            commands.append(("PEXPIRE", run.events, self._ttl_ms))
        if self.batch:
            # Queued, not awaited: the run goes on while the pipeline travels. A failure
            # shows at the run's next append (or its close), which checks the replies.
            run.sending.append((seq, payload, self._writer.enqueue(commands)))
            # Redis slower than the runs (a long queue): each run waits for its own.
            keep = 0 if self._writer.backlog > _BACKLOG else _IN_FLIGHT
            await self._settle(run_id, run, keep=keep)
            return str(seq - 1)
        try:
            result = await self._direct(commands)
        except RedisError as exc:
            raise redis_failure(exc, f"recording run {run_id!r}") from exc
        if isinstance(result, Exception):
            await self._conflict(run_id, run, seq, payload, result)
        return str(seq - 1)

    async def _settle(self, run_id: str, run: _Owned, *, keep: int) -> None:
        """Check the replies of ``run``'s queued appends that have arrived, waiting for
        the oldest ones until at most ``keep`` are still on their way; raise the first
        failure."""
        while run.sending and (len(run.sending) > keep or run.sending[0][2].done()):
            seq, payload, reply = run.sending[0]
            try:
                # Shielded: a run cancelled while it waits must not cancel the reply,
                # which its close still checks.
                result = await asyncio.shield(reply)
            except RedisError as exc:
                run.sending.clear()
                raise redis_failure(exc, f"recording run {run_id!r}") from exc
            run.sending.popleft()
            if isinstance(result, Exception):
                run.sending.clear()
                await self._conflict(run_id, run, seq, payload, result)

    async def _direct(self, commands: Sequence[tuple[Any, ...]]) -> Any:
        client: Any = self.client  # execute_command is untyped
        try:
            result = await client.execute_command(*commands[0])
        except ResponseError as exc:
            return exc
        for command in commands[1:]:
            await client.execute_command(*command)
        return result

    async def _conflict(
        self, run_id: str, run: _Owned, seq: int, payload: bytes, error: Exception
    ) -> None:
        """An ``XADD`` refused: a retry of one that landed (fine), or the run was ended by
        someone else (declared lost), or Redis is out of memory."""
        text = str(error)
        if "equal or smaller" in text:
            try:
                found = await self.client.xrange(run.events, b"0-%d" % seq, b"0-%d" % seq)
            except RedisError as exc:
                raise redis_failure(exc, f"recording run {run_id!r}") from exc
            if found and found[0][1] == {b"d": payload}:
                return
            raise ReplayError(f"run {run_id!r} was ended by another replica (declared lost)")
        if text.startswith("OOM"):
            raise StreamLogFullError(f"Redis refused an event of run {run_id!r}: {text}")
        raise ReplayError(f"Redis refused an event of run {run_id!r}: {text}")

    async def close(self, run_id: str) -> None:
        run = self._owned.pop(run_id, None)
        if run is None:
            if not await self.has_run(run_id):
                raise UnknownRunError(f"no replay buffer for run {run_id!r}")
            return  # closed already, or not this replica's
        try:
            await self._settle(run_id, run, keep=0)  # every event lands before the end
        except ReplayError as exc:
            logger.warning("run %r: its last events were not recorded: %s", run_id[:80], exc)
        try:
            await self._close(
                keys=[run.meta, run.lease, run.events],
                args=[self.replica, b"0-%d" % (run.seq + 1), self._retention_ms],
            )
        except ResponseError as exc:  # the next id was taken: the run was declared lost
            logger.warning("run %r was ended by another replica: %s", run_id[:80], exc)
        except RedisError as exc:
            raise redis_failure(exc, f"closing run {run_id!r}") from exc

    async def has_run(self, run_id: str) -> bool:
        try:
            return bool(await self.client.exists(self._keys(run_id).meta))
        except RedisError as exc:
            raise redis_failure(exc, f"looking up run {run_id!r}") from exc

    async def read(
        self, run_id: str, *, after: str | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        keys = self._keys(run_id)
        position = 0 if after is None else _position(run_id, after)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hget(keys.meta, "state")
                pipe.exists(keys.lease)
                if after is not None:
                    pipe.xrange(keys.events, b"0-%d" % position, b"0-%d" % position)
                found = await pipe.execute()
        except RedisError as exc:
            raise redis_failure(exc, f"reading run {run_id!r}") from exc
        state, leased = found[0], found[1]
        if state is None:
            raise UnknownRunError(f"no replay buffer for run {run_id!r}")
        if after is not None and not (found[2] and b"d" in found[2][0][1]):
            raise ReplayGapError(f"offset {after!r} is not an event id of run {run_id!r} (kept)")
        if state == b"live" and not leased:
            try:
                await self._declare_lost([run_id])  # its RUN_ERROR is then the last event read
            except RedisError as exc:
                raise redis_failure(exc, f"reading run {run_id!r}") from exc
        return self._events(run_id, keys.events, position, strict=after is not None)

    async def _events(
        self, run_id: str, key: bytes, position: int, *, strict: bool
    ) -> AsyncIterator[tuple[str, bytes]]:
        async for seq, fields in self._tail.follow(run_id, key, position, strict=strict):
            data = fields.get(b"d")
            if data is not None:
                yield str(seq - 1), data

    async def _declare_lost(self, runs: Sequence[str]) -> Mapping[str, int]:
        """End the live runs among ``runs`` whose lease has expired (see ``DECLARE_LOST``):
        per run 1 ended now, 0 alive or ended before, -1 gone, -2 Redis refused to end it."""
        now = now_ms()
        async with self.client.pipeline(transaction=False) as pipe:
            for run_id in runs:
                keys = self._keys(run_id)
                await self._lost(
                    keys=[keys.meta, keys.lease, keys.events],
                    args=[now, self._retention_ms],
                    client=pipe,
                )
            statuses = await pipe.execute(raise_on_error=False)
        found: dict[str, int] = {}
        for run_id, status in zip(runs, statuses, strict=True):
            if isinstance(status, Exception):  # e.g. OOM: Redis is full and refuses writes
                logger.warning("run %r: Redis refused to end it: %s", run_id[:80], status)
                found[run_id] = -2
                continue
            found[run_id] = int(status)
            if status == 1:
                logger.warning("run %r: its producer's lease expired; ended as lost", run_id[:80])
        return found


def _position(run_id: str, after: str) -> int:
    """The entry sequence number of event id ``after`` (``"0"`` is entry ``0-1``)."""
    if not after.isascii() or not after.isdigit() or len(after) > 18:
        raise ReplayGapError(f"offset {after!r} is not an event id of run {run_id!r}")
    return int(after) + 1
