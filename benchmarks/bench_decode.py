"""Decode throughput: chatconduit's typed decoders against httpx-sse, httpx lines and bare loops.

One large AG-UI stream (RUN_STARTED, TEXT_MESSAGE_START, N x TEXT_MESSAGE_CONTENT with
short realistic tokens, some non-ASCII, TEXT_MESSAGE_END, RUN_FINISHED) is encoded once
as SSE and as NDJSON, cut into reads of 4-64 KiB (seeded, so every run sees the same
reads), and decoded by each contender in the same process:

  ours            EventDecoder.iter_feed -> typed pydantic events (what the transports use)
  ours feed()     the same decoder's list API, EventDecoder.feed
  ours-frames     the framing layer alone (SSE frames / NDJSON lines, no JSON)
  httpx-sse+json  httpx_sse.EventSource(response).iter_sse() + json.loads (SSE only)
  httpx-lines     httpx Response.iter_lines() + json.loads (NDJSON; and SSE "data: " lines)
  split+json      a bare ``split(b"\\n")`` loop + json.loads (dicts, no SSE semantics)
  split+orjson    the same loop with orjson.loads (dicts; a floor, not a fair peer)

Fairness: every contender reads the same reads (the httpx-based ones and ours through the
same kind of in-memory httpx.Response, so HTTP client overhead is the same), hands every
decoded value to the same trivial consumer, which drops it, and runs under the same GC
setting (enabled by default; ``--gc off`` pauses the cyclic GC for all of them, which no
library may do for its users, so the headline ratios are the GC-enabled ones). Every
contender's output is checked against the source events before timing. Run ``--quick``
for a smoke run; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import httpx_sse
import orjson

from chatconduit._codec import NDJSONDecoder, SSEDecoder, SSERun
from chatconduit.events import EventDecoder, encode_ndjson, encode_sse, event_to_dict

OURS = "ours: typed events"
OURS_ASYNC = "ours async: typed events"
OURS_LIST = "ours feed(): typed, per-read lists"
# Before EventDecoder.iter_feed existed (``PYTHONPATH=<old src>`` to compare), the
# transports used feed(): then that is "ours".
LAZY = hasattr(EventDecoder, "iter_feed")

TOKENS = [
    "The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    ".",
    ",",
    " and",
    " then",
    " café",
    " naïve",
    " Zürich",
    " “quoted”",
    " —",
    " 日本語",
    " 👋",
    " 🚀",
    "\n",
    " def",
    " return",
    ' "x"',
    " {",
    "}",
    " \\",
    " résumé",
    " ok",
]


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ts = 1_700_000_000_000
    mid = "msg-1700000000000-abc1234"
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "runId": "run-1", "threadId": "thread-1", "timestamp": ts},
        {"type": "TEXT_MESSAGE_START", "messageId": mid, "timestamp": ts + 1, "role": "assistant"},
    ]
    for i in range(n):
        events.append(
            {
                "type": "TEXT_MESSAGE_CONTENT",
                "messageId": mid,
                "model": "gpt-4o-mini",
                "timestamp": ts + 2 + i,
                "delta": "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 3))),
            }
        )
    events.append({"type": "TEXT_MESSAGE_END", "messageId": mid, "timestamp": ts + n + 2})
    events.append(
        {
            "type": "RUN_FINISHED",
            "runId": "run-1",
            "threadId": "thread-1",
            "timestamp": ts + n + 3,
            "finishReason": "stop",
        }
    )
    return events


def cut(body: bytes, seed: int = 11, low: int = 4096, high: int = 65536) -> list[bytes]:
    rng = random.Random(seed)
    chunks = []
    i = 0
    while i < len(body):
        size = rng.randint(low, high)
        chunks.append(body[i : i + size])
        i += size
    return chunks


class _Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def response(chunks: list[bytes], content_type: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": content_type}, stream=_Stream(chunks))


# --- contenders ------------------------------------------------------------------------------
#
# Each takes the reads and the consumer, and hands the consumer every decoded value (a typed
# event, a dict, or - framing only - a payload), one at a time, in stream order. Timed runs
# use drop(), which keeps nothing, as a streaming client keeps nothing; the correctness check
# uses list.append.

Consumer = Callable[[Any], object]
Contender = Callable[[list[bytes], Consumer], None]


def drop(value: Any) -> None:
    """The consumer of the timed runs: the same trivial call for every contender."""


def ours(framing: str, content_type: str, lazy: bool) -> Contender:
    def run(chunks: list[bytes], consume: Consumer) -> None:
        decoder = EventDecoder(framing)  # type: ignore[arg-type]
        feed = decoder.iter_feed if lazy else decoder.feed
        for chunk in response(chunks, content_type).iter_raw():
            for event, _ in feed(chunk):
                consume(event)
            decoder.check()
        for event, _ in decoder.finish():
            consume(event)

    return run


def ours_async(framing: str, content_type: str, lazy: bool) -> Contender:
    async def main(chunks: list[bytes], consume: Consumer) -> None:
        decoder = EventDecoder(framing)  # type: ignore[arg-type]
        feed = decoder.iter_feed if lazy else decoder.feed
        async for chunk in response(chunks, content_type).aiter_raw():
            for event, _ in feed(chunk):
                consume(event)
            decoder.check()
        for event, _ in decoder.finish():
            consume(event)

    return lambda chunks, consume: asyncio.run(main(chunks, consume))


def ours_frames_sse(chunks: list[bytes], consume: Consumer) -> None:
    decoder = SSEDecoder()
    for chunk in response(chunks, "text/event-stream").iter_raw():
        for item in decoder.feed_raw(chunk):
            for payload in item.payloads if type(item) is SSERun else (item[0],):
                consume(payload)
    decoder.finish_raw()


def ours_frames_ndjson(chunks: list[bytes], consume: Consumer) -> None:
    decoder = NDJSONDecoder()
    for chunk in response(chunks, "application/x-ndjson").iter_raw():
        lines, _ = decoder.feed_lines(chunk)
        for line in lines:
            consume(line)
    tail = decoder.finish_line()
    if tail is not None:
        consume(tail[0])


def httpx_sse_json(chunks: list[bytes], consume: Consumer) -> None:
    source = httpx_sse.EventSource(response(chunks, "text/event-stream"))
    for sse in source.iter_sse():
        consume(json.loads(sse.data))


def httpx_sse_json_async(chunks: list[bytes], consume: Consumer) -> None:
    async def main() -> None:
        source = httpx_sse.EventSource(response(chunks, "text/event-stream"))
        async for sse in source.aiter_sse():
            consume(json.loads(sse.data))

    asyncio.run(main())


def httpx_lines_json(content_type: str, sse: bool) -> Contender:
    def run(chunks: list[bytes], consume: Consumer) -> None:
        for line in response(chunks, content_type).iter_lines():
            if sse:
                if not line.startswith("data: "):
                    continue
                line = line[6:]
            elif not line.strip():
                continue
            consume(json.loads(line))

    return run


def httpx_lines_json_async(content_type: str) -> Contender:
    async def main(chunks: list[bytes], consume: Consumer) -> None:
        async for line in response(chunks, content_type).aiter_lines():
            if not line.strip():
                continue
            consume(json.loads(line))

    return lambda chunks, consume: asyncio.run(main(chunks, consume))


def split_loop(loads: Callable[[bytes], Any], sse: bool) -> Contender:
    def run(chunks: list[bytes], consume: Consumer) -> None:
        buf = b""
        for chunk in chunks:
            lines = (buf + chunk).split(b"\n")
            buf = lines.pop()
            for line in lines:
                if sse:
                    if not line.startswith(b"data: "):
                        continue
                    line = line[6:]
                elif not line:
                    continue
                consume(loads(line))
        if buf.strip():
            consume(loads(buf[6:] if sse else buf))

    return run


# --- harness ---------------------------------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else event_to_dict(value)


def verify(name: str, got: list[Any], expected: list[dict[str, Any]]) -> None:
    if len(got) != len(expected):
        raise SystemExit(f"{name}: {len(got)} events, expected {len(expected)}")
    step = max(1, len(expected) // 2000)  # every event for small runs, a sample for large
    for i in [*range(0, len(expected), step), len(expected) - 1]:
        if as_dict(got[i]) != expected[i]:
            raise SystemExit(f"{name}: event {i} differs: {got[i]!r} != {expected[i]!r}")


class GCClock:
    """Collections and time spent in the cyclic GC, from gc.callbacks (all contenders alike)."""

    def __init__(self) -> None:
        self.collections = 0
        self.seconds = 0.0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.collections += 1
            self.seconds += time.perf_counter() - self._start

    def reset(self) -> None:
        self.collections, self.seconds = 0, 0.0


def measure(fn: Contender, chunks: list[bytes], clock: GCClock) -> tuple[float, int, float]:
    gc.collect()  # every contender starts from the same, clean heap
    clock.reset()
    start = time.perf_counter()
    fn(chunks, drop)
    elapsed = time.perf_counter() - start
    return elapsed, clock.collections, clock.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20k events, one repeat")
    parser.add_argument("--events", type=int, default=200_000, help="TEXT_MESSAGE_CONTENT count")
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (median)")
    parser.add_argument(
        "--gc", choices=["on", "off"], default="on", help="run with the cyclic GC paused (off)"
    )
    parser.add_argument(
        "--reads",
        choices=["bulk", "event"],
        default="bulk",
        help="bulk: reads of 4-64 KiB; event: one event per read, as on a live stream",
    )
    args = parser.parse_args(argv)
    n, repeat = (20_000, 1) if args.quick else (args.events, args.repeat)

    events = make_events(n)
    count = len(events)
    sse_frames = [encode_sse(e) for e in events]
    nd_frames = [encode_ndjson(e) for e in events]
    sse_body, nd_body = b"".join(sse_frames), b"".join(nd_frames)
    if args.reads == "event":
        sse_chunks, nd_chunks = sse_frames, nd_frames
    else:
        sse_chunks, nd_chunks = cut(sse_body), cut(nd_body)
    del sse_frames, nd_frames
    print(
        f"python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        f"httpx-sse {getattr(httpx_sse, '__version__', '?')}, orjson {orjson.__version__}, "
        f"gc {args.gc}, reads {args.reads}"
    )
    print(
        f"{count} events; SSE {len(sse_body) / 1e6:.1f} MB in {len(sse_chunks)} reads, "
        f"NDJSON {len(nd_body) / 1e6:.1f} MB in {len(nd_chunks)} reads; "
        f"{'min' if repeat < 3 else 'median'} of {repeat}, contenders interleaved"
    )

    sse_ct, nd_ct = "text/event-stream", "application/x-ndjson"
    lazy_sse: list[tuple[str, Contender, bool]] = []
    lazy_nd: list[tuple[str, Contender, bool]] = []
    if LAZY:
        lazy_sse = [
            (OURS, ours("sse", sse_ct, lazy=True), True),
            (OURS_ASYNC, ours_async("sse", sse_ct, lazy=True), True),
        ]
        lazy_nd = [
            (OURS, ours("ndjson", nd_ct, lazy=True), True),
            (OURS_ASYNC, ours_async("ndjson", nd_ct, lazy=True), True),
        ]
    list_name = OURS_LIST if LAZY else OURS
    list_async = "ours async feed(): per-read lists" if LAZY else OURS_ASYNC
    contenders: dict[str, list[tuple[str, Contender, bool]]] = {
        "sse": [
            *lazy_sse,
            (list_name, ours("sse", sse_ct, lazy=False), True),
            (list_async, ours_async("sse", sse_ct, lazy=False), True),
            ("ours: framing only", ours_frames_sse, False),
            ("httpx-sse + json", httpx_sse_json, True),
            ("httpx-sse async + json", httpx_sse_json_async, True),
            ("httpx iter_lines + json", httpx_lines_json(sse_ct, sse=True), True),
            ("split + json", split_loop(json.loads, sse=True), True),
            ("split + orjson (dicts)", split_loop(orjson.loads, sse=True), True),
        ],
        "ndjson": [
            *lazy_nd,
            (list_name, ours("ndjson", nd_ct, lazy=False), True),
            (list_async, ours_async("ndjson", nd_ct, lazy=False), True),
            ("ours: framing only", ours_frames_ndjson, False),
            ("httpx iter_lines + json", httpx_lines_json(nd_ct, sse=False), True),
            ("httpx aiter_lines + json", httpx_lines_json_async(nd_ct), True),
            ("split + json", split_loop(json.loads, sse=False), True),
            ("split + orjson (dicts)", split_loop(orjson.loads, sse=False), True),
        ],
    }
    bodies = {"sse": sse_chunks, "ndjson": nd_chunks}
    ratios = {
        "sse": [
            (OURS, "httpx-sse + json"),
            (OURS_ASYNC, "httpx-sse async + json"),
            (OURS, "split + json"),
        ],
        "ndjson": [
            (OURS, "httpx iter_lines + json"),
            (OURS_ASYNC, "httpx aiter_lines + json"),
            (OURS, "split + json"),
        ],
    }

    # Correctness first, against the source events; then drop them, so that timing runs
    # in a heap the size of a real client's, not one holding the whole test corpus.
    for framing, entries in contenders.items():
        for name, fn, check in entries:
            result: list[Any] = []
            fn(bodies[framing], result.append)
            if check:
                verify(f"{framing}/{name}", result, events)
            elif len(result) != count:
                raise SystemExit(f"{framing}/{name}: {len(result)} frames for {count}")
            del result
    del events
    gc.collect()
    clock = GCClock()
    if args.gc == "off":
        gc.disable()

    for framing, entries in contenders.items():
        samples: dict[str, list[tuple[float, int, float]]] = {name: [] for name, _, _ in entries}
        for _ in range(repeat):  # interleaved, so drift in machine load hits all alike
            for name, fn, _ in entries:
                samples[name].append(measure(fn, bodies[framing], clock))
        print(f"\n{framing.upper()}{'':32s}  events/s     time   GC: runs  time")
        rates: dict[str, float] = {}
        for name, runs in samples.items():
            times = [t for t, _, _ in runs]
            seconds = min(times) if repeat < 3 else statistics.median(times)
            collections = statistics.median(c for _, c, _ in runs)
            gc_ms = statistics.median(g for _, _, g in runs) * 1e3
            rates[name] = count / seconds
            print(
                f"  {name:34s} {rates[name] / 1e3:6.0f} k  {seconds * 1e3:7.1f} ms"
                f"  {collections:5.0f} {gc_ms:6.1f} ms"
            )
        for mine, theirs in ratios[framing]:
            print(f"  {mine} / {theirs}: {rates[mine] / rates[theirs]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
