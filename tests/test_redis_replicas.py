"""Durable runs across replicas: real processes, one real Redis, a proxy in front.

Two replica processes share one ``redis-server``; a routing proxy (the cutting proxy
of ``interop_current``, each connection sent to the replica queued for it) stands in
for the load balancer. The client is ours (``fetch_server_sent_events`` /
``fetch_http_stream`` with a :class:`ResumePolicy`), the replicas are the real
``chatconduit serve --redis-url`` (or, where a test needs a short lease or to see an
agent's ``finally`` in *that* process, the same app from ``redis_support.replica``).

* the client's connection to replica A is cut mid-answer; its resume lands on B; the
  events equal an uncut run's and the ids on the wire run 0, 1, 2, ... across both
  connections: nothing lost, nothing repeated (SSE and NDJSON);
* A is SIGKILLed mid-answer: the resume on B ends with the RUN_ERROR
  ``producer_lost`` naming A within the lease time, the partial answer kept;
* A gets SIGTERM mid-answer: it drains, the run finishes, the client (cut when A
  closes its connections, resumed on B) gets the whole answer, A exits 0;
* a stop sent to B (``DELETE ?runId=``, and a WebSocket abort frame) while A produces:
  A's agent ``finally`` runs, the readers get ``run_cancelled``;
* a WebSocket turn recorded on A is replayed by B (``?runId=&offset=-1``), frame for frame.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets.sync.client

from chatconduit import (
    FetchOptions,
    ResumePolicy,
    RunContext,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit.events import event_to_dict
from interop_current.cutting_proxy import Cut
from interop_current.harness import sse_frames
from redis_support import (
    RedisServer,
    Replica,
    redis_server,
    replica,
    routing_proxy,
    serve_replica,
)

LEASE = 1.5
WORDS = " ".join(f"word{n}" for n in range(40))  # the demo agent quotes it: ~100 events
LONG = " ".join(f"word{n}" for n in range(70))


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def served(redis: RedisServer) -> Iterator[tuple[Replica, Replica]]:
    """Two `chatconduit serve --redis-url` replicas, for the tests that leave them running."""
    with serve_replica(redis.url) as a, serve_replica(redis.url) as b:
        yield a, b


def user(text: str) -> list[dict[str, Any]]:
    return [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": text}]}]


def adapter(framing: str, url: str, **options: Any) -> Any:
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    fetch = FetchOptions(resume=ResumePolicy(delay=0.05), idle_timeout=20, **options)
    return make(f"{url}/api/chat/{framing}", fetch)


async def run(framing: str, url: str, run_id: str, text: str) -> list[dict[str, Any]]:
    """One turn through our adapter (resuming when cut); its events as dicts."""
    client = adapter(framing, url)
    ctx = RunContext(thread_id=f"thread-{run_id}", run_id=run_id)
    try:
        return [event_to_dict(e) async for e in client.connect(user(text), None, None, ctx)]
    finally:
        await client.aclose()


def comparable(events: list[dict[str, Any]], run_id: str) -> list[str]:
    """Events without what differs between two runs of the same answer (ids, clocks)."""
    out = []
    for event in events:
        kept = {k: v for k, v in event.items() if k not in ("timestamp", "threadId", "runId")}
        out.append(json.dumps(kept, sort_keys=True).replace(run_id, "<run>"))
    return out


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e.get("delta", "") for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def wire_ids(raw: bytes, framing: str) -> list[int]:
    """The ids of the complete events in a response's raw bytes (head, chunking and all)."""
    if framing == "sse":
        return [int(f["id"]) for f in sse_frames(raw) if isinstance(f["data"], dict) and f["id"]]
    ids = []
    for line in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n"):
        try:
            value = json.loads(line)
        except ValueError:
            continue  # the status line, headers, chunk sizes, the line cut in half
        if isinstance(value, dict) and "chunk" in value:
            ids.append(int(value["id"]))
    return ids


# --- a cut connection resumes on the other replica ------------------------------------------


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_a_cut_stream_resumes_on_the_other_replica_losing_and_repeating_nothing(
    served: tuple[Replica, Replica], framing: str
) -> None:
    a, b = served
    run_id = f"run-cut-{framing}"
    with routing_proxy(a.port) as proxy:
        proxy.route_next(a.port, b.port)
        proxy.cut_next(Cut(after=b"word20"))  # mid-answer, inside an event
        uncut, resumed = await asyncio.gather(
            run(framing, a.url, f"run-uncut-{framing}", WORDS),  # the same answer, uncut
            run(framing, proxy.url, run_id, WORDS),
        )
        log, routes = list(proxy.log), list(proxy.routes)

    assert routes == [a.port, b.port]
    first, second = log
    assert first.cut and not second.cut
    before, after = wire_ids(bytes(first.sent), framing), wire_ids(bytes(second.sent), framing)
    assert before and after
    assert before + after == list(range(len(uncut)))  # 0 lost, 0 duplicated, in order
    assert comparable(resumed, run_id) == comparable(uncut, f"run-uncut-{framing}")
    assert resumed[-1]["type"] == "RUN_FINISHED"
    assert WORDS in text_of(resumed)


# --- the producing replica dies -------------------------------------------------------------


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_sigkill_of_the_producer_ends_the_resumed_stream_with_producer_lost(
    redis: RedisServer, framing: str
) -> None:
    with (
        replica(redis.url, lease=LEASE) as a,
        replica(redis.url, lease=LEASE) as b,
        routing_proxy(a.port) as proxy,
    ):
        uncut = asyncio.create_task(run(framing, b.url, f"run-ref-kill-{framing}", WORDS))
        proxy.route_next(a.port, b.port)
        client = adapter(framing, proxy.url)
        ctx = RunContext(thread_id="thread-kill", run_id=f"run-kill-{framing}")
        events: list[dict[str, Any]] = []
        killed = ended = 0.0
        try:
            async for item in client.connect(user(WORDS), None, None, ctx):
                events.append(event_to_dict(item))
                if len(events) == 15:
                    a.signal(signal.SIGKILL)
                    killed = time.monotonic()
            ended = time.monotonic()
        finally:
            await client.aclose()
        routes = list(proxy.routes)
        reference = text_of(await uncut)

    assert routes[0] == a.port and set(routes[1:]) == {b.port}
    error = events[-1]
    assert error["type"] == "RUN_ERROR" and error["code"] == "producer_lost"
    assert a.replica_id in error["message"]
    assert ended - killed <= LEASE + 1.0  # the lease, one check (lease/4), a reconnect
    partial = text_of(events)
    assert len(partial) > 20 and reference.startswith(partial)  # the partial answer kept


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_sigterm_drains_the_producer_and_the_answer_completes(
    redis: RedisServer, framing: str
) -> None:
    with (
        serve_replica(redis.url) as a,
        serve_replica(redis.url) as b,
        routing_proxy(a.port) as proxy,
    ):
        uncut = asyncio.create_task(run(framing, b.url, f"run-ref-term-{framing}", LONG))
        proxy.route_next(a.port, b.port)
        client = adapter(framing, proxy.url)
        run_id = f"run-term-{framing}"
        ctx = RunContext(thread_id="thread-term", run_id=run_id)
        events: list[dict[str, Any]] = []
        try:
            async for item in client.connect(user(LONG), None, None, ctx):
                events.append(event_to_dict(item))
                if len(events) == 10:
                    a.signal(signal.SIGTERM)
        finally:
            await client.aclose()
        status = a.wait(30)
        routes = list(proxy.routes)
        stderr = a.log_text()
        reference = await uncut

    assert status == 0, stderr
    assert comparable(events, run_id) == comparable(reference, f"run-ref-term-{framing}")
    # A closed the client's connection while draining; the resume was served by B.
    assert routes[0] == a.port and b.port in routes[1:]


# --- stop from any replica ------------------------------------------------------------------


class Started:
    """A run POSTed to one replica, its response open (``lines`` reads the rest)."""

    def __init__(self, target: Replica, run_id: str) -> None:
        self.client = httpx.Client(timeout=30)
        body = {
            "threadId": f"thread-{run_id}",
            "runId": run_id,
            "state": {},
            "messages": [{"id": "u1", "role": "user", "content": LONG}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        }
        self._stream = self.client.stream(
            "POST", target.chat("ndjson"), json=body, headers={"X-Run-Id": run_id}
        )
        response = self._stream.__enter__()
        assert response.status_code == 200
        self._lines = response.iter_lines()
        next(self._lines)

    def rest(self) -> list[dict[str, Any]]:
        events = [json.loads(line)["chunk"] for line in self._lines if line]
        self._stream.__exit__(None, None, None)
        self.client.close()
        return events


def wait_until(check: Any, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def test_a_stop_sent_to_the_other_replica_runs_the_producers_finally(
    redis: RedisServer,
) -> None:
    with replica(redis.url, lease=LEASE) as a, replica(redis.url, lease=LEASE) as b:
        started = Started(a, "run-stop-http")
        stopped = httpx.delete(b.chat("sse"), params={"runId": "run-stop-http"}, timeout=10)
        rest = started.rest()
        finished_on_a = wait_until(lambda: a.finished("run-stop-http"), 5)

        started = Started(a, "run-stop-ws")
        with websockets.sync.client.connect(f"ws://127.0.0.1:{b.port}/api/chat/ws") as ws:
            ws.send(json.dumps({"type": "abort", "runId": "run-stop-ws"}))
            aborted_on_a = wait_until(lambda: a.finished("run-stop-ws"), 5)
        ws_rest = started.rest()
        again = httpx.delete(b.chat("sse"), params={"runId": "run-stop-http"}, timeout=10)
        unknown = httpx.delete(b.chat("sse"), params={"runId": "run-nobody"}, timeout=10)

    assert stopped.status_code == 202
    assert stopped.json() == {"runId": "run-stop-http", "state": "stopping"}
    assert finished_on_a and not b.finished("run-stop-http")
    assert rest[-1]["type"] == "RUN_ERROR" and rest[-1]["code"] == "run_cancelled"
    assert aborted_on_a and not b.finished("run-stop-ws")
    assert ws_rest[-1]["type"] == "RUN_ERROR" and ws_rest[-1]["code"] == "run_cancelled"
    assert again.status_code == 200 and again.json()["state"] == "finished"
    assert unknown.status_code == 404


def test_a_websocket_turn_on_one_replica_replays_from_the_other(
    served: tuple[Replica, Replica],
) -> None:
    a, b = served
    turn = {
        "threadId": "thread-ws-redis",
        "runId": "run-ws-redis",
        "state": {},
        "messages": [{"id": "u1", "role": "user", "content": "hello over a socket"}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    frames: list[dict[str, Any]] = []
    with websockets.sync.client.connect(f"ws://127.0.0.1:{a.port}/api/chat/ws") as ws:
        ws.send(json.dumps(turn))
        while not frames or frames[-1]["chunk"]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
            frame = json.loads(ws.recv(timeout=30))
            if frame.get("type") != "ping":
                frames.append(frame)
    url = f"ws://127.0.0.1:{b.port}/api/chat/ws?runId=run-ws-redis&offset=-1"
    with websockets.sync.client.connect(url) as ws:
        replayed = [json.loads(message) for message in ws]  # B closes (1000) at the end

    assert [f["id"] for f in frames] == [str(n) for n in range(len(frames))]
    assert frames[-1]["chunk"]["type"] == "RUN_FINISHED"
    assert replayed == frames
