"""Our resumable HTTP transport against our durable endpoint, with the connection really cut.

A small ASGI middleware kills the first response's connection after a few
events (the server stops mid-body, as a proxy timeout or a network drop would).
The transport reconnects with ``Last-Event-ID``; the endpoint replays from the
log and follows the still-running agent. The events delivered must be the
run's events, each exactly once, in order, and the agent must have run once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatconduit import (
    FetchOptions,
    ResumePolicy,
    RunContext,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit.events import event_to_dict
from chatconduit.server import (
    DurableRuns,
    Framing,
    InMemoryStreamLog,
    RunAgentInput,
    chat_endpoint,
)
from servers import serve

USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "count"}]}]
WORDS = 30


class CutFirstResponse:
    """Breaks the connection of the first response after ``frames`` body messages."""

    def __init__(self, app: ASGIApp, frames: int) -> None:
        self.app = app
        self.frames = frames
        self.cut = 0
        self.requests: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first = not self.requests
        self.requests.append({k.decode(): v.decode() for k, v in scope["headers"]})
        sent = 0

        async def cutting_send(message: Message) -> None:
            nonlocal sent
            if first and message["type"] == "http.response.body":
                sent += 1
                if sent > self.frames:
                    self.cut += 1
                    raise OSError("connection cut by the test")
            await send(message)

        await self.app(scope, receive, cutting_send)


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        self.runs += 1
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
        for i in range(WORDS):
            await asyncio.sleep(0.002)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"{i} "}
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
        yield {"type": "RUN_FINISHED", **ids, "finishReason": "stop"}


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_a_cut_stream_resumes_exactly_once_per_event(framing: Framing) -> None:
    agent = Counter()
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=30)
    endpoint = chat_endpoint(agent, framing=framing, durable=runs)
    app = CutFirstResponse(Starlette(routes=[Route("/chat", endpoint, methods=["POST"])]), 5)
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    options = FetchOptions(resume=ResumePolicy(delay=0.01), idle_timeout=10)
    with serve(app) as srv:
        adapter = make(f"{srv.url}/chat", options)
        ctx = RunContext(thread_id="thread-r", run_id=f"run-resume-{framing}")
        try:
            events = [event_to_dict(e) async for e in adapter.connect(USER, None, None, ctx)]
        finally:
            await adapter.aclose()

    assert app.cut == 1 and len(app.requests) == 2
    assert "last-event-id" not in app.requests[0]
    assert int(app.requests[1]["last-event-id"]) >= 0
    assert agent.runs == 1
    types = [e["type"] for e in events]
    assert types == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        *["TEXT_MESSAGE_CONTENT"] * WORDS,
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "".join(f"{i} " for i in range(WORDS))
    assert json.loads(json.dumps(events[-1]))["runId"] == f"run-resume-{framing}"
