"""The whole loop through the public API: our ChatClient, transports, server and demo agent.

A real uvicorn serves `chatconduit.demo.create_app()` on 127.0.0.1; the client talks to it
over a real socket with both framings. Nothing here reaches into private modules.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatconduit import (
    ChatClient,
    ConnectionAdapter,
    HTTPStatusError,
    SyncChatClient,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit.demo import create_app
from servers import RunningServer, serve

FRAMINGS: dict[str, tuple[Callable[..., ConnectionAdapter], str]] = {
    "sse": (fetch_server_sent_events, "/api/chat/sse"),
    "ndjson": (fetch_http_stream, "/api/chat/ndjson"),
}


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningServer]:
    with serve(create_app(delay=0, api_key="e2e-key")) as server:
        yield server


def connection(server: RunningServer, framing: str, *, key: str = "e2e-key") -> ConnectionAdapter:
    factory, path = FRAMINGS[framing]
    return factory(server.url + path, {"headers": {"Authorization": f"Bearer {key}"}})


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
async def test_multi_turn_with_server_tools_and_thinking(
    demo_server: RunningServer, framing: str
) -> None:
    finished: list[str] = []
    client = ChatClient(
        connection(demo_server, framing),
        on_finish=lambda message: finished.append(message.id),
    )

    reply = await client.send_message("what is 12*7?")
    assert client.error is None, client.error
    assert reply is not None and reply.role == "assistant"
    calls = [p for m in client.messages for p in m.parts if isinstance(p, ToolCallPart)]
    results = [p for m in client.messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert [c.name for c in calls] == ["calculator"]
    assert json.loads(calls[0].arguments) == {"expression": "12*7"}
    assert calls[0].state == "input-complete"
    assert json.loads(results[0].content)["result"] == 84
    assert "84" in text_of(client.messages[-1])

    reply = await client.send_message("think about primes")
    assert reply is not None
    thinking = [p for p in reply.parts if isinstance(p, ThinkingPart)]
    assert thinking and "primes" in thinking[0].content
    assert "primes" in text_of(reply)

    users = [m for m in client.messages if m.role == "user"]
    assert [text_of(m) for m in users] == ["what is 12*7?", "think about primes"]
    assert client.status == "ready"
    assert not client.is_loading
    # one finish per turn: the calculator turn is one run that ends once
    assert len(finished) == 2


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
async def test_client_tool_runs_in_python_and_the_follow_up_answers_with_it(
    demo_server: RunningServer, framing: str
) -> None:
    executed: list[dict[str, Any]] = []

    async def lookup_order(args: dict[str, Any]) -> dict[str, Any]:
        executed.append(args)
        return {"order": args.get("id"), "status": "shipped"}

    client = ChatClient(
        connection(demo_server, framing),
        tools=[
            Tool(
                name="lookup_order",
                description="Look up an order by id",
                parameters={"type": "object", "properties": {"id": {"type": "string"}}},
                execute=lookup_order,
            )
        ],
    )
    reply = await client.send_message('please call lookup_order {"id": "A-17"}')

    assert client.error is None, client.error
    assert executed == [{"id": "A-17"}]
    call = next(p for m in client.messages for p in m.parts if isinstance(p, ToolCallPart))
    assert call.name == "lookup_order"
    assert call.output == {"order": "A-17", "status": "shipped"}
    # send_message returned only after the automatic follow-up request was answered
    assert reply is not None
    assert "shipped" in text_of(reply)


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
async def test_wrong_key_is_an_http_error_with_status_and_no_empty_reply(
    demo_server: RunningServer, framing: str
) -> None:
    client = ChatClient(connection(demo_server, framing, key="wrong"))
    reply = await client.send_message("hello")

    assert reply is None
    assert isinstance(client.error, HTTPStatusError)
    assert client.error.status_code == 401
    assert "wrong" not in str(client.error)  # the bearer token never reaches the message
    assert client.status == "error"
    assert [m.role for m in client.messages] == ["user"]


async def test_stop_keeps_the_partial_reply_and_leaves_the_client_ready() -> None:
    with serve(create_app(delay=0.05)) as server:
        client = ChatClient(fetch_server_sent_events(server.url + "/api/chat/sse"))
        streaming = asyncio.Event()

        def on_change(messages: Any) -> None:
            if messages and messages[-1].role == "assistant" and text_of(messages[-1]):
                streaming.set()

        client.update_options(on_messages_change=on_change)
        turn = asyncio.create_task(client.send_message("tell me about this demo"))
        await asyncio.wait_for(streaming.wait(), timeout=10)
        client.stop()
        await asyncio.wait_for(turn, timeout=10)

        partial = text_of(client.messages[-1])
        assert partial  # what had arrived is kept
        assert client.status == "ready"
        assert client.error is None
        assert not client.is_loading


def test_sync_client_streams_updates_over_a_real_socket() -> None:
    # Word deltas 50 ms apart: the reply lasts long enough that snapshots must arrive
    # while it streams (with no delay the whole reply may coalesce into one snapshot).
    with (
        serve(create_app(delay=0.05)) as server,
        SyncChatClient(fetch_http_stream(server.url + "/api/chat/ndjson")) as chat,
    ):
        snapshots = list(chat.stream_message("what time is it?"))
        assert any(s.status == "streaming" for s in snapshots[:-1])
        assert snapshots[-1].status == "ready"
        last = snapshots[-1].last_message
        assert last is not None and last.role == "assistant"
        names = [p.name for m in chat.messages for p in m.parts if isinstance(p, ToolCallPart)]
        assert names == ["get_current_time"]
        assert chat.status == "ready"
