"""``chat_endpoint(agent, protocol="vercel")``: our agents behind the REAL AI SDK client.

``tests/interop_current/vercel_client.mjs`` drives ``AbstractChat`` (what ``useChat``
wraps) over ``DefaultChatTransport`` of ``ai@7.0.185`` against a real uvicorn serving
the demo agent; what it shows is the package's own reading of our UI message stream.
Our own ``vercel_ui_stream`` reads the same endpoint (approvals round-trip), and an
AG-UI body at it is refused with a 400 that names the protocol.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit import ChatClient, HTTPStatusError, fetch_server_sent_events, vercel_ui_stream
from chatconduit._messages import TextPart, ToolCallPart
from chatconduit._processor import ApprovalRequest
from chatconduit.demo import DemoAgent
from chatconduit.server import chat_endpoint
from interop_current.harness import interop_dir, node_executable
from servers import RunningServer, serve

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    endpoint = chat_endpoint(DemoAgent(delay=0), protocol="vercel")
    app = Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])
    with serve(app) as running:
        yield running


def ai_sdk_chat(url: str, *texts: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(node_executable()), "vercel_client.mjs", url, *texts],
        cwd=interop_dir(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    result: dict[str, Any] = json.loads(done.stdout.decode("utf-8").strip().split("\n")[-1])
    return result


def parts_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"] == kind]


def test_ai_sdk_chat_reads_text_and_keeps_the_conversation(server: RunningServer) -> None:
    result = ai_sdk_chat(f"{server.url}/chat", "hello", "and again")
    assert result["errors"] == [] and result["status"] == "ready"
    roles = [m["role"] for m in result["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    first = parts_of(result["messages"][1], "text")[0]
    assert "> hello" in first["text"] and first["state"] == "done"
    second = parts_of(result["messages"][3], "text")[0]["text"]
    assert "turn 2 of the conversation" in second  # the server saw the whole history


def test_ai_sdk_chat_reads_reasoning(server: RunningServer) -> None:
    result = ai_sdk_chat(f"{server.url}/chat", "think about rivers")
    reply = result["messages"][-1]
    reasoning = parts_of(reply, "reasoning")
    assert len(reasoning) == 1 and "rivers" in reasoning[0]["text"]
    assert reasoning[0]["state"] == "done"
    assert parts_of(reply, "text")[0]["text"].startswith("### Thoughts on rivers")


def test_ai_sdk_chat_reads_a_server_tool(server: RunningServer) -> None:
    result = ai_sdk_chat(f"{server.url}/chat", "what is 6*7")
    reply = result["messages"][-1]
    calls = parts_of(reply, "tool-calculator")
    assert len(calls) == 1
    assert calls[0]["state"] == "output-available"
    assert calls[0]["input"] == {"expression": "6*7"}
    assert calls[0]["output"]["result"] == 42
    assert "42" in parts_of(reply, "text")[-1]["text"]


@pytest.mark.parametrize(
    ("approved", "said"),
    [
        (True, "Done: `notes.txt` is deleted (not really: the demo only pretends)."),
        (False, "You declined, so `notes.txt` stays where it is."),
    ],
)
async def test_our_vercel_client_round_trips_an_approval(
    server: RunningServer, approved: bool, said: str
) -> None:
    """The decision goes back in the AI SDK's ``approval-responded`` part and reaches the
    agent as the AG-UI ``resume`` answer to its interrupt."""
    holder: list[ChatClient] = []
    asked: list[ApprovalRequest] = []

    async def answer(request: ApprovalRequest) -> None:
        asked.append(request)
        await holder[0].add_tool_approval_response(request.approval_id, approved)

    client = ChatClient(vercel_ui_stream(f"{server.url}/chat"), on_approval_request=answer)
    holder.append(client)
    reply = await client.send_message("delete_file notes.txt")
    assert [a.tool_name for a in asked] == ["delete_file"]
    assert client.error is None, client.error
    calls = [p for m in client.messages for p in m.parts if isinstance(p, ToolCallPart)]
    assert calls and calls[0].name == "delete_file"
    assert reply is not None
    assert [p.content for p in reply.parts if isinstance(p, TextPart)] == [said]
    if approved:
        assert calls[0].output == {"deleted": "notes.txt", "simulated": True}
    await client.aclose()


async def test_agui_body_is_refused_naming_the_protocol(server: RunningServer) -> None:
    client = ChatClient(fetch_server_sent_events(f"{server.url}/chat"), raise_on_error=False)
    await client.send_message("hello")
    assert isinstance(client.error, HTTPStatusError)
    assert client.error.status_code == 400
    assert "Vercel AI SDK chat request" in client.error.body
    await client.aclose()


def test_stream_headers_and_done(server: RunningServer) -> None:
    body = {"trigger": "submit-message", "id": "c1", "messages": [
        {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    ]}  # fmt: skip
    response = httpx.post(f"{server.url}/chat", json=body, timeout=30)
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    kinds = [json.loads(frame)["type"] for frame in frames[:-1]]
    assert kinds[:2] == ["start", "start-step"] and kinds[-2:] == ["finish-step", "finish"]
