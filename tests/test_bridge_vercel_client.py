"""``vercel_ui_stream``: ChatClient against the REAL Vercel AI SDK server side.

``tests/interop_current/vercel_server.mjs`` runs ``streamText(...)`` of ``ai@7.0.185``
with the mock model of ``ai/test`` and answers with ``pipeUIMessageStreamToResponse``
(the bytes ``toUIMessageStreamResponse()`` writes); it reads our request body with the
package's own ``validateUIMessages`` and ``convertToModelMessages``, so a body it could
not read fails the test with a 400. Text, reasoning, a server tool, a client tool (the
conversation continues with its output), an approval, a model error.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatconduit import ChatClient, Tool, UIMessage, vercel_ui_stream
from chatconduit._messages import TextPart, ThinkingPart, ToolCallPart
from chatconduit._processor import ApprovalRequest
from cyclic_garbage import no_cyclic_garbage
from interop_current.harness import InteropError, _read_line, _stop, interop_dir, node_executable

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def node_server(script: str, startup_timeout: float = 20) -> Iterator[str]:
    """``node <script>`` on 127.0.0.1 (it prints ``{"port": N}``); its base url."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [str(node_executable()), script],
            cwd=interop_dir(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            line = _read_line(process.stdout, startup_timeout)
            try:
                port = int(json.loads(line)["port"])
            except (ValueError, KeyError, TypeError):
                stderr.seek(0)
                raise InteropError(f"{script} did not start: {line!r} {stderr.read()!r}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with node_server("vercel_server.mjs") as url:
        yield url


def requests_of(url: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = httpx.get(f"{url}/requests", timeout=10).json()
    return received


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


async def test_text_and_reasoning_from_stream_text(server: str) -> None:
    client = ChatClient(vercel_ui_stream(f"{server}/chat"))
    reply = await client.send_message("hello there")
    assert text_of(reply) == "Hello from the AI SDK! You said: hello there"
    assert reply is not None
    thinking = [p.content for p in reply.parts if isinstance(p, ThinkingPart)]
    assert thinking == ["The user said hello."]
    assert client.error is None
    body = requests_of(server)[-1]["body"]
    assert body["trigger"] == "submit-message"
    assert body["id"] == client.thread_id
    assert body["messages"][-1]["parts"] == [{"type": "text", "text": "hello there"}]
    await client.aclose()


async def test_server_tool_output_and_the_next_step(server: str) -> None:
    client = ChatClient(vercel_ui_stream(f"{server}/chat"))
    reply = await client.send_message("calc 6 times 7")
    assert reply is not None
    calls = [p for p in reply.parts if isinstance(p, ToolCallPart)]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("calculator", {"expression": "6*7"})
    ]
    assert calls[0].output == {"value": 42}
    assert text_of(reply) == 'The tool said {"value":42}.'
    await client.aclose()


async def test_client_tool_runs_and_the_conversation_continues(server: str) -> None:
    seen: list[Any] = []

    def get_location(arguments: Any) -> dict[str, str]:
        seen.append(arguments)
        return {"city": "Lisbon"}

    tool = Tool("get_location", "Where the user is", {"type": "object"}, get_location)
    client = ChatClient(vercel_ui_stream(f"{server}/chat"), tools=[tool])
    reply = await client.send_message("what is my location?")
    assert seen == [{"precision": "city"}]
    assert 'The tool said {"city":"Lisbon"}.' in text_of(reply)
    # The follow-up carried the output in the call's part, as useChat sends it.
    follow_up = requests_of(server)[-1]["body"]["messages"]
    tool_parts = [p for m in follow_up for p in m["parts"] if p["type"] == "tool-get_location"]
    assert tool_parts[-1]["state"] == "output-available"
    assert tool_parts[-1]["output"] == {"city": "Lisbon"}
    await client.aclose()


async def test_approval_request_is_asked(server: str) -> None:
    asked: list[ApprovalRequest] = []
    client = ChatClient(vercel_ui_stream(f"{server}/chat"), on_approval_request=asked.append)
    reply = await client.send_message("delete the file")
    assert [(a.tool_call_id, a.tool_name) for a in asked] == [("call-del-1", "delete_file")]
    assert asked[0].approval_id.startswith("aitxt-")
    assert reply is not None
    part = next(p for p in reply.parts if isinstance(p, ToolCallPart))
    assert part.state == "approval-requested"
    await client.aclose()


async def test_model_error_is_a_run_error(server: str) -> None:
    client = ChatClient(vercel_ui_stream(f"{server}/chat"))
    await client.send_message("please fail")
    assert client.error is not None
    assert "the mock model failed on purpose" in str(client.error)
    await client.aclose()


async def test_a_closed_client_leaves_nothing_for_the_cyclic_gc(server: str) -> None:
    """A ChatClient on the Vercel bridge, closed after a reply: nothing of the client's or
    the adapter's is left in a reference cycle."""

    async def one_client() -> None:
        client = ChatClient(vercel_ui_stream(f"{server}/chat"))
        reply = await client.send_message("Hello")
        assert reply is not None, client.error
        await client.aclose()

    await one_client()
    with no_cyclic_garbage():
        for _ in range(3):
            await one_client()
