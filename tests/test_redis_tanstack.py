"""The REAL ``@tanstack/ai-client@0.33.2`` ``hydrate`` and ``joinRun`` against a replica
that did not start the run.

Two ``chatconduit serve --redis-url`` replicas share one ``redis-server``. A tab starts a
run on replica A and goes away after its first event (the run goes on); the 0.33 client
(``persistence: true``), pointed at replica B, hydrates the thread (B reads it from
Redis: the run is active), re-joins the run on B and paints the whole answer. Once the
run is over, a reload re-joins it from each replica: the two responses are the same
bytes, and B's hydrate holds the finished conversation. Driven with the helpers of
``interop_current/test_server_durable_current.py`` (the same client script, the same
checks), not copies of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from interop_current.harness import events_of, require_node_modules, run_ts033_client
from interop_current.test_server_durable_current import (
    TIMEOUT,
    assert_clean,
    rejoin,
    start_and_leave,
    texts,
)
from redis_support import Replica, redis_server, serve_replica

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[Replica, Replica]]:
    require_node_modules()
    with (
        redis_server() as redis,
        serve_replica(redis.url, delay=0.05) as a,
        serve_replica(redis.url, delay=0.05) as b,
    ):
        yield a, b


@pytest.mark.parametrize("transport", ["sse", "ndjson"])
def test_hydrate_and_join_run_on_a_replica_that_did_not_start_the_run(
    replicas: tuple[Replica, Replica], transport: str
) -> None:
    a, b = replicas
    on_a, on_b = a.chat(transport), b.chat(transport)
    thread_id, run_id = f"thread-redis-{transport}", f"run-redis-{transport}"
    start_and_leave(on_a, run_id, thread_id, "Hello from replica A")

    # The 0.33 client on B, mid-run: hydrate says the run is active, then joins it on B.
    report = run_ts033_client(
        on_b, transport, [], thread_id=thread_id, persistence="server", timeout=TIMEOUT
    )
    assert_clean(report)
    hydrate, join = report["requests"]
    document = json.loads(hydrate["responseBody"])
    assert hydrate["url"] == f"{on_b}?threadId={thread_id}"
    assert document["activeRun"] == {"runId": run_id}
    assert texts(document["messages"]) == [("user", "Hello from replica A")]
    assert join["url"] == f"{on_b}?offset=-1&runId={run_id}" and join["status"] == 200
    events = events_of(join["responseBody"], transport)
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    messages = texts(report["messages"])
    assert [role for role, _ in messages] == ["user", "assistant"]
    assert "> Hello from replica A" in messages[1][1]

    # After the run: a reload re-joins it from either replica, byte for byte the same.
    from_b = rejoin(on_b, transport, run_id, thread_id)
    from_a = rejoin(on_a, transport, run_id, thread_id)
    assert_clean(from_b)
    (get_b,), (get_a,) = from_b["requests"], from_a["requests"]
    assert get_b["status"] == get_a["status"] == 200
    assert get_b["responseBody"] == get_a["responseBody"]
    assert texts(from_b["messages"]) == [messages[1]]

    # And B's hydrate now holds the finished conversation, no active run.
    after = httpx.get(on_b, params={"threadId": thread_id}, timeout=TIMEOUT).json()
    assert after["activeRun"] is None
    assert texts(after["messages"]) == messages
