"""Our transports and processor against the real current servers, live on loopback.

``fetch_server_sent_events`` / ``fetch_http_stream`` talk to the real ``@tanstack/ai@0.58.0``
helpers (``ts058_server.mjs``, plain and durable routes) and to pydantic-ai 2.78's
``AGUIAdapter`` app; the events go through ``StreamProcessor``. Each scenario must come to
the messages the scripted model produces, with a finish reason and, from TanStack, its
usage list; the server-tool run ends once, after the model's second iteration (its
intermediate RUN_FINISHED does not end the turn).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import (
    RunContext,
    StreamProcessor,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
    websocket,
)
from chatconduit.events import Usage
from interop_current.harness import (
    PydanticAiApp,
    Ts058Server,
    pydantic_ai_app,
    require_node_modules,
    require_pydantic_ai,
    ts058_server,
)

interop = pytest.mark.interop

WEATHER = {"city": "Paris", "temperature": 21, "condition": "sunny ☀️"}


@pytest.fixture(scope="module")
def server() -> Iterator[Ts058Server]:
    require_node_modules()
    with ts058_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def app() -> Iterator[PydanticAiApp]:
    require_pydantic_ai()
    with pydantic_ai_app() as running:
        yield running


class Turn:
    """One user message sent through an adapter, the events processed as ChatClient does."""

    def __init__(self, adapter: Any, text: str, run_id: str) -> None:
        self.adapter = adapter
        self.user = [
            {"id": f"user-{run_id}", "role": "user", "parts": [{"type": "text", "content": text}]}
        ]
        self.context = RunContext(thread_id="thread-ingest", run_id=run_id)
        self.ended: list[UIMessage] = []
        self.finished_mid_turn = False
        self.processor = StreamProcessor(
            initial_messages=self.user, on_stream_end=self.ended.append
        )

    def run(self) -> Turn:
        asyncio.run(self._run())
        return self

    async def _run(self) -> None:
        processor = self.processor
        processor.prepare_assistant_message()
        try:
            async with asyncio.timeout(60):
                async for event in self.adapter.connect(self.user, None, None, self.context):
                    if processor.is_done:
                        self.finished_mid_turn = True  # something came after the end
                    processor.process(event)
        finally:
            await self.adapter.aclose()
        processor.finalize_stream()

    def parts(self) -> list[Any]:
        return [p for m in list(self.processor.messages)[1:] for p in m.parts]

    def text(self) -> str:
        return "".join(p.content for p in self.parts() if isinstance(p, TextPart))


def adapter_for(base: str, framing: str) -> Any:
    if framing == "ws":
        return websocket(base)
    return fetch_server_sent_events(base) if framing == "sse" else fetch_http_stream(base)


TANSTACK_USAGE = [Usage(input_tokens=12, output_tokens=34, total_tokens=46)]


@interop
@pytest.mark.parametrize("route", ["chat", "durable"])
@pytest.mark.parametrize("framing", ["sse", "ndjson", "ws"])
def test_tanstack_058_text_thinking_and_server_tool(
    server: Ts058Server, framing: str, route: str
) -> None:
    # ws: our WebSocket adapter against the helper's toWebSocketStream (a socket per turn).
    base = server.ws_url if framing == "ws" else server.url
    url = f"{base}/{framing}/{route}"

    text = Turn(adapter_for(url, framing), "Hello 👋", f"run-i-text-{framing}-{route}").run()
    assert text.text() == 'You said: "Hello 👋"'
    assert (text.processor.finish_reason, text.processor.usage) == ("stop", TANSTACK_USAGE)
    assert len(text.ended) == 1 and text.processor.error is None

    thinking = Turn(
        adapter_for(url, framing), "Please think about it", f"run-i-think-{framing}-{route}"
    ).run()
    [reply] = list(thinking.processor.messages)[1:]
    assert [type(p) for p in reply.parts] == [ThinkingPart, TextPart]
    assert reply.parts[0].content == "Thinking it over… ✔"
    assert thinking.text() == 'You said: "Please think about it"'
    assert thinking.processor.finish_reason == "stop"

    tool = Turn(
        adapter_for(url, framing),
        'get_weather please {"city": "Paris"}',
        f"run-i-tool-{framing}-{route}",
    ).run()
    [call] = [p for p in tool.parts() if isinstance(p, ToolCallPart)]
    assert (call.name, call.arguments, call.output) == ("get_weather", '{"city":"Paris"}', WEATHER)
    assert [p.tool_call_id for p in tool.parts() if isinstance(p, ToolResultPart)] == [call.id]
    answer = (
        'The get_weather tool returned {"city":"Paris","temperature":21,"condition":"sunny ☀️"}.'
    )
    assert tool.text() == "Let me use get_weather." + answer
    # The intermediate RUN_FINISHED (finishReason tool_calls, in metadata.tanstack) did not
    # end the turn: one end, after the second iteration, with its reason.
    assert not tool.finished_mid_turn
    assert len(tool.ended) == 1 and tool.processor.finish_reason == "stop"
    assert [run.finish_reason for run in tool.processor.runs.values()] == ["stop"]


@interop
def test_pydantic_ai_text_thinking_and_server_tool(app: PydanticAiApp) -> None:
    text = Turn(fetch_server_sent_events(f"{app.url}/"), "Hello 👋", "run-i-text").run()
    assert text.text() == 'You said: "Hello 👋"'
    assert (text.processor.finish_reason, text.processor.usage) == ("stop", None)

    usage = Turn(fetch_server_sent_events(f"{app.url}/agui/usage"), "Hello", "run-i-usage").run()
    assert isinstance(usage.processor.usage, list)
    total = Usage.combined(usage.processor.usage)
    assert total is not None and total.model == "fake-pai" and total.resolved_total_tokens

    thinking = Turn(
        fetch_server_sent_events(f"{app.url}/"), "Please think about it", "run-i-think"
    ).run()
    assert [p.content for p in thinking.parts() if isinstance(p, ThinkingPart)] == [
        "Thinking it over… ✔"
    ]
    assert thinking.text() == 'You said: "Please think about it"'
    assert thinking.processor.finish_reason == "stop"

    tool = Turn(
        fetch_server_sent_events(f"{app.url}/"),
        'get_weather please {"city": "Paris"}',
        "run-i-tool",
    ).run()
    [call] = [p for p in tool.parts() if isinstance(p, ToolCallPart)]
    assert (call.name, call.output) == ("get_weather", WEATHER)
    assert tool.text().startswith("The get_weather tool returned ")
    assert len(tool.ended) == 1 and tool.processor.finish_reason == "stop"
