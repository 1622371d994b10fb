"""Client tools and approvals as the current servers ask for them, and how we answer.

``ChatClient`` talks to a real uvicorn server that replays byte streams recorded from the
current reference packages (``tests/fixtures/current``): TanStack 0.58 interrupts
(``RUN_FINISHED.outcome.interrupts``), pydantic-ai 2.78 approval interrupts, and plain
AG-UI frontend tools (a call to a declared tool, then ``RUN_FINISHED``). The server
records what we POST; each answer is checked against what the real 0.33 client (or
``@ag-ui/client``) sent for the same recording: ``parentRunId``, ``resume`` and the
``role: "tool"`` messages, with only the client-minted run ids and our own message
shapes left out of the comparison.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit._processor import ApprovalRequest, ToolCallRequest
from chatconduit._run_input import convert_messages_to_model_messages
from chatconduit.events import RunFinishedEvent, event_to_json, parse_event_json
from servers import RunningServer, serve

CURRENT = Path(__file__).parent / "fixtures" / "current"
FLOWS = CURRENT / "tanstack-0.58" / "flows"
PYDANTIC_AI = CURRENT / "pydantic-ai-2.78"
CONTENT_TYPE = {"sse": "text/event-stream", "ndjson": "application/x-ndjson"}

GET_TIME_SCHEMA = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []}
DELETE_FILE_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}, "required": []}


def get_time(args: dict[str, Any]) -> dict[str, Any]:
    """``get_time`` of ``ts033_client.mjs``, key for key."""
    return {"time": "2026-11-24T12:00:00.000Z", "timezone": args.get("timezone", "UTC")}


GET_TIME = Tool("get_time", "Get the current time (client tool).", GET_TIME_SCHEMA, get_time)


# ---------------------------------------------------------------- the replaying server


class Replay:
    """POST ``/``: records the JSON body, answers with the next scripted response."""

    def __init__(self) -> None:
        self.script: list[tuple[bytes, str]] = []
        self.bodies: list[dict[str, Any]] = []

    async def endpoint(self, request: Request) -> Response:
        self.bodies.append(json.loads(await request.body()))
        if not self.script:
            return Response("no more responses scripted", status_code=500)
        content, content_type = self.script.pop(0)
        return Response(content, media_type=content_type)

    def play(self, *responses: tuple[bytes, str]) -> None:
        self.script = list(responses)
        self.bodies = []


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, Replay]]:
    replay = Replay()
    app = Starlette(routes=[Route("/", replay.endpoint, methods=["POST"])])
    with serve(app) as running:
        yield running, replay


def connection(framing: str, srv: RunningServer) -> Any:
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    return make(srv.url + "/")


def load_flow(name: str, variant: str) -> dict[str, Any]:
    flow: dict[str, Any] = json.loads((FLOWS / f"{name}.{variant}.json").read_text("utf-8"))
    return flow


def flow_responses(flow: dict[str, Any], framing: str) -> list[tuple[bytes, str]]:
    return [(e["responseBody"].encode("utf-8"), CONTENT_TYPE[framing]) for e in flow["exchanges"]]


def tanstack_response(name: str, framing: str) -> tuple[bytes, str]:
    path = CURRENT / "tanstack-0.58" / "responses" / f"{name}.{framing}"
    return path.read_bytes(), CONTENT_TYPE[framing]


def pydantic_ai_response(name: str) -> tuple[bytes, str]:
    return (PYDANTIC_AI / "responses" / f"{name}.sse").read_bytes(), CONTENT_TYPE["sse"]


def pydantic_ai_request(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PYDANTIC_AI / "requests" / f"{name}.body.json").read_text())
    return body


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "tool"]


def answer_keys(body: dict[str, Any]) -> list[str]:
    """The body's top-level keys in order (our messages differ in shape, not these)."""
    return list(body)


def assert_answers_like_033(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The interrupt answer: same keys in the same order, the same parentRunId (the
    replayed run's id), resume and tool messages, byte for byte as JSON."""
    assert answer_keys(ours) == answer_keys(theirs)
    assert ours["threadId"] == theirs["threadId"]
    assert ours["parentRunId"] == theirs["parentRunId"]
    assert json.dumps(ours["resume"]) == json.dumps(theirs["resume"])
    assert json.dumps(tool_messages(ours)) == json.dumps(tool_messages(theirs))
    assert ours["runId"] != theirs["runId"] and ours["runId"] != ours["parentRunId"]


def last_event(body: str) -> dict[str, Any]:
    """The last event of a recorded response: either framing, durable or not."""
    line = [line for line in body.split("\n") if line.startswith(("data: ", "{"))][-1]
    event: dict[str, Any] = json.loads(line.removeprefix("data: "))
    return event.get("chunk", event)  # a durable NDJSON line is an {id, chunk} envelope


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def final_text(flow: dict[str, Any]) -> str:
    last = flow["finalMessages"][-1]
    return "".join(p["content"] for p in last["parts"] if p["type"] == "text")


FRAMINGS = ["sse", "ndjson"]
# The 0.33 flows were recorded plain and durable (``/durable``: ids on every event, a
# ``run.accepted`` first): ``<flow>.<variant>.json``.
VARIANTS = ["sse", "ndjson", "durable.sse", "durable.ndjson"]


# ---------------------------------------------------------------- the event model


def test_run_finished_outcome_is_typed_and_re_encodes_to_the_same_bytes() -> None:
    sources = [
        FLOWS / "approval_approve.sse.json",
        FLOWS / "client_tool.sse.json",
    ]
    lines = [
        line[len("data: ") :]
        for source in sources
        for exchange in json.loads(source.read_text("utf-8"))["exchanges"]
        for line in exchange["responseBody"].split("\n")
        if line.startswith("data: ")
    ]
    lines += [
        line[len("data: ") :]
        for line in pydantic_ai_response("approval")[0].decode().split("\n")
        if line.startswith("data: ")
    ]
    finished = []
    for line in lines:
        event = parse_event_json(line)
        assert event_to_json(event) == line
        if isinstance(event, RunFinishedEvent) and event.outcome is not None:
            finished.append(event)
    kinds = [(e.outcome.kind, [i.reason for i in e.outcome.parsed_interrupts()]) for e in finished]
    assert kinds == [
        ("interrupt", ["tool_call"]),
        ("interrupt", ["tanstack:client_tool_execution"]),
        ("interrupt", ["tool_call"]),
    ]
    pydantic = finished[-1].outcome
    assert pydantic is not None
    interrupt = pydantic.parsed_interrupts()[0]
    assert interrupt.id == "int-call_delete_file_1"
    assert interrupt.tool_call_id == "call_delete_file_1"
    assert interrupt.metadata is None
    assert interrupt.response_schema["required"] == ["approved"]


# ---------------------------------------------------------------- TanStack 0.58 interrupts


@pytest.mark.parametrize("variant", VARIANTS)
async def test_tanstack_client_tool_interrupt_runs_the_tool_and_answers_like_033(
    server: tuple[RunningServer, Replay], variant: str
) -> None:
    framing = variant.rpartition(".")[2]
    srv, replay = server
    flow = load_flow("client_tool", variant)
    replay.play(*flow_responses(flow, framing))
    seen: list[ToolCallRequest] = []
    client = ChatClient(
        connection(framing, srv),
        thread_id=flow["exchanges"][0]["body"]["threadId"],
        tools=[GET_TIME],
        on_tool_call=seen.append,
    )
    reply = await client.send_message(flow["messagesSent"][0])

    assert client.error is None
    assert len(replay.bodies) == 2  # the follow-up went out by itself
    assert_answers_like_033(replay.bodies[1], flow["exchanges"][1]["body"])
    assert text_of(reply) == final_text(flow)
    [request] = seen
    assert request.tool_name == "get_time" and request.input == {"timezone": "Europe/Paris"}
    assert (
        request.interrupt is not None
        and request.interrupt.id == (flow["exchanges"][1]["body"]["resume"][0]["interruptId"])
    )
    # The first request was no answer: nothing to resume.
    assert "parentRunId" not in replay.bodies[0] and "resume" not in replay.bodies[0]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("flow_name", "approved", "declared"),
    [
        ("approval_approve", True, False),
        ("approval_deny", False, False),
        ("approval_typed_approve", True, True),
    ],
)
async def test_tanstack_approval_interrupt_reaches_on_approval_request_and_answers_like_033(
    server: tuple[RunningServer, Replay],
    variant: str,
    flow_name: str,
    approved: bool,
    declared: bool,
) -> None:
    framing = variant.rpartition(".")[2]
    srv, replay = server
    flow = load_flow(flow_name, variant)
    replay.play(*flow_responses(flow, framing), tanstack_response("text", framing))
    asked: list[ApprovalRequest] = []
    # Typed: the client declares the server's approval tool too (no execute).
    tools = [Tool("delete_file", "Delete a file (server tool that needs the user to approve it).",
                  DELETE_FILE_SCHEMA)] if declared else []  # fmt: skip
    client = ChatClient(
        connection(framing, srv),
        thread_id=flow["exchanges"][0]["body"]["threadId"],
        tools=tools,
        on_approval_request=asked.append,
    )
    assert await client.send_message(flow["messagesSent"][0]) is not None
    assert len(replay.bodies) == 1  # waiting for the user

    [request] = asked
    interrupt = last_event(flow["exchanges"][0]["responseBody"])["outcome"]["interrupts"][0]
    assert request.approval_id == interrupt["id"]
    assert request.tool_call_id == interrupt["toolCallId"]
    assert (request.tool_name, request.input) == ("delete_file", {"path": "/tmp/demo.txt"})
    assert request.message == "Approval required to run delete_file"
    assert request.response_schema == interrupt["responseSchema"]
    call = next(p for p in client.messages[-1].parts if isinstance(p, ToolCallPart))
    assert call.state == "approval-requested"
    assert call.approval is not None and call.approval.id == interrupt["id"]

    reply = await client.add_tool_approval_response(request.approval_id, approved)
    assert len(replay.bodies) == 2
    assert_answers_like_033(replay.bodies[1], flow["exchanges"][1]["body"])
    assert text_of(reply) == final_text(flow)
    if approved:
        # The server ran the tool and sent its result first, for the earlier message's call.
        call = next(p for p in client.messages[1].parts if isinstance(p, ToolCallPart))
        assert call.output == {"deleted": "/tmp/demo.txt"}
        assert any(isinstance(p, ToolResultPart) for p in client.messages[1].parts)

    # Every later request still answers the call, as the 0.33 client does (run by hand
    # against 0.58: a denial's decision, an approved call's result, each with the
    # toolResult metadata); without it the 0.58 server asks for the approval again.
    await client.send_message("Hello again")
    later = replay.bodies[2]
    assert "resume" not in later and "parentRunId" not in later
    content = (
        '{"deleted":"/tmp/demo.txt"}' if approved else tool_messages(replay.bodies[1])[0]["content"]
    )
    assert tool_messages(later) == [
        {
            "role": "tool",
            "id": f"tool-{request.tool_call_id}",
            "toolCallId": request.tool_call_id,
            "content": content,
            "metadata": {"tanstack": {"toolResult": {}}},
        }
    ]


@pytest.mark.parametrize("variant", VARIANTS)
async def test_tanstack_approval_answered_from_inside_the_callback(
    server: tuple[RunningServer, Replay], variant: str
) -> None:
    framing = variant.rpartition(".")[2]
    srv, replay = server
    flow = load_flow("approval_approve", variant)
    replay.play(*flow_responses(flow, framing))

    async def approve(request: ApprovalRequest) -> None:
        await client.add_tool_approval_response(request.approval_id, True)

    client = ChatClient(
        connection(framing, srv),
        thread_id=flow["exchanges"][0]["body"]["threadId"],
        on_approval_request=approve,
    )
    reply = await client.send_message(flow["messagesSent"][0])
    assert len(replay.bodies) == 2  # one turn: the answer went out as its follow-up
    assert_answers_like_033(replay.bodies[1], flow["exchanges"][1]["body"])
    assert text_of(reply) == final_text(flow)


@pytest.mark.parametrize("variant", VARIANTS)
async def test_an_unanswered_interrupt_is_cancelled_by_the_next_message(
    server: tuple[RunningServer, Replay], variant: str
) -> None:
    """A new message while an approval waits: the server hears ``cancelled`` (no payload,
    no tool message for the call), as the 0.33 client cancels it."""
    framing = variant.rpartition(".")[2]
    srv, replay = server
    flow = load_flow("approval_cancel", variant)
    replay.play(*flow_responses(flow, framing))
    client = ChatClient(
        connection(framing, srv), thread_id=flow["exchanges"][0]["body"]["threadId"]
    )
    await client.send_message(flow["messagesSent"][0])
    reply = await client.send_message("Never mind.")
    ours, theirs = replay.bodies[1], flow["exchanges"][1]["body"]
    assert answer_keys(ours) == answer_keys(theirs)
    assert ours["parentRunId"] == theirs["parentRunId"]
    assert (
        ours["resume"]
        == theirs["resume"]
        == [{"interruptId": theirs["resume"][0]["interruptId"], "status": "cancelled"}]
    )
    assert tool_messages(ours) == tool_messages(theirs) == []
    assert ours["messages"][-1]["content"] == "Never mind."
    # The server's cancellation result lands on the cancelled call.
    call = next(p for p in client.messages[1].parts if isinstance(p, ToolCallPart))
    assert call.output == {"error": "Tool execution cancelled"}
    assert text_of(reply) == final_text(flow)


# ---------------------------------------------------------------- pydantic-ai approvals


@pytest.mark.parametrize(("approved", "answer"), [(True, "approve"), (False, "deny")])
async def test_pydantic_ai_approval_interrupt_is_answered_with_resume_only(
    server: tuple[RunningServer, Replay], approved: bool, answer: str
) -> None:
    srv, replay = server
    replay.play(pydantic_ai_response("approval"), pydantic_ai_response(f"approval.resume-{answer}"))
    asked: list[ApprovalRequest] = []
    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"),
        thread_id="thread-fixture",
        on_approval_request=asked.append,
    )
    await client.send_message('delete_file {"path": "/tmp/demo.txt"}')
    [request] = asked
    assert request.approval_id == "int-call_delete_file_1"
    assert request.tool_call_id == "call_delete_file_1"
    assert request.tool_name == "delete_file" and request.input == {"path": "/tmp/demo.txt"}
    assert request.message == 'Approve delete_file({"path":"/tmp/demo.txt"})?'
    assert request.response_schema["properties"]["approved"] == {"type": "boolean"}

    reply = await client.add_tool_approval_response(request.approval_id, approved)
    ours = replay.bodies[1]
    theirs = pydantic_ai_request(f"approval.resume-{answer}")
    assert ours["parentRunId"] == theirs["parentRunId"] == "run-approval"
    payload = {"approved": approved}
    expected = {"interruptId": "int-call_delete_file_1", "status": "resolved", "payload": payload}
    assert ours["resume"] == [expected]
    # @ag-ui/client sends no tool message for it; neither do we (pydantic-ai resumes the
    # deferred call from ``resume``).
    assert tool_messages(ours) == tool_messages(theirs) == []
    assert text_of(reply).startswith("The delete_file tool returned")


async def test_pydantic_ai_approval_cancelled_by_the_next_message(
    server: tuple[RunningServer, Replay],
) -> None:
    srv, replay = server
    replay.play(pydantic_ai_response("approval"), pydantic_ai_response("approval.resume-cancel"))
    client = ChatClient(fetch_server_sent_events(srv.url + "/"), thread_id="thread-fixture")
    await client.send_message('delete_file {"path": "/tmp/demo.txt"}')
    await client.send_message("Forget it.")
    theirs = pydantic_ai_request("approval.resume-cancel")
    assert replay.bodies[1]["resume"] == theirs["resume"]
    assert replay.bodies[1]["parentRunId"] == theirs["parentRunId"]


# ---------------------------------------------------------------- plain AG-UI frontend tools


@pytest.mark.parametrize("scenario", ["frontend_tool", "frontend_tool.protocol-1.0"])
async def test_plain_agui_frontend_tool_runs_and_the_follow_up_carries_its_result(
    server: tuple[RunningServer, Replay], scenario: str
) -> None:
    srv, replay = server
    replay.play(pydantic_ai_response(scenario), pydantic_ai_response("frontend_tool.turn2"))
    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"), thread_id="thread-fixture", tools=[GET_TIME]
    )
    reply = await client.send_message('What is get_time {"timezone": "Europe/Paris"}')

    assert len(replay.bodies) == 2
    ours = replay.bodies[1]
    theirs = pydantic_ai_request("frontend_tool.turn2")
    assert "resume" not in ours and "parentRunId" not in ours  # no interrupt to answer
    [tool] = tool_messages(ours)
    [recorded] = tool_messages(theirs)
    assert {k: tool[k] for k in ("id", "role", "toolCallId")} == {
        k: recorded[k] for k in ("id", "role", "toolCallId")
    }
    assert json.loads(tool["content"]) == json.loads(recorded["content"])
    assert text_of(reply).startswith("The get_time tool returned")


async def test_a_frontend_tool_without_execute_waits_for_add_tool_result(
    server: tuple[RunningServer, Replay],
) -> None:
    srv, replay = server
    replay.play(pydantic_ai_response("frontend_tool"), pydantic_ai_response("frontend_tool.turn2"))
    seen: list[ToolCallRequest] = []
    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"),
        tools=[Tool("get_time", "d", GET_TIME_SCHEMA)],
        on_tool_call=seen.append,
    )
    await client.send_message('What is get_time {"timezone": "Europe/Paris"}')
    assert len(replay.bodies) == 1
    [request] = seen
    assert request.tool_call_id == "call_get_time_1"
    assert request.input == {"timezone": "Europe/Paris"}
    assert request.interrupt is None
    await client.add_tool_result("call_get_time_1", {"time": "noon"})
    assert json.loads(tool_messages(replay.bodies[1])[0]["content"]) == {"time": "noon"}


# ---------------------------------------------------------------- tool errors


async def test_a_tool_error_reaches_the_server_as_readable_content(
    server: tuple[RunningServer, Replay],
) -> None:
    srv, replay = server
    replay.play(
        pydantic_ai_response("frontend_tool"), pydantic_ai_response("frontend_tool.turn2-error")
    )
    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"), tools=[Tool("get_time", "d", GET_TIME_SCHEMA)]
    )
    await client.send_message('What is get_time {"timezone": "Europe/Paris"}')
    await client.add_tool_result("call_get_time_1", None, error="the user closed the dialog")
    [tool] = tool_messages(replay.bodies[1])
    assert tool["content"] == '{"error":"the user closed the dialog"}'
    assert tool["error"] == "the user closed the dialog"  # the 0.10 / 0.33 field stays


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_a_failing_tanstack_client_tool_answers_its_interrupt_with_the_error(
    server: tuple[RunningServer, Replay], framing: str
) -> None:
    srv, replay = server
    flow = load_flow("client_tool", framing)
    replay.play(*flow_responses(flow, framing))

    def broken(args: Any) -> Any:
        raise RuntimeError("clock unavailable")

    client = ChatClient(
        connection(framing, srv),
        tools=[Tool("get_time", "Get the current time (client tool).", GET_TIME_SCHEMA, broken)],
    )
    await client.send_message(flow["messagesSent"][0])
    answer = replay.bodies[1]
    # The payload is what the 0.33 client sends for a failed tool ...
    assert answer["resume"][0]["payload"] == {"error": "clock unavailable"}
    # ... and the tool message says it in ``content`` too (0.33 writes "null" there).
    [tool] = tool_messages(answer)
    assert tool["content"] == '{"error":"clock unavailable"}'
    assert tool["error"] == "clock unavailable"


def test_an_errored_tool_result_reaches_the_model_as_its_error() -> None:
    message = UIMessage(
        id="a1",
        role="assistant",
        parts=[
            ToolCallPart(id="c1", name="get_time", arguments="{}", state="input-complete"),
            ToolResultPart(tool_call_id="c1", content="null", state="error", error="no clock"),
        ],
    )
    wire_tool = {"role": "tool", "toolCallId": "c2", "content": "null", "error": "offline"}
    model = convert_messages_to_model_messages([message, wire_tool])
    contents = [m.content for m in model if m.role == "tool"]
    assert contents == ['{"error":"no clock"}', '{"error":"offline"}']
    # A result that says more than null is kept as it is (as the reference keeps it).
    kept = UIMessage(
        id="a2",
        role="assistant",
        parts=[ToolResultPart(tool_call_id="c3", content="partial", state="error", error="x")],
    )
    assert [m.content for m in convert_messages_to_model_messages([kept])] == ["partial"]


# ---------------------------------------------------------------- a failed turn


def _without_run_finished(body: bytes) -> bytes:
    frames = [f for f in body.split(b"\n\n") if f and b'"RUN_FINISHED"' not in f]
    error = b'data: {"type":"RUN_ERROR","message":"model crashed","code":"boom"}'
    return b"\n\n".join([*frames, error]) + b"\n\n"


async def test_a_failed_turn_answers_its_open_client_call_with_an_error(
    server: tuple[RunningServer, Replay],
) -> None:
    """The run fails after a call to a client tool that nobody answered: the call gets an
    error result, so the next request is valid for backends that require every call to
    be answered (as after stop())."""
    srv, replay = server
    first, content_type = pydantic_ai_response("frontend_tool")
    replay.play((_without_run_finished(first), content_type), pydantic_ai_response("text"))
    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"), tools=[Tool("get_time", "d", GET_TIME_SCHEMA)]
    )
    await client.send_message('What is get_time {"timezone": "Europe/Paris"}')
    assert client.error is not None and "model crashed" in str(client.error)
    result = next(p for p in client.messages[1].parts if isinstance(p, ToolResultPart))
    assert result.state == "error" and result.error is not None
    assert "request failed" in result.error

    await client.send_message("Hello")
    [tool] = tool_messages(replay.bodies[1])
    assert tool["toolCallId"] == "call_get_time_1"
    assert "request failed" in json.loads(tool["content"])["error"]


async def test_a_slow_client_tool_is_cancelled_and_answered_when_the_run_fails(
    server: tuple[RunningServer, Replay],
) -> None:
    srv, replay = server
    flow = load_flow("client_tool", "sse")
    first = flow["exchanges"][0]["responseBody"].encode()
    # The interrupt asks for the tool, then the stream breaks off with an error.
    broken = first + b'data: {"type":"RUN_ERROR","message":"gone","code":"x"}\n\n'
    replay.play((broken, CONTENT_TYPE["sse"]))
    finished = asyncio.Event()

    async def slow(args: Any) -> Any:
        await asyncio.sleep(30)  # still running (or not yet started) when the run fails
        finished.set()

    client = ChatClient(
        fetch_server_sent_events(srv.url + "/"),
        tools=[Tool("get_time", "Get the current time (client tool).", GET_TIME_SCHEMA, slow)],
    )
    await asyncio.wait_for(client.send_message(flow["messagesSent"][0]), 10)
    assert client.error is not None and not finished.is_set()
    call = next(p for p in client.messages[1].parts if isinstance(p, ToolCallPart))
    assert call.has_output and "request failed" in call.output["error"]
