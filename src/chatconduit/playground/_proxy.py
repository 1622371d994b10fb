"""The playground's CORS proxy: the page's request forwarded to the backend it names.

Browsers block a page from reading a backend on another origin that sends no CORS
headers; the proxy makes the request from the server instead. The target URL travels
in the ``X-Chatconduit-Target`` header, not the path or query, so access logs never
show it (it may carry a key). Nothing here logs headers or bodies. The response is
streamed back as it arrives; when the backend drops mid-answer the browser's
response is cut too (not ended cleanly), so a resumable client sees the drop and
reconnects with ``Last-Event-ID`` as it would without the proxy. A request naming a
protocol in ``X-Chatconduit-Protocol`` (``vercel``, ``openai``) is bridged instead
(``_bridge``): the target is read with our bridge adapters and answered as AG-UI.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._bridge import MODEL_HEADER, PROTOCOL_HEADER, bridge_response

__all__ = ["MAX_PROXY_BODY_BYTES", "TARGET_HEADER", "PlaygroundProxy"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TARGET_HEADER = "x-chatconduit-target"
MAX_PROXY_BODY_BYTES = 4 * 1024 * 1024
"""Largest request body forwarded (a long conversation fits; more is a 413)."""

# Not forwarded upstream: hop-by-hop headers, what httpx sets itself, and what belongs
# to the playground's own origin (its cookies must not reach a third party).
_DROPPED_REQUEST = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "content-length",
        "accept-encoding",
        "cookie",
        "origin",
        "referer",
        TARGET_HEADER,
        PROTOCOL_HEADER,
        MODEL_HEADER,
    }
)
_KEPT_RESPONSE = frozenset({"content-type", "cache-control", "retry-after", "www-authenticate"})


async def _plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


def _header(scope: Scope, wanted: str) -> str:
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == wanted:
            return str(value.decode("latin-1"))
    return ""


def _target(scope: Scope) -> str:
    return _header(scope, TARGET_HEADER)


def _is_http_url(target: str) -> bool:
    try:
        parts = urlsplit(target)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


class PlaygroundProxy:
    """An ASGI route: forwards the request to the URL in ``X-Chatconduit-Target``."""

    def __init__(self, *, timeout: float = 300.0) -> None:
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"PlaygroundProxy(timeout={self.timeout!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _target(scope)
        if not _is_http_url(target):
            await _plain(
                send,
                400,
                f"playground proxy: the {TARGET_HEADER} header must be an http(s) URL",
            )
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_PROXY_BODY_BYTES:
                await _plain(send, 413, f"playground proxy: body over {MAX_PROXY_BODY_BYTES} bytes")
                return
            if not message.get("more_body", False):
                break
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
            if name.decode("latin-1").lower() not in _DROPPED_REQUEST
        ]
        bridge = _header(scope, PROTOCOL_HEADER)
        if bridge:
            response = await bridge_response(
                bridge,
                target,
                headers,
                bytes(body),
                model=_header(scope, MODEL_HEADER),
                read_timeout=self.timeout,
            )
            await response(scope, receive, send)
            return
        forward = asyncio.ensure_future(
            self._forward(scope["method"], target, headers, bytes(body), send)
        )
        gone = asyncio.ensure_future(self._disconnected(receive))
        try:
            await asyncio.wait({forward, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (forward, gone):
                task.cancel()
            for task in (forward, gone):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if forward.done() and not forward.cancelled():
            forward.result()

    @staticmethod
    async def _disconnected(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, send: Send
    ) -> None:
        timeout = httpx.Timeout(self.timeout, connect=10.0)
        # trust_env=False: no ~/.netrc credentials or environment proxies for URLs the
        # page chose; only what the page sent goes out.
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            try:
                request = client.build_request(method, target, headers=headers, content=body)
                response = await client.send(request, stream=True)
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                # The error's class, not its text: the text can quote the URL (and a key in it).
                await _plain(
                    send,
                    502,
                    f"playground proxy: the backend could not be reached ({type(exc).__name__})",
                )
                return
            try:
                kept = [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.headers.items()
                    if name.lower() in _KEPT_RESPONSE
                ]
                await send(
                    {"type": "http.response.start", "status": response.status_code, "headers": kept}
                )
                try:
                    async for chunk in response.aiter_bytes():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except httpx.HTTPError:
                    # The backend dropped: return without ending the body, so the server
                    # closes the browser's connection mid-response too.
                    return
                await send({"type": "http.response.body", "body": b""})
            finally:
                await response.aclose()
