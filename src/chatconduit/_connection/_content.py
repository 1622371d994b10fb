"""Is this response an event stream? One place decides, so that it can learn new protocols.

A server that is down, misrouted or behind a login page often answers ``200`` with
an HTML page; a handler that returns nothing answers ``204`` or an empty ``200``.
Read as an event stream, each of those ends quietly with no event, and the chat
shows an empty reply as if it had succeeded. :func:`diagnose` tells them apart.

It is called with what is known so far:

1. at the response head (``events=None``): refuses only what the head alone
   proves - no content (``204``/``205``), an HTML page, another streaming
   protocol announced by its header;
2. when the body turned out not to be events (``events=0`` at its end, or a
   protocol error before the first event), with the body's first bytes: says
   what it was instead.

A missing ``Content-Type`` is accepted (TanStack's own helpers and many test
servers omit it) and so is any other type whose body parses as events: the
decision then rests on the body. A later "bridges" feature recognises other
protocols here (its table is :data:`_PROTOCOL_HEADERS`, the content-type hints
are :data:`_NOT_EVENT_STREAMS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from .._exceptions import UnexpectedResponseError
from .._redact import Scrubber

__all__ = ["BODY_START_BYTES", "ResponseHead", "diagnose", "unexpected_response"]

BODY_START_BYTES = 256  # how much of a body that is not events is quoted in the error

# Content types of event streams: errors in such a body are protocol errors, reported
# as such. (NDJSON has several spellings in the wild.) Not application/json: a 200
# with a JSON error document is more often what that is.
EVENT_STREAM_TYPES = frozenset(
    {
        "text/event-stream",
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
        "application/json-seq",
        "application/stream+json",
    }
)

# Content types that are never an event stream, and what to call them.
_NOT_EVENT_STREAMS = {
    "text/html": "an HTML page",
    "application/xhtml+xml": "an HTML page",
}

# Response headers that announce another streaming protocol: (header, what it is).
_PROTOCOL_HEADERS = (
    (
        "x-vercel-ai-ui-message-stream",
        "a Vercel AI SDK UI message stream, not AG-UI events",
    ),
    ("x-vercel-ai-data-stream", "a Vercel AI SDK data stream, not AG-UI events"),
)


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What :func:`diagnose` looks at: the status line and the headers."""

    status: int
    reason: str
    content_type: str | None  # the media type, lower-cased, without parameters
    raw_content_type: str | None  # the header as sent, for messages
    headers: httpx.Headers

    @classmethod
    def of(cls, response: httpx.Response) -> ResponseHead:
        raw = response.headers.get("content-type")
        media = raw.split(";", 1)[0].strip().lower() if raw is not None else None
        return cls(
            response.status_code, response.reason_phrase, media or None, raw, response.headers
        )

    @property
    def trusted(self) -> bool:
        """Declared as an event stream: its errors are protocol errors, not a wrong answer."""
        return self.content_type in EVENT_STREAM_TYPES


def diagnose(
    head: ResponseHead, *, events: int | None = None, body_start: bytes = b""
) -> str | None:
    """What this response is, when it is not an AG-UI event stream; ``None`` when it
    is, or may still turn out to be, one.

    ``events``: ``None`` at the head; else the number of events found in the body so
    far (``0`` when it ended, or failed to parse, before the first one).
    """
    if head.status in (204, 205):
        return "no content"
    for name, what in _PROTOCOL_HEADERS:
        value = head.headers.get(name)
        if value is not None:
            return f"{what} ({name}: {value})"
    kind = _NOT_EVENT_STREAMS.get(head.content_type or "")
    if kind is not None:
        return kind
    if events is None or events > 0:
        return None
    # The body is known now, and not a single event was in it.
    if not body_start.strip():
        return "an empty body"
    if body_start.lstrip()[:1] == b"<":
        return "markup (HTML or XML), not events"
    if head.content_type == "text/plain":
        return "plain text, not events"
    return "no event"


def unexpected_response(
    head: ResponseHead,
    what: str,
    *,
    url: str,
    body_start: bytes,
    scrubber: Scrubber,
) -> UnexpectedResponseError:
    """The error for a response :func:`diagnose` found wanting; credentials masked."""
    kind = head.raw_content_type if head.raw_content_type is not None else "no Content-Type"
    excerpt: str | None = None
    if body_start:
        text = body_start[:BODY_START_BYTES].decode("utf-8", "replace")
        cut = len(body_start) >= BODY_START_BYTES
        excerpt = scrubber.text(text + ("…" if cut else ""), truncated=cut)
    message = (
        f"{url} answered {head.status} {head.reason} ({scrubber.text(kind)}) with {what}; "
        "expected an AG-UI event stream"
    )
    return UnexpectedResponseError(
        message, status_code=head.status, content_type=head.raw_content_type, excerpt=excerpt
    )
