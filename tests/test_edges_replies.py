"""Issue 16, the first edges: replies are never lost, and text comes out in one line.

Against real uvicorn servers: an agent written as the old docs taught (a fixed
``"messageId": "m1"`` on every turn), agents built with ``EventBuilder``, and the demo.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    Reply,
    SyncChatClient,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit.demo import create_app
from chatconduit.events import parse_event
from chatconduit.server import EventBuilder, RunAgentInput, chat_endpoint
from servers import RunningServer, serve


def last_user_text(params: RunAgentInput) -> str:
    for message in reversed(params.messages):
        if isinstance(message, UIMessage) and message.role == "user":
            return message.text
    return ""


async def fixed_id_agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
    """The agent README, docs/server.md and the examples used to teach: the same id each turn."""
    ids = {"threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "RUN_STARTED", **ids}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    yield {
        "type": "TEXT_MESSAGE_CONTENT",
        "messageId": "m1",
        "delta": f"echo {last_user_text(params)}",
    }
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
    yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


async def built_agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
    """Every EventBuilder piece in one run: reasoning, text, a server tool and its result."""
    ev = EventBuilder(params)
    text = last_user_text(params)
    yield ev.start()
    if text == "fail":
        yield ev.error("the agent gave up", code="GAVE_UP")
        return
    for event in ev.reasoning("Thinking ", "about it."):
        yield event
    for event in ev.text("Let me ", "look."):
        yield event
    for event in ev.tool_call("lookup", {"q": text}):
        yield event
    assert ev.tool_call_id is not None
    yield ev.tool_result(ev.tool_call_id, {"found": text.upper()})
    yield ev.start_text()
    yield ev.text_delta(f"Found {text.upper()}.")
    yield ev.end_text()
    yield ev.finish()


def app_for(agent: Any) -> Starlette:
    return Starlette(routes=[Route("/chat", chat_endpoint(agent), methods=["POST"])])


@pytest.fixture(scope="module")
def fixed_server() -> Iterator[RunningServer]:
    with serve(app_for(fixed_id_agent)) as srv:
        yield srv


@pytest.fixture(scope="module")
def built_server() -> Iterator[RunningServer]:
    with serve(app_for(built_agent)) as srv:
        yield srv


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningServer]:
    with serve(create_app(delay=0.001)) as srv:
        yield srv


# ---------------------------------------------------------------------------- lost replies


async def test_a_fixed_message_id_no_longer_loses_the_next_reply(
    fixed_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chatconduit.client")
    async with ChatClient(fetch_server_sent_events(f"{fixed_server.url}/chat")) as client:
        first = await client.send_message("one")
        second = await client.send_message("two")
        third = await client.send_message("three")
        assert first is not None and first.text == "echo one"
        # Before: the second turn overwrote the first reply and returned None.
        assert second is not None and second.text == "echo two"
        assert third is not None and third.text == "echo three"
        texts = [(m.role, m.text) for m in client.messages]
        assert texts == [
            ("user", "one"),
            ("assistant", "echo one"),
            ("user", "two"),
            ("assistant", "echo two"),
            ("user", "three"),
            ("assistant", "echo three"),
        ]
        ids = [m.id for m in client.messages]
        assert len(set(ids)) == len(ids), ids
        assert client.messages[-1].id == "m1"  # the newest keeps the id the server uses
    warnings = [r for r in caplog.records if "reused message id" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "'m1'" in warnings[0].getMessage()


async def tool_turn_agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
    """One turn in two runs, both writing message "m1": a client tool call, then the
    answer after the tool's result (a follow-up request of the same turn)."""
    ids = {"threadId": params.thread_id, "runId": params.run_id}
    answered = any(
        (m.get("role") if isinstance(m, dict) else m.role) == "tool" for m in params.messages
    ) or any(
        isinstance(m, UIMessage) and any(isinstance(p, ToolResultPart) for p in m.parts)
        for m in params.messages
    )
    yield {"type": "RUN_STARTED", **ids}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    if not answered:
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Checking."}
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
        yield {
            "type": "TOOL_CALL_START",
            "toolCallId": "c1",
            "toolCallName": "get_weather",
            "parentMessageId": "m1",
        }
        yield {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"city":"Oslo"}'}
        yield {"type": "TOOL_CALL_END", "toolCallId": "c1"}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "tool_calls"}
        return
    yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "It is 21 degrees."}
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
    yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


async def test_a_follow_up_of_the_same_turn_still_continues_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The rule is about earlier turns only: a message after the last user message (a
    # client tool's follow-up, a resumed or joined run) is continued, as before.
    caplog.set_level(logging.WARNING, logger="chatconduit.client")

    async def get_weather(arguments: Any) -> dict[str, Any]:
        return {"temperature": 21}

    with serve(app_for(tool_turn_agent)) as srv:
        async with ChatClient(
            fetch_server_sent_events(f"{srv.url}/chat"),
            tools=[Tool("get_weather", "Weather", execute=get_weather)],
        ) as client:
            reply = await client.ask("Weather in Oslo?")
    assert not [r for r in caplog.records if "reused" in r.getMessage()]
    ids = [m.id for m in client.messages]
    assert not any("~" in i for i in ids), ids
    assert ids.count("m1") == 1
    assert "It is 21 degrees." in reply.text
    assert [c.name for c in reply.tool_calls] == ["get_weather"]


async def test_event_builder_ids_are_per_run_and_no_warning(
    built_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chatconduit.client")
    async with ChatClient(fetch_server_sent_events(f"{built_server.url}/chat")) as client:
        one = await client.ask("alpha")
        two = await client.ask("beta")
    assert not [r for r in caplog.records if "reused" in r.getMessage()]
    assert one.text == "Let me look.\n\nFound ALPHA."
    assert two.text.endswith("Found BETA.")
    ids_one = {m.id for m in one.messages}
    ids_two = {m.id for m in two.messages}
    assert ids_one and ids_two and not ids_one & ids_two
    [call] = two.tool_calls
    assert call.name == "lookup" and call.arguments == '{"q":"beta"}'
    results = [p for m in two.messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert [r.content for r in results] == ['{"found":"BETA"}']
    thinking = [p for m in two.messages for p in m.parts if p.type == "thinking"]
    assert thinking and thinking[0].content == "Thinking about it."


async def test_event_builder_error_reaches_the_client(built_server: RunningServer) -> None:
    async with ChatClient(fetch_server_sent_events(f"{built_server.url}/chat")) as client:
        reply = await client.ask("fail")
    assert reply.error is not None and "the agent gave up" in str(reply.error)
    assert reply.status == "error"


def test_event_builder_events_are_valid_agui() -> None:
    ev = EventBuilder(thread_id="t", run_id="r")
    events = [ev.start(), *ev.reasoning("x"), *ev.text("a", "", "b"), *ev.tool_call("f", "{}")]
    events += [ev.tool_result("call-r-4", "ok"), ev.finish(), ev.error("boom", code="E")]
    for event in events:
        parse_event(event)  # raises on a bad shape
    message_ids = [e["messageId"] for e in events if e["type"] == "TEXT_MESSAGE_START"]
    assert message_ids == ["msg-r-2"]
    assert [e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"] == ["a", "b"]
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["parentMessageId"] == "msg-r-2" and start["toolCallId"] == "call-r-3"
    assert events[-1]["message"] == "boom" and events[-1]["code"] == "E"
    assert EventBuilder().run_id != EventBuilder().run_id


def test_event_builder_refuses_misuse() -> None:
    ev = EventBuilder(thread_id="t", run_id="r")
    with pytest.raises(RuntimeError, match="no text message is open"):
        ev.text_delta("x")
    ev.start_text()
    with pytest.raises(RuntimeError, match="still open"):
        ev.start_text()
    with pytest.raises(ValueError, match="non-empty"):
        ev.text_delta("")
    with pytest.raises(ValueError, match="name"):
        ev.tool_call("", {})


# ---------------------------------------------------------------------------- text in one line


def test_message_text_joins_text_parts_only() -> None:
    message = UIMessage(
        id="a",
        role="assistant",
        parts=[
            TextPart(content="Before."),
            ToolCallPart(id="c", name="f", arguments="{}"),
            TextPart(content="After."),
        ],
    )
    assert message.text == "Before.\n\nAfter."
    assert UIMessage(id="b", role="assistant").text == ""


async def test_ask_holds_every_assistant_message_of_a_tool_turn(
    demo_server: RunningServer,
) -> None:
    url = f"{demo_server.url}/api/chat/sse"
    async with ChatClient(fetch_server_sent_events(url)) as client:
        last = await client.send_message("What is 12*7?")
        reply = await client.ask("What is 12*7?")
        snapshot = client.snapshot()
    assert isinstance(reply, Reply)
    assert last is not None
    # send_message is unchanged: the last assistant message only.
    assert reply.last_message is not None and reply.last_message.text == last.text
    assert [c.name for c in reply.tool_calls] == ["calculator"]
    assert "84" in reply.text
    assert all(m.role == "assistant" for m in reply.messages)
    assert reply.text == snapshot.text
    assert str(reply) == reply.text


async def test_stream_text_yields_deltas_that_join_to_the_reply(
    demo_server: RunningServer,
) -> None:
    url = f"{demo_server.url}/api/chat/ndjson"
    async with ChatClient(fetch_http_stream(url)) as client:
        deltas = [d async for d in client.stream_text("Tell me a story")]
        joined = "".join(deltas)
        assert len(deltas) > 1 and all(deltas)
        assert joined == client.snapshot().text
        assert joined == client.messages[-1].text  # a text-only reply: one message
        assert not joined.startswith("Tell me a story")  # never the user's own text
        # A second turn yields only its own text.
        second = "".join([d async for d in client.stream_text("What is 2+2?")])
        assert second == client.snapshot().text and "4" in second and joined not in second


async def test_leaving_stream_text_early_stops_the_reply(demo_server: RunningServer) -> None:
    url = f"{demo_server.url}/api/chat/sse"
    client = ChatClient(fetch_server_sent_events(url))
    stream = client.stream_text("Tell me a story")
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert not client.is_loading
    assert client.status == "ready"
    await client.aclose()


async def test_updates_until_turn_end_ends(demo_server: RunningServer) -> None:
    url = f"{demo_server.url}/api/chat/sse"
    async with ChatClient(fetch_server_sent_events(url)) as client:
        seen: list[str] = []

        async def watch() -> None:
            async for snap in client.updates(until_turn_end=True):
                seen.append(snap.status)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)
        await client.send_message("What is 2+2?")
        await asyncio.wait_for(watcher, timeout=10)  # before: never ended
        assert seen[-1] == "ready" and "streaming" in seen
        # A second iterator made when idle waits for the next turn, then ends too.
        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.05)
        assert not watcher.done()
        await client.send_message("What is 3+3?")
        await asyncio.wait_for(watcher, timeout=10)


def test_sync_client_text_helpers(demo_server: RunningServer) -> None:
    url = f"{demo_server.url}/api/chat/ndjson"
    with SyncChatClient(fetch_http_stream(url)) as chat:
        deltas = list(chat.stream_text("Tell me a story"))
        assert len(deltas) > 1
        assert "".join(deltas) == chat.snapshot().text
        reply = chat.ask("What is 12*7?")
        assert "84" in reply.text and [c.name for c in reply.tool_calls] == ["calculator"]
        assert threading.current_thread() is threading.main_thread()
