"""A peer chooses how deep the shared state is: deep snapshots must not end the turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from chatconduit import ChatClient, ChatStatus, stream
from chatconduit.events import EventDecoder


def nested(depth: int) -> Any:
    value: Any = {"leaf": True}
    for _ in range(depth):
        value = {"next": value}
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict) and "next" in value:
        value = value["next"]
        depth += 1
    return depth


def run_with_state(snapshot: Any) -> list[dict[str, Any]]:
    ids = {"threadId": "t", "runId": "r"}
    return [
        {"type": "RUN_STARTED", **ids},
        {"type": "STATE_SNAPSHOT", "snapshot": snapshot},
        {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/extra", "value": 1}]},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "still here"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", **ids, "finishReason": "stop"},
    ]


async def test_a_state_snapshot_500_levels_deep_keeps_the_turn_alive() -> None:
    events = run_with_state(nested(500))

    async def agent(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        for event in events:
            yield event

    async with ChatClient(stream(agent)) as client:
        reply = await client.send_message("go")
        assert client.status is ChatStatus.READY, client.error
        assert client.error is None
        assert reply is not None and "still here" in str(reply.parts)
        assert depth_of(client.state) == 500
        assert client.state["extra"] == 1
        assert depth_of(client.snapshot().state) == 500  # the copy handed to UI code


def test_a_deep_snapshot_decodes_over_the_wire_as_far_as_json_allows() -> None:
    # 900 levels: inside orjson's limit, past what a recursive copy survives.
    payload = b'{"type":"STATE_SNAPSHOT","snapshot":' + b'{"next":' * 900 + b"1" + b"}" * 901
    events = list(EventDecoder("ndjson").feed(payload + b"\n"))
    assert len(events) == 1
    assert events[0][0].type == "STATE_SNAPSHOT"
