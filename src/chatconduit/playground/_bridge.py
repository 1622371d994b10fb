"""The proxy's bridge: a backend of another protocol, read with our bridge adapters and
streamed to the page as AG-UI SSE events.

The page's real ``@tanstack/ai-client`` only reads AG-UI, so for a Vercel AI SDK or an
OpenAI-compatible target the proxy parses the page's request body, asks the target
with ``vercel_ui_stream`` / ``openai_chat_completions`` and encodes the events they
yield with our SSE encoder. The target's own bytes travel along as SSE comments
(``: bridged <JSON string>``), which every SSE reader skips and the inspector shows on
demand. Headers the page typed are forwarded and then scrubbed from every error body
and comment: a backend that echoes a wrong key must not put it on the screen.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

import httpx
from starlette.responses import Response

from .._bridges import openai_chat_completions, vercel_ui_stream
from .._codec._sse import encode_sse_comment
from .._connection._protocols import RunContext
from .._events import Event
from .._exceptions import ChatConduitError, HTTPStatusError, RunError
from .._ids import generate_id
from .._run_input import parse_run_agent_input
from ..server._errors import RunErrorPayload
from ..server._responses import EventStreamResponse
from ..server._streams import server_sent_events_stream
from ..server._threads import request_ui_messages

__all__ = ["BRIDGED_HEADER", "BRIDGES", "MODEL_HEADER", "PROTOCOL_HEADER", "bridge_response"]

PROTOCOL_HEADER = "x-chatconduit-protocol"
MODEL_HEADER = "x-chatconduit-model"
BRIDGED_HEADER = "x-chatconduit-bridged"
BRIDGES = ("vercel", "openai")
Bridge = Literal["vercel", "openai"]

# The adapters set their own body headers; the page's would contradict them.
_NOT_FORWARDED = frozenset({"content-type", "accept", PROTOCOL_HEADER, MODEL_HEADER})
_SECRET_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|password|session", re.I)
_MIN_SECRET = 4  # shorter header values are too common to scrub without mangling text


class _Scrubber:
    """Masks the values of the credential headers the page sent (keys, tokens) in any
    text; the names are those the page's inspector masks too."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        values = {v.strip() for k, v in headers.items() if _SECRET_HEADER.search(k)}
        # A bearer token may be echoed without its scheme.
        values |= {v.split(None, 1)[1] for v in values if " " in v}
        self._values = sorted((v for v in values if len(v) >= _MIN_SECRET), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "•••")
        return text


class _TeeStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, sink: Callable[[bytes], None]) -> None:
        self._stream = stream
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            self._sink(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Recording(httpx.AsyncBaseTransport):
    """A transport that hands a copy of every response byte to ``sink``."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._sink = sink

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_TeeStream(response.stream, self._sink),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _text(status: int, text: str, bridge: str) -> Response:
    return Response(
        text,
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={BRIDGED_HEADER: bridge},
    )


def _error_payload(scrub: _Scrubber) -> Callable[[BaseException], RunErrorPayload]:
    """Mid-stream failures of the foreign backend, said to the page: our errors' texts
    already mask the request's credentials, and the page's header values go too."""

    def payload(exc: BaseException) -> RunErrorPayload:
        if isinstance(exc, RunError | ChatConduitError):
            return {"message": scrub(str(exc)), "code": type(exc).__name__}
        return {"message": f"the bridge failed ({type(exc).__name__})", "code": "bridge_error"}

    return payload


async def bridge_response(
    bridge: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    model: str,
    read_timeout: float,
) -> Response:
    """Answer the page's request to a ``bridge`` backend at ``target`` as AG-UI SSE."""
    if bridge not in BRIDGES:
        return _text(400, f"playground proxy: unknown protocol {bridge[:40]!r}", "none")
    if bridge == "openai" and not model:
        return _text(
            400, f"playground proxy: the OpenAI bridge needs a model ({MODEL_HEADER})", bridge
        )
    try:
        params = parse_run_agent_input(body)
    except ChatConduitError as exc:
        return _text(400, f"playground proxy: the page's request body is invalid: {exc}", bridge)
    forwarded = {name: value for name, value in headers if name.lower() not in _NOT_FORWARDED}
    scrub = _Scrubber(forwarded)
    foreign: list[bytes] = []
    # trust_env=False: no ~/.netrc credentials or environment proxies for URLs the page chose.
    client = httpx.AsyncClient(
        transport=_Recording(foreign.append),
        trust_env=False,
        timeout=httpx.Timeout(read_timeout, connect=10.0),
    )
    options: dict[str, Any] = {
        "headers": forwarded,
        "client": client,
        "retry": False,
        "idle_timeout": read_timeout,
    }
    adapter = (
        vercel_ui_stream(target, options)
        if bridge == "vercel"
        else openai_chat_completions(target, {"model": model, **options})
    )
    forwarded_props = (
        params.forwarded_props if isinstance(params.forwarded_props, Mapping) else None
    )
    context = RunContext(
        # The AI SDK requires a chat id; a client that sent no thread id gets one.
        thread_id=params.thread_id or generate_id("thread"),
        run_id=params.run_id,
        client_tools=[
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in params.tools
        ],
        forwarded_props=forwarded_props,
    )
    # TanStack 0.33 sends AG-UI messages (content, no parts); the adapters take UIMessages.
    messages = request_ui_messages(params.messages)
    events = aiter(adapter.connect(messages, None, None, context))
    try:
        # The first event proves the answer is a stream; before it, a refusal is still
        # an HTTP status the page can show in its banner.
        first = await anext(events)
    except HTTPStatusError as exc:
        await client.aclose()
        return _text(exc.status_code, scrub(exc.body) or exc.reason, bridge)
    except StopAsyncIteration:
        await client.aclose()
        return _text(502, f"playground proxy: the {bridge} backend sent no events", bridge)
    except ChatConduitError as exc:
        await client.aclose()
        return _text(502, f"playground proxy: {scrub(str(exc))}", bridge)
    except Exception as exc:
        await client.aclose()
        # The class, not the text: an unexpected error's text may quote anything.
        return _text(502, f"playground proxy: the bridge failed ({type(exc).__name__})", bridge)
    except BaseException:
        await client.aclose()
        raise
    sse = server_sent_events_stream(
        _prepend(first, events),
        dialect="auto",
        params=params,
        error_payload=_error_payload(scrub),
    )
    return EventStreamResponse(
        _with_foreign(sse, foreign, scrub, client),
        headers={
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            BRIDGED_HEADER: bridge,
        },
    )


async def _prepend(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in rest:
        yield event


def _comments(foreign: list[bytes], scrub: _Scrubber) -> bytes:
    """The target's bytes read so far, as ``: bridged "<JSON string>"`` comments."""
    out = b"".join(
        encode_sse_comment("bridged " + json.dumps(scrub(chunk.decode("utf-8", "replace"))))
        for chunk in foreign
    )
    foreign.clear()
    return out


async def _with_foreign(
    sse: AsyncIterator[bytes], foreign: list[bytes], scrub: _Scrubber, client: httpx.AsyncClient
) -> AsyncIterator[bytes]:
    """Our frames, each preceded by the foreign bytes that produced it."""
    try:
        async for chunk in sse:
            yield _comments(foreign, scrub) + chunk
        if foreign:
            yield _comments(foreign, scrub)
    finally:
        await client.aclose()
