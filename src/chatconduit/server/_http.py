"""What every HTTP integration shares, whatever the framework: headers and request limits.

Nothing here imports Starlette, so a route written for another ASGI framework can
frame its response with :data:`SSE_HEADERS` / :data:`NDJSON_HEADERS` around
:func:`~chatconduit.server.server_sent_events_stream` or
:func:`~chatconduit.server.http_stream`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PENDING_BODIES",
    "NDJSON_HEADERS",
    "SSE_HEADERS",
    "is_json_content_type",
    "merge_headers",
]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""4 MiB: a long conversation with a few inline images; raise it for bigger media."""

DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client has to deliver the whole body once its headers arrived: 4 MiB
needs about 1.1 Mbit/s. Without a deadline a client that declares a body and sends
it one byte at a time (or never) holds a handler and a socket forever."""

DEFAULT_MAX_PENDING_BODIES = 256
"""Requests of one endpoint that may be receiving their body at the same time; more
are refused at once with 503. A normal body arrives with its headers, so this only
fills up with slow (or hostile) uploads, and it caps the sockets they can hold."""

SSE_HEADERS: Mapping[str, str] = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    # nginx buffers proxied responses unless told otherwise, which stalls a stream.
    "x-accel-buffering": "no",
}
NDJSON_HEADERS: Mapping[str, str] = {
    "content-type": "application/x-ndjson",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def is_json_content_type(value: str | None) -> bool:
    """Whether a ``Content-Type`` value declares JSON: ``application/json`` or
    ``application/<anything>+json``, in any case, with any parameters.

    A cross-site page can only send ``text/plain``, form encodings, or no type at
    all without a CORS preflight; requiring a JSON type keeps such a request (which
    would carry the victim's cookies) from starting an agent.
    """
    if not value:
        return False
    media_type = value.split(";", 1)[0].strip().lower()
    kind, slash, subtype = media_type.partition("/")
    if kind != "application" or not slash or not subtype or "/" in subtype:
        return False
    return subtype == "json" or (subtype.endswith("+json") and len(subtype) > len("+json"))


def merge_headers(defaults: Mapping[str, str], headers: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` with each of ``headers`` set on top, names compared case-insensitively
    (the way ``Headers.set`` works in the reference)."""
    merged = {name.lower(): value for name, value in defaults.items()}
    for name, value in (headers or {}).items():
        merged[name.lower()] = value
    return merged
