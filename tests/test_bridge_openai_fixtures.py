"""OpenAI-compatible streams, byte for byte: the client adapter ``openai_chat_completions``
and the server-side ``OpenAICompatibleAgent`` decode the same fixture bytes identically
(one mapping, ``_bridges._openai_events``).

The fixtures (``tests/fixtures/bridges``, see its README) are served by a real uvicorn in
7-byte pieces, so every chunk boundary falls inside a JSON payload somewhere. The model
name picks the fixture; a request that carries a ``tool`` message is answered with the
text fixture, so a client tool's result going back ends the loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    HTTPStatusError,
    Tool,
    UIMessage,
    openai_chat_completions,
)
from chatconduit._bridges._decoding import ChunkDecoder
from chatconduit._bridges._openai_events import OpenAIChunkMapper
from chatconduit._connection._protocols import RunContext
from chatconduit._messages import TextPart, ThinkingPart, ToolCallPart
from chatconduit._run_input import parse_run_agent_input
from chatconduit.agents import OpenAICompatibleAgent
from chatconduit.events import event_to_dict
from cyclic_garbage import no_cyclic_garbage
from servers import RunningServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "bridges"
KEY = "sk-proj-SECRETKEY0123456789abcdef"
PIECE = 7


class Upstream:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def completions(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        model = body["model"]
        if model == "bad-key":  # as OpenAI does: the error repeats part of the key
            shown = request.headers.get("authorization", "")[7:]
            message = f"Incorrect API key provided: {shown}. You can find your key online."
            return JSONResponse({"error": {"message": message, "code": "invalid_api_key"}}, 401)
        if model == "openai_litellm_error_400":
            error = (FIXTURES / f"{model}.json").read_bytes()
            return Response(error, status_code=400, media_type="application/json")
        if any(m.get("role") == "tool" for m in body["messages"]):
            model = "openai_litellm_text"
        data = (FIXTURES / f"{model}.sse").read_bytes()

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(data), PIECE):
                yield data[start : start + PIECE]
                await asyncio.sleep(0)

        return StreamingResponse(pieces(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[RunningServer, Upstream]]:
    fake = Upstream()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.completions, methods=["POST"])])
    with serve(app) as server:
        yield server, fake


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("timestamp",)}


async def both_ways(server: RunningServer, model: str) -> tuple[list[Any], list[Any]]:
    """The events of one fixture read by the client adapter and by the agent."""
    adapter = openai_chat_completions(f"{server.url}/v1", {"model": model, "api_key": KEY})
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}
    context = RunContext(thread_id="t1", run_id="r1")
    client_events = [event_to_dict(e) async for e in adapter.connect([user], None, None, context)]
    agent = OpenAICompatibleAgent(base_url=f"{server.url}/v1", model=model, api_key=KEY)
    params = parse_run_agent_input(
        {
            "threadId": "t1",
            "runId": "r1",
            "messages": [{**user, "content": "hi"}],
            "tools": [],
            "context": [],
        }
    )
    agent_events = [event async for event in agent(params)]
    return [comparable(e) for e in client_events], [comparable(e) for e in agent_events]


@pytest.mark.parametrize(
    "fixture",
    [
        "openai_litellm_text",
        "openai_tool_calls_split",
        "openai_reasoning_usage",
        "openai_error_mid_stream",
    ],
)
async def test_client_adapter_and_agent_decode_identically(
    upstream: tuple[RunningServer, Upstream], fixture: str
) -> None:
    server, _ = upstream
    client, agent = await both_ways(server, fixture)
    assert client == agent
    assert client[0]["type"] == "RUN_STARTED"


async def test_tool_calls_split_across_chunks(upstream: tuple[RunningServer, Upstream]) -> None:
    server, _ = upstream
    client, _ = await both_ways(server, "openai_tool_calls_split")
    ends = [e for e in client if e["type"] == "TOOL_CALL_END"]
    assert [(e["toolCallName"], e["input"]) for e in ends] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert client[-1]["type"] == "RUN_FINISHED" and client[-1]["finishReason"] == "tool_calls"


async def test_reasoning_text_and_usage_only_final_chunk(
    upstream: tuple[RunningServer, Upstream],
) -> None:
    server, _ = upstream
    client = ChatClient(
        openai_chat_completions(f"{server.url}/v1", {"model": "openai_reasoning_usage"})
    )
    reply = await client.send_message("2+2?")
    assert text_of(reply) == "The answer is 4."
    assert reply is not None
    assert [p.content for p in reply.parts if isinstance(p, ThinkingPart)] == [
        "Let me think. Done."
    ]
    events, _ = await both_ways(server, "openai_reasoning_usage")
    assert events[-1]["usage"] == {"promptTokens": 12, "completionTokens": 7, "totalTokens": 19}
    assert events[-1]["finishReason"] == "stop"
    await client.aclose()


async def test_client_tools_run_and_results_go_back_as_tool_messages(
    upstream: tuple[RunningServer, Upstream],
) -> None:
    server, fake = upstream
    ran: list[tuple[str, Any]] = []
    tools = [
        Tool(
            "get_weather", "weather", {"type": "object"}, lambda a: ran.append(("w", a)) or "sunny"
        ),
        Tool("get_time", "time", {"type": "object"}, lambda a: ran.append(("t", a)) or "noon"),
    ]
    options = {"model": "openai_tool_calls_split", "params": {"temperature": 0.2}}
    client = ChatClient(openai_chat_completions(f"{server.url}/v1", options), tools=tools)
    reply = await client.send_message("weather and time")
    assert sorted(ran) == [("t", {}), ("w", {"city": "Paris"})]
    assert text_of(reply) == "Hello from LiteLLM's mock!"
    first, follow_up = fake.bodies[-2], fake.bodies[-1]
    assert first["stream"] is True and first["temperature"] == 0.2
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather", "get_time"]
    roles = [m["role"] for m in follow_up["messages"]]
    assert roles == ["user", "assistant", "tool", "tool"]
    assistant = follow_up["messages"][1]
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_abc", "call_def"]
    results = {m["tool_call_id"]: m["content"] for m in follow_up["messages"][2:]}
    assert set(results) == {"call_abc", "call_def"}
    calls = [p for m in client.messages for p in m.parts if isinstance(p, ToolCallPart)]
    assert {c.output for c in calls} == {"sunny", "noon"}
    await client.aclose()


async def test_upstream_error_is_typed_with_status_and_body_and_no_key(
    upstream: tuple[RunningServer, Upstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, fake = upstream
    monkeypatch.setenv("BRIDGE_TEST_KEY", KEY)
    adapter = openai_chat_completions(
        f"{server.url}/v1", {"model": "bad-key", "api_key_env": "BRIDGE_TEST_KEY", "retry": False}
    )
    client = ChatClient(adapter, raise_on_error=False)
    await client.send_message("hi")
    error = client.error
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == 401
    assert "Incorrect API key provided" in error.body
    assert KEY not in str(error) and KEY not in error.body and KEY not in repr(adapter)
    assert fake.headers[-1]["authorization"] == f"Bearer {KEY}"  # it was sent, only there
    await client.aclose()


async def test_error_mid_stream_is_a_run_error(upstream: tuple[RunningServer, Upstream]) -> None:
    server, _ = upstream
    client = ChatClient(
        openai_chat_completions(f"{server.url}/v1", {"model": "openai_error_mid_stream"}),
        raise_on_error=False,
    )
    await client.send_message("hi")
    assert client.error is not None
    assert "The server had an error while processing your request." in str(client.error)
    await client.aclose()


def test_decoder_is_split_invariant() -> None:
    data = (FIXTURES / "openai_reasoning_usage.sse").read_bytes()

    def decode(step: int) -> list[dict[str, Any]]:
        mapper = OpenAIChunkMapper(thread_id="t", run_id="r", model="m")
        decoder = ChunkDecoder(mapper, what="chunk", max_frame_bytes=1 << 20)
        out = []
        for start in range(0, len(data), step):
            out += [event_to_dict(e) for e, _ in decoder.iter_feed(data[start : start + step])]
        out += [event_to_dict(e) for e, _ in decoder.finish()]
        return [comparable(e) for e in out]

    whole = decode(len(data))
    assert all(decode(step) == whole for step in (1, 2, 3, 5, 64))


async def test_recorded_upstream_400_is_the_same_typed_error_both_ways(
    upstream: tuple[RunningServer, Upstream],
) -> None:
    server, _ = upstream
    model = "openai_litellm_error_400"
    options = {"model": model, "api_key": KEY, "retry": False}
    client = ChatClient(openai_chat_completions(f"{server.url}/v1", options), raise_on_error=False)
    await client.send_message("hi")
    assert isinstance(client.error, HTTPStatusError)
    assert client.error.status_code == 400 and "No connected db." in client.error.body
    await client.aclose()
    agent = OpenAICompatibleAgent(base_url=f"{server.url}/v1", model=model, api_key=KEY)
    body = {"threadId": "t1", "runId": "r1", "tools": [], "context": []}
    params = parse_run_agent_input(
        {**body, "messages": [{"id": "u1", "role": "user", "content": "hi"}]}
    )
    with pytest.raises(HTTPStatusError) as raised:
        _ = [event async for event in agent(params)]
    assert raised.value.status_code == 400 and "No connected db." in raised.value.body


async def test_a_closed_client_and_its_adapter_leave_nothing_for_the_cyclic_gc(
    upstream: tuple[RunningServer, Upstream],
) -> None:
    """A ChatClient on an OpenAI adapter with a key, through a client-tool round trip,
    then closed: nothing of the client's or the adapter's is left in a reference cycle
    (the adapter's per-request options were once a bound method the adapter held)."""
    server, _fake = upstream

    async def one_client() -> None:
        tools = [
            Tool("get_weather", "weather", {"type": "object"}, lambda a: "sunny"),
            Tool("get_time", "time", {"type": "object"}, lambda a: "noon"),
        ]
        options = {"model": "openai_tool_calls_split", "api_key": KEY}
        client = ChatClient(openai_chat_completions(f"{server.url}/v1", options), tools=tools)
        reply = await client.send_message("weather and time")
        assert text_of(reply) == "Hello from LiteLLM's mock!", client.error
        await client.aclose()

    await one_client()
    with no_cyclic_garbage(exclude=("server", "agents")):
        for _ in range(3):
            await one_client()
