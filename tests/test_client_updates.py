"""``ChatClient.updates()``: rendering from an async iterator of snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from chatconduit import ChatClient, ChatSnapshot, ChatStatus, TextPart, stream


def text_events(n: int, token: str = "tok ") -> list[dict[str, Any]]:
    return [
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": token} for _ in range(n)),
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "runId": "r", "finishReason": "stop"},
    ]


def trickle(events: list[dict[str, Any]], pause: float = 0.0) -> Any:
    """A stream() agent that yields to the event loop after every event, as a network
    would: this is what gives an updates() consumer a chance to run mid-reply."""

    async def agent(messages: Any, data: Any) -> AsyncIterator[dict[str, Any]]:
        for event in events:
            yield event
            await asyncio.sleep(pause)

    return stream(agent)


def reply_text(snapshot: ChatSnapshot) -> str:
    last = snapshot.last_message
    if last is None or last.role != "assistant":
        return ""
    return "".join(p.content for p in last.parts if isinstance(p, TextPart))


async def collect(
    client: ChatClient, send: Any, *, delay: float = 0.0, **kw: Any
) -> list[ChatSnapshot]:
    seen: list[ChatSnapshot] = []
    updates = client.updates(**kw)

    async def consume() -> None:
        async for snap in updates:
            seen.append(snap)
            if delay:
                await asyncio.sleep(delay)

    consumer = asyncio.create_task(consume())
    await send
    await asyncio.sleep(0.05)
    await updates.aclose()
    await asyncio.wait_for(consumer, 5)
    return seen


async def test_first_item_is_the_current_state_and_last_is_final() -> None:
    client = ChatClient(
        trickle(text_events(20)), initial_messages=[{"id": "x", "role": "user", "parts": []}]
    )
    updates = client.updates()
    first = await anext(updates)
    assert [m.id for m in first.messages] == ["x"] and first.status is ChatStatus.READY
    await updates.aclose()
    seen = await collect(client, client.send_message("go"))
    statuses = [s.status for s in seen]
    assert statuses[0] is ChatStatus.SUBMITTED and statuses[-1] is ChatStatus.READY
    assert ChatStatus.STREAMING in statuses
    assert reply_text(seen[-1]) == "tok " * 20
    versions = [s.version for s in seen]
    assert versions == sorted(set(versions))  # strictly newer each time


async def test_snapshots_do_not_change_after_they_were_handed_out() -> None:
    client = ChatClient(trickle(text_events(50)))
    seen = await collect(client, client.send_message("go"))
    texts = [reply_text(s) for s in seen]
    lengths = [len(t) for t in texts]
    assert lengths == sorted(lengths) and len(set(lengths)) > 2
    assert all(t == "tok " * (len(t) // 4) for t in texts)  # each is a consistent prefix


async def test_a_slow_consumer_skips_to_the_newest_state_and_does_not_slow_the_stream() -> None:
    events = text_events(300)
    client = ChatClient(trickle(events))
    seen = await collect(client, client.send_message("go"), delay=0.05)
    # The reply streamed to the end while the consumer slept on its first items.
    assert len(seen) < 100  # coalesced: far fewer items than the 300 events
    assert reply_text(seen[-1]) == "tok " * 300 and seen[-1].status is ChatStatus.READY


async def test_snapshot_building_stays_linear_on_a_long_reply() -> None:
    """A consumer that takes every item it can. Without rationing each token would copy
    the growing reply once (quadratic: 4x the tokens, 16x the work); with it the total
    copying grows with the text received. Deterministic: no timer is involved
    (``max_latency`` is an hour), only the order of the event loop."""

    async def cost(n: int) -> tuple[int, int]:
        client = ChatClient(trickle(text_events(n, "word ")))
        seen = await collect(client, client.send_message("go"), max_latency=3600)
        assert reply_text(seen[-1]) == "word " * n
        assert len(seen) >= 10  # the consumer did see the reply grow
        return client._hub.builds, client._hub.build_cost

    _, small_cost = await cost(1000)
    big_builds, big_cost = await cost(4000)
    assert big_builds < 200  # not one per token
    assert big_cost / small_cost < 6  # linear is 4; quadratic would be 16
    assert big_cost <= 20 * 4000 * len("word ")  # a small constant times the text


async def test_updates_end_when_the_client_closes() -> None:
    client = ChatClient(trickle(text_events(1)))
    updates = client.updates()
    await anext(updates)
    pending = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0)
    await client.aclose()
    result = await asyncio.gather(pending, return_exceptions=True)
    assert isinstance(result[0], StopAsyncIteration)


async def test_errors_and_state_appear_in_snapshots() -> None:
    events = [
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "STATE_SNAPSHOT", "snapshot": {"step": 1}},
        {"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/step", "value": 2}]},
        {"type": "RUN_ERROR", "message": "bad"},
    ]
    client = ChatClient(trickle(events))
    await client.send_message("go")
    snap = client.snapshot()
    assert snap.status is ChatStatus.ERROR and str(snap.error) == "bad"
    assert snap.state == {"step": 2}
    assert snap.state is not client.state  # a copy, safe to keep
