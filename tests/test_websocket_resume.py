"""Resuming a run over a WebSocket: ``RunResume`` (the per-run state the pull adapter,
the push adapter and ``join_run`` share), then each of the three against a real server
that drops every socket after the same two envelopes, so no reconnect makes progress
and the policy's bound must end it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from chatconduit import (
    ReconnectLimitError,
    ResumePolicy,
    TextPart,
    UIMessage,
    websocket,
    websocket_push,
)
from chatconduit._connection._websocket_wire import RunResume
from servers import RunningServer, serve

POLICY = ResumePolicy(max_reconnects=2, delay=0.01, max_delay=0.01)


def test_run_resume_skips_seen_ids_and_bounds_reconnects() -> None:
    resume = RunResume("r1", POLICY)
    assert not resume.resumable  # no id yet: nowhere to resume from
    assert resume.is_new(None) and resume.last_id is None
    assert resume.is_new("0") and resume.is_new("1") and resume.last_id == "1"
    assert resume.resumable
    assert resume.next_delay() == 0.01 and resume.next_delay() == 0.01
    with pytest.raises(ReconnectLimitError, match="gave up resuming run 'r1' after 2"):
        resume.next_delay()
    assert not resume.is_new("1")  # the replayed boundary
    assert resume.is_new("2") and resume.reconnects == 0  # progress resets the count
    joined = RunResume("r2", POLICY, after="7")
    assert joined.resumable and not joined.is_new("7")
    assert not RunResume("r3", ResumePolicy.disabled(), after="7").resumable


OPENED: list[str] = []


async def dropper(ws: WebSocket) -> None:
    """Two envelopes of run ``r``, then an abnormal close, on every socket."""
    await ws.accept()
    OPENED.append(ws.url.query)
    if "offset" not in ws.query_params:
        await ws.receive_text()  # the RunAgentInput frame
    for n, event in enumerate(
        [
            {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
            {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        ]
    ):
        await ws.send_text(json.dumps({"id": str(n), "chunk": event}))
    await ws.close(code=1011, reason="dropped")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(Starlette(routes=[WebSocketRoute("/ws", dropper)])) as srv:
        yield srv


def _user() -> UIMessage:
    return UIMessage(id="u1", role="user", parts=[TextPart(content="hi")])


async def test_pull_turn_gives_up_after_the_policy_bound(server: RunningServer) -> None:
    from chatconduit import RunContext

    OPENED.clear()
    adapter = websocket(server.ws_url("/ws"), {"resume": POLICY})
    types: list[str] = []
    with pytest.raises(ReconnectLimitError, match="gave up resuming run 'r'"):
        async for event in adapter.connect([_user()], run_context=RunContext("t", "r")):
            types.append(event.type)
    assert types == ["RUN_STARTED", "TEXT_MESSAGE_START"]  # each once
    assert len(OPENED) == 3 and all("offset=1" in q for q in OPENED[1:])
    await adapter.aclose()


async def test_join_gives_up_after_the_policy_bound(server: RunningServer) -> None:
    OPENED.clear()
    adapter = websocket(server.ws_url("/ws"), {"resume": POLICY})
    types: list[str] = []
    with pytest.raises(ReconnectLimitError, match="gave up joining run 'r'"):
        async for event in adapter.join_run("r"):
            types.append(event.type)
    assert types == ["RUN_STARTED", "TEXT_MESSAGE_START"]
    assert OPENED[0].endswith("offset=-1") and all("offset=1" in q for q in OPENED[1:])
    assert len(OPENED) == 3


async def test_push_subscribers_get_the_limit_error(server: RunningServer) -> None:
    from chatconduit import RunContext

    OPENED.clear()
    adapter = websocket_push(server.ws_url("/ws"), {"resume": POLICY})
    events = aiter(adapter.subscribe())
    try:
        await adapter.send([_user()], None, None, RunContext("t", "r"))
        got = [await asyncio.wait_for(anext(events), 5) for _ in range(2)]
        assert [e.type for e in got] == ["RUN_STARTED", "TEXT_MESSAGE_START"]
        with pytest.raises(ReconnectLimitError, match="gave up resuming run 'r'"):
            await asyncio.wait_for(anext(events), 5)
    finally:
        await adapter.aclose()
    assert len(OPENED) == 3
