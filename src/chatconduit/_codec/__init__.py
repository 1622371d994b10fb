"""Bytes <-> events, both directions, both framings (SSE and NDJSON).

Pure code: no I/O and no asyncio, so every other layer can trust it and the property
tests can drive it with arbitrary splits. The incremental decoders turn reads into
frames, :class:`EventDecoder` turns frames into typed events, and the encoders write
the exact bytes the TanStack server helpers write; the wire's names (:data:`Framing`,
the :data:`DONE` sentinel, the :data:`PING` keep-alive and the heartbeats written with
it) are defined here once, for the transports and the server alike.
"""

from ._event_decoder import DecodedEvent, EventDecoder, decode_event_payload
from ._framing import (
    DEFAULT_MAX_FRAME_BYTES,
    DONE,
    DONE_TEXT,
    PING,
    ErrorHandler,
    Framing,
)
from ._ndjson import NDJSON_HEARTBEAT, NDJSONDecoder, NDJSONItem, encode_ndjson, unwrap_envelope
from ._sse import SSE_HEARTBEAT, SSEDecoder, encode_sse, encode_sse_comment
from ._sse_frames import SSEFrame, SSEMessage, SSERun

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DONE",
    "DONE_TEXT",
    "NDJSON_HEARTBEAT",
    "PING",
    "SSE_HEARTBEAT",
    "DecodedEvent",
    "ErrorHandler",
    "EventDecoder",
    "Framing",
    "NDJSONDecoder",
    "NDJSONItem",
    "SSEDecoder",
    "SSEFrame",
    "SSEMessage",
    "SSERun",
    "decode_event_payload",
    "encode_ndjson",
    "encode_sse",
    "encode_sse_comment",
    "unwrap_envelope",
]
