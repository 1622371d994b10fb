"""The Redis client a ``RedisStreamLog`` makes from a URL, and the start-up check of one.

Kept apart from the log so the CLI can check a URL (``serve --redis-url``) before any
event loop runs, with the synchronous client, and say in one line why it cannot be used.
"""

from __future__ import annotations

import os
import secrets
import socket

from redis.asyncio import BlockingConnectionPool, Redis

from .._redact import redact_url

__all__ = ["MAX_CONNECTIONS", "check_redis", "default_replica_id", "make_client"]


def default_replica_id() -> str:
    """``host:pid:random``: unique per process, readable in a ``producer_lost`` message."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


MAX_CONNECTIONS = 128
"""Connections of the client a ``RedisStreamLog`` makes from a URL: the reader hub, the
writer and the stop listener hold one each; requests share the rest, and wait for one
(up to 20 s) instead of failing when all are busy."""


def make_client(url: str) -> Redis:
    """The client a ``RedisStreamLog`` made from a URL uses."""
    # Bytes in and out (events are stored as they are framed), a read timeout well
    # above the reader hub's one-second XREAD BLOCK, and a bounded pool that queues.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=20,
        decode_responses=False,
        socket_timeout=10.0,
        socket_connect_timeout=5.0,
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool too
    return client


def check_redis(url: str, *, timeout: float = 5.0) -> str | None:
    """Why Redis at ``url`` cannot be used now (one line, no credentials), or ``None``
    when it answers a PING. Synchronous: for start-up checks before an event loop runs."""
    import redis

    shown = redact_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as exc:
        return f"invalid Redis URL {shown}: {exc}"
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"cannot reach Redis at {shown}: {exc}"
    finally:
        client.close()
    return None
