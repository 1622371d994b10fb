"""Reading a chat request: a JSON, size- and time-bounded body, validated into a ``RunAgentInput``.

The reference answers a bad body with a 400 and a fixed text. Here the answer is
JSON naming every problem and where it is, so a developer can fix the client:

    {"error": {"message": "...", "code": "invalid_request",
               "errors": [{"path": "messages[0].role", "problem": "..."}]}}

Values from the body are never echoed (they may hold secrets); the validator in
``_wire`` only names paths and JSON types.

What a request may cost is bounded before the agent is ever called: its media
type (415), its size (413, checked on the declared ``Content-Length`` before a
byte is read), the time its body may take to arrive (408), how many bodies may
be arriving at once (503, see :class:`PendingBodies`), and the event loop time
spent validating it (large bodies are validated on a small thread pool).
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from .._exceptions import (
    PayloadTooLargeError,
    RequestTimeoutError,
    RequestValidationError,
    TooManyPendingBodiesError,
    UnsupportedMediaTypeError,
)
from .._run_input import RunAgentInput, parse_run_agent_input
from ._errors import log_agent_failure
from ._http import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, is_json_content_type

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "PendingBodies",
    "read_body",
    "read_chat_request",
    "request_error_response",
]

# Validating a body costs about a millisecond per KiB in the worst case (thousands
# of tiny messages), all of it pure Python: on the event loop a 4 MiB body would
# freeze every other stream for seconds. Bodies above this size are validated on
# a thread; the loop then only waits, and the GIL's switch interval (5 ms) keeps
# it responsive. Smaller bodies are validated in place: the hop would cost more.
_THREAD_PARSE_BYTES = 8 * 1024
# Two threads: enough to keep validation off the loop, few enough that the
# transient memory of validating (~25x the body) is bounded by two bodies' worth.
# Shared by every event loop of the process (one executor is thread-safe).
_parse_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatconduit-parse")

# A refusal lists at most this many problems: a 4 MiB body of bad entries would
# otherwise be answered with a response many times its size.
_MAX_LISTED_ERRORS = 50

_STATUS: dict[type[RequestValidationError], tuple[int, str]] = {
    PayloadTooLargeError: (413, "payload_too_large"),
    RequestTimeoutError: (408, "request_timeout"),
    UnsupportedMediaTypeError: (415, "unsupported_media_type"),
    TooManyPendingBodiesError: (503, "busy"),
}


class PendingBodies:
    """Counts the requests whose body is still arriving, up to ``limit``.

    A request takes a place only when its body did not come with its headers
    (the first read says more is to come): a normal chat never waits for one, so
    it is answered even while slow senders hold every place. Past the limit,
    :class:`~chatconduit.server.TooManyPendingBodiesError` (503) is raised at
    once. Share one instance between routes to bound them together; it is a plain
    counter, used from the event loop only.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the limit of pending bodies must be at least 1, got {limit}")
        self.limit = limit
        self.count = 0

    def __repr__(self) -> str:
        return f"PendingBodies(count={self.count}, limit={self.limit})"

    def acquire(self) -> None:
        """Take a place, or raise :class:`~chatconduit.server.TooManyPendingBodiesError`."""
        if self.count >= self.limit:
            raise TooManyPendingBodiesError(self.limit)
        self.count += 1

    def release(self) -> None:
        self.count -= 1


def _check_limits(max_body_bytes: int, body_timeout: float | None) -> None:
    if max_body_bytes < 0:
        raise ValueError(f"max_body_bytes must be >= 0, got {max_body_bytes}")
    if body_timeout is not None and not body_timeout > 0:
        raise ValueError(f"body_timeout must be > 0 seconds or None, got {body_timeout!r}")


async def _receive_body(
    request: Request, max_body_bytes: int, pending: PendingBodies | None
) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            problem = "must be a non-negative integer"
            raise RequestValidationError(
                f"Content-Length header {problem}", [("headers.content-length", problem)]
            )
        if int(declared) > max_body_bytes:
            raise PayloadTooLargeError(max_body_bytes, int(declared))
    cached = getattr(request, "_body", None)
    if isinstance(cached, bytes):  # already read (say, by ``authorize``): Starlette's cache
        if len(cached) > max_body_bytes:
            raise PayloadTooLargeError(max_body_bytes)
        return cached
    # ASGI messages rather than ``request.stream()``: ``more_body`` tells whether the
    # body is complete, which decides whether this request needs a pending place.
    chunks: list[bytes] = []
    received = 0
    holding = False
    try:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_body_bytes:
                raise PayloadTooLargeError(max_body_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
            if pending is not None and not holding:
                pending.acquire()
                holding = True
    finally:
        if holding and pending is not None:
            pending.release()
    body = b"".join(chunks)
    # Starlette's own cache: ``await request.body()`` in the agent returns the body
    # instead of waiting for messages that were already consumed.
    request._body = body
    return body


async def read_body(
    request: Request,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    pending_bodies: PendingBodies | None = None,
) -> bytes:
    """The request body, refusing more than ``max_body_bytes`` or slower than ``body_timeout``.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a body without one (chunked) is counted while it arrives and refused as
    soon as it crosses the limit, so memory stays bounded either way. The whole
    body must arrive within ``body_timeout`` seconds (``None``: no deadline), else
    :class:`~chatconduit.server.RequestTimeoutError` (408). With ``pending_bodies``,
    a body still arriving after the first read takes one of its places, or is
    refused with :class:`~chatconduit.server.TooManyPendingBodiesError` (503).
    Raises Starlette's ``ClientDisconnect`` if the client leaves.
    """
    _check_limits(max_body_bytes, body_timeout)
    if body_timeout is None:
        return await _receive_body(request, max_body_bytes, pending_bodies)
    try:
        async with asyncio.timeout(body_timeout):
            return await _receive_body(request, max_body_bytes, pending_bodies)
    except TimeoutError:
        raise RequestTimeoutError(body_timeout) from None


def _parse(body: bytes) -> RunAgentInput:
    try:
        return parse_run_agent_input(body)
    except RequestValidationError:
        raise
    except Exception as exc:
        # The validator only raises RequestValidationError by contract; anything else
        # is a bug in it that a hostile body found. The client made a bad request (400,
        # not a 500 with our traceback); the operator gets the traceback.
        log_agent_failure(exc, where="validating a request body")
        problem = "could not be validated"
        raise RequestValidationError(f"Request body {problem}", [("(body)", problem)]) from None


async def parse_chat_body(body: bytes) -> RunAgentInput:
    """``parse_run_agent_input(body)``, on the validation threads when the body is large."""
    if len(body) <= _THREAD_PARSE_BYTES:
        return _parse(body)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_parse_pool, functools.partial(_parse, body))


def check_json_content_type(request: Request) -> None:
    """Raise :class:`~chatconduit.server.UnsupportedMediaTypeError` unless the request
    declares a JSON body (see :func:`~chatconduit.server._http.is_json_content_type`)."""
    content_type = request.headers.get("content-type")
    if not is_json_content_type(content_type):
        raise UnsupportedMediaTypeError(content_type)


async def read_chat_request(
    request: Request,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    pending_bodies: PendingBodies | None = None,
) -> RunAgentInput:
    """Read and validate a chat POST (the AG-UI ``RunAgentInput`` or the legacy
    ``{messages, data}`` shape), declared as JSON.

    Raises :class:`~chatconduit.RequestValidationError` (400) or one of its
    subclasses :class:`~chatconduit.server.UnsupportedMediaTypeError` (415, checked
    before the body is read), :class:`~chatconduit.server.PayloadTooLargeError`
    (413), :class:`~chatconduit.server.RequestTimeoutError` (408) and
    :class:`~chatconduit.server.TooManyPendingBodiesError` (503); turn any of them
    into a response with :func:`request_error_response`. See :func:`read_body`
    for the limits.
    """
    _check_limits(max_body_bytes, body_timeout)
    check_json_content_type(request)
    body = await read_body(
        request,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        pending_bodies=pending_bodies,
    )
    return await parse_chat_body(body)


def close_after(request: Request | None, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus ``Connection: close`` on HTTP/1.x.

    Used when answering before the body was read to its end: uvicorn keeps such a
    connection open, and a client still sending the body (slowly, on purpose)
    resets its idle timer with every byte. HTTP/2 forbids the header (and closes
    streams on its own), so it is only added for HTTP/1.
    """
    if request is not None and str(request.scope.get("http_version", "1.1")).startswith("1"):
        headers["connection"] = "close"
    return headers


def request_error_response(
    exc: RequestValidationError, *, request: Request | None = None
) -> JSONResponse:
    """The JSON answer for a request that was refused: 400, or 408 / 413 / 415 / 503
    for the subclasses. Pass ``request`` to also close the connection when the body
    was not read to its end (all but 400), so a slow sender cannot keep it."""
    status, code = next(
        (answer for kind, answer in _STATUS.items() if isinstance(exc, kind)),
        (400, "invalid_request"),
    )
    listed = exc.errors[:_MAX_LISTED_ERRORS]
    body: dict[str, Any] = {
        "error": {
            "message": str(exc),
            "code": code,
            "errors": [{"path": path, "problem": problem} for path, problem in listed],
        }
    }
    headers: dict[str, str] = {"retry-after": "1"} if status == 503 else {}
    if status != 400:
        close_after(request, headers)
    return JSONResponse(body, status_code=status, headers=headers)
