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
3. at the end of a stream whose every event was of a type unknown to the
   protocol (``unknown_types``): a Vercel stream without its header, read as AG-UI.

A missing ``Content-Type`` is accepted (TanStack's own helpers and many test
servers omit it) and so is any other type whose body parses as events: the
decision then rests on the body. Every diagnosis of another protocol names the
adapter and the CLI flag that read it (:data:`READERS`): the bridges
(``chatconduit._bridges``) read Vercel AI SDK UI message streams and OpenAI chat
completions, and a :class:`Wire` tells the HTTP machinery which of the three a
response should be and how to decode it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

import httpx

from .._events import Event
from .._exceptions import UnexpectedResponseError
from .._redact import Scrubber

__all__ = [
    "BODY_START_BYTES",
    "EXPECTED",
    "READERS",
    "ProtocolName",
    "ResponseHead",
    "StreamDecoder",
    "Wire",
    "diagnose",
    "foreign_body",
    "unexpected_response",
]

ProtocolName: TypeAlias = Literal["agui", "vercel", "openai"]

# What reads each protocol: named in every diagnosis, so the fix is in the message.
READERS: dict[ProtocolName, str] = {
    "agui": "fetch_server_sent_events() (chatconduit chat --protocol agui)",
    "vercel": "vercel_ui_stream() (chatconduit chat --protocol vercel)",
    "openai": "openai_chat_completions() (chatconduit chat --protocol openai)",
}
EXPECTED: dict[ProtocolName, str] = {
    "agui": "an AG-UI event stream",
    "vercel": "a Vercel AI SDK UI message stream",
    "openai": "an OpenAI chat completions stream",
}

# Chunk types only a Vercel UI message stream sends; an AG-UI reader sees them as
# unknown event types, and a stream of nothing else is that protocol, not ours.
VERCEL_CHUNK_TYPES = frozenset(
    {
        "start", "start-step", "finish-step", "finish", "error", "abort",
        "text-start", "text-delta", "text-end",
        "reasoning-start", "reasoning-delta", "reasoning-end", "reasoning-file",
        "tool-input-start", "tool-input-delta", "tool-input-available", "tool-input-error",
        "tool-output-available", "tool-output-error", "tool-output-denied",
        "tool-approval-request", "tool-approval-response",
        "message-metadata", "source-url", "source-document", "file", "custom", "reset-step",
    }
)  # fmt: skip


class StreamDecoder(Protocol):
    """What a response body is read with: :class:`~chatconduit._codec.EventDecoder` for
    AG-UI, a bridge's decoder for another protocol (same contract: ``iter_feed`` per read,
    ``finish`` at the end, ``check`` raises what a read found wrong, ``done`` after
    ``[DONE]``)."""

    done: bool

    @property
    def retry(self) -> int | None: ...

    @property
    def lines_read(self) -> int:
        """The complete lines of the body read so far (an error's line number)."""
        ...

    def iter_feed(self, data: bytes) -> Iterator[tuple[Event, str | None]]: ...

    def finish(self) -> list[tuple[Event, str | None]]: ...

    def check(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Wire:
    """Which protocol a response should speak, and its decoder (``max_frame_bytes`` ->
    a fresh decoder for one response)."""

    protocol: ProtocolName
    decoder: Callable[[int], StreamDecoder]


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

# Response headers that announce another streaming protocol: (header, its protocol
# when a bridge reads it, what it is).
_PROTOCOL_HEADERS: tuple[tuple[str, ProtocolName | None, str], ...] = (
    ("x-vercel-ai-ui-message-stream", "vercel", "a Vercel AI SDK UI message stream"),
    (
        "x-vercel-ai-data-stream",
        None,
        "a Vercel AI SDK data stream (AI SDK 4; no adapter reads it)",
    ),
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
    head: ResponseHead,
    *,
    events: int | None = None,
    body_start: bytes = b"",
    expect: ProtocolName = "agui",
    unknown_types: Collection[str] = (),
) -> str | None:
    """What this response is, when it is not the ``expect`` protocol's stream; ``None``
    when it is, or may still turn out to be, one.

    ``events``: ``None`` at the head; else the number of events found in the body so
    far (``0`` when it ended, or failed to parse, before the first one).
    ``unknown_types``: the ``type`` of every event read that the protocol does not know
    (a stream of nothing but those is another protocol's, see :data:`VERCEL_CHUNK_TYPES`).
    """
    if head.status in (204, 205):
        return "no content"
    for name, protocol, what in _PROTOCOL_HEADERS:
        value = head.headers.get(name)
        if value is not None and protocol != expect:
            return _named(f"{what} ({name}: {value})", protocol)
    kind = _NOT_EVENT_STREAMS.get(head.content_type or "")
    if kind is not None:
        return kind
    if unknown_types and not events:
        return _unknown_stream(unknown_types, expect)
    if events is None or events > 0:
        return None
    # The body is known now, and not a single event was in it.
    if not body_start.strip():
        return "an empty body"
    if body_start.lstrip()[:1] == b"<":
        return "markup (HTML or XML), not events"
    foreign = foreign_body(body_start, expect)
    if foreign is not None:
        return foreign
    if head.content_type == "text/plain":
        return (
            "plain text, not events (a Vercel AI SDK text stream, toTextStreamResponse(), "
            "is plain text: no adapter reads it; serve toUIMessageStreamResponse() and use "
            f"{READERS['vercel']})"
        )
    document = _json_document(body_start)
    if document is not None:
        return document
    return "no event"


def foreign_body(body_start: bytes, expect: ProtocolName = "agui") -> str | None:
    """What another protocol's body is, when its first bytes show it (also in a response
    declared as an event stream, whose parse error would otherwise hide it)."""
    if b"chat.completion.chunk" in body_start and expect != "openai":
        return _named("an OpenAI chat completions stream", "openai")
    compact = body_start.replace(b" ", b"")
    if b'"type":"start"' in compact and expect != "vercel":
        return _named("a Vercel AI SDK UI message stream (without its header)", "vercel")
    if b'"type":"RUN_STARTED"' in compact and expect != "agui":
        return _named("an AG-UI event stream", "agui")
    return None


def _named(what: str, protocol: ProtocolName | None) -> str:
    return what if protocol is None else f"{what}; read it with {READERS[protocol]}"


def _unknown_stream(types: Collection[str], expect: ProtocolName) -> str:
    shown = ", ".join(sorted(types)[:8])
    if expect != "vercel" and set(types) <= VERCEL_CHUNK_TYPES:
        return _named(f"a Vercel AI SDK UI message stream (chunks {shown})", "vercel")
    return f"only events of types unknown to it ({shown})"


def _json_document(body_start: bytes) -> str | None:
    """A JSON object instead of a stream: most often an error document, whose message
    says more than its bytes would (``{"error": {"message"}}``, ``{"error": "..."}``,
    FastAPI's ``{"detail": "..."}``)."""
    text = body_start.strip()
    if text[:1] != b"{":
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return "a JSON document, no event stream"
    error = document.get("error", document.get("detail"))
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str) and error:
        return f"a JSON error document ({error[:200]!r}), no event stream"
    if document.get("object") == "chat.completion":
        return _named("an OpenAI chat completion (not streamed)", "openai")
    return "a JSON document, no event stream"


def unexpected_response(
    head: ResponseHead,
    what: str,
    *,
    url: str,
    body_start: bytes,
    scrubber: Scrubber,
    expect: ProtocolName = "agui",
) -> UnexpectedResponseError:
    """The error for a response :func:`diagnose` found wanting; credentials masked."""
    kind = head.raw_content_type if head.raw_content_type is not None else "no Content-Type"
    excerpt: str | None = None
    if body_start:
        text = body_start[:BODY_START_BYTES].decode("utf-8", "replace")
        cut = len(body_start) >= BODY_START_BYTES
        excerpt = scrubber.text(text + ("…" if cut else ""), truncated=cut)
    message = (
        f"{url} answered {head.status} {head.reason} ({scrubber.text(kind)}) with "
        f"{scrubber.text(what)}; expected {EXPECTED[expect]}"
    )
    return UnexpectedResponseError(
        message, status_code=head.status, content_type=head.raw_content_type, excerpt=excerpt
    )
