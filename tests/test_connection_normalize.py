"""normalize_connection_adapter: shapes, the connect wrapper's queue, synthesized terminals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from chatconduit import (
    AbortController,
    AbortSignal,
    AdapterContractError,
    MalformedEventError,
    RunContext,
    normalize_connection_adapter,
)
from chatconduit._connection._normalize import ConnectAdapterWrapper
from chatconduit.events import (
    RunErrorEvent,
    RunFinishedEvent,
    TextMessageContentEvent,
    event_to_dict,
)

CTX = RunContext(thread_id="thread-x", run_id="run-x")


class PullAdapter:
    """Yields ``events`` then optionally raises ``error``; records the arguments it got."""

    def __init__(self, events: Sequence[Any], error: Exception | None = None) -> None:
        self.events = events
        self.error = error
        self.calls: list[tuple[Any, ...]] = []
        self.closed = False

    async def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Any]:
        self.calls.append((messages, data, abort_signal, run_context))
        try:
            for event in self.events:
                yield event
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True


async def drain(iterator: AsyncIterator[Any], n: int) -> list[Any]:
    out = []
    for _ in range(n):
        out.append(await asyncio.wait_for(anext(iterator), 5))
    return out


def delta(text: str) -> dict[str, Any]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": text}


# -- shape detection (checklist 46-48) -----------------------------------------------------


def test_missing_adapter() -> None:
    with pytest.raises(AdapterContractError, match=r"^Connection adapter is required$"):
        normalize_connection_adapter(None)


@pytest.mark.parametrize("names", [("subscribe",), ("send",), ()])
def test_half_or_no_push_shape(names: tuple[str, ...]) -> None:
    obj = type("Half", (), {name: lambda self: None for name in names})()
    with pytest.raises(AdapterContractError) as info:
        normalize_connection_adapter(obj)
    assert str(info.value) == (
        "Connection adapter must provide either connect or both subscribe and send"
    )


@pytest.mark.parametrize("extra", [("subscribe",), ("send",), ("subscribe", "send")])
def test_both_modes_rejected_even_when_connect_is_none(extra: tuple[str, ...]) -> None:
    attrs: dict[str, Any] = {"connect": None}  # presence counts, not the value
    attrs.update({name: lambda self: None for name in extra})
    obj = type("Both", (), attrs)()
    with pytest.raises(AdapterContractError) as info:
        normalize_connection_adapter(obj)
    assert str(info.value) == (
        "Connection adapter must provide either connect or both subscribe and send, not both modes"
    )
    # AdapterContractError is also a TypeError: it is a programming error.
    assert isinstance(info.value, TypeError)


async def test_push_adapter_methods_are_used_and_chunks_typed() -> None:
    class Push:
        def __init__(self) -> None:
            self.sent: list[tuple[Any, ...]] = []
            self.signals: list[Any] = []

        async def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Any]:
            self.signals.append(abort_signal)
            yield delta("from a dict")
            yield None  # not an event

        async def send(self, *args: Any) -> None:
            self.sent.append(args)

    push = Push()
    controller = AbortController()
    for adapter in (push, {"subscribe": push.subscribe, "send": push.send}):
        normalized = normalize_connection_adapter(adapter)
        await normalized.send(["m"], {"d": 1}, controller.signal, CTX)
        events = aiter(normalized.subscribe(controller.signal))
        first = await anext(events)
        assert isinstance(first, TextMessageContentEvent) and first.delta == "from a dict"
        with pytest.raises(MalformedEventError, match="null"):
            await anext(events)
    assert push.sent == [(["m"], {"d": 1}, controller.signal, CTX)] * 2
    assert push.signals == [controller.signal] * 2


def test_mapping_adapters() -> None:
    wrapped = normalize_connection_adapter({"connect": PullAdapter([]).connect})
    assert isinstance(wrapped, ConnectAdapterWrapper)
    with pytest.raises(AdapterContractError, match="not both modes"):
        normalize_connection_adapter({"connect": 1, "send": 2})


# -- the wrapper -----------------------------------------------------------------------------


async def test_events_flow_to_subscriber_with_synthesized_finish() -> None:
    adapter = PullAdapter([delta("a"), delta("b")])
    push = normalize_connection_adapter(adapter)
    controller = AbortController()
    sub = push.subscribe(controller.signal)
    await push.send(["m"], {"k": 1}, None, CTX)
    got = await drain(aiter(sub), 3)
    assert [type(e) for e in got] == [
        TextMessageContentEvent,
        TextMessageContentEvent,
        RunFinishedEvent,
    ]
    assert [e.delta for e in got[:2]] == ["a", "b"]
    fin = got[2]
    assert (fin.thread_id, fin.run_id, fin.model, fin.finish_reason) == (
        "thread-x",
        "run-x",
        "connect-wrapper",
        "stop",
    )
    assert isinstance(fin.timestamp, int)
    assert adapter.calls == [(["m"], {"k": 1}, None, CTX)]
    assert adapter.closed


async def test_no_synthesized_finish_when_stream_has_terminal() -> None:
    finished = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "finishReason": "stop"}
    push = normalize_connection_adapter(PullAdapter([delta("a"), finished]))
    sub = push.subscribe()
    await push.send([], None, None, CTX)
    got = await drain(aiter(sub), 2)
    assert got[1].run_id == "r"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(aiter(sub)), 0.05)


async def test_missing_run_context_generates_ids() -> None:
    push = normalize_connection_adapter(PullAdapter([]))
    sub = push.subscribe()
    await push.send([])
    (fin,) = await drain(aiter(sub), 1)
    assert fin.thread_id.startswith("thread-") and fin.run_id.startswith("run-")


async def test_error_synthesizes_run_error_and_reraises() -> None:
    boom = RuntimeError("upstream exploded")
    push = normalize_connection_adapter(PullAdapter([delta("a")], error=boom))
    sub = push.subscribe()
    with pytest.raises(RuntimeError) as info:
        await push.send([], None, None, CTX)
    assert info.value is boom
    got = await drain(aiter(sub), 2)
    err = got[1]
    assert isinstance(err, RunErrorEvent)
    assert event_to_dict(err) == {
        "type": "RUN_ERROR",
        "threadId": "thread-x",
        "runId": "run-x",
        "timestamp": err.timestamp,
        "message": "upstream exploded",
        "error": {"message": "upstream exploded"},
    }


async def test_no_duplicate_run_error_when_stream_already_sent_one() -> None:
    server_error = {"type": "RUN_ERROR", "error": {"message": "server said no"}}
    push = normalize_connection_adapter(
        PullAdapter([server_error], error=ValueError("then raised"))
    )
    sub = push.subscribe()
    with pytest.raises(ValueError, match="then raised"):
        await push.send([], None, None, CTX)
    (only,) = await drain(aiter(sub), 1)
    assert only.error_message == "server said no"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(aiter(sub)), 0.05)


async def test_null_chunk_is_a_malformed_event_and_a_run_error() -> None:
    push = normalize_connection_adapter(PullAdapter([None]))
    sub = push.subscribe()
    with pytest.raises(MalformedEventError, match="null"):
        await push.send([], None, None, CTX)
    (err,) = await drain(aiter(sub), 1)
    assert isinstance(err, RunErrorEvent) and "null" in err.error_message


async def test_abort_synthesizes_nothing_and_closes_a_stream_that_ignores_the_signal() -> None:
    started = asyncio.Event()
    closed = asyncio.Event()

    class Stubborn:
        async def connect(self, *args: Any) -> AsyncIterator[Any]:
            try:
                yield delta("first")
                started.set()
                await asyncio.sleep(3600)  # ignores the signal entirely
                yield delta("never")
            finally:
                closed.set()

    push = normalize_connection_adapter(Stubborn())
    sub = push.subscribe()
    controller = AbortController()
    send = asyncio.create_task(push.send([], None, controller.signal, CTX))
    await asyncio.wait_for(started.wait(), 5)
    controller.abort()
    await asyncio.wait_for(send, 5)  # returns quietly
    assert closed.is_set()
    (first,) = await drain(aiter(sub), 1)
    assert first.delta == "first"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(aiter(sub)), 0.05)


async def test_newest_subscriber_takes_over_buffered_and_future_chunks() -> None:
    adapter = PullAdapter([delta("1"), delta("2")])
    push = normalize_connection_adapter(adapter)
    old = push.subscribe()
    await push.send([], None, None, CTX)  # 3 events buffered for ``old``
    first = await drain(aiter(old), 1)
    new = push.subscribe()
    rest = await drain(aiter(new), 2)
    assert [first[0].delta, rest[0].delta] == ["1", "2"]
    assert isinstance(rest[1], RunFinishedEvent)
    adapter.events = [delta("3")]
    await push.send([], None, None, CTX)
    assert (await drain(aiter(new), 1))[0].delta == "3"
    with pytest.raises(TimeoutError):  # the old subscriber is parked, not ended
        await asyncio.wait_for(anext(aiter(old)), 0.05)


async def test_subscriber_ends_only_on_abort() -> None:
    push = normalize_connection_adapter(PullAdapter([]))
    controller = AbortController()
    sub = aiter(push.subscribe(controller.signal))
    waiting = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 5)


async def test_aborted_subscriber_does_not_swallow_the_next_chunk() -> None:
    # The reference's hazard: the dead waiter of an aborted subscriber takes the next push.
    adapter = PullAdapter([delta("after abort")])
    push = normalize_connection_adapter(adapter)
    controller = AbortController()
    sub = aiter(push.subscribe(controller.signal))
    parked = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.01)
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(parked, 5)
    await push.send([], None, None, CTX)
    fresh = push.subscribe()
    got = await drain(aiter(fresh), 2)
    assert got[0].delta == "after abort"


async def test_connect_may_be_a_coroutine_or_return_a_sync_iterable() -> None:
    class CoroutineConnect:
        async def connect(self, *args: Any) -> list[dict[str, Any]]:
            return [delta("x")]

    push = normalize_connection_adapter(CoroutineConnect())
    sub = push.subscribe()
    await push.send([], None, None, CTX)
    assert (await drain(aiter(sub), 1))[0].delta == "x"

    class Bad:
        def connect(self, *args: Any) -> int:
            return 42

    push = normalize_connection_adapter(Bad())
    sub = push.subscribe()
    with pytest.raises(TypeError, match=r"connect\(\) must return an async iterable.*int"):
        await push.send([], None, None, CTX)
    (err,) = await drain(aiter(sub), 1)
    assert isinstance(err, RunErrorEvent)


async def test_task_cancellation_of_send_closes_the_stream() -> None:
    closed = asyncio.Event()
    started = asyncio.Event()

    class Slow:
        async def connect(self, *args: Any) -> AsyncIterator[Any]:
            try:
                started.set()
                await asyncio.sleep(3600)
                yield delta("never")
            finally:
                closed.set()

    push = normalize_connection_adapter(Slow())
    send = asyncio.create_task(push.send([], None, None, CTX))
    await asyncio.wait_for(started.wait(), 5)
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    assert closed.is_set()
