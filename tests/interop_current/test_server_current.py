"""Our demo server, driven by the CURRENT reference clients under Node.

- the real ``@ag-ui/client@1.0.0`` ``HttpAgent`` (``agui_client.mjs``): every run must pass
  its verifier and its schema enforcement with **zero** console lines. It reads SSE only
  (it sends ``Accept: text/event-stream`` and parses ``data:`` lines), so NDJSON is not
  tried with it;
- the real ``@tanstack/ai-client@0.33.2`` ``ChatClient`` (``ts033_client.mjs``) over SSE
  and NDJSON: what it ends with (UI messages, tool executions, the requests it sent) is
  what a TanStack front end shows.

The server is ``chatconduit.demo.create_app`` with its defaults: nothing tells it which
client is calling, it recognises each one from the request (``dialect="auto"``).
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
from chatconduit.server import RunAgentInput, chat_endpoint
from chatconduit.server._spec_keys import SPEC_KEYS
from interop_current.harness import (
    events_of,
    require_node_modules,
    run_agui_client,
    run_input,
    run_ts033_client,
)
from servers import RunningServer, serve

pytestmark = pytest.mark.interop
TRANSPORTS = ("sse", "ndjson", "ws")  # ws: the real webSocket() adapter, push shape
GET_TIME = {
    "name": "get_time",
    "description": "Get the current time (client tool).",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": [],
    },
}


class RecordingDemo:
    """The demo agent, remembering what each request brought to the server."""

    def __init__(self) -> None:
        self.demo = DemoAgent(delay=0)
        self.seen: list[RunAgentInput] = []

    def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
        self.seen.append(params)
        return self.demo(params, request)


async def slow(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    """Old-style events with a silence long enough for several heartbeats."""
    ids = {"threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "RUN_STARTED", **ids, "model": "slow-model"}
    yield {"type": "STEP_STARTED", "stepName": "s1", "stepId": "s1", "stepType": "thinking"}
    yield {"type": "STEP_FINISHED", "stepName": "s1", "stepId": "s1", "delta": "Hmm."}
    await asyncio.sleep(0.3)  # a long tool call: SSE comments fill the silence
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Done.", "content": "Done."}
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
    yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop", "usage": {"promptTokens": 1}}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, RecordingDemo]]:
    require_node_modules()
    recorder = RecordingDemo()
    app = Starlette(
        routes=[
            Route("/slow/sse", chat_endpoint(slow, heartbeat=0.05), methods=["POST"]),
            Mount("/", create_app(agent=recorder)),
        ]
    )
    with serve(app) as srv:
        yield srv, recorder


def chat_url(srv: RunningServer, transport: str = "sse") -> str:
    if transport == "ws":
        return srv.ws_url("/api/chat/ws")
    return f"{srv.url}/api/chat/{transport}"


def assert_spec_only(events: list[dict[str, Any]]) -> None:
    """Only AG-UI keys on top: TanStack's extras travel in ``metadata.tanstack``."""
    for event in events:
        assert set(event) <= SPEC_KEYS[event["type"]], event


# --- @ag-ui/client 1.0 ------------------------------------------------------------------


def agui_run(srv: RunningServer, text: str, **extra: Any) -> dict[str, Any]:
    report = run_agui_client(chat_url(srv), run_input(text, **extra))
    assert report["warnings"] == []  # not one console line: nothing stripped, nothing dropped
    assert report["error"] is None and report["timedOut"] is False
    (response,) = report["responses"]
    assert response["status"] == 200
    assert_spec_only(events_of(response["body"], "sse"))
    return report


def types(report: dict[str, Any]) -> list[str]:
    return [event["type"] for event in report["events"]]


def test_agui_text(server: tuple[RunningServer, RecordingDemo]) -> None:
    srv, recorder = server
    report = agui_run(srv, "Hello 👋", run_id="run-agui-text")
    assert recorder.seen[-1].protocol_version == "1.0"
    assert types(report)[0] == "RUN_STARTED" and types(report)[-1] == "RUN_FINISHED"
    (message,) = report["newMessages"]
    assert message["role"] == "assistant" and "> Hello 👋" in message["content"]


def test_agui_server_tool(server: tuple[RunningServer, RecordingDemo]) -> None:
    srv, _ = server
    report = agui_run(srv, "what is 2+3*4", run_id="run-agui-calc")
    assert types(report).count("TOOL_CALL_END") == 1
    assert types(report).count("RUN_FINISHED") == 1
    tool = next(m for m in report["newMessages"] if m["role"] == "tool")
    assert json.loads(tool["content"]) == {"expression": "2+3*4", "result": 14}
    assert report["newMessages"][-1]["content"] == "`2+3*4` = **14**"


def test_agui_reasoning(server: tuple[RunningServer, RecordingDemo]) -> None:
    srv, _ = server
    report = agui_run(srv, "think about rivers", run_id="run-agui-think")
    assert "STEP_FINISHED" not in types(report)
    reasoning = next(m for m in report["newMessages"] if m["role"] == "reasoning")
    assert "“rivers”" in reasoning["content"]
    assert report["newMessages"][-1]["content"].startswith("### Thoughts on rivers")


def test_agui_client_tool_and_its_answer(server: tuple[RunningServer, RecordingDemo]) -> None:
    srv, recorder = server
    asked = agui_run(
        srv, 'use get_time {"timezone": "Europe/Paris"}', run_id="run-agui-ct", tools=[GET_TIME]
    )
    (interrupt,) = asked["pendingInterrupts"]
    assert interrupt["reason"] == "tanstack:client_tool_execution"
    assistant = next(m for m in asked["newMessages"] if m.get("toolCalls"))
    (call,) = assistant["toolCalls"]
    output = {"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Paris"}
    history = [
        {"id": "user-run-agui-ct", "role": "user", "content": "use get_time"},
        assistant,
        {"id": "tool-1", "role": "tool", "toolCallId": call["id"], "content": json.dumps(output)},
    ]
    answered = agui_run(
        srv,
        "",
        run_id="run-agui-ct-2",
        tools=[GET_TIME],
        messages=history,
        parentRunId="run-agui-ct",
        resume=[{"interruptId": interrupt["id"], "status": "resolved", "payload": output}],
    )
    params = recorder.seen[-1]
    assert params.parent_run_id == "run-agui-ct"
    assert params.resumed(interrupt["id"]) is not None
    assert "2026-11-24T12:00:00.000Z" in answered["newMessages"][-1]["content"]


def test_agui_heartbeats_and_old_style_events(server: tuple[RunningServer, RecordingDemo]) -> None:
    srv, _ = server
    report = run_agui_client(f"{srv.url}/slow/sse", run_input("hello", run_id="run-agui-slow"))
    assert report["warnings"] == [] and report["error"] is None
    assert b": ping" in report["responses"][0]["body"].encode()
    assert [m["content"] for m in report["newMessages"]] == ["Hmm.", "Done."]


@pytest.mark.parametrize(("approved", "said"), [(True, "Done"), (False, "declined")])
def test_agui_approval_and_its_answer(
    server: tuple[RunningServer, RecordingDemo], approved: bool, said: str
) -> None:
    srv, _ = server
    asked = agui_run(srv, "delete_file notes.txt", run_id=f"run-agui-ap-{approved}")
    (interrupt,) = asked["pendingInterrupts"]
    assert interrupt["reason"] == "tool_call" and interrupt["metadata"]["kind"] == "approval"
    history = [
        {"id": f"user-run-agui-ap-{approved}", "role": "user", "content": "delete_file notes.txt"},
        *asked["newMessages"],
    ]
    answered = agui_run(
        srv,
        "",
        run_id=f"run-agui-ap-{approved}-2",
        messages=history,
        parentRunId=f"run-agui-ap-{approved}",
        resume=[
            {
                "interruptId": interrupt["id"],
                "status": "resolved",
                "payload": {"approved": approved},
            }
        ],
    )
    # The result of an approved call comes inside the new run (RUN_STARTED first).
    assert types(answered)[0] == "RUN_STARTED"
    assert ("TOOL_CALL_RESULT" in types(answered)) is approved
    assert said in answered["newMessages"][-1]["content"]


# --- @tanstack/ai-client 0.33 -----------------------------------------------------------------


def ts_run(srv: RunningServer, transport: str, messages: list[str], **options: Any) -> Any:
    report = run_ts033_client(chat_url(srv, transport), transport, messages, **options)
    assert report["error"] is None and report["onErrorCalls"] == []
    assert report["status"] == "ready" and report["isLoading"] is False
    assert report["warnings"] == [] and report["interruptErrors"] == []
    for request in report["requests"]:
        if transport == "ws":
            assert request["socket"] == 0  # every turn and follow-up on the one socket
        else:
            assert request["status"] == 200
        assert_spec_only(events_of(request["responseBody"], transport))
    return report


def assistants(report: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [m["parts"] for m in report["messages"] if m["role"] == "assistant"]


def text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(p["content"] for p in parts if p["type"] == "text")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ts033_text_reasoning_and_server_tool(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = ts_run(srv, transport, ["Hello", "think about rivers", "what is 2+3*4"])
    assert report["requestCount"] == 3
    greeting, thinking, calc_call, calc_answer = assistants(report)
    assert "> Hello" in text_of(greeting)

    assert [p["type"] for p in thinking] == ["thinking", "text"]
    assert "“rivers”" in thinking[0]["content"]
    assert text_of(thinking).startswith("### Thoughts on rivers")

    call = next(p for p in calc_call if p["type"] == "tool-call")
    assert call["name"] == "calculator" and call["state"] == "complete"
    assert call["output"] == {"expression": "2+3*4", "result": 14}
    result = next(p for p in calc_call if p["type"] == "tool-result")
    assert result["toolCallId"] == call["id"] and result["state"] == "complete"
    assert text_of(calc_answer) == "`2+3*4` = **14**"

    # The thinking went back to the server as a reasoning message, parsed and kept.
    (reasoning,) = recorder.seen[2].reasoning
    assert "“rivers”" in reasoning.content and reasoning.assistant_id is not None


def test_ts033_heartbeats_and_old_style_events(
    server: tuple[RunningServer, RecordingDemo],
) -> None:
    srv, _ = server
    report = run_ts033_client(f"{srv.url}/slow/sse", "sse", ["hello"])
    assert report["error"] is None and report["warnings"] == [] and report["status"] == "ready"
    (parts,) = assistants(report)
    assert [(p["type"], p["content"]) for p in parts] == [("thinking", "Hmm."), ("text", "Done.")]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ts033_client_tool_runs_and_is_answered(
    server: tuple[RunningServer, RecordingDemo], transport: str
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = ts_run(
        srv, transport, ['use get_time {"timezone": "Europe/Zurich"}'], tools=["get_time"]
    )
    assert report["toolExecutions"] == [
        {
            "name": "get_time",
            "input": {"timezone": "Europe/Zurich"},
            "output": {"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Zurich"},
        }
    ]
    assert report["requestCount"] == 2  # the automatic follow-up with the output
    first, answer = recorder.seen
    (entry,) = answer.resume
    assert answer.parent_run_id == first.run_id
    assert entry.status == "resolved" and entry.interrupt_id.startswith("client_tool_")
    assert "2026-11-24T12:00:00.000Z" in text_of(assistants(report)[-1])


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("approval", "tools", "state", "said"),
    [
        ("approve", [], "complete", "Done"),
        ("deny", [], "approval-responded", "declined"),
        # Declared on the client too: the interrupt binds as a typed approval.
        ("approve", ["delete_file"], "complete", "Done"),
    ],
)
def test_ts033_approval(
    server: tuple[RunningServer, RecordingDemo],
    transport: str,
    approval: str,
    tools: list[str],
    state: str,
    said: str,
) -> None:
    srv, recorder = server
    recorder.seen.clear()
    report = ts_run(srv, transport, ["delete_file notes.txt"], approval=approval, tools=tools)
    assert report["requestCount"] == 2
    kinds = {i["kind"] for h in report["interruptHistory"] for i in h["interrupts"]}
    assert kinds == ({"tool-approval"} if tools else {"generic"})
    asked, answer = assistants(report)
    call = next(p for p in asked if p["type"] == "tool-call")
    assert call["name"] == "delete_file" and call["state"] == state
    assert call["approval"]["approved"] is (approval == "approve")
    if approval == "approve":
        assert call["output"] == {"deleted": "notes.txt", "simulated": True}
    else:
        assert "output" not in call
    assert said in text_of(answer)
    assert recorder.seen[1].resume[0].approved is (approval == "approve")
