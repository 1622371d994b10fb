"""Durable runs as 0.58 keys and serves them: ``X-Run-Id``, ``joinRun``, ``hydrate``.

Over a real uvicorn on loopback: the log is keyed by ``X-Run-Id`` (else ``?runId``, else
the body); ``GET ?offset=-1&runId=`` replays a run from its start, ``?offset=<id>`` after
that id, in either framing; a GET naming a run without an offset is 0.58's ``400
text/plain``; an unknown run is a 404; ``GET ?threadId=`` returns the thread's messages,
active run and pending interrupts from the :class:`ThreadStore`, whose in-memory default
is bounded in threads, age and bytes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit._codec._sse import SSEDecoder
from chatconduit.server import (
    DurableRuns,
    InMemoryStreamLog,
    InMemoryThreadStore,
    PendingInterrupts,
    RunAgentInput,
    ThreadRecord,
    ThreadStore,
    chat_endpoint,
)
from servers import RunningServer, serve

LIVENESS = 10.0

INTERRUPT = {
    "id": "approval_call-1",
    "reason": "tool_call",
    "message": "Approval required to run delete_file",
    "toolCallId": "call-1",
    "metadata": {"kind": "approval", "toolName": "delete_file", "input": {"path": "/tmp/x"}},
}


class Agent:
    """Answers ``You said: <text>`` in three deltas; counts its runs.

    A run whose id is in ``gates`` waits after its first delta until the test sets the
    gate (a ``threading.Event``: test and server run in different threads), so "the run
    is still producing" is certain, not timed. A message containing ``delete`` ends the
    run with an approval interrupt, as 0.58 does.
    """

    def __init__(self) -> None:
        self.runs = 0
        self.gates: dict[str, threading.Event] = {}

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        self.runs += 1
        gate = self.gates.get(params.run_id)
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        last = params.messages[-1] if params.messages else {}
        text = last.get("content") if isinstance(last, Mapping) else None
        text = text if isinstance(text, str) else "?"
        message_id = f"msg-{params.run_id}"
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}
        for i, delta in enumerate(["You ", "said: ", text]):
            if i == 1 and gate is not None:
                await asyncio.to_thread(gate.wait, LIVENESS)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}
        yield {"type": "TEXT_MESSAGE_END", "messageId": message_id}
        if "delete" in text:
            call = {"toolCallId": "call-1", "toolCallName": "delete_file"}
            yield {"type": "TOOL_CALL_START", **call, "parentMessageId": message_id}
            yield {"type": "TOOL_CALL_ARGS", "toolCallId": "call-1", "delta": '{"path":"/tmp/x"}'}
            yield {"type": "TOOL_CALL_END", "toolCallId": "call-1"}
            outcome = {"type": "interrupt", "interrupts": [INTERRUPT]}
            yield {"type": "RUN_FINISHED", **ids, "outcome": outcome}
            return
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


class Service:
    def __init__(self, srv: RunningServer, agent: Agent, threads: InMemoryThreadStore) -> None:
        self.srv = srv
        self.agent = agent
        self.threads = threads

    def url(self, route: str = "sse") -> str:
        return f"{self.srv.url}/{route}"


def scope_of(request: Request) -> str:
    return request.headers.get("x-user", "anonymous")


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    agent = Agent()
    threads = InMemoryThreadStore()
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=None, threads=threads)
    bare = DurableRuns(InMemoryStreamLog(), abandon_after=None)  # no thread store
    scoped = DurableRuns(InMemoryStreamLog(), abandon_after=None, threads=InMemoryThreadStore())
    both = ["POST", "GET"]
    app = Starlette(
        routes=[
            Route("/sse", chat_endpoint(agent, durable=runs), methods=both),
            Route("/ndjson", chat_endpoint(agent, framing="ndjson", durable=runs), methods=both),
            Route("/bare", chat_endpoint(agent, durable=bare), methods=both),
            Route(
                "/scoped", chat_endpoint(agent, durable=scoped, run_scope=scope_of), methods=both
            ),
        ]
    )
    with serve(app) as srv:
        yield Service(srv, agent, threads)


def body(text: str, *, thread_id: str, run_id: str, history: Sequence[Any] = ()) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "runId": run_id,
        "state": {},
        "messages": [*history, {"id": f"user-{run_id}", "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }


def sse(data: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    decoder = SSEDecoder()
    return [(m.id, json.loads(m.data)) for m in decoder.feed(data) + decoder.finish()]


def ndjson(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def hydrate(url: str, thread_id: str, **headers: str) -> dict[str, Any]:
    answer = httpx.get(
        url, params={"threadId": thread_id}, headers={"accept": "application/json", **headers}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    document: dict[str, Any] = answer.json()
    assert set(document) == {"messages", "activeRun", "interrupts"}
    return document


def texts(message: Mapping[str, Any]) -> str:
    return "".join(p["content"] for p in message["parts"] if p["type"] == "text")


# --- the run's key ------------------------------------------------------------------------


def test_x_run_id_keys_the_run_over_the_body(service: Service) -> None:
    sent = body("hi", thread_id="t-key", run_id="body-run")
    original = httpx.post(service.url(), json=sent, headers={"X-Run-Id": "header-run"})
    assert original.status_code == 200
    joined = httpx.get(service.url(), params={"offset": "-1", "runId": "header-run"})
    assert joined.status_code == 200 and joined.content == original.content
    by_body = httpx.get(service.url(), params={"offset": "-1", "runId": "body-run"})
    assert by_body.status_code == 404


def test_without_x_run_id_the_query_then_the_body_key_the_run(service: Service) -> None:
    sent = body("hi", thread_id="t-key2", run_id="body-run-2")
    httpx.post(service.url(), params={"runId": "query-run"}, json=sent)
    assert (
        httpx.get(service.url(), params={"offset": "-1", "runId": "query-run"}).status_code == 200
    )
    httpx.post(service.url(), json=body("hi", thread_id="t-key2", run_id="body-run-3"))
    joined = httpx.get(service.url(), params={"offset": "-1", "runId": "body-run-3"})
    assert joined.status_code == 200


def test_a_post_with_last_event_id_replays_the_log_and_does_not_run_the_agent(
    service: Service,
) -> None:
    sent = body("hello", thread_id="t-replay", run_id="run-replay")
    headers = {"X-Run-Id": "run-replay"}
    original = sse(httpx.post(service.url(), json=sent, headers=headers).content)
    before = service.agent.runs
    again = httpx.post(service.url(), json=sent, headers={**headers, "Last-Event-ID": "2"})
    assert again.status_code == 200
    assert sse(again.content) == original[3:]
    assert service.agent.runs == before


# --- joinRun --------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["sse", "ndjson"])
def test_join_run_from_the_start_and_from_an_offset_in_both_framings(
    service: Service, route: str
) -> None:
    run_id = f"run-join-{route}"
    sent = body("hello", thread_id=f"t-join-{route}", run_id=run_id)
    original = httpx.post(service.url(route), json=sent, headers={"X-Run-Id": run_id}).content

    start = httpx.get(service.url(route), params={"offset": "-1", "runId": run_id})
    assert start.status_code == 200 and start.content == original
    after = httpx.get(service.url(route), params={"offset": "3", "runId": run_id})
    if route == "sse":
        assert [i for i, _ in sse(after.content)] == ["4", "5", "6"]
    else:
        assert [e["id"] for e in ndjson(after.content)] == ["4", "5", "6"]

    # The other framing, asked for with Accept: the same events and ids.
    other = "application/x-ndjson" if route == "sse" else "text/event-stream"
    switched = httpx.get(
        service.url(route), params={"offset": "-1", "runId": run_id}, headers={"accept": other}
    )
    assert switched.status_code == 200
    if route == "sse":
        assert switched.headers["content-type"] == "application/x-ndjson"
        events = [(e["id"], e["chunk"]) for e in ndjson(switched.content)]
        assert events == sse(original)
    else:
        assert switched.headers["content-type"] == "text/event-stream"
        events = [(e["id"], e["chunk"]) for e in ndjson(original)]
        assert sse(switched.content) == events

    # 0.33's reconnect of a join: the join URL again, with Last-Event-ID (which wins).
    resumed = httpx.get(
        service.url(route),
        params={"offset": "-1", "runId": run_id},
        headers={"Last-Event-ID": "5", "accept": "text/event-stream"},
    )
    assert [i for i, _ in sse(resumed.content)] == ["6"]


def test_a_join_follows_a_run_that_is_still_producing(service: Service) -> None:
    run_id = "run-live-join"
    gate = service.agent.gates[run_id] = threading.Event()
    sent = body("slow", thread_id="t-live", run_id=run_id)
    seen = b""
    with (
        httpx.Client(timeout=LIVENESS) as client,
        client.stream("POST", service.url(), json=sent, headers={"X-Run-Id": run_id}) as first,
    ):
        for chunk in first.iter_bytes():
            seen += chunk
            if seen.count(b"\n\n") >= 3:
                break
    # The first reader left; the run goes on (detached) and a join sees all of it.
    with (
        httpx.Client(timeout=LIVENESS) as client,
        client.stream("GET", service.url(), params={"offset": "-1", "runId": run_id}) as joined,
    ):
        gate.set()
        events = sse(joined.read())
    assert events[0][1]["type"] == "RUN_STARTED"
    assert events[-1][1]["type"] == "RUN_FINISHED"
    assert [i for i, _ in events] == [str(n) for n in range(len(events))]


@pytest.mark.parametrize("route", ["sse", "ndjson"])
def test_a_get_naming_a_run_without_an_offset_is_a_plain_400(service: Service, route: str) -> None:
    refused = httpx.get(service.url(route), params={"runId": "run-join-sse"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.text == (
        "No resume offset provided (expected a Last-Event-ID header or an ?offset query parameter)."
    )
    # Naming nothing at all is not a read: as before, only POST.
    assert httpx.get(service.url(route)).status_code == 405
    missing = httpx.get(service.url(route), params={"offset": "-1"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_run_id"


@pytest.mark.parametrize("route", ["sse", "ndjson"])
def test_joining_an_unknown_run_is_a_404(service: Service, route: str) -> None:
    unknown = httpx.get(service.url(route), params={"offset": "-1", "runId": "never-started"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "message": "No replay buffer for run 'never-started'",
        "code": "unknown_run",
    }
    gap = httpx.get(service.url(route), params={"offset": "999", "runId": "run-join-sse"})
    assert gap.status_code == 410 and gap.json()["error"]["code"] == "replay_gap"


# --- hydrate ----------------------------------------------------------------------------------


def test_hydrate_during_a_run_names_it_and_after_it_has_the_answer(service: Service) -> None:
    run_id = "run-hydrate"
    gate = service.agent.gates[run_id] = threading.Event()
    sent = body("hello there", thread_id="t-hydrate", run_id=run_id)
    with (
        httpx.Client(timeout=LIVENESS) as client,
        client.stream("POST", service.url(), json=sent, headers={"X-Run-Id": run_id}) as stream,
    ):
        chunks = stream.iter_bytes()
        assert b"RUN_STARTED" in next(chunks)
        during = hydrate(service.url(), "t-hydrate")
        assert during["activeRun"] == {"runId": run_id}
        assert during["interrupts"] is None
        assert [(m["id"], m["role"], texts(m)) for m in during["messages"]] == [
            ("user-run-hydrate", "user", "hello there")
        ]
        gate.set()
        rest = b"".join(chunks)
    assert b"RUN_FINISHED" in rest
    after = hydrate(service.url(), "t-hydrate")
    assert after["activeRun"] is None and after["interrupts"] is None
    assert [(m["role"], texts(m)) for m in after["messages"]] == [
        ("user", "hello there"),
        ("assistant", "You said: hello there"),
    ]
    assert after["messages"][1]["id"] == "msg-run-hydrate"
    # Any route of the same DurableRuns reads the same thread.
    assert hydrate(service.url("ndjson"), "t-hydrate") == after


def test_hydrate_after_an_interrupt_lists_it_until_the_next_run(service: Service) -> None:
    sent = body("please delete it", thread_id="t-interrupt", run_id="run-int")
    httpx.post(service.url("ndjson"), json=sent, headers={"X-Run-Id": "run-int"})
    document = hydrate(service.url(), "t-interrupt")
    assert document["activeRun"] is None
    assert document["interrupts"] == {"runId": "run-int", "pending": [INTERRUPT]}
    assistant = document["messages"][-1]
    calls = [p for p in assistant["parts"] if p["type"] == "tool-call"]
    assert [(c["id"], c["name"], c["arguments"]) for c in calls] == [
        ("call-1", "delete_file", '{"path":"/tmp/x"}')
    ]

    # The answer is a new run on the thread: the interrupt is no longer pending.
    history = [
        {"id": "user-run-int", "role": "user", "content": "please delete it"},
        {"id": "msg-run-int", "role": "assistant", "content": "You said: please delete it"},
    ]
    answer = body("ok", thread_id="t-interrupt", run_id="run-int-2", history=history)
    answer["parentRunId"] = "run-int"
    httpx.post(service.url(), json=answer, headers={"X-Run-Id": "run-int-2"})
    document = hydrate(service.url(), "t-interrupt")
    assert document["interrupts"] is None
    assert [texts(m) for m in document["messages"]] == [
        "please delete it",
        "You said: please delete it",
        "ok",
        "You said: ok",
    ]


def test_hydrate_reads_the_wire_shape_0_33_sends(service: Service) -> None:
    """0.33 sends spec-only anchors: content strings, thinking as a ``reasoning`` entry
    before its assistant message, tool results as ``tool`` entries, createdAt in metadata."""
    stamp = {"tanstack": {"createdAt": "2026-12-05T07:16:15.484Z"}}
    history = [
        {"id": "u0", "role": "user", "content": "weather?", "metadata": stamp},
        {"id": "r0", "role": "reasoning", "content": "Let me look."},
        {
            "id": "a0",
            "role": "assistant",
            "content": "Checking.",
            "toolCalls": [
                {
                    "id": "c0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"id": "tool-c0", "role": "tool", "toolCallId": "c0", "content": '{"temp":3}'},
    ]
    sent = body("thanks", thread_id="t-wire", run_id="run-wire", history=history)
    httpx.post(service.url(), json=sent, headers={"X-Run-Id": "run-wire"})
    messages = hydrate(service.url(), "t-wire")["messages"]
    assert [(m["id"], m["role"]) for m in messages] == [
        ("u0", "user"),
        ("a0", "assistant"),
        ("user-run-wire", "user"),
        ("msg-run-wire", "assistant"),
    ]
    assert messages[0]["createdAt"] == "2026-12-05T07:16:15.484Z"
    assert [p["type"] for p in messages[1]["parts"]] == [
        "thinking",
        "text",
        "tool-call",
        "tool-result",
    ]
    call = messages[1]["parts"][2]
    assert call["output"] == {"temp": 3}


def test_hydrate_of_an_unknown_thread_is_empty_and_without_a_store_is_501(
    service: Service,
) -> None:
    assert hydrate(service.url(), "t-never") == {
        "messages": [],
        "activeRun": None,
        "interrupts": None,
    }
    refused = httpx.get(service.url("bare"), params={"threadId": "t-any"})
    assert refused.status_code == 501
    assert refused.json()["error"]["code"] == "no_thread_store"


def test_threads_are_kept_per_run_scope(service: Service) -> None:
    sent = body("secret", thread_id="t-shared-name", run_id="run-alice")
    alice = {"X-User": "alice", "X-Run-Id": "run-alice"}
    httpx.post(service.url("scoped"), json=sent, headers=alice)
    mine = hydrate(service.url("scoped"), "t-shared-name", **{"X-User": "alice"})
    assert [texts(m) for m in mine["messages"]] == ["secret", "You said: secret"]
    theirs = hydrate(service.url("scoped"), "t-shared-name", **{"X-User": "mallory"})
    assert theirs["messages"] == []
    join = {"offset": "-1", "runId": "run-alice"}
    assert (
        httpx.get(service.url("scoped"), params=join, headers={"X-User": "mallory"}).status_code
        == 404
    )
    assert (
        httpx.get(service.url("scoped"), params=join, headers={"X-User": "alice"}).status_code
        == 200
    )


class BrokenStore:
    """A ThreadStore that fails at everything: the runs must not notice."""

    def __init__(self) -> None:
        self.calls = 0

    async def run_started(
        self, thread_id: str, run_id: str, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        self.calls += 1
        raise ConnectionError("store down")

    async def run_ended(
        self,
        thread_id: str,
        run_id: str,
        messages: Sequence[Mapping[str, Any]],
        interrupts: PendingInterrupts | None,
    ) -> None:
        self.calls += 1
        raise ConnectionError("store down")

    async def load(self, thread_id: str) -> ThreadRecord | None:
        # A run the log does not know: hydrate must not send a client to re-join it.
        return ThreadRecord(messages=[], active_run="ghost-run")


def test_a_failing_store_never_fails_a_run_and_a_lost_run_is_not_active(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = BrokenStore()
    assert isinstance(store, ThreadStore)
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=None, threads=store)
    app = Starlette(
        routes=[Route("/", chat_endpoint(Agent(), durable=runs), methods=["POST", "GET"])]
    )
    with serve(app) as srv:
        answer = httpx.post(srv.url, json=body("hi", thread_id="t-b", run_id="run-b"))
        events = [e for _, e in sse(answer.content)]
        assert events[-1]["type"] == "RUN_FINISHED"
        assert store.calls == 2
        assert hydrate(srv.url, "t-b")["activeRun"] is None
    assert "store down" in caplog.text


# --- the in-memory store's bounds ---------------------------------------------------------------


def message(i: int, size: int = 10) -> dict[str, Any]:
    return {"id": f"m{i}", "role": "user", "parts": [{"type": "text", "content": "x" * size}]}


async def test_the_store_keeps_at_most_max_threads_least_recently_used_first() -> None:
    store = InMemoryThreadStore(max_threads=2)
    assert isinstance(store, ThreadStore)
    await store.run_started("a", "r1", [message(1)])
    await store.run_started("b", "r2", [message(2)])
    assert await store.load("a") is not None  # a is now more recent than b
    await store.run_started("c", "r3", [message(3)])
    assert len(store) == 2
    assert await store.load("b") is None
    assert await store.load("a") is not None and await store.load("c") is not None


async def test_threads_expire_after_ttl_without_use() -> None:
    store = InMemoryThreadStore(ttl=0.05)
    await store.run_started("a", "r1", [message(1)])
    await asyncio.sleep(0.1)
    assert await store.load("a") is None
    assert store.total_bytes == 0 and len(store) == 0


async def test_a_thread_over_its_byte_bound_keeps_its_newest_messages() -> None:
    one = len(json.dumps(message(0, 100), separators=(",", ":")))
    store = InMemoryThreadStore(max_bytes_per_thread=3 * one + 10)
    await store.run_started("a", "r1", [message(i, 100) for i in range(10)])
    record = await store.load("a")
    assert record is not None
    assert [m["id"] for m in record.messages] == ["m7", "m8", "m9"]
    assert store.total_bytes <= 3 * one + 10
    # Interrupts that would crowd out the transcript are not kept; the messages still are.
    huge = PendingInterrupts("r1", [{"id": "i", "message": "y" * (4 * one)}])
    await store.run_ended("a", "r1", [message(1, 10)], huge)
    record = await store.load("a")
    assert record is not None and record.interrupts is None
    assert [m["id"] for m in record.messages] == ["m1"]
    small = PendingInterrupts("r1", [INTERRUPT])
    await store.run_ended("a", "r1", [message(i, 100) for i in range(10)], small)
    record = await store.load("a")
    assert record is not None and record.interrupts == small
    kept = [m["id"] for m in record.messages]
    assert kept and kept == [f"m{i}" for i in range(10 - len(kept), 10)]  # the newest
    assert store.total_bytes <= store.max_bytes_per_thread


async def test_all_threads_together_stay_under_max_total_bytes() -> None:
    one = len(json.dumps(message(0, 1000), separators=(",", ":")))
    store = InMemoryThreadStore(max_bytes_per_thread=one + 100, max_total_bytes=3 * (one + 100))
    for name in "abcdefgh":
        await store.run_started(name, f"r-{name}", [message(0, 1000)])
        assert store.total_bytes <= store.max_total_bytes
    assert len(store) == 3
    assert [await store.load(n) is not None for n in "fgh"] == [True, True, True]


async def test_the_end_of_an_older_run_does_not_overwrite_a_newer_one() -> None:
    store = InMemoryThreadStore()
    await store.run_started("t", "r1", [message(1)])
    await store.run_started("t", "r2", [message(1), message(2)])
    await store.run_ended("t", "r1", [message(1), message(9)], PendingInterrupts("r1", [INTERRUPT]))
    record = await store.load("t")
    assert record == ThreadRecord(messages=[message(1), message(2)], active_run="r2")
    await store.run_ended("t", "r2", [message(1), message(2), message(3)], None)
    record = await store.load("t")
    assert record is not None and record.active_run is None
    assert [m["id"] for m in record.messages] == ["m1", "m2", "m3"]
    assert record.to_json() == {
        "messages": record.messages,
        "activeRun": None,
        "interrupts": None,
    }
    # A thread evicted while its run ran is written again at the end.
    await store.run_ended("gone", "r9", [message(9)], PendingInterrupts("r9", [INTERRUPT]))
    record = await store.load("gone")
    assert record is not None and record.interrupts == PendingInterrupts("r9", [INTERRUPT])
    assert record.to_json()["interrupts"] == {"runId": "r9", "pending": [INTERRUPT]}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_threads": 0},
        {"max_bytes_per_thread": 0},
        {"max_bytes_per_thread": 10, "max_total_bytes": 5},
        {"ttl": 0},
    ],
)
def test_the_store_refuses_nonsense_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        InMemoryThreadStore(**kwargs)


def test_the_store_bounds_are_cheap_to_check() -> None:
    """Thousands of threads cost milliseconds: no scan per write beyond the expired ones."""
    store = InMemoryThreadStore(max_threads=1000)

    async def fill() -> None:
        for i in range(5000):
            await store.run_started(f"t{i}", f"r{i}", [message(i)])

    started = time.perf_counter()
    asyncio.run(fill())
    assert len(store) == 1000
    assert time.perf_counter() - started < 5
