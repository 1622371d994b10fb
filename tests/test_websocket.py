"""The WebSocket adapter and endpoint: our client against our server on a real uvicorn.

Covers TanStack 0.58's WebSocket protocol end to end: turns that end at the real
turn end (not the first RUN_FINISHED), several turns on one socket, stop (the
abort frame reaches the agent and its ``finally`` runs), bad input answered with
close codes or an error frame, handshake refusal, resume by offset, and secrets
kept out of errors.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from chatconduit import (
    ChatClient,
    HTTPStatusError,
    RunAgentInput,
    TextPart,
    UIMessage,
    WebSocketClosedError,
    WebSocketOptions,
    websocket,
)
from chatconduit.server import DurableRuns, InMemoryStreamLog, websocket_endpoint
from cyclic_garbage import no_cyclic_garbage
from servers import RunningServer, serve

SECRET = "sk-wstest-0123456789abcdef"


class Record:
    """What the server-side agents saw, read from the test's thread."""

    def __init__(self) -> None:
        self.connections: list[int] = []
        self._flags: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def flag(self, what: str, text: str) -> threading.Event:
        """One flag per (what happened, user text): a run left over from an earlier test
        (durable runs outlive their sockets) cannot set the flag a later test waits on."""
        with self._lock:
            return self._flags.setdefault((what, text), threading.Event())

    def started(self, text: str) -> threading.Event:
        return self.flag("started", text)

    def finally_ran(self, text: str) -> threading.Event:
        return self.flag("finally", text)

    def cancelled(self, text: str) -> threading.Event:
        return self.flag("cancelled", text)


RECORD = Record()


def _ids(params: RunAgentInput) -> dict[str, str]:
    return {"threadId": params.thread_id, "runId": params.run_id}


def _last_text(params: RunAgentInput) -> str:
    for message in reversed(params.model_messages):
        if message.role == "user":
            return message.content if isinstance(message.content, str) else ""
    return ""


async def scripted_agent(params: RunAgentInput, request: Request) -> AsyncIterator[dict[str, Any]]:
    RECORD.connections.append(id(request))
    text = _last_text(params)
    ids = _ids(params)
    yield {"type": "RUN_STARTED", **ids}
    if "slow" in text:
        RECORD.started(text).set()
        try:
            yield {"type": "TEXT_MESSAGE_START", "messageId": "m-slow", "role": "assistant"}
            for n in range(100):
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-slow", "delta": f"{n} "}
                await asyncio.sleep(0.02)
            yield {"type": "TEXT_MESSAGE_END", "messageId": "m-slow"}
            yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}
        except asyncio.CancelledError:
            RECORD.cancelled(text).set()
            raise
        finally:
            RECORD.finally_ran(text).set()
        return
    if "silent" in text:
        await asyncio.sleep(3)
    if "boom" in text:
        raise RuntimeError(f"upstream failed with key {SECRET}")
    if "tool" in text:
        # A server tool loop: the first RUN_FINISHED (finishReason tool_calls, as 0.58 puts
        # it in metadata.tanstack) is not the end of the turn.
        yield {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "get_weather"}
        yield {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"city":"Paris"}'}
        yield {"type": "TOOL_CALL_END", "toolCallId": "c1"}
        yield {
            "type": "RUN_FINISHED",
            **ids,
            "metadata": {"tanstack": {"finishReason": "tool_calls"}},
        }
        yield {
            "type": "TOOL_CALL_RESULT",
            "messageId": "m-tool",
            "toolCallId": "c1",
            "content": '{"temperature":21}',
            "role": "tool",
        }
    if "interrupt" in text:
        yield {"type": "TOOL_CALL_START", "toolCallId": "c2", "toolCallName": "get_time"}
        yield {"type": "TOOL_CALL_END", "toolCallId": "c2"}
        yield {
            "type": "RUN_FINISHED",
            **ids,
            "finishReason": "tool_calls",
            "outcome": {"type": "interrupt", "interrupts": [{"id": "i1", "toolCallId": "c2"}]},
        }
        return
    yield {"type": "TEXT_MESSAGE_START", "messageId": f"m-{params.run_id}", "role": "assistant"}
    for word in f"You said: {text}".split(" "):
        delta = word + " "
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"m-{params.run_id}", "delta": delta}
    yield {"type": "TEXT_MESSAGE_END", "messageId": f"m-{params.run_id}"}
    yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


def _authorize(request: Request) -> bool:
    return request.headers.get("authorization") == "Bearer good-token"


async def echo_refusal(ws: WebSocket) -> None:
    """Refuses the handshake and echoes the credentials it got (a careless server)."""
    body = f"bad credentials: {ws.headers.get('authorization')}"
    await ws.send_denial_response(PlainTextResponse(body, status_code=403))


async def echo_close(ws: WebSocket) -> None:
    """Accepts, then closes with a reason quoting the credentials (a careless server)."""
    await ws.accept()
    await ws.receive_text()
    token = ws.headers.get("authorization", "")
    await ws.close(code=4001, reason=f"bad {token}")


RESUME_LOG: list[str] = []


async def durable_dropper(ws: WebSocket) -> None:
    """A durable server that drops the first socket mid-turn; ``?offset=`` replays after it."""
    offset = ws.query_params.get("offset")
    run_id = ws.query_params.get("runId", "")
    await ws.accept()
    events: list[dict[str, Any]] = [
        {"type": "CUSTOM", "name": "run.accepted", "value": {}},
        {"type": "RUN_STARTED", "threadId": "t", "runId": run_id},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"{n} "} for n in range(6)),
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": run_id, "finishReason": "stop"},
    ]
    framed = [
        json.dumps({"id": f"memory:v1:{run_id}:{n + 1}", "chunk": e}) for n, e in enumerate(events)
    ]
    if offset is None:
        RESUME_LOG.append("open")
        await ws.receive_text()
        for frame in framed[:5]:
            await ws.send_text(frame)
        await ws.close(code=1011, reason="server restarting")
        return
    RESUME_LOG.append(f"resume {offset}")
    start = int(offset.rsplit(":", 1)[1]) - 1  # replays the boundary too: the client skips it
    for frame in framed[start:]:
        await ws.send_text(frame)
    await ws.close(code=1000)


FLAKY_CALLS: list[int] = []
_flaky_inner = websocket_endpoint(scripted_agent)


async def flaky(ws: WebSocket) -> None:
    """Refuses the first handshake with a 503, then serves."""
    FLAKY_CALLS.append(1)
    if len(FLAKY_CALLS) == 1:
        refusal = PlainTextResponse("busy", status_code=503, headers={"Retry-After": "0"})
        await ws.send_denial_response(refusal)
        return
    await _flaky_inner(ws)


def app() -> Starlette:
    return Starlette(
        routes=[
            WebSocketRoute("/ws", websocket_endpoint(scripted_agent, heartbeat=0.05)),
            WebSocketRoute("/ws-auth", websocket_endpoint(scripted_agent, authorize=_authorize)),
            WebSocketRoute("/ws-small", websocket_endpoint(scripted_agent, max_frame_bytes=2000)),
            WebSocketRoute("/ws-idle", websocket_endpoint(scripted_agent, idle_timeout=0.3)),
            WebSocketRoute("/echo-refusal", echo_refusal),
            WebSocketRoute("/echo-close", echo_close),
            WebSocketRoute("/durable", durable_dropper),
            WebSocketRoute("/flaky", flaky),
            WebSocketRoute(
                "/ws-proto", websocket_endpoint(scripted_agent, subprotocol="tanstack.v1")
            ),
            WebSocketRoute(
                "/ws-durable",
                websocket_endpoint(scripted_agent, durable=DurableRuns(InMemoryStreamLog())),
            ),
            WebSocketRoute(
                "/ws-scoped",
                websocket_endpoint(
                    scripted_agent,
                    durable=DurableRuns(InMemoryStreamLog()),
                    run_scope=lambda ws: ws.headers.get("x-user", "anonymous"),
                ),
            ),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(app()) as srv:
        yield srv


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def body(text: str, run_id: str = "r1") -> str:
    return json.dumps(
        {
            "threadId": "t1",
            "runId": run_id,
            "state": {},
            "messages": [{"id": f"u-{run_id}", "role": "user", "content": text}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        }
    )


async def frames_until_turn_end(ws: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame.get("type") == "ping":
            continue
        out.append(frame)
        if frame["type"] == "RUN_ERROR" or (
            frame["type"] == "RUN_FINISHED" and frame.get("finishReason") != "tool_calls"
        ):
            return out


# -- our client against our server -------------------------------------------------------


async def test_text_and_two_turns_on_one_socket(server: RunningServer) -> None:
    RECORD.connections.clear()
    adapter = websocket(server.ws_url("/ws"))
    client = ChatClient(adapter)
    try:
        reply = await client.send_message("Hello")
        assert client.error is None, client.error
        assert text_of(reply).strip() == "You said: Hello"
        reply = await client.send_message("Again")
        assert text_of(reply).strip() == "You said: Again"
        assert len(RECORD.connections) == 2
        assert RECORD.connections[0] == RECORD.connections[1]  # the same socket
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_server_tool_turn_spans_several_run_finished(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws"))
    client = ChatClient(adapter)
    try:
        await client.send_message("use the tool please")
        assert client.error is None, client.error
        assert text_of(client.messages[-1]).strip() == "You said: use the tool please"
        reply = await client.send_message("second")
        assert text_of(reply).strip() == "You said: second"
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_interrupt_ends_the_turn(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws"))
    events = [e async for e in adapter.connect([_user("interrupt me")])]
    assert events[-1].type == "RUN_FINISHED"
    # The socket is still good for the next turn.
    events = [e async for e in adapter.connect([_user("next")])]
    assert events[-1].type == "RUN_FINISHED"
    await adapter.aclose()


def _user(text: str) -> UIMessage:
    return UIMessage(id="u1", role="user", parts=[TextPart(content=text)])


async def test_stop_aborts_the_agent_and_the_next_turn_works(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws"))
    client = ChatClient(adapter)
    try:
        task = asyncio.create_task(client.send_message("go slow then stop"))
        for _ in range(250):
            last = client.messages[-1] if client.messages else None
            if last is not None and last.role == "assistant" and text_of(last):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("no text arrived")
        client.stop()
        await asyncio.wait_for(task, 5)
        assert await asyncio.to_thread(RECORD.finally_ran("go slow then stop").wait, 5)
        assert RECORD.cancelled("go slow then stop").is_set()
        reply = await client.send_message("after stop")
        assert text_of(reply).strip() == "You said: after stop"
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_agent_failure_is_a_run_error_without_secrets(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = websocket(server.ws_url("/ws"))
    client = ChatClient(adapter)
    try:
        await client.send_message("boom")
        assert client.error is not None
        assert SECRET not in str(client.error)
        assert "Internal server error" in str(client.error)
        assert "upstream failed" in caplog.text  # logged on the server side...
        assert SECRET not in caplog.text  # ...with the key masked
        reply = await client.send_message("still alive")
        assert text_of(reply).strip() == "You said: still alive"
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_pings_are_ignored(server: RunningServer) -> None:
    async with ws_connect(server.ws_url("/ws?runId=r1")) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert frame == {"type": "ping"}  # heartbeat=0.05 on /ws
    adapter = websocket(server.ws_url("/ws"))
    events = [e async for e in adapter.connect([_user("go slow")])]  # many pings mid-turn
    assert events[-1].type == "RUN_FINISHED"
    await adapter.aclose()


async def test_opens_at_run_id(server: RunningServer) -> None:
    from chatconduit import RunContext

    seen: list[str] = []

    async def headers() -> dict[str, str]:
        seen.append("called")
        return {"Authorization": "Bearer good-token"}

    adapter = websocket(server.ws_url("/ws-auth"), {"headers": headers})
    ctx = RunContext(thread_id="t1", run_id="run-abc")
    events = [e async for e in adapter.connect([_user("hi")], run_context=ctx)]
    assert events[0].type == "RUN_STARTED"
    assert adapter._socket is not None
    assert "runId=run-abc" in adapter._socket.url
    assert seen == ["called"]
    await adapter.aclose()


# -- refusals and errors -----------------------------------------------------------------


async def test_handshake_refused_with_status(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws-auth"), {"headers": {"Authorization": "Bearer nope"}})
    with pytest.raises(HTTPStatusError) as info:
        async for _ in adapter.connect([_user("hi")]):
            pass
    assert info.value.status_code == 401
    assert "unauthorized" in info.value.body
    assert "nope" not in str(info.value)


async def test_handshake_refusal_echo_is_scrubbed(server: RunningServer) -> None:
    adapter = websocket(
        server.ws_url("/echo-refusal"), {"headers": {"Authorization": f"Bearer {SECRET}"}}
    )
    with pytest.raises(HTTPStatusError) as info:
        async for _ in adapter.connect([_user("hi")]):
            pass
    assert info.value.status_code == 403
    assert "bad credentials" in info.value.body
    for text in (str(info.value), info.value.body, repr(info.value.headers), repr(adapter)):
        assert SECRET not in text


async def test_close_mid_turn_is_typed_and_scrubbed(server: RunningServer) -> None:
    adapter = websocket(
        server.ws_url("/echo-close?api_key=" + SECRET),
        {"headers": {"Authorization": f"Bearer {SECRET}"}},
    )
    with pytest.raises(WebSocketClosedError) as info:
        async for _ in adapter.connect([_user("hi")]):
            pass
    assert info.value.code == 4001
    assert info.value.reason.startswith("bad ")
    assert SECRET not in str(info.value)
    assert SECRET not in info.value.reason


async def test_connect_refused_is_retried_then_typed() -> None:
    from chatconduit import ConnectError, RetryPolicy

    adapter = websocket(
        "ws://127.0.0.1:9/ws",
        WebSocketOptions(retry=RetryPolicy(max_attempts=2, initial_delay=0.01)),
    )
    with pytest.raises(ConnectError):
        async for _ in adapter.connect([_user("hi")]):
            pass


async def test_resume_by_offset_loses_and_duplicates_nothing(server: RunningServer) -> None:
    RESUME_LOG.clear()
    adapter = websocket(server.ws_url("/durable"))
    from chatconduit import RunContext

    ctx = RunContext(thread_id="t", run_id="run-d")
    events = [e async for e in adapter.connect([_user("hi")], run_context=ctx)]
    deltas = [e.delta for e in events if e.type == "TEXT_MESSAGE_CONTENT"]  # type: ignore[union-attr]
    assert deltas == [f"{n} " for n in range(6)]
    assert [e.type for e in events].count("RUN_STARTED") == 1
    assert RESUME_LOG == ["open", "resume memory:v1:run-d:5"]
    await adapter.aclose()


# -- bad input, raw frames ---------------------------------------------------------------


async def _closed_with(url: str, send: Any) -> tuple[int, str]:
    async with ws_connect(url) as ws:
        await ws.send(send)
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None
        return info.value.rcvd.code, info.value.rcvd.reason


@pytest.mark.parametrize(
    ("payload", "code", "words"),
    [
        ("not json", 1007, "not JSON"),
        ("[1, 2]", 1007, "JSON object"),
        (b"\x00\x01", 1003, "binary"),
        ('{"type": "launch"}', 1008, "unknown frame type"),
        ('{"x": "' + "a" * 3000 + '"}', 1009, "larger than"),
    ],
)
async def test_bad_frames_close_with_a_code(
    server: RunningServer, payload: Any, code: int, words: str
) -> None:
    got_code, reason = await _closed_with(server.ws_url("/ws-small"), payload)
    assert got_code == code
    assert words in reason
    # The server still serves other sockets.
    async with ws_connect(server.ws_url("/ws-small")) as ws:
        await ws.send(body("fine"))
        frames = await frames_until_turn_end(ws)
        assert frames[-1]["type"] == "RUN_FINISHED"


async def test_second_input_while_a_turn_runs(server: RunningServer) -> None:
    async with ws_connect(server.ws_url("/ws")) as ws:
        await ws.send(body("go slow, a second input", "r-a"))
        assert await asyncio.to_thread(RECORD.started("go slow, a second input").wait, 5)
        await ws.send(body("another", "r-b"))
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1008
        assert "already running" in info.value.rcvd.reason
    assert await asyncio.to_thread(RECORD.finally_ran("go slow, a second input").wait, 5)


async def test_invalid_run_input_gets_an_error_frame_and_the_socket_lives(
    server: RunningServer,
) -> None:
    async with ws_connect(server.ws_url("/ws")) as ws:
        await ws.send(json.dumps({"threadId": "t", "runId": "r-bad", "messages": "nope"}))
        frames = await frames_until_turn_end(ws)
        assert frames[-1]["type"] == "RUN_ERROR"
        assert frames[-1]["code"] == "invalid_request"
        assert frames[-1]["runId"] == "r-bad"
        await ws.send(body("ok now", "r-good"))
        frames = await frames_until_turn_end(ws)
        assert frames[-1]["type"] == "RUN_FINISHED"


async def test_abort_frame_stops_the_run_and_nothing_more_is_sent(server: RunningServer) -> None:
    async with ws_connect(server.ws_url("/ws")) as ws:
        await ws.send(body("go slow, abort frame", "r-slow"))
        assert await asyncio.to_thread(RECORD.started("go slow, abort frame").wait, 5)
        await ws.send(json.dumps({"type": "abort", "runId": "r-slow"}))
        assert await asyncio.to_thread(RECORD.finally_ran("go slow, abort frame").wait, 5)
        # Drain what was in flight, then a new turn on the same socket works.
        await ws.send(body("again", "r-next"))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame.get("type") == "RUN_FINISHED" and frame.get("runId") == "r-next":
                break


async def test_idle_timeout_never_fires_mid_turn(server: RunningServer) -> None:
    async with ws_connect(server.ws_url("/ws-idle")) as ws:
        await ws.send(body("go slow", "r-idle"))  # ~2 s, well past the 0.3 s idle timeout
        frames = await frames_until_turn_end(ws)
        assert frames[-1]["type"] == "RUN_FINISHED"
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1000
        assert info.value.rcvd.reason == "idle timeout"


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        websocket("http://x/ws")
    with pytest.raises(ValueError):
        WebSocketOptions(idle_timeout=0)
    with pytest.raises(ValueError):
        websocket_endpoint(scripted_agent, heartbeat=-1)


# -- the demo app and the CLI ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningServer]:
    from chatconduit.demo import create_app

    with serve(create_app(delay=0, api_key="ws-demo-key")) as srv:
        yield srv


async def test_demo_app_serves_the_websocket_route(demo_server: RunningServer) -> None:
    from chatconduit import ToolResultPart

    adapter = websocket(
        demo_server.ws_url("/api/chat/ws"), {"headers": {"Authorization": "Bearer ws-demo-key"}}
    )
    client = ChatClient(adapter)
    try:
        await client.send_message("what is 12*7?")
        assert client.error is None, client.error
        results = [p for m in client.messages for p in m.parts if isinstance(p, ToolResultPart)]
        assert json.loads(results[0].content)["result"] == 84
        assert "84" in text_of(client.messages[-1])
        reply = await client.send_message("hello")
        assert client.error is None, client.error
        assert text_of(reply)
    finally:
        await client.aclose()
        await adapter.aclose()
    refused = websocket(demo_server.ws_url("/api/chat/ws"))
    with pytest.raises(HTTPStatusError) as info:
        async for _ in refused.connect([_user("hi")]):
            pass
    assert info.value.status_code == 401


def test_cli_chat_over_websocket(demo_server: RunningServer) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()}
    env["NO_COLOR"] = "1"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatconduit",
            "chat",
            demo_server.ws_url("/api/chat/ws"),
            "-H",
            "Authorization: Bearer ws-demo-key",
            "-m",
            "what is 12*7?",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "84" in result.stdout
    assert "ws-demo-key" not in result.stderr


# -- durable runs: {id, chunk} frames, resume by offset ------------------------------------


async def test_durable_frames_are_envelopes_and_offset_replays(server: RunningServer) -> None:
    async with ws_connect(server.ws_url("/ws-durable?runId=r-dur")) as ws:
        await ws.send(body("Hello", "r-dur"))
        raw: list[dict[str, Any]] = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            raw.append(frame)
            if frame.get("chunk", {}).get("type") == "RUN_FINISHED":
                break
    assert all(set(f) == {"id", "chunk"} for f in raw)
    # Joining from the start replays the same frames, then the server closes with 1000.
    async with ws_connect(server.ws_url("/ws-durable?runId=r-dur&offset=-1")) as ws:
        replay = []
        with pytest.raises(ConnectionClosed) as info:
            while True:
                replay.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    assert replay == raw
    async with ws_connect(server.ws_url(f"/ws-durable?runId=r-dur&offset={raw[2]['id']}")) as ws:
        after = []
        with pytest.raises(ConnectionClosed):
            while True:
                after.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    assert after == raw[3:]
    async with ws_connect(server.ws_url("/ws-durable?runId=nope&offset=-1")) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (1008, "unknown run")


async def test_client_resumes_our_durable_server_after_a_drop(server: RunningServer) -> None:
    from chatconduit import RunContext

    adapter = websocket(server.ws_url("/ws-durable"))
    ctx = RunContext(thread_id="t", run_id="r-drop")
    deltas: list[str] = []
    types: list[str] = []
    dropped = False
    async for event in adapter.connect([_user("go slow")], run_context=ctx):
        types.append(event.type)
        if event.type == "TEXT_MESSAGE_CONTENT":
            deltas.append(event.delta)  # type: ignore[attr-defined]
            if len(deltas) == 10 and not dropped:
                dropped = True
                assert adapter._socket is not None
                adapter._socket.conn.transport.abort()  # the network fails mid-turn
    assert dropped
    assert deltas == [f"{n} " for n in range(100)]  # nothing lost, nothing twice
    assert types.count("RUN_STARTED") == 1 and types[-1] == "RUN_FINISHED"
    assert adapter._socket is None  # the resume socket served this run only
    await adapter.aclose()


async def test_stop_on_a_durable_socket_stops_the_run(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws-durable"))
    client = ChatClient(adapter)
    try:
        task = asyncio.create_task(client.send_message("go slow, durable stop"))
        for _ in range(250):
            last = client.messages[-1] if client.messages else None
            if last is not None and last.role == "assistant" and text_of(last):
                break
            await asyncio.sleep(0.02)
        client.stop()
        await asyncio.wait_for(task, 5)
        assert await asyncio.to_thread(RECORD.finally_ran("go slow, durable stop").wait, 5)
        assert RECORD.cancelled("go slow, durable stop").is_set()
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_client_limits_frame_size_and_silence(server: RunningServer) -> None:
    from chatconduit import FrameTooLargeError, StreamTimeoutError

    adapter = websocket(
        server.ws_url("/ws-auth"),
        {"headers": {"Authorization": "Bearer good-token"}, "max_frame_bytes": 300},
    )
    with pytest.raises(FrameTooLargeError):
        async for _ in adapter.connect([_user("x" * 400)]):
            pass
    assert adapter._socket is None
    adapter = websocket(
        server.ws_url("/ws-auth"),
        {"headers": {"Authorization": "Bearer good-token"}, "idle_timeout": 0.3},
    )
    with pytest.raises(StreamTimeoutError):
        async for _ in adapter.connect([_user("silent please")]):
            pass
    assert adapter._socket is None


# -- the push shape (subscribe + send on one socket, as 0.33's webSocket()) ---------------


async def test_push_shape_text_turns_and_stop(server: RunningServer) -> None:
    from chatconduit import websocket_push

    RECORD.connections.clear()
    adapter = websocket_push(server.ws_url("/ws"))
    client = ChatClient(adapter)
    try:
        reply = await client.send_message("Hello")
        assert client.error is None, client.error
        assert text_of(reply).strip() == "You said: Hello"
        task = asyncio.create_task(client.send_message("go slow, push stop"))
        for _ in range(250):
            last = client.messages[-1] if client.messages else None
            if last is not None and last.role == "assistant" and text_of(last):
                break
            await asyncio.sleep(0.02)
        client.stop()
        await asyncio.wait_for(task, 5)
        assert await asyncio.to_thread(RECORD.finally_ran("go slow, push stop").wait, 5)
        reply = await client.send_message("after stop")
        assert text_of(reply).strip() == "You said: after stop"
        assert len(set(RECORD.connections)) == 1  # every turn on the one socket
    finally:
        await client.aclose()
        await adapter.aclose()


async def test_push_shape_resumes_after_a_drop(server: RunningServer) -> None:
    from chatconduit import RunContext, websocket_push

    adapter = websocket_push(server.ws_url("/ws-durable"))
    events = aiter(adapter.subscribe())
    await adapter.send([_user("go slow")], None, None, RunContext(thread_id="t", run_id="r-pd"))
    deltas: list[str] = []
    while True:
        event = await asyncio.wait_for(anext(events), 5)
        if event.type == "TEXT_MESSAGE_CONTENT":
            deltas.append(event.delta)  # type: ignore[attr-defined]
            if len(deltas) == 5:
                assert adapter._socket is not None
                adapter._socket.conn.transport.abort()
        if event.type == "RUN_FINISHED":
            break
    assert deltas == [f"{n} " for n in range(100)]
    await adapter.aclose()


async def test_push_shape_close_mid_turn_is_typed(server: RunningServer) -> None:
    from chatconduit import websocket_push

    adapter = websocket_push(
        server.ws_url("/echo-close"), {"headers": {"Authorization": f"Bearer {SECRET}"}}
    )
    events = aiter(adapter.subscribe())
    await adapter.send([_user("hi")])
    with pytest.raises(WebSocketClosedError) as info:
        await asyncio.wait_for(anext(events), 5)
    assert info.value.code == 4001 and SECRET not in str(info.value)
    await adapter.aclose()


async def test_handshake_503_is_retried(server: RunningServer) -> None:
    from chatconduit import RetryPolicy

    FLAKY_CALLS.clear()
    adapter = websocket(server.ws_url("/flaky"), {"retry": RetryPolicy(initial_delay=0.01)})
    events = [e async for e in adapter.connect([_user("hi")])]
    assert events[-1].type == "RUN_FINISHED"
    assert len(FLAKY_CALLS) == 2
    await adapter.aclose()


async def test_subprotocol_is_offered_and_accepted(server: RunningServer) -> None:
    adapter = websocket(server.ws_url("/ws-proto"), {"subprotocols": ["tanstack.v1"]})
    events = [e async for e in adapter.connect([_user("hi")])]
    assert events[-1].type == "RUN_FINISHED"
    assert adapter._socket is not None
    assert adapter._socket.conn.subprotocol == "tanstack.v1"
    await adapter.aclose()


# -- joining a durable run over a socket of its own ------------------------------------------


async def test_join_run_over_a_socket_live_then_replayed(server: RunningServer) -> None:
    from chatconduit import WebSocketClosedError
    from chatconduit.events import event_to_dict

    # A run whose client goes away after a few words: durable, it carries on without it.
    async with ws_connect(server.ws_url("/ws-durable?runId=r-join")) as ws:
        await ws.send(body("go slow, joined", "r-join"))
        for _ in range(4):
            await asyncio.wait_for(ws.recv(), 5)
    adapter = websocket(server.ws_url("/ws-durable"))
    live = [e async for e in adapter.join_run("r-join")]  # from its first event, to its end
    assert live[0].type == "RUN_STARTED" and live[-1].type == "RUN_FINISHED"
    deltas = [e.delta for e in live if e.type == "TEXT_MESSAGE_CONTENT"]  # type: ignore[attr-defined]
    assert deltas == [f"{n} " for n in range(100)]
    # Finished: a join replays it whole; from an offset, strictly after that event.
    again = [event_to_dict(e) for e in [e async for e in adapter.join_run("r-join")]]
    assert again == [event_to_dict(e) for e in live]
    async with ws_connect(server.ws_url("/ws-durable?runId=r-join&offset=-1")) as ws:
        ids = [json.loads(await asyncio.wait_for(ws.recv(), 5))["id"] for _ in range(5)]
    after = [event_to_dict(e) async for e in adapter.join_run("r-join", offset=ids[4])]
    assert after == again[5:]
    with pytest.raises(WebSocketClosedError) as info:
        async for _ in adapter.join_run("no-such-run"):
            pass
    assert (info.value.code, info.value.reason) == (1008, "unknown run")
    # ChatClient.join_run: a new conversation shows the run's reply.
    client = ChatClient(websocket(server.ws_url("/ws-durable")))
    try:
        reply = await client.join_run("r-join")
        assert client.error is None and text_of(reply) == "".join(deltas)
    finally:
        await client.aclose()


async def test_durable_socket_runs_are_scoped_to_their_caller(server: RunningServer) -> None:
    """``run_scope``: another caller who knows the run id can neither read nor stop it,
    and the same run id names a run of their own."""
    alice = {"X-User": "alice"}
    url = server.ws_url("/ws-scoped?runId=r-shared")
    async with ws_connect(url, additional_headers=alice) as ws:
        await ws.send(body("go slow, alice's", "r-shared"))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["chunk"]["type"] == "RUN_STARTED"
        # Bob cannot replay alice's run, and his abort frame does not stop it.
        replay = server.ws_url("/ws-scoped?runId=r-shared&offset=-1")
        async with ws_connect(replay, additional_headers={"X-User": "bob"}) as bob:
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(bob.recv(), 5)
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (1008, "unknown run")
        async with ws_connect(
            server.ws_url("/ws-scoped"), additional_headers={"X-User": "bob"}
        ) as bob:
            await bob.send(json.dumps({"type": "abort", "runId": "r-shared"}))
            # Bob's own run of the same id is his, and answers him.
            await bob.send(body("Hello", "r-shared"))
            frames = []
            while not frames or frames[-1]["chunk"]["type"] != "RUN_FINISHED":
                frames.append(json.loads(await asyncio.wait_for(bob.recv(), 5)))
        # Alice's run went on to its end, untouched.
        chunks = [first["chunk"]]
        while chunks[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
            chunks.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["chunk"])
    deltas = [c["delta"] for c in chunks if c["type"] == "TEXT_MESSAGE_CONTENT"]
    assert deltas == [f"{n} " for n in range(100)]
    assert await asyncio.to_thread(RECORD.finally_ran("go slow, alice's").wait, 5)
    assert not RECORD.cancelled("go slow, alice's").is_set()
    # Alice can replay her own run.
    replay = server.ws_url("/ws-scoped?runId=r-shared&offset=-1")
    async with ws_connect(replay, additional_headers=alice) as ws:
        again = []
        with pytest.raises(ConnectionClosed):
            while True:
                again.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["chunk"])
    assert again == chunks


async def test_a_signal_shared_by_many_turns_keeps_no_listener(server: RunningServer) -> None:
    """One AbortSignal passed to every call (an app's shutdown signal, say): each turn and
    each join registers on it while it runs and must be off it once it ends, else the
    signal collects one listener (and all it holds) per call, without bound."""
    from chatconduit import AbortController

    controller = AbortController()
    adapter = websocket(server.ws_url("/ws"))
    try:
        for n in range(5):
            messages = [{"id": f"u{n}", "role": "user", "content": f"turn {n}"}]
            events = [e async for e in adapter.connect(messages, abort_signal=controller.signal)]
            assert events[-1].type == "RUN_FINISHED"
    finally:
        await adapter.aclose()
    durable = websocket(server.ws_url("/ws-durable"))
    async with ws_connect(server.ws_url("/ws-durable?runId=r-signal")) as ws:
        await ws.send(body("hello", "r-signal"))
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["chunk"]["type"] != "RUN_FINISHED":
            pass
    for _ in range(3):
        joined = [e async for e in durable.join_run("r-signal", abort_signal=controller.signal)]
        assert joined[-1].type == "RUN_FINISHED"
    assert not controller.signal._listeners  # None or empty: nobody is still listening
    # The push shape: a subscription and every send, with the same signal.
    from chatconduit import websocket_push

    push = websocket_push(server.ws_url("/ws"))
    events = push.subscribe(abort_signal=controller.signal)
    try:
        for n in range(5):
            await push.send([_user(f"push {n}")], abort_signal=controller.signal)
            while (await asyncio.wait_for(anext(events), 5)).type != "RUN_FINISHED":
                pass
        assert len(controller.signal._listeners or ()) == 1  # the live subscription's
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        await push.aclose()
    assert not controller.signal._listeners


@pytest.mark.parametrize("shape", ["pull", "push"])
async def test_a_closed_client_on_a_socket_leaves_nothing_for_the_cyclic_gc(
    server: RunningServer, shape: str
) -> None:
    """A ChatClient over either WebSocket adapter, closed with its adapter: nothing of
    theirs is left in a reference cycle (the push turn's abort listener held its turn)."""
    from chatconduit import websocket_push

    async def one_client() -> None:
        make = websocket if shape == "pull" else websocket_push
        adapter = make(server.ws_url("/ws"))
        client = ChatClient(adapter)
        try:
            reply = await client.send_message("Hello")
            assert client.error is None and text_of(reply).strip() == "You said: Hello"
        finally:
            await client.aclose()
            await adapter.aclose()

    await one_client()
    with no_cyclic_garbage(exclude=("server",)):
        for _ in range(3):
            await one_client()
