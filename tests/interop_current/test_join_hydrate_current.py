"""``X-Run-Id``, ``join_run`` and ``hydrate`` against the REAL ``@tanstack/ai@0.58.0`` server.

``ts058_server.mjs`` (see README.md) puts the package's durable helpers behind
``/{sse,ndjson}/durable`` (``memoryStream``: the log is keyed by ``X-Run-Id``) and a
harness-made hydrate route (0.58 ships none) of the shape the 0.33 client reads.
The 0.33 client itself is run for the hydrate request it makes, to compare ours with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import HydratedThread, RunContext, fetch_http_stream, fetch_server_sent_events
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit._messages import message_to_dict
from chatconduit.events import RunErrorEvent, event_to_dict
from interop_current.harness import (
    Ts058Server,
    require_node_modules,
    run_ts033_client,
    ts058_server,
)

pytestmark = pytest.mark.interop

APPROVAL = 'delete_file {"path": "/tmp/demo.txt"}'


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    with ts058_server() as srv:
        yield srv


def user(text: str) -> list[dict[str, Any]]:
    return [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": text}]}]


def adapter(framing: str, url: str) -> HTTPStreamAdapter:
    return fetch_server_sent_events(url) if framing == "sse" else fetch_http_stream(url)


async def collect(stream: Any) -> list[dict[str, Any]]:
    return [event_to_dict(event) async for event in stream]


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_our_run_id_keys_the_durable_run_so_a_second_adapter_can_join_it(
    server: Ts058Server, framing: str
) -> None:
    run_id = f"run-ours-join-{framing}"
    url = f"{server.url}/{framing}/durable"
    # Slow enough that the join starts while the model is still producing.
    ctx = RunContext(thread_id=f"thread-{run_id}", run_id=run_id, forwarded_props={"delayMs": 20})
    async with adapter(framing, url) as posting, adapter(framing, url) as joining:
        stream = posting.connect(user("Hello there"), None, None, ctx)
        first = event_to_dict(await anext(stream))
        joined_live = await collect(joining.join_run(run_id))  # by OUR id, mid-run
        original = [first, *await collect(stream)]
        joined_after = await collect(joining.join_run(run_id))  # and once it has ended

    assert first == {**first, "type": "CUSTOM", "name": "run.accepted"}
    assert original[-1]["type"] == "RUN_FINISHED"
    assert joined_live == original
    assert joined_after == original
    post, *gets = [r for r in server.requests() if r["path"] == f"/{framing}/durable"]
    assert post["method"] == "POST" and post["headers"]["x-run-id"] == run_id
    assert post["body"]["runId"] == run_id
    assert [(g["method"], g["query"]) for g in gets] == [
        ("GET", {"offset": "-1", "runId": run_id}),
        ("GET", {"offset": "-1", "runId": run_id}),
    ]


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_of_a_finished_run_equals_the_original_stream(
    server: Ts058Server, framing: str
) -> None:
    run_id = f"run-ours-finished-{framing}"
    url = f"{server.url}/{framing}/durable"
    ctx = RunContext(thread_id="thread-finished", run_id=run_id)
    async with adapter(framing, url) as client:
        original = await collect(client.connect(user("Please think about it"), None, None, ctx))
        joined = await collect(client.join_run(run_id))
        # From an offset: strictly after it (the ids are memoryStream's, seq from 1).
        after_three = await collect(client.join_run(run_id, offset=f"memory:v1:{run_id}:3"))

    assert [e["type"] for e in original][:2] == ["CUSTOM", "RUN_STARTED"]
    assert original[-1]["type"] == "RUN_FINISHED"
    assert joined == original
    assert after_three == original[3:]


async def test_join_run_of_a_failed_run_ends_with_its_run_error(server: Ts058Server) -> None:
    run_id = "run-ours-boom"
    url = f"{server.url}/sse/durable"
    async with fetch_server_sent_events(url) as client:
        original = await collect(
            client.connect(user("boom"), None, None, RunContext(thread_id="t", run_id=run_id))
        )
        joined = await collect(client.join_run(run_id))

    assert original[-1] == {**original[-1], "type": "RUN_ERROR", "code": "model_error"}
    # 0.58 does not log its own terminal RUN_ERROR (it is untagged) and writes it anew
    # for every reader, with that moment's timestamp: compare it without the clock.
    assert joined[:-1] == original[:-1]
    assert {**joined[-1], "timestamp": 0} == {**original[-1], "timestamp": 0}


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_of_an_unknown_run_yields_the_helpers_run_error(
    server: Ts058Server, framing: str
) -> None:
    async with adapter(framing, f"{server.url}/{framing}/durable") as client:
        events = [e async for e in client.join_run(f"run-nobody-{framing}")]

    (event,) = events
    assert isinstance(event, RunErrorEvent)
    assert "produced no data" in (event.message or "")


async def test_hydrate_reads_the_thread_as_the_033_client_does(server: Ts058Server) -> None:
    thread_id = "thread-ours-hydrate"
    url = f"{server.url}/sse/chat"
    ctx = RunContext(thread_id=thread_id, run_id="run-ours-hydrate")
    async with fetch_server_sent_events(url) as client:
        streamed = await collect(client.connect(user(APPROVAL), None, None, ctx))
        ours = await client.hydrate(thread_id)
    interrupts = streamed[-1]["outcome"]["interrupts"]

    # The real 0.33 client hydrating the same thread (persistence: true, on attach()).
    report = await asyncio.to_thread(
        run_ts033_client, url, "sse", [], thread_id=thread_id, persistence="server"
    )

    assert isinstance(ours, HydratedThread)
    assert [message_to_dict(m) for m in ours.messages] == report["messages"]
    assert ours.active_run is None
    assert ours.interrupts is not None
    assert ours.interrupts.run_id == "run-ours-hydrate"
    assert ours.interrupts.pending == interrupts
    assert [i["id"] for i in report["interrupts"]] == [i["id"] for i in interrupts]
    hydrates = [r for r in server.requests() if r["method"] == "GET" and r["query"].get("threadId")]
    theirs, mine = hydrates[-1], hydrates[-2]  # ours ran first
    assert mine["query"] == theirs["query"] == {"threadId": thread_id}
    assert mine["headers"]["accept"] == theirs["headers"]["accept"] == "application/json"


async def test_hydrate_names_a_run_still_producing(server: Ts058Server) -> None:
    thread_id = "thread-ours-active"
    url = f"{server.url}/ndjson/durable"
    ctx = RunContext(thread_id=thread_id, run_id="run-ours-active", forwarded_props={"delayMs": 20})
    async with fetch_http_stream(url) as client:
        stream = client.connect(user("Hello"), None, None, ctx)
        await anext(stream)
        while_running = await client.hydrate(thread_id)
        rest = await collect(stream)
        afterwards = await client.hydrate(thread_id)

    assert while_running.active_run == "run-ours-active"
    assert rest[-1]["type"] == "RUN_FINISHED"
    assert afterwards.active_run is None and afterwards.interrupts is None
    assert [m.role for m in afterwards.messages] == ["user", "assistant"]
    assert afterwards.messages[-1].parts[0].to_dict() == {
        "type": "text",
        "content": 'You said: "Hello"',
    }


async def test_hydrate_of_an_unknown_thread_is_empty(server: Ts058Server) -> None:
    async with fetch_server_sent_events(f"{server.url}/sse/chat") as client:
        thread = await client.hydrate("thread-nobody")

    assert thread == HydratedThread(messages=[])
