"""JSON as JavaScript writes it, id generation, secret redaction and the error tree."""

from __future__ import annotations

import collections
import json
import re

import httpx
import pytest

import chatconduit.server
from chatconduit import (
    ChatConduitError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StreamTruncatedError,
    TransportError,
    _ids,
    _json,
)
from chatconduit._ids import generate_id, random_base36, to_base36
from chatconduit._redact import redact_headers, redact_url
from chatconduit.events import EventDecoder, Framing
from chatconduit.server import redact_text


def test_dumps_is_compact_raw_utf8_like_json_stringify() -> None:
    value = {
        "a": "wörld 👩‍👩‍👧 日本語",
        "b": [1, 0.2, None, True],
        "c": {"d": "\u2028\u2029\u0085"},
    }
    text = _json.dumps(value)
    assert (
        text == '{"a":"wörld 👩‍👩‍👧 日本語","b":[1,0.2,null,true],"c":{"d":"\u2028\u2029\u0085"}}'
    )
    assert _json.dumps_bytes(value) == text.encode("utf-8")
    assert _json.loads(text) == value


def test_lone_surrogates_are_escaped_like_javascript() -> None:
    # JSON.stringify("\ud800x") === '"\\ud800x"'; Python would emit the raw surrogate.
    text = _json.dumps({"s": "\ud800x\udfff"})
    assert text == '{"s":"\\ud800x\\udfff"}'
    text.encode("utf-8")  # must be encodable
    assert json.loads(text) == {"s": "\ud800x\udfff"}


def test_dumps_never_writes_invalid_json_for_nan() -> None:
    # JSON.stringify writes NaN as null; the stdlib fallback refuses instead of writing `NaN`.
    try:
        text = _json.dumps({"x": float("nan")})
    except ValueError:
        return
    assert text == '{"x":null}'


def test_generated_ids_have_the_reference_shape_and_are_unique() -> None:
    ids = {generate_id("msg") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"msg-\d{13}-[0-9a-z]{7}", i) for i in ids)
    assert to_base36(0) == "0"
    assert to_base36(35) == "z"
    assert to_base36(36) == "10"


def test_random_base36_characters_are_uniform() -> None:
    drawn = "".join(random_base36(7) for _ in range(20_000))
    counts = collections.Counter(drawn)
    assert set(counts) == set("0123456789abcdefghijklmnopqrstuvwxyz")
    expected = len(drawn) / 36
    chi_square = sum((n - expected) ** 2 / expected for n in counts.values())
    # 35 degrees of freedom: a fair draw goes above 80 less than once in 10**4 runs;
    # bytes mapped mod 36 without dropping 252..255 give ~350 here.
    assert chi_square < 80


def test_random_base36_draws_again_when_too_many_bytes_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = [bytes([255] * 14 + [1]), bytes([0, 1, 2, 35, 36, 251, 252] + [7] * 8)]
    monkeypatch.setattr(_ids.os, "urandom", lambda n: draws.pop(0)[:n])
    # 0 1 2 35 36 251 -> 0 1 2 z 0 z; 252 is dropped; 7 -> 7
    assert random_base36(7) == "012z0z7"
    assert not draws


def test_redact_headers_masks_credentials_case_insensitively() -> None:
    headers = {
        "Authorization": "Bearer sk-secret",
        "cookie": "session=abc",
        "X-Api-Key": "k-123",
        "X-Custom-Token": "t",
        "Content-Type": "application/json",
    }
    redacted = redact_headers(headers)
    assert redacted["Content-Type"] == "application/json"
    for name in ("Authorization", "cookie", "X-Api-Key", "X-Custom-Token"):
        assert redacted[name] == "[redacted]"
    assert "sk-secret" not in repr(redacted)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@api.example.com/v1/chat", "https://api.example.com/v1/chat"),
        ("https://user@api.example.com/v1", "https://api.example.com/v1"),
        ("http://h/x?api_key=s3cr3t&q=1", "http://h/x?api_key=%5Bredacted%5D&q=1"),
        ("http://h/x?key=s3cr3t", "http://h/x?key=%5Bredacted%5D"),
        ("http://h/x?access_token=s3cr3t", "http://h/x?access_token=%5Bredacted%5D"),
        ("http://h/x?sig=s3cr3t&se=2030", "http://h/x?sig=%5Bredacted%5D&se=2030"),
        ("http://h/x?X-Amz-Signature=s3cr3t", "http://h/x?X-Amz-Signature=%5Bredacted%5D"),
        ("http://h/x?X-Amz-Credential=s3cr3t", "http://h/x?X-Amz-Credential=%5Bredacted%5D"),
        ("http://h/x?client_secret=s3cr3t", "http://h/x?client_secret=%5Bredacted%5D"),
        ("http://h/x?password=s3cr3t", "http://h/x?password=%5Bredacted%5D"),
        ("http://h/x?passwd=s3cr3t", "http://h/x?passwd=%5Bredacted%5D"),
        ("http://h/x?auth=s3cr3t", "http://h/x?auth=%5Bredacted%5D"),
        # the name as sent may be percent-encoded; the value of a repeat is masked too
        ("http://h/x?api%5Fkey=s3cr3t", "http://h/x?api%5Fkey=%5Bredacted%5D"),
        ("http://h/x?Token=a&token=b", "http://h/x?Token=%5Bredacted%5D&token=%5Bredacted%5D"),
        # nothing secret: the URL is shown exactly as it was given, encoding included
        ("http://h/x?q=a%20b&n=%2F", "http://h/x?q=a%20b&n=%2F"),
        ("http://h/x?q=a%20b&token=s3cr3t", "http://h/x?q=a%20b&token=%5Bredacted%5D"),
        ("http://h:8000/api/chat/sse", "http://h:8000/api/chat/sse"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(httpx.URL(url)) == expected  # what the CLI's request hook holds


def test_redact_url_refuses_to_echo_what_is_not_a_url() -> None:
    assert redact_url("http://[::1") == "<invalid url>"


SECRET = "sk-live-4f9a8b7c6d5e"


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {SECRET}",
        f"calling https://api.example.com/v1?api_key={SECRET}&x=1",
        f'{{"apiKey": "{SECRET}"}}',
        f"key {SECRET} rejected",
        "password=hunter2hunter2",
        "token abcdefghijklmnop",
    ],
)
def test_redact_text_masks_credentials(text: str) -> None:
    redacted = redact_text(text)
    assert "[redacted]" in redacted
    assert SECRET not in redacted and "hunter2hunter2" not in redacted
    assert "abcdefghijklmnop" not in redacted


def test_redact_text_leaves_ordinary_text_alone() -> None:
    text = "division by zero in step 3 (tokens used: 12)"
    assert redact_text(text) == text


def test_the_server_exports_the_shared_text_redaction() -> None:
    # One set of rules: the server's public name is the shared function, not a copy.
    assert chatconduit.server.redact_text is redact_text


def test_http_status_error_is_one_readable_line() -> None:
    err = HTTPStatusError(
        429,
        "Too Many Requests",
        url="http://127.0.0.1:1/api",
        headers={"retry-after": "3"},
        body='{"error":\n  "slow down"}',
    )
    text = str(err)
    assert "\n" not in text
    assert text.startswith("HTTP error! status: 429 Too Many Requests")
    assert '"slow down"' in text
    assert err.retry_after == "3"
    assert isinstance(err, ChatConduitError)


def test_protocol_errors_name_the_line_and_an_excerpt() -> None:
    err = MalformedEventError("invalid JSON", line=7, excerpt='{"type": oops')
    assert "line 7" in str(err)
    assert "oops" in str(err)
    assert isinstance(err, ProtocolError)
    assert isinstance(StreamTruncatedError("ended mid-event"), ChatConduitError)
    assert not issubclass(ProtocolError, TransportError)


def test_json_nested_past_the_recursion_limit_is_a_value_error() -> None:
    # A peer controls the nesting depth; the codecs only expect ValueError from loads.
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="nested too deeply"):
        _json.loads(deep)


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
def test_decoders_report_deep_nesting_as_a_malformed_event(framing: Framing) -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    data = (b"data: " + payload + b"\n\n") if framing == "sse" else payload + b"\n"
    with pytest.raises(MalformedEventError, match="line 1"):
        list(EventDecoder(framing).feed(data))
