"""The default adapters' own client skips httpx's ``build_request``/``send`` bookkeeping.

For a client made by ``_pool.new_client()`` the request is built and handed to the
transport directly (issue 12: ~30 us of a conversation's setup). What goes on the wire
must be exactly what ``build_request`` + ``send`` would have sent; a client the user
passes in always goes through httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatconduit import ConnectError, FetchOptions, RunContext, fetch_server_sent_events
from chatconduit._connection import _pool
from chatconduit._connection._aiohttp import _client_timeout
from chatconduit._connection._options import resolve_options
from chatconduit._connection._request import (
    Prepared,
    Target,
    hydrate_target,
    join_target,
    prepare,
    run_target,
)
from servers import RunningServer, serve

CTX = RunContext(thread_id="thread-d", run_id="run-d")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]

HEADER_SETS: list[dict[str, str] | list[tuple[str, str]] | None] = [
    None,
    {"Authorization": "Bearer k-1", "X-Trace": "abc"},
    {"user-agent": "mine/1.0", "ACCEPT": "text/event-stream", "Accept-Encoding": "identity"},
    [("X-Repeat", "1"), ("x-repeat", "2"), ("Content-Type", "application/json; charset=utf-8")],
]


HEADER_SETS_OF_OWN_NAMES: list[dict[str, str] | list[tuple[str, str]] | None] = [
    # Names httpx fills in itself: such requests take the general path (see _request).
    {"Host": "elsewhere.example"},
    {"content-length": "2"},
    [("X-Trace", "abc"), ("Transfer-Encoding", "chunked")],
]

TARGETS = {
    "run": lambda options: run_target("sse", USER, None, CTX, options),
    "run, ndjson, no run context": lambda options: run_target("ndjson", USER, None, None, options),
    "join": lambda options: join_target("sse", "run-9", "12"),
    "hydrate": lambda options: hydrate_target("thread-d", 50, None),
}


async def _both(
    make_target: Any, headers: Any, url: str, last_event_id: str | None
) -> tuple[Prepared, Prepared]:
    """The request prepare() makes for a default client, and for a plain client with the
    same settings: not a default client, so prepare() calls build_request for it."""
    client = _pool.new_client()
    plain = httpx.AsyncClient(follow_redirects=True)
    try:
        options = await resolve_options({"headers": headers} if headers is not None else None)
        target = make_target(options)
        direct = prepare(target, url, options, client, last_event_id=last_event_id)
        reference = prepare(target, url, options, plain, last_event_id=last_event_id)
    finally:
        await plain.aclose()
        await client.aclose()
    assert _pool.is_default_client(client)
    assert not _pool.is_default_client(plain)
    return direct, reference


def _assert_same_request(direct: httpx.Request, reference: httpx.Request) -> None:
    assert direct.method == reference.method
    assert str(direct.url) == str(reference.url)
    assert direct.headers.raw == reference.headers.raw
    assert direct.content == reference.content
    assert direct.extensions == reference.extensions


@pytest.mark.parametrize("last_event_id", [None, "7"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("headers", HEADER_SETS + HEADER_SETS_OF_OWN_NAMES)
async def test_the_request_is_the_one_build_request_makes(
    headers: Any, target: str, last_event_id: str | None
) -> None:
    url = "http://127.0.0.1:9/chat?x=1"
    direct, reference = await _both(TARGETS[target], headers, url, last_event_id)
    _assert_same_request(direct.request, reference.request)
    assert direct.safe_url == reference.safe_url


async def test_requests_of_one_shape_share_nothing_they_change() -> None:
    """The second request of a shape comes from the remembered parts: still the same
    request as httpx's, with its own body, run id and header list."""
    client = _pool.new_client()
    try:
        options = await resolve_options({"headers": {"Authorization": "Bearer tok-12345"}})
        url = "http://127.0.0.1:9/chat"
        first = prepare(run_target("sse", USER, None, CTX, options), url, options, client)
        other = RunContext(thread_id="thread-e", run_id="run-e")
        second = prepare(
            run_target("sse", USER, None, other, options), url, options, client, last_event_id="3"
        )
        assert first.request.headers["x-run-id"] == "run-d"
        assert second.request.headers["x-run-id"] == "run-e"
        assert "last-event-id" not in first.request.headers
        assert second.request.headers["last-event-id"] == "3"
        assert b"run-e" in second.request.content and b"run-e" not in first.request.content
        second.request.headers["X-Later"] = "1"
        assert "x-later" not in first.request.headers
        third = prepare(run_target("sse", USER, None, CTX, options), url, options, client)
        assert third.request.headers.raw == first.request.headers.raw
        # The shape's secrets are the request's.
        for prepared in (first, second, third):
            assert "tok-12345" not in prepared.scrubber.text("echo: tok-12345 and Bearer tok-12345")
    finally:
        await client.aclose()


async def test_headers_given_once_as_an_iterator_reach_every_request() -> None:
    """FetchOptions keeps a one-shot iterable of headers as a tuple: every request of the
    run has them (a retry or a resume reads them again), on both paths."""
    pairs = [("X-Trace", "abc"), ("Authorization", "Bearer tok-12345")]
    url = "http://127.0.0.1:9/chat"
    for attempt in range(2):  # the shape is made, then found
        direct, reference = await _both(TARGETS["run"], iter(pairs), url, None)
        _assert_same_request(direct.request, reference.request)
        assert direct.request.headers["x-trace"] == "abc", attempt
        assert "tok-12345" not in direct.scrubber.text("echo tok-12345")
    options = FetchOptions(headers=iter(pairs))
    assert "X-Trace" in repr(options)  # the repr reads them too
    assert options.headers == tuple(pairs)


async def test_a_secret_the_target_adds_is_known_to_the_scrubber() -> None:
    """A per-request header that is a credential is not left out of the request's
    secrets (such a target takes the general path)."""
    client = _pool.new_client()
    try:
        options = await resolve_options(None)
        target = Target("POST", "text/event-stream", b"{}", headers=(("X-Api-Key", "sk-12345"),))
        prepared = prepare(target, "http://127.0.0.1:9/chat", options, client)
        assert prepared.request.headers["x-api-key"] == "sk-12345"
        assert "sk-12345" not in prepared.scrubber.text("key sk-12345")
    finally:
        await client.aclose()


class HeaderEcho:
    """Streams one run and remembers each request's raw header list."""

    def __init__(self) -> None:
        self.seen: list[list[tuple[bytes, bytes]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        self.seen.append(list(scope["headers"]))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        body = (
            b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n'
            b'data: {"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}\n\n'
            b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"ok"}\n\n'
            b'data: {"type":"TEXT_MESSAGE_END","messageId":"m"}\n\n'
            b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def echo_server() -> Iterator[tuple[HeaderEcho, RunningServer]]:
    app = HeaderEcho()
    with serve(app) as server:
        yield app, server


async def _deltas(adapter: Any) -> list[str]:
    return [
        event.delta
        async for event in adapter.connect(USER, None, None, CTX)
        if event.type == "TEXT_MESSAGE_CONTENT"
    ]


async def test_the_server_sees_the_same_headers_as_through_httpx_send(
    echo_server: tuple[HeaderEcho, RunningServer],
) -> None:
    app, server = echo_server
    app.seen.clear()
    url = server.url + "/chat"
    headers = {"Authorization": "Bearer k-2", "user-agent": "mine/2.0"}
    assert await _deltas(fetch_server_sent_events(url, {"headers": headers})) == ["ok"]
    # The reference: a client of the same kind, passed in, so httpx's send() carries it.
    own = _pool.new_client()
    _pool._default_clients.discard(own)
    try:
        options = FetchOptions(headers=headers, client=own)
        assert await _deltas(fetch_server_sent_events(url, options)) == ["ok"]
    finally:
        await own.aclose()
    direct, reference = app.seen
    assert direct == reference


async def test_the_default_client_does_not_go_through_send(
    echo_server: tuple[HeaderEcho, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut is really taken: with httpx's send() broken, default adapters still
    stream, and a client passed in (which must use send()) fails."""
    _, server = echo_server
    url = server.url + "/chat"

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise httpx.ConnectError("send() was called")

    monkeypatch.setattr(httpx.AsyncClient, "send", broken)
    assert await _deltas(fetch_server_sent_events(url)) == ["ok"]
    own = httpx.AsyncClient()
    try:
        options = FetchOptions(client=own, retry=False)
        with pytest.raises(Exception, match=r"send\(\) was called"):
            await _deltas(fetch_server_sent_events(url, options))
    finally:
        await own.aclose()


async def test_user_info_in_the_url_still_becomes_basic_auth(
    echo_server: tuple[HeaderEcho, RunningServer],
) -> None:
    app, server = echo_server
    app.seen.clear()
    url = server.url.replace("http://", "http://alice:pw-1@") + "/chat"
    assert await _deltas(fetch_server_sent_events(url)) == ["ok"]
    (seen,) = app.seen
    assert (b"authorization", b"Basic YWxpY2U6cHctMQ==") in seen


async def test_a_closed_default_client_is_replaced_not_used() -> None:
    client = _pool.new_client()
    await client.aclose()
    assert _pool.default_client_transport(client, httpx.URL("http://127.0.0.1/")) is None
    await asyncio.sleep(0)


async def test_connect_timeout_bounds_opening_the_connection() -> None:
    """A server whose listen backlog is full never completes the handshake:
    ``connect_timeout`` ends the attempt (aiohttp's ``connect`` alone carries it, see
    ``_aiohttp._client_timeout``)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # fill the backlog; later handshakes are left unanswered
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        adapter = fetch_server_sent_events(
            f"http://127.0.0.1:{port}/chat", FetchOptions(connect_timeout=0.3, retry=False)
        )

        async def drain() -> None:
            async for _ in adapter.connect(USER):
                pass

        with pytest.raises(ConnectError, match=r"timed out connecting to .*ConnectTimeout"):
            await asyncio.wait_for(drain(), 30)  # a guard against a hang, not a speed claim
    finally:
        for sock in (listener, *fillers):
            sock.close()


@pytest.mark.parametrize(
    ("pool", "connect", "pooled", "expected"),
    [
        (5.0, 5.0, False, (5.0, None)),  # no pool wait: connect alone bounds the opening
        (5.0, 5.0, True, (5.0, 5.0)),
        (9.0, 5.0, False, (9.0, 5.0)),
        (None, None, False, (None, None)),
    ],
)
def test_httpx_timeouts_as_aiohttp_ones(
    pool: float | None, connect: float | None, pooled: bool, expected: tuple[Any, Any]
) -> None:
    timeout = _client_timeout(pool, connect, None, pooled=pooled)
    assert (timeout.connect, timeout.sock_connect) == expected
    assert timeout.total is None and timeout.sock_read is None
