"""Issue 12: what a live conversation keeps alive, counted (never timed).

With thousands of concurrent conversations in one process, CPython's cyclic GC
rescans every live stream's tracked objects each time the heap grows by a quarter,
so each object a stream holds costs CPU for as long as it is open. These tests
open N streams against a real server on 127.0.0.1 that sends the start of a reply
and then holds the response open, and count the GC-tracked objects that appeared
(the server's own side of each connection included, ~30 objects). The bounds sit
between what the code held before the change (ChatClient ~241, ``connect()``
~160) and after it (~188, ~128); round 11 took a ChatClient to ~157 (``connect()`` ~122).

The read watchdog (``AbortScope``'s ``wait``) that replaced an ``asyncio.timeout`` per
read is checked on its own below: it still times a stalled read out, moves its one
timer on while reads make progress, and lets an abort win.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import types
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from chatconduit import AbortController, ChatClient, fetch_server_sent_events
from chatconduit._connection._abort import Aborted, AbortScope

N = 40

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
_START = (
    b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n'
    b'data: {"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}\n\n'
    b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"hi"}\n\n'
)
_END = (
    b'data: {"type":"TEXT_MESSAGE_END","messageId":"m"}\n\n'
    b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'
)
_USER = [{"id": "u", "role": "user", "parts": [{"type": "text", "content": "x"}]}]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _live_objects(kind: str, n: int) -> tuple[float, collections.Counter[str], list[Any]]:
    """Objects per live stream, their types, and the new objects themselves."""
    gate = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_HEAD + _chunk(_START))
        await writer.drain()
        await gate.wait()
        writer.write(_chunk(_END) + b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    seen = [0, 0]  # streams that got their first delta, of how many
    all_seen = asyncio.Event()

    def on_chunk(event: Any) -> None:
        if event.type == "TEXT_MESSAGE_CONTENT":
            seen[0] += 1
            if seen[0] >= seen[1]:
                all_seen.set()

    async def one() -> None:
        if kind == "chat":
            client = ChatClient(fetch_server_sent_events(url), on_chunk=on_chunk)
            await client.send_message("x")
            await client.aclose()
        else:
            async for event in fetch_server_sent_events(url).connect(_USER):
                on_chunk(event)

    async def wave(count: int) -> list[asyncio.Task[None]]:
        seen[:] = [0, count]
        all_seen.clear()
        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.wait_for(all_seen.wait(), 30)
        return tasks

    try:
        # Warm up: the shared client, its connection pool, imports, caches.
        gate.set()
        await asyncio.gather(*await wave(3))
        gate.clear()
        gc.collect()
        before = {id(o) for o in gc.get_objects()}
        tasks = await wave(n)
        gc.collect()
        new = [o for o in gc.get_objects() if id(o) not in before]
        before.clear()
        kinds = collections.Counter(_name(o) for o in new)
        per_stream = len(new) / n
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        return per_stream, kinds, new
    finally:
        gate.set()
        server.close()
        await server.wait_closed()


def _name(obj: object) -> str:
    if isinstance(obj, types.CoroutineType | types.AsyncGeneratorType):
        return f"{type(obj).__name__}:{obj.__qualname__}"
    return type(obj).__qualname__


def _count(kinds: collections.Counter[str], prefix: str) -> float:
    return sum(v for k, v in kinds.items() if k.startswith(prefix)) / N


async def test_a_live_chat_client_holds_fewer_objects() -> None:
    per_stream, kinds, new = await _live_objects("chat", N)
    del new
    assert per_stream < 215, (per_stream, kinds.most_common(15))
    # No asyncio.timeout per read: the scope's one timer is the read watchdog.
    assert kinds["Timeout"] == 0, kinds
    # Three async generators per stream (the run, its reader, the body), not five:
    # httpx's aiter_raw and the transport body's own generator are not in the chain.
    assert _count(kinds, "async_generator:") <= 3, kinds
    # An abort scope listens as itself: no closure, no bound method per registration.
    assert kinds["AbortSignal.add_listener.<locals>.<lambda>"] == 0, kinds


async def test_a_live_chat_client_keeps_no_parts_it_does_not_use() -> None:
    """Round 11: what a live ChatClient stream no longer holds (the count went ~175 -> ~157)."""
    per_stream, kinds, new = await _live_objects("chat", N)
    methods = collections.Counter(
        o.__func__.__qualname__ for o in new if isinstance(o, types.MethodType)
    )
    del new
    assert per_stream < 170, (per_stream, kinds.most_common(15))
    # The conversation is the processor's listener: no bound method per callback.
    assert not [m for m in methods if m.startswith("Conversation.")], methods
    # Guarded awaits run in the caller's frame; the driver hands its reading coroutine on.
    assert kinds["coroutine:AbortScope._guarded"] == 0, kinds
    assert kinds["coroutine:PullDriver.run"] == 0, kinds
    # Made only when needed, or shared: none of these per client.
    for name in ("AbortController", "ReusedIdGuard", "ImmediateStrategy", "_Lease"):
        assert kinds[name] <= N // 20, (name, kinds[name])


async def test_a_live_connect_holds_fewer_objects() -> None:
    per_stream, kinds, new = await _live_objects("connect", N)
    del new
    assert per_stream < 145, (per_stream, kinds.most_common(15))
    assert kinds["Timeout"] == 0, kinds
    # The POST's target closure (messages, data, run context) is dropped once used.
    assert kinds["HTTPStreamAdapter._new_run.<locals>.<lambda>"] == 0, kinds


async def test_a_waiting_reader_keeps_no_events_of_earlier_reads() -> None:
    _, kinds, new = await _live_objects("chat", N)
    del new
    # Every event read was applied to the conversation; while the next read waits,
    # no frame of the chain (driver, run, reader) still holds one, or its slice (the
    # code before held the last slice's three events, each with its dict and set).
    events = {k: v for k, v in kinds.items() if k.endswith("Event")}
    assert not events, events


# -- the read watchdog -------------------------------------------------------------------


async def _trickle(pieces: int, gap: float) -> AsyncIterator[bytes]:
    for _ in range(pieces):
        await asyncio.sleep(gap)
        yield b"x"


async def _stall() -> AsyncIterator[bytes]:
    await asyncio.Event().wait()
    yield b""  # pragma: no cover


async def _read_all(scope: AbortScope, chunks: AsyncIterator[bytes], wait: float) -> int:
    count = 0
    while await scope.run(anext(chunks, None), wait) is not None:
        count += 1
    return count


async def test_watchdog_times_out_a_stalled_read_and_takes_its_cancel_back() -> None:
    scope = AbortScope(AbortController().signal)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(scope.run(anext(_stall(), None), 0.02), 5)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
    finally:
        scope.close()
    assert scope._timer is None  # closing the scope stops its timer


@pytest.mark.parametrize("signal", [True, False])
async def test_watchdog_moves_one_timer_on_while_reads_progress(signal: bool) -> None:
    scope = AbortScope(AbortController().signal if signal else None)
    try:
        # 10 reads 20 ms apart under a 100 ms limit: 200 ms in all, never one read over.
        assert await _read_all(scope, _trickle(10, 0.02), 0.1) == 10
        scheduled = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
        mine = [h for h in scheduled if not h.cancelled() and h._callback == scope._expire]
        assert len(mine) <= 1  # one timer per scope, never one per read
    finally:
        scope.close()


async def test_an_abort_outranks_the_watchdog() -> None:
    controller = AbortController()
    scope = AbortScope(controller.signal)

    def both() -> None:
        # The watchdog and an abort fire before the task resumes: the abort wins, as
        # it did over an asyncio.timeout nested inside the scope.
        timer = scope._timer
        assert timer is not None
        scope._expire()
        timer.cancel()
        controller.abort()
        scope._fire()  # what the abort schedules on the loop, run now

    asyncio.get_running_loop().call_later(0.01, both)
    try:
        with pytest.raises(Aborted):
            await asyncio.wait_for(scope.run(anext(_stall(), None), 30), 5)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        with pytest.raises(Aborted):  # the scope stays aborted
            await scope.run(anext(_trickle(1, 0), None), 1)
    finally:
        scope.close()


async def test_run_raises_aborted_when_awaited_not_when_called_with_or_without_a_limit() -> None:
    controller = AbortController()
    controller.abort()
    scope = AbortScope(controller.signal)
    pending: Awaitable[None] = scope.run(asyncio.sleep(0))  # no exception yet
    with pytest.raises(Aborted):
        await pending
    reading = scope.run(anext(_trickle(1, 0), None), 1)
    with pytest.raises(Aborted):
        await reading
