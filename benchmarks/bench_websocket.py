"""1,000 concurrent WebSocket conversations against ONE uvicorn worker.

The server (its own process) is a single uvicorn worker on 127.0.0.1 at a random port,
serving :func:`chatconduit.server.websocket_endpoint` with an agent that streams
``--deltas`` (300) small text deltas per turn: RUN_STARTED, TEXT_MESSAGE_START,
N x TEXT_MESSAGE_CONTENT, TEXT_MESSAGE_END, RUN_FINISHED. The clients (another process)
open ``--sockets`` (1,000; ``--quick``: 100) conversations at once, each with its own
``chatconduit.websocket(url)`` adapter (one socket per conversation, reused across its
``--turns`` turns), and read every turn through ``adapter.connect()``.

Reported: wall time (from the first ``connect()`` to the last event), total events/s
(every event received, over the wall time), peak RSS of the client and of the server
process, failed conversations, and events lost (expected - received, must be 0; a turn
whose text differs from what the agent sent counts all its deltas as lost).

    .venv/bin/python benchmarks/bench_websocket.py            # 1,000 sockets
    .venv/bin/python benchmarks/bench_websocket.py --quick    # 100 sockets, a smoke run

The fd limit is raised here (``resource.setrlimit``) in both processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

TOKENS = [" The", " quick", " brown", " fox", " café", " 日本語", " 👋", ",", ".", "\n"]


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def delta(i: int) -> str:
    return TOKENS[i % len(TOKENS)]


def expected_text(deltas: int) -> str:
    return "".join(delta(i) for i in range(deltas))


# -- the server -------------------------------------------------------------------------


def serve(deltas: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute

    from chatconduit.server import RunAgentInput, websocket_endpoint

    raise_fd_limit()
    served = {"turns": 0, "events": 0}

    async def agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        mid = f"m-{params.run_id}"
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"}
        for i in range(deltas):
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": delta(i)}
        yield {"type": "TEXT_MESSAGE_END", "messageId": mid}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}
        served["turns"] += 1
        served["events"] += deltas + 4

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"peak_rss_mb": peak_rss_mb(), **served})

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", websocket_endpoint(agent)),
            Route("/stats", stats),
        ]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        app, workers=1, log_level="warning", backlog=4096, ws_max_size=1 << 24, lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[sock])


# -- the clients ------------------------------------------------------------------------


async def conversation(url: str, n: int, turns: int, text: str, tally: dict[str, int]) -> None:
    from chatconduit import RunContext, TextPart, UIMessage, websocket

    adapter = websocket(url, {"open_timeout": 120, "idle_timeout": 120})
    try:
        for turn in range(turns):
            messages = [UIMessage(id=f"u{turn}", role="user", parts=[TextPart(content="go")])]
            rc = RunContext(thread_id=f"t-{n}", run_id=f"run-{n}-{turn}")
            got: list[str] = []
            events = 0
            async for event in adapter.connect(messages, None, None, rc):
                events += 1
                if event.type == "TEXT_MESSAGE_CONTENT":
                    got.append(event.delta)  # type: ignore[union-attr]
            tally["events"] += events
            tally["last"] = max(tally["last"], time.perf_counter_ns())
            if "".join(got) == text:
                tally["deltas"] += len(got)
            else:
                tally["bad_turns"] += 1
    except Exception as exc:
        tally["failed"] += 1
        if tally["failed"] <= 3:
            print(f"conversation {n}: {exc!r}", file=sys.stderr)
    finally:
        await adapter.aclose()


async def clients(url: str, sockets: int, turns: int, deltas: int) -> dict[str, Any]:
    raise_fd_limit()
    text = expected_text(deltas)
    tally = {"events": 0, "deltas": 0, "bad_turns": 0, "failed": 0, "last": 0}
    start = time.perf_counter_ns()
    await asyncio.gather(*(conversation(url, n, turns, text, tally) for n in range(sockets)))
    wall = (tally["last"] - start) / 1e9 if tally["last"] else float("nan")
    expected_deltas = sockets * turns * deltas
    return {
        "wall_s": wall,
        "events": tally["events"],
        "events_per_s": tally["events"] / wall if wall else 0.0,
        "lost": expected_deltas - tally["deltas"],
        "failed": tally["failed"],
        "client_peak_rss_mb": peak_rss_mb(),
    }


# -- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 sockets (a smoke run)")
    parser.add_argument("--sockets", type=int, default=None)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--deltas", type=int, default=300)
    parser.add_argument("--role", choices=["server", "clients"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sockets = args.sockets or (100 if args.quick else 1000)

    if args.role == "server":
        serve(args.deltas)
        return
    if args.role == "clients":
        result = asyncio.run(clients(args.url, sockets, args.turns, args.deltas))
        print(json.dumps(result), flush=True)
        return

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    me = str(Path(__file__).resolve())
    server = subprocess.Popen(
        [PY, me, "--role", "server", "--deltas", str(args.deltas)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        for _ in range(100):  # wait until it accepts
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        url = f"ws://127.0.0.1:{port}/ws"
        sizes = ["--sockets", str(sockets), "--turns", str(args.turns)]
        out = subprocess.run(
            [PY, me, "--role", "clients", "--url", url, *sizes, "--deltas", str(args.deltas)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if out.returncode != 0 or not out.stdout.strip():
            sys.exit(f"the clients failed:\n{out.stderr[-4000:]}")
        if out.stderr.strip():
            print(out.stderr[-2000:], file=sys.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as response:
            stats = json.loads(response.read())
    finally:
        server.terminate()
        server.wait(timeout=10)

    per_turn = args.deltas + 4
    print(
        f"{sockets} WebSocket conversations x {args.turns} turns x {args.deltas} deltas "
        f"({per_turn} events a turn), one uvicorn worker, python {sys.version.split()[0]}\n"
    )
    print("| sockets | turns | events | wall (s) | events/s | client peak RSS | "
          "server peak RSS | failed | events lost |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {sockets:,} | {sockets * args.turns:,} | {result['events']:,} "
        f"| {result['wall_s']:.2f} | {result['events_per_s']:,.0f} "
        f"| {result['client_peak_rss_mb']:.0f} MB | {stats['peak_rss_mb']:.0f} MB "
        f"| {result['failed']} | {result['lost']} |"
    )
    if result["lost"] or result["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
