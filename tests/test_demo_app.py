"""The demo ASGI app under a real uvicorn: routes, framings, auth, durability, CORS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatconduit._codec._sse import SSEDecoder
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
