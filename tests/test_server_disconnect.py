"""A client that goes away mid-stream: the agent is cancelled, its cleanup runs, the hook
gets the partial output. Real uvicorn, real sockets; the timeouts are liveness bounds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from chatconduit.server import (
    server_sent_events_stream,
    to_http_response,
    to_server_sent_events_response,
)
from servers import Install, serve_handlers

LIVENESS = 10.0


@pytest.fixture(scope="module")
def server() -> Iterator[Install]:
    """``server(handler)``: the module's server, now answering ``/`` with ``handler``."""
    with serve_handlers() as install:
        yield install


class Probe:
    """What the agent and the hook report back to the test thread."""

    def __init__(self) -> None:
        self.cleaned = threading.Event()
        self.cleanup_awaited = threading.Event()
        self.hooked = threading.Event()
        self.partial: list[dict[str, Any]] = []
        self.cancelled = False

    async def agent(self, produced: int) -> AsyncIterator[dict[str, Any]]:
        """``produced`` events, then a "tool call" that never returns."""
        try:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
            for i in range(produced - 1):
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"w{i} "}
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.cleaned.set()
            await asyncio.sleep(0.01)  # async cleanup (closing an upstream) must still run
            self.cleanup_awaited.set()

    async def hook(self, events: list[dict[str, Any]]) -> None:
        await asyncio.sleep(0)
        self.partial = events
        self.hooked.set()


def read_frames_then_leave(url: str, frames: int, separator: bytes) -> bytes:
    """Read until ``frames`` frames arrived, then drop the connection."""
    seen = b""
    with httpx.Client(timeout=LIVENESS) as client, client.stream("POST", url) as response:
        for chunk in response.iter_bytes():
            seen += chunk
            if seen.count(separator) >= frames:
                break
    return seen


@pytest.mark.parametrize("heartbeat", [0.0, 30.0])
def test_sse_disconnect_cancels_the_agent_and_hands_over_partial_output(
    heartbeat: float, server: Any
) -> None:
    probe = Probe()
    srv = server(
        lambda r: to_server_sent_events_response(
            probe.agent(3), heartbeat=heartbeat, on_disconnect=probe.hook
        )
    )
    seen = read_frames_then_leave(srv.url, 3, b"\n\n")
    assert seen.count(b"data: ") == 3
    assert probe.cleaned.wait(LIVENESS), "the agent's finally did not run"
    assert probe.cleanup_awaited.wait(LIVENESS), "the agent's async cleanup was cut short"
    assert probe.hooked.wait(LIVENESS), "on_disconnect was not called"
    assert probe.cancelled
    assert [e["type"] for e in probe.partial] == ["RUN_STARTED", *["TEXT_MESSAGE_CONTENT"] * 2]
    assert probe.partial[2]["delta"] == "w1 "


def test_ndjson_disconnect_with_a_sync_hook(server: Any) -> None:
    probe = Probe()
    got: list[list[dict[str, Any]]] = []
    done = threading.Event()

    def hook(events: list[dict[str, Any]]) -> None:
        got.append(events)
        done.set()

    srv = server(lambda r: to_http_response(probe.agent(2), on_disconnect=hook, heartbeat=5))
    read_frames_then_leave(srv.url, 2, b"\n")
    assert probe.cleaned.wait(LIVENESS)
    assert done.wait(LIVENESS)
    assert [e["type"] for e in got[0]] == ["RUN_STARTED", "TEXT_MESSAGE_CONTENT"]


def test_the_hook_is_not_called_when_the_stream_completes(server: Any) -> None:
    calls: list[Any] = []

    async def agent() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
        yield {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}

    srv = server(lambda r: to_server_sent_events_response(agent(), on_disconnect=calls.append))
    assert httpx.post(srv.url).content.count(b"data: ") == 2
    assert calls == []


def test_a_failing_hook_is_logged_not_raised(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    probe = Probe()

    def hook(events: list[dict[str, Any]]) -> None:
        raise RuntimeError("storage down, password=hunter2hunter2")

    srv = server(lambda r: to_server_sent_events_response(probe.agent(1), on_disconnect=hook))
    read_frames_then_leave(srv.url, 1, b"\n\n")
    assert probe.cleanup_awaited.wait(LIVENESS)
    # The hook runs after the agent's cleanup; give the log a bounded moment.
    for _ in range(200):
        if any("on_disconnect hook failed" in r.getMessage() for r in caplog.records):
            break
        threading.Event().wait(0.01)
    messages = [r.getMessage() for r in caplog.records if "on_disconnect" in r.getMessage()]
    assert messages and "hunter2hunter2" not in messages[0]


async def test_closing_the_byte_stream_closes_the_agent() -> None:
    """Other ASGI frameworks close the generator when the client leaves."""
    probe = Probe()
    stream = server_sent_events_stream(probe.agent(2), on_disconnect=probe.hook, heartbeat=0.5)
    first = await anext(stream)
    assert first.startswith(b"data: ")
    await stream.aclose()  # type: ignore[attr-defined]
    assert probe.cleanup_awaited.is_set() and probe.hooked.is_set()
    assert [e["type"] for e in probe.partial] == ["RUN_STARTED"]


async def test_cancelling_the_consumer_closes_the_agent() -> None:
    probe = Probe()
    stream = server_sent_events_stream(probe.agent(2), on_disconnect=probe.hook)

    async def consume() -> None:
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(asyncio.to_thread(probe.hooked.wait, LIVENESS), LIVENESS)
    assert probe.cleaned.is_set() and probe.cancelled
    assert [e["type"] for e in probe.partial] == ["RUN_STARTED", "TEXT_MESSAGE_CONTENT"]
