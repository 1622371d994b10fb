"""Server-Sent Events encoders: one event (``encode_sse``) and a comment (``encode_sse_comment``).

They write exactly what TanStack 0.10 writes; :mod:`chatconduit._codec._sse` re-exports both
next to the decoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._events import BaseEvent
from ._framing import encode_payload

__all__ = ["encode_sse", "encode_sse_comment"]


def _field_value(name: str, value: str) -> bytes:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {name} must be one line, got {value[:40]!r}")
    if name == "id" and "\x00" in value:
        raise ValueError("SSE id must not contain NUL (readers ignore such ids)")
    return value.encode("utf-8")


def encode_sse(
    event_or_dict: BaseEvent | Mapping[str, Any],
    /,
    *,
    id: str | None = None,
    event: str | None = None,
) -> bytes:
    """One SSE frame: ``data: <compact JSON>\\n\\n``, exactly as TanStack 0.10 writes it.

    ``event:`` and ``id:`` lines (in that order, before ``data:``) are written only when
    asked for.
    Compact JSON never holds a raw CR or LF, but if a payload did, each of its lines is
    written as its own ``data:`` line so a reader joins them back (WHATWG).
    """
    payload = encode_payload(event_or_dict)
    head = b""
    if event is not None:
        head += b"event: " + _field_value("event", event) + b"\n"
    if id is not None:
        head += b"id: " + _field_value("id", id) + b"\n"
    if b"\n" in payload or b"\r" in payload:
        lines = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        return head + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    return head + b"data: " + payload + b"\n\n"


def encode_sse_comment(text: str = "") -> bytes:
    """An SSE comment (a heartbeat): ``:\\n\\n``, or ``: text\\n\\n``; readers ignore it."""
    if not text:
        return b":\n\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return b"".join(b": " + line.encode("utf-8") + b"\n" for line in lines) + b"\n"
