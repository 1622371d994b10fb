"""Durable runs at load: N concurrent streams through two replicas, Redis log vs in-memory.

Two replica processes (uvicorn, one worker each) serve ``chat_endpoint`` with durable
runs; their agent emits RUN_STARTED, TEXT_MESSAGE_START, ``--events`` deltas
``--interval-ms`` apart, TEXT_MESSAGE_END and RUN_FINISHED. A minimal asyncio HTTP/1.1
client opens ``--streams`` streams at once, half to each replica, and reads every one
to its end. Modes (each run in the same invocation, on fresh processes):

  memory       each replica has its own InMemoryStreamLog + InMemoryThreadStore
               (the default; runs cannot move between replicas)
  redis        both replicas share one RedisStreamLog + RedisThreadStore on one
               redis-server; each stream is read from the replica that produces it
  redis-cross  as redis, but each client reads one event from the replica it POSTed
               to, drops the connection and reads the rest from the OTHER replica
               (``Last-Event-ID`` resume): every event then crosses Redis to a reader
               in another process

Reported per mode: streams complete, events received, events/s (received / wall time
of the load phase), emit-to-receive latency (p50, p99), each replica's peak RSS
(VmHWM) and CPU seconds, the load generator's CPU, and for Redis: ``used_memory``
before, at its peak during the load (sampled every 100 ms) and after, and the
redis-server's CPU seconds. Linux only (``/proc``). Needs ``redis-server`` on PATH
(or ``--redis-server``) for the Redis modes.

    .venv/bin/python benchmarks/bench_redis.py                        # 1,000 streams, all modes
    .venv/bin/python benchmarks/bench_redis.py --streams 100 --events 20   # smoke run
    .venv/bin/python benchmarks/bench_redis.py --modes redis --streams 2000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server_load import (
    cpu_seconds,
    free_port,
    percentile,
    proc_status,
    sse_reads,
    wait_ready,
)

MODES = ("memory", "redis", "redis-cross")


# --- replica (subprocess) -------------------------------------------------------------------


def serve(port: int, mode: str, redis_url: str | None, events: int, interval: float) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from chatconduit.server import (
        DurableRuns,
        InMemoryStreamLog,
        InMemoryThreadStore,
        RedisStreamLog,
        RunAgentInput,
        chat_endpoint,
    )

    words = ["Once ", "upon ", "a ", "time, ", "a ", "café ", "served ", "naïve ", "tokens. "]

    async def agent(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids, "emittedNs": time.time_ns()}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
        for i in range(events):
            await asyncio.sleep(interval)
            yield {
                "type": "TEXT_MESSAGE_CONTENT",
                "messageId": "m1",
                "delta": words[i % len(words)],
                "emittedNs": time.time_ns(),
            }
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}

    if mode == "memory":
        runs = DurableRuns(InMemoryStreamLog(max_runs=20_000), threads=InMemoryThreadStore())
    else:
        assert redis_url is not None
        log = RedisStreamLog(redis_url, prefix="bench")
        runs = DurableRuns(log, threads=log.thread_store())
    runs.max_live_runs_per_scope = None

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runs.open()
        yield
        await runs.aclose()

    app = Starlette(
        routes=[
            Route("/chat", chat_endpoint(agent, durable=runs), methods=["POST", "GET"]),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096, http="h11")


# --- load generator -------------------------------------------------------------------------


class Result:
    __slots__ = ("error", "events", "last_id", "latencies_ms")

    def __init__(self) -> None:
        self.events = 0
        self.last_id: str | None = None
        self.latencies_ms: list[float] = []
        self.error: str | None = None


def body(run_id: str) -> bytes:
    return json.dumps(
        {
            "threadId": f"thread-{run_id}",
            "runId": run_id,
            "state": {},
            "messages": [{"id": "u1", "role": "user", "content": "Tell me a story"}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        }
    ).encode()


async def read_stream(
    port: int, head: bytes, payload: bytes, result: Result, deadline: float, stop_after: int = 0
) -> None:
    """Send one request and read its SSE events (all, or ``stop_after`` of them)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + payload)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), max(0.1, deadline - time.monotonic()))
        if b" 200 " not in status:
            rest = await asyncio.wait_for(reader.read(4096), 5)
            result.error = f"status line {status!r} {head[:80]!r} {rest[-300:]!r}"
            return
        read_here = 0
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + max(0.0, deadline - time.monotonic())):
                async for now_ns, frames in sse_reads(reader):
                    for frame in frames:
                        at = frame.find(b"data: ")
                        if at < 0:
                            continue
                        id_at = frame.find(b"id: ")
                        if id_at >= 0:
                            result.last_id = frame[id_at + 4 : frame.index(b"\n", id_at)].decode()
                        event = json.loads(frame[at + 6 :])
                        result.events += 1
                        read_here += 1
                        # The current dialect keeps unknown fields under metadata.tanstack.
                        emitted = event.get("metadata", {}).get("tanstack", {}).get("emittedNs")
                        if emitted is not None:
                            result.latencies_ms.append((now_ns - emitted) / 1e6)
                        if stop_after and read_here >= stop_after:
                            return
        except TimeoutError:
            result.error = "deadline"
    finally:
        writer.close()


async def one_stream(ports: tuple[int, int], index: int, cross: bool, deadline: float) -> Result:
    result = Result()
    run_id = f"run-{index}-{time.monotonic_ns()}"
    first, other = (ports[0], ports[1]) if index % 2 == 0 else (ports[1], ports[0])
    payload = body(run_id)
    head = (
        f"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Run-Id: {run_id}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        await read_stream(first, head, payload, result, deadline, stop_after=1 if cross else 0)
        if cross and result.error is None:
            resume = (
                f"GET /chat?runId={run_id}&offset={result.last_id} HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
            ).encode()
            await read_stream(other, resume, b"", result, deadline)
    except (OSError, TimeoutError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


class RedisMemory:
    """``used_memory`` of the redis-server, sampled in the background."""

    def __init__(self, port: int) -> None:
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=port)
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    def now(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, await asyncio.to_thread(self.now))
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def load(
    args: argparse.Namespace, mode: str, ports: tuple[int, int], pids: list[int], redis: Any
) -> dict[str, Any]:
    for port in ports:
        await wait_ready(port, 30)
    cpu_before = [cpu_seconds(pid) for pid in pids]
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    memory = RedisMemory(redis[1]) if redis is not None else None
    redis_before = memory.now() if memory is not None else None
    if memory is not None:
        memory.start()
    deadline = time.monotonic() + args.deadline
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_stream(ports, i, mode == "redis-cross", deadline) for i in range(args.streams))
    )
    wall = time.perf_counter() - started
    if memory is not None:
        await memory.stop()
    cpu = [
        round(cpu_seconds(pid) - before, 2) for pid, before in zip(pids, cpu_before, strict=True)
    ]
    own = resource.getrusage(resource.RUSAGE_SELF)
    expected = args.events + 4
    latencies = [lat for r in results for lat in r.latencies_ms]
    errors = [r.error for r in results if r.error]
    events = sum(r.events for r in results)
    report: dict[str, Any] = {
        "mode": mode,
        "streams": args.streams,
        "events_per_stream": expected,
        "complete_streams": sum(1 for r in results if r.events >= expected and not r.error),
        "errors": len(errors),
        "first_errors": errors[:3],
        "events_received": events,
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall),
        "emit_to_receive_ms_p50": round(percentile(latencies, 0.50), 1),
        "emit_to_receive_ms_p99": round(percentile(latencies, 0.99), 1),
        "replica_peak_rss_mb": [round(proc_status(pid)["VmHWM"] / 2**20, 1) for pid in pids[:2]],
        "replica_cpu_s": cpu[:2],
        "load_generator_cpu_s": round(
            own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime, 2
        ),
    }
    if memory is not None:
        report["redis_used_memory_mb"] = {
            "before": round((redis_before or 0) / 2**20, 2),
            "peak": round(memory.peak / 2**20, 2),
            "after": round(memory.now() / 2**20, 2),
        }
        report["redis_cpu_s"] = cpu[2]
        report["redis_peak_rss_mb"] = round(proc_status(pids[2])["VmHWM"] / 2**20, 1)
    return report


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield process, port
    finally:
        process.terminate()
        process.wait(10)


def run_mode(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        redis = None
        url = None
        if mode != "memory":
            redis = stack.enter_context(redis_server(args.redis_server))
            url = f"redis://127.0.0.1:{redis[1]}/0"
        ports = (free_port(), free_port())
        replicas = []
        for port in ports:
            command = [sys.executable, __file__, "--serve", "--port", str(port), "--mode", mode]
            command += ["--events", str(args.events), "--interval-ms", str(args.interval_ms)]
            if url:
                command += ["--redis-url", url]
            replicas.append(subprocess.Popen(command))
        try:
            pids = [p.pid for p in replicas] + ([redis[0].pid] if redis else [])
            return asyncio.run(load(args, mode, ports, pids, redis))
        finally:
            for process in replicas:
                process.terminate()
            for process in replicas:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50, help="text deltas per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between deltas")
    parser.add_argument("--deadline", type=float, default=180.0, help="give up after (s)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"some of {','.join(MODES)}")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="memory", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.mode, args.redis_url, args.events, args.interval_ms / 1000)
        return
    reports = []
    for mode in args.modes.split(","):
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        reports.append(run_mode(args, mode))
        print(json.dumps(reports[-1]), flush=True)
    print(json.dumps({"cpus": os.cpu_count(), "reports": reports}, indent=2))


if __name__ == "__main__":
    main()
