"""Server side, against the peer: ``chat_endpoint`` on one uvicorn worker vs the real
``@tanstack/ai@0.58.0`` Node helpers, serving the same scripted events to 1,000 concurrent
SSE clients, in the same run.

    ours      bench_server_load.py's server: a Starlette app, ``chat_endpoint(agent)``
              (request parsing, event validation, heartbeat pump, disconnect watcher, SSE
              framing), one uvicorn worker
    tanstack  benchmarks/bench_server_js.mjs: ``chatParamsFromRequest`` +
              ``toServerSentEventsResponse`` on node's http server (one process)

Both agents emit RUN_STARTED, TEXT_MESSAGE_START, N deltas (``emittedNs`` on each),
TEXT_MESSAGE_END, RUN_FINISHED. The load generator is bench_server_load.py's (a minimal
asyncio HTTP/1.1 client in this process: httpx would measure itself). Two scenarios:

    paced      50 deltas 20 ms apart (a live model): first-event p99 and emit→client p99
    flat out   N deltas back to back: events/s is what the server can push

Contenders run interleaved (ours, tanstack, ours, ...), ``--repeat`` rounds (3), each in a
fresh server process; the table shows the median round by events/s and the ratio
ours / tanstack of that scenario's medians, by wall time and by the server's own CPU
seconds (the machine is shared: CPU is what the server itself spent). Peak RSS is the
server's (VmHWM).

    .venv/bin/python benchmarks/bench_server.py                    # 1,000 clients
    .venv/bin/python benchmarks/bench_server.py --streams 100 --repeat 1   # smoke
    .venv/bin/python benchmarks/bench_server.py --stamp-every 10   # 9 in 10 deltas plain

``--stamp-every K`` puts ``emittedNs`` on every Kth delta only (both servers; latencies are
then sampled from those): an extra key makes every delta take our model path, while the
deltas real agents send are plain (``{type, messageId, delta}``), which take the fast one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_server_load as load_gen  # noqa: E402
from bench_sockets import (  # noqa: E402
    CLIENT_CPU,
    SERVER_CPU,
    before_exec,
    check_pin,
    node_binary,
    raise_fd_limit,
)

from chatconduit.cli._serve import GC_THRESHOLDS  # noqa: E402


def start(
    name: str,
    port: int,
    events: int,
    interval_ms: float,
    stamp_every: int,
    gc_threshold: str = "",
    pin: bool = False,
) -> subprocess.Popen[bytes]:
    if name == "tanstack":
        cmd = [node_binary(), str(HERE / "bench_server_js.mjs"), str(port), str(events)]
        cmd += [str(interval_ms), str(stamp_every)]
    else:
        cmd = [sys.executable, str(HERE / "bench_server_load.py"), "--serve", "--port", str(port)]
        cmd += ["--events", str(events), "--interval-ms", str(interval_ms)]
        cmd += ["--stamp-every", str(stamp_every), "--gc-threshold", gc_threshold]
    setup = before_exec(SERVER_CPU if pin else None)
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, preexec_fn=setup)


def one_round(
    name: str,
    streams: int,
    events: int,
    interval_ms: float,
    stamp_every: int = 1,
    gc_threshold: str = "",
    pin: bool = False,
    dialect: str = "tanstack-0.18",
) -> dict[str, Any]:
    port = load_gen.free_port()
    server = start(name, port, events, interval_ms, stamp_every, gc_threshold, pin)
    args = argparse.Namespace(streams=streams, events=events, deadline=180.0, dialect=dialect)
    try:
        return asyncio.run(load_gen.load(args, port, server.pid))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def table(title: str, medians: dict[str, dict[str, Any]]) -> None:
    print(f"\n### {title}\n")
    print(
        "| server | events/s | vs TanStack | events per server CPU s | CPU vs TanStack "
        "| complete | first event p50 / p99 ms | emit→client p50 / p99 ms "
        "| server peak RSS MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    peer = medians.get("tanstack")
    for name, r in medians.items():
        per_cpu = r["events_received"] / max(r["server_cpu_s"], 0.01)
        ratio = cpu_ratio = "-"
        if peer:
            ratio = f"{r['events_per_s'] / peer['events_per_s']:.2f}x"
            peer_cpu = peer["events_received"] / max(peer["server_cpu_s"], 0.01)
            cpu_ratio = f"{per_cpu / peer_cpu:.2f}x"
        print(
            f"| {name} | {r['events_per_s']:,} | {ratio} | {per_cpu:,.0f} | {cpu_ratio} "
            f"| {r['complete_streams']}/{r['streams']} "
            f"| {r['first_event_ms_p50']} / {r['first_event_ms_p99']} "
            f"| {r['emit_to_receive_ms_p50']} / {r['emit_to_receive_ms_p99']} "
            f"| {r['server_peak_rss_mb']} |"
        )


SERVE_GC_ROW = "ours, serve's GC"
SERVE_GC = ",".join(str(n) for n in GC_THRESHOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flat-events", type=int, default=300, help="deltas per stream")
    parser.add_argument("--only", choices=["paced", "flat"])
    parser.add_argument(
        "--stamp-every",
        type=int,
        default=1,
        help="emittedNs (an extra key) on every Kth delta only, the rest plain (both servers)",
    )
    parser.add_argument(
        "--dialect",
        choices=sorted(load_gen.BODIES),
        default="tanstack-0.18",
        help="what our server writes, chosen by the request body: a 0.10 client's "
        "(tanstack-0.18) or a 0.33 client's (current, what TanStack 0.58's helpers write)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help=f"server on CPU {SERVER_CPU} (all its threads), load generator on CPU {CLIENT_CPU}",
    )
    args = parser.parse_args()
    raise_fd_limit()
    pinned = ""
    if args.pin:
        check_pin()
        os.sched_setaffinity(0, {CLIENT_CPU})  # the load generator runs in this process
        pinned = f", server on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}"
    print(f"# bench_server: python {sys.version.split()[0]}, {os.cpu_count()} cpus{pinned}")
    scenarios = [("paced", 50, 20.0), ("flat", args.flat_events, 0.0)]
    for scenario, events, interval in scenarios:
        if args.only and scenario != args.only:
            continue
        # "ours, serve's GC": the same server with the cyclic GC's thresholds that
        # `chatconduit serve` sets (cli/_serve.py GC_THRESHOLDS; docs/deployment.md).
        servers = {
            "ours": ("ours", ""),
            SERVE_GC_ROW: ("ours", SERVE_GC),
            "tanstack": ("tanstack", ""),
        }
        runs: dict[str, list[dict[str, Any]]] = {row: [] for row in servers}
        for _ in range(args.repeat):
            for row, (name, gc_threshold) in servers.items():  # interleaved: noise hits all
                runs[row].append(
                    one_round(
                        name,
                        args.streams,
                        events,
                        interval,
                        args.stamp_every,
                        gc_threshold,
                        args.pin,
                        args.dialect,
                    )
                )
        medians = {}
        for name, results in runs.items():
            rates = [r["events_per_s"] for r in results]
            median = statistics.median_low(rates)
            medians[name] = next(r for r in results if r["events_per_s"] == median)
            errors = [e for r in results for e in r["first_errors"]]
            if errors:
                print(f"# {name}: errors {errors[:3]}")
        what = f"{events} deltas {interval:g} ms apart" if interval else f"{events} deltas flat out"
        if args.stamp_every != 1:
            what += f", emittedNs on every {args.stamp_every}th"
        what += f", {args.dialect} request body"
        table(
            f"{args.streams:,} concurrent SSE clients, {what} (median of {args.repeat})",
            medians,
        )


if __name__ == "__main__":
    main()
