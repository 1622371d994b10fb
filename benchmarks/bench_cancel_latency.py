"""How fast does cancelling a stream on the client reach the server?

A real uvicorn serves an endless SSE stream (one event every 10 ms) through
`chat_endpoint`; the client reads it with `fetch_server_sent_events` and is cancelled
mid-stream, either through an `AbortController` or by cancelling the asyncio task.
We time from the cancel call to the moment the server-side generator's `finally` runs
(both in this process, so one clock). The issue's bar: the server sees the disconnect
within 100 ms.

    python benchmarks/bench_cancel_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit import AbortController, RunAgentInput, RunContext, fetch_server_sent_events
from chatconduit.server import chat_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import contextlib

from servers import serve

ended: list[float] = []


async def endless(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    try:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
        while True:
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
            await asyncio.sleep(0.01)
    finally:
        ended.append(time.perf_counter())


async def one(url: str, mode: str) -> float:
    adapter = fetch_server_sent_events(url)
    before = len(ended)
    controller = AbortController()

    async def consume() -> None:
        context = RunContext(thread_id="t", run_id="r")
        async for _ in adapter.connect([], None, controller.signal, context):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.15)  # mid-stream
    t0 = time.perf_counter()
    if mode == "abort":
        controller.abort()
    else:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for _ in range(2000):
        if len(ended) > before:
            break
        await asyncio.sleep(0.001)
    else:
        raise RuntimeError("the server never saw the disconnect")
    return (ended[-1] - t0) * 1000


async def main(runs: int) -> None:
    app = Starlette(routes=[Route("/chat", chat_endpoint(endless, heartbeat=0), methods=["POST"])])
    with serve(app) as server:
        for mode in ("abort", "cancel"):
            samples = [await one(server.url + "/chat", mode) for _ in range(runs)]
            print(
                f"{mode:>6}: cancel -> server finally  median {statistics.median(samples):.1f} ms"
                f"  max {max(samples):.1f} ms  (n={runs}, bar: 100 ms)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
