"""Throughput of StreamProcessor on long text streams, and how it scales.

    .venv/bin/python benchmarks/bench_processor.py

For each size the events are built first (typed events, as the codecs produce them), then
only ``processor.process`` is timed, with an ``on_messages_change`` callback attached (as
a UI would have). Linear cost means events/s stays flat as the stream grows and
time(500k)/time(50k) stays near 10; a per-delta copy of the text would make it ~100.
Also timed: the same stream as camelCase dicts (parsing included), and tool-argument
deltas.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from chatconduit import StreamProcessor
from chatconduit.events import (
    RunFinishedEvent,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallStartEvent,
)

DELTA = "token "  # a typical LLM token


def text_events(n: int) -> list[Any]:
    return [
        RunStartedEvent(run_id="r", thread_id="t"),
        TextMessageStartEvent(message_id="m", role="assistant"),
        *(TextMessageContentEvent(message_id="m", delta=DELTA) for _ in range(n)),
        RunFinishedEvent(run_id="r", thread_id="t", finish_reason="stop"),
    ]


def dict_events(n: int) -> list[Any]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": DELTA} for _ in range(n)),
    ]


def args_events(n: int) -> list[Any]:
    return [
        ToolCallStartEvent(tool_call_id="c", tool_call_name="f"),
        *(ToolCallArgsEvent(tool_call_id="c", delta='"ab",') for _ in range(n)),
    ]


def timed(events: list[Any]) -> float:
    changes = 0

    def on_change(_: object) -> None:
        nonlocal changes
        changes += 1

    processor = StreamProcessor(on_messages_change=on_change)
    gc.collect()
    start = time.perf_counter()
    for event in events:
        processor.process(event)
    return time.perf_counter() - start


def best_of(make: Callable[[int], list[Any]], n: int, repeat: int = 3) -> float:
    events = make(n)
    return min(timed(events) for _ in range(repeat))


def main() -> None:
    print(f"StreamProcessor, delta={DELTA!r}, best of 3")
    results: dict[int, float] = {}
    for n in (10_000, 50_000, 100_000, 500_000):
        seconds = best_of(text_events, n)
        results[n] = seconds
        print(f"  text deltas {n:>7,}: {seconds * 1000:8.1f} ms  {n / seconds:>12,.0f} events/s")
    print(f"  time(500k) / time(50k) = {results[500_000] / results[50_000]:.2f}  (linear: 10)")
    for n in (100_000,):
        seconds = best_of(dict_events, n)
        print(f"  dict deltas {n:>7,}: {seconds * 1000:8.1f} ms  {n / seconds:>12,.0f} events/s")
        seconds = best_of(args_events, n)
        print(f"  args deltas {n:>7,}: {seconds * 1000:8.1f} ms  {n / seconds:>12,.0f} events/s")


if __name__ == "__main__":
    main()
