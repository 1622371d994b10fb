"""SSE decoding (WHATWG rules, TanStack 0.10 leniencies, limits, errors), encoding, fixtures."""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from chatconduit import FrameTooLargeError, MalformedEventError, ProtocolError, StreamTruncatedError
from chatconduit._codec import SSEDecoder, SSEMessage
from chatconduit.events import (
    DecodedEvent,
    EventDecoder,
    TextMessageContentEvent,
    UnknownEvent,
    encode_sse,
    encode_sse_comment,
    event_to_dict,
    parse_event_json,
)
from servers import serve

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10" / "responses"
SSE_FIXTURES = sorted(p for p in FIXTURES.glob("*.sse") if p.name != "http500.sse")


def decode(*reads: bytes, **options: Any) -> list[SSEMessage]:
    decoder = SSEDecoder(**options)
    out: list[SSEMessage] = []
    for read in reads:
        out += decoder.feed(read)
    return out + decoder.finish()


def data(*reads: bytes) -> list[str]:
    return [m.data for m in decode(*reads)]


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


# --- WHATWG line handling -------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_dispatches_and_multi_line_data_joins_with_lf(eol: bytes) -> None:
    body = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert data(body) == ["a\nb", "c"]
    assert data(*bytewise(body)) == ["a\nb", "c"]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    # If the LF after a read-final CR were taken as its own (blank) line, "a" would be
    # dispatched alone and "b" would follow as a second event.
    assert data(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]


def test_lone_cr_at_the_end_of_a_read_ends_the_line() -> None:
    assert data(b"data: a\r", b"\r", b"data: b\r\r") == ["a", "b"]


def test_unicode_line_separators_are_data_not_line_ends() -> None:
    payload = json.dumps(
        {"type": "X", "t": "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg"}, ensure_ascii=False
    )
    body = f"data: {payload}\n\n".encode()
    assert data(body) == [payload]
    assert data(*bytewise(body)) == [payload]


def test_utf8_sequence_split_across_reads_is_rejoined() -> None:
    body = "data: 👩‍👩‍👧 日本語 wörld\n\n".encode()
    assert data(*bytewise(body)) == ["👩‍👩‍👧 日本語 wörld"]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert data(b"data: a\xffb\n\n") == ["a\ufffdb"]


def test_comments_and_unknown_fields_are_ignored() -> None:
    body = b":\n: keep-alive\nfoo: bar\ndata: x\nbaz\n\n"
    assert data(body) == ["x"]


def test_one_optional_space_after_the_colon() -> None:
    assert data(b"data:x\n\ndata: y\n\ndata:  z\n\n") == ["x", "y", " z"]


def test_field_without_colon_has_an_empty_value() -> None:
    assert data(b"data\n\n") == [""]
    assert data(b"data\ndata\n\n") == ["\n"]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: x\n\n: c\n\nid: 1\n\n") == []


def test_leading_blanks_make_an_unknown_field() -> None:
    assert data(b"  data: x\n\n") == []


def test_event_type_applies_to_one_event_and_defaults_to_message() -> None:
    messages = decode(b"event: update\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n")
    assert [(m.event, m.data) for m in messages] == [
        ("update", "1"),
        ("message", "2"),
        ("message", "3"),
    ]


def test_last_event_id_persists_resets_and_ignores_nul() -> None:
    body = (
        b"data: a\n\n"  # no id yet
        b"id: 7\ndata: b\n\n"
        b"data: c\n\n"  # id persists
        b"id: bad\x00id\ndata: d\n\n"  # NUL: ignored
        b"id\ndata: e\n\n"  # empty id: reset
    )
    assert [(m.data, m.id) for m in decode(body)] == [
        ("a", None),
        ("b", "7"),
        ("c", "7"),
        ("d", "7"),
        ("e", ""),
    ]


def test_id_only_block_updates_the_last_event_id_without_an_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 42\n\n") == []
    assert decoder.last_event_id == "42"
    assert [m.id for m in decoder.feed(b"data: x\n\n")] == ["42"]


def test_runs_of_events_with_id_lines_follow_the_same_rules() -> None:
    body = (
        b"id: 1\ndata: a\n\n"
        b"id: x\x00y\ndata: b\n\n"  # NUL: ignored, "1" stays in force
        b"id: 3\ndata: c\n\n"
        b"data: d\n\n"  # no id line: "3" persists
    )
    assert [(m.data, m.id) for m in decode(body)] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "3"),
        ("d", "3"),
    ]
    assert [(m.data, m.id) for m in decode(*bytewise(body))] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "3"),
        ("d", "3"),
    ]


def test_id_from_a_run_of_id_events_stays_in_force_for_plain_events() -> None:
    decoder = SSEDecoder()
    messages = decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n")
    assert [(m.data, m.id) for m in messages] == [("a", "1"), ("b", "2"), ("c", "2")]
    assert decoder.last_event_id == "2"


def test_id_set_before_a_run_of_plain_events_is_committed_by_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\n") == []
    assert decoder.last_event_id is None
    assert [m.id for m in decoder.feed(b"data: a\n\ndata: b\n\n")] == ["5", "5"]
    assert decoder.last_event_id == "5"


def test_id_of_an_unfinished_event_is_not_committed() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: x\n\nid: 2\n")
    assert decoder.last_event_id == "1"


def test_retry_takes_ascii_digits_only_and_stays_in_force() -> None:
    decoder = SSEDecoder()
    messages = decoder.feed(b"retry: 1500\ndata: a\n\nretry: 12a\ndata: b\n\nretry: -1\nretry:\n")
    messages += decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: c\n\n")
    assert [(m.data, m.retry) for m in messages] == [("a", 1500), ("b", 1500), ("c", 1500)]
    assert decoder.retry == 1500


def test_bom_is_stripped_once_even_when_split() -> None:
    body = b"\xef\xbb\xbfdata: x\n\n"
    assert data(body) == ["x"]
    assert data(*bytewise(body)) == ["x"]
    # A second BOM is part of the first field's name, which is then unknown.
    assert data(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == ["y"]


def test_a_whole_event_in_one_read_still_continues_what_came_before() -> None:
    # Reads that each look like one complete event, but are not, given the state.
    assert data(b"data: A\n", b"data: B\n\n") == ["A\nB"]
    assert data(b"data: A", b"data: B\n\n") == ["Adata: B"]
    assert [(m.event, m.data) for m in decode(b"event: x\n", b"data: B\n\n")] == [("x", "B")]


def test_a_whole_event_in_one_read_respects_the_limit() -> None:
    with pytest.raises(FrameTooLargeError, match=r"line 1\)"):
        decode(b"data: " + b"x" * 20 + b"\n\n", max_frame_bytes=16)


def test_the_rest_of_a_skipped_event_stays_skipped() -> None:
    errors: list[ProtocolError] = []
    decoder = SSEDecoder(max_frame_bytes=20, lenient=True, on_error=errors.append)
    got = decoder.feed(b"data: " + b"x" * 30)
    got += decoder.feed(b"\n")
    got += decoder.feed(b"data: C\n\n")  # still the oversized event: dropped with it
    got += decoder.feed(b"data: D\n\n")
    assert [m.data for m in got] == ["D"]
    assert len(errors) == 1


# --- TanStack 0.10 leniencies ---------------------------------------------------------------


def test_bare_json_lines_are_events_like_ndjson() -> None:
    body = b'{"type":"A"}\n{"type":"B"}\r\n'
    assert data(body) == ['{"type":"A"}', '{"type":"B"}']


def test_bare_json_line_carries_the_id_in_force_and_leaves_pending_data_alone() -> None:
    messages = decode(b'id: 3\ndata: {"n":1}\n{"n":2}\n\n')
    assert [(m.data, m.id) for m in messages] == [('{"n":2}', "3"), ('{"n":1}', "3")]


def test_done_sentinel_is_flagged_not_parsed() -> None:
    messages = decode(b"data: [DONE]\r\n\r\n[DONE]\n")
    assert [m.is_done for m in messages] == [True, True]


def test_each_data_line_is_an_event_when_only_the_lines_are_json() -> None:
    assert data(b'data: {"a":1}\ndata: {"b":2}\n\n') == ['{"a":1}', '{"b":2}']
    # A value spread over lines is one event (the reference loses it).
    assert data(b'data: {"a":\ndata: 1}\n\n') == ['{"a":\n1}']
    # Mixed: not all lines are JSON, so the joined text stands (and is not JSON).
    assert data(b'data: {"a":1}\ndata: oops\n\n') == ['{"a":1}\noops']


# --- limits and errors ----------------------------------------------------------------------


def test_line_over_the_limit_raises_and_names_the_line() -> None:
    decoder = SSEDecoder(max_frame_bytes=64)
    assert len(decoder.feed(b"data: ok\n\n")) == 1
    with pytest.raises(FrameTooLargeError, match=r"line 3\)"):
        for _ in range(10):
            decoder.feed(b"data: " + b"x" * 20)
    with pytest.raises(FrameTooLargeError):  # the decoder stays failed
        decoder.feed(b"\n\n")


def test_line_over_the_limit_inside_one_big_read_raises() -> None:
    decoder = SSEDecoder(max_frame_bytes=100)
    body = b"data: a\n\n" + b"data: " + b"y" * 200 + b"\n\ndata: b\n\n"
    assert [m.data for m in decoder.feed(body)] == ["a"]  # what came before, in order
    assert isinstance(decoder.pending_error, FrameTooLargeError)
    with pytest.raises(FrameTooLargeError, match=r"line 3\)"):
        decoder.check()


def test_multi_line_event_exactly_at_the_limit_is_accepted_across_reads() -> None:
    decoder = SSEDecoder(max_frame_bytes=24)
    assert decoder.feed(b"data: 0123456789a\n") == []
    assert decoder.feed(b"data: 0123456789ab\n") == []  # joined: 11 + LF + 12 = 24 bytes
    assert [m.data for m in decoder.feed(b"\n")] == ["0123456789a\n0123456789ab"]


def test_multi_line_event_over_the_limit_raises() -> None:
    decoder = SSEDecoder(max_frame_bytes=100)
    with pytest.raises(FrameTooLargeError, match="event data"):
        for _ in range(20):
            decoder.feed(b"data: 0123456789\n")


def test_oversized_input_is_not_buffered() -> None:
    # 8 MiB of one endless line against a 64 KiB limit, lenient so decoding goes on.
    errors: list[ProtocolError] = []
    decoder = SSEDecoder(max_frame_bytes=64 * 1024, lenient=True, on_error=errors.append)
    chunk = b"x" * 65536
    tracemalloc.start()
    try:
        decoder.feed(b"data: ")
        for _ in range(128):
            decoder.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    assert [type(e) for e in errors] == [FrameTooLargeError]
    # The rest of that event is skipped; the next one decodes.
    assert [m.data for m in decoder.feed(b"\ndata: more\n\ndata: next\n\n")] == ["next"]


def test_lenient_mode_reports_and_skips_oversized_bare_lines() -> None:
    errors: list[ProtocolError] = []
    decoder = SSEDecoder(max_frame_bytes=50, lenient=True, on_error=errors.append)
    body = b'{"a":1}\n{"big":"' + b"z" * 100 + b'"}\n{"b":2}\n'
    assert [m.data for m in decoder.feed(body)] == ['{"a":1}', '{"b":2}']
    assert len(errors) == 1 and errors[0].line == 2


def test_lenient_mode_without_a_callback_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    decoder = SSEDecoder(max_frame_bytes=10, lenient=True)
    with caplog.at_level(logging.WARNING, logger="chatconduit"):
        decoder.feed(b"data: " + b"q" * 50 + b"\n\n")
    assert "over the 10-byte limit" in caplog.text


def test_truncated_event_at_end_of_stream_raises_with_its_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b'data: {"type":"A"}\n\ndata: {"type":"RUN_FIN')
    with pytest.raises(StreamTruncatedError, match=r"line 3\)"):
        decoder.finish()


@pytest.mark.parametrize(
    "tail",
    [
        b'data: {"type":"A"}',  # unterminated line, complete JSON
        b'data: {"type":"A"}\n',  # no blank line
        b'data: {"type":\ndata: "A"}\n',  # multi-line, complete JSON
        b'{"type":"A"}',  # bare JSON line
        b"data: [DONE]",
    ],
)
def test_complete_json_at_end_of_stream_is_delivered(tail: bytes) -> None:
    messages = decode(b"data: 1\n\n" + tail)
    assert len(messages) == 2
    assert messages[1].is_done or json.loads(messages[1].data) == {"type": "A"}


@pytest.mark.parametrize(
    "tail",
    [
        b"data: hello\n",  # complete lines but no blank line, not JSON
        b"id: 12",  # a field line cut short: cannot tell it is whole
        b"dat",
        b'{"type":',
        b'data: x\n{"type":"A"}',  # the bare line is whole, the data event before it is not
    ],
)
def test_cut_off_input_at_end_of_stream_is_an_error(tail: bytes) -> None:
    with pytest.raises(StreamTruncatedError):
        decode(b"data: 1\n\n" + tail)


@pytest.mark.parametrize("tail", [b": keep-alive", b"id: 3\n", b"event: x\nretry: 5\n", b""])
def test_nothing_lost_at_end_of_stream_is_fine(tail: bytes) -> None:
    assert data(b"data: 1\n\n" + tail) == ["1"]


def test_feed_after_finish_is_a_programming_error() -> None:
    decoder = SSEDecoder()
    decoder.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        decoder.feed(b"data: x\n\n")


def test_max_frame_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_frame_bytes"):
        SSEDecoder(max_frame_bytes=0)


# --- typed decoding -------------------------------------------------------------------------


def events(*reads: bytes, **options: Any) -> list[DecodedEvent]:
    decoder = EventDecoder("sse", **options)
    out: list[DecodedEvent] = []
    for read in reads:
        out += decoder.feed(read)
    return out + decoder.finish()


def test_typed_events_with_ids_pings_comments_and_blank_data() -> None:
    body = (
        b": heartbeat\n\n"
        b'data: {"type":"ping"}\n\n'
        b"data:\n\n"
        b'id: 1\ndata: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"hi"}\n\n'
        b'data: {"type":"VENDOR_THING","x":[1]}\n\n'
    )
    decoded = events(body)
    assert [(type(e).__name__, i) for e, i in decoded] == [
        ("TextMessageContentEvent", "1"),
        ("UnknownEvent", "1"),
    ]
    first = decoded[0][0]
    assert isinstance(first, TextMessageContentEvent) and first.delta == "hi"


@pytest.mark.parametrize("lazy", [False, True], ids=["feed", "iter_feed"])
def test_done_ends_decoding_exactly_there(lazy: bool) -> None:
    decoder = EventDecoder("sse", max_frame_bytes=200)

    def feed(data: bytes) -> list[DecodedEvent]:
        return list(decoder.iter_feed(data)) if lazy else decoder.feed(data)

    before = b"".join(
        b'id: %d\ndata: {"type":"TEXT_MESSAGE_END","messageId":"m"}\n\n' % n for n in (1, 2)
    )
    after = b'id: 3\ndata: {"type":"RUN_FINISHED"}\n\n' + b"data: " + b"x" * 300 + b"\n\n"
    assert [i for _, i in feed(before + b"data: [DONE]\n\n" + after)] == ["1", "2"]
    assert decoder.done
    assert decoder.last_event_id == "2"  # id 3 came after the end
    decoder.check()  # the oversized line after [DONE] is not part of the stream
    assert feed(b'data: {"type":"RUN_FINISHED"}\n\n') == []
    assert feed(b'data: {"type":"RUN_FIN') == []
    assert decoder.finish() == []  # a cut-off tail after [DONE] is no truncation


@pytest.mark.parametrize("sentinel", [b"[DONE]\n", b"  [DONE] \r\n"])
def test_done_ends_ndjson_decoding_in_the_middle_of_a_read(sentinel: bytes) -> None:
    line = b'{"type":"TEXT_MESSAGE_END","messageId":"m"}\n'
    decoder = EventDecoder("ndjson")
    assert len(decoder.feed(line * 10 + sentinel + line * 10 + b'{"type":')) == 10
    assert decoder.done
    assert decoder.feed(line) == []
    assert decoder.finish() == []


def test_lone_surrogate_escapes_decode_and_reencode_like_javascript() -> None:
    # JSON.stringify writes lone surrogates as escapes; orjson refuses them, JSON.parse
    # does not, so neither may we.
    body = b'data: {"type":"TEXT_MESSAGE_CONTENT","delta":"a\\ud800b"}\n\n'
    ((event, _),) = events(body)
    assert isinstance(event, TextMessageContentEvent) and event.delta == "a\ud800b"
    assert encode_sse(event) == body


def test_arrival_key_order_is_kept_for_reencoding() -> None:
    body = b'data: {"type":"TEXT_MESSAGE_CONTENT","delta":"d","timestamp":1,"messageId":"m"}\n\n'
    decoded = events(body + body)  # two events: the batch path
    assert [encode_sse(e) for e, _ in decoded] == [body, body]


def test_envelope_on_a_bare_line_is_unwrapped() -> None:
    decoded = events(b'{"id":"5","chunk":{"type":"RUN_STARTED","runId":"r"}}\n')
    assert [(type(e).__name__, i) for e, i in decoded] == [("RunStartedEvent", "5")]


def test_malformed_json_names_the_line_and_keeps_a_short_excerpt() -> None:
    decoder = EventDecoder("sse")
    body = b'data: {"type":"RUN_STARTED"}\n\n' + b"data: {broken " + b"w" * 10_000 + b"\n\n"
    assert len(decoder.feed(body)) == 1  # the event before the error comes first
    with pytest.raises(MalformedEventError, match=r"line 3\)") as info:
        decoder.feed(b'data: {"type":"RUN_FINISHED"}\n\n')
    assert "not valid JSON" in str(info.value)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"null", "not a JSON object"),
        (b'{"no":"type"}', "no 'type'"),
        (b'{"type":"TEXT_MESSAGE_CONTENT","delta":5}', "delta"),
    ],
)
def test_json_that_is_not_an_event_is_malformed(payload: bytes, problem: str) -> None:
    with pytest.raises(MalformedEventError, match=problem):
        events(b"data: " + payload + b"\n\n")


def test_events_with_id_lines_decode_with_their_ids_and_lines() -> None:
    body = b"".join(
        b'id: %d\ndata: {"type":"TEXT_MESSAGE_END","messageId":"m%d"}\n\n' % (n, n)
        for n in range(5)
    )
    decoder = EventDecoder("sse")
    assert [i for _, i in decoder.feed(body)] == ["0", "1", "2", "3", "4"]
    assert decoder.last_event_id == "4"
    decoded = decoder.feed(b'id: 5\ndata: {"type":"A"}\n\nid: 6\ndata: {"type":\n\n')
    assert [i for _, i in decoded] == ["5"]
    with pytest.raises(MalformedEventError, match=r"line 20\)"):
        decoder.check()


def test_finish_raises_an_error_in_the_tail_even_after_completing_an_event() -> None:
    decoder = EventDecoder("sse")
    assert decoder.feed(b'data: {"type":"A"}\ndata: null') == []
    with pytest.raises(MalformedEventError, match="not a JSON object"):
        decoder.finish()


def test_lenient_typed_decoding_skips_bad_events_and_reports_them() -> None:
    errors: list[ProtocolError] = []
    decoded = events(
        b'data: {"type":"A1"}\n\ndata: nope\n\ndata: {"type":"A2"}\n\n',
        lenient=True,
        on_error=errors.append,
    )
    assert [e.type for e, _ in decoded] == ["A1", "A2"]
    assert [(type(e), e.line) for e in errors] == [(MalformedEventError, 3)]


def test_unknown_types_and_pings_mixed_into_a_batch_keep_order() -> None:
    body = b"".join(
        b'data: {"type":"%s","n":%d}\n\n' % (t.encode(), n)
        for n, t in enumerate(["RUN_STARTED", "ping", "X", "TEXT_MESSAGE_END", "ping", "Y"])
    )
    decoded = events(body)
    assert [(type(e).__name__, event_to_dict(e)["n"]) for e, _ in decoded] == [
        ("RunStartedEvent", 0),
        ("UnknownEvent", 2),
        ("TextMessageEndEvent", 3),
        ("UnknownEvent", 5),
    ]
    assert all(not (isinstance(e, UnknownEvent) and e.type == "ping") for e, _ in decoded)


# --- encoding -------------------------------------------------------------------------------


def test_encode_sse_writes_exactly_one_data_line_and_a_blank_line() -> None:
    event = {"type": "TEXT_MESSAGE_CONTENT", "delta": 'a\nb\u2028c "q" 👋'}
    expected = (
        b'data: {"type":"TEXT_MESSAGE_CONTENT",'
        b'"delta":"a\\nb\xe2\x80\xa8c \\"q\\" \xf0\x9f\x91\x8b"}\n\n'
    )
    assert encode_sse(event) == expected
    assert encode_sse(event, id="7", event="delta").startswith(b"event: delta\nid: 7\ndata: {")


def test_encode_sse_refuses_fields_that_would_break_framing() -> None:
    with pytest.raises(ValueError, match="id"):
        encode_sse({"type": "A"}, id="1\n2")
    with pytest.raises(ValueError, match="NUL"):
        encode_sse({"type": "A"}, id="1\x002")
    with pytest.raises(ValueError, match="event"):
        encode_sse({"type": "A"}, event="a\rb")
    with pytest.raises(TypeError, match="list"):
        encode_sse([1, 2])  # type: ignore[arg-type]


def test_heartbeat_comments_are_ignored_by_readers() -> None:
    assert encode_sse_comment() == b":\n\n"
    assert encode_sse_comment("ping") == b": ping\n\n"
    body = encode_sse_comment("two\nlines") + encode_sse({"type": "A"}) + encode_sse_comment()
    assert data(body) == ['{"type":"A"}']


def test_every_fixture_reencodes_to_its_exact_bytes() -> None:
    assert SSE_FIXTURES, "fixtures missing"
    for path in SSE_FIXTURES:
        body = path.read_bytes()
        messages = decode(body)
        dicts = [json.loads(m.data) for m in messages]
        assert b"".join(encode_sse(d) for d in dicts) == body, path.name
        typed = [e for e, _ in events(*[body[i : i + 97] for i in range(0, len(body), 97)])]
        assert b"".join(encode_sse(e) for e in typed) == body, path.name
        assert [event_to_dict(e) for e in typed] == dicts


def test_fixture_payloads_decode_like_parse_event_json() -> None:
    for path in SSE_FIXTURES:
        for message in decode(path.read_bytes()):
            expected = parse_event_json(message.data)
            assert event_to_dict(expected) == json.loads(message.data)


# --- over a real socket ---------------------------------------------------------------------


def _reads(body: bytes, sizes: Iterable[int]) -> list[bytes]:
    out, i = [], 0
    for size in sizes:
        if i >= len(body):
            break
        out.append(body[i : i + size])
        i += size
    if i < len(body):
        out.append(body[i:])
    return out


async def test_fixture_streamed_in_odd_pieces_over_http_decodes_the_same() -> None:
    body = (FIXTURES / "tools.sse").read_bytes()
    pieces = _reads(body, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] * 10)

    async def stream(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        return StreamingResponse(gen(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/sse", stream, methods=["POST"])])
    with serve(app) as server:
        decoder = EventDecoder("sse")
        decoded = []
        async with (
            httpx.AsyncClient() as client,
            client.stream("POST", server.url + "/sse") as response,
        ):
            async for read in response.aiter_raw():
                decoded += decoder.feed(read)
        decoded += decoder.finish()
    expected = [json.loads(m.data) for m in decode(body)]
    assert [event_to_dict(e) for e, _ in decoded] == expected
    assert len(expected) == 18
