"""The demo ASGI app under a real uvicorn: routes, framings, auth, durability, CORS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from chatconduit._codec._sse import SSEDecoder
from chatconduit.cli._serve import listening_socket, server_config
from chatconduit.demo import create_app
from servers import RunningServer, serve

BODY = json.loads(
    (Path(__file__).parent / "fixtures/tanstack-0.10/requests/sse-first-turn.body.json").read_text()
)


def with_text(text: str, run_id: str = "run-app") -> dict[str, Any]:
    parts = [{"type": "text", "content": text}]
    message = {"id": "u1", "role": "user", "parts": parts, "content": text}
    return {**BODY, "runId": run_id, "messages": [message]}


def sse_events(data: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [json.loads(m.data) for m in decoder.feed(data) + decoder.finish()]


def ndjson_events(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.split(b"\n") if line]


def shape(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Events without their timestamps, for comparing two runs."""
    return [
        (e["type"], json.dumps({k: v for k, v in e.items() if k != "timestamp"})) for e in events
    ]


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(
        create_app(delay=0, api_key="demo-key", cors_origins=["http://localhost:5173"])
    ) as srv:
        yield srv


AUTH = {"Authorization": "Bearer demo-key"}


def test_info_and_health(demo: RunningServer) -> None:
    info = httpx.get(demo.url).json()
    assert info["endpoints"] == {
        "sse": "/api/chat/sse",
        "ndjson": "/api/chat/ndjson",
        "ws": "/api/chat/ws",
        "vercel": "/api/chat/vercel",
        "health": "/health",
    }
    assert info["auth"] == "bearer" and info["durable"] is False
    assert "calculator" in info["tools"]
    assert httpx.get(f"{demo.url}/health").json() == {"status": "ok"}


def test_sse_and_ndjson_carry_the_same_events(demo: RunningServer) -> None:
    body = with_text("what is 6*7")
    sse = httpx.post(f"{demo.url}/api/chat/sse", json=body, headers=AUTH)
    ndjson = httpx.post(f"{demo.url}/api/chat/ndjson", json=body, headers=AUTH)
    assert sse.headers["content-type"] == "text/event-stream"
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    sse_list, ndjson_list = sse_events(sse.content), ndjson_events(ndjson.content)
    assert shape(sse_list) == shape(ndjson_list)
    assert any(e.get("result") == '{"expression":"6*7","result":42}' for e in sse_list)


def test_the_chat_routes_need_the_key(demo: RunningServer) -> None:
    for path in ("/api/chat/sse", "/api/chat/ndjson"):
        missing = httpx.post(f"{demo.url}{path}", json=with_text("hi"))
        wrong = httpx.post(
            f"{demo.url}{path}", json=with_text("hi"), headers={"Authorization": "Bearer x"}
        )
        assert missing.status_code == wrong.status_code == 401
        assert "demo-key" not in missing.text + wrong.text


def test_a_bad_body_is_a_400(demo: RunningServer) -> None:
    response = httpx.post(f"{demo.url}/api/chat/sse", json={"messages": 5}, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["errors"]


def test_cors_preflight(demo: RunningServer) -> None:
    response = httpx.options(
        f"{demo.url}/api/chat/sse",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_durable_demo_serves_ids_and_joins() -> None:
    with serve(create_app(delay=0, durable=True, heartbeat=0)) as srv:
        first = httpx.post(f"{srv.url}/api/chat/sse", json=with_text("hello", "run-d"))
        decoder = SSEDecoder()
        ids = [m.id for m in decoder.feed(first.content) + decoder.finish()]
        assert ids == [str(i) for i in range(len(ids))] and len(ids) > 5
        joined = httpx.get(f"{srv.url}/api/chat/sse", params={"runId": "run-d", "offset": "-1"})
        assert joined.content == first.content
        assert httpx.get(srv.url).json()["durable"] is True


# --- how `chatconduit serve` / `demo` listen -------------------------------------------------


@contextlib.contextmanager
def cli_server(app: Any) -> Iterator[tuple[uvicorn.Server, int]]:
    """``app`` served the way ``chatconduit serve`` serves it: its socket, its config."""
    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        for _ in range(1000):
            if server.started:
                break
            time.sleep(0.01)
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_served_connections_have_tcp_nodelay() -> None:
    """Without TCP_NODELAY every kept-alive request after the first waited ~40 ms
    (Nagle's algorithm against delayed ACKs). Checked on the server's own sockets."""
    with cli_server(create_app(delay=0)) as (server, port), httpx.Client() as client:
        for _ in range(2):  # one kept-alive connection
            assert client.get(f"http://127.0.0.1:{port}/health").status_code == 200
        connections = list(server.server_state.connections)
        sockets = [connection.transport.get_extra_info("socket") for connection in connections]
        assert sockets
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_listening_socket_is_tcp() -> None:
    """asyncio sets TCP_NODELAY only on accepted sockets whose protocol says TCP."""
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_serve_sets_limits_against_slow_and_many_clients() -> None:
    config = server_config(create_app(delay=0))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert config.limit_concurrency is not None
    assert 16 <= config.limit_concurrency <= max(16, soft - 64)
    assert config.timeout_keep_alive == 5
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert config.backlog == 1024 and config.http == "h11"


def test_an_oversized_request_head_is_refused() -> None:
    with cli_server(create_app(delay=0)) as (_, port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 32 * 1024)
            answer = raw.recv(65536)
        finally:
            raw.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_the_vercel_route_serves_the_demo_agent(demo: RunningServer) -> None:
    """``/api/chat/vercel``: the demo agent as a Vercel AI SDK UI message stream, behind
    the same bearer check, read by our ``vercel_ui_stream`` adapter."""
    from chatconduit import ChatClient, HTTPStatusError, vercel_ui_stream

    url = f"{demo.url}/api/chat/vercel"
    async with ChatClient(vercel_ui_stream(url, {"headers": AUTH})) as client:
        reply = await client.ask("what is 2+3*4")
        assert client.error is None and reply.text.endswith("= **14**")
        assert [call.name for call in reply.tool_calls] == ["calculator"]
    refused = ChatClient(vercel_ui_stream(url), raise_on_error=True)
    with pytest.raises(HTTPStatusError) as info:
        await refused.ask("hello")
    assert info.value.status_code == 401
    await refused.aclose()
