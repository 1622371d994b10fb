"""Stop, auth failures and resumes after a cut connection, against the CURRENT real packages.

Our ``ChatClient`` against the real ``@tanstack/ai@0.58.0`` server (``ts058_server.mjs``):

1. ``stop()`` after the first text delta: the partial reply stays, status ``ready``, no error,
   the server sees the disconnect, and the next ``send_message`` works;
2. a 401 (``TS058_BEARER_TOKEN``): ``HTTPStatusError`` with the status and body kept and the
   token we sent nowhere in the message;
3. the durable route behind ``cutting_proxy`` cut in the middle of an event line: we resume
   with ``Last-Event-ID`` (the last *complete* event) and the reply equals an uncut run;
4. the same, cut right after the server-tool run's intermediate ``RUN_FINISHED``
   (``finishReason: "tool_calls"``): we resume and get the final answer.

The real ``@tanstack/ai-client@0.33.2`` (``ts033_client.mjs``) against our demo app:

5. ``client.stop()`` after a few chunks (``stopAfterChunks``): our agent's stream is closed
   early (the disconnect reached it), the client ends ``ready`` without error, and its next
   message is answered;
6. a 401 without / with a wrong token: the client reports the error;
7. the durable route behind the proxy, cut mid-event: the client resumes with
   ``Last-Event-ID`` and its final message equals an uncut run's.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from chatconduit import (
    BaseEvent,
    ChatClient,
    ChatStatus,
    HTTPStatusError,
    TextPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit.demo import create_app
from chatconduit.demo._agent import DemoAgent
from interop_current.cutting_proxy import Connection, Cut, cutting_proxy
from interop_current.harness import (
    Ts058Server,
    require_node_modules,
    run_node_script,
    run_ts033_client,
    ts058_server,
)
from servers import RunningServer, serve

pytestmark = pytest.mark.interop

FRAMINGS = ["sse", "ndjson"]
TOKEN = "tok-0123456789-secret"
WRONG_TOKEN = "tok-wrong-9876543210-secret"
TIMEOUT = 40
WEATHER = 'What is get_weather {"city": "Paris"}'


def adapter(url: str, framing: str, **options: Any) -> Any:
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    return make(url, options or None)


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def part_kinds(client: ChatClient) -> list[tuple[str, list[str]]]:
    return [(m.role, [type(p).__name__ for p in m.parts]) for m in client.messages]


def body_of(connection: Connection) -> bytes:
    """The response bytes after the status line and headers (chunked framing left in)."""
    head, _, body = bytes(connection.sent).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def complete_ids(connection: Connection, framing: str) -> list[str]:
    """The ids of the events that arrived whole before the cut."""
    body = body_of(connection)
    if framing == "sse":
        *whole, _partial = body.split(b"\n\n")
        return [
            m.group(1).decode()
            for block in whole
            if (m := re.search(rb"^id: ?([^\r\n]*)$", block, re.MULTILINE))
        ]
    ids = []
    for line in body.split(b"\n")[:-1]:
        try:
            value = json.loads(line.strip())
        except ValueError:
            continue  # a chunk-size line of the chunked framing
        if isinstance(value, dict) and "id" in value:
            ids.append(str(value["id"]))
    return ids


async def until(condition: Any) -> None:
    """Wait on the event loop (which must keep running: it closes our sockets)."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls another process's log
            await asyncio.sleep(0.02)


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# ------------------------------------------------------------ our client vs TanStack 0.58


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    # Open to all even when locked_server (module scope too) is up and has the token set.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TS058_BEARER_TOKEN", raising=False)
        with ts058_server() as srv:
            yield srv


@pytest.fixture(scope="module")
def locked_server() -> Iterator[Ts058Server]:
    """The 0.58 server requiring ``Authorization: Bearer <TOKEN>``."""
    require_node_modules()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TS058_BEARER_TOKEN", TOKEN)
        with ts058_server() as srv:
            yield srv


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_1_stop_after_the_first_text_delta_then_another_turn(
    server: Ts058Server, framing: str
) -> None:
    server.clear_requests()
    deltas: list[str] = []
    holder: list[ChatClient] = []

    def on_chunk(event: BaseEvent) -> None:
        if event.type == "TEXT_MESSAGE_CONTENT":
            deltas.append(event.delta)  # type: ignore[attr-defined]
            if len(deltas) == 1:
                asyncio.get_running_loop().call_soon(holder[0].stop)

    client = ChatClient(adapter(f"{server.url}/{framing}/chat", framing), on_chunk=on_chunk)
    holder.append(client)
    question = "Tell me a long story about rivers, lakes and the sea"
    # 100 ms between the model's events: the reply would take about 1.5 s.
    reply = await client.send_message(question, body={"delayMs": 100})
    assert client.status is ChatStatus.READY
    assert client.error is None
    partial = text_of(reply)
    assert partial == deltas[0] == "You "
    assert [m.role for m in client.messages] == ["user", "assistant"]
    # The 0.58 server saw the client go away mid-stream.
    await until(lambda: server.requests()[0]["disconnected"])
    (stopped,) = server.requests()
    assert "RUN_FINISHED" not in stopped["responseBody"]

    # The conversation goes on; the stopped reply went out with it.
    assert text_of(await client.send_message("Second")) == 'You said: "Second"'
    assert client.error is None and client.status is ChatStatus.READY
    _, second = server.requests()
    sent = [(m["role"], m.get("content")) for m in second["body"]["messages"]]
    assert sent[0] == ("user", question)
    assert sent[1][0] == "assistant" and sent[-1] == ("user", "Second")
    assert [m.role for m in client.messages] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("token", [None, WRONG_TOKEN])
async def test_2_a_401_keeps_status_and_body_and_no_token(
    locked_server: Ts058Server, framing: str, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{locked_server.url}/{framing}/chat"
    client = ChatClient(adapter(url, framing, headers=headers))
    reply = await client.send_message("Hello")
    assert client.status is ChatStatus.ERROR
    error = client.error
    assert isinstance(error, HTTPStatusError), repr(error)
    assert error.status_code == 401
    assert json.loads(error.body) == {"error": "Unauthorized: a valid bearer token is required"}
    assert "401" in str(error) and "Unauthorized" in str(error)
    for shown in (str(error), repr(error), json.dumps(error.headers)):
        assert TOKEN not in shown and WRONG_TOKEN not in shown
    assert error.retry_after is None
    assert reply is None or text_of(reply) == ""
    with pytest.raises(HTTPStatusError) as raised:
        await client.send_message("Again", raise_on_error=True)
    assert raised.value.status_code == 401

    # The right token gets through (the option guards the route, nothing else).
    good = ChatClient(adapter(url, framing, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert text_of(await good.send_message("Hello")) == 'You said: "Hello"'


async def cut_run(
    srv: Ts058Server, framing: str, text: str, cut: Cut
) -> tuple[ChatClient, UIMessage | None, Connection]:
    """``text`` to the durable route through a proxy that cuts the first connection."""
    with cutting_proxy(srv.port) as proxy:
        proxy.cut_next(cut)
        client = ChatClient(adapter(f"{proxy.url}/{framing}/durable", framing))
        reply = await client.send_message(text)
        (cut_connection,) = proxy.cuts()
        assert len(proxy.log) == 2, "one cut connection, one resume"
    return client, reply, cut_connection


def durable_posts(srv: Ts058Server, framing: str) -> list[dict[str, Any]]:
    return [r for r in srv.requests() if r["path"] == f"/{framing}/durable"]


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_3_resume_after_a_cut_in_the_middle_of_an_event(
    server: Ts058Server, framing: str
) -> None:
    text = "Hello there, tell me about rivers and lakes"
    uncut = ChatClient(adapter(f"{server.url}/{framing}/chat", framing))
    expected = text_of(await uncut.send_message(text))
    assert expected == f'You said: "{text}"'
    server.clear_requests()

    client, reply, cut = await cut_run(server, framing, text, Cut(after=b'"delta":"rivers'))
    assert client.error is None and client.status is ChatStatus.READY
    assert text_of(reply) == expected
    assert part_kinds(client) == part_kinds(uncut)
    # The cut fell inside an event: its line was not finished.
    assert bytes(cut.sent).endswith(b'"delta":"rivers')
    first, resumed = durable_posts(server, framing)
    assert "last-event-id" not in first["headers"]
    # Resumed after the last event that arrived whole (not the cut one, whose SSE id:
    # line did arrive), by the same run id.
    assert resumed["headers"]["last-event-id"] == complete_ids(cut, framing)[-1]
    assert resumed["durableResume"] == resumed["headers"]["last-event-id"]
    assert resumed["headers"]["x-run-id"] == first["headers"]["x-run-id"]


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_4_resume_right_after_the_intermediate_run_finished(
    server: Ts058Server, framing: str
) -> None:
    uncut = ChatClient(adapter(f"{server.url}/{framing}/chat", framing))
    expected = text_of(await uncut.send_message(WEATHER))
    assert expected == (
        'The get_weather tool returned {"city":"Paris","temperature":21,"condition":"sunny ☀️"}.'
    )
    server.clear_requests()

    end_of_event = b"\n\n" if framing == "sse" else b"\n"
    cut_here = Cut(after=b'"finishReason":"tool_calls"', then=end_of_event)
    client, reply, cut = await cut_run(server, framing, WEATHER, cut_here)
    assert client.error is None and client.status is ChatStatus.READY
    assert text_of(reply) == expected
    assert part_kinds(client) == part_kinds(uncut)
    assert client.finish_reason == "stop"
    # The connection ended exactly after the intermediate RUN_FINISHED.
    assert bytes(cut.sent).endswith(
        b'"finishReason":"tool_calls"}}}' + (b"}" if framing == "ndjson" else b"") + end_of_event
    )
    _, resumed = durable_posts(server, framing)
    ids = complete_ids(cut, framing)
    assert resumed["headers"]["last-event-id"] == ids[-1]
    # The resume brought the rest of the run: the tool result and the final answer.
    rest = resumed["responseBody"]
    assert "TOOL_CALL_RESULT" in rest and '"finishReason":"stop"' in rest
    assert '"finishReason":"tool_calls"' not in rest


# ------------------------------------------------------------ the 0.33 client vs our server


class WatchedAgent:
    """The demo agent (50 ms between words), noting how each run's stream ended."""

    def __init__(self) -> None:
        self.inner = DemoAgent(delay=0.05)
        self.outcomes: list[str] = []

    def __call__(self, params: Any, request: object = None) -> AsyncIterator[dict[str, Any]]:
        return self._run(params)

    async def _run(self, params: Any) -> AsyncIterator[dict[str, Any]]:
        finished = False
        try:
            async for event in self.inner.run(params):
                yield event
            finished = True
        finally:
            self.outcomes.append("finished" if finished else "closed early")


@pytest.fixture(scope="module")
def watched() -> Iterator[tuple[RunningServer, WatchedAgent]]:
    require_node_modules()
    agent = WatchedAgent()
    with serve(create_app(agent=agent)) as srv:
        yield srv, agent


@pytest.fixture(scope="module")
def locked_demo() -> Iterator[RunningServer]:
    require_node_modules()
    with serve(create_app(api_key=TOKEN, delay=0)) as srv:
        yield srv


@pytest.fixture(scope="module")
def durable_demo() -> Iterator[RunningServer]:
    require_node_modules()
    with serve(create_app(durable=True, delay=0)) as srv:
        yield srv


def texts(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (m["role"], "".join(p["content"] for p in m["parts"] if p["type"] == "text"))
        for m in report["messages"]
    ]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_5_ts033_stop_reaches_our_agent(
    watched: tuple[RunningServer, WatchedAgent], framing: str
) -> None:
    srv, agent = watched
    agent.outcomes.clear()
    config = {
        "url": f"{srv.url}/api/chat/{framing}",
        "transport": framing,
        "messages": ["Hello, tell me about the demo", "Second"],
        "stopAfterChunks": 4,
        "timeoutMs": (TIMEOUT - 10) * 1000,
    }
    report = run_node_script(
        "ts033_client.mjs", ["--config", "-"], stdin=json.dumps(config), timeout=TIMEOUT
    )
    assert not report["timedOut"] and not report["harnessError"], report["harnessError"]
    assert report["stoppedAfterChunks"] == 4
    assert report["status"] == "ready"
    assert report["error"] is None and report["onErrorCalls"] == []
    assert report["statusHistory"] == ["submitted", "streaming", "ready"] * 2
    # Our agent's first run was closed before its end: the disconnect reached it.
    wait_for(lambda: len(agent.outcomes) == 2)
    assert agent.outcomes == ["closed early", "finished"]
    messages = texts(report)
    assert [role for role, _ in messages] == ["user", "assistant", "user", "assistant"]
    partial, answer = messages[1][1], messages[3][1]
    assert partial.startswith("**chatconduit demo") and "You said" not in partial
    assert "> Second" in answer
    first_request, _ = report["requests"]
    assert "RUN_FINISHED" not in (first_request["responseBody"] or "")


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("token", [None, WRONG_TOKEN])
def test_6_ts033_reports_a_401(locked_demo: RunningServer, framing: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    report = run_ts033_client(
        f"{locked_demo.url}/api/chat/{framing}", framing, ["Hello"], headers=headers
    )
    assert report["status"] == "error"
    assert report["error"] == {"name": "Error", "message": "HTTP error! status: 401 Unauthorized"}
    assert report["onErrorCalls"] == ["HTTP error! status: 401 Unauthorized"]
    (request,) = report["requests"]
    assert request["status"] == 401
    assert json.loads(request["responseBody"])["error"]["code"] == "unauthorized"
    assert WRONG_TOKEN not in request["responseBody"]
    # 0.33 leaves the empty assistant message it opened for the reply.
    assert texts(report) == [("user", "Hello"), ("assistant", "")]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_7_ts033_resumes_our_durable_route_after_a_cut(
    durable_demo: RunningServer, framing: str
) -> None:
    url = f"/api/chat/{framing}"
    text = "Hello from the cutting proxy"
    uncut = run_ts033_client(f"{durable_demo.url}{url}", framing, [text], timeout=TIMEOUT)
    with cutting_proxy(durable_demo.port) as proxy:
        proxy.cut_next(Cut(after=b'"delta":"cutting'))
        report = run_ts033_client(f"{proxy.url}{url}", framing, [text], timeout=TIMEOUT)
        (cut,) = proxy.cuts()
    assert report["status"] == "ready"
    assert report["error"] is None and report["onErrorCalls"] == [] and report["warnings"] == []
    assert bytes(cut.sent).endswith(b'"delta":"cutting')
    first, resumed = report["requests"]
    assert "last-event-id" not in first["headers"]
    assert resumed["headers"]["last-event-id"] == complete_ids(cut, framing)[-1]
    assert resumed["status"] == 200
    # The same reply, not a token lost or doubled.
    assert texts(report) == texts(uncut)
    assert "> Hello from the cutting proxy" in texts(report)[1][1]
    [assistant] = [m for m in report["messages"] if m["role"] == "assistant"]
    [uncut_assistant] = [m for m in uncut["messages"] if m["role"] == "assistant"]
    assert [p["type"] for p in assistant["parts"]] == [p["type"] for p in uncut_assistant["parts"]]
