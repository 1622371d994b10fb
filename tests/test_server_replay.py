"""Replay buffers and durable runs: ids, resume with Last-Event-ID / ?offset=, joinRun, bounds."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit._codec._sse import SSEDecoder
from chatconduit.server import (
    DurableRuns,
    EventTooLargeError,
    InMemoryStreamLog,
    ReplayError,
    ReplayGapError,
    RunAgentInput,
    RunExistsError,
    StreamLog,
    StreamLogFullError,
    TooManyRunsError,
    UnknownRunError,
    chat_endpoint,
)
from servers import RunningServer, serve

LIVENESS = 10.0
BODY = json.loads(
    (Path(__file__).parent / "fixtures/tanstack-0.10/curl-request-body.json").read_text()
)


async def collect(reader: AsyncIterator[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [item async for item in reader]


# --- InMemoryStreamLog (pure) --------------------------------------------------------------


async def test_offsets_replay_and_live_follow() -> None:
    log = InMemoryStreamLog()
    assert isinstance(log, StreamLog)
    await log.create("r")
    assert [await log.append("r", f"e{i}".encode()) for i in range(3)] == ["0", "1", "2"]

    follower = asyncio.create_task(collect(await log.read("r")))
    late = asyncio.create_task(collect(await log.read("r", after="1")))
    await asyncio.sleep(0.01)
    assert not follower.done()  # still following the live run
    await log.append("r", b"e3")
    await log.close("r")
    assert await asyncio.wait_for(follower, LIVENESS) == [
        ("0", b"e0"),
        ("1", b"e1"),
        ("2", b"e2"),
        ("3", b"e3"),
    ]
    assert await asyncio.wait_for(late, LIVENESS) == [("2", b"e2"), ("3", b"e3")]
    assert await collect(await log.read("r", after="3")) == []


@pytest.mark.parametrize("after", ["abc", "7", "-5", "1.5"])
async def test_an_offset_that_is_not_an_event_id_is_refused(after: str) -> None:
    log = InMemoryStreamLog()
    await log.create("r")
    await log.append("r", b"x")
    with pytest.raises(ReplayGapError, match="not an event id"):
        await log.read("r", after=after)


async def test_the_per_run_buffer_is_bounded() -> None:
    log = InMemoryStreamLog(max_events_per_run=3)
    await log.create("r")
    for i in range(5):
        await log.append("r", str(i).encode())
    await log.close("r")
    assert [offset for offset, _ in await collect(await log.read("r"))] == ["2", "3", "4"]
    assert await collect(await log.read("r", after="1")) == [("2", b"2"), ("3", b"3"), ("4", b"4")]
    with pytest.raises(ReplayGapError, match="no longer kept"):
        await log.read("r", after="0")


async def test_a_reader_that_falls_behind_gets_a_gap_error() -> None:
    log = InMemoryStreamLog(max_events_per_run=2)
    await log.create("r")
    await log.append("r", b"0")
    reader = await log.read("r")
    assert await anext(reader) == ("0", b"0")
    for i in range(1, 5):
        await log.append("r", str(i).encode())
    with pytest.raises(ReplayGapError, match="fell behind"):
        await anext(reader)


async def test_slots_are_bounded_and_only_finished_runs_are_evicted() -> None:
    log = InMemoryStreamLog(max_runs=2)
    await log.create("a")
    await log.create("b")
    with pytest.raises(StreamLogFullError):
        await log.create("c")
    await log.close("a")
    await log.create("c")  # evicts the finished "a"
    assert not await log.has_run("a")
    assert await log.has_run("b") and await log.has_run("c")
    with pytest.raises(UnknownRunError):
        await log.read("a")


async def test_finished_runs_expire_after_the_retention() -> None:
    log = InMemoryStreamLog(retention=0)
    await log.create("a")
    assert await log.has_run("a")
    await log.close("a")
    assert not await log.has_run("a")


async def test_misuse_is_reported() -> None:
    log = InMemoryStreamLog()
    with pytest.raises(UnknownRunError):
        await log.append("nope", b"x")
    await log.create("r")
    with pytest.raises(RunExistsError):
        await log.create("r")
    await log.close("r")
    with pytest.raises(ReplayError, match="closed"):
        await log.append("r", b"x")
    with pytest.raises(ValueError):
        InMemoryStreamLog(max_runs=0)
    assert "runs=1" in repr(log)


# --- durable runs over a real server ---------------------------------------------------------


class SlowAgent:
    """RUN_STARTED, ``words`` deltas ``pause`` apart, RUN_FINISHED; counts its runs.

    A run whose id is in ``gates`` stops after its third delta until the test
    sets that gate (a ``threading.Event``: the test and the server run in
    different threads), so "the run is still producing" is certain, not timed.
    """

    def __init__(self, words: int = 12, pause: float = 0.002) -> None:
        self.words = words
        self.pause = pause
        self.runs = 0
        self.gates: dict[str, threading.Event] = {}

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        self.runs += 1
        gate = self.gates.get(params.run_id)
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        for i in range(self.words):
            await asyncio.sleep(self.pause)
            if i == 3 and gate is not None:
                await asyncio.to_thread(gate.wait, LIVENESS)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"w{i} "}
        yield {"type": "RUN_FINISHED", **ids}


@pytest.fixture(scope="module")
def durable_server() -> Iterator[tuple[RunningServer, SlowAgent]]:
    agent = SlowAgent()
    runs = DurableRuns(InMemoryStreamLog(max_events_per_run=8), abandon_after=None)
    runs_big = DurableRuns(InMemoryStreamLog(), abandon_after=None)
    app = Starlette(
        routes=[
            Route("/sse", chat_endpoint(agent, durable=runs_big), methods=["POST", "GET"]),
            Route(
                "/ndjson",
                chat_endpoint(agent, framing="ndjson", durable=runs_big),
                methods=["POST"],
            ),
            Route("/small", chat_endpoint(agent, durable=runs), methods=["POST", "GET"]),
        ]
    )
    with serve(app) as srv:
        yield srv, agent


def body_for(run_id: str) -> dict[str, Any]:
    return {**BODY, "runId": run_id}


def sse_messages(data: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    decoder = SSEDecoder()
    return [(m.id, json.loads(m.data)) for m in decoder.feed(data) + decoder.finish()]


def read_until(url: str, body: dict[str, Any], frames: int) -> bytes:
    seen = b""
    with httpx.Client(timeout=LIVENESS) as client, client.stream("POST", url, json=body) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            seen += chunk
            if seen.count(b"\n\n") >= frames:
                break
    return seen


def test_resume_with_last_event_id_continues_live_without_gaps_or_duplicates(
    durable_server: tuple[RunningServer, SlowAgent],
) -> None:
    srv, agent = durable_server
    gate = agent.gates["run-resume-1"] = threading.Event()
    before = agent.runs
    first = sse_messages(read_until(f"{srv.url}/sse", body_for("run-resume-1"), 4))[:4]
    assert [event_id for event_id, _ in first] == ["0", "1", "2", "3"]

    rest_bytes = b""
    headers = {"Last-Event-ID": "3"}
    with (
        httpx.Client(timeout=LIVENESS) as client,
        client.stream(
            "POST", f"{srv.url}/sse", json=body_for("run-resume-1"), headers=headers
        ) as resumed,
    ):
        assert resumed.status_code == 200
        gate.set()  # the run is still waiting: everything after this arrives live
        for chunk in resumed.iter_bytes():
            rest_bytes += chunk
    rest = sse_messages(rest_bytes)
    ids = [event_id for event_id, _ in first + rest]
    assert ids == [str(i) for i in range(14)]
    events = [event for _, event in first + rest]
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    assert [e["delta"] for e in events[1:-1]] == [f"w{i} " for i in range(12)]
    assert agent.runs == before + 1  # the resume did not run the agent again


def test_join_with_get_and_offset_minus_one_replays_everything(
    durable_server: tuple[RunningServer, SlowAgent],
) -> None:
    srv, _ = durable_server
    original = httpx.post(f"{srv.url}/sse", json=body_for("run-join-1")).content
    joined = httpx.get(f"{srv.url}/sse", params={"runId": "run-join-1", "offset": "-1"})
    assert joined.status_code == 200 and joined.content == original
    tail = httpx.get(f"{srv.url}/sse", params={"runId": "run-join-1", "offset": "11"})
    assert [event_id for event_id, _ in sse_messages(tail.content)] == ["12", "13"]


def test_a_repeated_post_replays_instead_of_running_twice(
    durable_server: tuple[RunningServer, SlowAgent],
) -> None:
    srv, agent = durable_server
    before = agent.runs
    first = httpx.post(f"{srv.url}/sse", json=body_for("run-twice")).content
    again = httpx.post(f"{srv.url}/sse", json=body_for("run-twice")).content
    assert first == again and agent.runs == before + 1


def test_ndjson_durable_runs_use_envelopes_and_the_offset_query(
    durable_server: tuple[RunningServer, SlowAgent],
) -> None:
    srv, _ = durable_server
    full = httpx.post(f"{srv.url}/ndjson", json=body_for("run-nd")).content.splitlines()
    envelopes = [json.loads(line) for line in full]
    assert [e["id"] for e in envelopes] == [str(i) for i in range(14)]
    assert envelopes[0]["chunk"]["type"] == "RUN_STARTED"
    resumed = httpx.post(f"{srv.url}/ndjson?offset=12", json=body_for("run-nd"))
    assert resumed.content.splitlines() == full[13:]


def test_resume_errors(durable_server: tuple[RunningServer, SlowAgent]) -> None:
    srv, _ = durable_server
    unknown = httpx.get(f"{srv.url}/sse", params={"runId": "never", "offset": "-1"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_run"
    no_run = httpx.get(f"{srv.url}/sse", params={"offset": "-1"})
    assert no_run.status_code == 400
    httpx.post(f"{srv.url}/small", json=body_for("run-small"))  # 14 events, 8 kept
    gap = httpx.get(f"{srv.url}/small", params={"runId": "run-small", "offset": "2"})
    assert gap.status_code == 410 and gap.json()["error"]["code"] == "replay_gap"
    plain_get = httpx.get(f"{srv.url}/sse")
    assert plain_get.status_code == 405


def test_an_abandoned_run_is_cancelled_and_ends_with_a_terminal_event() -> None:
    cleaned = threading.Event()
    hooked: list[list[dict[str, Any]]] = []

    async def stuck(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        try:
            yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    runs = DurableRuns(InMemoryStreamLog(), abandon_after=0.05)
    endpoint = chat_endpoint(stuck, durable=runs, on_disconnect=hooked.append)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST", "GET"])])
    with serve(app) as srv:
        read_until(srv.url, body_for("run-stuck"), 1)
        assert cleaned.wait(LIVENESS), "the abandoned agent was not cancelled"
        joined = httpx.get(srv.url, params={"runId": "run-stuck", "offset": "-1"}, timeout=LIVENESS)
        events = [event for _, event in sse_messages(joined.content)]
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[1]["code"] == "run_cancelled" and events[1]["runId"] == "run-stuck"
    assert [[e["type"] for e in h] for h in hooked] == [["RUN_STARTED"]]


def test_a_reader_keeps_the_run_alive_past_the_abandon_delay() -> None:
    agent = SlowAgent(words=4, pause=0.03)
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=0.01)
    app = Starlette(routes=[Route("/", chat_endpoint(agent, durable=runs), methods=["POST"])])
    with serve(app) as srv:
        events = sse_messages(httpx.post(srv.url, json=body_for("run-watched")).content)
    assert events[-1][1]["type"] == "RUN_FINISHED" and len(events) == 6


async def test_closing_the_runs_stops_live_agents() -> None:
    stopped = asyncio.Event()

    async def forever() -> AsyncIterator[Any]:
        try:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
            await asyncio.Event().wait()
        finally:
            stopped.set()

    log = InMemoryStreamLog()
    runs = DurableRuns(log, abandon_after=None)
    await runs.start("r", forever())
    await asyncio.sleep(0.01)
    assert runs.is_live("r")
    await runs.aclose()
    assert stopped.is_set() and not runs.is_live("r")
    payloads = [json.loads(p) for _, p in await collect(await log.read("r"))]
    assert [p["type"] for p in payloads] == ["RUN_STARTED", "RUN_ERROR"]


def test_run_scope_keeps_callers_apart() -> None:
    agent = SlowAgent(words=2, pause=0)
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=None)

    def user_of(request: Request) -> str:
        return request.headers["x-user"]

    endpoint = chat_endpoint(agent, durable=runs, run_scope=user_of)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST", "GET"])])
    body = body_for("run-shared-id")
    with serve(app) as srv:
        alice = httpx.post(srv.url, json=body, headers={"X-User": "alice"})
        bob = httpx.post(srv.url, json=body, headers={"X-User": "bob"})
        join = {"runId": "run-shared-id", "offset": "-1"}
        bob_joins_alice = httpx.get(srv.url, params=join, headers={"X-User": "mallory"})
        alice_joins = httpx.get(srv.url, params=join, headers={"X-User": "alice"})
    # The same client-chosen run id is two runs, one per caller.
    assert agent.runs == 2
    assert alice.status_code == bob.status_code == 200
    assert bob_joins_alice.status_code == 404
    assert alice_joins.content == alice.content
    assert sse_messages(alice.content)[0][1]["runId"] == "run-shared-id"


# --- bounds: bytes per run and in total, live runs per scope -------------------------------


async def kept(log: InMemoryStreamLog, run_id: str) -> list[str]:
    """Offsets a reader from the start gets now (the run may still be live)."""
    reader = await log.read(run_id)
    out: list[str] = []
    while True:
        try:
            async with asyncio.timeout(0.05):
                offset, _ = await anext(reader)
        except (TimeoutError, StopAsyncIteration):
            return out
        out.append(offset)


async def test_a_run_is_bounded_in_bytes_not_only_in_events() -> None:
    log = InMemoryStreamLog(max_bytes_per_run=10, max_total_bytes=100)
    await log.create("r")
    for i in range(5):
        await log.append("r", f"{i}abc".encode())  # 4 bytes each
    assert log.total_bytes == 8 and await kept(log, "r") == ["3", "4"]
    with pytest.raises(ReplayGapError, match="no longer kept"):
        await log.read("r", after="1")
    with pytest.raises(EventTooLargeError, match="11 bytes"):
        await log.append("r", b"x" * 11)
    assert log.total_bytes == 8 and "bytes=8" in repr(log)


async def test_the_total_is_bounded_finished_runs_go_first_then_the_largest_live_run_pays() -> None:
    log = InMemoryStreamLog(max_bytes_per_run=60, max_total_bytes=100)
    for run_id, size, count in [("done", 10, 4), ("big", 10, 5), ("small", 5, 2)]:
        await log.create(run_id)
        for _ in range(count):
            await log.append(run_id, b"x" * size)
        if run_id == "done":
            await log.close(run_id)
    assert log.total_bytes == 40 + 50 + 10 == log.max_total_bytes
    await log.append("small", b"y" * 5)  # over the total: the finished run goes first
    assert not await log.has_run("done") and log.total_bytes == 65
    await log.append("small", b"z" * 40)  # over again: the largest live run loses its oldest
    assert await kept(log, "small") == ["0", "1", "2", "3"]
    assert await kept(log, "big") == ["1", "2", "3", "4"]
    assert log.total_bytes == 40 + 55 <= log.max_total_bytes


@pytest.mark.parametrize(
    "limits",
    [{"max_bytes_per_run": 0}, {"max_bytes_per_run": 10, "max_total_bytes": 9}],
)
def test_bad_byte_limits_are_refused(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="max_bytes_per_run"):
        InMemoryStreamLog(**limits)


async def test_one_scope_cannot_take_every_live_run() -> None:
    async def forever() -> AsyncIterator[Any]:
        yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
        await asyncio.Event().wait()

    log = InMemoryStreamLog(max_runs=8)
    runs = DurableRuns(log, abandon_after=None, max_live_runs_per_scope=2)
    await runs.start("a1", forever(), scope="a")
    await runs.start("a2", forever(), scope="a")
    with pytest.raises(TooManyRunsError) as refused:
        await runs.start("a3", forever(), scope="a")
    assert isinstance(refused.value, StreamLogFullError) and refused.value.limit == 2
    assert not await log.has_run("a3")  # nothing was created, no agent started
    await runs.start("b1", forever(), scope="b")  # another caller is not affected
    await runs.start("x1", forever())  # runs without a scope are not counted
    assert (runs.live_runs("a"), runs.live_runs("b")) == (2, 1)
    await runs.aclose()
    assert runs.live_runs("a") == 0
    await runs.start("a3", forever(), scope="a")  # places are given back when runs end
    await runs.aclose()


def test_one_caller_cannot_take_every_slot_from_the_others() -> None:
    """Default settings: a caller gets 16 live runs, then 429; the others are still served
    (before, one caller could fill every slot of the log and everyone else got 503)."""
    release = threading.Event()

    async def held(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        await asyncio.to_thread(release.wait, LIVENESS)  # live until the test lets go
        yield {"type": "RUN_FINISHED", **ids}

    runs = DurableRuns(InMemoryStreamLog(max_runs=20), abandon_after=None)

    def user_of(request: Request) -> str:
        return request.headers["x-user"]

    endpoint = chat_endpoint(held, durable=runs, run_scope=user_of)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])

    def start(client: httpx.Client, user: str, run_id: str) -> tuple[int, bytes]:
        """Start a run; return its status and the first bytes (the run goes on)."""
        body, headers = body_for(run_id), {"X-User": user}
        with client.stream("POST", srv.url, json=body, headers=headers) as response:
            return response.status_code, next(response.iter_bytes())

    with serve(app) as srv, httpx.Client(timeout=LIVENESS) as client:
        try:
            # Every slot of the log, if nothing stops one caller.
            started = [start(client, "mallory", f"run-m{i}") for i in range(20)]
            alice_status, alice_first = start(client, "alice", "run-a")
        finally:
            release.set()  # before the server stops: its loop waits for the held threads
    assert [status for status, _ in started] == [200] * 16 + [429] * 4
    assert json.loads(started[-1][1])["error"]["code"] == "too_many_runs"
    assert alice_status == 200 and b"RUN_STARTED" in alice_first


async def wait_until_finished(runs: DurableRuns, key: str) -> None:
    for _ in range(int(LIVENESS / 0.01)):
        if not runs.is_live(key):
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"run {key!r} did not finish")


def test_a_run_keeps_at_most_8_mib_by_default() -> None:
    """Default settings: a run of big events keeps its newest 8 MiB, not everything."""
    mib = 1024 * 1024

    async def big(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        for _ in range(12):
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x" * mib}
        yield {"type": "RUN_FINISHED", **ids}

    runs = DurableRuns(InMemoryStreamLog(), abandon_after=None)
    app = Starlette(routes=[Route("/", chat_endpoint(big, durable=runs), methods=["POST", "GET"])])
    with serve(app) as srv, httpx.Client(timeout=LIVENESS) as client:
        # The live reader may fall behind the recording (then it ends with replay_gap).
        assert client.post(srv.url, json=body_for("run-big")).status_code == 200
        asyncio.run(wait_until_finished(runs, "run-big"))  # is_live: a plain dict look-up
        joined = client.get(srv.url, params={"runId": "run-big", "offset": "-1"})
    ids = [int(event_id or -1) for event_id, _ in sse_messages(joined.content)]
    assert len(joined.content) < 8 * mib + 4096
    assert ids[0] > 1 and ids[-1] == 13  # the oldest were dropped, the end is kept


def test_an_event_too_large_to_record_ends_the_run_with_a_run_error() -> None:
    cleaned = threading.Event()

    async def huge(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        try:
            yield {"type": "RUN_STARTED", **ids}
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x" * 5000}
            yield {"type": "RUN_FINISHED", **ids}
        finally:
            cleaned.set()

    log = InMemoryStreamLog(max_bytes_per_run=1000, max_total_bytes=1000)
    runs = DurableRuns(log, abandon_after=None)
    app = Starlette(routes=[Route("/", chat_endpoint(huge, durable=runs), methods=["POST"])])
    with serve(app) as srv:
        response = httpx.post(srv.url, json=body_for("run-huge"), timeout=LIVENESS)
    events = [event for _, event in sse_messages(response.content)]
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[1]["code"] == "event_too_large" and events[1]["runId"] == "run-huge"
    assert cleaned.wait(LIVENESS)
    assert log.total_bytes <= 1000
