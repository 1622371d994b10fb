"""The adapter patterns of examples/adapters/ (and docs/connection-adapters.md) actually work."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatconduit import (
    AbortController,
    FetchOptions,
    HTTPStatusError,
    RunContext,
    StreamReadError,
    fetch_server_sent_events,
    normalize_connection_adapter,
)
from chatconduit.events import RunFinishedEvent, event_to_dict
from faulty_app import SSE, FaultyApp, Plan, Switchboard, sse_frame, text_run
from servers import serve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "adapters"
CTX = RunContext(thread_id="thread-e", run_id="run-e")


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server() -> Iterator[Switchboard]:
    with Switchboard.running() as board:
        yield board


@pytest.fixture
def app(server: Switchboard) -> FaultyApp:
    return server.plug(FaultyApp())


@pytest.mark.parametrize(
    "name", ["websocket_pull", "push_adapter", "retrying_adapter", "stream_generator"]
)
async def test_example_main_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    await asyncio.wait_for(load(name).main(), 30)
    assert capsys.readouterr().out.strip()


# -- WebSocket pull adapter ---------------------------------------------------------------------


async def test_websocket_pull_adapter_against_a_starlette_route() -> None:
    ws = load("websocket_pull")
    with serve(ws.server_app()) as srv:
        assert await ws.chat(srv.ws_url("/ws"), "Hi there") == "You said: Hi there"
        adapter = ws.WebSocketPullAdapter(srv.ws_url("/ws"))
        user = [{"id": "u", "role": "user", "parts": [{"type": "text", "content": "x y"}]}]
        events = [e async for e in adapter.connect(user, {"k": 1}, None, CTX)]
    types = [str(e.type) for e in events]
    assert "ping" not in types  # the server's keep-alive was skipped
    assert types[0] == "RUN_STARTED" and isinstance(events[-1], RunFinishedEvent)
    assert events[-1].run_id == "run-e"


async def test_websocket_pull_adapter_abort_closes_the_socket() -> None:
    ws = load("websocket_pull")
    server_saw_close = threading.Event()

    async def slow_agent(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await websocket.send_text('{"type":"RUN_STARTED","threadId":"t","runId":"r"}')
        try:
            await websocket.receive_text()  # the client sends nothing more: wait for its close
        except WebSocketDisconnect:
            server_saw_close.set()

    with serve(Starlette(routes=[WebSocketRoute("/ws", slow_agent)])) as srv:
        push = normalize_connection_adapter(ws.WebSocketPullAdapter(srv.ws_url("/ws")))
        subscription = aiter(push.subscribe())
        controller = AbortController()
        send = asyncio.create_task(push.send([], None, controller.signal, CTX))
        first = await asyncio.wait_for(anext(subscription), 10)
        assert str(first.type) == "RUN_STARTED"
        controller.abort()
        await asyncio.wait_for(send, 10)
        # Liveness bound for the server to notice; the socket must be closed, not left open.
        assert await asyncio.to_thread(server_saw_close.wait, 10)


# -- push adapter -----------------------------------------------------------------------------


async def test_push_adapter_broadcasts_and_ends_on_abort() -> None:
    example = load("push_adapter")
    adapter = normalize_connection_adapter(example.BroadcastAdapter(example.counting_agent))
    controller = AbortController()
    first = aiter(adapter.subscribe(controller.signal))
    second = aiter(adapter.subscribe())
    await adapter.send([], None, None, CTX)
    got_first = [await asyncio.wait_for(anext(first), 5) for _ in range(7)]
    got_second = [await asyncio.wait_for(anext(second), 5) for _ in range(7)]
    assert [event_to_dict(e) for e in got_first] == [event_to_dict(e) for e in got_second]
    assert got_first[-1].run_id == "run-e"
    pending = asyncio.create_task(anext(first))
    await asyncio.sleep(0.01)
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)


# -- retrying adapter ----------------------------------------------------------------------------


def error_plan(status: int) -> Plan:
    return Plan(status=status, headers=(("content-type", "text/plain"),), body=[b"down"])


async def test_retrying_wrapper_retries_until_the_first_event(
    app: FaultyApp, server: Switchboard
) -> None:
    example = load("retrying_adapter")
    app.set_plans(error_plan(500), error_plan(502), Plan(headers=SSE, body=[
        sse_frame(e) for e in text_run(1)]))  # fmt: skip
    inner = fetch_server_sent_events(server.url, FetchOptions(retry=False))
    adapter = example.RetryingAdapter(inner, attempts=3, delay=0.01)
    events = [e async for e in adapter.connect([], None, None, CTX)]
    await inner.aclose()
    assert [event_to_dict(e) for e in events] == text_run(1)
    assert len(app.requests) == 3


async def test_retrying_wrapper_gives_up_after_delivery(
    app: FaultyApp, server: Switchboard
) -> None:
    example = load("retrying_adapter")
    events = text_run(1)
    app.set_plans(Plan(headers=SSE, body=[sse_frame(events[0]), b"data: {"], end="drop"))
    inner = fetch_server_sent_events(server.url, FetchOptions(retry=False))
    adapter = example.RetryingAdapter(inner, attempts=3, delay=0.01)
    got: list[Any] = []
    with pytest.raises(StreamReadError):
        async for event in adapter.connect([], None, None, CTX):
            got.append(event)
    await inner.aclose()
    assert len(got) == 1 and len(app.requests) == 1


async def test_builtin_retry_policy_of_the_example(app: FaultyApp, server: Switchboard) -> None:
    example = load("retrying_adapter")
    app.set_plans(error_plan(503), Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    adapter = example.resilient_sse(server.url, "tok")
    events = [e async for e in adapter.connect([], None, None, CTX)]
    await adapter.aclose()
    assert len(events) == 4
    assert [r.header("authorization") for r in app.requests] == ["Bearer tok", "Bearer tok"]
    app.set_plans(error_plan(401))
    with pytest.raises(HTTPStatusError):
        _ = [e async for e in example.resilient_sse(server.url, "tok").connect([])]


# -- stream() over an async generator -----------------------------------------------------------


async def test_stream_generator_abort_runs_the_agents_finally() -> None:
    example = load("stream_generator")
    push = normalize_connection_adapter(example.adapter)
    subscription = aiter(push.subscribe())
    controller = AbortController()
    words = [f"w{i}" for i in range(1000)]  # ~10 s of "thinking" if never stopped
    send = asyncio.create_task(push.send([], {"words": words}, controller.signal, CTX))
    for _ in range(3):
        await asyncio.wait_for(anext(subscription), 5)
    controller.abort()
    await asyncio.wait_for(send, 5)
    assert example.cleanups == ["closed"]
