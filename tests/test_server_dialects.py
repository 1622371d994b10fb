"""Wire dialects: the rule that picks one per request, and the transforms that write them.

``tanstack-0.18`` must stay byte-exact (the 0.10 client's fixtures); ``current`` must be
what ``@tanstack/ai-client@0.33`` and ``@ag-ui/client@1.0`` accept. :func:`verify` below
replays the ``@ag-ui/client`` verifier's rules (``verifyEvents`` in its dist) and its
schema enforcement (only AG-UI keys on top), so the transform is checked here without
Node; ``tests/interop_current/test_server_current.py`` checks it against the real clients.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit._codec._sse import SSEDecoder
from chatconduit._run_input import parse_run_agent_input
from chatconduit._run_input._interrupts import approval_interrupt, client_tool_interrupt
from chatconduit.demo import DemoAgent
from chatconduit.demo._agent import APPROVAL_TOOL
from chatconduit.server import (
    DurableRuns,
    InMemoryStreamLog,
    RunAgentInput,
    UserFacingError,
    chat_endpoint,
    http_stream,
    server_sent_events_stream,
)
from chatconduit.server._current_dialect import CurrentDialect
from chatconduit.server._dialect import choose_dialect
from chatconduit.server._spec_keys import SPEC_KEYS
from chatconduit.server._tanstack_018_dialect import Tanstack018Dialect
from servers import RunningServer, serve

FIXTURES = Path(__file__).parent / "fixtures"
OLD = FIXTURES / "tanstack-0.10"
NEW = FIXTURES / "current"


def fixture_events(path: Path) -> list[dict[str, Any]]:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".sse":
        return [json.loads(b.removeprefix("data: ")) for b in raw.split("\n\n") if b.strip()]
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def body(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def flow_requests(name: str) -> list[dict[str, Any]]:
    """The bodies the real 0.33 client sent in a recorded flow."""
    flow = body(NEW / "tanstack-0.58" / "flows" / f"{name}.sse.json")
    return [exchange["body"] for exchange in flow["exchanges"]]


def to_current(events: list[dict[str, Any]], **ids: str) -> list[dict[str, Any]]:
    dialect = CurrentDialect(**ids)
    out = [converted for event in events for converted in dialect.convert(dict(event))]
    return out + dialect.finish()


def verify(events: list[dict[str, Any]]) -> None:
    """What ``@ag-ui/client@1.0`` refuses: raise on the first violation (it aborts the run)."""
    text: set[str] = set()
    tools: set[str] = set()
    steps: set[str] = set()
    spans: set[str] = set()
    reasoning: set[str] = set()
    started = finished = errored = running = False
    for event in events:
        kind = event["type"]
        assert kind in SPEC_KEYS, f"not an AG-UI 1.0 event: {kind}"
        assert set(event) <= SPEC_KEYS[kind], f"non-spec keys on {kind}: {event}"
        assert not (errored and kind != "RUN_STARTED"), f"{kind} after RUN_ERROR"
        assert not (finished and kind not in ("RUN_ERROR", "RUN_STARTED")), f"{kind} after finish"
        if not started:
            assert kind in ("RUN_STARTED", "RUN_ERROR"), "first event must be RUN_STARTED"
            started = True
        elif kind == "RUN_STARTED":
            assert not (running and not finished and not errored), "RUN_STARTED while running"
            finished = errored = False
        if kind == "RUN_STARTED":
            running = True
        elif kind == "TEXT_MESSAGE_START":
            assert event["messageId"] not in text
            text.add(event["messageId"])
        elif kind in ("TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"):
            assert event["messageId"] in text, f"{kind} without start"
            if kind == "TEXT_MESSAGE_END":
                text.remove(event["messageId"])
        elif kind == "TOOL_CALL_START":
            assert event["toolCallId"] not in tools and isinstance(event["toolCallName"], str)
            tools.add(event["toolCallId"])
        elif kind in ("TOOL_CALL_ARGS", "TOOL_CALL_END"):
            assert event["toolCallId"] in tools, f"{kind} without start (or a second END)"
            if kind == "TOOL_CALL_END":
                tools.remove(event["toolCallId"])
        elif kind == "TOOL_CALL_RESULT":
            assert isinstance(event["messageId"], str) and isinstance(event["content"], str)
        elif kind == "STEP_STARTED":
            assert event["stepName"] not in steps
            steps.add(event["stepName"])
        elif kind == "STEP_FINISHED":
            assert event["stepName"] in steps, "STEP_FINISHED for a step not started"
            steps.remove(event["stepName"])
        elif kind in ("REASONING_START", "REASONING_MESSAGE_START"):
            opened = spans if kind == "REASONING_START" else reasoning
            assert event["messageId"] not in opened
            opened.add(event["messageId"])
        elif kind in ("REASONING_MESSAGE_CONTENT", "REASONING_MESSAGE_END", "REASONING_END"):
            opened = spans if kind == "REASONING_END" else reasoning
            assert event["messageId"] in opened, f"{kind} without start"
            if kind != "REASONING_MESSAGE_CONTENT":
                opened.remove(event["messageId"])
        elif kind == "RUN_FINISHED":
            assert not (text or tools or steps or spans or reasoning), (
                "RUN_FINISHED with open items"
            )
            assert isinstance(event["runId"], str) and isinstance(event["threadId"], str)
            finished = True
        elif kind == "RUN_ERROR":
            assert isinstance(event["message"], str)
            errored = True


# --- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((OLD / "requests").glob("*.body.json")), ids=lambda p: p.name
)
def test_the_0_10_client_body_gets_the_0_18_dialect(path: Path) -> None:
    assert choose_dialect(parse_run_agent_input(body(path))) == "tanstack-0.18"


@pytest.mark.parametrize(
    "flow", ["client_tool", "approval_approve", "approval_deny", "approval_cancel"]
)
def test_the_0_33_client_body_gets_the_current_dialect(flow: str) -> None:
    first, answer = flow_requests(flow)
    assert choose_dialect(parse_run_agent_input(first)) == "current"  # spec-only messages
    assert choose_dialect(parse_run_agent_input(answer)) == "current"  # and resume


@pytest.mark.parametrize(
    "path",
    sorted((NEW / "tanstack-0.58" / "agui-client").glob("*.json")),
    ids=lambda p: p.name,
)
def test_the_agui_client_body_gets_the_current_dialect(path: Path) -> None:
    sent = body(path)["request"]["body"]
    assert sent["protocolVersion"] == "1.0"
    assert choose_dialect(parse_run_agent_input(sent)) == "current"


def test_the_rule_in_its_corners() -> None:
    old = body(OLD / "requests" / "sse-first-turn.body.json")
    parsed = parse_run_agent_input(old)
    assert choose_dialect(None) == "tanstack-0.18"  # helpers without a request: as always
    assert choose_dialect(parsed, "current") == "current"  # an explicit choice wins
    legacy = parse_run_agent_input({"messages": [{"role": "user", "content": "hi"}]})
    assert choose_dialect(legacy) == "tanstack-0.18"
    # 0.10-shaped messages, but a protocol version / an answer to a pause: current
    assert choose_dialect(parse_run_agent_input({**old, "protocolVersion": "1.0"})) == "current"
    assert choose_dialect(parse_run_agent_input({**old, "parentRunId": "r0"})) == "current"
    bare = {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "u", "role": "user", "content": "x"}],
    }
    assert choose_dialect(parse_run_agent_input({**bare, "tools": [], "context": []})) == "current"


# --- the current transform on the 0.18 fixtures ---------------------------------------------


@pytest.mark.parametrize("scenario", ["text", "tools", "thinking", "reasoning", "long", "error"])
@pytest.mark.parametrize("framing", ["sse", "ndjson"])
def test_every_0_18_fixture_becomes_a_stream_the_agui_verifier_accepts(
    scenario: str, framing: str
) -> None:
    old = fixture_events(OLD / "responses" / f"{scenario}.{framing}")
    new = to_current(old)
    verify(new)

    # Nothing the client renders is lost: the same text, per message.
    def texts(events: list[dict[str, Any]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in events:
            if e["type"] == "TEXT_MESSAGE_CONTENT":
                out[e["messageId"]] = out.get(e["messageId"], "") + e["delta"]
        return out

    assert texts(new) == texts(old)


def test_server_tool_result_model_and_usage() -> None:
    new = to_current(fixture_events(OLD / "responses" / "tools.sse"))
    kinds = [e["type"] for e in new]
    assert kinds.count("TOOL_CALL_END") == 1 and kinds.count("TOOL_CALL_RESULT") == 1
    end = next(e for e in new if e["type"] == "TOOL_CALL_END")
    assert end["metadata"]["tanstack"]["input"] == {"city": "Zürich", "unit": "celsius"}
    result = next(e for e in new if e["type"] == "TOOL_CALL_RESULT")
    # The agent's own TOOL_CALL_RESULT wins over the one made from the second END.
    assert result["messageId"] == "tool-result-run-fixture-1" and result["role"] == "tool"
    deltas = [e for e in new if e["type"] in ("TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS")]
    assert all(
        set(e) == {"type", "timestamp", "messageId" if "messageId" in e else "toolCallId", "delta"}
        for e in deltas
    )
    started = next(e for e in new if e["type"] == "TOOL_CALL_START")
    assert started["toolCallName"] == "get_weather"
    assert started["metadata"]["tanstack"] == {"model": "harness-model", "index": 0}
    finished = new[-1]
    assert finished["usage"] == [
        {"model": "harness-model", "inputTokens": 12, "outputTokens": 34, "totalTokens": 46}
    ]
    assert finished["metadata"]["tanstack"] == {"model": "harness-model", "finishReason": "stop"}


def test_a_result_carried_only_by_tool_call_end_becomes_tool_call_result() -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolName": "calc"},
        {"type": "TOOL_CALL_END", "toolCallId": "c", "input": {}},
        {"type": "TOOL_CALL_END", "toolCallId": "c", "result": {"ok": 1}, "state": "output-error"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    new = to_current(events)
    verify(new)
    (result,) = [e for e in new if e["type"] == "TOOL_CALL_RESULT"]
    assert result["content"] == '{"ok":1}' and result["toolCallId"] == "c"
    assert result["metadata"] == {"tanstack": {"state": "output-error"}}


def test_thinking_steps_become_a_reasoning_message() -> None:
    old = fixture_events(OLD / "responses" / "thinking.sse")
    new = to_current(old)
    kinds = [e["type"] for e in new]
    assert "STEP_STARTED" not in kinds and "STEP_FINISHED" not in kinds
    thought = "".join(e["delta"] for e in new if e["type"] == "REASONING_MESSAGE_CONTENT")
    assert thought == next(e for e in reversed(old) if e["type"] == "STEP_FINISHED")["content"]
    # closed before the answer starts
    assert kinds.index("REASONING_END") < kinds.index("TEXT_MESSAGE_START")


def test_steps_duplicating_the_agents_own_reasoning_are_dropped() -> None:
    old = fixture_events(OLD / "responses" / "reasoning.sse")
    new = to_current(old)
    assert not {"STEP_STARTED", "STEP_FINISHED"} & {e["type"] for e in new}
    thought = "".join(e["delta"] for e in new if e["type"] == "REASONING_MESSAGE_CONTENT")
    assert thought == "Reasoning step by step… ✔"  # once, not twice


def test_other_steps_stay_steps_and_are_closed_once() -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "STEP_STARTED", "stepName": "plan", "stepId": "s1"},
        {"type": "STEP_FINISHED", "stepName": "plan", "delta": "x"},
        {"type": "STEP_FINISHED", "stepName": "plan"},
        {"type": "STEP_STARTED", "stepName": "act"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    new = to_current(events)
    verify(new)
    assert [e["type"] for e in new].count("STEP_FINISHED") == 2  # "plan" once, "act" closed
    assert new[1]["metadata"] == {"tanstack": {"stepId": "s1"}}


def test_run_error_is_flat_and_final() -> None:
    old = fixture_events(OLD / "responses" / "error.sse")
    new = to_current([*old, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}])
    verify(new)
    error = new[-1]
    assert error["type"] == "RUN_ERROR"
    assert (error["message"], error["code"]) == (
        "Scripted failure mid-stream: upstream exploded 💥",
        "scripted_error",
    )
    assert "error" not in error


def test_an_agent_loop_sends_one_run_started_and_one_run_finished() -> None:
    ids = {"threadId": "t", "runId": "r"}
    events = [
        {"type": "RUN_STARTED", **ids},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "w"},
        {"type": "TOOL_CALL_END", "toolCallId": "c"},
        {"type": "RUN_FINISHED", **ids, "finishReason": "tool_calls"},  # one model iteration
        {"type": "TOOL_CALL_RESULT", "toolCallId": "c", "messageId": "m0", "content": "1"},
        {"type": "RUN_STARTED", **ids},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "done"},
        {"type": "RUN_FINISHED", **ids, "finishReason": "stop"},
    ]
    new = to_current(events)
    verify(new)
    kinds = [e["type"] for e in new]
    assert kinds.count("RUN_STARTED") == kinds.count("RUN_FINISHED") == 1
    assert new[-1]["metadata"]["tanstack"]["finishReason"] == "stop"
    assert kinds[-2] == "TEXT_MESSAGE_END"  # the open message is closed before the finish


def test_a_result_before_run_started_gets_a_run_started_first() -> None:
    """TanStack 0.58 sends an approved call's result before RUN_STARTED; AG-UI refuses that."""
    events = [
        {"type": "TOOL_CALL_RESULT", "toolCallId": "c", "messageId": "m", "content": "{}"},
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    new = to_current(events, run_id="r", thread_id="t")
    verify(new)
    assert [e["type"] for e in new] == ["RUN_STARTED", "TOOL_CALL_RESULT", "RUN_FINISHED"]
    assert (new[0]["runId"], new[0]["threadId"]) == ("r", "t")


def test_a_stream_without_its_finish_is_finished() -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "hi"},
    ]
    new = to_current(events)
    verify(new)
    assert [e["type"] for e in new][-3:] == [
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]


def test_unknown_events_travel_as_raw() -> None:
    new = to_current([{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}, {"type": "ping"}])
    verify(new)
    assert new[1] == {"type": "RAW", "event": {"type": "ping"}, "source": "chatconduit"}


# --- interrupts ---------------------------------------------------------------------------


def recorded_interrupt(scenario: str) -> dict[str, Any]:
    finished = fixture_events(NEW / "tanstack-0.58" / "responses" / f"{scenario}.sse")[-1]
    (interrupt,) = finished["outcome"]["interrupts"]
    return dict(interrupt)


def test_the_client_tool_interrupt_is_tanstacks_to_the_byte() -> None:
    ours = client_tool_interrupt(
        "run-client_tool-sse",
        "call-run-client_tool-sse-1",
        "get_time",
        {"timezone": "Europe/Paris"},
    )
    assert json.dumps(ours) == json.dumps(recorded_interrupt("client_tool"))


def test_the_approval_interrupt_is_tanstacks_to_the_byte() -> None:
    ours = approval_interrupt(
        "run-approval-sse",
        "call-run-approval-sse-1",
        "delete_file",
        {"path": "/tmp/demo.txt"},
        input_schema=APPROVAL_TOOL.parameters,  # the same schema as the reference's tool
    )
    # The hashes included: the 0.33 client recomputes them to bind a typed approval.
    assert json.dumps(ours) == json.dumps(recorded_interrupt("approval"))


def test_legacy_custom_events_become_interrupts_in_the_current_dialect() -> None:
    ids = {"threadId": "t", "runId": "r"}
    events = [
        {"type": "RUN_STARTED", **ids},
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "get_time"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        {
            "type": "CUSTOM",
            "name": "tool-input-available",
            "value": {"toolCallId": "c1", "toolName": "get_time", "input": {"tz": "UTC"}},
        },
        {
            "type": "CUSTOM",
            "name": "approval-requested",
            "value": {
                "toolCallId": "c2",
                "toolName": "rm",
                "input": {},
                "approval": {"id": "ap-1", "needsApproval": True},
            },
        },
        {"type": "RUN_FINISHED", **ids, "finishReason": "tool_calls"},
    ]
    new = to_current(events)
    verify(new)
    assert "CUSTOM" not in [e["type"] for e in new]  # the 0.33 client would act twice
    client, approval = new[-1]["outcome"]["interrupts"]
    assert client == client_tool_interrupt("r", "c1", "get_time", {"tz": "UTC"})
    assert approval["id"] == "ap-1" and approval["metadata"]["kind"] == "approval"


def test_interrupts_are_downgraded_for_the_0_10_client() -> None:
    recorded = fixture_events(NEW / "tanstack-0.58" / "responses" / "client_tool.sse")
    dialect = Tanstack018Dialect()
    old = [converted for event in recorded for converted in dialect.convert(event)]
    custom = next(e for e in old if e["type"] == "CUSTOM")
    assert custom["name"] == "tool-input-available"
    assert custom["value"] == {
        "toolCallId": "call-run-client_tool-sse-1",
        "toolName": "get_time",
        "input": {"timezone": "Europe/Paris"},
    }
    finished = old[-1]
    assert "outcome" not in finished
    assert finished["finishReason"] == "tool_calls"  # lifted from metadata.tanstack
    assert finished["usage"] == {"promptTokens": 12, "completionTokens": 34, "totalTokens": 46}


def test_old_style_events_pass_the_0_18_dialect_untouched() -> None:
    dialect = Tanstack018Dialect()
    for event in fixture_events(OLD / "responses" / "tools.sse"):
        assert dialect.convert(event)[0] is event


def test_pydantic_ai_interrupts_are_downgraded_from_the_calls_in_the_stream() -> None:
    recorded = fixture_events(NEW / "pydantic-ai-2.78" / "responses" / "approval.sse")
    dialect = Tanstack018Dialect()
    old = [converted for event in recorded for converted in dialect.convert(event)]
    custom = next(e for e in old if e["type"] == "CUSTOM")
    assert custom["name"] == "approval-requested"
    assert custom["value"]["toolName"] == "delete_file"
    assert custom["value"]["input"] == {"path": "/tmp/demo.txt"}


def test_pydantic_ai_frontend_tool_calls_are_handed_to_the_0_10_client() -> None:
    recorded = fixture_events(
        NEW / "pydantic-ai-2.78" / "responses" / "frontend_tool.protocol-1.0.sse"
    )
    dialect = Tanstack018Dialect()
    old = [converted for event in recorded for converted in dialect.convert(event)]
    (custom,) = [e for e in old if e["type"] == "CUSTOM"]
    assert custom["name"] == "tool-input-available"
    assert custom["value"] == {
        "toolCallId": "call_get_time_1",
        "toolName": "get_time",
        "input": {"timezone": "Europe/Paris"},
    }
    assert old[-1]["finishReason"] == "tool_calls" and "outcome" not in old[-1]


# --- parsing what the current clients send --------------------------------------------------


def test_resume_parent_run_and_protocol_version_are_parsed() -> None:
    _, answer = flow_requests("approval_approve")
    params = parse_run_agent_input({**answer, "protocolVersion": "1.0"})
    assert params.parent_run_id == answer["parentRunId"]
    assert params.protocol_version == "1.0"
    (entry,) = params.resume
    assert entry.interrupt_id == answer["resume"][0]["interruptId"]
    assert (entry.status, entry.payload, entry.approved) == ("resolved", {"approved": True}, True)
    assert params.resumed(entry.interrupt_id) is entry and params.resumed("nope") is None
    _, cancelled = flow_requests("approval_cancel")
    (entry,) = parse_run_agent_input(cancelled).resume
    assert (entry.status, entry.payload, entry.approved) == ("cancelled", None, None)


def test_a_bad_resume_is_a_400_naming_the_place() -> None:
    from chatconduit import RequestValidationError

    bad = {"threadId": "t", "runId": "r", "messages": [], "tools": [], "context": []}
    with pytest.raises(RequestValidationError) as caught:
        parse_run_agent_input({**bad, "resume": [{"status": "done"}, 5]})
    where = [path for path, _ in caught.value.errors]
    assert where == ["resume[0].interruptId", "resume[0].status", "resume[1]"]


def test_reasoning_history_messages_are_kept_and_typed() -> None:
    old = body(OLD / "requests" / "sse-second-turn-after-thinking.body.json")
    params = parse_run_agent_input(old)
    (reasoning,) = params.reasoning
    assert reasoning.content == "Let me think about Zürich… 🤔 okay."
    assert reasoning.assistant_id == "msg-run-1795480475708-joaiyf-1"
    current = {
        "threadId": "t",
        "runId": "r",
        "messages": [
            {"id": "u", "role": "user", "content": "think"},
            {"id": "r1", "role": "reasoning", "content": "hmm", "encryptedValue": "sig"},
            {"id": "a1", "role": "assistant", "content": "ok"},
        ],
        "tools": [],
        "context": [],
    }
    (reasoning,) = parse_run_agent_input(current).reasoning
    assert (reasoning.encrypted_value, reasoning.assistant_id) == ("sig", "a1")
    assert {"id": "r1", "role": "reasoning", "content": "hmm", "encryptedValue": "sig"} in (
        parse_run_agent_input(current).messages
    )


# --- through the server --------------------------------------------------------------------


class Ids(BaseModel):
    """Any pydantic model of an event: camelCase aliases, None for unset."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    type: str
    thread_id: str | None = None
    run_id: str | None = None
    message_id: str | None = None
    role: str | None = None
    delta: str | None = None


async def model_agent(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
    ids = {"thread_id": params.thread_id, "run_id": params.run_id}
    yield Ids(type="RUN_STARTED", **ids)
    yield Ids(type="TEXT_MESSAGE_START", message_id="m", role="assistant")
    yield Ids(type="TEXT_MESSAGE_CONTENT", message_id="m", delta="hi")
    yield Ids(type="TEXT_MESSAGE_END", message_id="m")
    yield Ids(type="RUN_FINISHED", **ids)


async def agui_agent(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
    from ag_ui import core

    ids = {"thread_id": params.thread_id, "run_id": params.run_id}
    yield core.RunStartedEvent(**ids)
    yield core.TextMessageStartEvent(message_id="m", role="assistant")
    yield core.TextMessageContentEvent(message_id="m", delta="hi")
    yield core.TextMessageEndEvent(message_id="m")
    yield core.RunFinishedEvent(**ids)


async def failing(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
    raise UserFacingError("The upstream model is overloaded.", "overloaded")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    demo = DemoAgent(delay=0)
    routes = [
        Route("/demo", chat_endpoint(demo, heartbeat=0), methods=["POST"]),
        Route("/demo/ndjson", chat_endpoint(demo, framing="ndjson"), methods=["POST"]),
        Route("/current", chat_endpoint(demo, dialect="current", heartbeat=0), methods=["POST"]),
        Route("/old", chat_endpoint(demo, dialect="tanstack-0.18", heartbeat=0), methods=["POST"]),
        Route("/models", chat_endpoint(model_agent), methods=["POST"]),
        Route("/agui", chat_endpoint(agui_agent), methods=["POST"]),
        Route("/failing", chat_endpoint(failing), methods=["POST"]),
        Route(
            "/durable",
            chat_endpoint(demo, durable=DurableRuns(InMemoryStreamLog()), heartbeat=0),
            methods=["POST", "GET"],
        ),
    ]
    with serve(Starlette(routes=routes)) as srv:
        yield srv


def post(srv: RunningServer, path: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.post(f"{srv.url}{path}", json=payload)
    assert response.status_code == 200
    if path.endswith("ndjson"):
        lines = [json.loads(line) for line in response.content.splitlines() if line]
        return [line.get("chunk", line) for line in lines]
    decoder = SSEDecoder()
    return [json.loads(m.data) for m in decoder.feed(response.content) + decoder.finish()]


OLD_BODY = body(OLD / "requests" / "sse-first-turn.body.json")
AGUI_BODY = body(NEW / "tanstack-0.58" / "agui-client" / "text.json")["request"]["body"]
TS033_BODY = flow_requests("client_tool")[0]


def with_text(payload: dict[str, Any], text: str) -> dict[str, Any]:
    (message,) = payload["messages"][:1]
    changed = {**message, "content": text}
    if "parts" in changed:
        changed["parts"] = [{"type": "text", "content": text}]
    return {**payload, "messages": [changed]}


def test_each_client_gets_its_dialect_from_one_route(server: RunningServer) -> None:
    old = post(server, "/demo", with_text(OLD_BODY, "what is 2+3"))
    assert old[0]["model"] == "chatconduit-demo" and old[-1]["finishReason"] == "stop"
    assert [e["type"] for e in old].count("TOOL_CALL_END") == 2  # the 0.18 way
    for payload in (AGUI_BODY, TS033_BODY):
        new = post(server, "/demo", with_text(payload, "what is 2+3"))
        verify(new)
        assert new[-1]["metadata"]["tanstack"]["finishReason"] == "stop"


def test_the_0_18_answer_is_what_the_agent_yielded(server: RunningServer) -> None:
    params = parse_run_agent_input(with_text(OLD_BODY, "think about fish"))
    agent = DemoAgent(delay=0)

    async def expected() -> list[dict[str, Any]]:
        return [event async for event in agent(params, None)]

    import asyncio

    yielded = asyncio.run(expected())
    sent = post(server, "/demo", with_text(OLD_BODY, "think about fish"))
    strip = [{k: v for k, v in e.items() if k != "timestamp"} for e in yielded]
    assert [{k: v for k, v in e.items() if k != "timestamp"} for e in sent] == strip


def test_the_dialect_option_overrides_the_guess(server: RunningServer) -> None:
    forced_new = post(server, "/current", with_text(OLD_BODY, "hello"))
    verify(forced_new)
    forced_old = post(server, "/old", with_text(AGUI_BODY, "hello"))
    assert forced_old[0]["model"] == "chatconduit-demo"
    with pytest.raises(ValueError, match="dialect"):
        chat_endpoint(DemoAgent(), dialect="newest")  # type: ignore[arg-type]


def test_current_dialect_over_ndjson_and_in_durable_runs(server: RunningServer) -> None:
    verify(post(server, "/demo/ndjson", with_text(AGUI_BODY, "think about it")))
    durable = post(server, "/durable", {**with_text(AGUI_BODY, "hello"), "runId": "run-durable-1"})
    verify(durable)


@pytest.mark.parametrize("path", ["/models", "/agui"])
@pytest.mark.parametrize("payload", [OLD_BODY, AGUI_BODY], ids=["0.18", "current"])
def test_pydantic_event_models_are_streamed(
    server: RunningServer, path: str, payload: dict[str, Any]
) -> None:
    if path == "/agui":
        pytest.importorskip("ag_ui.core")
    events = post(server, path, payload)
    assert [e["type"] for e in events] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]
    assert events[2]["delta"] == "hi" and events[0]["runId"] == payload["runId"]


def test_an_agent_failure_is_a_flat_run_error_in_the_current_dialect(
    server: RunningServer,
) -> None:
    events = post(server, "/failing", AGUI_BODY)
    verify(events)
    error = events[-1]
    assert (error["message"], error["code"]) == ("The upstream model is overloaded.", "overloaded")
    assert error["metadata"]["tanstack"]["runId"] == AGUI_BODY["runId"]
    old = post(server, "/failing", OLD_BODY)
    assert old[-1]["error"] == {
        "message": "The upstream model is overloaded.",
        "code": "overloaded",
    }


async def test_the_stream_helpers_take_the_dialect_and_the_request() -> None:
    params = parse_run_agent_input(with_text(TS033_BODY, "hello"))

    async def collect(stream: AsyncIterator[bytes]) -> bytes:
        return b"".join([chunk async for chunk in stream])

    agent = DemoAgent(delay=0)
    auto = await collect(http_stream(agent(params), params=params))
    verify([json.loads(line) for line in auto.splitlines()])
    plain = await collect(server_sent_events_stream(agent(params), heartbeat=0))
    assert b'"finishReason":"stop"' in plain  # no request: the 0.18 dialect, as before
    with pytest.raises(ValueError, match="dialect"):
        http_stream(agent(params), dialect="v2")  # type: ignore[arg-type]
