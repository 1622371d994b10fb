"""Issue 12, round 2: the server writes the events that are ready together.

``event_bytes`` (behind ``chat_endpoint`` and the SSE/NDJSON helpers) runs the agent in a
pump (``heartbeat_batches``) and writes each batch it produced as one body chunk
(``joined_chunks``). These tests check what must not change:

* batching never reorders, drops or alters a frame, for a busy agent and a mixed one;
* a lone event is handed on at once (the agent waits for the reader to have it);
* heartbeats still come in silences;
* a client that disconnects in the middle of a busy stream (real uvicorn) stops the agent;
* a chunk is bounded in bytes (a frame is never split).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit.server import RunAgentInput, chat_endpoint, http_stream, server_sent_events_stream
from chatconduit.server._chunks import MAX_CHUNK_BYTES, joined_chunks
from chatconduit.server._heartbeat import MAX_BATCH_ITEMS, heartbeat_batches
from servers import serve

LIVENESS = 10.0  # seconds; a bound on waiting, never a measurement


def _delta(i: int) -> dict[str, Any]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"w{i} é"}


async def _busy(n: int, *, pause_every: int = 0) -> AsyncIterator[dict[str, Any]]:
    yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
    for i in range(n):
        if pause_every and i % pause_every == 0:
            await asyncio.sleep(0.001)  # a real wait now and then: batches of many sizes
        yield _delta(i)
    yield {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def _frames(body: bytes, framing: str) -> list[dict[str, Any]]:
    if framing == "sse":
        return [json.loads(f.removeprefix(b"data: ")) for f in body.split(b"\n\n") if f]
    return [json.loads(line) for line in body.split(b"\n") if line]


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("pause_every", [0, 7])
async def test_batches_never_reorder_drop_or_alter(framing: str, pause_every: int) -> None:
    make = server_sent_events_stream if framing == "sse" else http_stream
    chunks: list[bytes] = []
    async with asyncio.timeout(LIVENESS):
        async for chunk in make(_busy(1000, pause_every=pause_every)):
            chunks.append(chunk)
    expected = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        *(_delta(i) for i in range(1000)),
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    assert _frames(b"".join(chunks), framing) == expected
    # Batched (fewer chunks than events), and no chunk holds more than a batch.
    assert len(chunks) < len(expected)
    assert max(len(_frames(c, framing)) for c in chunks) <= MAX_BATCH_ITEMS


async def test_a_lone_event_is_handed_on_at_once() -> None:
    """The agent waits until the reader has each event: batching that held an event
    back for company would never finish (the liveness bound would fail the test)."""
    received = [asyncio.Event() for _ in range(5)]

    async def agent() -> AsyncIterator[dict[str, Any]]:
        for i in range(5):
            yield _delta(i)
            await received[i].wait()

    stream = server_sent_events_stream(agent(), heartbeat=0)
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(LIVENESS):
        async for chunk in stream:
            for frame in _frames(chunk, "sse"):
                seen.append(frame)
                received[len(seen) - 1].set()
    assert seen == [_delta(i) for i in range(5)]


async def test_the_first_event_goes_alone_before_a_busy_agent_fills_a_batch() -> None:
    stream = server_sent_events_stream(_busy(500), heartbeat=0)
    async with asyncio.timeout(LIVENESS):
        first = await anext(stream)
    assert _frames(first, "sse") == [{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}]
    await stream.aclose()  # type: ignore[attr-defined]


async def test_heartbeats_still_come_in_silences() -> None:
    release = asyncio.Event()

    async def agent() -> AsyncIterator[dict[str, Any]]:
        yield _delta(0)
        await release.wait()  # a long tool call
        yield _delta(1)

    stream = server_sent_events_stream(agent(), heartbeat=0.05)
    got: list[bytes] = []
    async with asyncio.timeout(LIVENESS):
        async for chunk in stream:
            got.append(chunk)
            if chunk == b": ping\n\n" and got.count(chunk) == 2:
                release.set()
    assert (
        got[0] == b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"w0 \xc3\xa9"}\n\n'
    )
    assert got.count(b": ping\n\n") >= 2
    assert _frames(got[-1], "sse") == [_delta(1)]


async def test_the_pump_hands_over_what_is_ready_and_bounds_a_batch() -> None:
    async def source() -> AsyncIterator[int]:
        for i in range(100):
            yield i

    batches = [b async for b in heartbeat_batches(source(), None, max_items=10)]
    assert [i for b in batches for i in b] == list(range(100))  # type: ignore[union-attr]
    assert batches[0] == [0]  # the first item alone, at once
    assert all(0 < len(b) <= 10 for b in batches)  # type: ignore[arg-type]


async def test_a_chunk_is_bounded_in_bytes_and_never_splits_a_frame() -> None:
    frames = [bytes([65 + i % 26]) * 10_000 + b"\n" for i in range(40)]

    async def batches() -> AsyncIterator[list[bytes]]:
        yield frames[:1]
        yield frames[1:]

    chunks = [c async for c in joined_chunks(batches())]
    assert b"".join(chunks) == b"".join(frames)
    assert chunks[0] == frames[0]
    assert all(len(c) < MAX_CHUNK_BYTES + len(frames[0]) for c in chunks)
    assert all(c.endswith(b"\n") for c in chunks)  # whole frames only
    assert len(chunks) > 2  # the big batch was split


def test_a_client_leaving_a_busy_stream_stops_the_agent() -> None:
    stopped = threading.Event()
    produced = 0

    async def agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
        nonlocal produced
        try:
            yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
            while True:  # flat out, forever: only the disconnect ends it
                produced += 1
                yield _delta(produced)
                if produced % 200 == 0:
                    await asyncio.sleep(0)
        finally:
            stopped.set()

    app = Starlette(routes=[Route("/", chat_endpoint(agent), methods=["POST"])])
    body = {
        "threadId": "t",
        "runId": "r",
        "messages": [],
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
    }
    with serve(app) as server:
        with (
            httpx.Client(timeout=LIVENESS) as client,
            client.stream("POST", server.url, json=body) as response,
        ):
            assert response.status_code == 200
            seen = b""
            for chunk in response.iter_bytes():
                seen += chunk
                if seen.count(b"\n\n") > 3 * MAX_BATCH_ITEMS:
                    break  # leave in the middle of the stream
        assert seen.count(b"\n\n") > 3 * MAX_BATCH_ITEMS  # it was mid-stream
        assert stopped.wait(LIVENESS), "the agent ran on after the client left"
