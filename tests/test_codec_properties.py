"""Property tests: any events, encoded and cut into any reads, decode to exactly themselves.

Also: decoding arbitrary bytes does not depend on how they are cut into reads (the fast
path and the general line loop must agree), and the batch validation in ``_decode``
gives exactly what ``parse_event_json`` gives, one payload at a time.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatconduit._decode import EventDecoder, _parse_batch
from chatconduit._events import event_to_dict, parse_event, parse_event_json
from chatconduit._exceptions import ProtocolError
from chatconduit._ndjson import NDJSONDecoder, encode_ndjson
from chatconduit._sse import SSEDecoder, encode_sse, encode_sse_comment

# CODEC_EXAMPLES=5000 for a long soak; the default keeps the suite at a few seconds.
SETTINGS = settings(
    max_examples=int(os.environ.get("CODEC_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Any unicode but lone surrogates (which cannot be UTF-8), with the troublemakers made likely.
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=24) | st.sampled_from(
    [
        "\u2028",
        "\u2029",
        "\x85",
        "\r",
        "\n",
        "\r\n",
        "👩‍👩‍👧",
        "\ufeff",
        "data: x\n\n",
        "[DONE]",
        "",
    ]
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
TS = st.integers(0, 2**53)


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


EVENT = st.one_of(
    st.builds(
        lambda m, d, ts: _drop_none(
            type="TEXT_MESSAGE_CONTENT", messageId=m, timestamp=ts, delta=d
        ),
        TEXT,
        TEXT,
        st.none() | TS,
    ),
    st.builds(
        lambda i, d: {"type": "TOOL_CALL_ARGS", "toolCallId": i, "delta": d, "args": d},
        TEXT,
        TEXT,
    ),
    st.builds(
        lambda r, t, u: _drop_none(type="RUN_FINISHED", runId=r, threadId=t, usage=u),
        TEXT,
        TEXT,
        st.none()
        | st.fixed_dictionaries(
            {"promptTokens": st.integers(0, 10**6), "completionTokens": st.integers(0, 10**6)}
        ),
    ),
    st.builds(lambda n, v: {"type": "CUSTOM", "name": n, "value": v}, TEXT, JSON_VALUE),
    st.builds(lambda v: {"type": "VENDOR_EVENT", "payload": v}, JSON_VALUE),
)


def _reorder(event: dict[str, Any], reverse: bool) -> dict[str, Any]:
    """Producers may write keys in any order (``type`` first, as every producer does)."""
    if not reverse:
        return event
    rest = [k for k in event if k != "type"]
    return {"type": event["type"], **{k: event[k] for k in reversed(rest)}}


EVENTS = st.lists(st.builds(_reorder, EVENT, st.booleans()), min_size=0, max_size=12)


def cut(body: bytes, points: list[int]) -> list[bytes]:
    """``body`` cut at ``points`` (taken modulo its length): the reads a socket might give."""
    if not body:
        return []
    marks = sorted({0, len(body), *(p % (len(body) + 1) for p in points)})
    return [body[a:b] for a, b in pairwise(marks)]


CUTS = st.lists(st.integers(0, 10**6), max_size=40) | st.just(list(range(10**4)))  # 1-byte reads


def expected_dicts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event_to_dict(parse_event(e)) for e in events]


@SETTINGS
@given(EVENTS, CUTS, st.sampled_from([b"\n", b"\r\n", b"\r"]), st.booleans(), st.booleans())
def test_sse_round_trip(
    events: list[dict[str, Any]], points: list[int], eol: bytes, ids: bool, comments: bool
) -> None:
    frames = []
    for n, event in enumerate(events):
        if comments and n % 2:
            frames.append(encode_sse_comment("keep-alive"))
        frames.append(encode_sse(event, id=str(n) if ids else None))
    body = b"".join(frames).replace(b"\n", eol)  # JSON holds no raw CR/LF, so this is safe
    reads = cut(body, points)

    messages = SSEDecoder()
    decoded = []
    for read in reads:
        decoded += messages.feed(read)
    decoded += messages.finish()
    assert [json.loads(m.data) for m in decoded] == events
    assert [m.id for m in decoded] == [str(n) if ids else None for n in range(len(events))]

    typed = EventDecoder("sse")
    got = []
    for read in reads:
        got += typed.feed(read)
    got += typed.finish()
    assert [event_to_dict(e) for e, _ in got] == expected_dicts(events)
    assert [list(event_to_dict(e)) for e, _ in got] == [list(e) for e in events]  # key order
    assert [i for _, i in got] == [str(n) if ids else None for n in range(len(events))]


@SETTINGS
@given(EVENTS, CUTS, st.booleans(), st.booleans())
def test_ndjson_round_trip(
    events: list[dict[str, Any]], points: list[int], ids: bool, crlf: bool
) -> None:
    body = b"".join(encode_ndjson(e, id=str(n) if ids else None) for n, e in enumerate(events))
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    reads = cut(body, points)

    decoder = NDJSONDecoder()
    items = []
    for read in reads:
        items += decoder.feed(read)
    items += decoder.finish()
    assert [i.value for i in items] == events
    assert [i.id for i in items] == [str(n) if ids else None for n in range(len(events))]

    typed = EventDecoder("ndjson")
    got = []
    for read in reads:
        got += typed.feed(read)
    got += typed.finish()
    assert [event_to_dict(e) for e, _ in got] == expected_dicts(events)
    assert [list(event_to_dict(e)) for e, _ in got] == [list(e) for e in events]  # key order
    assert [i for _, i in got] == [str(n) if ids else None for n in range(len(events))]


@SETTINGS
@given(EVENTS)
def test_batch_validation_matches_one_at_a_time(events: list[dict[str, Any]]) -> None:
    payloads = [encode_ndjson(e)[:-1] for e in events]
    one_by_one = [parse_event_json(p) for p in payloads]
    try:
        batch = _parse_batch(payloads)
    except ValueError:
        # Allowed only when something in the batch needs the slow path (unknown types).
        assert any(type(e).__name__ == "UnknownEvent" for e in one_by_one)
        return
    assert [type(e) for e in batch] == [type(e) for e in one_by_one]
    assert batch == one_by_one
    assert [json.dumps(event_to_dict(e)) for e in batch] == [
        json.dumps(event_to_dict(e)) for e in one_by_one
    ]


# Arbitrary streams built from the pieces that matter to the parser.
TOKENS = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"data",
        b"id: ",
        b"id: 1",
        b"event: e",
        b"retry: 10",
        b":",
        b" ",
        b"\n",
        b"\n\n",
        b"\r",
        b"\r\n",
        b'{"type":"A"}',
        b'{"type":',
        b"[DONE]",
        b'id: 1\ndata: {"type":"B"}\n\n',
        b"\n\nid: 2\ndata: ",
        b'data: {"type":"C"}\n\n',
        b"\xc3\xa9",
        b"\xe2\x80\xa8",
        b"\xef\xbb\xbf",
        b"\x00",
        b"x",
    ]
)


def _run_sse(reads: list[bytes], **options: Any) -> tuple[list[Any], str | None]:
    decoder = SSEDecoder(**options)
    out: list[Any] = []
    try:
        for read in reads:
            out += decoder.feed(read)
        out += decoder.finish()
    except ProtocolError as exc:
        return out, f"{type(exc).__name__}:{exc.line}"
    return out, None


@SETTINGS
@given(st.lists(TOKENS, max_size=40), CUTS, st.sampled_from([4096, 24]))
def test_sse_decoding_does_not_depend_on_read_boundaries(
    tokens: list[bytes], points: list[int], limit: int
) -> None:
    body = b"".join(tokens)
    whole, whole_error = _run_sse([body], max_frame_bytes=limit)
    pieces, pieces_error = _run_sse(cut(body, points), max_frame_bytes=limit)
    # A strict-mode error stops the stream: events up to it agree, and so does the error.
    assert pieces_error == whole_error
    assert pieces == whole


@SETTINGS
@given(st.lists(TOKENS, max_size=40), CUTS)
def test_lenient_sse_never_raises_and_does_not_depend_on_read_boundaries(
    tokens: list[bytes], points: list[int]
) -> None:
    body = b"".join(tokens)
    whole_errors: list[ProtocolError] = []
    pieces_errors: list[ProtocolError] = []
    whole, _ = _run_sse([body], lenient=True, on_error=whole_errors.append, max_frame_bytes=24)
    pieces, _ = _run_sse(
        cut(body, points), lenient=True, on_error=pieces_errors.append, max_frame_bytes=24
    )
    assert pieces == whole
    assert [(type(e), e.line) for e in pieces_errors] == [(type(e), e.line) for e in whole_errors]


@SETTINGS
@given(st.lists(TOKENS, max_size=40), CUTS)
def test_ndjson_decoding_does_not_depend_on_read_boundaries(
    tokens: list[bytes], points: list[int]
) -> None:
    body = b"".join(tokens)

    def run(reads: list[bytes]) -> tuple[list[Any], str | None]:
        decoder = NDJSONDecoder(max_frame_bytes=32)
        out: list[Any] = []
        try:
            for read in reads:
                out += decoder.feed(read)
            out += decoder.finish()
        except ProtocolError as exc:
            return out, f"{type(exc).__name__}:{exc.line}"
        return out, None

    whole = run([body])
    pieces = run(cut(body, points))
    assert pieces[1] == whole[1]
    assert pieces[0] == whole[0]
