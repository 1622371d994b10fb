"""Our ``ChatClient`` against the servers people run today: client tools and approvals.

- the real ``@tanstack/ai@0.58.0`` server (``ts058_server.mjs``), over SSE and NDJSON: a
  client tool with ``execute`` (the interrupt is answered by itself and the final answer
  arrives), approvals approved and denied from ``on_approval_request``, later turns, a
  failing tool whose error reaches the model;
- the real pydantic-ai 2.78 AG-UI app: a frontend tool with ``execute``, approvals, and
  tool errors reaching the model (its scripted model echoes the tool result it read).

The scripted models answer a tool result with ``The <tool> tool returned <content>.``,
which is how these tests see what the server made of our answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import (
    ChatClient,
    TextPart,
    Tool,
    ToolCallPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
    websocket,
)
from chatconduit._processor import ApprovalRequest
from interop_current.harness import (
    PydanticAiApp,
    Ts058Server,
    pydantic_ai_app,
    require_node_modules,
    require_pydantic_ai,
    ts058_server,
)

pytestmark = pytest.mark.interop

GET_TIME_SCHEMA = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []}
ASK_TIME = 'What is get_time {"timezone": "Europe/Paris"}'
DELETE = 'delete_file {"path": "/tmp/demo.txt"}'


def get_time(args: dict[str, Any]) -> dict[str, Any]:
    return {"time": "2026-11-24T12:00:00.000Z", "timezone": args.get("timezone", "UTC")}


def broken_clock(args: Any) -> Any:
    raise RuntimeError("no clock")


def get_time_tool(execute: Any = get_time) -> Tool:
    return Tool("get_time", "Get the current time (client tool).", GET_TIME_SCHEMA, execute)


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def approving(approved: bool) -> tuple[list[ApprovalRequest], Any, list[ChatClient]]:
    """An ``on_approval_request`` that answers from inside the callback, and where it
    records the requests; the client is put into the list once built."""
    asked: list[ApprovalRequest] = []
    holder: list[ChatClient] = []

    async def answer(request: ApprovalRequest) -> None:
        asked.append(request)
        await holder[0].add_tool_approval_response(request.approval_id, approved)

    return asked, answer, holder


# ---------------------------------------------------------------- TanStack 0.58


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    with ts058_server() as srv:
        yield srv


def tanstack(srv: Ts058Server, framing: str) -> Any:
    if framing.startswith("ws"):  # toWebSocketStream: one socket for the conversation
        return websocket(f"{srv.ws_url}/ws/{'durable' if framing == 'ws-durable' else 'chat'}")
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    return make(f"{srv.url}/{framing}/chat")


# ws-durable: toWebSocketStream with memoryStream durability ({id, chunk} envelopes).
FRAMINGS = ["sse", "ndjson", "ws", "ws-durable"]


def run_inputs(srv: Ts058Server, framing: str) -> list[dict[str, Any]]:
    """The RunAgentInput bodies the server received: one per POST, or the frames of the
    conversation's one socket (abort frames left out)."""
    if not framing.startswith("ws"):
        return [r["body"] for r in srv.requests()]
    [entry] = [r for r in srv.requests() if r.get("kind") == "websocket"]
    frames = [json.loads(text) for text in entry["inbound"]]
    return [f for f in frames if f.get("type") != "abort"]


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_tanstack_client_tool_with_execute_continues_by_itself(
    server: Ts058Server, framing: str
) -> None:
    server.clear_requests()
    client = ChatClient(tanstack(server, framing), tools=[get_time_tool()])
    reply = await client.send_message(ASK_TIME)
    assert client.error is None
    assert text_of(reply) == (
        'The get_time tool returned {"time":"2026-11-24T12:00:00.000Z","timezone":"Europe/Paris"}.'
    )
    first, answer = run_inputs(server, framing)
    assert answer["parentRunId"] == first["runId"]
    assert answer["resume"][0]["status"] == "resolved"
    if not framing.startswith("ws"):  # the HTTP routes check each body against @ag-ui/core's schema
        assert [r["aguiValid"] for r in server.requests()] == [{"ok": True}] * 2
    # A later turn on the same conversation.
    assert text_of(await client.send_message("Thanks!")) == 'You said: "Thanks!"'


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize(
    ("approved", "expected"),
    [
        (True, 'The delete_file tool returned {"deleted":"/tmp/demo.txt"}.'),
        (
            False,
            'The delete_file tool returned {"approved":false,"message":"User denied this action"}.',
        ),
    ],
)
async def test_tanstack_approval_answered_from_on_approval_request(
    server: Ts058Server, framing: str, approved: bool, expected: str
) -> None:
    asked, answer, holder = approving(approved)
    client = ChatClient(tanstack(server, framing), on_approval_request=answer)
    holder.append(client)
    reply = await client.send_message(DELETE)
    assert client.error is None
    assert text_of(reply) == expected
    [request] = asked
    assert request.tool_name == "delete_file" and request.input == {"path": "/tmp/demo.txt"}
    assert request.message == "Approval required to run delete_file"
    # The next turns: the server does not ask again (the call stays answered).
    assert text_of(await client.send_message("Hello again")) == 'You said: "Hello again"'
    assert text_of(await client.send_message("And again")) == 'You said: "And again"'
    assert len(asked) == 1
    call = next(p for p in client.messages[1].parts if isinstance(p, ToolCallPart))
    assert call.approval is not None and call.approval.approved is approved


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_tanstack_multi_turn_and_a_failing_tool_tells_the_model_its_error(
    server: Ts058Server, framing: str
) -> None:
    client = ChatClient(tanstack(server, framing), tools=[get_time_tool(broken_clock)])
    assert text_of(await client.send_message("Hello")) == 'You said: "Hello"'
    reply = await client.send_message(ASK_TIME)
    # The 0.33 client sends "null" here, so the model reads "returned null".
    assert text_of(reply) == 'The get_time tool returned {"error":"no clock"}.'
    assert text_of(await client.send_message("Bye")) == 'You said: "Bye"'


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_tanstack_approval_left_unanswered_is_cancelled_by_the_next_message(
    server: Ts058Server, framing: str
) -> None:
    client = ChatClient(tanstack(server, framing))
    await client.send_message(DELETE)
    reply = await client.send_message("Never mind")
    assert client.error is None
    assert text_of(reply) == 'The delete_file tool returned {"error":"Tool execution cancelled"}.'


# ---------------------------------------------------------------- pydantic-ai 2.78


@pytest.fixture(scope="module")
def app() -> Iterator[PydanticAiApp]:
    require_pydantic_ai()
    with pydantic_ai_app() as running:
        yield running


async def test_pydantic_ai_frontend_tool_with_execute(app: PydanticAiApp) -> None:
    client = ChatClient(fetch_server_sent_events(f"{app.url}/"), tools=[get_time_tool()])
    reply = await client.send_message(ASK_TIME)
    assert client.error is None
    assert text_of(reply) == (
        'The get_time tool returned {"time": "2026-11-24T12:00:00.000Z", '
        '"timezone": "Europe/Paris"}.'
    )
    assert text_of(await client.send_message("Thanks!")) == 'You said: "Thanks!"'


@pytest.mark.parametrize(
    ("approved", "expected"),
    [
        (True, 'The delete_file tool returned {"deleted": "/tmp/demo.txt"}.'),
        (False, "The delete_file tool returned The tool call was denied.."),
    ],
)
async def test_pydantic_ai_approval_answered_from_on_approval_request(
    app: PydanticAiApp, approved: bool, expected: str
) -> None:
    asked, answer, holder = approving(approved)
    client = ChatClient(fetch_server_sent_events(f"{app.url}/"), on_approval_request=answer)
    holder.append(client)
    reply = await client.send_message(DELETE)
    assert client.error is None
    assert text_of(reply) == expected
    [request] = asked
    assert request.approval_id.startswith("int-")
    assert request.message == 'Approve delete_file({"path":"/tmp/demo.txt"})?'
    assert text_of(await client.send_message("Hello again")) == 'You said: "Hello again"'


async def test_pydantic_ai_hears_a_tool_error_as_text(app: PydanticAiApp) -> None:
    # From execute: the exception's message.
    client = ChatClient(
        fetch_server_sent_events(f"{app.url}/"), tools=[get_time_tool(broken_clock)]
    )
    reply = await client.send_message(ASK_TIME)
    assert text_of(reply) == 'The get_time tool returned {"error": "no clock"}.'
    # From the application: add_tool_result(..., error=...).
    client = ChatClient(fetch_server_sent_events(f"{app.url}/"), tools=[get_time_tool(None)])
    await client.send_message(ASK_TIME)
    call = next(p for p in client.messages[-1].parts if isinstance(p, ToolCallPart))
    reply = await client.add_tool_result(call.id, None, error="the user closed the dialog")
    assert text_of(reply) == ('The get_time tool returned {"error": "the user closed the dialog"}.')
