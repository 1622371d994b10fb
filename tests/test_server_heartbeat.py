"""Keep-alives while the agent is silent: SSE comments, opt-in NDJSON pings."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

from chatconduit._codec._sse import SSEDecoder
from chatconduit.server import (
    chat_endpoint,
    server_sent_events_stream,
    to_http_response,
    to_server_sent_events_response,
)
from chatconduit.server._heartbeat import HEARTBEAT, with_heartbeats
from cyclic_garbage import no_cyclic_garbage
from servers import Install, serve_handlers

START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
FINISH = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


@pytest.fixture(scope="module")
def server() -> Iterator[Install]:
    """``server(handler)``: the module's server, now answering ``/`` with ``handler``."""
    with serve_handlers() as install:
        yield install


async def slow_tool_call(pause: float) -> AsyncIterator[dict[str, Any]]:
    yield START
    await asyncio.sleep(pause)
    yield FINISH


def test_sse_heartbeat_comments_fill_the_silence(server: Any) -> None:
    srv = server(lambda r: to_server_sent_events_response(slow_tool_call(0.25), heartbeat=0.04))
    body = httpx.post(srv.url, timeout=10).content
    frames = [f for f in body.split(b"\n\n") if f]
    assert frames[0].startswith(b"data: ") and frames[-1].startswith(b"data: ")
    pings = frames[1:-1]
    assert pings and all(p == b": ping" for p in pings)
    # A standard SSE reader sees only the two events.
    decoder = SSEDecoder()
    messages = decoder.feed(body) + decoder.finish()
    assert [json.loads(m.data)["type"] for m in messages] == ["RUN_STARTED", "RUN_FINISHED"]


def test_zero_disables_heartbeats(server: Any) -> None:
    srv = server(lambda r: to_server_sent_events_response(slow_tool_call(0.1), heartbeat=0))
    assert b": ping" not in httpx.post(srv.url, timeout=10).content


def test_ndjson_pings_are_opt_in(server: Any) -> None:
    srv = server(lambda r: to_http_response(slow_tool_call(0.1)))
    assert b"ping" not in httpx.post(srv.url, timeout=10).content

    srv = server(lambda r: to_http_response(slow_tool_call(0.25), heartbeat=0.04))
    lines = [json.loads(line) for line in httpx.post(srv.url, timeout=10).content.splitlines()]
    assert lines[0] == START and lines[-1] == FINISH
    assert lines[1:-1] and all(line == {"type": "ping"} for line in lines[1:-1])


# --- with_heartbeats (pure asyncio) -----------------------------------------------------

CURRENT = contextvars.ContextVar("CURRENT", default="unset")


async def test_the_agent_runs_in_one_task_across_its_yields() -> None:
    """A cancel scope or a context variable spanning yields must keep working."""
    tasks: set[asyncio.Task[Any] | None] = set()

    async def agent() -> AsyncIterator[str]:
        CURRENT.set("mine")
        with anyio.fail_after(30):  # would raise "cancel scope in a different task" otherwise
            for word in ("a", "b", "c"):
                tasks.add(asyncio.current_task())
                await asyncio.sleep(0.03)
                yield f"{word}:{CURRENT.get()}"

    out = [item async for item in with_heartbeats(agent(), 0.01)]
    words = [item for item in out if item is not HEARTBEAT]
    assert words == ["a:mine", "b:mine", "c:mine"]
    assert HEARTBEAT in out
    assert len(tasks) == 1


async def test_errors_of_the_source_are_re_raised() -> None:
    async def agent() -> AsyncIterator[int]:
        yield 1
        raise LookupError("gone")

    seen: list[Any] = []
    with pytest.raises(LookupError, match="gone"):
        async for item in with_heartbeats(agent(), 5):
            seen.append(item)
    assert seen == [1]


async def test_closing_early_runs_the_source_cleanup() -> None:
    closed = asyncio.Event()

    async def agent() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)
            closed.set()

    stream = with_heartbeats(agent(), 5)
    assert await anext(stream) == 1
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed.is_set()


@pytest.mark.parametrize("interval", [0, -1])
async def test_a_non_positive_interval_is_refused(interval: float) -> None:
    async def agent() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(ValueError, match="must be > 0"):
        await anext(with_heartbeats(agent(), interval))


@pytest.mark.parametrize("bad", [-1, "15", None, True])
def test_a_bad_heartbeat_is_refused_at_setup(bad: Any) -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        server_sent_events_stream(slow_tool_call(0), heartbeat=bad)
    if bad is not None:  # None means "the framing's default" for chat_endpoint
        with pytest.raises(ValueError, match="heartbeat"):
            chat_endpoint(lambda params, request: slow_tool_call(0), heartbeat=bad)


@pytest.mark.parametrize("fails", [False, True])
@pytest.mark.parametrize("heartbeat", [0.0, 0.02])
@pytest.mark.parametrize("pumped", ["with_heartbeats", "event_bytes"])
async def test_a_finished_stream_leaves_nothing_for_the_cyclic_gc(
    pumped: str, heartbeat: float, fails: bool
) -> None:
    """Each stream's state (pump, pending batch, events, timer; the agent's frames when
    it failed) is freed by reference counting the moment the stream ends: nothing of it
    in a reference cycle, which only the cyclic GC would free (a server with many
    streams pays for every such object). Two were: the heartbeat timer, a function that
    rescheduled itself by name, and a failure re-raised from a local, which its own
    traceback's frame held."""
    from chatconduit.server._streams import event_bytes

    async def agent() -> AsyncIterator[dict[str, Any]]:
        yield START
        await asyncio.sleep(0.05)  # a silence: with heartbeats on, the timer fires
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
        if fails:
            raise RuntimeError("the model went away")
        yield FINISH

    async def one_stream() -> int:
        """The events the stream delivered (heartbeats aside)."""
        if pumped == "with_heartbeats":
            items: list[object] = []
            try:
                async for item in with_heartbeats(agent(), heartbeat or 60.0):
                    items.append(item)
            except RuntimeError:  # not kept: a name for it would be a cycle of the test's
                items.append("the agent's failure")
            return sum(item is not HEARTBEAT for item in items)
        chunks = [chunk async for chunk in event_bytes(agent(), framing="sse", heartbeat=heartbeat)]
        return b"".join(chunks).count(b"data: ")  # a failure ends with one RUN_ERROR

    await one_stream()  # first-use caches (imports, key orders) are not the stream's
    # Other threads of the test process may leave garbage of their own meanwhile (not
    # this test's business): only chatconduit's objects and this test's count.
    with no_cyclic_garbage(also=__name__):
        for _ in range(5):
            assert await one_stream() == 3
