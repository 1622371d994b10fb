"""Issue 12, round 5: ``ChatClient`` reads plain text deltas as runs of strings.

* ``plain_text_slice`` gives, for any slice of payloads (plain deltas, deltas with one
  more key, empty or non-string deltas, duplicate keys, other events, lone surrogate
  escapes, bad JSON, a payload holding two JSON values), the very events
  ``parse_event_json`` gives for each payload once its runs are made into events, or the
  ``ValueError`` that ``parse_event_json_batch`` raises: hypothesis, against the reference.
* Runs are made only of exactly ``{type, messageId, delta}`` with non-empty strings, and
  never where an event id is in force (SSE ``id:``, NDJSON envelopes): ids count events.
* Over a real loopback socket, ``ChatClient`` without ``on_chunk`` (the reader then gives
  runs: checked on ``connect_slices``) builds the same messages as a ``StreamProcessor``
  applying every event one by one, for every chunk strategy and both framings; with an
  ``on_chunk`` added after the client was made, every event still reaches it.
* ``StreamProcessor.process_text_run`` on a run gives the same messages as on its events.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconduit import ChatClient, FetchOptions, ResumePolicy, fetch_server_sent_events
from chatconduit._codec import EventDecoder
from chatconduit._events import event_to_json, parse_event, parse_event_json
from chatconduit._events._text_runs import PlainTextRun, plain_text_slice
from chatconduit._processor import (
    ChunkStrategy,
    ImmediateStrategy,
    StreamProcessor,
)
from chatconduit.events import event_to_dict
from faulty_app import (
    SSE,
    FaultyApp,
    Plan,
    RecordedRequest,
    Switchboard,
    ndjson_line,
    sse_frame,
    text_run,
)
from test_hostile_server import RawServer, body_of
from test_speed_slices import _adapter, _body, _content, _strategies
from test_speed_slices import _mixed_run as _slices_mixed_run

# Slice boundaries are what these tests cross: see conftest.small_slices.
pytestmark = pytest.mark.usefixtures("small_slices")

# --------------------------------------------------------------------------- the slice


def _expanded(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(item.events() if isinstance(item, PlainTextRun) else [item])
    return out


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a.model_dump() == b.model_dump()
    assert a.model_fields_set == b.model_fields_set
    assert a.model_extra == b.model_extra
    assert event_to_json(a) == event_to_json(b)  # the bytes it re-encodes to, key order too


_TEXTS = st.one_of(
    st.sampled_from(["a", "é", " ", "\\ud800", '\\"', "😀", "}", "\\n"]),
    st.text(max_size=6),
)


@st.composite
def _payload(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 11))
    mid = draw(st.sampled_from(["m1", "m2"]))
    delta = draw(_TEXTS)
    if kind <= 4:  # the plain shape, the usual case
        order = draw(st.permutations(["type", "messageId", "delta"]))
        values = {"type": '"TEXT_MESSAGE_CONTENT"', "messageId": f'"{mid}"', "delta": None}
        parts = []
        for key in order:
            value = values[key] if key != "delta" else '"' + delta.replace('"', "") + '"'
            parts.append(f'"{key}":{value}')
        return ("{" + ",".join(parts) + "}").encode()
    if kind == 5:  # one more key: typed
        key = draw(st.sampled_from(["timestamp", "model", "content", "rawEvent", "x"]))
        value = draw(st.sampled_from(["1", '"s"', "null", "[1]"]))
        return (
            f'{{"type":"TEXT_MESSAGE_CONTENT","messageId":"{mid}","delta":"d","{key}":{value}}}'
        ).encode()
    if kind == 6:  # an empty or non-string delta, or message id
        value = draw(st.sampled_from(['""', "null", "1", '["a"]']))
        field = draw(st.sampled_from(["delta", "messageId"]))
        other = "messageId" if field == "delta" else "delta"
        return f'{{"type":"TEXT_MESSAGE_CONTENT","{field}":{value},"{other}":"x"}}'.encode()
    if kind == 7:  # duplicate keys: the last one counts, everywhere
        return (
            f'{{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"a",'
            f'"{draw(st.sampled_from(["messageId", "delta", "type"]))}":"m2"}}'
        ).encode()
    if kind == 8:
        return draw(
            st.sampled_from(
                [
                    b'{"type":"TEXT_MESSAGE_START","messageId":"m1","role":"assistant"}',
                    b'{"type":"TEXT_MESSAGE_END","messageId":"m1"}',
                    b'{"type":"RUN_STARTED","threadId":"t","runId":"r"}',
                    b'{"type":"TOOL_CALL_ARGS","toolCallId":"c","delta":"{"}',
                ]
            )
        )
    if kind == 9:  # not one event
        return draw(
            st.sampled_from(
                [b"1,2", b'"a"', b"[1]", b'{"type":"ping"}', b"{", b'{"type":"NOPE"}', b"NaN"]
            )
        )
    if kind == 10:  # invalid UTF-8 inside a delta
        return b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"\xff"}'
    return b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"x","delta":"y"}'


@settings(max_examples=400, deadline=None)
@given(st.lists(_payload(), min_size=1, max_size=12))
def test_plain_text_slice_gives_the_reference_events(payloads: list[bytes]) -> None:
    try:
        items = plain_text_slice(payloads)
    except ValueError:
        # Only where the typed batch refuses too (the decoder then goes one by one).
        from chatconduit._events import parse_event_json_batch

        with pytest.raises(ValueError):
            parse_event_json_batch(payloads)
        return
    got = _expanded(items)
    assert len(got) == len(payloads)
    for event, payload in zip(got, payloads, strict=True):
        _same(event, parse_event_json(payload))
    for item in items:
        if isinstance(item, PlainTextRun):
            assert all(type(d) is str and d for d in item.deltas)
            made = item.events()
            assert [e.delta for e in made] == item.deltas
            assert {e.message_id for e in made} == {item.message_id}
            # Nothing the joined route would drop: only what a run holds is set.
            assert all(e.model_fields_set == {"type", "message_id", "delta"} for e in made)
            assert all(not e.model_extra for e in made)


def test_runs_hold_only_plain_deltas_and_split_at_other_messages() -> None:
    plain = b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"%s","delta":"%s"}'
    payloads = [
        plain % (b"m1", b"a"),
        plain % (b"m1", b"b"),
        plain % (b"m2", b"c"),
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m2","delta":"d","timestamp":1}',
        plain % (b"m2", b"e"),
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m2","delta":""}',
    ]
    items = plain_text_slice(payloads)
    shapes = [
        (item.message_id, item.deltas) if isinstance(item, PlainTextRun) else item.delta
        for item in items
    ]
    assert shapes == [("m1", ["a", "b"]), ("m2", ["c"]), "d", ("m2", ["e"]), ""]


def _slices(framing: str, body: bytes, text_runs: bool) -> list[list[Any]]:
    decoder = EventDecoder(framing, text_runs=text_runs)  # type: ignore[arg-type]
    out = [events for events, _ids in decoder.iter_slices(body)]
    out += [[event for event, _id in decoder.finish()]]
    return out


def test_the_decoder_makes_runs_only_when_asked_and_no_id_is_in_force() -> None:
    events = text_run(40)
    plain_sse = b"".join(sse_frame(e) for e in events)
    assert any(isinstance(i, PlainTextRun) for s in _slices("sse", plain_sse, True) for i in s)
    for framing, body in (
        ("sse", plain_sse),
        ("ndjson", b"".join(ndjson_line(e) for e in events)),
    ):
        slices = _slices(framing, body, False)
        assert not any(isinstance(i, PlainTextRun) for s in slices for i in s)
    # An id in force counts the events under it, one by one: no runs from there on.
    tagged = sse_frame(events[0], event_id="7") + b"".join(sse_frame(e) for e in events[1:])
    assert not any(isinstance(i, PlainTextRun) for s in _slices("sse", tagged, True) for i in s)
    enveloped = b"".join(ndjson_line(e, event_id=str(i)) for i, e in enumerate(events))
    slices = _slices("ndjson", enveloped, True)
    assert not any(isinstance(i, PlainTextRun) for s in slices for i in s)
    assert [event_to_dict(e) for s in slices for e in s] == events


# --------------------------------------------------------------------------- over sockets


def _mixed_run() -> list[dict[str, Any]]:
    """test_speed_slices' run (text opening its message, a tool call in the middle, text
    after it in a new part, a second message) with a delta carrying a timestamp and an
    empty one among the plain ones."""
    events = _slices_mixed_run()
    after = [i for i, e in enumerate(events) if str(e.get("delta", "")).startswith("after")]
    events[after[70]] = {**events[after[70]], "timestamp": 1700000000000}
    empty = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": ""}
    events.insert(after[-1] + 1, empty)
    return events


def _reference(events: list[dict[str, Any]], strategy: ChunkStrategy) -> list[dict[str, Any]]:
    processor = StreamProcessor(chunk_strategy=strategy)
    processor.add_user_message("hi", id="u")
    processor.prepare_assistant_message()
    for event in events:
        processor.process(parse_event(event))
    processor.finalize_stream()
    return [_content(m.model_dump()) for m in processor.messages][1:]


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_connect_slices_gives_runs_that_expand_to_connects_events(framing: str) -> None:
    events = _mixed_run()
    with RawServer(body_of(_body(events, framing))) as server:
        adapter = _adapter(server.url, framing)
        items: list[Any] = []
        async with asyncio.timeout(30):  # liveness bound only
            async for batch in adapter.connect_slices([], text_runs=True):
                items += batch
            typed = [e async for e in adapter.connect([])]
    assert sum(isinstance(i, PlainTextRun) for i in items) >= 3
    assert [event_to_dict(e) for e in _expanded(items)] == [event_to_dict(e) for e in typed]
    assert [event_to_dict(e) for e in typed] == events


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("index", range(4))
async def test_chat_client_without_on_chunk_builds_the_reference_messages(
    framing: str, index: int
) -> None:
    events = _mixed_run()
    texts: list[str] = []
    with RawServer(body_of(_body(events, framing))) as server:
        client = ChatClient(
            _adapter(server.url, framing),
            chunk_strategy=_strategies()[index],
        )
        async with asyncio.timeout(30):
            await client.send_message("hi")
        got = [_content(m.model_dump()) for m in client.messages][1:]
        texts = [p["content"] for m in got for p in m["parts"] if p["type"] == "text"]
        await client.aclose()
    assert got == _reference(events, _strategies()[index])
    assert texts[-1] == "".join("é" * (i % 3 + 1) for i in range(90))


async def test_sse_ids_keep_every_event_typed_and_the_same_messages() -> None:
    events = _mixed_run()
    body = b"".join(sse_frame(e, event_id=str(i)) for i, e in enumerate(events))
    with RawServer(body_of(body)) as server:
        client = ChatClient(fetch_server_sent_events(server.url))
        async with asyncio.timeout(30):
            await client.send_message("hi")
        got = [_content(m.model_dump()) for m in client.messages][1:]
        await client.aclose()
    assert got == _reference(events, ImmediateStrategy())


async def test_a_response_resumed_under_an_sse_id_counts_its_replay_event_by_event() -> None:
    """The first response tags its first event (SSE keeps that id in force for the rest)
    and breaks after 30 events; the resumed one replays from that event with no id at
    all. The tracker skips the 30 it delivered, one by one: with runs, a run would count
    as one event and throw the count off (seen: more reconnects and a broken reply)."""
    events = text_run(80)

    def plan(request: RecordedRequest) -> Plan:
        if request.header("last-event-id") is None:
            head = [sse_frame(events[0], event_id="a")]
            return Plan(headers=SSE, body=head + [sse_frame(e) for e in events[1:30]], end="drop")
        return Plan(headers=SSE, body=[sse_frame(e) for e in events])

    with Switchboard.running() as board:
        app = board.plug(FaultyApp())
        app.set_plans(plan)
        resume = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.02)
        client = ChatClient(fetch_server_sent_events(board.url, FetchOptions(resume=resume)))
        async with asyncio.timeout(30):
            await client.send_message("hi")
        got = [_content(m.model_dump()) for m in client.messages][1:]
        await client.aclose()
    assert [r.header("last-event-id") for r in app.requests] == [None, "a"]
    assert got == _reference(events, ImmediateStrategy())


async def test_an_on_chunk_set_after_the_request_started_still_sees_every_event() -> None:
    events = _mixed_run()
    seen: list[dict[str, Any]] = []
    with RawServer(body_of(_body(events, "sse"))) as server:
        client = ChatClient(fetch_server_sent_events(server.url))

        def on_messages_change(view: Any) -> None:
            # The reader was asked for runs (no on_chunk when the request started); once
            # the reply has text, a callback wants every event as it is applied.
            replying = any(m.role == "assistant" and m.parts for m in view)
            if replying and client._observable.callbacks.on_chunk is None:
                client.update_options(on_chunk=lambda e: seen.append(event_to_dict(e)))

        client.update_options(on_messages_change=on_messages_change)
        async with asyncio.timeout(30):
            await client.send_message("hi")
        got = [_content(m.model_dump()) for m in client.messages][1:]
        await client.aclose()
    assert got == _reference(events, ImmediateStrategy())
    assert seen == events[len(events) - len(seen) :]  # everything after it was set, in order
    assert len(events) - 250 < len(seen) < len(events) - 2  # set during the first text


# --------------------------------------------------------------------------- the processor


@pytest.mark.parametrize("index", range(4))
def test_process_text_run_on_a_run_matches_its_events(index: int) -> None:
    raw = _mixed_run()
    payloads = [event_to_json(parse_event(e)).encode() for e in raw]
    results = []
    for runs in (False, True):
        processor = StreamProcessor(chunk_strategy=_strategies()[index])
        processor.prepare_assistant_message()
        items = plain_text_slice(payloads) if runs else [parse_event_json(p) for p in payloads]
        if runs:
            assert any(isinstance(i, PlainTextRun) for i in items)
        for item in items:
            if isinstance(item, PlainTextRun):
                processor.process_text_run(item)
            else:
                processor.process(item)
        processor.finalize_stream()
        results.append([_content(m.model_dump()) for m in processor.messages])
    assert results[0] == results[1]
