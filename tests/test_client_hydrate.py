"""``ChatClient.hydrate`` and ``ChatClient.join_run`` against the durable demo server.

Over a real uvicorn on loopback (``chatconduit.demo.create_app(durable=True)``): a
second client with the same thread id hydrates the conversation a first one had; a
run still producing is joined mid-way and ends with the whole answer; an interrupt the
thread's last run paused on is surfaced as a live one is; an adapter without
``join_run`` / ``hydrate`` is a ``TypeError`` naming what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from chatconduit import (
    ChatClient,
    ChatStatus,
    SyncChatClient,
    fetch_http_stream,
    fetch_server_sent_events,
    stream,
)
from chatconduit._processor import ApprovalRequest
from chatconduit.demo import create_app
from chatconduit.server import RunAgentInput
from servers import RunningServer, serve

SSE = "/api/chat/sse"
NDJSON = "/api/chat/ndjson"
LIVENESS = 10.0


def texts(client: ChatClient | SyncChatClient) -> list[tuple[str, str]]:
    return [
        (m.role, "".join(p.content for p in m.parts if p.type == "text")) for m in client.messages
    ]


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(create_app(delay=0, durable=True, heartbeat=0)) as srv:
        yield srv


class GatedAgent:
    """Answers ``You said: <text>`` in three deltas, and waits after the first one until
    the test opens the gate (test and server run in different threads), so that "the run
    is still producing" is certain, not timed."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.gate = threading.Event()

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        users = [m for m in params.model_messages if m.role == "user"]
        text = users[-1].content if users else None
        message_id = f"msg-{params.run_id}"
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}
        for i, delta in enumerate(["You ", "said: ", text if isinstance(text, str) else "?"]):
            if i == 1:
                self.reached.set()
                await asyncio.to_thread(self.gate.wait, LIVENESS)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}
        yield {"type": "TEXT_MESSAGE_END", "messageId": message_id}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


async def test_a_second_client_hydrates_the_conversation(demo: RunningServer) -> None:
    async with ChatClient(fetch_server_sent_events(demo.url + SSE), thread_id="t-a") as first:
        reply = await first.send_message("hello")
        assert reply is not None and first.status is ChatStatus.READY
        seen = texts(first)
    assert [role for role, _ in seen] == ["user", "assistant"] and "hello" in seen[1][1]

    async with ChatClient(fetch_http_stream(demo.url + NDJSON), thread_id="t-a") as second:
        thread = await second.hydrate()
        assert thread.active_run is None and thread.interrupts is None
        assert texts(second) == seen
        assert second.status is ChatStatus.READY and second.error is None
        # The conversation goes on from there: the server sees the whole history.
        assert await second.send_message("think about rivers") is not None
        assert [role for role, _ in texts(second)] == ["user", "assistant"] * 2

    # Another thread id given to hydrate() becomes the client's.
    async with ChatClient(fetch_server_sent_events(demo.url + SSE)) as third:
        await third.hydrate("t-a")
        assert third.thread_id == "t-a" and len(third.messages) == 4


async def test_hydrating_an_unknown_thread_gives_an_empty_conversation(
    demo: RunningServer,
) -> None:
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "old"}]}
    async with ChatClient(
        fetch_server_sent_events(demo.url + SSE), thread_id="t-none", initial_messages=[user]
    ) as client:
        thread = await client.hydrate()
        assert thread.messages == [] and list(client.messages) == []


async def test_a_run_joined_mid_way_ends_with_the_whole_answer() -> None:
    agent = GatedAgent()
    with serve(create_app(agent=agent, durable=True, heartbeat=0)) as srv:
        statuses: list[ChatStatus] = []
        first = ChatClient(fetch_server_sent_events(srv.url + SSE), thread_id="t-join")
        second = ChatClient(
            fetch_http_stream(srv.url + NDJSON),
            thread_id="t-join",
            on_status_change=statuses.append,
        )
        async with first, second:
            sending = asyncio.create_task(first.send_message("hello there"))
            assert await asyncio.to_thread(agent.reached.wait, LIVENESS)
            hydrating = asyncio.create_task(second.hydrate())
            # The join replays the run so far: the first delta arrives, then it waits.
            async with asyncio.timeout(LIVENESS), contextlib.aclosing(second.updates()) as updates:
                async for _ in updates:
                    if texts(second)[-1:] == [("assistant", "You ")]:
                        break
            assert second.status is ChatStatus.STREAMING and second.is_loading
            agent.gate.set()
            async with asyncio.timeout(LIVENESS):
                thread = await hydrating
                reply = await sending
            assert thread.active_run is not None
            assert thread.active_run == thread.active_run.strip()
            expected = [("user", "hello there"), ("assistant", "You said: hello there")]
            assert texts(first) == expected and texts(second) == expected
            assert reply is not None and second.messages[-1].id == reply.id
            assert second.status is ChatStatus.READY and second.error is None
            assert statuses == [ChatStatus.SUBMITTED, ChatStatus.STREAMING, ChatStatus.READY]
            # A finished run can be joined again: the replay replaces its copy.
            again = await second.join_run(thread.active_run)
            assert again is not None and texts(second) == expected


async def test_a_pending_approval_is_surfaced_and_answered(demo: RunningServer) -> None:
    # The run is started the way a 0.33 client does (a spec-only body), so the server
    # answers in the current dialect and the run pauses on an approval interrupt.
    body = {
        "threadId": "t-ap",
        "runId": "run-ap",
        "state": {},
        "messages": [{"id": "u-ap", "role": "user", "content": "delete_file notes.txt"}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    async with httpx.AsyncClient(timeout=LIVENESS) as http:
        answer = await http.post(demo.url + SSE, json=body, headers={"X-Run-Id": "run-ap"})
    assert b'"interrupt"' in answer.content
    asked: list[ApprovalRequest] = []
    async with ChatClient(
        fetch_server_sent_events(demo.url + SSE), thread_id="t-ap", on_approval_request=asked.append
    ) as second:
        thread = await second.hydrate()
        assert thread.interrupts is not None and thread.active_run is None
        assert [a.tool_name for a in asked] == ["delete_file"]
        reply = await second.add_tool_approval_response(asked[0].approval_id, True)
        assert reply is not None and second.status is ChatStatus.READY
        assert second.error is None and "notes.txt" in texts(second)[-1][1]
    async with ChatClient(fetch_server_sent_events(demo.url + SSE), thread_id="t-ap") as third:
        assert (await third.hydrate()).interrupts is None  # the answer ended the pause


async def test_an_adapter_without_join_run_or_hydrate_is_a_type_error() -> None:
    client = ChatClient(stream(lambda messages, data: iter(())))
    with pytest.raises(TypeError, match=r"has no hydrate\(\)"):
        await client.hydrate()
    with pytest.raises(TypeError, match=r"has no join_run\(\)"):
        await client.join_run("run-1")
    assert client.status is ChatStatus.READY and list(client.messages) == []
    await client.aclose()


async def test_mapping_and_push_adapters_pass_them_through(demo: RunningServer) -> None:
    http = fetch_server_sent_events(demo.url + SSE)
    async with ChatClient(fetch_server_sent_events(demo.url + SSE), thread_id="t-map") as c:
        await c.send_message("hello")
    mapping = {"connect": http.connect, "hydrate": http.hydrate, "join_run": http.join_run}
    async with ChatClient(mapping, thread_id="t-map") as client:
        await client.hydrate()
        assert len(client.messages) == 2

    async def subscribe(signal: Any) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield {}

    async def send(*args: Any) -> None:
        return None

    push = {"subscribe": subscribe, "send": send, "hydrate": http.hydrate}
    async with ChatClient(push, thread_id="t-map") as client:
        await client.hydrate()
        assert len(client.messages) == 2
        with pytest.raises(TypeError, match=r"has no join_run\(\)"):
            await client.join_run("run-1")
    await http.aclose()


def test_sync_client_hydrates(demo: RunningServer) -> None:
    with SyncChatClient(fetch_server_sent_events(demo.url + SSE), thread_id="t-sync") as first:
        first.send_message("hello")
        seen = texts(first)
    with SyncChatClient(fetch_http_stream(demo.url + NDJSON), thread_id="t-sync") as second:
        thread = second.hydrate()
        assert thread.active_run is None and texts(second) == seen


async def test_joining_an_unknown_run_fails_like_a_turn(demo: RunningServer) -> None:
    errors: list[BaseException] = []
    async with ChatClient(fetch_server_sent_events(demo.url + SSE), on_error=errors.append) as c:
        assert await c.join_run("run-unknown") is None
        assert c.status is ChatStatus.ERROR and c.error is not None and errors == [c.error]
        with pytest.raises(type(c.error)):
            await c.join_run("run-unknown", raise_on_error=True)


async def test_stop_during_a_join_keeps_the_partial_reply() -> None:
    agent = GatedAgent()
    with serve(create_app(agent=agent, durable=True, heartbeat=0)) as srv:
        first = ChatClient(fetch_server_sent_events(srv.url + SSE), thread_id="t-stop")
        second = ChatClient(fetch_server_sent_events(srv.url + SSE), thread_id="t-stop")
        async with first, second:
            sending = asyncio.create_task(first.send_message("hi"))
            assert await asyncio.to_thread(agent.reached.wait, LIVENESS)
            thread = await second.adapter.hydrate("t-stop")  # type: ignore[attr-defined]
            assert thread.active_run is not None
            joining = asyncio.create_task(second.join_run(thread.active_run))
            async with asyncio.timeout(LIVENESS), contextlib.aclosing(second.updates()) as updates:
                async for _ in updates:
                    if texts(second)[-1:] == [("assistant", "You ")]:
                        break
            second.stop()
            assert await joining is not None
            assert second.status is ChatStatus.READY and texts(second)[-1] == ("assistant", "You ")
            agent.gate.set()
            async with asyncio.timeout(LIVENESS):
                await sending
            assert texts(first)[-1] == ("assistant", "You said: hi")
