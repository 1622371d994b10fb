"""When a push adapter's request ends: the first RUN_FINISHED is not always the end.

A server running an agent loop (TanStack 0.58, our server in the current dialect) ends
each step with ``RUN_FINISHED`` and finish reason ``tool_calls`` (top level or
``metadata.tanstack.finishReason``), then runs its tool and answers in the same response:
the request goes on. A TanStack 0.10 server ends the response that leaves CLIENT tools
(or an approval) to the client with the same finish reason: there the request ends, the
client acts and sends the follow-up. An interrupt, a RUN_ERROR and any other RUN_FINISHED
always end it.

``QueueServer`` plays the server on an in-process queue (``subscribe`` + ``send``); a
reply may hold ``PAUSE``, where pushing stops until the test releases the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import pytest

from chatconduit import (
    AbortSignal,
    ChatClient,
    ChatStatus,
    RunContext,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
)

PAUSE = "PAUSE"
Reply = Callable[[int, RunContext], list[Any]]


class QueueServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.sends: list[tuple[list[Any], RunContext]] = []
        self.held: list[Any] = []  # what comes after a PAUSE
        self.paused = asyncio.Event()

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Any]:
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        while True:
            yield await self.queue.get()

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        assert run_context is not None
        self.sends.append((list(messages), run_context))
        events = self.reply(len(self.sends), run_context)
        if PAUSE in events:
            cut = events.index(PAUSE)
            events, self.held = events[:cut], events[cut + 1 :]
            self.paused.set()
        for event in events:
            self.queue.put_nowait(event)

    def release(self) -> None:
        held, self.held = self.held, []
        for event in held:
            self.queue.put_nowait(event)


def text(message_id: str, content: str) -> list[dict[str, Any]]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": content},
        {"type": "TEXT_MESSAGE_END", "messageId": message_id},
    ]


def tool_call(call_id: str, name: str, args: str, message_id: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "TOOL_CALL_START",
            "toolCallId": call_id,
            "toolCallName": name,
            "parentMessageId": message_id,
        },
        {"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": args},
        {"type": "TOOL_CALL_END", "toolCallId": call_id},
    ]


def started(rc: RunContext) -> dict[str, Any]:
    return {"type": "RUN_STARTED", "runId": rc.run_id, "threadId": rc.thread_id}


def finished(rc: RunContext, reason: str, *, where: str = "top") -> dict[str, Any]:
    event: dict[str, Any] = {"type": "RUN_FINISHED", "runId": rc.run_id, "threadId": rc.thread_id}
    if where == "top":
        event["finishReason"] = reason
    else:
        event["metadata"] = {"tanstack": {"finishReason": reason}}
    return event


def text_of(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


ANSWER = "The get_weather tool returned sunny."


def server_tool_turn(where: str) -> Reply:
    """TanStack 0.58 / our server: a server tool between two steps of one response."""

    def reply(n: int, rc: RunContext) -> list[Any]:
        if n > 1:
            return [started(rc), *text(f"again-{n}", "Again."), finished(rc, "stop", where=where)]
        return [
            started(rc),
            *text("m1", "Let me use get_weather."),
            *tool_call("c1", "get_weather", '{"city":"Paris"}', "m1"),
            finished(rc, "tool_calls", where=where),  # the intermediate end of a step
            PAUSE,
            {
                "type": "TOOL_CALL_RESULT",
                "toolCallId": "c1",
                "messageId": "m1",
                "content": '{"condition":"sunny"}',
            },
            started(rc),
            *text("m2", ANSWER),
            finished(rc, "stop", where=where),
        ]

    return reply


@pytest.mark.parametrize("where", ["top", "metadata"])
async def test_server_tool_turn_resolves_once_at_the_real_end(where: str) -> None:
    server = QueueServer(server_tool_turn(where))
    finishes: list[UIMessage] = []
    client = ChatClient(server, on_finish=finishes.append)
    try:
        turn = asyncio.create_task(client.send_message("weather?"))
        await asyncio.wait_for(server.paused.wait(), 5)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not turn.done()  # the intermediate RUN_FINISHED did not end the request
        assert client.status is not ChatStatus.READY
        server.release()
        reply = await asyncio.wait_for(turn, 5)
        assert text_of(reply) == ANSWER
        assert text_of(client.messages[-1]) == ANSWER
        assert len(server.sends) == 1  # no follow-up: the server answered by itself
        assert len(finishes) == 1 and text_of(finishes[0]) == ANSWER
        assert client.status is ChatStatus.READY and client.error is None
        call = next(p for p in client.messages[1].parts if isinstance(p, ToolCallPart))
        assert call.id == "c1" and call.name == "get_weather"
        # The next turn is its own: nothing of the first one lands in it.
        again = await asyncio.wait_for(client.send_message("again"), 5)
        assert text_of(again) == "Again."
        assert len(server.sends) == 2
    finally:
        await asyncio.wait_for(client.aclose(), 5)


GET_TIME = Tool("get_time", "Get the time.", None, lambda args: {"time": "noon"})


def sent_tool_output(messages: list[Any], call_id: str) -> bool:
    for message in messages:
        for part in getattr(message, "parts", []):
            if isinstance(part, ToolCallPart) and part.id == call_id and part.has_output:
                return True
            if isinstance(part, ToolResultPart) and part.tool_call_id == call_id:
                return True
    return False


@pytest.mark.parametrize("shape", ["custom", "plain"])
async def test_tanstack_010_client_tool_over_push_runs_the_tool_and_follows_up(
    shape: str,
) -> None:
    """0.10: ``tool-input-available`` (or plain AG-UI: a call to a declared client tool),
    then ``finishReason: "tool_calls"``: the request ends, the tool runs, the follow-up
    goes out and its answer ends the turn."""

    def reply(n: int, rc: RunContext) -> list[Any]:
        if n == 1:
            events: list[Any] = [started(rc), *tool_call("c1", "get_time", "{}", "m1")]
            if shape == "custom":
                events.append(
                    {
                        "type": "CUSTOM",
                        "name": "tool-input-available",
                        "value": {"toolCallId": "c1", "toolName": "get_time", "input": {}},
                    }
                )
            return [*events, finished(rc, "tool_calls")]
        return [started(rc), *text(f"m{n}", "It is noon."), finished(rc, "stop")]

    server = QueueServer(reply)
    client = ChatClient(server, tools=[GET_TIME])
    try:
        answer = await asyncio.wait_for(client.send_message("time?"), 5)
        assert text_of(answer) == "It is noon."
        assert len(server.sends) == 2  # the follow-up with the tool's output
        assert sent_tool_output(server.sends[1][0], "c1")
        assert client.status is ChatStatus.READY and client.error is None
    finally:
        await asyncio.wait_for(client.aclose(), 5)


async def test_pending_approval_ends_the_request() -> None:
    """0.10 ``approval-requested`` then ``tool_calls``: the user owes an answer."""
    approvals: list[Any] = []

    def reply(n: int, rc: RunContext) -> list[Any]:
        if n == 1:
            return [
                started(rc),
                *tool_call("c1", "delete_file", '{"path":"/tmp/x"}', "m1"),
                {
                    "type": "CUSTOM",
                    "name": "approval-requested",
                    "value": {
                        "toolCallId": "c1",
                        "toolName": "delete_file",
                        "input": {"path": "/tmp/x"},
                        "approval": {"id": "ap-1"},
                    },
                },
                finished(rc, "tool_calls"),
            ]
        return [started(rc), *text(f"m{n}", "Deleted."), finished(rc, "stop")]

    server = QueueServer(reply)
    client = ChatClient(server, on_approval_request=approvals.append)
    try:
        await asyncio.wait_for(client.send_message("delete it"), 5)
        assert [a.approval_id for a in approvals] == ["ap-1"]
        assert len(server.sends) == 1 and client.status is ChatStatus.READY
        await asyncio.wait_for(client.add_tool_approval_response("ap-1", True), 5)
        assert len(server.sends) == 2
        assert text_of(client.messages[-1]) == "Deleted."
    finally:
        await asyncio.wait_for(client.aclose(), 5)


async def test_interrupt_ends_the_request() -> None:
    """An interrupt pauses the run: the request ends even with ``tool_calls``."""

    def reply(n: int, rc: RunContext) -> list[Any]:
        event = finished(rc, "tool_calls", where="metadata")
        event["outcome"] = {
            "type": "interrupt",
            "interrupts": [{"id": "int-1", "reason": "confirm", "message": "Sure?"}],
        }
        return [started(rc), *text("m1", "Before I go on:"), event]

    server = QueueServer(reply)
    client = ChatClient(server)
    try:
        answer = await asyncio.wait_for(client.send_message("go"), 5)
        assert text_of(answer) == "Before I go on:"
        assert len(server.sends) == 1
        assert client.status is ChatStatus.READY and client.error is None
    finally:
        await asyncio.wait_for(client.aclose(), 5)


async def test_run_error_after_an_intermediate_finish_ends_the_request() -> None:
    def reply(n: int, rc: RunContext) -> list[Any]:
        return [
            started(rc),
            *tool_call("c1", "get_weather", "{}", "m1"),
            finished(rc, "tool_calls"),
            {"type": "RUN_ERROR", "runId": rc.run_id, "message": "tool exploded"},
        ]

    server = QueueServer(reply)
    client = ChatClient(server)
    try:
        await asyncio.wait_for(client.send_message("weather?"), 5)
        assert client.error is not None and "tool exploded" in str(client.error)
        assert client.status is ChatStatus.ERROR
        assert len(server.sends) == 1
    finally:
        await asyncio.wait_for(client.aclose(), 5)


async def test_server_pushed_run_with_an_intermediate_finish_finishes_once() -> None:
    """A run the server starts while we are idle: one ``on_finish``, at its real end."""
    server = QueueServer(lambda n, rc: [])
    finishes: list[UIMessage] = []
    client = ChatClient(server, on_finish=finishes.append)
    rc = RunContext(run_id="pushed-1", thread_id="t")
    try:
        client.subscribe()
        for event in [
            started(rc),
            *tool_call("c1", "get_weather", "{}", "m1"),
            finished(rc, "tool_calls"),
            {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "messageId": "m1", "content": "{}"},
            started(rc),
            *text("m1", ANSWER),
            finished(rc, "stop"),
        ]:
            server.queue.put_nowait(event)
        for _ in range(50):
            await asyncio.sleep(0)
            if finishes:
                break
        await asyncio.sleep(0.05)
        assert len(finishes) == 1
        assert text_of(finishes[0]) == ANSWER
        assert [m.role for m in client.messages] == ["assistant"]
    finally:
        await asyncio.wait_for(client.aclose(), 5)


async def test_stop_during_a_server_tool_loop_drops_the_rest_of_the_run() -> None:
    """The stopped run's intermediate RUN_FINISHED is not its end: what follows it in the
    same response is dropped too, and the next turn is clean."""

    def reply(n: int, rc: RunContext) -> list[Any]:
        if n > 1:
            return [started(rc), *text(f"next-{n}", "Next."), finished(rc, "stop")]
        return [
            started(rc),
            *tool_call("c1", "get_weather", "{}", "m1"),
            PAUSE,
            finished(rc, "tool_calls"),
            {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "messageId": "m1", "content": "{}"},
            started(rc),
            *text("late", "LEAKED"),
            finished(rc, "stop"),
        ]

    server = QueueServer(reply)
    client = ChatClient(server)
    try:
        turn = asyncio.create_task(client.send_message("weather?"))
        await asyncio.wait_for(server.paused.wait(), 5)
        await asyncio.sleep(0.01)
        client.stop()
        await asyncio.wait_for(turn, 5)
        server.release()
        await asyncio.sleep(0.05)
        answer = await asyncio.wait_for(client.send_message("next"), 5)
        assert text_of(answer) == "Next."
        assert all("LEAKED" not in text_of(m) for m in client.messages)
        assert client.status is ChatStatus.READY and client.error is None
    finally:
        await asyncio.wait_for(client.aclose(), 5)
