"""Our HTTP adapters against the real ``@tanstack/ai@0.18.0`` server helpers under Node.

``toServerSentEventsResponse`` / ``toHttpResponse`` stream the captured fixture
scenarios (and a source that throws); the adapters must yield exactly the
events the helper was given, and the bodies we POST must pass the reference's
own ``chatParamsFromRequestBody`` validation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatconduit import (
    AbortController,
    Event,
    FetchOptions,
    HTTPStatusError,
    RetryPolicy,
    RunContext,
    fetch_http_stream,
    fetch_server_sent_events,
    normalize_connection_adapter,
)
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit.events import RunErrorEvent, RunFinishedEvent, event_to_dict

from .node import TsServer, fixture_events, require_node_modules, ts_server

RESPONSES = Path(__file__).parent.parent / "fixtures" / "tanstack-0.10" / "responses"
SCENARIOS = ("text", "tools", "thinking", "reasoning", "error", "long", "slow")
CTX = RunContext(thread_id="thread-interop", run_id="run-interop")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "Hello 👋"}]}]

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def server() -> Iterator[TsServer]:
    require_node_modules()
    with ts_server() as srv:
        yield srv


def adapter_for(
    server: TsServer, framing: str, route: str = "scripted", **options: Any
) -> HTTPStreamAdapter:
    factory = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    return factory(f"{server.url}/{framing}/{route}", FetchOptions(**options))


async def collect(adapter: HTTPStreamAdapter, messages: Any = USER) -> list[Event]:
    try:
        async with asyncio.timeout(30):  # liveness bound
            return [event async for event in adapter.connect(messages, None, None, CTX)]
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_helper_streams_arrive_exactly(server: TsServer, scenario: str, framing: str) -> None:
    events = fixture_events(RESPONSES / f"{scenario}.{framing}")
    server.set_script(events)
    server.clear_requests()
    got = await collect(adapter_for(server, framing))
    assert [event_to_dict(e) for e in got] == events
    (request,) = server.requests()
    assert request["aguiValid"] == {"ok": True}  # the reference accepts our body
    assert request["body"]["threadId"] == "thread-interop"


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_source_that_throws(server: TsServer, framing: str) -> None:
    events = fixture_events(RESPONSES / f"text.{framing}")
    server.set_script(events, throw_after=3, throw_message="upstream exploded 💥", throw_code=429)
    got = await collect(adapter_for(server, framing))
    assert [event_to_dict(e) for e in got[:3]] == events[:3]
    assert len(got) == 4
    error = got[3]
    assert isinstance(error, RunErrorEvent)
    assert error.message is None  # 0.18 writes only the nested form
    assert (error.error_message, error.error_code) == ("upstream exploded 💥", "429")


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_http_error_is_typed_and_retried(server: TsServer, framing: str) -> None:
    server.set_script([], status=503, error_body="Scripted HTTP failure")
    server.clear_requests()
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01)
    with pytest.raises(HTTPStatusError) as info:
        await collect(adapter_for(server, framing, retry=retry))
    assert info.value.status_code == 503
    assert "Scripted HTTP failure" in info.value.body
    assert len(server.requests()) == 2


async def test_abort_reaches_the_node_server(server: TsServer) -> None:
    events = fixture_events(RESPONSES / "long.sse")
    server.set_script(events, delay_ms=50)  # 50 events, 2.5 s in all
    server.clear_requests()
    adapter = adapter_for(server, "sse")
    controller = AbortController()
    got: list[Event] = []
    async with asyncio.timeout(30):
        async for event in adapter.connect(USER, None, controller.signal, CTX):
            got.append(event)
            if len(got) == 3:
                controller.abort()
    await adapter.aclose()
    assert len(got) == 3
    deadline = time.monotonic() + 10  # liveness bound for the server to notice
    while not server.requests()[0]["disconnected"]:
        assert time.monotonic() < deadline, "the Node server never saw the disconnect"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_real_agent_loop_through_normalize(server: TsServer, framing: str) -> None:
    adapter = adapter_for(server, framing, route="chat")
    push = normalize_connection_adapter(adapter)
    subscription = aiter(push.subscribe())
    await asyncio.wait_for(push.send(USER, {"model": "x"}, None, CTX), 30)
    await adapter.aclose()
    got: list[Event] = []
    while not got or not isinstance(got[-1], RunFinishedEvent):
        got.append(await asyncio.wait_for(anext(subscription), 5))
    text = "".join(getattr(e, "delta", None) or "" for e in got)
    assert text == 'You said: "Hello 👋"'
    assert got[-1].run_id == "run-interop"
    assert got[-1].model != "connect-wrapper"  # the server's own RUN_FINISHED, not ours
