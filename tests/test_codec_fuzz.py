"""Fuzzing the decoders with hostile input: random bytes, random JSON, random read splits.

Whatever a peer sends, the only exceptions that may leave a decoder are the typed
protocol errors, and what a decoder holds stays bounded by its frame limit.
``CODEC_FUZZ_EXAMPLES=20000`` runs a long soak; the default fits CI.
"""

from __future__ import annotations

import contextlib
import os
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatconduit import ProtocolError, _json
from chatconduit.events import EventDecoder, Framing

FUZZ = settings(
    max_examples=int(os.environ.get("CODEC_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FRAMINGS: list[Framing] = ["sse", "ndjson"]
SMALL_LIMIT = 4096

# Bytes that steer the decoders into their corners more often than uniform noise would.
TOKENS = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"id: ",
        b"event: x",
        b"retry: 10",
        b": comment",
        b"\n",
        b"\r\n",
        b"\r",
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b"\\u",
        b"[DONE]",
        b'{"type":"ping"}',
        b'{"id":"1","chunk":',
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":',
        b'{"type":"RUN_FINISHED","threadId":"t","runId":"r"}',
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\x00",
    ]
)
NOISE = st.lists(TOKENS | st.binary(max_size=12), max_size=60).map(b"".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=15,
)
EVENT_LIKE = st.fixed_dictionaries(
    {"type": st.sampled_from(["TEXT_MESSAGE_CONTENT", "RUN_STARTED", "TOOL_CALL_ARGS", "X"])},
    optional={"delta": JSON_VALUES, "messageId": JSON_VALUES, "timestamp": JSON_VALUES},
)


def decode(framing: Framing, data: bytes, cuts: list[int], **options: Any) -> int:
    """Feed ``data`` in reads cut at ``cuts``; return how many events came out."""
    decoder = EventDecoder(framing, **options)
    count = 0
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        count += len(list(decoder.feed(data[start:cut])))
        start = cut
    count += len(list(decoder.finish()))
    return count


def only_typed_errors(framing: Framing, data: bytes, cuts: list[int], **options: Any) -> None:
    # Typed, with a message: what a caller can handle. Anything else fails the test.
    with contextlib.suppress(ProtocolError):
        decode(framing, data, cuts, **options)


@pytest.mark.parametrize("framing", FRAMINGS)
@FUZZ
@given(data=NOISE, cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_random_bytes_raise_only_typed_errors(
    framing: Framing, data: bytes, cuts: list[int]
) -> None:
    only_typed_errors(framing, data, cuts)
    only_typed_errors(framing, data, cuts, max_frame_bytes=64)


@pytest.mark.parametrize("framing", FRAMINGS)
@FUZZ
@given(
    values=st.lists(JSON_VALUES | EVENT_LIKE, max_size=8),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_random_json_raises_only_typed_errors(
    framing: Framing, values: list[Any], cuts: list[int]
) -> None:
    lines = [_json.dumps_bytes(value) for value in values]
    data = b"".join(
        (b"data: " + line + b"\n\n") if framing == "sse" else line + b"\n" for line in lines
    )
    only_typed_errors(framing, data, cuts)


@pytest.mark.parametrize("framing", FRAMINGS)
@FUZZ
@given(data=NOISE, cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_lenient_decoding_never_raises(framing: Framing, data: bytes, cuts: list[int]) -> None:
    errors: list[ProtocolError] = []
    decode(framing, data, cuts, lenient=True, on_error=errors.append)
    assert all(isinstance(error, ProtocolError) for error in errors)


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize(
    "chunk",
    [b"x" * 1024, b"data: " + b"y" * 1018, b"{" * 1024, b":" + b"c" * 1023],
    ids=["no-newline", "endless-data", "open-json", "comment"],
)
def test_memory_stays_bounded_by_the_frame_limit(framing: Framing, chunk: bytes) -> None:
    """8 MiB of input that never completes a frame, against a 4 KiB limit."""
    decoder = EventDecoder(
        framing, max_frame_bytes=SMALL_LIMIT, lenient=True, on_error=lambda e: None
    )
    tracemalloc.start()
    try:
        for _ in range(8 * 1024):
            list(decoder.feed(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"peak {peak} bytes for an 8 MiB stream and a 4 KiB limit"
