"""``RedisStreamLog`` and ``RedisThreadStore`` against a real ``redis-server``, in-process.

Two logs on one Redis play two replicas (each its own replica id, reader hub, lease
renewals and stop listener). What is checked here: the ids and the 404/410 answers are
the in-memory log's; a run produced by one replica is followed live by the other with
nothing lost or repeated; a stop asked of either reaches the producer (Pub/Sub, and the
renewal when Pub/Sub missed it); a producer that stops renewing is declared lost within
its lease, its partial answer kept and its late writes refused; Redis unreachable at
start and mid-run gives clear errors; memory is bounded (MAXLEN, TTL, event size).
The process-level proofs are in ``test_redis_replicas.py``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from chatconduit.server import (
    DurableRuns,
    EventTooLargeError,
    PendingInterrupts,
    RedisStreamLog,
    RedisThreadStore,
    ReplayError,
    ReplayGapError,
    RunExistsError,
    StreamLogFullError,
    StreamLogUnavailableError,
    UnknownRunError,
)
from redis_support import RedisServer, redis_server

LEASE = 0.6


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


class Stops:
    """The ``on_stop`` calls one replica got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    def __call__(self, run: str, why: str) -> None:
        self.calls.append((run, why))
        self.changed.set()


STOPS: dict[str, Stops] = {}


@pytest.fixture
async def pair(redis: RedisServer) -> AsyncIterator[tuple[RedisStreamLog, RedisStreamLog]]:
    """Two replicas of one log (same prefix), opened; ``STOPS[replica]`` records stops."""
    shared = prefix()
    a = RedisStreamLog(redis.url, prefix=shared, lease=LEASE, replica="replica-a")
    b = RedisStreamLog(redis.url, prefix=shared, lease=LEASE, replica="replica-b")
    for log in (a, b):
        STOPS[log.replica] = Stops()
        await log.open(STOPS[log.replica])
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


def event(n: int) -> bytes:
    return json.dumps({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"{n} "}).encode()


async def collect(reader: AsyncIterator[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [item async for item in reader]


# --- the StreamLog contract -----------------------------------------------------------------


async def test_ids_resume_and_refusals_are_the_in_memory_logs(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    await a.create("run-1")
    ids = [await a.append("run-1", event(n)) for n in range(5)]
    await a.close("run-1")

    assert ids == ["0", "1", "2", "3", "4"]
    assert await b.has_run("run-1") and not await b.has_run("run-x")
    assert await collect(await b.read("run-1")) == [(str(n), event(n)) for n in range(5)]
    assert await collect(await b.read("run-1", after="2")) == [("3", event(3)), ("4", event(4))]
    assert await collect(await b.read("run-1", after="4")) == []
    with pytest.raises(UnknownRunError):
        await b.read("run-x")
    for bad in ("5", "-1", "x", "0-1", "１"):  # past the end, negative, not ids, non-ASCII digit
        with pytest.raises(ReplayGapError):
            await b.read("run-1", after=bad)
    with pytest.raises(RunExistsError):
        await b.create("run-1")  # one producer per run, whichever replica asks
    with pytest.raises(ReplayError):
        await b.append("run-1", event(9))  # not b's run


async def test_a_replica_follows_another_replicas_run_live_without_loss_or_repeat(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    await a.claim("run-live", name="run-live", thread_id="t")
    await a.append("run-live", event(0))
    early = asyncio.create_task(collect(await b.read("run-live")))
    late: asyncio.Task[list[tuple[str, bytes]]] | None = None
    for n in range(1, 300):
        await a.append("run-live", event(n))
        if n == 150:  # a second reader on the same replica joins mid-run from an offset
            late = asyncio.create_task(collect(await b.read("run-live", after="99")))
        if n % 50 == 0:
            await asyncio.sleep(0.01)
    await a.close("run-live")

    everything = [(str(n), event(n)) for n in range(300)]
    assert await asyncio.wait_for(early, 10) == everything
    assert late is not None
    assert await asyncio.wait_for(late, 10) == everything[100:]


async def test_one_hub_connection_serves_many_followed_runs(
    redis: RedisServer, pair: tuple[RedisStreamLog, RedisStreamLog]
) -> None:
    a, b = pair
    runs = [f"run-many-{n}" for n in range(200)]
    for run in runs:
        await a.create(run)
    readers = [asyncio.create_task(collect(await b.read(run))) for run in runs]
    await asyncio.sleep(0.2)
    clients_while_following = len(redis.command("CLIENT", "LIST").splitlines())
    for n in range(3):
        await asyncio.gather(*(a.append(run, event(n)) for run in runs))
    for run in runs:
        await a.close(run)
    results = await asyncio.wait_for(asyncio.gather(*readers), 20)

    assert all(result == [(str(n), event(n)) for n in range(3)] for result in results)
    # 200 readers, not 200 connections: the hub's XREAD, the writers' pipelines, pub/sub.
    assert clients_while_following < 30


# --- stop, lost producers -------------------------------------------------------------------


async def test_a_stop_asked_of_any_replica_reaches_the_producer(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    await a.claim("run-stop", name="run-stop", thread_id=None)
    assert await b.request_stop("run-stop") == "stopping"
    await asyncio.wait_for(STOPS["replica-a"].changed.wait(), 2)
    assert STOPS["replica-a"].calls == [("run-stop", "stop")]
    assert STOPS["replica-b"].calls == []
    await a.close("run-stop")
    assert await b.request_stop("run-stop") == "finished"
    assert await b.request_stop("run-nobody") == "unknown"


async def test_a_stop_missed_on_pub_sub_is_seen_at_the_next_renewal(
    redis: RedisServer, pair: tuple[RedisStreamLog, RedisStreamLog]
) -> None:
    a, _ = pair
    await a.claim("run-quiet-stop", name="run-quiet-stop", thread_id=None)
    # The flag without the message, as when the producer's subscription was reconnecting.
    redis.command("HSET", f"{a.prefix}:meta:run-quiet-stop", "stop", "1")
    await asyncio.sleep(LEASE)
    assert ("run-quiet-stop", "stop") in STOPS["replica-a"].calls
    await a.close("run-quiet-stop")


async def test_a_producer_that_stops_renewing_is_declared_lost_within_its_lease(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    await a.claim("run-lost", name="run-lost", thread_id="thread-lost")
    for n in range(3):
        await a.append("run-lost", event(n))
    reader = await b.read("run-lost")
    for task in a._tasks:  # a stops renewing, as a killed or partitioned replica does
        task.cancel()
    killed = time.monotonic()
    items = await asyncio.wait_for(collect(reader), 5)
    waited = time.monotonic() - killed

    assert items[:3] == [(str(n), event(n)) for n in range(3)]  # the partial answer stays
    last_id, last = items[3]
    assert last_id == "3" and len(items) == 4
    error = json.loads(last)
    assert error["type"] == "RUN_ERROR" and error["code"] == "producer_lost"
    assert error["runId"] == "run-lost" and error["threadId"] == "thread-lost"
    assert "replica-a" in error["message"]
    assert waited <= LEASE + LEASE / 4 + 0.3
    # The lost producer's late writes are refused (the next id is taken), not appended;
    # appends are pipelined, so the refusal is raised by the run's next append.
    with pytest.raises(ReplayError, match="declared lost"):
        await a.append("run-lost", event(3))
        await asyncio.sleep(0.2)
        await a.append("run-lost", event(4))
    # A reader that comes later gets the same ending at once.
    assert await collect(await b.read("run-lost")) == items


async def test_a_run_whose_producer_died_before_anyone_read_ends_on_first_read(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    await a.claim("run-orphan", name="run-orphan", thread_id=None)
    await a.append("run-orphan", event(0))
    for task in a._tasks:
        task.cancel()
    await asyncio.sleep(LEASE + 0.1)
    started = time.monotonic()
    items = await collect(await b.read("run-orphan", after="0"))
    assert time.monotonic() - started < 0.5
    assert [json.loads(p)["code"] for _, p in items] == ["producer_lost"]


# --- DurableRuns on Redis ---------------------------------------------------------------------


async def test_durable_runs_on_redis_stop_from_the_other_replica_runs_the_finally(
    pair: tuple[RedisStreamLog, RedisStreamLog],
) -> None:
    a, b = pair
    on_a = DurableRuns(a)
    on_b = DurableRuns(b)
    assert on_a.abandon_after is None  # readers may be on other replicas
    finished = asyncio.Event()

    async def agent() -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "run-d"}
            while True:
                await asyncio.sleep(0.01)
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
        finally:
            finished.set()

    await on_a.start("run-d", agent(), run_id="run-d", thread_id="t")
    stream = await on_b.stream("run-d", framing="ndjson")
    first = await anext(stream)
    assert await on_b.stop("run-d") == "stopping"
    await asyncio.wait_for(finished.wait(), 3)
    lines = [first, *[line async for line in stream]]
    last = json.loads(lines[-1])["chunk"]
    assert last["type"] == "RUN_ERROR" and last["code"] == "run_cancelled"
    assert await on_b.stop("run-d") == "finished"
    await on_a.drain(0)
    assert on_a.draining
    with pytest.raises(StreamLogFullError):
        await on_a.start("run-e", agent(), run_id="run-e")


# --- Redis down, bounds -----------------------------------------------------------------------


async def test_redis_down_at_open_and_mid_run_gives_clear_errors() -> None:
    with redis_server() as server:
        log = RedisStreamLog(server.url, prefix=prefix(), lease=LEASE)
        runs = DurableRuns(log)
        await runs.open()

        async def agent() -> AsyncIterator[dict[str, Any]]:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "run-down"}
            while True:
                await asyncio.sleep(0.02)
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}

        await runs.start("run-down", agent(), run_id="run-down")
        stream = await runs.stream("run-down", framing="ndjson")
        await anext(stream)
        server.process.kill()  # Redis lost mid-run
        server.process.wait()
        lines = [line async for line in stream]
        await runs.aclose()
    last = json.loads(lines[-1])
    assert last["type"] == "RUN_ERROR" and last["code"] == "log_unavailable"
    assert not runs.is_live("run-down")  # the producer stopped too: nothing recorded it

    gone = RedisStreamLog(server.url, prefix=prefix())
    with pytest.raises(StreamLogUnavailableError, match="cannot reach Redis"):
        await DurableRuns(gone).open()
    await gone.aclose()


async def test_a_full_redis_ends_the_run_for_its_readers_instead_of_hanging() -> None:
    with redis_server() as server:
        server.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        server.command("CONFIG", "SET", "maxmemory", str(server.used_memory() + 2_000_000))
        shared = prefix()
        a = RedisStreamLog(server.url, prefix=shared, lease=LEASE)
        b = RedisStreamLog(server.url, prefix=shared, lease=LEASE)
        producing = DurableRuns(a)
        reading = DurableRuns(b)
        chunk = "x" * 50_000

        async def agent() -> AsyncIterator[dict[str, Any]]:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "run-full"}
            for _ in range(200):  # 10 MB: far more than Redis may hold
                await asyncio.sleep(0.005)
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": chunk}

        await producing.start("run-full", agent(), run_id="run-full")
        stream = await reading.stream("run-full", framing="ndjson")
        started = time.monotonic()
        lines = await asyncio.wait_for(collect_lines(stream), 10)
        waited = time.monotonic() - started
        await producing.aclose()
        await reading.aclose()
    last = json.loads(lines[-1])
    last = last.get("chunk", last)
    # Refused appends leave a hole (replay_gap) or the run's end is refused (replay_error):
    # either way the reader is told, never left waiting or handed a stream with a hole.
    assert last["type"] == "RUN_ERROR" and last["code"] in ("replay_gap", "replay_error")
    assert waited < 5  # the lease (0.6 s), a check, the refused end: not forever


async def collect_lines(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [line async for line in stream]


async def test_memory_is_bounded_per_run_and_in_time(redis: RedisServer) -> None:
    log = RedisStreamLog(
        redis.url, prefix=prefix(), max_events_per_run=100, max_event_bytes=1000, retention=30
    )
    await log.create("run-big")
    for n in range(1000):
        await log.append("run-big", event(n))
    with pytest.raises(EventTooLargeError):
        await log.append("run-big", b'"' + b"x" * 1000 + b'"')
    await log.close("run-big")
    events_key = f"{log.prefix}:ev:run-big"
    kept = int(redis.command("XLEN", events_key))
    ttls = [int(redis.command("PTTL", f"{log.prefix}:{kind}:run-big")) for kind in ("ev", "meta")]
    tail = await collect(await log.read("run-big", after="998"))
    with pytest.raises(ReplayGapError):
        await log.read("run-big", after="5")  # trimmed away: 410, never a hole
    await log.aclose()

    assert kept < 300  # MAXLEN ~ 100 (Redis trims whole nodes, so roughly)
    assert all(0 < ttl <= 30_000 for ttl in ttls)  # retention after the end
    assert int(redis.command("EXISTS", f"{log.prefix}:lease:run-big")) == 0
    assert tail == [("999", event(999))]


# --- RedisThreadStore -----------------------------------------------------------------------


async def test_thread_store_keeps_the_latest_run_and_bounds_the_transcript(
    redis: RedisServer,
) -> None:
    log = RedisStreamLog(redis.url, prefix=prefix())
    store = log.thread_store(ttl=60, max_bytes_per_thread=2000)
    assert isinstance(store, RedisThreadStore)
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}
    answer = {"id": "a1", "role": "assistant", "parts": [{"type": "text", "content": "ho"}]}
    pending = [{"id": "i1", "reason": "tool_call"}]

    assert await store.load("t1") is None
    await store.run_started("t1", "run-1", [user])
    started = await store.load("t1")
    await store.run_started("t1", "run-2", [user])  # a newer run on the thread
    await store.run_ended("t1", "run-1", [user, answer], None)  # the older run ends: ignored
    still_second = await store.load("t1")
    await store.run_ended("t1", "run-2", [user, answer], PendingInterrupts("run-2", pending))
    ended = await store.load("t1")
    many = [
        {**user, "id": f"u{n}", "parts": [{"type": "text", "content": "x" * 100}]}
        for n in range(50)
    ]
    await store.run_started("t2", "run-3", many)
    trimmed = await store.load("t2")
    ttl = int(redis.command("PTTL", f"{log.prefix}:thread:t1"))
    await log.aclose()

    assert started is not None and started.active_run == "run-1" and started.messages == [user]
    assert still_second is not None and still_second.active_run == "run-2"
    assert ended is not None and ended.active_run is None
    assert ended.messages == [user, answer]
    assert ended.interrupts == PendingInterrupts("run-2", pending)
    assert ended.to_json()["interrupts"] == {"runId": "run-2", "pending": pending}
    assert trimmed is not None and 0 < len(trimmed.messages) < 50
    assert trimmed.messages[-1]["id"] == "u49"  # the newest kept
    assert 0 < ttl <= 60_000


def test_the_server_package_imports_without_redis_and_says_which_extra_to_install() -> None:
    code = (
        "import sys\nsys.modules['redis'] = None\n"
        "import chatconduit.server as server\n"
        "from chatconduit.server import DurableRuns, InMemoryStreamLog, RunControl\n"
        "try:\n    server.RedisStreamLog\nexcept ImportError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'pip install "chatconduit[redis]"' in done.stdout
