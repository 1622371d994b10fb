"""The optional OpenAI-compatible agent, against a local fake upstream (no network)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatconduit import HTTPStatusError, RunAgentInput
from chatconduit._run_input import parse_run_agent_input
from chatconduit.agents import OpenAICompatibleAgent
from chatconduit.events import parse_event
from chatconduit.server import UserFacingError, chat_endpoint
from servers import RunningServer, serve

KEY = "sk-test-0123456789abcdefghij"


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "text": [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo!"}),
        chunk({}, "stop"),
        {
            "id": "c1",
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        },
    ],
    "tool": [
        chunk({"content": "Checking."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"tz"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ':"UTC"}'}}]}),
        chunk({}, "tool_calls"),
    ],
    "think": [
        chunk({"reasoning_content": "Hmm, "}),
        chunk({"reasoning_content": "rivers."}),
        chunk({"content": "Rivers flow."}),
        chunk({}, "stop"),
    ],
}


class Upstream:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, Any], str | None]] = []

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((body, request.headers.get("authorization")))
        last = body["messages"][-1]
        scenario = "text" if last["role"] == "tool" else str(last["content"])
        if scenario == "fail":
            return JSONResponse(
                {"error": {"message": f"Incorrect API key provided: {KEY}"}}, status_code=401
            )

        async def stream() -> AsyncIterator[bytes]:
            for item in SCRIPTS[scenario]:
                yield f"data: {json.dumps(item)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[RunningServer, Upstream]]:
    fake = Upstream()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.completions, methods=["POST"])])
    with serve(app) as srv:
        yield srv, fake


def params(
    text: str, *, tools: bool = False, extra: list[dict[str, Any]] | None = None
) -> RunAgentInput:
    user = {
        "id": "u1",
        "role": "user",
        "parts": [{"type": "text", "content": text}],
        "content": text,
    }
    tool_specs = [{"name": "get_time", "description": "time", "parameters": {"type": "object"}}]
    return parse_run_agent_input(
        {
            "threadId": "t1",
            "runId": "r1",
            "messages": [user, *(extra or [])],
            "tools": tool_specs if tools else [],
            "context": [],
        }
    )


async def events_of(agent: OpenAICompatibleAgent, p: RunAgentInput) -> list[dict[str, Any]]:
    events = [e async for e in agent(p)]
    for event in events:
        parse_event(event)
    return events


def agent_for(srv: RunningServer) -> OpenAICompatibleAgent:
    return OpenAICompatibleAgent(
        base_url=f"{srv.url}/v1", model="gpt-test", api_key=KEY, system_prompt="Be brief."
    )


async def test_text_and_usage(upstream: tuple[RunningServer, Upstream]) -> None:
    srv, fake = upstream
    events = await events_of(agent_for(srv), params("text"))
    assert [e["type"] for e in events] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]
    assert "".join(e.get("delta", "") for e in events) == "Hello!"
    assert events[-1]["finishReason"] == "stop"
    assert events[-1]["usage"] == {"promptTokens": 3, "completionTokens": 2, "totalTokens": 5}
    body, auth = fake.requests[-1]
    assert auth == f"Bearer {KEY}" and body["model"] == "gpt-test" and body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "text"},
    ]


async def test_client_tools_are_handed_to_the_client(
    upstream: tuple[RunningServer, Upstream],
) -> None:
    srv, fake = upstream
    events = await events_of(agent_for(srv), params("tool", tools=True))
    types = [e["type"] for e in events]
    assert types == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "CUSTOM",
        "RUN_FINISHED",
    ]
    assert events[7]["input"] == {"tz": "UTC"} and events[6]["args"] == '{"tz":"UTC"}'
    assert events[8]["value"] == {
        "toolCallId": "call_1",
        "toolName": "get_time",
        "input": {"tz": "UTC"},
    }
    assert events[-1]["finishReason"] == "tool_calls"
    assert fake.requests[-1][0]["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "time",
                "parameters": {"type": "object"},
            },
        }
    ]


async def test_the_tool_result_goes_back_upstream(upstream: tuple[RunningServer, Upstream]) -> None:
    srv, fake = upstream
    assistant = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {
                "type": "tool-call",
                "id": "call_1",
                "name": "get_time",
                "arguments": '{"tz":"UTC"}',
                "state": "input-complete",
                "output": {"t": 1},
            },
            {
                "type": "tool-result",
                "toolCallId": "call_1",
                "content": '{"t":1}',
                "state": "complete",
            },
        ],
    }
    await events_of(agent_for(srv), params("tool", tools=True, extra=[assistant]))
    sent = fake.requests[-1][0]["messages"]
    assert sent[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"UTC"}'},
            }
        ],
    }
    assert sent[3] == {"role": "tool", "content": '{"t":1}', "tool_call_id": "call_1"}


async def test_reasoning_becomes_thinking(upstream: tuple[RunningServer, Upstream]) -> None:
    srv, _ = upstream
    events = await events_of(agent_for(srv), params("think"))
    assert [e["type"] for e in events][1:4] == ["STEP_STARTED", "STEP_FINISHED", "STEP_FINISHED"]
    assert events[3]["content"] == "Hmm, rivers."


async def test_upstream_errors_never_show_the_key(upstream: tuple[RunningServer, Upstream]) -> None:
    srv, _ = upstream
    agent = agent_for(srv)
    assert KEY not in repr(agent)
    with pytest.raises(HTTPStatusError) as caught:
        await events_of(agent, params("fail"))
    assert caught.value.status_code == 401

    # Through our server, the client learns only the status.
    app = Starlette(routes=[Route("/chat", chat_endpoint(agent), methods=["POST"])])
    body = {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "u", "role": "user", "content": "fail"}],
        "tools": [],
        "context": [],
    }
    with serve(app) as ours:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{ours.url}/chat", json=body)
    assert KEY not in response.text
    last = json.loads(response.content.strip().split(b"\n")[-1].removeprefix(b"data: "))
    assert (last["message"], last["code"]) == ("Upstream service error", "401")


async def test_an_unreachable_upstream_is_a_user_facing_error() -> None:
    agent = OpenAICompatibleAgent(
        base_url="http://127.0.0.1:9/v1", model="m", api_key=KEY, timeout=5
    )
    with pytest.raises(UserFacingError, match="could not be reached"):
        await events_of(agent, params("text"))
