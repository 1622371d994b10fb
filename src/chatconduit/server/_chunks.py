"""Frames and body chunks: one event's bytes, and what a streaming response writes per batch.

:func:`encode_frame` writes one event in a framing (SSE ``data:`` or an NDJSON line),
:func:`frame_payload` frames JSON encoded before (as a replay log stores it), and
:func:`heartbeat_frame` is the keep-alive of each framing. :func:`~._streams.guarded_batches`
hands over the frames an agent produced together; each batch becomes one body chunk
here (one ``send`` for the server, one write to the socket) instead of one per event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from .. import _json
from .._codec import NDJSON_HEARTBEAT, SSE_HEARTBEAT, Framing, encode_ndjson, encode_sse
from ._heartbeat import aclose_quietly

__all__ = [
    "MAX_CHUNK_BYTES",
    "encode_frame",
    "frame_encoder",
    "frame_payload",
    "heartbeat_frame",
    "joined_chunks",
]

# A body chunk holds one batch's frames up to about this many bytes (a frame is never
# split): one write per batch of a busy stream, never megabytes of tool output at once.
MAX_CHUNK_BYTES = 64 * 1024


def encode_frame(framing: Framing, event: dict[str, Any], event_id: str | None = None) -> bytes:
    """One event in the chosen framing (``data: <json>\\n\\n`` or ``<json>\\n``)."""
    if framing == "sse":
        return encode_sse(event, id=event_id)
    return encode_ndjson(event, id=event_id)


# What a frame without an id puts around the event's compact JSON, per framing.
_SSE_AROUND = (b"data: ", b"\n\n")
_NDJSON_AROUND = (b"", b"\n")


_Encoder = Callable[[dict[str, Any], int], bytes]
# The encoders made so far, by framing, ids and the JSON encoder they call (tests take
# orjson away): they hold no state, so every stream shares one rather than keeping a
# closure of its own (six objects per open connection for the garbage collector).
_ENCODERS: dict[tuple[Framing, bool, object], _Encoder] = {}


def frame_encoder(framing: Framing, event_ids: bool) -> _Encoder:
    """A stream's ``transform``: the bytes of :func:`encode_frame` for each event, with the
    ids ``"0"``, ``"1"``, ... when ``event_ids``. Chosen once per stream, and the event's
    JSON framed as :func:`frame_payload` frames it: the server's events are dicts, whose
    compact JSON never holds a raw CR/LF, so the codec's checks for them (and its
    dispatch on the event's type) would only cost time on every frame."""
    key = (framing, event_ids, _json.orjson_dumps)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        encoder = _ENCODERS[key] = _new_encoder(framing, event_ids)
    return encoder


def _new_encoder(framing: Framing, event_ids: bool) -> _Encoder:
    dumps = _json.dumps_bytes
    if event_ids:

        def numbered(event: dict[str, Any], index: int) -> bytes:
            return frame_payload(framing, dumps(event), str(index))

        return numbered

    head, tail = _SSE_AROUND if framing == "sse" else _NDJSON_AROUND
    fast = _json.orjson_dumps
    if fast is None:

        def plain(event: dict[str, Any], index: int) -> bytes:
            return head + dumps(event) + tail

        return plain

    def quick(event: dict[str, Any], index: int) -> bytes:
        # dumps_bytes inlined: this runs once per event, and the two calls it saves
        # (dumps_bytes, frame_payload) cost ~0.13 us each time. orjson, and the stdlib
        # for what it refuses.
        try:
            return head + fast(event) + tail
        except TypeError:
            return head + dumps(event) + tail

    return quick


def frame_payload(framing: Framing, payload: bytes, event_id: str | None = None) -> bytes:
    """Frame an already-encoded compact JSON ``payload`` (as a replay log stores it).

    Same bytes as :func:`encode_frame` for the same event: compact JSON has no raw
    CR/LF, so no line splitting is needed.
    """
    if event_id is None:
        head, tail = _SSE_AROUND if framing == "sse" else _NDJSON_AROUND
        return head + payload + tail
    if framing == "sse":
        return b"id: " + _one_line_id(event_id) + b"\ndata: " + payload + b"\n\n"
    return b'{"id":' + _json.dumps_bytes(event_id) + b',"chunk":' + payload + b"}\n"


def _one_line_id(event_id: str) -> bytes:
    if "\n" in event_id or "\r" in event_id or "\x00" in event_id:
        raise ValueError(f"event id must be one line without NUL, got {event_id[:40]!r}")
    return event_id.encode("utf-8")


def heartbeat_frame(framing: Framing) -> bytes:
    """An SSE comment (``: ping``), or the ``{"type":"ping"}`` line for NDJSON."""
    return SSE_HEARTBEAT if framing == "sse" else NDJSON_HEARTBEAT


async def joined_chunks(batches: AsyncIterator[list[bytes]]) -> AsyncIterator[bytes]:
    """Each batch of frames as one body chunk (or a few, past ``MAX_CHUNK_BYTES``)."""
    try:
        async for batch in batches:
            if sum(map(len, batch)) < MAX_CHUNK_BYTES:  # the usual batch: no walk in Python
                yield b"".join(batch)
                continue
            size = start = 0
            for index, frame in enumerate(batch):
                size += len(frame)
                if size >= MAX_CHUNK_BYTES:
                    yield b"".join(batch[start : index + 1])
                    start, size = index + 1, 0
            if start < len(batch):
                yield b"".join(batch[start:])
    finally:
        await aclose_quietly(batches)
