"""Our ChatClient against the real ``@tanstack/ai@0.18.0`` ``chat()`` server, and side by
side with the real ``@tanstack/ai-client@0.10.0`` ChatClient.

``ts_server()`` runs the real agent loop with a deterministic fake model (see
tests/interop/README.md): a client tool named in the user text is called with the
first ``{...}`` of the text as its input. Our client runs that tool in Python and
sends the follow-up request on its own. The same conversation is then replayed by
the real JS client against the same server, and both the final messages and the
request bodies must agree once random ids and dates are replaced by placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import (
    ChatClient,
    ChatStatus,
    RunError,
    TextPart,
    ThinkingPart,
    Tool,
    fetch_http_stream,
    fetch_server_sent_events,
    message_to_dict,
)

from .node import TsServer, require_node_modules, run_ts_client, ts_server

pytestmark = pytest.mark.interop

FRAMINGS = ("sse", "ndjson")
TURNS = ["Hello", 'What does get_time say for {"timezone":"Europe/Paris"}?']

# The same tool as ts_client.mjs's catalogue, implemented in Python.
GET_TIME_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": [],
}


def get_time(args: dict[str, Any]) -> dict[str, str]:
    return {"time": "2026-11-24T12:00:00.000Z", "timezone": args.get("timezone", "UTC")}


@pytest.fixture(scope="module")
def server() -> Iterator[TsServer]:
    require_node_modules()
    with ts_server() as srv:
        yield srv


def _adapter(server: TsServer, framing: str) -> Any:
    url = f"{server.url}/{framing}/chat"
    if framing == "sse":
        return fetch_server_sent_events(url, {"retry": False})
    return fetch_http_stream(url, {"retry": False})


_ID = re.compile(r"(?:msg|run|thread|chat)-\d{13}-[0-9a-z]+")
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Normalizer:
    """Random ids → ``<kind#n>`` in order of first appearance (also inside other ids,
    e.g. the fake model's ``msg-<runId>-1``); ``createdAt`` dates → ``<date>``."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match[str]) -> str:
        value = match.group()
        if value not in self.ids:
            kind = value.split("-")[0]
            n = sum(1 for v in self.ids.values() if v.startswith(f"<{kind}#")) + 1
            self.ids[value] = f"<{kind}#{n}>"
        return self.ids[value]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<date>" if k == "createdAt" else self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            return _ID.sub(self._id, value)
        return value


def _text(message: Any) -> str:
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_multi_turn_with_a_python_client_tool(server: TsServer, framing: str) -> None:
    server.clear_requests()
    executed: list[Any] = []

    def tool_fn(args: dict[str, Any]) -> dict[str, str]:
        executed.append(args)
        return get_time(args)

    statuses: list[str] = []
    async with _adapter(server, framing) as http:
        client = ChatClient(
            http,
            thread_id=f"thread-interop-{framing}",
            tools=[
                Tool(
                    "get_time",
                    "Get the current time (client tool).",
                    GET_TIME_SCHEMA,
                    execute=tool_fn,
                )
            ],
            on_status_change=lambda s: statuses.append(s.value),
        )
        first = await client.send_message(TURNS[0])
        second = await client.send_message(TURNS[1])

    assert first is not None and _text(first) == 'You said: "Hello"'
    assert executed == [{"timezone": "Europe/Paris"}]
    assert second is not None
    assert _text(second) == (
        'The get_time tool returned {"time":"2026-11-24T12:00:00.000Z","timezone":"Europe/Paris"}.'
    )
    assert client.status is ChatStatus.READY and client.error is None
    first_turn = ["submitted", "streaming", "ready"]
    # The tool follow-up continues the same turn: loading does not flicker in between.
    second_turn = ["submitted", "streaming", "submitted", "streaming", "ready"]
    assert statuses == [*first_turn, *second_turn]

    requests = server.requests()
    assert [r["path"] for r in requests] == [f"/{framing}/chat"] * 3
    assert all(r["aguiValid"] == {"ok": True} for r in requests)
    bodies = [r["body"] for r in requests]
    assert {b["threadId"] for b in bodies} == {f"thread-interop-{framing}"}
    assert len({b["runId"] for b in bodies}) == 3  # a new run id for the follow-up
    assert [t["name"] for t in bodies[1]["tools"]] == ["get_time"]
    # The automatic follow-up carries the tool's output.
    follow_up = bodies[2]["messages"]
    tool_entry = follow_up[-1]
    assert tool_entry["role"] == "tool"
    assert tool_entry["content"] == '{"time":"2026-11-24T12:00:00.000Z","timezone":"Europe/Paris"}'
    anchor = follow_up[-2]
    assert anchor["toolCalls"][0]["id"] == tool_entry["toolCallId"]
    call_part = next(p for p in anchor["parts"] if p["type"] == "tool-call")
    assert call_part["output"] == {"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Paris"}


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_same_messages_and_bodies_as_the_real_client(server: TsServer, framing: str) -> None:
    thread_id = f"thread-side-by-side-{framing}"
    server.clear_requests()
    async with _adapter(server, framing) as http:
        client = ChatClient(
            http,
            thread_id=thread_id,
            tools=[
                Tool(
                    "get_time",
                    "Get the current time (client tool).",
                    GET_TIME_SCHEMA,
                    execute=get_time,
                )
            ],
        )
        for turn in TURNS:
            await client.send_message(turn)
    ours_requests = server.requests()
    ours = Normalizer()([message_to_dict(m) for m in client.messages])

    server.clear_requests()
    report = run_ts_client(
        f"{server.url}/{framing}/chat", framing, TURNS, tools=["get_time"], thread_id=thread_id
    )
    theirs_requests = server.requests()
    theirs = Normalizer()(report["messages"])

    assert report["status"] == "ready" and report["error"] is None
    assert ours == theirs
    assert len(ours_requests) == len(theirs_requests) == 3
    for mine, real in zip(ours_requests, theirs_requests, strict=True):
        assert Normalizer()(mine["body"]) == Normalizer()(real["body"])


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_server_tool_error_and_reasoning_replies(server: TsServer, framing: str) -> None:
    server.clear_requests()
    async with _adapter(server, framing) as http:
        client = ChatClient(http)
        # A server tool runs inside one response (two RUN_FINISHED): one request.
        weather = await client.send_message('get_weather for {"city":"Zürich"}')
        assert weather is not None and "The get_weather tool returned" in _text(weather)
        assert len(server.requests()) == 1 and client.status is ChatStatus.READY
        # Reasoning arrives as a thinking part.
        thought = await client.send_message("think about it")
        assert thought is not None and any(isinstance(p, ThinkingPart) for p in thought.parts)
        # The model fails mid-reply: the partial text stays, the error is typed.
        failed = await client.send_message("boom")
        assert isinstance(client.error, RunError)
        assert str(client.error) == "Model failure: boom" and client.error.code == "model_error"
        assert client.status is ChatStatus.ERROR
        assert failed is not None and _text(failed).startswith("About to fail")
