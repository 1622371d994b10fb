"""Server load: many concurrent SSE streams against ONE uvicorn worker running chat_endpoint.

The server runs in a subprocess (``--serve``): a Starlette app whose agent emits
RUN_STARTED, ``--events`` TEXT_MESSAGE_CONTENT deltas ``--interval-ms`` apart and
RUN_FINISHED, through the full helper path (request parsing, event validation,
heartbeat pump, disconnect watcher, SSE framing). Every event carries
``emittedNs`` (``time.time_ns()`` when the agent yielded it; both processes read
the same clock).

The load generator opens ``--streams`` connections at once with a minimal
asyncio HTTP/1.1 client (httpx would spend more CPU than the server on 1,000
streams and so measure itself) and reports:

  events/s             events received by all clients / wall time of the load phase
  first-event latency  request written -> first SSE event received (p50, p99)
  emit-to-receive      emittedNs -> received, per event (p50, p99)
  server peak RSS      VmHWM of the server process (and its RSS before the load)
  server CPU           user+system seconds the server spent during the load (and the
                       load generator's own, to see which side was the bottleneck)

All loops are bounded: a fixed number of streams and events and a global deadline.

    .venv/bin/python benchmarks/bench_server_load.py                  # 1,000 streams
    .venv/bin/python benchmarks/bench_server_load.py --streams 50 --events 10   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

# What @tanstack/ai-client@0.10 sends (UIMessages with parts): our server answers in the
# "tanstack-0.18" dialect.
BODY = {
    "threadId": "thread-bench",
    "runId": "run-bench",
    "state": {},
    "messages": [
        {
            "id": "msg-1",
            "role": "user",
            "parts": [{"type": "text", "content": "Tell me a story"}],
            "content": "Tell me a story",
        }
    ],
    "tools": [],
    "context": [],
    "forwardedProps": {},
    "data": {},
}
# What @tanstack/ai-client@0.33 sends (spec-only messages, no parts): our server answers in
# the "current" dialect, as TanStack 0.58's helpers write (server/_dialect.py choose_dialect).
BODY_CURRENT = {
    "threadId": "thread-bench",
    "runId": "run-bench",
    "state": {},
    "messages": [{"id": "msg-1", "role": "user", "content": "Tell me a story"}],
    "tools": [],
    "context": [],
    "forwardedProps": {},
}
BODIES = {"tanstack-0.18": BODY, "current": BODY_CURRENT}


# --- server side (subprocess) -------------------------------------------------------------


def serve(
    port: int, events: int, interval: float, stamp_every: int = 1, gc_threshold: str = ""
) -> None:
    if gc_threshold:  # what `chatconduit serve` sets (cli/_serve.py GC_THRESHOLDS)
        import gc

        gc.set_threshold(*(int(n) for n in gc_threshold.split(",")))
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from chatconduit.server import RunAgentInput, chat_endpoint

    words = ["Once ", "upon ", "a ", "time, ", "a ", "café ", "served ", "naïve ", "tokens. "]

    async def agent(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids, "emittedNs": time.time_ns()}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
        for i in range(events):
            if interval > 0:  # 0: back to back, as bench_server_js.mjs's agent does
                await asyncio.sleep(interval)
            delta = {
                "type": "TEXT_MESSAGE_CONTENT",
                "messageId": "m1",
                "delta": words[i % len(words)],
            }
            if i % stamp_every == 0:  # 1: every delta (latencies sampled from all of them)
                delta["emittedNs"] = time.time_ns()
            yield delta
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/chat", chat_endpoint(agent), methods=["POST"]),
            Route("/health", health),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096)


# --- load generator -------------------------------------------------------------------------


class StreamResult:
    __slots__ = ("error", "events", "first_event_s", "latencies_ms")

    def __init__(self) -> None:
        self.events = 0
        self.first_event_s: float | None = None
        self.latencies_ms: list[float] = []
        self.error: str | None = None


async def sse_reads(reader: asyncio.StreamReader) -> AsyncIterator[tuple[int, list[bytes]]]:
    """An SSE body as it arrives, until the server closes: for each read, the
    ``time.time_ns()`` it arrived at and the frames it completed. A chunked body's
    chunk-size lines sit between frames and stay in them: callers look for ``data: ``
    (and ``id: ``) inside each frame."""
    buffer = b""
    while chunk := await reader.read(65536):
        now_ns = time.time_ns()
        buffer += chunk
        *frames, buffer = buffer.split(b"\n\n")
        yield now_ns, frames


async def one_stream(port: int, payload: bytes, deadline: float) -> StreamResult:
    """POST the body, read the SSE response to its end, time every event."""
    result = StreamResult()
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            f"POST /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        writer.write(head + payload)
        await writer.drain()
        sent = time.perf_counter()
        status = await asyncio.wait_for(reader.readline(), max(0.1, deadline - time.monotonic()))
        if b" 200 " not in status:
            result.error = f"status line {status!r}"
            return result
        ended = False
        # One deadline for the whole body rather than a wait_for (a task and a timer) per
        # read: that cost the load generator ~20 us a read, so a server that flushes often
        # (small batches, low latency) was charged for it.
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + max(0.0, deadline - time.monotonic())):
                async for now_ns, frames in sse_reads(reader):
                    for frame in frames:
                        at = frame.find(b"data: ")
                        if at < 0:
                            continue
                        # orjson: the load generator shares the machine with the server;
                        # with json.loads it used ~90 % of a core at 200k ev/s, capping what
                        # it could measure (benchmarks/README.md, round 4).
                        event = orjson.loads(frame[at + 6 :])
                        result.events += 1
                        if result.first_event_s is None:
                            result.first_event_s = time.perf_counter() - sent
                        # TanStack 0.58's helpers move extras under metadata.tanstack.
                        emitted = event.get("emittedNs")
                        if emitted is None:
                            tanstack = (event.get("metadata") or {}).get("tanstack", {})
                            emitted = tanstack.get("emittedNs")
                        if emitted is not None:
                            result.latencies_ms.append((now_ns - emitted) / 1e6)
                        # The run is over: what a client needs has come, whenever the server
                        # closes (node keeps a socket for its keep-alive timeout despite
                        # Connection: close).
                        ended = ended or event.get("type") in ("RUN_FINISHED", "RUN_ERROR")
                    if ended:
                        break
        except TimeoutError:
            result.error = "deadline"
    except (OSError, TimeoutError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    return result


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process in bytes (Linux)."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_ready(port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        ok = b" 200 " in await reader.readline()
        writer.close()
        if ok:
            return
    raise RuntimeError("server did not start")


async def load(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    await wait_ready(port, 30)
    payload = json.dumps(BODIES[getattr(args, "dialect", "tanstack-0.18")]).encode()
    before = proc_status(pid)
    cpu_before = cpu_seconds(pid)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    deadline = time.monotonic() + args.deadline
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_stream(port, payload, deadline) for _ in range(args.streams))
    )
    wall = time.perf_counter() - started
    after = proc_status(pid)
    cpu = cpu_seconds(pid) - cpu_before
    own = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime
    events = sum(r.events for r in results)
    firsts = [r.first_event_s * 1000 for r in results if r.first_event_s is not None]
    latencies = [lat for r in results for lat in r.latencies_ms]
    errors = [r.error for r in results if r.error]
    expected = args.events + 4
    return {
        "streams": args.streams,
        "events_per_stream": expected,
        "complete_streams": sum(1 for r in results if r.events == expected and not r.error),
        "errors": len(errors),
        "first_errors": errors[:3],
        "events_received": events,
        "wall_s": round(wall, 3),
        "events_per_s": round(events / wall),
        "first_event_ms_p50": round(percentile(firsts, 0.50), 1),
        "first_event_ms_p99": round(percentile(firsts, 0.99), 1),
        "emit_to_receive_ms_p50": round(percentile(latencies, 0.50), 2),
        "emit_to_receive_ms_p99": round(percentile(latencies, 0.99), 2),
        "emit_to_receive_ms_mean": round(statistics.fmean(latencies), 2) if latencies else None,
        "server_rss_before_mb": round(before["VmRSS"] / 2**20, 1),
        "server_peak_rss_mb": round(after["VmHWM"] / 2**20, 1),
        "server_cpu_s": round(cpu, 2),
        "load_generator_cpu_s": round(own_cpu, 2),
        "cpus": os.cpu_count(),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50, help="text deltas per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between deltas")
    parser.add_argument("--deadline", type=float, default=120.0, help="give up after (s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--stamp-every",
        type=int,
        default=1,
        help="put emittedNs (an extra key) on every Kth delta only; the others are plain",
    )
    parser.add_argument(
        "--dialect",
        choices=sorted(BODIES),
        default="tanstack-0.18",
        help="the request body a 0.10 client sends, or a 0.33 one (our server's dialect follows)",
    )
    parser.add_argument(
        "--gc-threshold",
        default="",
        help="gc.set_threshold in the server, e.g. 10000,10,100 (as `chatconduit serve`)",
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.events, args.interval_ms / 1000, args.stamp_every, args.gc_threshold)
        return

    port = free_port()
    command = [sys.executable, __file__, "--serve", "--port", str(port)]
    command += ["--events", str(args.events), "--interval-ms", str(args.interval_ms)]
    command += ["--stamp-every", str(args.stamp_every), "--gc-threshold", args.gc_threshold]
    server = subprocess.Popen(command)
    try:
        report = asyncio.run(load(args, port, server.pid))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
