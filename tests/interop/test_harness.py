"""The interop harness itself, proven with real runs of the pinned npm packages.

Everything the other interop suites compare against comes from these scripts,
so these tests pin down that the harness reproduces the captured reference
(tests/fixtures/tanstack-0.10) and that the JS client and the JS server agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .node import (
    TsServer,
    fixture_events,
    require_node_modules,
    run_ts_bench_client,
    run_ts_client,
    ts_server,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tanstack-0.10"
RESPONSES = FIXTURES / "responses"
FRAMINGS = ("sse", "ndjson")
# Scenarios whose bytes do not depend on the clock (the error one carries Date.now()).
DETERMINISTIC = ("text", "tools", "thinking", "reasoning", "long", "slow")
# What reference §6.2 says chatParamsFromRequest answers to any invalid body.
INVALID_BODY_TEXT = "Invalid AG-UI request body. See docs/migration/ag-ui-compliance.md."
INVALID_BODY_ERROR = "Request body is not a valid AG-UI RunAgentInput."

interop = pytest.mark.interop


@pytest.fixture(scope="module")
def server() -> Iterator[TsServer]:
    require_node_modules()
    with ts_server() as srv:
        yield srv


def frames(content: bytes, framing: str) -> list[dict[str, Any]]:
    """Events of a helper-made body: one JSON value per non-empty line."""
    lines = [line for line in content.decode("utf-8").split("\n") if line]
    if framing == "sse":
        assert all(line.startswith("data: ") for line in lines), lines
        lines = [line.removeprefix("data: ") for line in lines]
    return [json.loads(line) for line in lines]


def fixture_headers(name: str) -> dict[str, str]:
    """The response head of a fixture as {lower-case name: value}."""
    text = (RESPONSES / name).read_bytes().decode("utf-8")  # keep the CRLFs
    head = {}
    for line in text.split("\r\n")[1:]:
        if line:
            key, _, value = line.partition(": ")
            head[key.lower()] = value
    return head


def chat_body(text: str, tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A first-turn body of the real client's shape, with our own text and tools."""
    body: dict[str, Any] = json.loads(
        (FIXTURES / "requests" / "sse-first-turn.body.json").read_bytes()
    )
    body["messages"][0]["parts"] = [{"type": "text", "content": text}]
    body["messages"][0]["content"] = text
    if tools is not None:
        body["tools"] = tools
    return body


# --- scripted routes: the real helpers reproduce the captured bytes ---------------------


@interop
@pytest.mark.parametrize("scenario", DETERMINISTIC)
@pytest.mark.parametrize("framing", FRAMINGS)
def test_scripted_route_reproduces_fixture_bytes(
    server: TsServer, framing: str, scenario: str
) -> None:
    fixture = RESPONSES / f"{scenario}.{framing}"
    server.set_script(fixture_events(fixture), delay_ms=20 if scenario == "slow" else None)
    body = (FIXTURES / "curl-request-body.json").read_bytes()

    response = httpx.post(f"{server.url}/{framing}/scripted", content=body)

    assert response.status_code == 200
    assert response.content == fixture.read_bytes()
    expected_head = fixture_headers(f"{scenario}.{framing}.headers")
    for name in ("content-type", "cache-control"):
        assert response.headers.get(name) == expected_head.get(name)


@interop
@pytest.mark.parametrize("framing", FRAMINGS)
def test_scripted_route_error_path_appends_the_helpers_run_error(
    server: TsServer, framing: str
) -> None:
    captured = fixture_events(RESPONSES / f"error.{framing}")
    *before, run_error = captured
    server.set_script(
        before,
        throw_after=len(before),
        throw_message=run_error["error"]["message"],
        throw_code=run_error["error"]["code"],
    )

    response = httpx.post(f"{server.url}/{framing}/scripted", content=b"{}")

    assert response.status_code == 200  # the error travels in the stream
    got = frames(response.content, framing)
    assert got[:-1] == before
    # Same keys in the same order; only the helper's Date.now() timestamp differs.
    assert list(got[-1]) == list(run_error) == ["type", "timestamp", "error"]
    assert got[-1]["error"] == run_error["error"]
    assert isinstance(got[-1]["timestamp"], int)


@interop
def test_scripted_http_error_status(server: TsServer) -> None:
    server.set_script([], status=500)

    response = httpx.post(f"{server.url}/sse/scripted", content=b"{}")

    assert response.status_code == 500
    assert response.reason_phrase == "Internal Server Error"
    assert response.content == (RESPONSES / "http500.sse").read_bytes()
    expected_head = fixture_headers("http500.sse.headers")
    assert response.headers["content-type"] == expected_head["content-type"]


@interop
def test_successive_scripts_answer_successive_requests(server: TsServer) -> None:
    events = fixture_events(RESPONSES / "text.sse")
    server.set_scripts([{"events": events[:1]}, {"events": events[:2]}])

    counts = [len(frames(httpx.post(f"{server.url}/sse/scripted").content, "sse")) for _ in "abc"]

    assert counts == [1, 2, 2]  # the last script repeats


@interop
def test_scripted_route_records_requests_and_validates_bodies(server: TsServer) -> None:
    server.set_script(fixture_events(RESPONSES / "text.sse"))
    server.clear_requests()
    valid = (FIXTURES / "requests" / "sse-first-turn.body.json").read_bytes()

    httpx.post(
        f"{server.url}/sse/scripted?x=1",
        content=valid,
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
    )
    httpx.post(f"{server.url}/ndjson/scripted", content=b"not json")

    first, second = server.requests()
    assert first["path"] == "/sse/scripted"
    assert first["query"] == {"x": "1"}
    assert first["headers"]["authorization"] == "Bearer test-token"
    assert ["Authorization", "Bearer test-token"] in first["rawHeaders"]
    assert first["bodyRaw"].encode("utf-8") == valid
    assert first["body"] == json.loads(valid)
    assert first["aguiValid"] == {"ok": True}
    assert first["status"] == 200
    assert second["body"] is None
    assert second["bodyError"]
    assert second["aguiValid"]["ok"] is False


@interop
def test_server_notices_a_client_that_disconnects(server: TsServer) -> None:
    events = fixture_events(RESPONSES / "long.sse")
    server.set_script(events, delay_ms=50)  # ~2.5 s in total: long enough to leave early
    server.clear_requests()

    with httpx.stream("POST", f"{server.url}/sse/scripted") as response:
        first_line = next(response.iter_lines())
    assert json.loads(first_line.removeprefix("data: ")) == events[0]

    deadline = time.monotonic() + 10
    while not server.requests()[0]["disconnected"]:
        assert time.monotonic() < deadline, "the server never saw the disconnect"
        time.sleep(0.02)


# --- chat routes: the real chatParamsFromRequest + chat() ------------------------------


@interop
@pytest.mark.parametrize("framing", FRAMINGS)
def test_chat_route_accepts_the_real_clients_first_turn(server: TsServer, framing: str) -> None:
    raw = (FIXTURES / "requests" / "sse-first-turn.body.json").read_bytes()
    sent = json.loads(raw)
    server.clear_requests()

    response = httpx.post(
        f"{server.url}/{framing}/chat",
        content=raw,
        headers={"Content-Type": "application/json", "Authorization": "Bearer test-token"},
    )

    assert response.status_code == 200
    events = frames(response.content, framing)
    assert events[0]["type"] == "RUN_STARTED"
    assert (events[0]["threadId"], events[0]["runId"]) == (sent["threadId"], sent["runId"])
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["finishReason"] == "stop"
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert sent["messages"][0]["content"] in text  # the fake model echoes the user
    (recorded,) = server.requests()
    assert recorded["aguiValid"] == {"ok": True}
    assert recorded["headers"]["authorization"] == "Bearer test-token"
    assert recorded["body"] == sent


@interop
@pytest.mark.parametrize(
    "body",
    [
        b'{"messages":[{"role":"user","content":"Hello"}],"data":{"model":"gpt-test"}}',
        b'{"threadId":"t","runId":"r","messages":[{"id":"m","role":"user","content":"x"}]}',
        b"{not json",
    ],
    ids=["legacy-messages-data", "no-tools-no-context", "malformed-json"],
)
def test_chat_route_rejects_what_chat_params_rejects(server: TsServer, body: bytes) -> None:
    server.clear_requests()

    response = httpx.post(f"{server.url}/sse/chat", content=body)

    assert response.status_code == 400
    assert response.text == INVALID_BODY_TEXT
    (recorded,) = server.requests()
    assert recorded["aguiValid"]["ok"] is False
    if body.startswith(b"{not"):
        assert recorded["bodyError"]
    else:
        assert recorded["aguiValid"]["error"].startswith(INVALID_BODY_ERROR)


@interop
def test_chat_route_client_tool_call_pauses_with_tool_input_available(server: TsServer) -> None:
    tool = {"name": "get_time", "description": "Get the time.", "parameters": {"type": "object"}}
    body = chat_body('Please call get_time {"timezone": "UTC"}', tools=[tool])

    events = frames(httpx.post(f"{server.url}/sse/chat", json=body).content, "sse")

    types = [e["type"] for e in events]
    assert types[-2:] == ["RUN_FINISHED", "CUSTOM"]
    assert events[-2]["finishReason"] == "tool_calls"
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "get_time"
    assert events[-1]["name"] == "tool-input-available"
    assert events[-1]["value"] == {
        "toolCallId": start["toolCallId"],
        "toolName": "get_time",
        "input": {"timezone": "UTC"},
    }
    assert "TOOL_CALL_RESULT" not in types  # the server does not run a client tool


@interop
def test_chat_route_server_tool_runs_and_the_loop_continues(server: TsServer) -> None:
    events = frames(
        httpx.post(f"{server.url}/sse/chat", json=chat_body("get_weather please")).content, "sse"
    )

    finishes = [e["finishReason"] for e in events if e["type"] == "RUN_FINISHED"]
    assert finishes == ["tool_calls", "stop"]  # one RUN_FINISHED per agent-loop iteration
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert json.loads(result["content"])["city"] == "Zürich"
    ends = [e for e in events if e["type"] == "TOOL_CALL_END"]
    assert [("input" in e, "result" in e) for e in ends] == [(True, False), (False, True)]
    assert ends[1]["result"] == result["content"]


@interop
def test_chat_route_model_failure_becomes_the_helpers_run_error(server: TsServer) -> None:
    events = frames(
        httpx.post(f"{server.url}/ndjson/chat", json=chat_body("boom")).content, "ndjson"
    )

    assert events[-1]["type"] == "RUN_ERROR"
    assert events[-1]["error"] == {"message": "Model failure: boom", "code": "model_error"}
    assert "RUN_FINISHED" not in [e["type"] for e in events]


# --- the real ChatClient against the real server (the JS <-> JS baseline) ---------------


@interop
@pytest.mark.parametrize("transport", FRAMINGS)
def test_js_client_and_js_server_multi_turn_with_a_client_tool(
    server: TsServer, transport: str
) -> None:
    server.clear_requests()
    messages = ["Hello 👋", 'What is get_time {"timezone": "Europe/Paris"}', "Thanks"]

    report = run_ts_client(
        f"{server.url}/{transport}/chat",
        transport,
        messages,
        headers={"Authorization": "Bearer test-token"},
        body={"model": "gpt-test"},
        tools=["get_time"],
        thread_id="thread-interop",
    )

    assert report["status"] == "ready"
    assert report["error"] is None
    assert report["onErrorCalls"] == []
    (execution,) = report["toolExecutions"]
    assert execution["name"] == "get_time"
    assert execution["input"] == {"timezone": "Europe/Paris"}

    # One request per message plus one automatic continuation after the tool ran.
    seen = server.requests()
    assert report["requestCount"] == len(seen) == len(messages) + 1
    assert all(r["aguiValid"] == {"ok": True} for r in seen)
    assert all(r["headers"]["authorization"] == "Bearer test-token" for r in seen)
    assert {r["body"]["threadId"] for r in seen} == {"thread-interop"}
    assert len({r["body"]["runId"] for r in seen}) == len(seen)
    assert all(
        r["body"]["forwardedProps"] == r["body"]["data"] == {"model": "gpt-test"} for r in seen
    )
    assert seen[1]["body"]["tools"][0]["name"] == "get_time"

    # The continuation carries the tool output: in the anchor's parts and as a tool fan-out.
    custom = next(c for c in report["chunks"] if c["type"] == "CUSTOM")
    assert custom["name"] == "tool-input-available"
    tool_call_id = custom["value"]["toolCallId"]
    continuation = seen[2]["body"]["messages"]
    anchor = next(m for m in continuation if m.get("toolCalls"))
    call_part = next(p for p in anchor["parts"] if p["type"] == "tool-call")
    assert call_part["id"] == tool_call_id
    assert call_part["output"] == execution["output"]
    result_part = next(p for p in anchor["parts"] if p["type"] == "tool-result")
    assert json.loads(result_part["content"]) == execution["output"]
    assert continuation[-1] == {
        "role": "tool",
        "id": f"tool-{tool_call_id}",
        "toolCallId": tool_call_id,
        "content": result_part["content"],
    }

    # The final transcript: the tool answer follows the tool call, then the last turn.
    final = report["messages"]
    assert [m["role"] for m in final] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]
    tool_answer = "".join(p["content"] for p in final[4]["parts"] if p["type"] == "text")
    assert result_part["content"] in tool_answer
    assert final[-1]["parts"] == [{"type": "text", "content": 'You said: "Thanks"'}]


CLIENT_SCENARIOS = ("text", "tools", "thinking", "reasoning", "long", "error", "http500")


def script_scenario(server: TsServer, scenario: str, framing: str) -> set[int]:
    """Script a captured scenario so its events carry the request's own ids, as in
    the golden client runs; returns the scripted timestamps."""
    if scenario == "http500":
        server.set_script([], status=500)
        return set()
    text = json.dumps(fixture_events(RESPONSES / f"{scenario}.{framing}"))
    text = text.replace("run-fixture", "{{runId}}").replace("thread-fixture", "{{threadId}}")
    events = json.loads(text)
    if scenario == "error":
        *events, run_error = events
        server.set_script(
            events,
            throw_after=len(events),
            throw_message=run_error["error"]["message"],
            throw_code=run_error["error"]["code"],
        )
    else:
        server.set_script(events)
    return {e["timestamp"] for e in events}


def normalise(report: dict[str, Any], scripted_timestamps: set[int]) -> dict[str, Any]:
    """Apply the golden files' placeholders (see the fixtures' README) to a report."""
    run_id = report["requests"][0]["body"]["runId"]
    text = json.dumps({"messages": report["messages"], "chunks": report["chunks"]})
    data: dict[str, Any] = json.loads(text.replace(run_id, "<run#1>"))
    random_ids: dict[str, str] = {}
    for message in data["messages"]:
        if "<run#" not in message["id"]:
            message["id"] = random_ids.setdefault(message["id"], f"<msg#{len(random_ids) + 1}>")
        message["createdAt"] = "<date>"
    for chunk in data["chunks"]:
        if chunk.get("timestamp") not in scripted_timestamps:
            chunk["timestamp"] = "<now>"
    return data


@interop
@pytest.mark.parametrize("scenario", CLIENT_SCENARIOS)
@pytest.mark.parametrize("transport", FRAMINGS)
def test_js_client_on_a_scripted_scenario_matches_the_golden_client_run(
    server: TsServer, transport: str, scenario: str
) -> None:
    golden = json.loads((FIXTURES / "client" / f"{scenario}.{transport}.json").read_bytes())
    timestamps = script_scenario(server, scenario, transport)

    report = run_ts_client(
        f"{server.url}/{transport}/scripted", transport, ["Hello 👋"], thread_id="thread-golden"
    )

    got = normalise(report, timestamps)
    assert got["messages"] == golden["messages"]
    assert got["chunks"] == golden["chunks"]
    assert report["status"] == golden["status"]
    assert (report["error"] or {}).get("message") == golden["error"]
    diagnostics = golden["diagnostics"]
    assert report["statusHistory"] == diagnostics["statusHistory"]
    assert report["onFinishCalls"] == diagnostics["onFinishCalls"]
    assert report["onErrorCalls"] == diagnostics["onErrorCalls"]
    assert report["requestCount"] == diagnostics["requests"]
    assert report["chunksFromAdapter"] == diagnostics["chunksFromAdapter"]
    assert report["warnings"] == diagnostics["warnings"]


@interop
def test_js_client_reports_a_server_run_error(server: TsServer) -> None:
    report = run_ts_client(f"{server.url}/sse/chat", "sse", ["boom"])

    assert report["status"] == "error"
    assert report["error"]["message"] == "Model failure: boom"
    assert report["onErrorCalls"] == ["Model failure: boom"]


# --- the benchmark client --------------------------------------------------------------


@interop
@pytest.mark.parametrize("framing", FRAMINGS)
def test_bench_client_reads_a_whole_fixture(framing: str) -> None:
    require_node_modules()
    fixture = RESPONSES / f"long.{framing}"
    events = fixture_events(fixture)

    result = run_ts_bench_client(fixture, framing, max_seconds=30)

    assert result["complete"] is True
    assert result["events"] == len(events)
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert result["finalTextLength"] == len(text)
    assert result["status"] == "ready"
    assert result["peakRssBytes"] > 0


@interop
def test_bench_client_stops_at_the_cap_and_reports_partial_progress(tmp_path: Path) -> None:
    require_node_modules()
    total = 20_000  # the 0.10 client needs ~1 ms per event: far more than the 1 s cap
    lines = [{"type": "RUN_STARTED", "runId": "r", "threadId": "t"}]
    lines += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}] * total
    path = tmp_path / "big.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    result = run_ts_bench_client(path, "ndjson", max_seconds=1)

    assert result["capped"] is True
    assert 0 < result["events"] < total
    assert result["eventsPerSecond"] == pytest.approx(result["events"] / result["seconds"])


# --- helpers that need no Node ---------------------------------------------------------


def test_require_node_modules_skips_locally_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_node_modules(tmp_path)

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unusable"):
        require_node_modules(tmp_path)


def test_require_node_modules_fails_on_a_wrong_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    for name, version in (("ai", "0.18.0"), ("ai-client", "0.9.9")):
        package = tmp_path / "node_modules" / "@tanstack" / name
        package.mkdir(parents=True)
        (package / "package.json").write_text(json.dumps({"version": version}))

    with pytest.raises(pytest.fail.Exception, match=r"0\.9\.9 is installed"):
        require_node_modules(tmp_path)


@interop
def test_ts_server_process_ends_with_the_context() -> None:
    require_node_modules()
    with ts_server() as srv:
        process = srv.process
        assert httpx.get(f"{srv.url}/requests").json() == []
    assert process.poll() is not None
