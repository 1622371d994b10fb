"""Our WebSocket adapter against the real ``@tanstack/ai@0.58.0`` ``toWebSocketStream``.

``ts058_server.mjs`` serves the package's helper on a ``ws`` server at ``/ws/chat`` (bare
events) and ``/ws/durable`` (``{id, chunk}`` envelopes). What is proven: a text turn, a
server-tool turn (its intermediate ``RUN_FINISHED`` does not end the turn), a client-tool
interrupt ends the turn (and ``ChatClient`` answers it on the same socket), several turns
on one socket opened at ``?runId=<first run>``, the durable envelopes, stop (the abort
frame reaches the server), and ``join_run`` read by ``resumeWebSocketStream``.

Then the other way round: the real 0.33 ``webSocket()`` client (``ts033_client.mjs
--transport ws``) against our ``websocket_endpoint``: a stop that cancels our agent (its
``finally`` runs) with the next turn on the same socket, and a socket cut mid-answer that
it resumes by offset from our durable log. Text, reasoning, server and client tools and
approvals over the socket run in ``test_server_current.py`` (its ``ws`` transport),
``joinRun`` in ``test_server_durable_current.py``; our client against
``toWebSocketStream`` in ``test_client_current.py`` and ``test_ingest_current.py`` (their
``ws`` framings).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chatconduit import ChatClient, RunContext, TextPart, Tool, UIMessage, websocket, websocket_push
from chatconduit._connection._websocket import ends_turn
from interop_current.cutting_proxy import Cut, cutting_proxy
from interop_current.harness import (
    Ts058Server,
    require_node_modules,
    run_node_script,
    run_ts033_client,
    ts058_server,
)
from servers import RunningServer, serve

pytestmark = pytest.mark.interop

GET_TIME_SCHEMA = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []}
ASK_TIME = 'What is get_time {"timezone": "Europe/Paris"}'
WEATHER = 'get_weather please {"city": "Paris"}'


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    with ts058_server() as srv:
        yield srv


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def user(text: str) -> UIMessage:
    return UIMessage(id="u1", role="user", parts=[TextPart(content=text)])


def ws_entries(srv: Ts058Server) -> list[dict[str, Any]]:
    return [r for r in srv.requests() if r.get("kind") == "websocket"]


def inbound(entry: dict[str, Any]) -> list[Any]:
    frames = entry.get("inbound") or []
    out = []
    for frame in frames:
        data = frame.get("data", frame) if isinstance(frame, dict) else frame
        out.append(json.loads(data) if isinstance(data, str) else data)
    return out


@pytest.mark.parametrize("route", ["chat", "durable"])
async def test_text_turn(server: Ts058Server, route: str) -> None:
    server.clear_requests()
    adapter = websocket(f"{server.ws_url}/ws/{route}")
    ctx = RunContext(thread_id="t-text", run_id=f"run-text-{route}")
    try:
        events = [e async for e in adapter.connect([user("Hello")], run_context=ctx)]
    finally:
        await adapter.aclose()
    types = [e.type for e in events]
    assert types[-1] == "RUN_FINISHED"
    assert "RUN_STARTED" in types
    text = "".join(
        getattr(e, "delta", "") or "" for e in events if e.type == "TEXT_MESSAGE_CONTENT"
    )
    assert text == 'You said: "Hello"'
    if route == "durable":
        assert events[0].type == "CUSTOM"  # run.accepted, unwrapped from its envelope
    [entry] = ws_entries(server)
    assert entry["query"] in ({"runId": ctx.run_id}, f"?runId={ctx.run_id}", f"runId={ctx.run_id}")


async def test_server_tool_turn_spans_the_intermediate_run_finished(server: Ts058Server) -> None:
    adapter = websocket(f"{server.ws_url}/ws/chat")
    try:
        events = [e async for e in adapter.connect([user(WEATHER)])]
    finally:
        await adapter.aclose()
    types = [e.type for e in events]
    assert types.count("RUN_FINISHED") == 2
    assert "TOOL_CALL_RESULT" in types
    assert types[-1] == "RUN_FINISHED"
    assert types.index("TOOL_CALL_RESULT") > types.index("RUN_FINISHED")


async def test_client_tool_interrupt_ends_the_turn(server: Ts058Server) -> None:
    adapter = websocket(f"{server.ws_url}/ws/chat")
    tools = [{"name": "get_time", "description": "time", "parameters": GET_TIME_SCHEMA}]
    ctx = RunContext(thread_id="t-ct", run_id="run-ct", client_tools=tools)
    try:
        events = await asyncio.wait_for(
            _collect(adapter.connect([user(ASK_TIME)], run_context=ctx)), 10
        )
    finally:
        await adapter.aclose()
    last = events[-1]
    assert last.type == "RUN_FINISHED"
    assert last.outcome is not None and last.outcome.kind == "interrupt"  # type: ignore[union-attr]


async def _collect(events: Any) -> list[Any]:
    return [e async for e in events]


async def test_chat_client_push_shape_server_tool_turn(server: Ts058Server) -> None:
    adapter = websocket_push(f"{server.ws_url}/ws/chat")
    client = ChatClient(adapter)
    try:
        # The turn must resolve at its real end, not at the intermediate RUN_FINISHED
        # (finish reason tool_calls) before the server tool's result and the answer.
        reply = await asyncio.wait_for(client.send_message(WEATHER), 5)
        assert reply is not None
        assert "get_weather tool returned" in text_of(reply)
        # 0.58 continues under a new message id: user, tool-call message, answer (the
        # pull adapter gives the same three against this server).
        assert [m.role for m in client.messages] == ["user", "assistant", "assistant"]
    finally:
        await asyncio.wait_for(client.aclose(), 5)
        await asyncio.wait_for(adapter.aclose(), 5)


async def test_chat_client_turns_share_one_socket(server: Ts058Server) -> None:
    """A client tool answered on the socket, a server tool, then a plain turn: one socket."""
    server.clear_requests()

    def get_time(args: dict[str, Any]) -> dict[str, Any]:
        return {"time": "2026-11-24T12:00:00.000Z", "timezone": args.get("timezone", "UTC")}

    adapter = websocket(f"{server.ws_url}/ws/chat")
    client = ChatClient(
        adapter, tools=[Tool("get_time", "Get the time.", GET_TIME_SCHEMA, get_time)]
    )
    try:
        reply = await asyncio.wait_for(client.send_message(ASK_TIME), 20)
        assert client.error is None, client.error
        assert text_of(reply) == (
            'The get_time tool returned {"time":"2026-11-24T12:00:00.000Z",'
            '"timezone":"Europe/Paris"}.'
        )
        await asyncio.wait_for(client.send_message(WEATHER), 20)
        assert client.error is None, client.error
        assert "get_weather tool returned" in text_of(client.messages[-1])
        reply = await asyncio.wait_for(client.send_message("Thanks!"), 20)
        assert text_of(reply) == 'You said: "Thanks!"'
    finally:
        await client.aclose()
        await adapter.aclose()
    [entry] = ws_entries(server)
    frames = inbound(entry)
    assert len(frames) == 4  # question, tool answer, weather, thanks
    assert frames[1]["parentRunId"] == frames[0]["runId"]
    assert frames[1]["resume"][0]["status"] == "resolved"


async def test_stop_sends_the_abort_frame(server: Ts058Server) -> None:
    server.clear_requests()
    adapter = websocket(f"{server.ws_url}/ws/chat")
    client = ChatClient(adapter, forwarded_props={"delayMs": 100})
    try:
        task = asyncio.create_task(client.send_message("Hello there, a slow answer please"))
        for _ in range(200):
            last = client.messages[-1] if client.messages else None
            if last is not None and last.role == "assistant" and text_of(last):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("no text arrived")
        client.stop()
        await asyncio.wait_for(task, 5)
        reply = await asyncio.wait_for(client.send_message("Again"), 20)
        assert text_of(reply) == 'You said: "Again"'
    finally:
        await client.aclose()
        await adapter.aclose()
    entries = ws_entries(server)
    assert len(entries) == 2  # the aborted socket was dropped; the next turn opened another
    frames = inbound(entries[0])
    assert frames[-1] == {"type": "abort", "runId": frames[0]["runId"]}


# -- the real 0.33 webSocket() client against our websocket_endpoint ---------------------


STOP_LOG: list[str] = []


async def slow_agent(params: Any, request: Any) -> Any:
    """Words 30 ms apart, recording whether it was stopped and its ``finally`` ran."""
    ids = {"threadId": params.thread_id, "runId": params.run_id}
    yield {"type": "RUN_STARTED", **ids}
    try:
        yield {"type": "TEXT_MESSAGE_START", "messageId": f"m-{params.run_id}", "role": "assistant"}
        for n in range(100):
            delta = {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"m-{params.run_id}"}
            yield {**delta, "delta": f"w{n} "}
            await asyncio.sleep(0.03)
        yield {"type": "TEXT_MESSAGE_END", "messageId": f"m-{params.run_id}"}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}
    except asyncio.CancelledError:
        STOP_LOG.append("cancelled")
        raise
    finally:
        STOP_LOG.append("finally")


@pytest.fixture(scope="module")
def ours() -> Iterator[RunningServer]:
    from starlette.routing import WebSocketRoute

    from chatconduit.demo import create_app
    from chatconduit.server import websocket_endpoint

    require_node_modules()
    app = create_app(delay=0)
    app.router.routes.append(WebSocketRoute("/slow", websocket_endpoint(slow_agent)))
    with serve(app) as srv:
        yield srv


def ui_text(message: dict[str, Any]) -> str:
    return "".join(p.get("content", "") for p in message["parts"] if p["type"] == "text")


def test_ts033_client_stop_reaches_our_agent(ours: RunningServer) -> None:
    STOP_LOG.clear()
    config = {
        "url": ours.ws_url("/slow"),
        "transport": "ws",
        "messages": ["go", "again"],
        "stopAfterChunks": 5,
        "timeoutMs": 50_000,
    }
    report = run_node_script("ts033_client.mjs", ["--config", "-"], stdin=json.dumps(config))
    assert not report["timedOut"] and report["harnessError"] is None, report["harnessError"]
    assert report["stoppedAfterChunks"] == 5
    assert STOP_LOG[:2] == ["cancelled", "finally"]
    assert report["error"] is None, report
    # The next turn went out on the same socket, after the abort frame.
    (sock,) = report["sockets"]
    sent = [json.loads(data) for way, data in sock["frames"] if way == "out"]
    assert [f.get("type") for f in sent] == [None, "abort", None]
    last = [m for m in report["messages"] if m["role"] == "assistant"][-1]
    assert ui_text(last).strip().endswith("w99")


async def test_resume_after_a_drop_against_the_real_durable_server(server: Ts058Server) -> None:
    """The socket dies mid-turn; the adapter reopens ``?runId=&offset=<last id>`` and the
    real ``resumeWebSocketStream`` replays the rest of the log, then closes 1000.

    Observed: 0.58 aborts a WebSocket run when its socket closes (``ctx.signal``), unlike
    a durable HTTP run, which detaches; so the rest of the log is the helper's
    ``RUN_ERROR "Request aborted"``. Nothing is lost or seen twice either way.
    """
    server.clear_requests()
    adapter = websocket(f"{server.ws_url}/ws/durable")
    ctx = RunContext(thread_id="t-drop", run_id="run-ws-drop", forwarded_props={"delayMs": 50})
    events: list[Any] = []
    dropped = False
    try:
        async for event in adapter.connect([user("Hello there")], run_context=ctx):
            events.append(event)
            if event.type == "RUN_STARTED" and not dropped:  # the model's text comes later
                dropped = True
                assert adapter._socket is not None
                adapter._socket.conn.transport.abort()
    finally:
        await adapter.aclose()
    assert dropped
    assert [e.type for e in events] == ["CUSTOM", "RUN_STARTED", "RUN_ERROR"]
    assert events[-1].message == "Request aborted"
    _first, resumed = ws_entries(server)
    assert resumed["query"] == {"runId": "run-ws-drop", "offset": "memory:v1:run-ws-drop:2"}
    for _ in range(100):  # the close is recorded when the server sees it
        closed = ws_entries(server)[1]["closed"]
        if closed is not None:
            break
        await asyncio.sleep(0.02)
    assert closed is not None and closed["code"] == 1000


async def test_join_run_replays_a_run_of_the_real_durable_server(server: Ts058Server) -> None:
    """Our ``join_run`` over a socket of its own (``?runId=&offset=-1``), read by the real
    ``resumeWebSocketStream``: the run's events as its own client saw them, then close 1000."""
    from chatconduit import WebSocketClosedError
    from chatconduit.events import event_to_dict

    ctx = RunContext(thread_id="t-join", run_id="run-ws-join")
    adapter = websocket(f"{server.ws_url}/ws/durable")
    try:
        seen = [event_to_dict(e) async for e in adapter.connect([user(WEATHER)], run_context=ctx)]
        joined = [event_to_dict(e) async for e in adapter.join_run("run-ws-join")]
        with pytest.raises(WebSocketClosedError) as info:
            async for _ in adapter.join_run("run-never-started"):
                pass
    finally:
        await adapter.aclose()
    assert [e["type"] for e in seen].count("RUN_FINISHED") == 2  # a server-tool turn
    assert joined == seen
    # Observed: 0.58 closes 1011 "resume failed" for a run it does not know (ours: 1008).
    assert (info.value.code, info.value.reason) == (1011, "resume failed")
    assert "before the run's log ended" in str(info.value)


def test_ts033_client_resumes_our_durable_socket_after_a_drop() -> None:
    """The real 0.33 ``webSocket()`` loses its socket mid-answer (a proxy cuts it inside a
    frame); it reopens ``?runId=&offset=<last id>`` and our server replays the rest of the
    run, which went on without it: the same text as an uncut run, no delta twice."""
    from chatconduit.demo import create_app

    require_node_modules()
    ask = ["think about rivers"]
    with serve(create_app(delay=0.005, durable=True)) as srv, cutting_proxy(srv.port) as proxy:
        url = proxy.url.replace("http://", "ws://") + "/api/chat/ws"
        whole = run_ts033_client(url, "ws", ask)  # passed through whole: its size
        # Frames may be deflated (permessage-deflate), so cut by size: half way through.
        proxy.cut_next(Cut(after_bytes=len(proxy.log[0].sent) // 2))
        cut = run_ts033_client(url, "ws", ask)
    assert [c.cut for c in proxy.log] == [False, True, False]
    assert cut["error"] is None and whole["error"] is None, cut
    _first, resumed = cut["sockets"]
    query = parse_qs(urlsplit(resumed["url"]).query)
    assert query["runId"] == [cut["requests"][0]["body"]["runId"]]
    assert query["offset"][0]  # the id of the last envelope that arrived whole

    def deltas(report: dict[str, Any]) -> list[str]:
        return [c["delta"] for c in report["chunks"] if c["type"] == "TEXT_MESSAGE_CONTENT"]

    assert deltas(cut) == deltas(whole) and len(deltas(whole)) > 5

    def shown(report: dict[str, Any]) -> list[list[tuple[str, str]]]:  # ids differ per run
        return [[(p["type"], p.get("content")) for p in m["parts"]] for m in report["messages"]]

    assert shown(cut) == shown(whole)


async def test_push_shape_delivers_whole_turns(server: Ts058Server) -> None:
    """The push adapter on the wire: a server-tool turn, then a text turn, on one socket."""
    server.clear_requests()
    adapter = websocket_push(f"{server.ws_url}/ws/chat")
    events = aiter(adapter.subscribe())
    try:
        for text, finishes in ((WEATHER, 2), ("Hello", 1)):
            await adapter.send([user(text)])
            got = []
            while True:
                event = await asyncio.wait_for(anext(events), 10)
                got.append(event)
                if ends_turn(event):
                    break
            assert [e.type for e in got].count("RUN_FINISHED") == finishes
    finally:
        await adapter.aclose()
    [entry] = ws_entries(server)
    assert len(inbound(entry)) == 2
