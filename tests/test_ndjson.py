"""NDJSON decoding (lines, envelopes, limits, errors), typed decoding, encoding, fixtures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from chatconduit import FrameTooLargeError, MalformedEventError, ProtocolError, StreamTruncatedError
from chatconduit._codec import NDJSONDecoder, NDJSONItem, unwrap_envelope
from chatconduit.events import (
    DecodedEvent,
    EventDecoder,
    RunStartedEvent,
    decode_event_payload,
    encode_ndjson,
    event_to_dict,
)
from servers import serve

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10" / "responses"
ND_FIXTURES = sorted(p for p in FIXTURES.glob("*.ndjson") if p.name != "http500.ndjson")


def items(*reads: bytes, **options: Any) -> list[NDJSONItem]:
    decoder = NDJSONDecoder(**options)
    out: list[NDJSONItem] = []
    for read in reads:
        out += decoder.feed(read)
    return out + decoder.finish()


def events(*reads: bytes, **options: Any) -> list[DecodedEvent]:
    decoder = EventDecoder("ndjson", **options)
    out: list[DecodedEvent] = []
    for read in reads:
        out += decoder.feed(read)
    return out + decoder.finish()


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


# --- lines ----------------------------------------------------------------------------------


def test_lines_crlf_blank_lines_and_split_reads() -> None:
    body = '{"a":1}\r\n\n  \r\n{"b":"wörld 👋"}\n'.encode()
    expected = [({"a": 1}, 1), ({"b": "wörld 👋"}, 4)]
    assert [(i.value, i.line) for i in items(body)] == expected
    assert [(i.value, i.line) for i in items(*bytewise(body))] == expected


def test_only_lf_ends_a_line() -> None:
    line = json.dumps({"t": "a\u2028b\u2029c\x85d\re"}, ensure_ascii=False).encode()
    assert [i.value for i in items(line + b"\n")] == [{"t": "a\u2028b\u2029c\x85d\re"}]


def test_bom_is_stripped_once() -> None:
    assert [i.value for i in items(*bytewise(b'\xef\xbb\xbf{"a":1}\n'))] == [{"a": 1}]


def test_envelopes_are_unwrapped_and_expose_their_id() -> None:
    body = (
        b'{"id":"0","chunk":{"type":"RUN_STARTED"}}\n'
        b'{"type":"X","id":"1","chunk":{}}\n'  # has a type: an event, not an envelope
        b'{"id":2,"chunk":{"type":"A"}}\n'  # id not a string: not an envelope
    )
    assert [(i.value, i.id) for i in items(body)] == [
        ({"type": "RUN_STARTED"}, "0"),
        ({"type": "X", "id": "1", "chunk": {}}, None),
        ({"id": 2, "chunk": {"type": "A"}}, None),
    ]
    assert unwrap_envelope({"id": "a", "chunk": []}) == ({"id": "a", "chunk": []}, None)


def test_done_line_is_flagged() -> None:
    assert [(i.done, i.value) for i in items(b'{"a":1}\n[DONE]\r\n')] == [
        (False, {"a": 1}),
        (True, None),
    ]


def test_unterminated_last_line_is_delivered_when_complete() -> None:
    assert [i.value for i in items(b'{"a":1}\n{"b":2}')] == [{"a": 1}, {"b": 2}]
    assert [i.value for i in items(b'{"a":1}\n   ')] == [{"a": 1}]


def test_unterminated_last_line_cut_short_is_truncation() -> None:
    with pytest.raises(StreamTruncatedError, match=r"line 2\)"):
        items(b'{"a":1}\n{"b":')


def test_malformed_line_names_its_number_and_stops_in_order() -> None:
    decoder = NDJSONDecoder()
    assert [i.value for i in decoder.feed(b'{"a":1}\nnot json at all\n{"b":2}\n')] == [{"a": 1}]
    with pytest.raises(MalformedEventError, match=r"line 2\): 'not json at all'"):
        decoder.feed(b'{"c":3}\n')


def test_malformed_line_alone_raises_at_once() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'{"a":1}\n')
    with pytest.raises(MalformedEventError, match=r"line 2\)"):
        decoder.feed(b"{oops}\n")


def test_lenient_mode_reports_and_skips() -> None:
    errors: list[ProtocolError] = []
    got = items(b'{"a":1}\nbad\n{"b":2}\n', lenient=True, on_error=errors.append)
    assert [i.value for i in got] == [{"a": 1}, {"b": 2}]
    assert [(type(e), e.line) for e in errors] == [(MalformedEventError, 2)]


def test_line_over_the_limit_raises_without_buffering_it() -> None:
    decoder = NDJSONDecoder(max_frame_bytes=32)
    decoder.feed(b'{"a":1}\n')
    with pytest.raises(FrameTooLargeError, match=r"line 2\)"):
        for _ in range(100):
            decoder.feed(b"0123456789")
    with pytest.raises(FrameTooLargeError):
        decoder.finish()


def test_lenient_oversized_lines_are_skipped_in_both_shapes() -> None:
    errors: list[ProtocolError] = []
    decoder = NDJSONDecoder(max_frame_bytes=32, lenient=True, on_error=errors.append)
    got = decoder.feed(b'{"a":1}\n{"big":"' + b"x" * 100 + b'"}\n{"b":2}\n')
    got += decoder.feed(b'{"huge":"' + b"y" * 20)
    got += decoder.feed(b"y" * 20)
    got += decoder.feed(b'"}\n{"c":3}\n')
    assert [i.value for i in got] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert [(type(e), e.line) for e in errors] == [(FrameTooLargeError, 2), (FrameTooLargeError, 4)]


def test_line_numbers_stay_right_after_skipped_oversized_lines() -> None:
    errors: list[ProtocolError] = []
    body = b'{"a":1}\n' + b"x" * 40 + b"\n" + b"y" * 40 + b"\n{bad\n"
    items(body, max_frame_bytes=32, lenient=True, on_error=errors.append)
    assert [(type(e), e.line) for e in errors] == [
        (FrameTooLargeError, 2),
        (FrameTooLargeError, 3),
        (MalformedEventError, 4),
    ]


def test_a_whole_line_in_one_read_respects_the_limit_and_skipping() -> None:
    with pytest.raises(FrameTooLargeError, match=r"line 2\)"):
        items(b'{"a":1}\n', b'{"a":"' + b"x" * 20 + b'"}\n', max_frame_bytes=16)
    errors: list[ProtocolError] = []
    decoder = NDJSONDecoder(max_frame_bytes=16, lenient=True, on_error=errors.append)
    got = decoder.feed(b'{"a":"' + b"x" * 20)
    got += decoder.feed(b'yy"}\n')  # the end of the oversized line: skipped with it
    got += decoder.feed(b'{"b":1}\n')
    assert [i.value for i in got] == [{"b": 1}]
    assert [e.line for e in errors] == [1]


# --- typed decoding -------------------------------------------------------------------------


def test_typed_events_envelopes_pings_and_done() -> None:
    decoder = EventDecoder("ndjson")
    decoded = decoder.feed(
        b'{"type":"ping"}\n'
        b'{"id":"7","chunk":{"type":"RUN_STARTED","runId":"r"}}\n'
        b'{"id":"8","chunk":{"type":"ping"}}\n'
        b"\n"
        b'{"type":"TEXT_MESSAGE_END","messageId":"m"}\n'
        b"[DONE]\n"
    )
    assert [(type(e).__name__, i) for e, i in decoded] == [
        ("RunStartedEvent", "7"),
        ("TextMessageEndEvent", None),
    ]
    assert decoder.done
    assert decoder.last_event_id is None


def test_typed_malformed_line_number_counts_blank_lines() -> None:
    with pytest.raises(MalformedEventError, match=r"NDJSON line: .*line 4\)"):
        events(b'{"type":"A"}\n\n\n{"type":5}\n')


def test_typed_truncation_at_end() -> None:
    with pytest.raises(StreamTruncatedError):
        events(b'{"type":"A"}\n{"type":"B"')
    assert [e.type for e, _ in events(b'{"type":"A"}\n{"type":"B"}')] == ["A", "B"]


def test_decode_event_payload_for_single_frames() -> None:
    decoded = decode_event_payload('{"id":"3","chunk":{"type":"RUN_STARTED","runId":"r"}}')
    assert decoded is not None and isinstance(decoded[0], RunStartedEvent) and decoded[1] == "3"
    assert decode_event_payload(b'{"type":"ping"}') is None
    assert decode_event_payload(b" [DONE] ") is None
    with pytest.raises(MalformedEventError, match="not valid JSON"):
        decode_event_payload(b"{" + b"x" * 5000)


def test_framing_must_be_known() -> None:
    with pytest.raises(ValueError, match="framing"):
        EventDecoder("xml")  # type: ignore[arg-type]


# --- encoding and fixtures ------------------------------------------------------------------


def test_encode_ndjson_bare_and_enveloped() -> None:
    event = {"type": "TEXT_MESSAGE_CONTENT", "delta": "x\ny"}
    assert encode_ndjson(event) == b'{"type":"TEXT_MESSAGE_CONTENT","delta":"x\\ny"}\n'
    assert encode_ndjson(event, id="12") == (
        b'{"id":"12","chunk":{"type":"TEXT_MESSAGE_CONTENT","delta":"x\\ny"}}\n'
    )
    assert [(i.value, i.id) for i in items(encode_ndjson(event, id="12"))] == [(event, "12")]
    with pytest.raises(TypeError, match="str"):
        encode_ndjson(event, id=12)  # type: ignore[arg-type]


def test_every_fixture_reencodes_to_its_exact_bytes() -> None:
    assert ND_FIXTURES, "fixtures missing"
    for path in ND_FIXTURES:
        body = path.read_bytes()
        values = [i.value for i in items(body)]
        assert b"".join(encode_ndjson(v) for v in values) == body, path.name
        typed = [e for e, _ in events(*[body[i : i + 61] for i in range(0, len(body), 61)])]
        assert b"".join(encode_ndjson(e) for e in typed) == body, path.name
        assert [event_to_dict(e) for e in typed] == values


async def test_fixture_streamed_over_http_decodes_the_same() -> None:
    body = (FIXTURES / "reasoning.ndjson").read_bytes()
    pieces = [body[i : i + 17] for i in range(0, len(body), 17)]

    async def stream(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        return StreamingResponse(gen())

    app = Starlette(routes=[Route("/nd", stream, methods=["POST"])])
    with serve(app) as server:
        decoder = EventDecoder("ndjson")
        decoded: list[DecodedEvent] = []
        async with (
            httpx.AsyncClient() as client,
            client.stream("POST", server.url + "/nd") as response,
        ):
            async for read in response.aiter_raw():
                decoded += decoder.feed(read)
        decoded += decoder.finish()
    assert [event_to_dict(e) for e, _ in decoded] == [i.value for i in items(body)]
    assert len(decoded) == 17
