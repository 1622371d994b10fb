"""Property tests: any events, encoded and cut into any reads, decode to exactly themselves.

Also: decoding arbitrary bytes does not depend on how they are cut into reads (the fast
path and the general line loop must agree), and the batch validation in ``EventDecoder``
gives exactly what ``parse_event_json`` gives, one payload at a time.
"""

from __future__ import annotations

import json
import os
import re
from itertools import islice, pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatconduit import MalformedEventError, ProtocolError, _json
from chatconduit._codec import NDJSONDecoder, SSEDecoder
from chatconduit._events import parse_event_json_batch
from chatconduit.events import (
    DecodedEvent,
    EventDecoder,
    Framing,
    encode_ndjson,
    encode_sse,
    encode_sse_comment,
    event_to_dict,
    event_to_json,
    parse_event,
    parse_event_json,
)

# Slice boundaries are what these tests cross: see conftest.small_slices.
pytestmark = pytest.mark.usefixtures("small_slices")

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


_LINE_END = re.compile(rb"\r\n|\r|\n")


def assert_typed_decoding(
    framing: Framing, reads: list[bytes], events: list[dict[str, Any]], ids: bool
) -> None:
    """The typed decoder yields the original events, in their key order, with their ids."""
    typed = EventDecoder(framing)
    got = []
    fed = b""
    for read in reads:
        got += typed.feed(read)
        # Its count of lines (the reader's error line numbers): every line end so far,
        # CRLF as one; NDJSON's lines end at LF alone.
        fed += read
        ends = fed.count(b"\n") if framing == "ndjson" else len(_LINE_END.findall(fed))
        assert typed.lines_read == ends
    got += typed.finish()
    assert [event_to_dict(e) for e, _ in got] == expected_dicts(events)
    assert [list(event_to_dict(e)) for e, _ in got] == [list(e) for e in events]  # key order
    assert [i for _, i in got] == [str(n) if ids else None for n in range(len(events))]


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

    assert_typed_decoding("sse", reads, events, ids)


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

    assert_typed_decoding("ndjson", reads, events, ids)


@SETTINGS
@given(EVENTS)
def test_batch_validation_matches_one_at_a_time(events: list[dict[str, Any]]) -> None:
    payloads = [encode_ndjson(e)[:-1] for e in events]
    one_by_one = [parse_event_json(p) for p in payloads]
    try:
        batch = parse_event_json_batch(payloads)
    except ValueError:
        # Allowed only when something in the batch needs the slow path: an unknown type,
        # or the bytes NaN / Infinity (here inside strings), which the reference parser reads.
        assert any(type(e).__name__ == "UnknownEvent" for e in one_by_one) or any(
            b"NaN" in p or b"Infinity" in p for p in payloads
        )
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


# --- the JSON fast path against the reference parser -------------------------------------------
#
# parse_event_json validates bytes with pydantic's own parser (jiter) and falls back to
# _json.loads (JSON.parse semantics) + per-class validation for what it refuses. The two
# parsers differ on NaN/Infinity, integers beyond 64 bits and a few malformed inputs; the
# fast path must refuse exactly enough of them that the outcome never depends on which
# path ran. Payloads are built as bytes so that invalid UTF-8 and bad escapes occur.

_NUMBER_TEXT = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    # orjson's integer range ends here; beyond it JSON.parse and orjson make doubles
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**20, -(10**25)])
    .flatmap(lambda n: st.integers(n - 2, n + 2))
    .map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(
        lambda m, f, e: f"{m}.{f}e{e}",
        st.integers(-999, 999),
        st.integers(0, 10**20),
        st.integers(-400, 400),
    ),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-1e400",
            "1e-400",
            "-0",
            "-0.0",
            "1E2",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "01",
            "1.",
            ".5",
            "+1",
        ]
    ),
).map(str.encode)
_STRING_BYTES = st.one_of(
    TEXT.map(lambda t: json.dumps(t, ensure_ascii=False).encode("utf-8")),
    TEXT.map(lambda t: json.dumps(t).encode("ascii")),  # \uXXXX escapes, surrogate pairs
    st.sampled_from(
        [
            *(b'"\\ud800"', b'"a\\udc00\\ud800b"', b'"\\x"', b'"\\u12"'),  # surrogates, bad escapes
            *(b'"\xff"', b'"\xed\xa0\x80"', b'"\xc3"', b'"a\x01b"'),  # bad UTF-8, control char
            *(b'"NaN"', b'"Infinity"', b'"12345678901234567890123"'),  # fine inside strings
        ]
    ),
)
_KEYS = st.sampled_from(
    [
        *(b"messageId", b"delta", b"timestamp", b"model", b"content", b"rawEvent", b"usage"),
        *(b"name", b"value", b"input", b"toolCallId", b"index", b"metadata", b"promptTokens"),
        *(b"message_id", b"extra", b"type", b""),  # a snake_case key, an extra, a duplicate
    ]
).map(lambda k: b'"' + k + b'"')
_JSON_BYTES = st.recursive(
    _NUMBER_TEXT | _STRING_BYTES | st.sampled_from([b"true", b"false", b"null"]),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: b"[" + b",".join(items) + b"]")
        | st.lists(st.tuples(_KEYS, inner), max_size=3).map(
            lambda pairs: b"{" + b",".join(k + b":" + v for k, v in pairs) + b"}"
        )
    ),
    max_leaves=6,
)
_TYPES = st.sampled_from(
    ["TEXT_MESSAGE_CONTENT", "RUN_FINISHED", "CUSTOM", "TOOL_CALL_START", "RUN_ERROR", "VENDOR"]
).map(lambda t: json.dumps(t).encode())
_MEMBER = st.tuples(_KEYS, _JSON_BYTES) | st.tuples(
    st.sampled_from([b'"timestamp"', b'"index"', b'"value"', b'"extra"']), _NUMBER_TEXT
)  # a number where the schema has int | float, Any, or an extra
_PAYLOAD = st.builds(
    lambda t, members: b'{"type":' + t + b"".join(b"," + k + b":" + v for k, v in members) + b"}",
    _TYPES,
    st.lists(_MEMBER, max_size=5),
)


def _described(event: Any) -> tuple[str, str]:
    # repr tells 1 from 1.0, big ints from floats and NaN from inf (which JSON would not)
    return repr(event), event_to_json(event)


def _outcome(parse: Any, payload: bytes | str) -> tuple[str, str] | str:
    try:
        return _described(parse(payload))
    except ProtocolError:
        return "refused"


def _reference(payload: bytes) -> Any:
    try:
        obj = _json.loads(payload)
    except ValueError:
        raise MalformedEventError("not JSON") from None
    return parse_event(obj)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(SETTINGS, max_examples=int(os.environ.get("CODEC_EXAMPLES", "150")) * 4)
@given(_PAYLOAD)
def test_fast_path_parses_exactly_like_the_reference(payload: bytes) -> None:
    expected = _outcome(_reference, payload)
    assert _outcome(parse_event_json, payload) == expected
    if _is_utf8(payload):  # the same payload as text
        assert _outcome(parse_event_json, payload.decode("utf-8")) == expected
    try:
        batch = parse_event_json_batch([payload, payload])
    except ValueError:
        return  # anything unusual goes one by one, through parse_event_json
    assert [_described(e) for e in batch] == [expected, expected]


# --- reads bigger than one slice, lazy iteration, [DONE] -------------------------------------
#
# EventDecoder validates a read in slices (of 16 here: small_slices), falling back to one
# payload at a time for a slice holding anything unusual; iter_feed does it lazily.
# Whatever the reads, the result must be what one-payload-per-read decoding (which never
# batches) gives.

_ODDITY = st.sampled_from(
    [
        {"type": "ping"},
        {"type": "VENDOR_EVENT", "x": 1},
        {"id": "env-1", "chunk": {"type": "TEXT_MESSAGE_END", "messageId": "m"}},
        {"type": "TEXT_MESSAGE_CONTENT", "delta": "NaN and Infinity, in words"},
    ]
)
_STREAM = st.lists(EVENT | _ODDITY, max_size=150)


def _frames(events: list[dict[str, Any]], framing: str) -> list[bytes]:
    if framing == "sse":
        return [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]
    return [json.dumps(e).encode() + b"\n" for e in events]


def _decode_all(framing: str, reads: list[bytes], lazy: bool, **options: Any) -> Any:
    decoder = EventDecoder(framing, **options)  # type: ignore[arg-type]
    out: list[Any] = []
    try:
        for read in reads:
            out += decoder.iter_feed(read) if lazy else decoder.feed(read)
            decoder.check()
        out += decoder.finish()
    except ProtocolError as exc:
        return [(event_to_json(e), i) for e, i in out], f"{type(exc).__name__}:{exc.line}"
    return [(event_to_json(e), i) for e, i in out], decoder.done


@settings(SETTINGS, max_examples=max(20, SETTINGS.max_examples // 3))
@given(
    _STREAM,
    st.sampled_from(["sse", "ndjson"]),
    st.lists(st.integers(0, 10**6), max_size=6),
    st.none() | st.integers(0, 150),
    st.none() | st.integers(0, 150),
    st.booleans(),
)
def test_big_reads_decode_like_one_event_per_read(
    events: list[dict[str, Any]],
    framing: str,
    points: list[int],
    done_at: int | None,
    broken_at: int | None,
    lazy: bool,
) -> None:
    frames = _frames(events, framing)
    if broken_at is not None:  # strict mode stops at the first error, in stream order
        frames.insert(
            min(broken_at, len(frames)), b'data: {"type":\n\n' if framing == "sse" else b"{]\n"
        )
    if done_at is not None:  # and [DONE] ends the stream exactly where it is
        frames.insert(
            min(done_at, len(frames)), b"data: [DONE]\n\n" if framing == "sse" else b"[DONE]\n"
        )
    one_by_one = _decode_all(framing, frames, lazy=False)
    assert _decode_all(framing, cut(b"".join(frames), points), lazy=lazy) == one_by_one
    assert _decode_all(framing, [b"".join(frames)], lazy=lazy) == one_by_one
    # lenient decoding skips the broken payload and goes on, the same way
    errors: list[ProtocolError] = []
    lenient = _decode_all(framing, frames, lazy=False, lenient=True, on_error=errors.append)
    assert (
        _decode_all(framing, [b"".join(frames)], lazy, lenient=True, on_error=[].append) == lenient
    )


@SETTINGS
@given(_STREAM, st.lists(st.integers(0, 10**6), max_size=8), st.lists(st.integers(0, 60)))
def test_unfinished_lazy_iterators_lose_nothing(
    events: list[dict[str, Any]], points: list[int], takes: list[int]
) -> None:
    body = b"".join(_frames(events, "ndjson"))
    expected, _ = _decode_all("ndjson", [body], lazy=False)
    decoder = EventDecoder("ndjson")
    got: list[DecodedEvent] = []
    takes_left = iter(takes)
    for read in cut(body, points):
        iterator = decoder.iter_feed(read)
        # consume a few, then leave the rest: the next call must hand them out first
        got += islice(iterator, next(takes_left, 10**6))
    got += decoder.finish()
    assert [(event_to_json(e), i) for e, i in got] == expected
