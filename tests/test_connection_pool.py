"""The client the default HTTP adapters share: one per event loop, no per-adapter cost.

An internal on purpose (``chatconduit._connection._pool``): what is shared, when it
is made, and when it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import ssl
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatconduit import FetchOptions, RunContext, fetch_http_stream, fetch_server_sent_events
from chatconduit._connection import _pool
from servers import RunningServer, serve

CTX = RunContext(thread_id="thread-p", run_id="run-p")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]
DELTAS = 50


def run_events(n: int, tag: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "runId": tag, "threadId": "t"},
        {"type": "TEXT_MESSAGE_START", "messageId": tag, "role": "assistant"},
    ]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": tag, "delta": f"{tag}:{i} "} for i in range(n)
    ]
    events += [
        {"type": "TEXT_MESSAGE_END", "messageId": tag},
        {"type": "RUN_FINISHED", "runId": tag, "threadId": "t"},
    ]
    return events


class StreamApp:
    """Streams ``DELTAS`` deltas tagged with the request's ``?tag=``, as SSE or NDJSON.

    ``hold_until`` responses wait (up to 20 s) until that many requests are open at
    once, so a pool that queued requests would show as fewer concurrent streams.
    """

    def __init__(self) -> None:
        self.hold_until = 0
        self.open = 0
        self.most_open = 0
        self.requests = 0
        self._all_in: asyncio.Event | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        self.requests += 1
        query = dict(
            part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
        )
        tag = query.get("tag", "x")
        ndjson = query.get("framing") == "ndjson"
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            if self.hold_until:
                if self._all_in is None:
                    self._all_in = asyncio.Event()
                if self.open >= self.hold_until:
                    self._all_in.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._all_in.wait(), 20)
            kind = b"application/x-ndjson" if ndjson else b"text/event-stream"
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]}
            )
            for event in run_events(DELTAS, tag):
                data = json.dumps(event).encode()
                body = data + b"\n" if ndjson else b"data: " + data + b"\n\n"
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            self.open -= 1


@pytest.fixture(scope="module")
def app_server() -> Iterator[tuple[StreamApp, RunningServer]]:
    app = StreamApp()
    with serve(app, backlog=2048) as server:
        yield app, server


@pytest.fixture
def app(app_server: tuple[StreamApp, RunningServer]) -> StreamApp:
    app_server[0].hold_until = 0
    app_server[0]._all_in = None
    return app_server[0]


@pytest.fixture
def url(app_server: tuple[StreamApp, RunningServer]) -> str:
    return app_server[1].url + "/run"


async def deltas(adapter: Any, tag: str = "x") -> list[str]:
    out: list[str] = []
    async for event in adapter.connect(USER, None, None, CTX):
        if event.type == "TEXT_MESSAGE_CONTENT":
            out.append(event.delta)
    return out


class SSLContextCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = ssl.SSLContext.__new__

        def counting_new(cls: type[ssl.SSLContext], *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(ssl.SSLContext, "__new__", counting_new)


async def test_default_adapters_on_a_loop_share_one_client_and_no_new_ssl_context(
    app: StreamApp, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Made once per process, before counting: ours, and aiohttp's two at its import.
    _pool.shared_ssl_context()
    import chatconduit._connection._aiohttp  # noqa: F401

    counter = SSLContextCounter(monkeypatch)
    adapters = [
        (fetch_server_sent_events if i % 2 else fetch_http_stream)(
            f"{url}?tag=a{i}&framing={'sse' if i % 2 else 'ndjson'}"
        )
        for i in range(100)
    ]
    results = await asyncio.gather(*(deltas(a) for a in adapters))
    assert all(len(r) == DELTAS for r in results)
    assert counter.count == 0
    clients = {id(a._client_for(FetchOptions())) for a in adapters}
    assert len(clients) == 1
    assert _pool.shared_client() is adapters[0]._client_for(FetchOptions())
    # Closing one adapter leaves the shared client to the others.
    await adapters[0].aclose()
    assert not _pool.shared_client().is_closed
    assert len(await deltas(adapters[1])) == DELTAS
    with pytest.raises(RuntimeError, match="closed"):
        await deltas(adapters[0])


def test_a_loop_shut_down_by_asyncio_run_closes_and_frees_its_client(url: str) -> None:
    async def use() -> tuple[weakref.ref[Any], httpx.AsyncClient]:
        got = await deltas(fetch_server_sent_events(url + "?tag=r"))
        assert len(got) == DELTAS
        return weakref.ref(asyncio.get_running_loop()), _pool.shared_client()

    loop_ref, client = asyncio.run(use())
    assert client.is_closed
    del client
    gc.collect()
    assert loop_ref() is None
    assert all(not loop.is_closed() for loop in list(_pool._clients))


def test_a_loop_closed_without_shutdown_is_forgotten_at_the_next_client(url: str) -> None:
    loop = asyncio.new_event_loop()

    async def use() -> httpx.AsyncClient:
        assert len(await deltas(fetch_http_stream(url + "?tag=c&framing=ndjson"))) == DELTAS
        return _pool.shared_client()

    first = loop.run_until_complete(use())
    loop.close()  # no shutdown_asyncgens(): the closer never ran
    loop_ref = weakref.ref(loop)
    del loop
    assert asyncio.run(use()) is not first
    del first
    gc.collect()
    assert loop_ref() is None


async def test_aclose_shared_client_closes_it_and_the_next_request_makes_another(
    app: StreamApp, url: str
) -> None:
    adapter = fetch_server_sent_events(url + "?tag=s")
    assert len(await deltas(adapter)) == DELTAS
    first = _pool.shared_client()
    await _pool.aclose_shared_client()
    assert first.is_closed
    assert len(await deltas(adapter)) == DELTAS
    assert _pool.shared_client() is not first


async def test_a_client_you_pass_is_used_untouched(app: StreamApp, url: str) -> None:
    loop = asyncio.get_running_loop()
    assert loop not in _pool._clients
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.params["tag"])

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as client:
        transport = client._transport
        adapter = fetch_server_sent_events(url + "?tag=mine", FetchOptions(client=client))
        assert len(await deltas(adapter)) == DELTAS
        await adapter.aclose()
        assert not client.is_closed
        assert client._transport is transport
        assert isinstance(transport, httpx.AsyncHTTPTransport)
    assert seen == ["mine"]
    assert loop not in _pool._clients  # no shared client was made for it


async def test_200_concurrent_streams_all_complete_with_no_event_lost(
    app: StreamApp, url: str
) -> None:
    n = 200
    app.hold_until = n  # every response waits until all 200 requests are in
    adapters = [
        (fetch_server_sent_events if i % 2 else fetch_http_stream)(
            f"{url}?tag=c{i}&framing={'sse' if i % 2 else 'ndjson'}"
        )
        for i in range(n)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(deltas(a) for a in adapters)), 60)
    assert app.most_open >= n  # all open at once: the pool queued none
    for i, got in enumerate(results):
        assert got == [f"c{i}:{k} " for k in range(DELTAS)]
