"""An agent is called inside its stream (``agent_events``, a ``Deferred``): failing at call
time ends as a RUN_ERROR like any other failure, over a real server; the pumps iterate
the agent's own iterator; any other consumer iterates the deferred source like any async
iterable, and closing it runs the agent's ``finally`` at once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit._bridges._vercel_server import vercel_stream
from chatconduit._run_input import parse_run_agent_input
from chatconduit.server import RunAgentInput, chat_endpoint
from chatconduit.server._endpoint import agent_events
from chatconduit.server._frames import dialect_events
from chatconduit.server._heartbeat import Deferred, start
from chatconduit.server._streams import guarded_events
from servers import RunningServer, serve

BODY = {
    "threadId": "t",
    "runId": "r",
    "state": {},
    "messages": [{"id": "u1", "role": "user", "content": "hi"}],
    "tools": [],
    "context": [],
    "forwardedProps": {},
}
SECRET = "sk-live-0123456789abcdef"
LIVENESS = 10.0  # seconds; a bound on waiting, never a measurement


def raises_at_call(params: RunAgentInput, request: Request) -> Any:
    raise RuntimeError(f"could not reach the model with {SECRET}")


def returns_a_list(params: RunAgentInput, request: Request) -> Any:
    return [{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}]


async def returns_a_generator(params: RunAgentInput, request: Request) -> Any:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "ok"}
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m"}
        yield {"type": "RUN_FINISHED", "threadId": params.thread_id, "runId": params.run_id}

    return events()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    routes = [
        Route(f"/{agent.__name__}", chat_endpoint(agent), methods=["POST"])
        for agent in (raises_at_call, returns_a_list, returns_a_generator)
    ] + [
        Route(f"/{agent.__name__}/ndjson", chat_endpoint(agent, framing="ndjson"), methods=["POST"])
        for agent in (raises_at_call, returns_a_list)
    ]
    with serve(Starlette(routes=routes)) as running:
        yield running


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.content
    if response.headers["content-type"].startswith("text/event-stream"):
        return [json.loads(f.removeprefix(b"data: ")) for f in body.split(b"\n\n") if f]
    return [json.loads(line) for line in body.splitlines() if line]


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/raises_at_call", "could not reach the model"),
        ("/raises_at_call/ndjson", "could not reach the model"),
        ("/returns_a_list", "agent returned a list; expected an async iterable of events"),
        ("/returns_a_list/ndjson", "agent returned a list; expected an async iterable of events"),
    ],
)
def test_an_agent_failing_at_call_time_ends_in_a_run_error(
    server: RunningServer, path: str, cause: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="chatconduit.server"):
        response = httpx.post(server.url + path, json=BODY, timeout=LIVENESS)
    assert response.status_code == 200
    events = _events(response)
    assert events[-1]["type"] == "RUN_ERROR"
    assert events[-1]["message"] == "Internal server error"
    assert SECRET not in response.text
    assert cause in caplog.text  # the log keeps what went wrong


def test_an_async_agent_returning_a_generator_streams(server: RunningServer) -> None:
    response = httpx.post(server.url + "/returns_a_generator", json=BODY, timeout=LIVENESS)
    events = _events(response)
    assert [event["type"] for event in events] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]
    assert events[2]["delta"] == "ok"


# --- the deferred source itself ---------------------------------------------------------


class Agent:
    """An agent that records being called and its generator's ``finally``."""

    def __init__(self) -> None:
        self.called = 0
        self.closed = 0
        self.generator: AsyncIterator[dict[str, Any]] | None = None

    def __call__(self, params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
        self.called += 1
        self.generator = self._events()
        return self.generator

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        try:
            for i in range(3):
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": str(i)}
        finally:
            self.closed += 1


def _params() -> RunAgentInput:
    return parse_run_agent_input(BODY)


def test_the_agent_is_called_when_the_stream_starts_and_the_pumps_get_its_own_iterator() -> None:
    agent = Agent()
    deferred = agent_events(agent, _params(), None)  # type: ignore[arg-type]
    assert isinstance(deferred, Deferred) and agent.called == 0

    async def run() -> None:
        iterator = await start(deferred)
        assert agent.called == 1 and iterator is agent.generator  # nothing in between
        assert (await anext(iterator))["delta"] == "0"
        await iterator.aclose()  # type: ignore[attr-defined]
        assert agent.closed == 1

    asyncio.run(run())


def test_any_other_consumer_iterates_it_and_closing_it_closes_the_agent() -> None:
    agent = Agent()

    async def run() -> list[str]:
        deltas = []
        iterator = aiter(agent_events(agent, _params(), None))  # type: ignore[arg-type]
        async for event in iterator:
            deltas.append(event["delta"])
            break
        assert agent.closed == 0
        await iterator.aclose()  # type: ignore[attr-defined]
        assert agent.closed == 1
        return deltas

    assert asyncio.run(run()) == ["0"]
    assert agent.called == 1 and agent.closed == 1


def test_one_item_at_a_time_too_an_agent_failing_at_call_time_is_a_run_error() -> None:
    # guarded_events runs the agent in the caller's task (inline_batches, no pump).
    async def run() -> list[dict[str, Any]]:
        source = agent_events(raises_at_call, _params(), None)  # type: ignore[arg-type]
        return [
            event
            async for event in guarded_events(
                dialect_events(source, "current", run_id="r", thread_id="t"),
                transform=lambda event, index: event,
            )
        ]

    events = asyncio.run(run())
    assert [event["type"] for event in events] == ["RUN_ERROR"]
    assert SECRET not in json.dumps(events)


def test_a_dialect_stream_iterated_directly_starts_the_agent_itself() -> None:
    agent = Agent()

    async def run() -> list[dict[str, Any]]:
        stream = dialect_events(
            agent_events(agent, _params(), None),  # type: ignore[arg-type]
            "current",
            run_id="r",
            thread_id="t",
        )
        assert agent.called == 0
        events = [event async for event in stream]
        await stream.aclose()
        return events

    events = asyncio.run(run())
    assert agent.called == 1 and agent.closed == 1
    assert [event["type"] for event in events] == [
        "RUN_STARTED",  # made from the request's ids: the agent started with a delta
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]


def test_start_takes_any_async_iterable() -> None:
    async def run() -> list[int]:
        async def numbers() -> AsyncIterator[int]:
            for n in range(3):
                yield n

        source = numbers()
        iterator = await start(source)
        assert iterator is source
        return [n async for n in iterator]

    assert asyncio.run(run()) == [0, 1, 2]


def test_a_vercel_stream_closed_early_closes_the_agent_at_once() -> None:
    agent = Agent()

    async def run() -> bytes:
        stream = vercel_stream(agent_events(agent, _params(), None))  # type: ignore[arg-type]
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        assert agent.closed == 1  # now, not when the loop finalises what is left
        return first

    assert asyncio.run(run()).startswith(b"data: ")
