"""Hostile tools, servers and threads: whatever a client tool, a server or another thread
does, a turn ends (with a result, an error result sent to the server, or a typed error),
never with a silent stall, and a stopped client never holds the process hostage.

Where the server matters (what the next request carries, how many requests are sent,
a slow stream to close under), a real uvicorn serves a few lines of Starlette; every
wait is bounded (generous bounds on hangs, never an assertion on speed).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    ChatStatus,
    ClientClosedError,
    RunContext,
    SyncChatClient,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    _exceptions,
    fetch_server_sent_events,
)
from servers import RunningServer, serve
from test_client_http import ChatApp
from test_client_http import adapter as chat_adapter
from test_client_push import PushServer
from test_client_tools import Agent, call, run, say, tool_messages

BOUND = 15.0  # seconds: a generous bound on anything that used to hang


def frame(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def client_tool_call(run_id: str, call_id: str, name: str) -> list[dict[str, Any]]:
    """A run in which the agent asks the client to run ``name`` (and waits for it)."""
    return [
        {"type": "RUN_STARTED", "runId": run_id, "threadId": "t"},
        {"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": name},
        {"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": "{}"},
        {"type": "TOOL_CALL_END", "toolCallId": call_id},
        {
            "type": "CUSTOM",
            "name": "tool-input-available",
            "value": {"toolCallId": call_id, "toolName": name, "input": {}},
        },
        {"type": "RUN_FINISHED", "runId": run_id, "finishReason": "tool_calls"},
    ]


def open_tool_calls(messages: list[dict[str, Any]]) -> list[str]:
    """Tool calls that an OpenAI-style backend refuses: an assistant message's
    ``toolCalls`` not each followed by a ``tool`` message answering it."""
    problems: list[str] = []
    waiting: set[str] = set()
    for message in messages:
        role = message.get("role")
        if role == "tool":
            waiting.discard(str(message.get("toolCallId")))
            continue
        if role == "reasoning":
            continue
        problems.extend(sorted(waiting))
        waiting = {str(c["id"]) for c in message.get("toolCalls") or []}
    problems.extend(sorted(waiting))
    return problems


class HostileApp:
    """``/strict``: refuses (400, OpenAI's words) a request with an unanswered tool call;
    calls the client tool named in the user's text, else answers ``ok``.
    ``/loop``: answers every request, follow-ups included, with another client-tool call."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/strict", self.strict, methods=["POST"]),
                Route("/loop", self.loop, methods=["POST"]),
            ]
        )

    async def strict(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.bodies.append(body)
        messages = body["messages"]
        problems = open_tool_calls(messages)
        if problems:
            return JSONResponse(
                {
                    "error": {
                        "message": "An assistant message with 'tool_calls' must be followed "
                        "by tool messages responding to each 'tool_call_id'. The following "
                        f"tool_call_ids did not have response messages: {', '.join(problems)}"
                    }
                },
                status_code=400,
            )
        run_id = body["runId"]
        last = messages[-1]
        named = [
            t["name"]
            for t in body["tools"]
            if last.get("role") == "user" and t["name"] in str(last.get("content"))
        ]
        if named:
            events = client_tool_call(run_id, f"call-{run_id}", named[0])
        else:
            events = [
                {"type": "RUN_STARTED", "runId": run_id, "threadId": "t"},
                {"type": "TEXT_MESSAGE_START", "messageId": f"m-{run_id}", "role": "assistant"},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"m-{run_id}", "delta": "ok"},
                {"type": "TEXT_MESSAGE_END", "messageId": f"m-{run_id}"},
                {"type": "RUN_FINISHED", "runId": run_id, "finishReason": "stop"},
            ]
        return self._stream(events)

    async def loop(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.bodies.append(body)
        run_id = body["runId"]
        return self._stream(client_tool_call(run_id, f"call-{run_id}", "ping"))

    @staticmethod
    def _stream(events: list[dict[str, Any]]) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for event in events:
                yield frame(event)

        return StreamingResponse(chunks(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[RunningServer, HostileApp]]:
    app = HostileApp()
    with serve(app.app()) as server:
        yield server, app


def in_own_thread(make: Callable[[], Coroutine[Any, Any, Any]]) -> dict[str, Any]:
    """``asyncio.run(make())`` in a thread of its own, bounded: what it returned or raised.

    A KeyboardInterrupt that escapes a task stops the event loop running it; on the
    test's own loop that would end the whole pytest session instead of failing a test.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(make())
        except BaseException as exc:
            outcome["raised"] = exc

    thread = threading.Thread(target=target, name="isolated-loop", daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "the turn stalled"
    return outcome


def text(message: UIMessage | None) -> str:
    assert message is not None
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


# ---------------------------------------------------------------- tools failing oddly


def _one_call_then_text(name: str) -> Callable[[int, list[UIMessage], RunContext], list[Any]]:
    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run("r1", *call("c1", name, "{}"), finish="tool_calls")
        return run(f"r{n}", *say(f"m{n}", "done"))

    return reply


async def test_a_result_too_deep_to_encode_becomes_an_error_result() -> None:
    def deep(args: Any) -> list[Any]:
        value: list[Any] = []
        for _ in range(100_000):
            value = [value]
        return value  # JSON encoding it raises RecursionError

    agent = Agent(_one_call_then_text("deep"))
    client = ChatClient(agent, tools=[Tool("deep", "d", execute=deep)])
    async with asyncio.timeout(BOUND):
        reply = await client.send_message("go")
    assert len(agent.requests) == 2, "the error result was not sent"
    (result,) = tool_messages(agent.wire(2))
    assert "RecursionError" in result["error"] and "'deep'" in result["error"]
    assert text(reply) == "done" and client.status is ChatStatus.READY


async def test_a_tool_raising_cancelled_error_itself_becomes_an_error_result() -> None:
    async def quits(args: Any) -> None:
        raise asyncio.CancelledError  # not a cancellation of ours: a failure of the tool

    def quits_in_thread(args: Any) -> None:
        raise asyncio.CancelledError

    def reply(n: int, messages: list[UIMessage], rc: RunContext) -> list[Any]:
        if n == 1:
            return run(
                "r1", *call("c1", "quits", "{}"), *call("c2", "threaded", "{}"), finish="tool_calls"
            )
        return run(f"r{n}", *say(f"m{n}", "done"))

    agent = Agent(reply)
    client = ChatClient(
        agent,
        tools=[
            Tool("quits", "q", execute=quits),
            Tool("threaded", "t", execute=quits_in_thread),
        ],
    )
    async with asyncio.timeout(BOUND):
        reply_message = await client.send_message("go")
    assert len(agent.requests) == 2, "the error results were not sent"
    results = {m["toolCallId"]: m["error"] for m in tool_messages(agent.wire(2))}
    assert "CancelledError" in results["c1"] and "'quits'" in results["c1"]
    assert "CancelledError" in results["c2"] and "'threaded'" in results["c2"]
    assert text(reply_message) == "done" and client.status is ChatStatus.READY


@pytest.mark.parametrize(
    ("error", "run_in_thread"), [(KeyboardInterrupt, True), (SystemExit, False)]
)
def test_keyboard_interrupt_or_system_exit_from_a_tool_is_raised_and_the_turn_ends(
    error: type[BaseException], run_in_thread: bool
) -> None:
    """Raised from ``send_message`` (as Ctrl-C during it would be), after the turn was
    stopped and the call got an error result: the next turn works and is valid."""

    def interrupt(args: Any) -> None:
        raise error

    async def main() -> dict[str, Any]:
        agent = Agent(_one_call_then_text("boom"))
        client = ChatClient(
            agent, tools=[Tool("boom", "b", execute=interrupt, run_in_thread=run_in_thread)]
        )
        seen: dict[str, Any] = {}
        try:
            async with asyncio.timeout(BOUND / 2):
                await client.send_message("go")
        except (KeyboardInterrupt, SystemExit) as exc:
            seen["caught"] = exc
        seen["status"] = client.status
        seen["requests"] = len(agent.requests)
        seen["parts"] = list(client.messages[-1].parts)
        async with asyncio.timeout(BOUND / 2):
            seen["next"] = await client.send_message("again")
        seen["wire"] = agent.wire(len(agent.requests))
        return seen

    outcome = in_own_thread(main)
    assert "raised" not in outcome, f"escaped the event loop: {outcome.get('raised')!r}"
    seen = outcome["value"]
    assert isinstance(seen["caught"], error)
    assert seen["status"] is ChatStatus.READY and seen["requests"] == 1  # no follow-up
    (result,) = [p for p in seen["parts"] if isinstance(p, ToolResultPart)]
    assert result.error is not None and error.__name__ in result.error and "'boom'" in result.error
    assert text(seen["next"]) == "done"
    assert open_tool_calls(seen["wire"]) == []


def test_keyboard_interrupt_from_a_tool_reaches_the_sync_caller() -> None:
    """From send_message and from stream_message; the private loop survives it."""

    def interrupt(args: Any) -> None:
        raise KeyboardInterrupt

    outcome: dict[str, Any] = {}

    def target() -> None:
        agent = Agent(_one_call_then_text("boom"))
        with SyncChatClient(agent, tools=[Tool("boom", "b", execute=interrupt)]) as chat:
            try:
                chat.send_message("go")
            except KeyboardInterrupt as exc:
                outcome["caught"] = exc
            outcome["status"] = chat.status
            outcome["next"] = chat.send_message("again", timeout=BOUND / 2)
        streamed = Agent(_one_call_then_text("boom"))
        with SyncChatClient(streamed, tools=[Tool("boom", "b", execute=interrupt)]) as chat:
            try:
                for _ in chat.stream_message("go"):
                    pass
            except KeyboardInterrupt as exc:
                outcome["streamed"] = exc
            outcome["next streamed"] = chat.send_message("again", timeout=BOUND / 2)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "the blocking call stalled"
    assert isinstance(outcome.get("caught"), KeyboardInterrupt)
    assert outcome["status"] is ChatStatus.READY
    assert text(outcome["next"]) == "done"
    assert isinstance(outcome.get("streamed"), KeyboardInterrupt)
    assert text(outcome["next streamed"]) == "done"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_interrupt_from_a_tool_of_a_server_pushed_run_stops_the_loop() -> None:
    """No turn, no send_message to raise it from: it stops the event loop running the
    client, as a Ctrl-C would, after the call was answered. A SyncChatClient whose
    private loop it stopped refuses further calls instead of hanging."""

    def interrupt(args: Any) -> None:
        raise KeyboardInterrupt

    tools = [Tool("boom", "b", execute=interrupt, run_in_thread=False)]
    holder: list[ChatClient] = []

    async def main() -> None:
        server = PushServer()
        client = ChatClient(server, tools=tools)
        holder.append(client)
        client.subscribe()
        server.push(*client_tool_call("r1", "c1", "boom"))
        await asyncio.sleep(BOUND)

    outcome = in_own_thread(main)
    assert isinstance(outcome.get("raised"), KeyboardInterrupt)
    (result,) = [p for p in holder[0].messages[-1].parts if isinstance(p, ToolResultPart)]
    assert result.error is not None and "KeyboardInterrupt" in result.error

    server = PushServer()
    chat = SyncChatClient(server, tools=tools)
    chat.subscribe()
    chat.loop.call_soon_threadsafe(server.push, *client_tool_call("r1", "c1", "boom"))
    deadline = time.monotonic() + BOUND
    while chat.loop.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(ClientClosedError):
        chat.snapshot()
    chat.close()
    assert chat.closed


# ---------------------------------------------------------------- stop() during a client tool


async def test_after_stop_during_a_tool_the_next_request_answers_every_tool_call(
    hostile: tuple[RunningServer, HostileApp],
) -> None:
    server, app = hostile
    started = asyncio.Event()

    async def slow(args: Any) -> str:
        started.set()
        await asyncio.sleep(30)
        return "late"

    async with fetch_server_sent_events(server.url + "/strict") as http:
        client = ChatClient(http, tools=[Tool("slow", "s", execute=slow)])
        turn = asyncio.create_task(client.send_message("run slow"))
        await asyncio.wait_for(started.wait(), BOUND)
        client.stop()
        await asyncio.wait_for(turn, BOUND)
        assert client.status is ChatStatus.READY
        reply = await asyncio.wait_for(client.send_message("and now?"), BOUND)
        assert client.error is None, client.error  # the server refused an open tool call
        assert text(reply) == "ok"
        part = next(p for m in client.messages for p in m.parts if isinstance(p, ToolCallPart))
        assert part.has_output  # answered (cancelled), not left open
    tool = tool_messages(app.bodies[-1]["messages"])
    assert len(tool) == 1 and "cancelled" in tool[0]["error"]


# ---------------------------------------------------------------- endless continuations


async def test_endless_continuations_stop_at_the_default_limit(
    hostile: tuple[RunningServer, HostileApp],
) -> None:
    server, app = hostile
    before = len(app.bodies)
    async with fetch_server_sent_events(server.url + "/loop") as http:
        client = ChatClient(http, tools=[Tool("ping", "p", execute=lambda args: "pong")])
        async with asyncio.timeout(BOUND):
            await client.send_message("ping forever")
    assert len(app.bodies) - before == 1 + 20  # the request and 20 follow-ups
    assert isinstance(client.error, _exceptions.ContinuationLimitError)
    assert "20" in str(client.error)
    assert client.status is ChatStatus.ERROR
    # The partial conversation is kept, every tool call answered.
    assert len(client.messages) == 1 + 21
    assert all(
        p.has_output for m in client.messages[1:] for p in m.parts if isinstance(p, ToolCallPart)
    )


async def test_max_continuations_is_an_option(hostile: tuple[RunningServer, HostileApp]) -> None:
    server, app = hostile
    before = len(app.bodies)
    async with fetch_server_sent_events(server.url + "/loop") as http:
        client = ChatClient(
            http, tools=[Tool("ping", "p", execute=lambda args: "pong")], max_continuations=2
        )
        async with asyncio.timeout(BOUND):
            with pytest.raises(_exceptions.ContinuationLimitError):
                await client.send_message("ping", raise_on_error=True)
        assert len(app.bodies) - before == 3 and client.status is ChatStatus.ERROR
        client.update_options(max_continuations=0)  # no automatic follow-up at all
        async with asyncio.timeout(BOUND):
            await client.send_message("ping again")
        assert len(app.bodies) - before == 4
        assert isinstance(client.error, _exceptions.ContinuationLimitError)
    with pytest.raises(TypeError, match="max_continuations"):
        ChatClient(http, max_continuations=-1)
    with pytest.raises(TypeError, match="max_continuations"):
        ChatClient(http, max_continuations="3")  # type: ignore[typeddict-item]
    unlimited = ChatClient(http, max_continuations=None)
    assert unlimited.status is ChatStatus.READY


# ---------------------------------------------------------------- process exit


EXIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading, time
    from chatconduit._client import ChatClient, SyncChatClient, Tool

    started = threading.Event()

    def sleepy(args):
        started.set()
        time.sleep(60)  # a blocking tool nobody can interrupt
        return "late"

    class Agent:
        def connect(self, messages, data=None, signal=None, run_context=None):
            async def events():
                yield {"type": "RUN_STARTED", "runId": "r1", "threadId": "t"}
                yield {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "sleepy"}
                yield {"type": "TOOL_CALL_END", "toolCallId": "c1"}
                yield {"type": "CUSTOM", "name": "tool-input-available",
                       "value": {"toolCallId": "c1", "toolName": "sleepy", "input": {}}}
                yield {"type": "RUN_FINISHED", "runId": "r1", "finishReason": "tool_calls"}
            return events()

    tools = [Tool("sleepy", "s", execute=sleepy)]

    async def main():
        client = ChatClient(Agent(), tools=tools)
        turn = asyncio.create_task(client.send_message("go"))
        while not started.is_set():
            await asyncio.sleep(0.01)
        client.stop()
        await turn
        await client.aclose()

    if sys.argv[1] == "async":
        asyncio.run(main())
    else:
        with SyncChatClient(Agent(), tools=tools) as chat:
            threading.Thread(target=lambda: (started.wait(), chat.stop())).start()
            chat.send_message("go")
    print("returned", flush=True)
    """
)


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_stopped_thread_tool_does_not_hold_process_exit(mode: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", EXIT_SCRIPT, mode],
            capture_output=True,
            text=True,
            timeout=BOUND + 5,  # the tool sleeps 60 s
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process waited for the stopped tool's thread: {exc.stdout!r}")
    assert done.returncode == 0, done.stderr
    assert "returned" in done.stdout


# ---------------------------------------------------------------- close() under stream_message


@pytest.fixture(scope="module")
def slow_server() -> Iterator[RunningServer]:
    with serve(ChatApp().app()) as server:
        yield server


@pytest.mark.parametrize("trial", range(10))
def test_close_from_another_thread_ends_stream_message(
    slow_server: RunningServer, trial: int
) -> None:
    """The iterating thread ends promptly: cleanly (StopIteration), or, when the stream
    had not started yet, with ClientClosedError; never blocked, never another error."""
    chat = SyncChatClient(chat_adapter(slow_server, "slow", "sse"))
    first = threading.Event()
    outcome: dict[str, Any] = {}

    def consume() -> None:
        try:
            for _ in chat.stream_message("go"):
                first.set()
                if trial % 2:
                    time.sleep(0.002)  # a loop body slower than the stream
            outcome["ended"] = True
        except BaseException as exc:
            outcome["raised"] = exc
        finally:
            first.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    if trial >= 2:  # the first two close before (or while) the stream starts
        assert first.wait(BOUND)
        time.sleep(0.003 * trial)
    closer = threading.Thread(target=chat.close, daemon=True)
    closer.start()
    closer.join(BOUND)
    consumer.join(BOUND)
    assert not closer.is_alive(), "close() hung"
    assert not consumer.is_alive(), "stream_message blocked after close()"
    raised = outcome.get("raised")
    assert outcome.get("ended") or isinstance(raised, ClientClosedError), repr(raised)
    assert chat.closed
