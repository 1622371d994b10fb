"""Our server, driven by the REAL ``@tanstack/ai-client@0.10.0`` ChatClient under Node.

The client uses its own ``fetchServerSentEvents`` / ``fetchHttpStream``; the
server is ``chatconduit.demo.create_app`` (the demo agent behind
``chat_endpoint``) on a real uvicorn. What the client ends with - its
UIMessages, status, errors, tool executions and follow-up requests - is what a
browser app built on TanStack 0.10 would show.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route

from chatconduit.demo import DemoAgent, create_app
from chatconduit.server import RunAgentInput, UserFacingError, chat_endpoint
from servers import RunningServer, serve

from .node import require_node_modules, run_ts_client

pytestmark = pytest.mark.interop
TRANSPORTS = ("sse", "ndjson")
KEY = "interop-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


class RecordingDemo:
    """The demo agent, remembering what each request brought to the server."""

    def __init__(self) -> None:
        self.demo = DemoAgent(delay=0.002)
        self.seen: list[tuple[RunAgentInput, dict[str, str]]] = []

    def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
        self.seen.append((params, dict(request.headers)))
        return self.demo(params, request)


async def failing(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Partial "}
    raise UserFacingError("The upstream model is overloaded.", "overloaded")


async def slow(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    ids = {"threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "RUN_STARTED", **ids}
    await asyncio.sleep(0.3)  # a long tool call: heartbeats fill the silence
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Done."}
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
    yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, RecordingDemo]]:
    require_node_modules()
    recorder = RecordingDemo()
    app = Starlette(
        routes=[
            Mount("/demo", create_app(agent=recorder, api_key=KEY)),
            Route("/failing/sse", chat_endpoint(failing), methods=["POST"]),
            Route("/failing/ndjson", chat_endpoint(failing, framing="ndjson"), methods=["POST"]),
            Route("/slow/sse", chat_endpoint(slow, heartbeat=0.05), methods=["POST"]),
            Route(
                "/slow/ndjson",
                chat_endpoint(slow, framing="ndjson", heartbeat=0.05),
                methods=["POST"],
            ),
        ]
    )
    with serve(app) as srv:
        yield srv, recorder


def chat_url(srv: RunningServer, transport: str) -> str:
    return f"{srv.url}/demo/api/chat/{transport}"


def assistant_parts(report: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [m["parts"] for m in report["messages"] if m["role"] == "assistant"]


def all_text(parts: list[dict[str, Any]]) -> str:
    return "".join(p["content"] for p in parts if p["type"] == "text")


def assert_clean(report: dict[str, Any]) -> None:
    assert report["error"] is None and report["onErrorCalls"] == []
    assert report["status"] == "ready" and report["isLoading"] is False
    assert report["warnings"] == []  # nothing our server sent made the client complain


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_multi_turn_with_auth_body_tools_and_thinking(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = run_ts_client(
        chat_url(srv, transport),
        transport,
        ["hello", "what is 2+3*4", "think about rivers"],
        headers=AUTH,
        body={"persona": "pirate", "tenant": 7},
    )
    assert_clean(report)
    assert report["requestCount"] == 3
    roles = [m["role"] for m in report["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "assistant", "user", "assistant"]
    greeting, calc_call, calc_answer, thinking = assistant_parts(report)

    assert "> hello" in all_text(greeting) and "turn 1" in all_text(greeting)
    assert "`persona`, `tenant`" in all_text(greeting)  # the extra body fields arrived

    tool_call = next(p for p in calc_call if p["type"] == "tool-call")
    assert tool_call["name"] == "calculator" and tool_call["state"] == "input-complete"
    assert json.loads(tool_call["arguments"]) == {"expression": "2+3*4"}
    assert tool_call["output"] == {"expression": "2+3*4", "result": 14}
    tool_result = next(p for p in calc_call if p["type"] == "tool-result")
    assert tool_result["toolCallId"] == tool_call["id"] and tool_result["state"] == "complete"
    assert all_text(calc_answer) == "`2+3*4` = **14**"

    assert [p["type"] for p in thinking] == ["thinking", "text"]
    assert "“rivers”" in thinking[0]["content"] and thinking[0]["stepId"].startswith("step-")
    assert all_text(thinking).startswith("### Thoughts on rivers")

    # What the server saw: the key on every request, the body fields, the growing history.
    assert [headers["authorization"] for _, headers in recorder.seen] == [AUTH["Authorization"]] * 3
    for params, _ in recorder.seen:
        assert params.forwarded_props == {"persona": "pirate", "tenant": 7}
    # user; + assistant, user; + assistant(text, call), tool, assistant, user
    assert [len(params.model_messages) for params, _ in recorder.seen] == [1, 3, 7]
    assert [m.role for m in recorder.seen[2][0].model_messages][3:5] == ["assistant", "tool"]
    assert len({params.thread_id for params, _ in recorder.seen}) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_tool_round_trip(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = run_ts_client(
        chat_url(srv, transport),
        transport,
        ['please use get_time with {"timezone": "Europe/Zurich"}'],
        headers=AUTH,
        tools=["get_time"],
    )
    assert_clean(report)
    # The client ran its tool with our arguments, then sent one follow-up request.
    assert report["toolExecutions"] == [
        {
            "name": "get_time",
            "input": {"timezone": "Europe/Zurich"},
            "output": {"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Zurich"},
        }
    ]
    assert report["requestCount"] == 2
    assert [tool.name for tool in recorder.seen[0][0].tools] == ["get_time"]
    assert recorder.seen[1][0].model_messages[-1].role == "tool"
    answer = all_text(assistant_parts(report)[-1])
    assert "`get_time`" in answer and "2026-11-24T12:00:00.000Z" in answer


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_wrong_key_is_an_http_error_for_the_client(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = run_ts_client(
        chat_url(srv, transport), transport, ["hello"], headers={"Authorization": "Bearer nope"}
    )
    assert report["status"] == "error"
    assert report["error"]["message"].startswith("HTTP error! status: 401")
    assert recorder.seen == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_run_error_is_shown_with_our_message(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, _ = server
    report = run_ts_client(f"{srv.url}/failing/{transport}", transport, ["hello"])
    assert report["status"] == "error"
    assert report["error"]["message"] == "The upstream model is overloaded."
    assert report["onErrorCalls"] == ["The upstream model is overloaded."]
    assert all_text(assistant_parts(report)[0]) == "Partial "


def test_sse_heartbeats_keep_the_stream_but_the_0_10_client_warns(
    server: tuple[RunningServer, RecordingDemo],
) -> None:
    """Documented: the 0.10 SSE adapter parses comment lines as JSON and warns, then skips."""
    srv, _ = server
    report = run_ts_client(f"{srv.url}/slow/sse", "sse", ["hello"])
    assert report["status"] == "ready" and report["error"] is None
    assert all_text(assistant_parts(report)[0]) == "Done."
    assert report["warnings"]
    assert all("Failed to parse SSE chunk" in w and ": ping" in w for w in report["warnings"])


def test_ndjson_pings_reach_on_chunk_but_change_nothing(
    server: tuple[RunningServer, RecordingDemo],
) -> None:
    srv, _ = server
    report = run_ts_client(f"{srv.url}/slow/ndjson", "ndjson", ["hello"])
    assert_clean(report)
    assert all_text(assistant_parts(report)[0]) == "Done."
    assert {"type": "ping"} in report["chunks"]
