"""Sending one request and reading one body, with every failure mapped to a typed error.

httpx raises its own exception tree; users of chatconduit see ours (see
``_exceptions``), each naming the (redacted) URL, with credentials the server
echoed back scrubbed out (:class:`~chatconduit._redact.Scrubber`). Whether a
failure is worth a retry is decided here, where the failure is known; *whether
to* retry is the stream run's call.

Redirects are followed here rather than by httpx, because httpx's rules are not
safe for us: leaving the origin it strips ``Authorization`` and cookies but
forwards ``X-Api-Key``, ``X-Auth-Token`` and every other credential header, and
on a 307/308 it re-sends the body, i.e. the whole conversation, to wherever the
``Location`` points. Our rules (followed only when the client follows redirects,
as the adapter's own client does, like ``fetch``):

- same origin (or an ``http`` → ``https`` upgrade of the same host): followed as
  httpx would, headers and credentials kept;
- another origin: every credential header (``_redact``'s list) and the cookies
  are dropped, and the client's ``auth`` is not applied; from then on the request
  stays without them, even if a later hop comes back;
- a 301/302 (POST) or 303 becomes a GET without the body, as in browsers;
- a 307/308 to another origin would re-send the body: refused with
  :class:`~chatconduit.RedirectError`, as are more than ``client.max_redirects``
  hops and a ``Location`` that is not an http(s) URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import httpx

from .._exceptions import (
    ConnectError,
    ContentEncodingError,
    HTTPStatusError,
    RedirectError,
    StreamTimeoutError,
    TransportError,
)
from .._redact import Scrubber, is_sensitive_header, redact_url
from ._abort import AbortScope
from ._encoding import BodyDecoder
from ._options import CookiesInput, cookie_items
from ._pool import DEFAULT_LIMITS, default_client_transport, new_client
from ._retry import is_retryable_status

__all__ = ["DEFAULT_LIMITS", "ERROR_BODY_BYTES", "OpenFailed", "new_client", "open_stream", "read"]

ERROR_BODY_BYTES = 4096  # how much of an error response's body is kept on HTTPStatusError

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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

    def spent(self) -> TransportError | HTTPStatusError:
        """The error, to raise in this failure's place; this failure lets go of it.

        Raised while this failure is handled, the error's ``__context__`` is this
        failure: each holding the other would be a reference cycle, and a client keeps
        its last error (with it, all its traceback's frames hold) until it is closed."""
        error = self.error
        del self.error
        return error


async def read(chunks: AsyncIterator[bytes], wait: float | None) -> bytes | None:
    """The next piece of a body, ``None`` at its end; ``TimeoutError`` after ``wait`` s."""
    if wait is None:
        return await anext(chunks, None)
    async with asyncio.timeout(wait):
        return await anext(chunks, None)


def _with_cause(error: TransportError, cause: BaseException) -> TransportError:
    error.__cause__ = cause
    return error


async def open_stream(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    cookies: CookiesInput | None,
    idle: float | None,
    safe_url: str,
    scrubber: Scrubber,
    guard: AbortScope | None = None,
) -> httpx.Response:
    """Send ``request``, following redirects by the rules above; return a 2xx streaming
    response or raise :class:`OpenFailed`. With a ``guard`` (a stream run's scope), each
    exchange and the reading of an error's body are awaited under it: :class:`Aborted`
    when its signal aborts, and each exchange's ``idle`` limit kept by its timer."""
    origin = request.url
    left_origin = False  # a hop went elsewhere: credentials are gone for good
    hops = 0
    while True:
        response = await _send(
            client,
            request,
            idle=idle,
            safe_url=safe_url,
            scrubber=scrubber,
            bare=left_origin,
            guard=guard,
        )
        if response.is_success:
            return response
        if client.follow_redirects and response.status_code in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if location is not None:
                try:
                    hops += 1
                    request, left_origin = _next_hop(
                        client,
                        request,
                        response,
                        location,
                        origin=origin,
                        left_origin=left_origin,
                        hops=hops,
                        cookies=cookies,
                        safe_url=safe_url,
                        scrubber=scrubber,
                    )
                finally:
                    await response.aclose()  # a redirect's body is never read
                continue
        failure = _status_failure(response, idle=idle, safe_url=safe_url, scrubber=scrubber)
        raise await (guard.run(failure) if guard is not None else failure)


async def _send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    idle: float | None,
    safe_url: str,
    scrubber: Scrubber,
    bare: bool,
    guard: AbortScope | None,
) -> httpx.Response:
    """One HTTP exchange, no redirects. ``bare``: without the client's ``auth``."""
    transport = default_client_transport(client, request.url)
    try:
        # Started inside the guard: an abort it raises leaves no coroutine never awaited.
        if guard is not None:
            with guard.guarding(idle):
                response = await _exchange(client, transport, request, bare=bare)
        else:
            async with asyncio.timeout(idle):
                response = await _exchange(client, transport, request, bare=bare)
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
        detail = scrubber.text(str(exc) or type(exc).__name__)
        error = ConnectError(f"could not connect to {safe_url}: {detail}")
        raise OpenFailed(_with_cause(error, exc), retryable=True) from None
    except httpx.RequestError as exc:  # an unsupported URL scheme, a proxy error, ...
        detail = scrubber.text(str(exc) or type(exc).__name__)
        error = ConnectError(f"request to {safe_url} failed: {detail}")
        raise OpenFailed(_with_cause(error, exc), retryable=False) from None
    response.request = request
    return response


def _exchange(
    client: httpx.AsyncClient,
    transport: httpx.AsyncBaseTransport | None,
    request: httpx.Request,
    *,
    bare: bool,
) -> Awaitable[httpx.Response]:
    if transport is not None:  # our own client: send() would add nothing
        return transport.handle_async_request(request)
    return client.send(
        request,
        stream=True,
        follow_redirects=False,
        auth=None if bare else httpx.USE_CLIENT_DEFAULT,
    )


def _trusted(origin: httpx.URL, target: httpx.URL) -> bool:
    """Same origin, or an http → https upgrade of the same host on default ports."""
    if origin.host != target.host:
        return False
    if origin.scheme == target.scheme:
        return _port(origin) == _port(target)
    return (
        origin.scheme == "http"
        and target.scheme == "https"
        and _port(origin) == 80
        and _port(target) == 443
    )


def _port(url: httpx.URL) -> int | None:
    return url.port if url.port is not None else {"http": 80, "https": 443}.get(url.scheme)


def _next_hop(
    client: httpx.AsyncClient,
    request: httpx.Request,
    response: httpx.Response,
    location: str,
    *,
    origin: httpx.URL,
    left_origin: bool,
    hops: int,
    cookies: CookiesInput | None,
    safe_url: str,
    scrubber: Scrubber,
) -> tuple[httpx.Request, bool]:
    """The request that follows ``response``'s redirect, and whether we left the origin."""
    status = response.status_code

    def refuse(problem: str, target: str = "") -> OpenFailed:
        error = RedirectError(
            status,
            response.reason_phrase,
            url=safe_url,
            location=target,
            problem=problem,
            headers=scrubber.headers(response.headers),
        )
        return OpenFailed(error, retryable=False)

    try:
        target = request.url.join(location)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise refuse("the Location header is not a valid URL") from None
    shown = scrubber.text(redact_url(target))
    if target.scheme not in ("http", "https") or not target.host:
        raise refuse("the Location is not an http(s) URL", shown)
    if hops > client.max_redirects:
        raise refuse(f"more than {client.max_redirects} redirects in a row", shown)
    method = request.method
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"  # as browsers (and fetch) do
    keeps_body = method == request.method and bool(request.content)
    left_origin = left_origin or not _trusted(origin, target)
    if left_origin and keeps_body:
        raise refuse(
            f"a {status} to another origin would re-send the request body (the conversation) "
            "there; not followed",
            shown,
        )
    headers = httpx.Headers(request.headers)
    # Recomputed by httpx for the new request (the client's cookie jar knows which of
    # its cookies the new URL may have).
    for name in ("host", "cookie", "content-length", "transfer-encoding"):
        headers.pop(name, None)
    if not keeps_body:
        headers.pop("content-type", None)
    if left_origin:
        _drop_credentials(headers)
    follow = client.build_request(
        method,
        target,
        headers=headers,
        content=request.content if keeps_body else None,
        cookies=None if left_origin else dict(cookie_items(cookies)) or None,
        extensions=dict(request.extensions),
    )
    if left_origin:
        # build_request merged in the client's default headers and its cookie jar.
        _drop_credentials(follow.headers)
    return follow, left_origin


def _drop_credentials(headers: httpx.Headers) -> None:
    for name in {name.lower() for name in headers}:
        if is_sensitive_header(name):
            del headers[name]


async def _status_failure(
    response: httpx.Response, *, idle: float | None, safe_url: str, scrubber: Scrubber
) -> OpenFailed:
    """The failure for a non-2xx response (which is closed here)."""
    try:
        text, truncated = await _error_body(response, idle)
    finally:
        await response.aclose()
    status_error = HTTPStatusError(
        response.status_code,
        response.reason_phrase,
        url=safe_url,
        headers=scrubber.headers(response.headers),
        body=scrubber.text(text, truncated=truncated),
        body_truncated=truncated,
    )
    return OpenFailed(
        status_error,
        retryable=is_retryable_status(response.status_code),
        retry_after=status_error.retry_after,
    )


async def _error_body(response: httpx.Response, idle: float | None) -> tuple[str, bool]:
    """The start of an error response's body, decoded, and whether it was cut short.

    Decoded in bounded steps like a stream's body: an error page is the server's
    text, and a compressed one must not expand without limit either.
    """
    collected = bytearray()
    truncated = False
    try:
        decoder = BodyDecoder(response.headers.get("content-encoding"))
        chunks = response.aiter_raw()
        # One wait for the whole excerpt, not one per read: a server trickling its
        # error page a byte at a time must not hold the request for an hour.
        async with asyncio.timeout(idle):
            while len(collected) <= ERROR_BODY_BYTES:
                piece = await anext(chunks, None)
                if piece is None:
                    break
                for decoded in decoder.decode(piece):
                    collected += decoded
                    if len(collected) > ERROR_BODY_BYTES:
                        break
    except (TimeoutError, httpx.RequestError, ContentEncodingError):
        truncated = True  # the status says enough; a body that stalls is not worth a wait
    if len(collected) > ERROR_BODY_BYTES:
        del collected[ERROR_BODY_BYTES:]
        truncated = True
    try:
        return bytes(collected).decode(response.charset_encoding or "utf-8", "replace"), truncated
    except LookupError:  # a charset Python does not know
        return bytes(collected).decode("utf-8", "replace"), truncated
