"""The current-package harness works: each piece answers, and answers like the fixtures.

- ``ts058_server.mjs`` (real ``@tanstack/ai@0.58.0``) answers every scenario over SSE and
  NDJSON, with and without durability, with the event sequence recorded in
  ``tests/fixtures/current/tanstack-0.58/responses/``;
- the real ``@tanstack/ai-client@0.33.2`` completes a plain-text turn against it;
- the WebSocket helper and the durable join route answer;
- the real ``@ag-ui/client@1.0.0`` completes a plain-text run against the pydantic-ai
  2.78 app with zero warnings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interop_current.harness import (
    PydanticAiApp,
    Ts058Server,
    events_of,
    fixtures_dir,
    ndjson_lines,
    pydantic_ai_app,
    require_node_modules,
    require_pydantic_ai,
    run_agui_client,
    run_input,
    run_ts033_client,
    sse_frames,
    ts058_server,
)

interop = pytest.mark.interop

TANSTACK = fixtures_dir() / "tanstack-0.58"
GET_TIME = {
    "name": "get_time",
    "description": "Get the current time (client tool).",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": [],
    },
}
SCENARIOS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "text": ("Hello 👋", []),
    "thinking": ("Please think about it", []),
    "server_tool": ('get_weather please {"city": "Paris"}', []),
    "client_tool": ('What is get_time {"timezone": "Europe/Paris"}', [GET_TIME]),
    "approval": ('delete_file {"path": "/tmp/demo.txt"}', []),
    "error": ("boom", []),
}


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    with ts058_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def app() -> Iterator[PydanticAiApp]:
    require_pydantic_ai()
    with pydantic_ai_app() as running:
        yield running


def shape(events: list[dict[str, Any]]) -> list[str]:
    """Event types, with CUSTOM names and RUN_FINISHED outcomes / finish reasons."""
    out = []
    for event in events:
        kind = event["type"]
        if kind == "CUSTOM":
            kind += f":{event['name']}"
        elif kind == "RUN_FINISHED":
            outcome = (event.get("outcome") or {}).get("type")
            reason = (event.get("metadata") or {}).get("tanstack", {}).get("finishReason")
            kind += f":{outcome or reason}"
        out.append(kind)
    return out


@interop
@pytest.mark.parametrize("durable", [False, True], ids=["plain", "durable"])
@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_ts058_server_answers_each_scenario_like_the_fixture(
    server: Ts058Server, scenario: str, framing: str, durable: bool
) -> None:
    text, tools = SCENARIOS[scenario]
    run_id = f"run-test-{scenario}-{framing}-{durable}"
    headers = {"X-Run-Id": run_id} if durable else {}
    route = "durable" if durable else "chat"

    response = httpx.post(
        f"{server.url}/{framing}/{route}",
        json=run_input(text, run_id=run_id, tools=tools),
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 200
    expected_type = "text/event-stream" if framing == "sse" else "application/x-ndjson"
    assert response.headers["content-type"] == expected_type
    suffix = ".durable" if durable else ""
    recorded = (TANSTACK / "responses" / f"{scenario}{suffix}.{framing}").read_bytes()
    assert shape(events_of(response.content, framing)) == shape(events_of(recorded, framing))
    if durable:  # every event carries a memory offset of this run, in order
        frames = (
            sse_frames(response.content) if framing == "sse" else ndjson_lines(response.content)
        )
        tagged = [f for f in frames if f.get("id")]
        ids = [f["id"] for f in tagged]
        assert ids == [f"memory:v1:{run_id}:{n}" for n in range(1, len(ids) + 1)]
        # only the helper's own RUN_ERROR (written after the log closed) is untagged
        assert len(frames) - len(tagged) == (1 if scenario == "error" else 0)


@interop
def test_ts058_durable_join_replays_a_finished_run(server: Ts058Server) -> None:
    run_id = "run-test-join"
    first = httpx.post(
        f"{server.url}/sse/durable",
        json=run_input("Hello", run_id=run_id),
        headers={"X-Run-Id": run_id},
    )

    joined = httpx.get(f"{server.url}/sse/durable", params={"offset": "-1", "runId": run_id})

    assert joined.status_code == 200
    assert joined.content == first.content


@interop
def test_ts058_websocket_helper_answers_a_turn(server: Ts058Server) -> None:
    from websockets.sync.client import connect

    run_id = "run-test-ws"
    with connect(f"{server.ws_url}/ws/chat?runId={run_id}", open_timeout=10) as ws:
        ws.send(json.dumps(run_input("Hello", run_id=run_id)))
        events = []
        while not events or events[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
            events.append(json.loads(ws.recv(timeout=10)))

    assert events[0] == {**events[0], "type": "RUN_STARTED", "runId": run_id}
    assert "".join(e.get("delta", "") for e in events) == 'You said: "Hello"'


@interop
@pytest.mark.parametrize("transport", ["sse", "ndjson"])
def test_ts033_client_completes_a_plain_text_turn(server: Ts058Server, transport: str) -> None:
    report = run_ts033_client(f"{server.url}/{transport}/chat", transport, ["Hello 👋"])

    assert report["status"] == "ready"
    assert report["error"] is None
    assert report["warnings"] == []
    assert [m["role"] for m in report["messages"]] == ["user", "assistant"]
    assert report["messages"][-1]["parts"] == [{"type": "text", "content": 'You said: "Hello 👋"'}]
    (request,) = report["requests"]
    assert request["headers"]["x-run-id"] == request["body"]["runId"]
    assert set(request["body"]) == {
        "threadId",
        "runId",
        "state",
        "messages",
        "tools",
        "context",
        "forwardedProps",
        "data",
    }


@interop
def test_agui_client_completes_a_plain_text_run_against_pydantic_ai(app: PydanticAiApp) -> None:
    require_node_modules()

    report = run_agui_client(f"{app.url}/", run_input("Hello 👋", run_id="run-test-agui"))

    assert report["error"] is None
    assert report["warnings"] == []
    assert report["events"][0]["type"] == "RUN_STARTED"
    assert report["events"][-1]["type"] == "RUN_FINISHED"
    text = "".join(e.get("delta", "") for e in report["events"])
    assert text == 'You said: "Hello 👋"'
    assert report["requests"][0]["body"]["protocolVersion"] == "1.0"


def test_fixture_index_lists_every_recorded_file() -> None:
    index = json.loads((fixtures_dir() / "index.json").read_text(encoding="utf-8"))
    listed = {item["file"] for item in index["files"]}
    on_disk = {
        str(p.relative_to(fixtures_dir()))
        for p in fixtures_dir().rglob("*")
        if p.is_file() and p.name not in ("index.json", "README.md")
    }
    assert listed == on_disk
