"""Issue 12, round 2: ``ChatClient`` reads our HTTP adapters in the reader's slices.

* Over a real loopback socket, ``on_chunk`` still sees every event, in order, and the
  messages end up exactly as when the same events are applied one by one by a
  ``StreamProcessor``; ``on_messages_change`` is coalesced (fewer calls than deltas).
* ``on_chunk`` stopping the turn at a delta in the middle of a slice: the deltas before
  it are applied, that one and the rest are not (as the event-by-event loop does).
* A subclass overriding ``connect()`` and a user adapter are read through ``connect()``.
* ``StreamProcessor.process_text_run`` gives the same messages as ``process`` of each
  event, for every chunk strategy, also when the run opens a segment or follows a tool call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from chatconduit import ChatClient, fetch_http_stream, fetch_server_sent_events
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit._events import TextMessageContentEvent, parse_event
from chatconduit._processor import (
    BatchStrategy,
    ChunkStrategy,
    ImmediateStrategy,
    PunctuationStrategy,
    StreamProcessor,
    WordBoundaryStrategy,
)
from chatconduit.events import event_to_dict
from faulty_app import ndjson_line, sse_frame, text_run
from test_hostile_server import RawServer, body_of

# Slice boundaries are what these tests cross: see conftest.small_slices.
pytestmark = pytest.mark.usefixtures("small_slices")


def _mixed_run() -> list[dict[str, Any]]:
    """Text, a tool call in the middle, more text, a second message: runs of deltas of
    several lengths, split by events that are not deltas."""
    events = text_run(300)[:-2]
    events += [
        {
            "type": "TOOL_CALL_START",
            "toolCallId": "c1",
            "toolCallName": "look",
            "parentMessageId": "m1",
        },
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"q": 1}'},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
    ]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"after{i} "}
        for i in range(120)
    ]
    events += [{"type": "TEXT_MESSAGE_END", "messageId": "m1"}]
    events += [{"type": "TEXT_MESSAGE_START", "messageId": "m2", "role": "assistant"}]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m2", "delta": "é" * (i % 3 + 1)}
        for i in range(90)
    ]
    events += [
        {"type": "TEXT_MESSAGE_END", "messageId": "m2"},
        {"type": "RUN_FINISHED", "runId": "run-1", "threadId": "thread-1", "finishReason": "stop"},
    ]
    return events


def _body(events: list[dict[str, Any]], framing: str) -> bytes:
    encode = sse_frame if framing == "sse" else ndjson_line
    return b"".join(encode(e) for e in events)


def _adapter(url: str, framing: str) -> HTTPStreamAdapter:
    return fetch_server_sent_events(url) if framing == "sse" else fetch_http_stream(url)


def _reference_messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    processor = StreamProcessor()
    processor.add_user_message("hi", id="u")
    processor.prepare_assistant_message()
    for event in events:
        processor.process(parse_event(event))
    processor.finalize_stream()
    return [_content(m.model_dump()) for m in processor.messages]


def _content(message: dict[str, Any]) -> dict[str, Any]:
    """A message without what differs between two runs (ids of our own, timestamps)."""
    return {
        "role": message["role"],
        "parts": [
            {k: v for k, v in part.items() if k not in ("createdAt",)} for part in message["parts"]
        ],
    }


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_chat_client_on_slices_sees_every_event_and_builds_the_same_messages(
    framing: str,
) -> None:
    events = _mixed_run()
    seen: list[dict[str, Any]] = []
    changes = 0

    def on_messages_change(_view: Any) -> None:
        nonlocal changes
        changes += 1

    with RawServer(body_of(_body(events, framing))) as server:
        client = ChatClient(
            _adapter(server.url, framing),
            on_chunk=lambda event: seen.append(event_to_dict(event)),
            on_messages_change=on_messages_change,
        )
        async with asyncio.timeout(30):  # liveness bound only
            await client.send_message("hi")
        got = [_content(m.model_dump()) for m in client.messages][1:]
        await client.aclose()
    assert seen == events  # every event, in order, through on_chunk
    assert got == _reference_messages(events)[1:]
    deltas = sum(1 for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert 0 < changes < deltas  # runs of deltas were announced together


async def test_on_chunk_stopping_mid_slice_applies_only_the_events_before() -> None:
    events = text_run(200)
    stop_at = 137  # a delta in the middle of the body's third slice
    seen: list[str] = []
    client: ChatClient

    def on_chunk(event: Any) -> None:
        if isinstance(event, TextMessageContentEvent):
            seen.append(event.delta)
            if len(seen) == stop_at + 1:
                client.stop()

    with RawServer(body_of(_body(events, "sse"))) as server:
        client = ChatClient(fetch_server_sent_events(server.url), on_chunk=on_chunk)
        async with asyncio.timeout(30):
            await client.send_message("hi")
        text = "".join(p.content for p in client.messages[-1].parts if p.type == "text")
        await client.aclose()
    assert text == "".join(f"d{i} " for i in range(stop_at))
    assert len(seen) == stop_at + 1  # nothing after the stop reached on_chunk


class _Upper(HTTPStreamAdapter):
    """A user subclass overriding connect(): ChatClient must read this connect()."""

    async def connect(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        async for event in super().connect(*args, **kwargs):
            if isinstance(event, TextMessageContentEvent):
                event = event.model_copy(update={"delta": event.delta.upper()})
            yield event


async def test_a_subclass_overriding_connect_is_read_through_it() -> None:
    events = text_run(60)
    with RawServer(body_of(_body(events, "sse"))) as server:
        client = ChatClient(_Upper(server.url, framing="sse"))
        async with asyncio.timeout(30):
            reply = await client.send_message("hi")
        await client.aclose()
    assert reply is not None
    assert reply.parts[0].content == "".join(f"D{i} " for i in range(60))  # type: ignore[union-attr]


async def test_a_user_adapter_still_works_event_by_event() -> None:
    events = [parse_event(e) for e in _mixed_run()]
    seen: list[Any] = []

    class Plain:
        async def connect(self, *_args: Any, **_kwargs: Any) -> AsyncIterator[Any]:
            for event in events:
                yield event

    client = ChatClient(Plain(), on_chunk=seen.append)
    async with asyncio.timeout(30):
        await client.send_message("hi")
    got = [_content(m.model_dump()) for m in client.messages][1:]
    await client.aclose()
    assert seen == events
    assert got == _reference_messages(_mixed_run())[1:]


# --------------------------------------------------------------------------- the processor


def _strategies() -> list[ChunkStrategy]:
    return [ImmediateStrategy(), PunctuationStrategy(), BatchStrategy(3), WordBoundaryStrategy()]


def _runs(events: Sequence[Any]) -> list[list[Any]]:
    """The events grouped as Conversation.on_events groups them."""
    groups: list[list[Any]] = []
    for event in events:
        last = groups[-1] if groups else None
        if (
            last is not None
            and isinstance(event, TextMessageContentEvent)
            and isinstance(last[-1], TextMessageContentEvent)
            and last[-1].message_id == event.message_id
        ):
            last.append(event)
        else:
            groups.append([event])
    return groups


@pytest.mark.parametrize("index", range(4))
def test_process_text_run_matches_process_for_every_strategy(index: int) -> None:
    raw = _mixed_run()
    raw.insert(5, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": ""})
    raw.insert(2, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "first "})
    events = [parse_event(e) for e in raw]
    results = []
    for batched in (False, True):
        texts: list[str] = []
        processor = StreamProcessor(
            chunk_strategy=_strategies()[index],
            on_text_update=lambda _id, text, into=texts: into.append(text),
        )
        processor.prepare_assistant_message()
        if batched:
            for group in _runs(events):
                if isinstance(group[0], TextMessageContentEvent) and len(group) > 1:
                    processor.process_text_run(group)
                else:
                    processor.process(group[0])
        else:
            for event in events:
                processor.process(event)
        processor.finalize_stream()
        results.append(([m.model_dump() for m in processor.messages], texts))
    (one_by_one, texts_one), (batched_messages, texts_batched) = results
    for message in one_by_one + batched_messages:
        message.pop("created_at", None)
    assert batched_messages == one_by_one
    assert texts_batched[-1] == texts_one[-1]  # the last announcement is the full text
    assert set(texts_batched) <= set(texts_one)  # never a text the one-by-one route lacks
