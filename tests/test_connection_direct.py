"""stream() / rpc_stream(): in-process generators as pull adapters, with real cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from chatconduit import (
    AbortController,
    AbortSignal,
    RunContext,
    normalize_connection_adapter,
    rpc_stream,
    stream,
)
from chatconduit.events import RunFinishedEvent, TextMessageContentEvent

CTX = RunContext(thread_id="t", run_id="r")


def delta(text: str) -> dict[str, Any]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": text}


async def test_factory_gets_raw_messages_and_data_and_events_are_typed() -> None:
    seen: list[tuple[Any, Any]] = []

    async def factory(
        messages: Sequence[Any], data: Mapping[str, Any] | None
    ) -> AsyncIterator[dict[str, Any]]:
        seen.append((messages, data))
        yield delta("hi")

    adapter = stream(factory)
    raw = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "x"}]}]
    events = [e async for e in adapter.connect(raw, {"a": 1}, None, CTX)]
    assert seen == [(raw, {"a": 1})]  # the same objects: no wire conversion
    assert seen[0][0] is raw
    assert isinstance(events[0], TextMessageContentEvent) and events[0].delta == "hi"


async def test_factory_is_called_lazily() -> None:
    calls = []

    def factory(messages: Any, data: Any) -> list[dict[str, Any]]:
        calls.append(1)
        return [delta("sync iterable")]

    iterator = rpc_stream(factory).connect([], None)
    assert calls == []
    assert [e.delta async for e in iterator] == ["sync iterable"]
    assert calls == [1]


@pytest.mark.parametrize("style", ["abort_signal", "signal", "positional"])
async def test_signal_is_passed_when_accepted(style: str) -> None:
    got: list[AbortSignal | None] = []

    if style == "abort_signal":

        async def factory(messages: Any, data: Any, *, abort_signal: Any = None) -> Any:
            got.append(abort_signal)
            yield delta("x")

    elif style == "signal":

        async def factory(messages: Any, data: Any, signal: Any = None) -> Any:
            got.append(signal)
            yield delta("x")

    else:

        async def factory(messages: Any, data: Any, sig: Any) -> Any:
            got.append(sig)
            yield delta("x")

    controller = AbortController()
    _ = [e async for e in stream(factory).connect([], None, controller.signal)]
    assert got == [controller.signal]


async def test_run_context_is_passed_when_named() -> None:
    got: list[Any] = []

    async def factory(messages: Any, data: Any, run_context: Any = None) -> Any:
        got.append(run_context)
        yield delta("x")

    _ = [e async for e in stream(factory).connect([], None, None, CTX)]
    assert got == [CTX]


async def test_two_arg_factory_is_not_given_a_signal() -> None:
    async def factory(messages: Any, data: Any) -> Any:
        yield delta("x")

    controller = AbortController()
    assert [e.delta async for e in stream(factory).connect([], None, controller.signal)] == ["x"]


async def test_abort_closes_the_generator_at_once() -> None:
    in_body = asyncio.Event()
    closed = asyncio.Event()

    async def factory(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield delta("one")
            in_body.set()
            await asyncio.sleep(3600)  # a slow model; never looks at any signal
            yield delta("two")
        finally:
            closed.set()

    controller = AbortController()
    iterator = stream(factory).connect([], None, controller.signal)
    assert (await anext(iterator)).delta == "one"
    pending = asyncio.create_task(anext(iterator))
    await asyncio.wait_for(in_body.wait(), 5)
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)
    assert closed.is_set()
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)


async def test_abort_between_items_stops_before_the_next() -> None:
    produced: list[int] = []

    async def factory(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        for i in range(5):
            produced.append(i)
            yield delta(str(i))

    controller = AbortController()
    iterator = stream(factory).connect([], None, controller.signal)
    assert (await anext(iterator)).delta == "0"
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)
    assert produced == [0]


def maybe_signal(with_signal: bool) -> AbortSignal | None:
    # Without a signal the adapter iterates the user's stream directly; with one,
    # through an abort scope: both routes must close and fail the same way.
    return AbortController().signal if with_signal else None


@pytest.mark.parametrize("with_signal", [False, True])
async def test_closing_the_stream_early_closes_the_generator(with_signal: bool) -> None:
    closed = asyncio.Event()

    async def factory(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield delta("one")
            yield delta("two")
        finally:
            closed.set()

    iterator = stream(factory).connect([], None, maybe_signal(with_signal))
    assert (await anext(iterator)).delta == "one"
    await iterator.aclose()  # type: ignore[attr-defined]
    assert closed.is_set()  # at once, not when the garbage collector gets to it
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)


@pytest.mark.parametrize("with_signal", [False, True])
async def test_an_error_in_the_generator_reaches_the_consumer(with_signal: bool) -> None:
    async def factory(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        yield delta("one")
        raise ValueError("the model broke")

    iterator = stream(factory).connect([], None, maybe_signal(with_signal))
    got: list[str] = []
    with pytest.raises(ValueError, match="the model broke"):
        async for event in iterator:
            got.append(event.delta)  # type: ignore[attr-defined]
    assert got == ["one"]
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)


async def test_through_normalize_with_synthesized_finish() -> None:
    async def factory(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        yield delta("a")

    push = normalize_connection_adapter(stream(factory))
    sub = aiter(push.subscribe())
    await push.send([], None, None, CTX)
    assert (await anext(sub)).delta == "a"
    fin = await anext(sub)
    assert isinstance(fin, RunFinishedEvent) and fin.run_id == "r"


def test_not_callable_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"stream\(\) needs a callable, got int"):
        stream(5)  # type: ignore[arg-type]
