"""``RedisThreadStore``: the threads ``hydrate`` reads, in Redis, shared by every replica.

One Hash per thread (``<prefix>:thread:<thread id>``): ``messages`` (the UIMessages as
one JSON array), ``active`` (the run producing now), ``latest`` (the newest run
started), ``interrupts``/``interrupts_run`` (pending interrupts and the run they came
from). A run's end is written by a script only while that run is still the thread's
latest, so the end of an older run never overwrites a newer one. Every write and every
read sets the TTL again; a thread's JSON is kept under ``max_bytes_per_thread`` by
dropping its oldest messages, as :class:`~chatconduit.server.InMemoryThreadStore` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .. import _json
from ._redis_scripts import THREAD_ENDED, encode_key
from ._redis_writer import redis_failure
from ._threads import (
    DEFAULT_MAX_BYTES_PER_THREAD,
    DEFAULT_THREAD_TTL,
    PendingInterrupts,
    ThreadRecord,
)

__all__ = ["RedisThreadStore"]

logger = logging.getLogger("chatconduit.server")


class RedisThreadStore:
    """A :class:`~chatconduit.server.ThreadStore` in Redis (see the module).

    ``redis``: a ``redis.asyncio.Redis`` with ``decode_responses=False`` (or use
    ``RedisStreamLog.thread_store()``). Failures raise
    :class:`~chatconduit.server.StreamLogUnavailableError` (Redis unreachable) or
    :class:`~chatconduit.server.ReplayError`; durable runs log them and go on.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "chatconduit",
        ttl: float = DEFAULT_THREAD_TTL,
        max_bytes_per_thread: int = DEFAULT_MAX_BYTES_PER_THREAD,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
        if max_bytes_per_thread < 1:
            raise ValueError(f"max_bytes_per_thread must be >= 1, got {max_bytes_per_thread!r}")
        self.client = redis
        self.prefix = prefix
        self.ttl = ttl
        self.max_bytes_per_thread = max_bytes_per_thread
        self._ttl_ms = max(1, round(ttl * 1000))
        self._ended = redis.register_script(THREAD_ENDED)

    def __repr__(self) -> str:
        return f"RedisThreadStore(prefix={self.prefix!r}, ttl={self.ttl})"

    def _key(self, thread_id: str) -> bytes:
        return encode_key(self.prefix, "thread", thread_id)

    def _encode(self, thread_id: str, messages: Sequence[Mapping[str, Any]], room: int) -> bytes:
        """The messages as one JSON array of at most ``room`` bytes, oldest dropped first."""
        encoded = [_json.dumps_bytes(m) for m in messages]
        size = 2 + sum(len(m) + 1 for m in encoded)
        dropped = 0
        while encoded and size > room:
            size -= len(encoded.pop(0)) + 1
            dropped += 1
        if dropped:
            logger.warning(
                "thread %r is over %d bytes: dropped its %d oldest messages",
                thread_id[:80],
                self.max_bytes_per_thread,
                dropped,
            )
        return b"[" + b",".join(encoded) + b"]"

    async def run_started(
        self, thread_id: str, run_id: str, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        key = self._key(thread_id)
        encoded = self._encode(thread_id, messages, self.max_bytes_per_thread - 2 * len(run_id))
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                run = encode_key(run_id)
                pipe.hset(key, mapping={"messages": encoded, "active": run, "latest": run})
                pipe.pexpire(key, self._ttl_ms)
                await pipe.execute()
        except RedisError as exc:
            raise redis_failure(exc, f"writing thread {thread_id[:80]!r}") from exc

    async def run_ended(
        self,
        thread_id: str,
        run_id: str,
        messages: Sequence[Mapping[str, Any]],
        interrupts: PendingInterrupts | None,
    ) -> None:
        pending = b""
        if interrupts is not None and interrupts.pending:
            pending = _json.dumps_bytes(interrupts.pending)
            if len(pending) > self.max_bytes_per_thread // 2:
                logger.warning("thread %r: its pending interrupts are too large to keep", run_id)
                pending = b""
        room = self.max_bytes_per_thread - len(pending) - 2 * len(run_id)
        encoded = self._encode(thread_id, messages, room)
        interrupt_run = encode_key(interrupts.run_id if interrupts is not None else "")
        try:
            await self._ended(
                keys=[self._key(thread_id)],
                args=[encode_key(run_id), encoded, pending, interrupt_run, self._ttl_ms],
            )
        except RedisError as exc:
            raise redis_failure(exc, f"writing thread {thread_id[:80]!r}") from exc

    async def load(self, thread_id: str) -> ThreadRecord | None:
        key = self._key(thread_id)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(key)
                pipe.pexpire(key, self._ttl_ms)  # read is use: the thread lives on
                found, _ = await pipe.execute()
        except RedisError as exc:
            raise redis_failure(exc, f"reading thread {thread_id[:80]!r}") from exc
        if not found:
            return None
        fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in found.items()}
        pending = None
        if fields.get("interrupts"):
            pending = PendingInterrupts(
                _text(fields.get("interrupts_run")), _json.loads(fields["interrupts"])
            )
        active = fields.get("active")
        return ThreadRecord(
            messages=_json.loads(fields.get("messages") or b"[]"),
            active_run=_text(active) if active else None,
            interrupts=pending,
        )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return "" if value is None else str(value)
