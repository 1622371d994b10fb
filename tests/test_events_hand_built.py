"""Issue 12, round 9: the client builds plain events by hand (``_events/_hand_built``).

``parse_event_json_batch`` makes the plain payloads' events without pydantic's validator.
What it makes must be the validator's event in every respect users can see:

* the same class, fields, ``model_fields_set``, ``model_extra``, dumps and re-encoded bytes
  as ``parse_event_json`` gives for each payload, over generated payloads (the server's fast
  path's plain events and near misses, in any spacing and escaping) and every recorded
  fixture; and the path is really taken for the plain ones;
* pydantic's behaviour on it: ``==`` both ways, assignment, ``model_copy``, copies, pickle,
  revalidation, ``ag_ui.core`` round trips;
* what is not plain (a null or a number where a string goes, a snake_case or extra key,
  ``metadata``, a bool, float or 65-bit timestamp, bad JSON) goes to the validator;
* payloads are read one by one: two broken payloads that only make JSON together are an
  error, over a real socket, for ``connect()`` and for ``ChatClient``'s text runs.
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from chatconduit import ChatClient, MalformedEventError, fetch_http_stream, fetch_server_sent_events
from chatconduit._events import parse_event_json, parse_event_json_batch
from chatconduit._events._hand_built import hand_built_event, hand_built_events
from chatconduit._events._parse import _parse_reference
from chatconduit._events._text_runs import plain_text_slice
from chatconduit.events import Event, event_to_dict, event_to_json
from faulty_app import ndjson_line, sse_frame, text_run
from test_hostile_server import RawServer, body_of
from test_speed_server_fast import any_events, plain_events

FIXTURES = Path(__file__).parent / "fixtures"


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a == b and b == a
    assert a.__dict__ == b.__dict__
    assert a.model_fields_set == b.model_fields_set
    assert a.model_extra == b.model_extra
    assert a.model_dump() == b.model_dump()
    assert a.model_dump(by_alias=True, exclude_unset=True) == b.model_dump(
        by_alias=True, exclude_unset=True
    )
    assert event_to_json(a) == event_to_json(b)  # key order too
    assert repr(a) == repr(b)


@st.composite
def _spelled(draw: st.DrawFn, event: dict[str, Any]) -> bytes:
    """``event`` as a payload: compact or spaced, ASCII-escaped or not."""
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")]))
    text = json.dumps(event, separators=separators, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


def _reference(payload: bytes) -> Event | None:
    """The validator's event (``parse_event_json`` builds plain payloads by hand too)."""
    try:
        return _parse_reference(payload)
    except MalformedEventError:
        return None


def _validated(payload: bytes) -> Event:
    event = _reference(payload)
    assert event is not None, payload
    return event


def _check_batch(payloads: list[bytes]) -> None:
    """The batch gives each payload's own event, or refuses where one payload is refused;
    ``parse_event_json`` gives each payload's event, or refuses it."""
    wanted = [_reference(payload) for payload in payloads]
    for payload, event in zip(payloads, wanted, strict=True):
        if event is None:
            with pytest.raises(MalformedEventError):
                parse_event_json(payload)
        else:
            _same(parse_event_json(payload), event)
            alone = hand_built_event(payload)
            if alone is not None:
                _same(alone, event)
    try:
        got = parse_event_json_batch(payloads)
    except ValueError:
        # Refused as a whole: each payload again alone decides (the decoder does that).
        for payload, event in zip(payloads, wanted, strict=True):
            try:
                (alone,) = parse_event_json_batch([payload])
            except ValueError:
                continue
            assert event is not None
            _same(alone, event)
        return
    for event, reference in zip(got, wanted, strict=True):
        assert reference is not None
        _same(event, reference)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_plain_payloads_are_built_by_hand_into_the_validators_events(data: st.DataObject) -> None:
    events = data.draw(st.lists(plain_events(), min_size=1, max_size=8))
    payloads = [data.draw(_spelled(event)) for event in events]
    built, misses = hand_built_events(payloads)
    for index, event in enumerate(events):
        stamp = event.get("timestamp")
        if stamp is None or -(2**63) <= stamp < 2**64:  # orjson's ints; beyond, a double
            # Every plain shape is taken, alone or in a batch (the path is really taken).
            alone = hand_built_event(payloads[index])
            assert alone is not None, payloads[index]
            _same(alone, _validated(payloads[index]))
            assert index not in misses, payloads[index]
            _same(built[index], _validated(payloads[index]))
    _check_batch(payloads)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_near_misses_give_the_validators_answer(data: st.DataObject) -> None:
    events = data.draw(st.lists(st.one_of(plain_events(), any_events()), min_size=1, max_size=8))
    _check_batch([data.draw(_spelled(event)) for event in events])


DELTA = b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"%s"}'
NEAR_MISSES = [
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":null,"delta":"a"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":1}',
    b'{"type":"TEXT_MESSAGE_CONTENT","message_id":"m","delta":"a"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","x":"y"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","metadata":{}}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":true}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":1.5}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":36893488147419103232}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","rawEvent":"r"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\\ud800"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\xff"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":NaN}',
    b'{"type":["TEXT_MESSAGE_CONTENT"],"messageId":"m","delta":"a"}',
    b'{"type":"RUN_STARTED","runId":"r","threadId":"t","input":{}}',
    b'{"type":"RUN_FINISHED","runId":"r","usage":{"promptTokens":1}}',
    b'{"type":"TOOL_CALL_START","toolCallId":"c","index":0}',
    b'{"type":"CUSTOM","name":"n","value":1}',
    b'{"type":"NOPE"}',
    b'["TEXT_MESSAGE_CONTENT","m","a"]',
    b'"abc"',
    b"1,2",
    b"{",
]


@pytest.mark.parametrize("payload", NEAR_MISSES, ids=lambda p: p.decode("utf-8", "replace"))
def test_what_is_not_plain_goes_to_the_validator(payload: bytes) -> None:
    built, misses = hand_built_events([DELTA % b"a", payload, DELTA % b"b"])
    assert misses == [1] and built[1] is None
    assert built[0] is not None and built[2] is not None
    _check_batch([DELTA % b"a", payload, DELTA % b"b"])


def test_large_payloads() -> None:
    """Above 512 bytes, a payload whose type, written first, is never plain is left to the
    validator unread; a large plain one is still built by hand, whatever its key order."""
    text = "é" * 600
    plain = [
        DELTA % text.encode(),
        json.dumps({"delta": text, "messageId": "m", "type": "TEXT_MESSAGE_CONTENT"}).encode(),
        json.dumps({"type": "TEXT_MESSAGE_START", "messageId": "m", "name": text}).encode(),
    ]
    for payload in plain:
        assert len(payload) > 512
        assert hand_built_event(payload) is not None
    assert hand_built_events(plain)[1] == []
    snapshot = json.dumps({"type": "STATE_SNAPSHOT", "snapshot": {"text": text}}).encode()
    assert hand_built_event(snapshot) is None and hand_built_events([snapshot])[1] == [0]
    _check_batch([*plain, snapshot, DELTA % b"a", DELTA % b"b"])


def test_duplicate_keys_read_as_json_parse_reads_them() -> None:
    payload = b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","delta":"b"}'
    (event,), misses = hand_built_events([payload])
    assert misses == [] and event is not None and event.delta == "b"
    _same(event, _validated(payload))


def _hand_built(payload: bytes) -> Any:
    event = hand_built_event(payload)
    assert event is not None
    return event


def test_pydantics_state_is_filled_in_on_first_read_from_the_payload() -> None:
    payload = b'{"delta":"hi","timestamp":7,"type":"TEXT_MESSAGE_CONTENT","messageId":"m"}'
    event = _hand_built(payload)
    with pytest.raises(AttributeError):  # unset until read through the class
        object.__getattribute__(event, "__pydantic_fields_set__")
    assert event.model_fields_set == {"type", "delta", "timestamp", "message_id"}
    assert event.model_extra == {}
    assert event.__pydantic_private__ is None
    # The encoder writes type first, then the keys in the order they came.
    assert list(event_to_dict(event).items()) == [
        ("type", "TEXT_MESSAGE_CONTENT"),
        ("delta", "hi"),
        ("timestamp", 7),
        ("messageId", "m"),
    ]


def test_a_hand_built_event_behaves_as_a_validated_one() -> None:
    payload = DELTA % b"hello"
    event, reference = _hand_built(payload), _validated(payload)
    event.delta = "changed"  # pydantic's assignment: the field joins fields_set
    reference.delta = "changed"
    _same(event, reference)
    other, fresh = _hand_built(payload), _validated(payload)
    _same(other.model_copy(update={"content": "c"}), fresh.model_copy(update={"content": "c"}))
    for twin in (copy.copy(other), copy.deepcopy(other), pickle.loads(pickle.dumps(other))):
        assert twin == _validated(payload)
        assert twin.model_fields_set == {"type", "message_id", "delta"}
    for read in (
        lambda e: e.model_dump_json(),
        lambda e: e.model_dump_json(by_alias=True, exclude_unset=True),
        lambda e: e.model_dump(mode="json", exclude_defaults=True),
        lambda e: list(e),
    ):
        assert read(_hand_built(payload)) == read(_validated(payload))
    extra, validated = _hand_built(payload), _validated(payload)
    extra.vendor = 1  # an extra set later (extra="allow")
    validated.vendor = 1
    _same(extra, validated)
    assert TypeAdapter(Event).validate_python(other) is other
    assert TypeAdapter(Event).validate_python(other.model_dump(by_alias=True)) == other
    with pytest.raises(AttributeError):
        _ = other.no_such_field


def test_hand_built_events_round_trip_with_ag_ui() -> None:
    ag_core = pytest.importorskip("ag_ui.core")
    payloads = [
        b'{"type":"RUN_STARTED","threadId":"t","runId":"r","timestamp":1}',
        b'{"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}',
        DELTA % b"hi",
        b'{"type":"TEXT_MESSAGE_END","messageId":"m"}',
        b'{"type":"RUN_FINISHED","threadId":"t","runId":"r"}',
    ]
    adapter = TypeAdapter(ag_core.Event)
    for payload in payloads:
        event = _hand_built(payload)
        theirs = adapter.validate_python(event_to_dict(event))
        back = _validated(theirs.model_dump_json(by_alias=True, exclude_none=True).encode())
        assert back == event


def _payloads(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.suffix == ".sse":
        lines = [line for line in data.split(b"\n") if line.startswith(b"data:")]
        return [line[5:].removeprefix(b" ") for line in lines]
    return [line for line in data.split(b"\n") if line.strip()]


RECORDED = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.suffix in (".sse", ".ndjson") and "bridges" not in path.parts
)


def test_the_fixtures_exercise_the_hand_built_path() -> None:
    payloads = [payload for path in RECORDED for payload in _payloads(path)]
    built, _ = hand_built_events(payloads)
    taken = sum(event is not None for event in built)
    assert len(RECORDED) >= 20 and taken >= 300


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_recorded_fixtures_give_the_validators_events(path: Path) -> None:
    payloads = _payloads(path)
    for start in range(0, len(payloads), 5):
        _check_batch(payloads[start : start + 5])


# --------------------------------------------------------------------- payload boundaries

# Two payloads, each no JSON, that make two plain deltas when read as one JSON array.
SPLIT = (
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a"},'
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"x',
    b'y"}',
)


def test_payloads_are_read_one_by_one() -> None:
    for payloads in ([*SPLIT], [DELTA % b"1", *SPLIT, DELTA % b"2"]):
        with pytest.raises(ValueError):
            parse_event_json_batch(payloads)
        with pytest.raises(ValueError):
            plain_text_slice(payloads)


def _split_body(framing: str) -> bytes:
    events = text_run(6)
    head, tail = events[:4], events[4:]
    if framing == "sse":
        frames = [sse_frame(event) for event in head] + [b"data: " + p + b"\n\n" for p in SPLIT]
        return b"".join(frames + [sse_frame(event) for event in tail])
    lines = [ndjson_line(event) for event in head] + [p + b"\n" for p in SPLIT]
    return b"".join(lines + [ndjson_line(event) for event in tail])


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_connect_refuses_payloads_that_are_json_only_together(framing: str) -> None:
    adapter_of = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    got: list[Any] = []
    with RawServer(body_of(_split_body(framing))) as server:
        adapter = adapter_of(server.url)
        with pytest.raises(MalformedEventError):
            async with asyncio.timeout(30):  # liveness bound only
                async for event in adapter.connect([{"role": "user", "content": "hi"}]):
                    got.append(event)
        await adapter.aclose()
    assert [event.type for event in got][:2] == ["RUN_STARTED", "TEXT_MESSAGE_START"]
    assert not any(getattr(event, "delta", None) == "x,y" for event in got)


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_chat_client_refuses_payloads_that_are_json_only_together(framing: str) -> None:
    adapter_of = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    with RawServer(body_of(_split_body(framing))) as server:
        client = ChatClient(adapter_of(server.url))
        async with asyncio.timeout(30):
            await client.send_message("hi")
        assert isinstance(client.error, MalformedEventError)
        texts = [
            part.content
            for message in client.messages
            for part in message.parts
            if part.type == "text"
        ]
        await client.aclose()
    assert not any("x,y" in text for text in texts)


def test_the_path_is_on_and_checks_itself_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """On with this pydantic; and the import-time check refuses a builder whose events
    differ from the validator's (here: a wrong default), which would turn the path off."""
    from chatconduit._events import _hand_built

    assert _hand_built.hand_built_available is True
    assert _hand_built._agrees_with_the_validator()
    cls, defaults, *rest = _hand_built._DELTAS["TEXT_MESSAGE_CONTENT"]
    wrong = (cls, {**defaults, "content": "not the default"}, *rest)
    monkeypatch.setitem(_hand_built._DELTAS, "TEXT_MESSAGE_CONTENT", wrong)
    assert not _hand_built._agrees_with_the_validator()
