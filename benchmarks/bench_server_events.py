"""In-process diagnostic: the server's cost per event from agent dict to SSE bytes.

``event_bytes`` (what ``chat_endpoint`` streams) over an agent yielding RUN_STARTED,
TEXT_MESSAGE_START, N plain deltas (``{type, messageId, delta}``) or the same deltas with
an extra key (``emittedNs``, as bench_server.py's agent stamps them), TEXT_MESSAGE_END,
RUN_FINISHED; in both dialects; best of 3, microseconds per event, and of those the time
the cyclic GC took (``gc.callbacks``, in the best run). ``--model-path`` turns
the fast paths off (plain deltas normalised through the model, the current dialect without
its steady-state shortcut), to compare in one process. No sockets: bench_server.py
measures the whole server against TanStack's.

    .venv/bin/python benchmarks/bench_server_events.py
    .venv/bin/python benchmarks/bench_server_events.py --model-path
    .venv/bin/python benchmarks/bench_server_events.py --streams 1000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from bench_decode import GCClock  # the cyclic GC's collections and seconds (gc.callbacks)

from chatconduit.server import _current_dialect, _frames
from chatconduit.server._streams import event_bytes


def script(deltas: int, extra: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
    ]
    for i in range(deltas):
        delta: dict[str, Any] = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "tok "}
        if extra:
            delta["emittedNs"] = i
        events.append(delta)
    events.append({"type": "TEXT_MESSAGE_END", "messageId": "m"})
    events.append({"type": "RUN_FINISHED", "threadId": "t", "runId": "r"})
    return events


async def one_run(events: list[dict[str, Any]], dialect: Any, streams: int) -> float:
    async def agent() -> AsyncIterator[dict[str, Any]]:
        for event in events:
            yield event

    async def client() -> None:
        async for _ in event_bytes(agent(), framing="sse", heartbeat=0, dialect=dialect):
            await asyncio.sleep(0)  # a send: the other streams run meanwhile

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(streams)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=100_000)
    parser.add_argument("--model-path", action="store_true", help="fast paths off")
    parser.add_argument(
        "--streams", type=int, default=1, help="concurrent streams sharing --deltas (as a server)"
    )
    args = parser.parse_args()
    if args.model_path:
        _frames.fast_event_dict = lambda item: None  # type: ignore[assignment]
        _frames.Frames.push = _frames.Frames.push_any  # type: ignore[method-assign]
        _current_dialect.CurrentDialect._steady = False
    path = "model path" if args.model_path else "fast paths"
    clock = GCClock()
    for dialect in ("tanstack-0.18", "current"):
        for extra in (False, True):
            events = script(args.deltas // args.streams, extra)
            runs = []
            for _ in range(3):
                clock.reset()
                elapsed = asyncio.run(one_run(events, dialect, args.streams))
                runs.append((elapsed, (clock.seconds, clock.collections)))
            best, (in_gc, collections) = min(runs)
            shape = "deltas + emittedNs" if extra else "plain deltas"
            total = len(events) * args.streams
            per_event, gc_per_event = best / total * 1e6, in_gc / total * 1e6
            print(
                f"{path:10s} {dialect:13s} {shape:18s} {per_event:5.2f} us/event"
                f"  gc {gc_per_event:4.2f} us/event, {collections:4d} collections"
            )


if __name__ == "__main__":
    main()
