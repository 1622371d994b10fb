"""The default adapters' own client skips httpx's ``build_request``/``send`` bookkeeping.

For a client made by ``_pool.new_client()`` the request is built and handed to the
transport directly (issue 12: ~30 us of a conversation's setup). What goes on the wire
must be exactly what ``build_request`` + ``send`` would have sent; a client the user
passes in always goes through httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatconduit import FetchOptions, RunContext, fetch_server_sent_events
from chatconduit._connection import _pool
from chatconduit._connection._options import resolve_options
from chatconduit._connection._request import prepare, run_target
from servers import RunningServer, serve

CTX = RunContext(thread_id="thread-d", run_id="run-d")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]

HEADER_SETS: list[dict[str, str] | list[tuple[str, str]] | None] = [
    None,
    {"Authorization": "Bearer k-1", "X-Trace": "abc"},
    {"user-agent": "mine/1.0", "ACCEPT": "text/event-stream", "Accept-Encoding": "identity"},
    [("X-Repeat", "1"), ("x-repeat", "2"), ("Content-Type", "application/json; charset=utf-8")],
]


@pytest.mark.parametrize("headers", HEADER_SETS)
async def test_the_request_is_the_one_build_request_makes(headers: Any) -> None:
    client = _pool.new_client()
    try:
        options = await resolve_options({"headers": headers} if headers is not None else None)
        target = run_target("sse", USER, None, CTX, options)
        url = "http://127.0.0.1:9/chat?x=1"
        direct = prepare(target, url, options, client, last_event_id="7").request
        assert _pool.is_default_client(client)
        # The same request through httpx's own path: a plain client with the same
        # settings is not a default client, so prepare() calls build_request for it.
        plain = httpx.AsyncClient(follow_redirects=True)
        try:
            reference = prepare(target, url, options, plain, last_event_id="7").request
        finally:
            await plain.aclose()
        assert not _pool.is_default_client(plain)
        assert direct.method == reference.method
        assert str(direct.url) == str(reference.url)
        assert direct.headers.raw == reference.headers.raw
        assert direct.content == reference.content
        assert direct.extensions == reference.extensions
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
