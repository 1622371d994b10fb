"""Typed decoding, in memory: msgspec structs vs orjson dicts vs ours (pydantic), one core.

The payloads of bench_sockets.py's stream (NDJSON lines, N text deltas), decoded one way
each, interleaved, median of ``--repeat``:

    msgspec structs   ``msgspec.json.Decoder(Union[...])`` into a tagged union of
                      ``msgspec.Struct`` classes for the five event types of the stream
                      (camelCase renamed, unknown fields ignored: less than ours keeps)
    orjson dicts      ``orjson.loads`` per line: parsing only, no types
    ours              ``parse_event_json_batch`` in slices of 48, what the decoder does:
                      pydantic models, validated, unknown fields kept, key order kept

msgspec is not a dependency; install it somewhere and put it on the path to run this:

    pip install --target /tmp/msgspec_pkg msgspec
    PYTHONPATH=/tmp/msgspec_pkg .venv/bin/python benchmarks/bench_msgspec.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Union

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sockets import build_body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import msgspec
    except ImportError:
        raise SystemExit("msgspec is not installed (see this script's docstring)") from None
    import orjson

    from chatconduit._events._parse import parse_event_json_batch

    class Base(msgspec.Struct, tag_field="type", rename="camel"):
        timestamp: float | None = None
        model: str | None = None
        raw_event: Any = None
        metadata: dict[str, Any] | None = None

    class RunStarted(Base, tag="RUN_STARTED"):
        thread_id: str | None = None
        run_id: str | None = None

    class RunFinished(Base, tag="RUN_FINISHED"):
        thread_id: str | None = None
        run_id: str | None = None

    class TextStart(Base, tag="TEXT_MESSAGE_START"):
        message_id: str | None = None
        role: str | None = None

    class TextContent(Base, tag="TEXT_MESSAGE_CONTENT"):
        message_id: str | None = None
        delta: str | None = None
        content: str | None = None

    class TextEnd(Base, tag="TEXT_MESSAGE_END"):
        message_id: str | None = None

    events = Union[RunStarted, RunFinished, TextStart, TextContent, TextEnd]  # noqa: UP007
    decoder = msgspec.json.Decoder(events)
    lines = [line for line in build_body("ndjson", args.events).split(b"\n") if line]

    def run_msgspec() -> None:
        for line in lines:
            decoder.decode(line)

    def run_orjson() -> None:
        for line in lines:
            orjson.loads(line)

    def run_ours() -> None:
        for start in range(0, len(lines), 48):
            parse_event_json_batch(lines[start : start + 48])

    contenders = {"msgspec structs": run_msgspec, "orjson dicts": run_orjson, "ours": run_ours}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ours = statistics.median(times["ours"])
    print(f"# {len(lines):,} payloads, median of {args.repeat} interleaved rounds\n")
    print("| decoder | events/s | µs/event | vs ours |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {len(lines) / median:,.0f} | {median / len(lines) * 1e6:.2f} "
            f"| {ours / median:.2f}x |"
        )


if __name__ == "__main__":
    main()
