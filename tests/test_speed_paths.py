"""The fast paths of issue 12 against the general ones they shortcut.

* The HTTP reader hands events to the run in batches (one hop through its generator per
  batch of up to a slice of events of one read): order, exact bytes, unknown events, ids and resume,
  and a malformed line after many good ones in the same read (the events before it are
  delivered, then the same typed error naming its line) - over a real loopback socket.
* ``is_terminal`` / ``coerce_event`` decide by the event's class before any model work:
  the same answers as the type-string rules for every event class and a dict.
* The processor's streaming-text shortcut: the same messages and announcements as the
  general route for every chunk strategy, and text after a tool call still starts a new part.
"""

from __future__ import annotations

from typing import Any

import pytest

from chatconduit import (
    FetchOptions,
    MalformedEventError,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit._events import EventType, coerce_event, is_terminal, parse_event
from chatconduit._events._union import _EVENT_CLASSES
from chatconduit._processor import (
    BatchStrategy,
    ImmediateStrategy,
    PunctuationStrategy,
    StreamProcessor,
    WordBoundaryStrategy,
)
from chatconduit.events import event_to_dict, event_to_json
from faulty_app import ndjson_line, sse_frame, text_run
from test_hostile_server import (
    FAST_RESUME,
    RawServer,
    body_of,
    collect,
    frame,
    response_head,
)

# Slice boundaries are what these tests cross: see conftest.small_slices.
pytestmark = pytest.mark.usefixtures("small_slices")

# --------------------------------------------------------------------------- the reader


def _run_with_extras(n: int) -> list[dict[str, Any]]:
    """A run of ``n`` deltas with an unknown event and an unknown field in the middle."""
    events = text_run(n)
    events.insert(n // 2, {"type": "VENDOR_THING", "x": [1, 2.5, "é"]})
    events[n // 3]["extraField"] = {"keep": True}
    return events


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_batches_keep_every_event_its_bytes_and_its_order(framing: str) -> None:
    events = _run_with_extras(500)  # ~10 batches from one read, the last one partial
    if framing == "sse":
        body = b"".join(sse_frame(e) for e in events)
        adapter = fetch_server_sent_events
    else:
        body = b"".join(ndjson_line(e) for e in events)
        adapter = fetch_http_stream
    with RawServer(body_of(body)) as server:
        got = await collect(adapter(server.url))
    assert [event_to_dict(e) for e in got] == events
    # Byte-equality of what was read: each event re-encodes exactly as it came.
    payloads = [line for line in body.split(b"\n") if line]
    if framing == "sse":
        payloads = [p.removeprefix(b"data: ") for p in payloads]
    assert [event_to_json(e).encode() for e in got] == payloads


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_a_malformed_line_after_many_good_ones_in_one_read(framing: str) -> None:
    """The 200 events before it are delivered, then the same typed error with its line."""
    events = text_run(200)[:-1]  # no RUN_FINISHED: the stream breaks before it
    if framing == "sse":
        body = b"".join(sse_frame(e) for e in events) + b"data: {not json\n\n"
        line = 2 * len(events) + 1
        adapter = fetch_server_sent_events
    else:
        body = b"".join(ndjson_line(e) for e in events) + b"{not json\n"
        line = len(events) + 1
        adapter = fetch_http_stream
    got: list[Any] = []
    with RawServer(body_of(body)) as server, pytest.raises(MalformedEventError) as info:
        await collect(adapter(server.url), got)
    assert info.value.line == line
    assert "not valid JSON" in str(info.value)
    assert [event_to_dict(e) for e in got] == events


async def test_ids_and_resume_across_batches() -> None:
    """A server that replays from Last-Event-ID: the batch path skips exactly the events
    delivered before the drop, however many batches they filled."""
    events = text_run(150)
    tagged = [frame(e, event_id=str(i)) for i, e in enumerate(events)]
    cut = 120

    async def handler(request: Any, writer: Any, index: int) -> None:
        writer.write(response_head())
        if index == 0:
            writer.write(b"".join(tagged[:cut]))  # then the connection closes: a drop
        else:
            start = int(request.header("last-event-id"))
            writer.write(b"".join(tagged[start:]))  # replays the one it was given
        await writer.drain()

    with RawServer(handler) as server:
        got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert server.requests[1].header("last-event-id") == str(cut - 1)


# --------------------------------------------------------------------------- cheap checks


def _sample(cls_type: str) -> dict[str, Any]:
    return {"type": cls_type}


@pytest.mark.parametrize("event_type", sorted(_EVENT_CLASSES))
def test_is_terminal_by_class_matches_the_type_rules(event_type: str) -> None:
    data = _sample(event_type)
    try:
        event = parse_event(data)
    except MalformedEventError:
        pytest.skip("needs more fields than a bare type")  # covered by the other events
    ends = event_type in (EventType.RUN_ERROR, EventType.RUN_FINISHED)
    assert is_terminal(event) is ends
    assert is_terminal(data) is ends
    assert coerce_event(event) is event


def test_is_terminal_keeps_the_agent_loop_and_unknown_events_rules() -> None:
    step = {"type": "RUN_FINISHED", "metadata": {"tanstack": {"finishReason": "tool_calls"}}}
    assert is_terminal(parse_event(step)) is False
    assert is_terminal(parse_event({**step, "finishReason": "tool_calls"})) is True
    assert is_terminal(parse_event({"type": "RUN_ERROR", "message": "x"})) is True
    assert is_terminal(parse_event({"type": "SOMETHING_ELSE"})) is False


# --------------------------------------------------------------------------- the processor


def _apply(strategy: Any, events: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    seen: list[str] = []
    processor = StreamProcessor(
        chunk_strategy=strategy,
        on_messages_change=lambda view: seen.append(
            "".join(getattr(p, "content", "") for p in view[-1].parts) if view else ""
        ),
        # The segment's text as announced, next to the messages change it goes with.
        on_text_update=lambda message_id, text: seen.append(f"text {message_id}: {text}"),
    )
    processor.prepare_assistant_message()
    for event in events:
        processor.process(event)
    processor.finalize_stream()
    return [m.model_dump(exclude={"created_at"}) for m in processor.messages], seen


def _reply() -> list[dict[str, Any]]:
    """Text, a tool call, more text (a new part), accumulated ``content``, more deltas."""
    events = text_run(30)[:-2]
    events += [
        {
            "type": "TOOL_CALL_START",
            "toolCallId": "c1",
            "toolCallName": "f",
            "parentMessageId": "m1",
        },
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{}"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "after. "},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": ""},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "more, words"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {"type": "RUN_FINISHED", "runId": "run-1", "threadId": "thread-1"},
    ]
    return events


def _as_accumulated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same reply with TanStack's accumulated ``content`` instead of ``delta``: the
    processor's general route (the shortcut needs a delta)."""
    out, text = [], ""
    for event in events:
        if event["type"] == "TEXT_MESSAGE_CONTENT":
            text += event["delta"]
            if event["delta"]:  # (an empty one takes the general route already)
                event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "content": text}
        out.append(event)
    return out


@pytest.mark.parametrize(
    ("strategy", "same_announcements"),
    [
        (ImmediateStrategy, True),
        (lambda: BatchStrategy(4), True),
        # These look at the chunk, which is the whole text on the general route.
        (PunctuationStrategy, False),
        (WordBoundaryStrategy, False),
    ],
)
def test_streaming_text_shortcut_matches_the_general_route(
    strategy: Any, same_announcements: bool
) -> None:
    events = _reply()
    messages, seen = _apply(strategy(), events)
    messages_general, seen_general = _apply(strategy(), _as_accumulated(events))
    assert messages == messages_general
    if same_announcements:
        assert seen == seen_general
    assert seen[-1] == seen_general[-1]  # pending text is always announced in the end
    assert "text m1: after. more, words" in seen  # the new segment's own text
    parts = messages[-1]["parts"]
    texts = [p["content"] for p in parts if p["type"] == "text"]
    deltas = "".join(e["delta"] for e in text_run(30) if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert texts == [deltas, "after. more, words"]
    assert [p["type"] for p in parts] == ["text", "tool-call", "text"]


# --------------------------------------------------------------------------- the decoder


def _mixed_body(framing: str, *, bad: bool) -> bytes:
    """Plain events (several slices of them), ids, an unknown event, a ping, a blank payload,
    an envelope, and optionally a malformed payload, then [DONE] and bytes after it."""
    events = text_run(120)
    lines: list[bytes] = []
    for i, event in enumerate(events):
        if framing == "sse":
            lines.append(sse_frame(event, event_id=str(i) if 60 <= i < 70 else None))
        else:
            lines.append(ndjson_line(event, event_id=str(i) if 60 <= i < 70 else None))
        if i == 30:
            lines.append(ndjson_line({"type": "VENDOR_X", "v": 1}))  # bare JSON in SSE too
            lines.append(b"data: \n\n" if framing == "sse" else b"\n")
            lines.append(ndjson_line({"type": "ping"}))
        if i == 90 and bad:
            lines.append(b"data: {oops\n\n" if framing == "sse" else b"{oops\n")
    lines.append(b"data: [DONE]\n\n" if framing == "sse" else b"[DONE]\n")
    lines.append(ndjson_line(events[0]))  # after [DONE]: never delivered
    return b"".join(lines)


def _decode(framing: str, body: bytes, size: int, *, slices: bool, lenient: bool) -> Any:
    from chatconduit._codec import EventDecoder

    errors: list[str] = []
    decoder = EventDecoder(framing, lenient=lenient, on_error=lambda e: errors.append(str(e)))
    out: list[tuple[str, str | None]] = []
    try:
        for start in range(0, len(body), size):
            read = body[start : start + size]
            if slices:
                for events, ids in decoder.iter_slices(read):
                    assert ids is None or len(ids) == len(events)
                    out += zip(map(event_to_json, events), ids or [None] * len(events), strict=True)
            else:
                out += [(event_to_json(e), i) for e, i in decoder.iter_feed(read)]
            decoder.check()
        out += [(event_to_json(e), i) for e, i in decoder.finish()]
    except MalformedEventError as exc:
        errors.append(f"raised {exc} at line {exc.line}")
    return out, errors, decoder.done, decoder.last_event_id


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("bad", [False, True])
@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize("size", [1, 7, 200, 4096, 1 << 20])
def test_slices_decode_exactly_what_pairs_decode(
    framing: str, bad: bool, lenient: bool, size: int
) -> None:
    body = _mixed_body(framing, bad=bad)
    pairs = _decode(framing, body, size, slices=False, lenient=lenient)
    slices = _decode(framing, body, size, slices=True, lenient=lenient)
    assert slices == pairs
    out, errors, done, _ = pairs
    assert done is not (bad and not lenient)  # a strict error stops before [DONE]
    assert len(out) >= 90  # the fixture really holds events
    if bad:  # the malformed payload is reported (raised with its line when strict)
        assert any("not valid JSON" in e for e in errors)
        if not lenient:
            assert errors[-1].startswith("raised") and "at line" in errors[-1]


def test_pairs_to_slices_delivers_what_came_before_a_failure() -> None:
    from chatconduit._codec._event_decoder import pairs_to_slices

    events = [parse_event(e) for e in text_run(100)]

    def pairs() -> Any:
        yield from ((e, None) for e in events[:60])
        yield events[60], "id-60"
        yield from ((e, None) for e in events[61:65])
        raise RecursionError("deep")

    got: list[Any] = []
    with pytest.raises(RecursionError):
        for sliced, ids in pairs_to_slices(pairs()):
            got.append((len(sliced), ids))
    # Slices of 16 (small_slices): the 60 events before the id in full slices, then the rest.
    assert got == [(16, None)] * 3 + [(12, None), (1, ["id-60"]), (4, None)]
