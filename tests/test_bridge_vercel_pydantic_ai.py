"""``vercel_ui_stream`` against pydantic-ai 2.78's ``VercelAIAdapter`` (a real uvicorn on
loopback): text, thinking, a server tool, an approval asked and answered (the answer
goes back in the call's part, ``approval-responded``, which pydantic-ai validates
strictly), and our AG-UI body at the same endpoint: pydantic's 422, named as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chatconduit import (
    ChatClient,
    HTTPStatusError,
    UIMessage,
    fetch_server_sent_events,
    vercel_ui_stream,
)
from chatconduit._messages import TextPart, ThinkingPart, ToolCallPart
from chatconduit._processor import ApprovalRequest
from interop_current.harness import require_pydantic_ai
from servers import RunningServer, serve

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def app() -> Iterator[RunningServer]:
    require_pydantic_ai()
    from interop_current.vercel_pydantic_ai_app import app as vercel_app

    with serve(vercel_app) as server:
        yield server


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


async def test_text_and_thinking(app: RunningServer) -> None:
    client = ChatClient(vercel_ui_stream(f"{app.url}/"))
    reply = await client.send_message("think about hello")
    assert client.error is None
    assert text_of(reply) == 'You said: "think about hello"'
    assert reply is not None
    assert [p.content for p in reply.parts if isinstance(p, ThinkingPart)] == [
        "Thinking it over… ✔"
    ]
    # A second turn sends the whole conversation back in the AI SDK's shape.
    again = await client.send_message("and again")
    assert text_of(again) == 'You said: "and again"'
    await client.aclose()


async def test_server_tool(app: RunningServer) -> None:
    client = ChatClient(vercel_ui_stream(f"{app.url}/"))
    reply = await client.send_message('get_weather {"city": "Porto"}')
    assert reply is not None
    call = next(p for p in reply.parts if isinstance(p, ToolCallPart))
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Porto"})
    assert call.output == {"city": "Porto", "temperature": 21, "condition": "sunny ☀️"}
    assert text_of(reply).startswith("The get_weather tool returned ")
    await client.aclose()


@pytest.mark.parametrize("approved", [True, False])
async def test_approval_answered(app: RunningServer, approved: bool) -> None:
    asked: list[ApprovalRequest] = []
    holder: list[ChatClient] = []

    async def answer(request: ApprovalRequest) -> None:
        asked.append(request)
        await holder[0].add_tool_approval_response(request.approval_id, approved)

    client = ChatClient(vercel_ui_stream(f"{app.url}/"), on_approval_request=answer)
    holder.append(client)
    await client.send_message('delete_file {"path": "/tmp/a"}')
    assert [a.tool_name for a in asked] == ["delete_file"]
    assert client.error is None, client.error
    last = client.messages[-1]
    if approved:
        assert 'The delete_file tool returned {"deleted": "/tmp/a"}.' in text_of(last)
    else:
        assert text_of(last) == "The delete_file tool returned The tool call was denied.."
    await client.aclose()


async def test_agui_body_at_a_vercel_endpoint_is_named(app: RunningServer) -> None:
    client = ChatClient(fetch_server_sent_events(f"{app.url}/"), raise_on_error=False)
    await client.send_message("hello")
    error = client.error
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == 422
    assert "trigger" in error.body
