"""Issue 12, round 12: msgspec reads the plain deltas (``_events/_delta_reader``).

The client's hand-built path and ``ChatClient``'s text runs read a plain delta with one
msgspec call that checks its keys and value types as it reads. Whatever that reader takes,
the orjson path it sits in front of would have taken too, with the same values; whatever
it refuses, the orjson path decides, as before. So:

* the reader is on (msgspec comes with the ``fast`` extra) and really takes the usual
  deltas, with and without TanStack's timestamp;
* over generated payloads (plain events of every type, near misses, any spacing and
  escaping), an event built through the reader equals the one the orjson path alone builds
  and the validator's, and what the reader refuses gets the orjson path's answer;
* the edges where msgspec and orjson read JSON differently are the orjson path's: ints
  beyond int64, lone surrogates, invalid UTF-8, duplicate keys, a repeated ``type``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconduit._events import _hand_built, parse_event_json
from chatconduit._events._hand_built import DELTA_READER, hand_built_events
from chatconduit._events._text_messages import TextMessageContentEvent
from chatconduit._events._text_runs import PlainTextRun, plain_text_slice, text_runs_available
from test_events_hand_built import _same, _spelled, _validated
from test_speed_server_fast import any_events, plain_events


def _reads(payload: bytes) -> Any:
    """The reader's struct, or None where it refuses the payload."""
    assert DELTA_READER is not None
    try:
        return DELTA_READER.read(payload)
    except DELTA_READER.error:
        return None


def _orjson_path(payloads: list[bytes], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What ``hand_built_events`` makes without the reader: the orjson path alone."""
    with monkeypatch.context() as patch:
        patch.setattr(_hand_built, "DELTA_READER", None)
        built, _ = hand_built_events(payloads)
    return built


def test_the_reader_is_on_and_takes_the_usual_deltas() -> None:
    assert DELTA_READER is not None and text_runs_available
    usual = {
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"Hi"}': ("m", "Hi", False),
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"Hi","timestamp":1765000000000}': (
            "m",
            "Hi",
            True,
        ),
        b'{"type":"REASONING_MESSAGE_CONTENT","messageId":"r","delta":"so"}': ("r", "so", False),
        b'{"delta":"{\\"a\\"","toolCallId":"c","type":"TOOL_CALL_ARGS"}': ("c", '{"a"', False),
    }
    for payload, (ident, delta, stamped) in usual.items():
        plain = _reads(payload)
        assert plain is not None, payload
        assert (plain.ident, plain.delta) == (ident, delta)
        assert (plain.timestamp is not DELTA_READER.unset) is stamped
        (event,), misses = hand_built_events([payload])
        assert misses == [] and event is not None
        _same(event, _validated(payload))


def test_the_hand_built_path_goes_through_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop really calls the reader (a counting wrapper sees every payload)."""
    assert DELTA_READER is not None
    seen: list[bytes] = []

    def counting(payload: bytes) -> Any:
        seen.append(payload)
        return DELTA_READER.read(payload)

    monkeypatch.setattr(_hand_built, "DELTA_READER", DELTA_READER._replace(read=counting))
    delta = b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"%d"}'
    payloads = [delta % i for i in range(5)]
    built, misses = hand_built_events(payloads)
    assert seen == payloads and misses == []
    assert [event.delta for event in built] == ["0", "1", "2", "3", "4"]  # type: ignore[union-attr]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_what_the_reader_takes_the_orjson_path_takes_alike(data: st.DataObject) -> None:
    events = data.draw(st.lists(st.one_of(plain_events(), any_events()), min_size=1, max_size=8))
    payloads = [data.draw(_spelled(event)) for event in events]
    with pytest.MonkeyPatch.context() as monkeypatch:
        alone = _orjson_path(payloads, monkeypatch)
    built, misses = hand_built_events(payloads)
    for index, payload in enumerate(payloads):
        if _reads(payload) is not None:
            # Taken by the reader: the orjson path takes it too, into the same event.
            assert alone[index] is not None, payload
            _same(built[index], alone[index])
            _same(built[index], _validated(payload))
        # Taken or not, the answer is the orjson path's.
        assert (built[index] is None) is (alone[index] is None), payload
        assert (index in misses) is (built[index] is None)
        if built[index] is not None:
            _same(built[index], alone[index])


# Any code point, lone surrogates too (hypothesis leaves them out unless asked).
_ANY_TEXT = st.text(st.characters(exclude_categories=()))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_plain_delta_within_int64_is_the_readers(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["TEXT_MESSAGE_CONTENT", "REASONING_MESSAGE_CONTENT"]))
    ident, delta = data.draw(_ANY_TEXT), data.draw(_ANY_TEXT)
    event: dict[str, Any] = {"type": kind, "messageId": ident, "delta": delta}
    if data.draw(st.booleans()):
        event["timestamp"] = data.draw(st.integers(-(2**63), 2**63 - 1))
    payload = data.draw(_spelled(dict(data.draw(st.permutations(list(event.items()))))))
    plain = _reads(payload)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in ident + delta):
        # Raw (invalid UTF-8) or escaped (lone, or two that JSON reads as one pair): what
        # the reader takes of it, the orjson path takes alike.
        with pytest.MonkeyPatch.context() as monkeypatch:
            alone = _orjson_path([payload], monkeypatch)[0]
        if plain is not None:
            assert alone is not None
            assert (alone.message_id, alone.delta) == (plain.ident, plain.delta)
        return
    assert plain is not None and (plain.ident, plain.delta) == (ident, delta)
    (built,), _ = hand_built_events([payload])
    _same(built, _validated(payload))


EDGES = [
    # ints orjson reads as ints and the reader leaves to it, and beyond (doubles there)
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":9223372036854775808}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":18446744073709551615}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":18446744073709551616}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":-9223372036854775809}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":1e3}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":true}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","timestamp":null}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\\ud800"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\\udc00\\ud800"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\xff"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"\xed\xa0\x80"}',
    b'\xef\xbb\xbf{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","delta":"b"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","messageId":"n"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","type":"TEXT_MESSAGE_START","delta":"a"}',
    b'{"type":"TEXT_MESSAGE_START","messageId":"m","type":"TEXT_MESSAGE_CONTENT","delta":"a"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a"} ',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a"}x',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a\x01"}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","metadata":null}',
    b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a","model":"x"}',
    b'{"type":"TOOL_CALL_ARGS","toolCallId":"c","delta":"{","args":"{"}',
    b'{"type":"TOOL_CALL_ARGS","messageId":"c","delta":"{"}',
]


@pytest.mark.parametrize("payload", EDGES, ids=lambda p: p.decode("utf-8", "replace"))
def test_where_json_readers_differ_the_orjson_path_decides(
    payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _orjson_path([payload], monkeypatch)[0]
    (built,), _ = hand_built_events([payload])
    assert (built is None) is (alone is None)
    if built is not None:
        _same(built, alone)
        _same(built, _validated(payload))
    plain = _reads(payload)
    if plain is not None:  # taken: the orjson path agrees on what it is
        assert alone is not None and alone.delta == plain.delta


def test_big_int_timestamps_are_built_as_the_validator_reads_them() -> None:
    """Beyond int64 up to 2**64 orjson still reads an int: the reader leaves those to it,
    and the event is the validator's (not refused as a bounded reader alone would)."""
    payload = EDGES[1]
    assert _reads(payload) is None
    (built,), misses = hand_built_events([payload])
    assert misses == [] and built is not None and built.timestamp == 2**64 - 1
    _same(built, _validated(payload))


def test_text_runs_take_only_unstamped_text_with_text() -> None:
    payloads = [
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"a"}',
        b'{"delta":"b","messageId":"m","type":"TEXT_MESSAGE_CONTENT"}',
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"c","timestamp":5}',
        b'{"type":"REASONING_MESSAGE_CONTENT","messageId":"m","delta":"d"}',
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":""}',
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"e"}',
    ]
    items = plain_text_slice(payloads)
    assert isinstance(items[0], PlainTextRun) and items[0].deltas == ["a", "b"]
    assert isinstance(items[1], TextMessageContentEvent) and items[1].timestamp == 5
    assert items[2].type == "REASONING_MESSAGE_CONTENT"
    assert isinstance(items[3], TextMessageContentEvent) and items[3].delta == ""
    assert isinstance(items[4], PlainTextRun) and items[4].deltas == ["e"]
    expanded = [
        event
        for item in items
        for event in (item.events() if isinstance(item, PlainTextRun) else [item])
    ]
    for event, payload in zip(expanded, payloads, strict=True):
        _same(event, parse_event_json(payload))


def test_the_reader_keeps_nothing_for_the_garbage_collector() -> None:
    import gc

    event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "a"}
    plain = _reads(json.dumps(event).encode())
    assert plain is not None and not gc.is_tracked(plain)
