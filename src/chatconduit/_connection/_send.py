"""Sending one request and reading one body, with every failure mapped to a typed error.

httpx raises its own exception tree; users of chatconduit see ours (see
``_exceptions``), each naming the (redacted) URL, with credentials the server
echoed back scrubbed out. Whether a failure is worth a retry is decided here,
where the failure is known; *whether to* retry is the stream run's call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from .._exceptions import ConnectError, HTTPStatusError, StreamTimeoutError, TransportError
from .._redact import redact_headers
from ._options import DEFAULT_CONNECT_TIMEOUT, scrub
from ._retry import is_retryable_status

__all__ = ["DEFAULT_LIMITS", "ERROR_BODY_BYTES", "OpenFailed", "new_client", "open_stream", "read"]

ERROR_BODY_BYTES = 4096  # how much of an error response's body is kept on HTTPStatusError

# The pool of a client the adapter creates itself. httpx's default (100
# connections) queues the 101st concurrent stream until another one ends, and
# streams end late: with 1,000 concurrent chats most requests failed with a
# pool timeout (see docs/connection-adapters.md). A stream holds its
# connection for its whole life, so the pool must not be the limit; the
# operating system's file descriptors are. Idle connections are kept for the
# next turn of the chat.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=None, max_keepalive_connections=100, keepalive_expiry=30.0
)


def new_client() -> httpx.AsyncClient:
    # fetch() follows redirects, so the reference's users rely on it.
    return httpx.AsyncClient(
        limits=DEFAULT_LIMITS,
        follow_redirects=True,
        timeout=httpx.Timeout(DEFAULT_CONNECT_TIMEOUT, read=None, write=None),
    )


class OpenFailed(Exception):
    """A request got no usable response. ``error`` is what the user will see."""

    def __init__(
        self,
        error: TransportError | HTTPStatusError,
        *,
        retryable: bool,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after


async def read(chunks: AsyncIterator[bytes], idle: float | None) -> bytes | None:
    """The next piece of a body, ``None`` at its end; ``TimeoutError`` after ``idle`` seconds."""
    if idle is None:
        return await anext(chunks, None)
    async with asyncio.timeout(idle):
        return await anext(chunks, None)


def _with_cause(error: TransportError, cause: BaseException) -> TransportError:
    error.__cause__ = cause
    return error


async def open_stream(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    idle: float | None,
    safe_url: str,
    secrets: list[str],
) -> httpx.Response:
    """Send ``request``; return a 2xx streaming response or raise :class:`OpenFailed`."""
    try:
        async with asyncio.timeout(idle):
            response = await client.send(request, stream=True)
    except TimeoutError:
        error: TransportError = StreamTimeoutError(
            f"no response from {safe_url} within {idle}s (idle_timeout)"
        )
        raise OpenFailed(error, retryable=False) from None
    except httpx.TimeoutException as exc:  # connect or pool timeout
        error = ConnectError(f"timed out connecting to {safe_url} ({type(exc).__name__})")
        raise OpenFailed(_with_cause(error, exc), retryable=True) from None
    except (
        httpx.ConnectError,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
    ) as exc:
        # Refused, unreachable, TLS failure, or closed before any response:
        # no stream was started, so trying again cannot duplicate anything.
        detail = scrub(str(exc) or type(exc).__name__, secrets)
        error = ConnectError(f"could not connect to {safe_url}: {detail}")
        raise OpenFailed(_with_cause(error, exc), retryable=True) from None
    except httpx.RequestError as exc:  # an unsupported URL scheme, a proxy error, ...
        detail = scrub(str(exc) or type(exc).__name__, secrets)
        error = ConnectError(f"request to {safe_url} failed: {detail}")
        raise OpenFailed(_with_cause(error, exc), retryable=False) from None
    if response.is_success:
        return response
    try:
        text, truncated = await _error_body(response, idle)
    finally:
        await response.aclose()
    status_error = HTTPStatusError(
        response.status_code,
        response.reason_phrase,
        url=safe_url,
        headers=redact_headers(response.headers.multi_items()),
        body=scrub(text, secrets),
        body_truncated=truncated,
    )
    raise OpenFailed(
        status_error,
        retryable=is_retryable_status(response.status_code),
        retry_after=status_error.retry_after,
    )


async def _error_body(response: httpx.Response, idle: float | None) -> tuple[str, bool]:
    """The start of an error response's body, decoded, and whether it was cut short."""
    collected = bytearray()
    truncated = False
    chunks = response.aiter_bytes()
    try:
        while len(collected) <= ERROR_BODY_BYTES:
            piece = await read(chunks, idle)
            if piece is None:
                break
            collected += piece
    except (TimeoutError, httpx.RequestError):
        truncated = True  # the status says enough; a body that stalls is not worth a wait
    if len(collected) > ERROR_BODY_BYTES:
        del collected[ERROR_BODY_BYTES:]
        truncated = True
    try:
        return bytes(collected).decode(response.charset_encoding or "utf-8", "replace"), truncated
    except LookupError:  # a charset Python does not know
        return bytes(collected).decode("utf-8", "replace"), truncated
