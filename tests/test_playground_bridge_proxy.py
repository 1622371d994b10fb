"""The playground proxy's bridge over HTTP, without a browser: a request naming a protocol
(``X-Chatconduit-Protocol``) is answered as AG-UI SSE read from the foreign backend with
our bridge adapters, the backend's bytes riding along as SSE comments; refusals keep their
status and body with the page's credential headers masked; bad requests are typed 400s.
The backends are real servers on loopback (the demo app, a Starlette app replaying
recorded OpenAI-compatible streams, one answering errors).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chatconduit.demo import create_app
from servers import serve
from test_playground_support import sse_types

pytestmark = pytest.mark.timeout(120)
SECRET = "sk-bridge-secret-31337"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bridges"
BODY: dict[str, Any] = {
    "threadId": "thread-1",
    "runId": "run-1",
    "messages": [{"id": "u1", "role": "user", "content": "hello"}],
    "tools": [],
    "context": [],
    "state": {},
    "forwardedProps": {},
}


def _foreign_backend() -> Starlette:
    async def echo_401(request: Request) -> Response:
        # What a careless backend does: quote the key it refused.
        auth = request.headers.get("authorization", "")
        token = auth.partition(" ")[2]
        return JSONResponse({"error": f"bad key {token} (from {auth!r})"}, status_code=401)

    async def unprocessable(request: Request) -> Response:
        return JSONResponse({"detail": [{"loc": ["body", "model"], "msg": "Field required"}]}, 422)

    async def html(request: Request) -> Response:
        return HTMLResponse("<html><body>a login page</body></html>")

    async def fails_mid_stream(request: Request) -> Response:
        # A Vercel stream whose error chunk quotes the key it was given.
        token = request.headers.get("authorization", "").partition(" ")[2]
        chunks = [
            {"type": "start", "messageId": "m1"},
            {"type": "text-start", "id": "t1"},
            {"type": "text-delta", "id": "t1", "delta": "Working"},
            {"type": "error", "errorText": f"upstream refused key {token}"},
        ]
        stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
        return Response(
            stream,
            media_type="text/event-stream",
            headers={"x-vercel-ai-ui-message-stream": "v1"},
        )

    async def openai(request: Request) -> Response:
        body = await request.json()
        assert body["model"] == "mock-gpt" and body["stream"] is True
        assert body["messages"][-1] == {"role": "user", "content": "hello"}
        stream = (FIXTURES / "openai_litellm_text.sse").read_bytes()
        return Response(stream, media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/echo401", echo_401, methods=["POST"]),
            Route("/unprocessable/chat/completions", unprocessable, methods=["POST"]),
            Route("/html", html, methods=["POST"]),
            Route("/fails", fails_mid_stream, methods=["POST"]),
            Route("/v1/chat/completions", openai, methods=["POST"]),
        ]
    )


def _post(proxy: str, target: str, protocol: str, **headers: str) -> httpx.Response:
    return httpx.post(
        proxy,
        json=BODY,
        headers={"x-chatconduit-target": target, "x-chatconduit-protocol": protocol, **headers},
        timeout=30,
    )


def _text(answer: httpx.Response) -> str:
    """The text of the AG-UI answer: its TEXT_MESSAGE_CONTENT deltas joined."""
    frames = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")
    ]
    return "".join(f["delta"] for f in frames if f["type"] == "TEXT_MESSAGE_CONTENT")


def _foreign(text: str) -> str:
    """The backend's own bytes, from the ``: bridged "<JSON string>"`` comments."""
    return "".join(json.loads(m) for m in re.findall(r"^: bridged (.*)$", text, re.M))


def test_the_bridge_answers_in_ag_ui_and_masks_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        serve(create_app(delay=0, api_key=SECRET, playground_proxy=True)) as srv,
        serve(_foreign_backend()) as foreign,
    ):
        proxy = f"{srv.url}/playground/proxy"
        vercel = f"{srv.url}/api/chat/vercel"
        denied = _post(proxy, vercel, "vercel")
        assert denied.status_code == 401 and "Missing or invalid bearer token" in denied.text
        assert denied.headers["x-chatconduit-bridged"] == "vercel"

        answer = _post(proxy, vercel, "vercel", Authorization=f"Bearer {SECRET}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/event-stream")
        types = sse_types(answer.text)
        assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED", types
        assert "TEXT_MESSAGE_CONTENT" in types
        own = _foreign(answer.text)
        assert '"type":"text-delta"' in own and '"type":"finish"' in own
        # The demo quotes what reached it: the page's message crossed both bridges.
        assert "> hello" in _text(answer) and "(1 messages reached" in _text(answer)

        chunks = _post(proxy, f"{foreign.url}/v1", "openai", **{"x-chatconduit-model": "mock-gpt"})
        assert chunks.status_code == 200, chunks.text
        assert "TEXT_MESSAGE_CONTENT" in sse_types(chunks.text)
        assert _text(chunks) == "Hello from LiteLLM's mock!"
        assert "chat.completion.chunk" in _foreign(chunks.text)

        echoed = _post(proxy, f"{foreign.url}/echo401", "vercel", Authorization=f"Bearer {SECRET}")
        assert echoed.status_code == 401 and "bad key " in echoed.text
        assert SECRET not in echoed.text

        failed = _post(proxy, f"{foreign.url}/fails", "vercel", Authorization=f"Bearer {SECRET}")
        assert failed.status_code == 200 and sse_types(failed.text)[-1] == "RUN_ERROR"
        assert "upstream refused key" in failed.text and "Working" in failed.text
        assert SECRET not in failed.text  # neither in the RUN_ERROR nor in the copied bytes

        refused = _post(
            proxy, f"{foreign.url}/unprocessable", "openai", **{"x-chatconduit-model": "m"}
        )
        assert refused.status_code == 422 and "Field required" in refused.text

        page = _post(proxy, f"{foreign.url}/html", "vercel")
        assert page.status_code == 502 and "text/html" in page.text

        unknown = _post(proxy, vercel, "grpc")
        assert unknown.status_code == 400 and "unknown protocol 'grpc'" in unknown.text
        no_model = _post(proxy, f"{foreign.url}/v1", "openai")
        assert no_model.status_code == 400 and "model" in no_model.text
        bad_body = httpx.post(
            proxy,
            content=b'{"messages": 3}',
            headers={"x-chatconduit-target": vercel, "x-chatconduit-protocol": "vercel"},
        )
        assert bad_body.status_code == 400 and "request body is invalid" in bad_body.text
        gone = _post(proxy, "http://127.0.0.1:9/chat", "vercel")
        assert gone.status_code == 502 and "playground proxy" in gone.text
    assert SECRET not in caplog.text
