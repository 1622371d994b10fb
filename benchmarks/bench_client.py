"""End to end, bytes → final UIMessages: our ChatClient against the real TanStack client.

One reply (RUN_STARTED, TEXT_MESSAGE_START, N x TEXT_MESSAGE_CONTENT with short,
partly non-ASCII tokens, TEXT_MESSAGE_END, RUN_FINISHED) is written to a file as
SSE (or NDJSON) for each N. Then, for each file:

  ours   a fresh Python process reads the file, cuts it into 64 KiB reads, decodes
         them with chatconduit's EventDecoder inside an in-process ``stream()``
         adapter, and runs ``ChatClient.send_message`` until it returns the final
         message (so the time is decoding + the client + the processor, no network).
         Best of ``--repeat`` runs. Memory: the process's peak RSS, how much of it
         came after the input was loaded ("+run"), and the peak Python heap of one
         run measured with tracemalloc ("heap", an extra untimed run).
  js     ``run_ts_bench_client``: the real ``@tanstack/ai-client@0.10.0`` ChatClient
         under Node reads the same file through its own adapter (``fetchClient``
         hook, no socket). It waits on a timer after every chunk, so large inputs are
         capped at ``--js-seconds`` and the partial throughput is reported.

Both runs are checked: the final reply must be the whole text. Prints a table with
events/s, the ratio ours/js, memory, and time(500k)/time(50k) for ours (10 for
linear growth). ``--quick`` runs only 10k and 50k. Needs the npm packages of
tests/interop (``python3 dev.py setup``); ``--no-js`` skips the JS side.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # for interop.node (the Node harness)

TOKENS = [
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
    ",", " and", " then", " café", " naïve", " Zürich", " “quoted”", " —", " 日本語",
    " 👋", " 🚀", "\n", " def", " return", ' "x"', " {", "}", " \\", " résumé", " ok",
]  # fmt: skip
READ_BYTES = 65536


def make_file(path: Path, n: int, framing: str, seed: int = 7) -> int:
    """Write the reply with ``n`` text deltas; return the length of the text it spells."""
    rng = random.Random(seed)
    mid = "msg-1700000000000-bench01"
    ts = 1_700_000_000_000
    length = 0

    def write(out: Any, event: dict[str, Any]) -> None:
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        out.write(b"data: " + data + b"\n\n" if framing == "sse" else data + b"\n")

    with path.open("wb") as out:
        write(
            out, {"type": "RUN_STARTED", "runId": "run-b", "threadId": "thread-b", "timestamp": ts}
        )
        write(
            out,
            {"type": "TEXT_MESSAGE_START", "messageId": mid, "timestamp": ts, "role": "assistant"},
        )
        for i in range(n):
            delta = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 3)))
            length += len(delta)
            event = {
                "type": "TEXT_MESSAGE_CONTENT",
                "messageId": mid,
                "model": "m",
                "timestamp": ts + i,
            }
            write(out, {**event, "delta": delta})
        write(out, {"type": "TEXT_MESSAGE_END", "messageId": mid, "timestamp": ts + n})
        write(
            out,
            {
                "type": "RUN_FINISHED",
                "runId": "run-b",
                "threadId": "thread-b",
                "finishReason": "stop",
            },
        )
    return length


def rss_high_water() -> int:
    """Peak RSS of this process image, in bytes. Linux's VmHWM (ru_maxrss would include
    the parent's pages from before exec); ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


# --- ours (runs in a child process, so that its peak RSS is its own) ----------------------


async def run_ours(data: bytes, framing: str) -> tuple[float, int, str]:
    from chatconduit import ChatClient, TextPart, stream
    from chatconduit.events import EventDecoder

    async def replay(messages: Any, body: Any) -> AsyncIterator[Any]:
        decoder = EventDecoder(framing)
        view = memoryview(data)
        for start in range(0, len(data), READ_BYTES):
            for event, _event_id in decoder.feed(bytes(view[start : start + READ_BYTES])):
                yield event
            await asyncio.sleep(0)  # a network read would suspend here too
        for event, _event_id in decoder.finish():
            yield event

    events = 0

    def count(event: Any) -> None:
        nonlocal events
        events += 1

    client = ChatClient(stream(replay), on_chunk=count)
    gc.collect()
    start = time.perf_counter()
    reply = await client.send_message("benchmark")
    seconds = time.perf_counter() - start
    assert reply is not None, client.error
    text = "".join(p.content for p in reply.parts if isinstance(p, TextPart))
    return seconds, events, text


def child(path: str, framing: str, repeat: int, expected_len: int) -> None:
    import chatconduit._client
    import chatconduit._codec  # noqa: F401  - imported now, so "+run" is the run alone

    data = Path(path).read_bytes()
    rss_before = rss_high_water()  # interpreter, imports and the input bytes
    best = float("inf")
    events = 0
    for _ in range(repeat):
        seconds, events, text = asyncio.run(run_ours(data, framing))
        if len(text) != expected_len:
            raise SystemExit(f"ours: final text has {len(text)} chars, expected {expected_len}")
        best = min(best, seconds)
    peak = rss_high_water()
    # One more (untimed, tracemalloc is slow) run for the Python heap the run itself needs.
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    asyncio.run(run_ours(data, framing))
    heap = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    result = {"seconds": best, "events": events, "peak_rss": peak, "rss_before": rss_before}
    print(json.dumps({**result, "heap_peak": heap}))


def measure_ours(path: Path, framing: str, repeat: int, expected_len: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), "--framing", framing]
    command += ["--repeat", str(repeat), "--expected-len", str(expected_len)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed: {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_js(path: Path, framing: str, seconds: float, expected_len: int) -> dict[str, Any]:
    from interop.node import run_ts_bench_client

    report = run_ts_bench_client(path, framing, max_seconds=seconds)
    if report.get("error"):
        raise SystemExit(f"js: {report['error']}")
    if report["complete"] and report["finalTextLength"] != expected_len:
        raise SystemExit(
            f"js: final text {report['finalTextLength']} chars, expected {expected_len}"
        )
    return report


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--framing", choices=["sse", "ndjson"], default="sse")
    parser.add_argument("--sizes", default="10000,50000,100000,500000")
    parser.add_argument("--quick", action="store_true", help="only 10k and 50k")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours per size (best)")
    parser.add_argument("--js-seconds", type=float, default=5.0, help="cap per JS run")
    parser.add_argument("--no-js", action="store_true", help="skip the Node client")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--expected-len", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.framing, args.repeat, args.expected_len)
        return 0

    sizes = [10_000, 50_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"reply-{n}.{args.framing}"
            length = make_file(path, n, args.framing)
            ours = measure_ours(path, args.framing, args.repeat, length)
            js = None if args.no_js else measure_js(path, args.framing, args.js_seconds, length)
            rows.append({"n": n, "bytes": path.stat().st_size, "ours": ours, "js": js})
            print(f"  measured {n:,} deltas", flush=True)

    print(
        f"\nframing: {args.framing}; python {sys.version.split()[0]}; reads of {READ_BYTES} bytes\n"
    )
    print(
        f"{'deltas':>8} {'MiB':>6} | {'ours s':>7} {'ours ev/s':>10} {'peak RSS':>9} "
        f"{'(+run)':>8} {'heap':>8} | {'js ev/s':>8} {'js events':>15} {'js RSS':>8} | {'ratio':>6}"
    )
    for row in rows:
        ours = row["ours"]
        rate = ours["events"] / ours["seconds"]
        line = (
            f"{row['n']:>8,} {row['bytes'] / 2**20:>6.1f} | {ours['seconds']:>7.3f} "
            f"{rate:>10,.0f} {mib(ours['peak_rss']):>9} "
            f"{mib(ours['peak_rss'] - ours['rss_before']):>8} {mib(ours['heap_peak']):>8} | "
        )
        js = row["js"]
        if js is None:
            line += f"{'-':>8} {'-':>15} {'-':>8} | {'-':>6}"
        else:
            seen = f"{js['events']:,}{' (cap)' if js['capped'] else ''}"
            line += (
                f"{js['eventsPerSecond']:>8,.0f} {seen:>15} {mib(js['peakRssBytes']):>8} | "
                f"{rate / js['eventsPerSecond']:>5,.0f}x"
            )
        print(line)
    by_n = {row["n"]: row["ours"]["seconds"] for row in rows}
    if 500_000 in by_n and 50_000 in by_n:
        print(f"\nours: time(500k) / time(50k) = {by_n[500_000] / by_n[50_000]:.2f} (10 = linear)")
    if 100_000 in by_n and 10_000 in by_n:
        print(f"ours: time(100k) / time(10k) = {by_n[100_000] / by_n[10_000]:.2f} (10 = linear)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
