"""Our durable routes against the REAL ``@tanstack/ai-client@0.33.2`` ``ChatClient``.

The demo app with ``durable=True`` (an in-memory log and thread store) behind
``ts033_client.mjs``, in both framings: a normal turn (ids the client tracks, keyed by
its ``X-Run-Id``); ``joinRun`` of that run by id from a second client (what a reload
mid-run does); ``hydrate`` (``persistence: true``) restoring the conversation, after a
run and during one (the client then re-joins the active run); an unknown run.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chatconduit.demo import create_app
from interop_current.harness import (
    events_of,
    require_node_modules,
    run_node_script,
    run_ts033_client,
)
from servers import RunningServer, serve

pytestmark = pytest.mark.interop

TIMEOUT = 60


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    require_node_modules()
    with serve(create_app(durable=True, delay=0)) as srv:
        yield srv


@pytest.fixture(scope="module")
def slow_demo() -> Iterator[RunningServer]:
    """Words 50 ms apart: a run lasts seconds, long enough to be found still running."""
    require_node_modules()
    with serve(create_app(durable=True, delay=0.05)) as srv:
        yield srv


def route(srv: RunningServer, transport: str) -> str:
    return f"{srv.url}/api/chat/{transport}"


def rejoin(url: str, transport: str, run_id: str, thread_id: str) -> dict[str, Any]:
    """A fresh 0.33 client told to re-join ``run_id`` (``initialResumeSnapshot``)."""
    config = {
        "url": url,
        "transport": transport,
        "rejoinRunId": run_id,
        "threadId": thread_id,
        "timeoutMs": (TIMEOUT - 10) * 1000,
    }
    report = run_node_script(
        "ts033_client.mjs", ["--config", "-"], stdin=json.dumps(config), timeout=TIMEOUT
    )
    assert not report["timedOut"] and not report["harnessError"], report["harnessError"]
    return report


def start_and_leave(url: str, run_id: str, thread_id: str, text: str) -> None:
    """Another tab: POST the run, read its first event, go away (the run goes on)."""
    body = {
        "threadId": thread_id,
        "runId": run_id,
        "state": {},
        "messages": [{"id": f"u-{run_id}", "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    started = threading.Event()

    def tab() -> None:
        with (
            httpx.Client(timeout=TIMEOUT) as client,
            client.stream("POST", url, json=body, headers={"X-Run-Id": run_id}) as response,
        ):
            assert response.status_code == 200
            next(response.iter_bytes())
            started.set()

    thread = threading.Thread(target=tab)
    thread.start()
    assert started.wait(TIMEOUT)
    thread.join(TIMEOUT)


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (m["role"], "".join(p["content"] for p in m["parts"] if p["type"] == "text"))
        for m in messages
    ]


def assert_clean(report: dict[str, Any]) -> None:
    assert report["status"] == "ready", report["error"]
    assert report["error"] is None and report["onErrorCalls"] == []
    assert report["warnings"] == []


@pytest.mark.parametrize("transport", ["sse", "ndjson"])
def test_a_turn_then_join_run_then_hydrate(demo: RunningServer, transport: str) -> None:
    url = route(demo, transport)
    thread_id = f"thread-durable-{transport}"

    first = run_ts033_client(url, transport, ["Hello"], thread_id=thread_id, timeout=TIMEOUT)
    assert_clean(first)
    assert [role for role, _ in texts(first["messages"])] == ["user", "assistant"]
    answer = texts(first["messages"])[1][1]
    assert "> Hello" in answer
    (post,) = first["requests"]
    run_id = post["headers"]["x-run-id"]
    assert run_id == post["body"]["runId"]
    # Durable ids in our form, which the client tracks (and would send back to resume).
    if transport == "sse":
        assert re.search(r"^id: 0$", post["responseBody"], re.MULTILINE)
    else:
        assert json.loads(post["responseBody"].splitlines()[0])["id"] == "0"

    # A second client re-joins that run by id: the whole run, replayed from the log.
    joined = rejoin(url, transport, run_id, thread_id)
    assert_clean(joined)
    (get,) = joined["requests"]
    assert get["method"] == "GET"
    assert get["url"] == f"{url}?offset=-1&runId={run_id}"
    assert get["status"] == 200
    assert get["responseBody"] == post["responseBody"]
    assert texts(joined["messages"]) == [("assistant", answer)]

    # A third client with persistence: true hydrates the thread, then goes on with it.
    hydrated = run_ts033_client(
        url, transport, ["Second"], thread_id=thread_id, persistence="server", timeout=TIMEOUT
    )
    assert_clean(hydrated)
    get, post2 = hydrated["requests"]
    assert get["url"] == f"{url}?threadId={thread_id}"
    assert get["headers"]["accept"] == "application/json"
    assert get["status"] == 200
    document = json.loads(get["responseBody"])
    assert document["activeRun"] is None and document["interrupts"] is None
    assert texts(document["messages"]) == texts(first["messages"])
    # The restored conversation went out with the next turn, which the agent counted.
    assert [m["id"] for m in post2["body"]["messages"][:2]] == [m["id"] for m in first["messages"]]
    final = texts(hydrated["messages"])
    assert final[:2] == texts(first["messages"])
    assert final[2] == ("user", "Second")
    assert "turn 2" in final[3][1]


@pytest.mark.parametrize("transport", ["sse", "ndjson"])
def test_hydrate_during_a_run_rejoins_it(slow_demo: RunningServer, transport: str) -> None:
    url = route(slow_demo, transport)
    thread_id = f"thread-live-{transport}"
    run_id = f"run-live-{transport}"
    start_and_leave(url, run_id, thread_id, "Hello from afar")

    report = run_ts033_client(url, transport, [], thread_id=thread_id, persistence="server")
    assert_clean(report)
    hydrate, join = report["requests"]
    document = json.loads(hydrate["responseBody"])
    assert document["activeRun"] == {"runId": run_id}
    assert texts(document["messages"]) == [("user", "Hello from afar")]
    assert join["url"] == f"{url}?offset=-1&runId={run_id}"
    events = events_of(join["responseBody"], transport)
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    messages = texts(report["messages"])
    assert [role for role, _ in messages] == ["user", "assistant"]
    assert "> Hello from afar" in messages[1][1]

    # After the run: the thread holds the answer, and no run is active.
    after = httpx.get(url, params={"threadId": thread_id}).json()
    assert after["activeRun"] is None
    assert texts(after["messages"]) == messages


@pytest.mark.parametrize("transport", ["sse", "ndjson"])
def test_joining_an_unknown_run_leaves_the_client_ready(
    demo: RunningServer, transport: str
) -> None:
    report = rejoin(route(demo, transport), transport, "run-never-started", "thread-unknown")
    (get,) = report["requests"]
    assert get["status"] == 404
    # 0.33 reads a refused join as "nothing to re-join": it drops the pointer, no error.
    assert_clean(report)
    assert report["resumeState"] is None
    assert report["messages"] == []


def test_ws_a_turn_then_join_run_on_a_socket(demo: RunningServer) -> None:
    """The real ``webSocket()``: a turn on our durable socket route, then a second client's
    ``joinRun`` opens ``?offset=-1&runId=`` and reads the same frames, closed 1000."""
    url = demo.ws_url("/api/chat/ws")
    first = run_ts033_client(url, "ws", ["Hello"], thread_id="thread-durable-ws", timeout=TIMEOUT)
    assert_clean(first)
    (sent,) = first["requests"]
    run_id = sent["body"]["runId"]
    assert all(set(json.loads(f)) == {"id", "chunk"} for f in sent["responseFrames"])
    answer = texts(first["messages"])[1][1]
    assert "> Hello" in answer

    joined = rejoin(url, "ws", run_id, "thread-durable-ws")
    assert_clean(joined)
    (sock,) = joined["sockets"]
    assert parse_qs(urlsplit(sock["url"]).query) == {"offset": ["-1"], "runId": [run_id]}
    assert [data for way, data in sock["frames"] if way == "in"] == sent["responseFrames"]
    assert sock["closed"]["code"] == 1000
    assert texts(joined["messages"]) == [("assistant", answer)]
