"""ChatClient over real HTTP (uvicorn on a loopback socket): what the server sees.

The app is a few lines of Starlette writing TanStack 0.10 frames by hand, so these
tests depend only on the client and the transports.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    ChatConnectionStatus,
    ChatStatus,
    TextPart,
    Tool,
    fetch_http_stream,
    fetch_server_sent_events,
)
from cyclic_garbage import no_cyclic_garbage
from servers import RunningServer, serve


def frame(framing: str, event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return b"data: " + data + b"\n\n" if framing == "sse" else data + b"\n"


class ChatApp:
    """``/slow/{framing}``: an endless reply (one delta every 10 ms) that records when
    the client goes away. ``/chat/{framing}``: echoes the last user text; when a client
    tool is advertised and named in it, calls that tool first (client side)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.closed = threading.Event()  # the slow stream's generator was closed
        self.completed = threading.Event()  # ... or ran to its end

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/slow/{framing}", self.slow, methods=["POST"]),
                Route("/chat/{framing}", self.chat, methods=["POST"]),
            ]
        )

    async def slow(self, request: Request) -> StreamingResponse:
        framing = request.path_params["framing"]
        self.bodies.append(json.loads(await request.body()))

        async def body() -> AsyncIterator[bytes]:
            try:
                yield frame(framing, {"type": "RUN_STARTED", "runId": "r", "threadId": "t"})
                yield frame(framing, {"type": "TEXT_MESSAGE_START", "messageId": "m"})
                for i in range(3000):
                    yield frame(
                        framing,
                        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"{i} "},
                    )
                    await asyncio.sleep(0.01)
                self.completed.set()
            finally:
                self.closed.set()

        return StreamingResponse(body(), media_type="text/event-stream")

    async def chat(self, request: Request) -> StreamingResponse:
        framing = request.path_params["framing"]
        body = json.loads(await request.body())
        self.bodies.append(body)
        run_id = body["runId"]
        last = body["messages"][-1]
        events: list[dict[str, Any]] = [
            {"type": "RUN_STARTED", "runId": run_id, "threadId": body["threadId"]}
        ]
        tools = [t["name"] for t in body["tools"]]
        named = [t for t in tools if last.get("role") == "user" and t in str(last.get("content"))]
        if last.get("role") == "tool":
            text, finish = f"The tool said {last['content']}", "stop"
        elif named:
            call = f"call-{run_id}"
            events += [
                {"type": "TOOL_CALL_START", "toolCallId": call, "toolCallName": named[0]},
                {"type": "TOOL_CALL_ARGS", "toolCallId": call, "delta": "{}"},
                {"type": "TOOL_CALL_END", "toolCallId": call, "input": {}},
                {
                    "type": "CUSTOM",
                    "name": "tool-input-available",
                    "value": {"toolCallId": call, "toolName": named[0], "input": {}},
                },
            ]
            text, finish = "", "tool_calls"
        else:
            text, finish = f"You said: {last.get('content')}", "stop"
        if text:
            events += [
                {"type": "TEXT_MESSAGE_START", "messageId": f"msg-{run_id}", "role": "assistant"},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"msg-{run_id}", "delta": text},
                {"type": "TEXT_MESSAGE_END", "messageId": f"msg-{run_id}"},
            ]
        events.append({"type": "RUN_FINISHED", "runId": run_id, "finishReason": finish})

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield frame(framing, event)

        return StreamingResponse(stream(), media_type="text/event-stream")


@pytest.fixture
def chat_server() -> Iterator[tuple[RunningServer, ChatApp]]:
    app = ChatApp()
    with serve(app.app()) as server:
        yield server, app


def adapter(server: RunningServer, path: str, framing: str, **options: Any) -> Any:
    url = f"{server.url}/{path}/{framing}"
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    return make(url, {"retry": False, **options})


async def stop_once(client: ChatClient, started: asyncio.Event) -> Any:
    """Send, ``stop()`` once ``started`` is set, and return the reply: the client is
    idle again, without an error, and disconnected."""
    turn = asyncio.create_task(client.send_message("go"))
    await asyncio.wait_for(started.wait(), 5)
    client.stop()
    reply = await asyncio.wait_for(turn, 5)
    assert client.status is ChatStatus.READY and client.error is None
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED
    return reply


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_stop_closes_the_connection_and_the_server_sees_it(
    chat_server: tuple[RunningServer, ChatApp], framing: str
) -> None:
    server, app = chat_server
    got_text = asyncio.Event()

    def on_chunk(event: Any) -> None:
        if event.type == "TEXT_MESSAGE_CONTENT":
            got_text.set()

    async with adapter(server, "slow", framing) as http:
        client = ChatClient(http, on_chunk=on_chunk)
        reply = await stop_once(client, got_text)
        assert client.session_generating is False
        assert reply is not None and isinstance(reply.parts[0], TextPart)
        assert reply.parts[0].content.startswith("0 ")
        # The server notices the disconnect long before its 30 s stream would end.
        assert await asyncio.to_thread(app.closed.wait, 5)
        assert not app.completed.is_set()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_stop_while_an_async_callback_holds_the_stream(
    chat_server: tuple[RunningServer, ChatApp], framing: str
) -> None:
    """The stream waits for async callbacks; stop() ends that wait too (our adapter's run
    watches the abort for its reads, the driver's scope for the callbacks')."""
    server, app = chat_server
    waiting = asyncio.Event()
    never = asyncio.Event()
    finished_waits: list[str] = []

    async def on_chunk(event: Any) -> None:
        if event.type == "TEXT_MESSAGE_CONTENT" and not waiting.is_set():
            waiting.set()
            try:
                await never.wait()
            finally:
                finished_waits.append(event.delta)

    async with adapter(server, "slow", framing) as http:
        client = ChatClient(http, on_chunk=on_chunk)
        reply = await stop_once(client, waiting)
        assert reply is not None and isinstance(reply.parts[0], TextPart)
        assert await asyncio.to_thread(app.closed.wait, 5)
        assert not app.completed.is_set()
        assert finished_waits == []  # the callback itself is the app's: not cancelled
        never.set()
        await client.aclose()
        assert len(finished_waits) == 1


async def test_cancelling_send_message_closes_the_connection(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, app = chat_server
    async with adapter(server, "slow", "sse") as http:
        client = ChatClient(http)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.send_message("go"), 0.3)
        assert client.status is ChatStatus.READY
        assert await asyncio.to_thread(app.closed.wait, 5)
        assert not app.completed.is_set()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_request_bodies_and_a_client_tool_round_trip(
    chat_server: tuple[RunningServer, ChatApp], framing: str
) -> None:
    server, app = chat_server
    ran: list[Any] = []

    def get_time(args: Any) -> dict[str, str]:
        ran.append(args)
        return {"time": "12:00"}

    async with adapter(server, "chat", framing, body={"adapter": 1, "shared": "adapter"}) as http:
        client = ChatClient(
            http,
            thread_id="thread-http",
            body={"b": 1, "shared": "body"},
            forwarded_props={"shared": "fp"},
            tools=[Tool("get_time", "Current time", {"type": "object"}, execute=get_time)],
        )
        first = await client.send_message("Hello", {"shared": "per-msg"})
        assert first is not None and first.parts == [TextPart(content="You said: Hello")]
        final = await client.send_message("what does get_time say?")
        assert final is not None
        assert final.parts == [TextPart(content='The tool said {"time":"12:00"}')]

    assert ran == [{}]
    one, two, three = app.bodies
    assert list(one) == [
        "threadId",
        "runId",
        "state",
        "messages",
        "tools",
        "context",
        "forwardedProps",
        "data",
    ]
    assert one["forwardedProps"] == {"adapter": 1, "shared": "per-msg", "b": 1}
    assert one["data"] == one["forwardedProps"]
    assert two["forwardedProps"] == {
        "adapter": 1,
        "shared": "fp",
        "b": 1,
    }  # per-message body used once
    assert one["tools"] == [
        {"name": "get_time", "description": "Current time", "parameters": {"type": "object"}}
    ]
    assert {b["threadId"] for b in app.bodies} == {"thread-http"}
    assert len({b["runId"] for b in app.bodies}) == 3
    # The automatic follow-up carries the tool output, in the tool-call part and as a tool message.
    tool_entries = [m for m in three["messages"] if m.get("role") == "tool"]
    assert tool_entries == [
        {
            "role": "tool",
            "id": f"tool-call-{two['runId']}",
            "toolCallId": f"call-{two['runId']}",
            "content": '{"time":"12:00"}',
        }
    ]
    anchor = three["messages"][-2]
    assert anchor["toolCalls"][0]["function"]["name"] == "get_time"
    assert anchor["parts"][0]["output"] == {"time": "12:00"}
    assert client.status is ChatStatus.READY


@pytest.mark.parametrize("case", ["reply", "client_tool", "http_error", "stopped"])
async def test_a_closed_client_leaves_nothing_for_the_cyclic_gc(
    chat_server: tuple[RunningServer, ChatApp], case: str
) -> None:
    """Once closed, a client's objects are freed by reference counting as soon as the app
    drops it: none of them is left in a reference cycle for the garbage collector (an app
    making a client per request would otherwise pay for ~50 objects each, at every full
    collection until then). Its state stays readable after ``aclose()``."""

    server, _app = chat_server

    def get_time(args: Any) -> dict[str, str]:
        return {"time": "12:00"}

    async def one_client() -> None:
        path = {"http_error": "missing", "stopped": "slow"}.get(case, "chat")
        got_text = asyncio.Event()

        def on_chunk(event: Any) -> None:
            if event.type == "TEXT_MESSAGE_CONTENT":
                got_text.set()

        client = ChatClient(
            adapter(server, path, "sse"),
            on_chunk=on_chunk,
            tools=[Tool("get_time", "Current time", {"type": "object"}, execute=get_time)],
        )
        prompt = "what does get_time say?" if case == "client_tool" else "Hello"
        turn = asyncio.create_task(client.send_message(prompt))
        if case == "stopped":
            await asyncio.wait_for(got_text.wait(), 5)
            client.stop()
        reply = await asyncio.wait_for(turn, 5)
        await client.aclose()
        # Closed, and still readable: the snapshot is built after the close.
        snapshot = client.snapshot()
        assert snapshot.messages[0].role == "user"
        assert (reply is None) == (case == "http_error")
        assert (client.error is not None) == (case == "http_error")
        if case == "client_tool":
            assert reply is not None and "12:00" in str(reply.parts)

    await one_client()  # first-use caches are not the client's
    with no_cyclic_garbage(exclude=("server",)):
        for _ in range(3):
            await one_client()
