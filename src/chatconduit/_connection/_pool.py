"""The HTTP client the default adapters share: one per event loop, over aiohttp.

An adapter made without ``FetchOptions.client`` used to build its own
``httpx.AsyncClient``, and with it a pool and an SSL context (~25 ms of CPU and
~1 MB, even for ``http://``): 1,000 conversations cost 26 s and 931 MB before a
byte was sent. Now every such adapter on a loop uses the loop's one client:

- created lazily, on the first request made on that loop, and kept in a table
  keyed weakly by the loop;
- closed when the loop shuts down (``asyncio.run``, ``asyncio.Runner`` and the
  sync client's loop thread all call ``loop.shutdown_asyncgens()``, which closes
  the async generator registered here for that purpose), by
  :func:`aclose_shared_client`, or at interpreter exit; a loop closed without that
  shutdown is dropped from the table the next time a client is made;
- one SSL context for the whole process (``ssl.SSLContext`` is safe to share
  between threads and loops);
- no cookie jar: the client is shared by every conversation on the loop, so a
  cookie one server set must not ride along with another conversation's
  requests (``FetchOptions.cookies`` are still sent; bring your own client for a
  jar).

What carries the bytes is aiohttp, under httpx (``_aiohttp``: an httpx transport
over one ``aiohttp.ClientSession``; httpx stays the interface: requests,
responses, errors). httpcore's pool does work per request in proportion to the
connections it holds: one client shared by 1,000 concurrent streams took 22 s in
``benchmarks/bench_sockets.py``, this one 1.5 s (see ``benchmarks/README.md``).
Without aiohttp installed the client falls back to httpx's own transport with an
unbounded pool. A client passed in
``FetchOptions.client`` is used as it is, whatever its transport.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import http.cookiejar
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from ._options import DEFAULT_CONNECT_TIMEOUT

__all__ = [
    "DEFAULT_LIMITS",
    "aclose_shared_client",
    "default_client_transport",
    "is_default_client",
    "new_client",
    "shared_client",
    "shared_ssl_context",
]

# A stream holds its connection for its whole life, so the pool must not be the
# limit (httpx's default of 100 queued the 101st concurrent stream until another
# ended); the operating system's file descriptors are. Idle connections are kept
# for the next turn of a chat.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=None, max_keepalive_connections=100, keepalive_expiry=30.0
)

_lock = threading.RLock()  # loops of several threads (the sync client's) share the table
_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """The process's one SSL context for default clients (httpx's defaults: certifi,
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``), made on first use."""
    global _ssl_context
    if _ssl_context is None:
        with _lock:
            if _ssl_context is None:
                _ssl_context = httpx.create_ssl_context()
    return _ssl_context


class _NoCookies(http.cookiejar.CookiePolicy):
    """Accept no cookie from a response, send none from the jar (it stays empty)."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class _DiscardedCookies(httpx.Cookies):
    """An always-empty jar that does not even look at a response's ``Set-Cookie``
    (httpx builds a ``urllib`` request per response for that: ~0.1 ms a stream)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _transport() -> httpx.AsyncBaseTransport | None:
    """The aiohttp transport, or ``None`` (httpx's own) when aiohttp is missing."""
    try:
        from ._aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        return None
    return AiohttpTransport(shared_ssl_context(), DEFAULT_LIMITS)


def new_client() -> httpx.AsyncClient:
    """A client configured as the default adapters' (the shared one is made here).

    It follows redirects, as ``fetch()`` does, so the reference's users rely on it
    (``_send.open_stream`` follows them itself by safer rules)."""
    client = httpx.AsyncClient(
        transport=_transport(),
        verify=shared_ssl_context(),  # for the proxies httpx mounts from the environment
        limits=DEFAULT_LIMITS,
        follow_redirects=True,
        timeout=httpx.Timeout(DEFAULT_CONNECT_TIMEOUT, read=None, write=None),
    )
    # httpx copies whatever jar it is given into a plain one, so ours is set after.
    client._cookies = _DiscardedCookies(http.cookiejar.CookieJar(policy=_NoCookies()))
    _default_clients.add(client)
    return client


# Clients made by new_client(): no auth, no event hooks, an always-empty jar, no base url or
# params. For them, and a url without user:password, httpx's send() adds nothing to an
# exchange but its own bookkeeping (auth and redirect wrappers, a timing stream, an INFO log
# line with the full url), so the
# senders hand such requests straight to the transport httpx would pick (measured: ~30 us
# of a conversation's setup; see benchmarks/README.md, round 4). A client the user passes
# in is never in here and always goes through send().
_default_clients: weakref.WeakSet[httpx.AsyncClient] = weakref.WeakSet()


def is_default_client(client: httpx.AsyncClient) -> bool:
    """Whether ``client`` was made by :func:`new_client` (see ``_default_clients``)."""
    return client in _default_clients


def default_client_transport(
    client: httpx.AsyncClient, url: httpx.URL
) -> httpx.AsyncBaseTransport | None:
    """The transport a default client would use for ``url`` (a proxy's one when the
    environment names a proxy), or ``None`` for any other client, or when this httpx no
    longer has the lookup (then the caller goes through ``send()``)."""
    if client not in _default_clients or client.is_closed or url.userinfo:
        return None  # (send() turns a url's user:password into Basic auth)
    pick = getattr(client, "_transport_for_url", None)
    return pick(url) if pick is not None else None


class _Shared:
    """A loop's client, and the async generator whose closing closes it."""

    __slots__ = ("__weakref__", "client", "closer", "done")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.closer: AsyncGenerator[None, None] | None = None
        self.done = False


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = (
    weakref.WeakKeyDictionary()
)


def shared_client() -> httpx.AsyncClient:
    """The running loop's shared client, made on first use."""
    loop = asyncio.get_running_loop()
    entry = _clients.get(loop)
    if entry is not None and not entry.client.is_closed:
        return entry.client
    with _lock:
        _forget_closed_loops()
        entry = _Shared(new_client())
        _clients[loop] = entry
    entry.closer = _close_at_shutdown(loop, entry)
    # Run it to its first ``yield``: the loop's first-iteration hook now lists it,
    # and ``shutdown_asyncgens()`` will close it, running its ``finally``.
    with contextlib.suppress(StopIteration):
        entry.closer.asend(None).send(None)
    return entry.client


async def _close_at_shutdown(
    loop: asyncio.AbstractEventLoop, entry: _Shared
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if not entry.done:
            entry.done = True
            if _clients.get(loop) is entry:
                del _clients[loop]
            await entry.client.aclose()


async def aclose_shared_client() -> None:
    """Close the running loop's shared client now (the next request makes a new one).

    Not needed with ``asyncio.run``: the client is closed as its loop shuts down."""
    entry = _clients.pop(asyncio.get_running_loop(), None)
    if entry is None:
        return
    _retire(entry)
    await entry.client.aclose()


def _retire(entry: _Shared) -> None:
    """Finish the entry's closer here, its ``finally`` doing nothing: left for the
    garbage collector, it would ask its loop (maybe closed by now) to close it."""
    entry.done = True
    closer, entry.closer = entry.closer, None
    if closer is not None:
        with contextlib.suppress(StopIteration, RuntimeError):
            closer.aclose().send(None)


def _forget_closed_loops() -> None:
    for loop in [loop for loop in list(_clients) if loop.is_closed()]:
        entry = _clients.pop(loop, None)
        if entry is not None:
            _retire(entry)  # its loop is gone; its sockets go with the client


@atexit.register
def _close_all_at_exit() -> None:
    for loop, entry in list(_clients.items()):
        client = entry.client
        if client.is_closed or loop.is_closed():
            continue
        with contextlib.suppress(Exception):
            if loop.is_running():  # another thread's loop
                asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=1.0)
            else:
                loop.run_until_complete(client.aclose())
    _clients.clear()
