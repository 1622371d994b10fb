"""Typed decoding, in memory: msgspec structs vs orjson dicts vs ours (pydantic), one core.

The payloads of bench_sockets.py's stream (NDJSON lines, N text deltas), decoded one way
each, interleaved, median of ``--repeat``:

    msgspec structs   ``msgspec.json.Decoder(Union[...])`` into a tagged union of
                      ``msgspec.Struct`` classes for the five event types of the stream
                      (camelCase renamed, unknown fields ignored: less than ours keeps)
    orjson dicts      ``orjson.loads`` per line: parsing only, no types
    ours              ``parse_event_json_batch`` in the decoder's slices, what it does:
                      pydantic models (plain payloads checked by hand, the rest
                      validated), unknown fields kept, key order kept

``--sockets`` measures the same question over real loopback sockets instead: the
500k-event SSE stream of ``bench_sockets.py``, each contender pinned to its own CPU as
there, median of ``--repeat``:

    cc connect()          ``fetch_server_sent_events(url).connect()`` as shipped
    cc connect(), msgspec the same call, its decoder's batch parser replaced by msgspec's
                          (an experiment: the events it yields are the structs above, not
                          the public event classes, and nothing but their decoding differs)
    tanstack js           ``@tanstack/ai-client@0.33.2``'s adapter, for the ratio

msgspec comes with the ``fast`` extra (since round 12 the library reads plain deltas with
it, ``_events/_delta_reader.py``); with the dev environment:

    .venv/bin/python benchmarks/bench_msgspec.py [--sockets]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Union

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sockets
from bench_sockets import build_body


def struct_decoder() -> Any:
    """msgspec's decoder into a tagged union of structs for the stream's five event types
    (camelCase renamed, unknown fields ignored: less than ours keeps)."""
    try:
        import msgspec
    except ImportError:
        raise SystemExit("msgspec is not installed (see this script's docstring)") from None

    class Base(msgspec.Struct, tag_field="type", rename="camel"):
        timestamp: float | None = None
        model: str | None = None
        raw_event: Any = None
        metadata: dict[str, Any] | None = None

        @property
        def type(self) -> str:  # what the stream reader asks of every event
            return str(self.__struct_config__.tag)

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
    return msgspec.json.Decoder(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sockets", action="store_true", help="over loopback sockets")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: one contender
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(connect_with_structs(args.url))))
        return
    if args.sockets:
        sockets(args.repeat)
        return
    decoder = struct_decoder()
    import orjson

    from chatconduit._codec._event_decoder import _SLICE
    from chatconduit._events._parse import parse_event_json_batch

    lines = [line for line in build_body("ndjson", args.events).split(b"\n") if line]

    def run_msgspec() -> None:
        for line in lines:
            decoder.decode(line)

    def run_orjson() -> None:
        for line in lines:
            orjson.loads(line)

    def run_ours() -> None:
        for start in range(0, len(lines), _SLICE):
            parse_event_json_batch(lines[start : start + _SLICE])

    contenders = {"msgspec structs": run_msgspec, "orjson dicts": run_orjson, "ours": run_ours}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    rate_table(
        f"{len(lines):,} payloads, median of {args.repeat} interleaved rounds",
        {name: len(lines) / statistics.median(values) for name, values in times.items()},
        "ours",
    )


TEXT_DELTA = "TEXT_MESSAGE_CONTENT"
STRUCTS = "cc connect(), msgspec"  # the experiment's row


async def connect_with_structs(url: str) -> dict[str, Any]:
    """``bench_sockets.py``'s ``cc connect()`` contender (same loop, clock and result), with
    msgspec structs where the decoder validates a slice."""
    from chatconduit._codec import _event_decoder
    from chatconduit.events import parse_event_json

    decode = struct_decoder().decode

    def parse_batch(payloads: list[bytes]) -> list[Any]:
        # The stream's text deltas as structs; its four other events as the library reads
        # them, since the reader asks the run's end of our classes (fields set, __dict__).
        events = [decode(payload) for payload in payloads]
        pairs = zip(events, payloads, strict=True)
        return [event if event.type == TEXT_DELTA else parse_event_json(p) for event, p in pairs]

    _event_decoder.parse_event_json_batch = parse_batch  # type: ignore[assignment]
    return await bench_sockets.run_contender("cc connect()", url, "sse", 1)


def rate_table(title: str, rates: dict[str, float], against: str) -> None:
    """One row per contender: its events/s, µs per event and ratio to ``against``'s."""
    base = rates[against]
    print(f"# {title}\n")
    print(f"| contender | events/s | µs/event | vs {against} |")
    print("| --- | ---: | ---: | ---: |")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {1e6 / rate:.2f} | {rate / base:.2f}x |")


def sockets(repeat: int) -> None:
    n = 500_000
    bench_sockets.check_pin()
    server = subprocess.Popen(
        [sys.executable, bench_sockets.__file__, "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=bench_sockets.before_exec(bench_sockets.SERVER_CPU),
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/sse/{n}"
        cpu = bench_sockets.CLIENT_CPU

        def run(name: str) -> dict[str, Any]:
            if name != STRUCTS:
                return bench_sockets.measure(name, url, "sse", 1, 300, cpu)
            proc = subprocess.run(
                [sys.executable, __file__, "--client", "structs", "--url", url],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
                preexec_fn=bench_sockets.before_exec(cpu),
            )
            return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

        run(STRUCTS)  # the server builds the body once, before timing
        rows = bench_sockets.interleaved(["tanstack js", "cc connect()", STRUCTS], run, repeat)
        for name, result in rows:
            if result.get("content") != n:
                raise SystemExit(f"{name}: {result}")
        rate_table(
            f"{n:,} text deltas over SSE, pinned, median of {repeat} interleaved rounds",
            {name: result["content"] / result["wall"] for name, result in rows},
            "tanstack js",
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
