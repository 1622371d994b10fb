"""aiohttp under httpx: the transport of the shared default client (see ``_pool``).

An ``httpx.Request`` goes in, an ``httpx.Response`` streaming aiohttp's raw,
undecoded body comes out, so everything above (``_send``, the reader, redirects,
``_encoding``) works on httpx types whatever carries the bytes. This is the bridge
``httpx-aiohttp`` provides, written out here because that package re-encodes the
url (yarl turns ``%3A`` in a query back into ``:``, and a signed url must keep its
exact bytes), refuses a url with user info next to the ``Authorization`` httpx
made of it, and maps a lost connection to ``ConnectTimeout``.

- The ``aiohttp.ClientSession`` has no connection limit (a stream holds its
  connection for its whole life), no cookie jar (the client is shared by every
  conversation of the loop), the process's one SSL context, and no decompression
  (``_encoding`` decodes in bounded steps). It is made on the loop of the first
  request.
- Failures become the httpx exception httpcore raises for the same event, so they
  are classified as they always were.
- Closing a response whose body is unfinished closes its connection (the server
  sees the disconnect); a finished one goes back to the pool.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from ._encoding import BodyDecoder, content_encoding

__all__ = ["AiohttpTransport"]


def _mapped(exc: aiohttp.ClientError, *, reading: bool) -> httpx.TransportError:
    """The httpx error httpcore would raise for this aiohttp failure."""
    message = str(exc) or type(exc).__name__
    error: httpx.TransportError
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        error = httpx.ProxyError(message)
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        error = httpx.ConnectError(message)
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        error = httpx.ReadTimeout(message)
    elif isinstance(exc, aiohttp.ServerTimeoutError):  # connect or pool timeout
        error = httpx.ConnectTimeout(message)
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        error = httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
            if reading
            else "Server disconnected without sending a response."
        )
    elif isinstance(exc, aiohttp.ClientPayloadError):
        # A body cut short (content-length or chunked framing unfinished).
        error = httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body ({message})"
        )
    elif isinstance(exc, aiohttp.ClientOSError):
        error = httpx.ReadError(message) if reading else httpx.ConnectError(message)
    elif isinstance(exc, aiohttp.InvalidURL):
        error = httpx.UnsupportedProtocol(message)
    elif isinstance(exc, aiohttp.ClientResponseError):  # not HTTP the parser accepts
        error = httpx.RemoteProtocolError(message)
    else:
        error = httpx.ReadError(message) if reading else httpx.ConnectError(message)
    return error


def _header_text(value: bytes) -> str:
    """A header value as aiohttp wants it: text it encodes back as UTF-8."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - httpx encodes str values as UTF-8
        return value.decode("latin-1")


def _headers(raw: list[tuple[bytes, bytes]], *, has_body: bool) -> CIMultiDict[str]:
    """The request's headers for aiohttp (which sets Transfer-Encoding itself for a body).
    A function of its own: made inline, the coroutine below would keep what it made them
    with (a cell, or a list of pairs) alive while the response streams."""
    return CIMultiDict(
        [
            (name.decode("latin-1"), _header_text(value))
            for name, value in raw
            if not (has_body and name.lower() == b"transfer-encoding")
        ]
    )


class _Body(httpx.AsyncByteStream):
    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _mapped(exc, reading=True) from exc

    async def chatconduit_decoded(self, response: httpx.Response) -> AsyncGenerator[bytes, None]:
        """``_encoding.decoded_body(response)`` for a response with this body, read in
        one generator: what httpx's ``aiter_raw`` (over :meth:`__aiter__`) does for
        us, inline. It marks the response consumed, attaches the request to a read
        error and closes the response at the end of the body; it skips the byte count.
        """
        decoder = BodyDecoder(content_encoding(response))  # refused: at the first step
        response.is_stream_consumed = True
        try:
            async for raw in self._response.content.iter_any():
                for piece in decoder.decode(raw):
                    yield piece
        except aiohttp.ClientError as exc:
            error = _mapped(exc, reading=True)
            error.request = response.request
            raise error from exc
        for piece in decoder.flush():
            yield piece
        await response.aclose()

    async def aclose(self) -> None:
        self._response.release()


@functools.lru_cache(maxsize=256)
def _target(scheme: str, netloc: bytes, raw_path: bytes) -> URL:
    """The url aiohttp is given: exactly the bytes httpx would send (no re-encoding),
    without the user info httpx has already turned into an Authorization header.
    Remembered: an app's conversations go to a few urls, and a yarl URL is immutable."""
    return URL(f"{scheme}://{netloc.decode('ascii')}{raw_path.decode('ascii')}", encoded=True)


@functools.lru_cache(maxsize=64)
def _client_timeout(
    pool: float | None, connect: float | None, read: float | None, *, pooled: bool
) -> aiohttp.ClientTimeout:
    """httpx's timeouts as aiohttp's (immutable, so shared). aiohttp's ``connect`` bounds
    getting a connection: the wait for a free one in a limited pool, then opening it
    (its ``sock_connect`` bounds the opening alone). Without a limit there is no wait,
    so when both are the same, ``connect`` alone says it: one timer per request
    instead of two nested ones."""
    if not pooled and pool == connect:
        return aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over one ``aiohttp.ClientSession``."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self._ssl = ssl_context
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,  # 0: no limit
                limit_per_host=0,
                keepalive_timeout=self._limits.keepalive_expiry or 15.0,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_now()
        url = request.url
        target = _target(url.scheme, url.netloc, url.raw_path)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
        try:
            response = await session.request(
                request.method,
                target,
                # Not kept in a variable: aiohttp copies it, and this frame outlives the call.
                headers=_headers(request.headers.raw, has_body=data is not None),
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                compress=None,
                server_hostname=request.extensions.get("sni_hostname"),
                timeout=_client_timeout(
                    timeout.get("pool"),
                    timeout.get("connect"),
                    timeout.get("read"),
                    pooled=bool(self._limits.max_connections),
                ),
            )
        except aiohttp.ClientError as exc:
            raise _mapped(exc, reading=False) from exc
        version = response.version
        http_version = f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1"
        extensions: dict[str, Any] = {"http_version": http_version.encode("ascii")}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
