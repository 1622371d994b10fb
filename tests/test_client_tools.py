"""Client tools and automatic continuation (reference §5.6, checklist 135-138).

The adapter is a small in-process "agent": each request's reply depends on the
conversation it was sent, so follow-up requests can be checked for what they carry.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import pytest
from pydantic import BaseModel

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
    UnknownApprovalError,
    UnknownToolCallError,
    tool,
)
from chatconduit._client._tools import coerce_tools
from chatconduit._run_input import ui_messages_to_wire

Reply = Callable[[int, list[UIMessage], RunContext], list[Any]]


class Agent:
    """A pull adapter whose n-th request gets ``reply(n, messages, run_context)``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[tuple[list[UIMessage], Mapping[str, Any] | None, RunContext]] = []
        self.gate: asyncio.Event | None = None  # when set: wait for it before each event
        self.waiting = asyncio.Event()

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Any]:
        assert run_context is not None
        self.requests.append((list(messages), data, run_context))
        return self._events(self.reply(len(self.requests), list(messages), run_context))

    async def _events(self, events: list[Any]) -> AsyncIterator[Any]:
        for event in events:
            if event == "PAUSE":
                self.waiting.set()
                assert self.gate is not None
                await self.gate.wait()
                continue
            yield event

    def wire(self, n: int) -> list[dict[str, Any]]:
        """The n-th request's messages as the HTTP adapters would POST them."""
        return ui_messages_to_wire(self.requests[n - 1][0])


def run(run_id: str, *events: dict[str, Any], finish: str = "stop") -> list[Any]:
    return [
        {"type": "RUN_STARTED", "runId": run_id},
        *events,
        {"type": "RUN_FINISHED", "runId": run_id, "finishReason": finish},
    ]


def say(message_id: str, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": text},
        {"type": "TEXT_MESSAGE_END", "messageId": message_id},
    ]


def call(call_id: str, name: str, args: str, *, client_side: bool = True) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": name},
        {"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": args},
        {"type": "TOOL_CALL_END", "toolCallId": call_id},
    ]
    if client_side:
        events.append(
            {
                "type": "CUSTOM",
                "name": "tool-input-available",
                "value": {"toolCallId": call_id, "toolName": name, "input": _loads(args)},
            }
        )
    return events


def _loads(text: str) -> Any:
    import json

    return json.loads(text)


def tool_messages(wire: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in wire if m.get("role") == "tool"]


def last_text(client: ChatClient) -> str:
    message = client.messages[-1]
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


# ---------------------------------------------------------------- 135: two tools, one follow-up


async def test_two_client_tools_in_one_round_make_exactly_one_follow_up() -> None:
    executed: list[tuple[str, Any]] = []

    async def get_time(args: Any) -> dict[str, str]:
        executed.append(("get_time", args))
        await asyncio.sleep(0.01)
        return {"time": "12:00"}

    def add(args: Any) -> dict[str, int]:
        executed.append(("add", args))
        return {"sum": args["a"] + args["b"]}

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1",
                *say("m1", "Using tools."),
                *call("c1", "get_time", "{}"),
                *call("c2", "add", '{"a":2,"b":3}'),
                finish="tool_calls",
            )
        return run(f"r{n}", *say(f"m{n}", "Both tools answered."))

    agent = Agent(reply)
    finishes: list[UIMessage] = []
    loading: list[bool] = []
    statuses: list[str] = []
    client = ChatClient(
        agent,
        tools=[
            Tool("get_time", "Current time", execute=get_time),
            Tool("add", "Add two numbers", {"type": "object"}, execute=add),
        ],
        on_finish=finishes.append,
        on_loading_change=loading.append,
        on_status_change=lambda s: statuses.append(s.value),
    )
    result = await client.send_message("time and 2+3 please")
    assert sorted(name for name, _ in executed) == ["add", "get_time"]
    assert len(agent.requests) == 2  # exactly one continuation
    assert result is not None and result.id == "m2" and last_text(client) == "Both tools answered."
    # The follow-up carries both outputs, as tool-call output and tool-result parts.
    results = {m["toolCallId"]: m["content"] for m in tool_messages(agent.wire(2))}
    assert results == {"c1": '{"time":"12:00"}', "c2": '{"sum":5}'}
    calls = {p.id: p for p in client.messages[1].parts if isinstance(p, ToolCallPart)}
    assert calls["c2"].output == {"sum": 5} and calls["c2"].state == "input-complete"
    # One turn: same thread, new run id; loading once; one finish per request.
    (_, _, rc1), (_, _, rc2) = agent.requests
    assert rc1.thread_id == rc2.thread_id and rc1.run_id != rc2.run_id
    assert [t["name"] for t in (s.to_wire() for s in rc1.client_tools or [])] == ["get_time", "add"]
    assert loading == [True, False]
    assert statuses == ["submitted", "streaming", "submitted", "streaming", "ready"]
    assert [m.id for m in finishes] == ["m1", "m2"]


# ---------------------------------------------------------------- 137: server tool results


@pytest.mark.parametrize(("finish", "follow_ups"), [("tool_calls", 1), ("stop", 0)])
async def test_server_tool_result_follow_up_depends_on_finish_reason(
    finish: str, follow_ups: int
) -> None:
    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1",
                *call("s1", "get_weather", '{"city":"Zürich"}', client_side=False),
                {"type": "TOOL_CALL_RESULT", "toolCallId": "s1", "content": '{"t":21}'},
                finish=finish,
            )
        return run("r2", *say("m2", "It is 21."))

    agent = Agent(reply)
    client = ChatClient(agent)
    await client.send_message("weather?")
    assert len(agent.requests) == 1 + follow_ups
    if follow_ups:
        assert tool_messages(agent.wire(2)) == [
            {"role": "tool", "id": "tool-s1", "toolCallId": "s1", "content": '{"t":21}'}
        ]


# ---------------------------------------------------------------- 138: no execute


async def test_tool_without_execute_waits_for_add_tool_result() -> None:
    calls_seen: list[Any] = []

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run("r1", *call("c1", "ask_user", '{"q":"color?"}'), finish="tool_calls")
        return run("r2", *say("m2", "Blue it is."))

    agent = Agent(reply)
    client = ChatClient(
        agent, tools=[Tool("ask_user", "Ask the user")], on_tool_call=calls_seen.append
    )
    first = await client.send_message("pick a color")
    assert len(agent.requests) == 1 and client.status is ChatStatus.READY
    assert first is not None and isinstance(first.parts[-1], ToolCallPart)
    assert [c.tool_call_id for c in calls_seen] == ["c1"]
    reply_message = await client.add_tool_result("c1", {"answer": "blue"})
    assert len(agent.requests) == 2
    assert reply_message is not None and reply_message.id == "m2"
    assert tool_messages(agent.wire(2))[0]["content"] == '{"answer":"blue"}'
    with pytest.raises(UnknownToolCallError, match="'nope'"):
        await client.add_tool_result("nope", 1)


async def test_add_tool_result_with_error_marks_the_call_failed() -> None:
    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run("r1", *call("c1", "ask_user", "{}"), finish="tool_calls")
        return run("r2", *say("m2", "Sorry."))

    agent = Agent(reply)
    client = ChatClient(agent, tools=[Tool("ask_user", "Ask")])
    await client.send_message("go")
    await client.add_tool_result("c1", None, error="user declined")
    result_part = next(p for p in client.messages[1].parts if isinstance(p, ToolResultPart))
    assert result_part.state == "error" and result_part.error == "user declined"
    assert tool_messages(agent.wire(2))[0]["error"] == "user declined"


# ---------------------------------------------------------------- 136: approvals


def _approval(call_id: str, approval_id: str) -> dict[str, Any]:
    return {
        "type": "CUSTOM",
        "name": "approval-requested",
        "value": {
            "toolCallId": call_id,
            "toolName": "delete",
            "input": {},
            "approval": {"id": approval_id},
        },
    }


async def test_approval_answered_during_a_follow_up_triggers_another() -> None:
    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run("r1", *call("c1", "get_time", "{}"), finish="tool_calls")
        if n == 2:
            return run(
                "r2",
                *call("c2", "delete", "{}", client_side=False),
                _approval("c2", "ap-1"),
                "PAUSE",
                finish="tool_calls",
            )
        return run(f"r{n}", *say(f"m{n}", "Deleted."))

    agent = Agent(reply)
    agent.gate = asyncio.Event()
    approvals: list[Any] = []
    client = ChatClient(
        agent,
        tools=[Tool("get_time", "t", execute=lambda args: {"time": "now"})],
        on_approval_request=approvals.append,
    )
    turn = asyncio.create_task(client.send_message("clean up"))
    await asyncio.wait_for(agent.waiting.wait(), 5)  # the follow-up (request 2) is streaming
    assert [a.approval_id for a in approvals] == ["ap-1"]
    assert await client.add_tool_approval_response("ap-1", True) is None  # queued
    agent.gate.set()
    reply_message = await asyncio.wait_for(turn, 5)
    assert len(agent.requests) == 3
    assert reply_message is not None and reply_message.id == "m3"
    part = next(
        p for p in client.messages[-2].parts if isinstance(p, ToolCallPart) and p.id == "c2"
    )
    assert (
        part.state == "approval-responded" and part.approval is not None and part.approval.approved
    )
    with pytest.raises(UnknownApprovalError):
        await client.add_tool_approval_response("ap-unknown", False)


async def test_denied_approval_still_sends_the_follow_up() -> None:
    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1",
                *call("c1", "delete", "{}", client_side=False),
                _approval("c1", "ap"),
                finish="tool_calls",
            )
        return run("r2", *say("m2", "Not deleted."))

    agent = Agent(reply)
    client = ChatClient(agent)
    await client.send_message("delete it")
    assert len(agent.requests) == 1  # waiting for the answer
    reply_message = await client.add_tool_approval_response("ap", False)
    assert reply_message is not None and reply_message.id == "m2" and len(agent.requests) == 2


# ---------------------------------------------------------------- execution details


class Sum(BaseModel):
    a: int
    b: int


async def test_pydantic_parameters_validate_input_and_dump_output() -> None:
    received: list[Any] = []

    class Total(BaseModel):
        total: int

    async def add(args: Sum) -> Total:
        received.append(args)
        return Total(total=args.a + args.b)

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1",
                *call("c1", "add", '{"a":1,"b":2}'),
                *call("c2", "add", '{"a":"x"}'),
                finish="tool_calls",
            )
        return run("r2", *say("m2", "ok"))

    agent = Agent(reply)
    client = ChatClient(agent, tools=[Tool("add", "Add", Sum, execute=add)])
    await client.send_message("add")
    assert received == [Sum(a=1, b=2)]
    results = {m["toolCallId"]: m for m in tool_messages(agent.wire(2))}
    assert results["c1"]["content"] == '{"total":3}'
    assert "a: Input should be a valid integer" in results["c2"]["error"]
    assert "b: Field required" in results["c2"]["error"]
    spec = agent.requests[0][2].client_tools
    assert spec is not None
    schema = spec[0].to_wire()["parameters"]
    assert schema["type"] == "object" and set(schema["properties"]) == {"a", "b"}


async def test_failing_and_non_json_tools_become_error_results() -> None:
    def fail(args: Any) -> None:
        raise RuntimeError("disk on fire")

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1", *call("c1", "fail", "{}"), *call("c2", "weird", "{}"), finish="tool_calls"
            )
        return run("r2", *say("m2", "ok"))

    agent = Agent(reply)
    client = ChatClient(
        agent,
        tools=[Tool("fail", "x", execute=fail), Tool("weird", "y", execute=lambda a: {1, 2})],
    )
    await client.send_message("go")
    results = {m["toolCallId"]: m for m in tool_messages(agent.wire(2))}
    # The error is the content too: servers that read only ``content`` (pydantic-ai)
    # would otherwise tell the model "null".
    assert results["c1"]["error"] == "disk on fire"
    assert results["c1"]["content"] == '{"error":"disk on fire"}'
    assert "not JSON" in results["c2"]["error"]
    assert client.status is ChatStatus.READY


async def test_sync_tools_run_in_a_worker_thread_unless_asked_not_to() -> None:
    threads: dict[str, threading.Thread] = {}

    def record(name: str) -> Callable[[Any], str]:
        def execute(args: Any) -> str:
            threads[name] = threading.current_thread()
            return "ok"

        return execute

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1",
                *call("c1", "threaded", "{}"),
                *call("c2", "inline", "{}"),
                finish="tool_calls",
            )
        return run("r2", *say("m2", "ok"))

    client = ChatClient(
        Agent(reply),
        tools=[
            Tool("threaded", "x", execute=record("threaded")),
            Tool("inline", "y", execute=record("inline"), run_in_thread=False),
        ],
    )
    await client.send_message("go")
    assert threads["threaded"] is not threading.current_thread()
    assert threads["inline"] is threading.current_thread()


async def test_stop_cancels_running_tools_and_sends_no_follow_up() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow(args: Any) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        return run("r1", *call("c1", "slow", "{}"), finish="tool_calls")

    agent = Agent(reply)
    client = ChatClient(agent, tools=[Tool("slow", "x", execute=slow)])
    turn = asyncio.create_task(client.send_message("go"))
    await asyncio.wait_for(started.wait(), 5)
    client.stop()
    await asyncio.wait_for(turn, 5)
    await asyncio.wait_for(cancelled.wait(), 5)
    assert len(agent.requests) == 1 and client.status is ChatStatus.READY
    # The late result is dropped; the call is answered as cancelled instead of being left
    # open (the next request must answer every tool call; see test_client_hostile.py).
    part = next(p for p in client.messages[-1].parts if isinstance(p, ToolCallPart))
    (result,) = [p for p in client.messages[-1].parts if isinstance(p, ToolResultPart)]
    assert part.output == {"error": result.error} and result.state == "error"
    assert result.error is not None and "cancelled by the user" in result.error


# ---------------------------------------------------------------- the Tool type


def test_tool_definitions_are_checked() -> None:
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        Tool("", "x")
    with pytest.raises(TypeError, match="description must be a str"):
        Tool("t", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="execute must be callable"):
        Tool("t", "x", execute=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="parameters must be a JSON Schema"):
        Tool("t", "x", parameters=[1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"tools\[0\]: unknown key"):
        coerce_tools([{"name": "t", "description": "x", "inputschema": {}}])
    with pytest.raises(TypeError, match=r"tools\[1\]: expected a Tool"):
        coerce_tools([Tool("a", "x"), 5])  # type: ignore[list-item]


def test_later_tool_with_the_same_name_replaces_in_place() -> None:
    tools = coerce_tools(
        [
            Tool("a", "first"),
            {"name": "b", "description": "b", "inputSchema": {"type": "object"}},
            Tool("a", "second"),
        ]
    )
    assert list(tools) == ["a", "b"] and tools["a"].description == "second"
    assert tools["b"].spec().to_wire() == {
        "name": "b",
        "description": "b",
        "parameters": {"type": "object"},
    }
    assert Tool("c", "c").spec().to_wire()["parameters"] == {"type": "object"}


def test_tool_decorator_uses_name_and_docstring() -> None:
    @tool(parameters=Sum)
    async def add(args: Sum) -> int:
        """Add two integers."""
        return args.a + args.b

    assert isinstance(add, Tool)
    assert (add.name, add.description, add.parameters) == ("add", "Add two integers.", Sum)
