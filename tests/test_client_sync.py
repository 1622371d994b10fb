"""SyncChatClient: the blocking client, over a real server and from awkward threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import (
    ChatStatus,
    ClientClosedError,
    ConnectError,
    SyncChatClient,
    TextPart,
    Tool,
    stream,
)
from cyclic_garbage import no_cyclic_garbage
from servers import RunningServer, serve
from test_client_http import ChatApp, adapter


@pytest.fixture
def chat_server() -> Iterator[tuple[RunningServer, ChatApp]]:
    app = ChatApp()
    with serve(app.app()) as server:
        yield server, app


def text(message: Any) -> str:
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


def test_send_message_blocks_until_the_reply_and_runs_tools(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, app = chat_server
    tool_threads: list[threading.Thread] = []

    def get_time(args: Any) -> dict[str, str]:
        tool_threads.append(threading.current_thread())
        return {"time": "noon"}

    with SyncChatClient(
        adapter(server, "chat", "sse"), tools=[Tool("get_time", "t", execute=get_time)]
    ) as chat:
        reply = chat.send_message("Hello")
        assert reply is not None and text(reply) == "You said: Hello"
        assert chat.status is ChatStatus.READY and not chat.is_loading
        final = chat.send_message("ask get_time")
        assert final is not None and text(final) == 'The tool said {"time":"noon"}'
        messages = chat.messages
        assert isinstance(messages, tuple) and len(messages) == 5
        messages[-1].parts.clear()  # a copy: the client's conversation is untouched
        assert len(chat.messages[-1].parts) == 1
    assert chat.closed
    assert tool_threads and tool_threads[0] is not threading.current_thread()
    assert len(app.bodies) == 3


def test_stream_message_yields_newer_snapshots_and_ends_final(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, _ = chat_server
    with SyncChatClient(adapter(server, "chat", "ndjson")) as chat:
        snapshots = list(chat.stream_message("streamed"))
    # How many intermediate states the consumer sees depends on thread scheduling (the
    # slot keeps only the newest); each is newer than the one before, the last is final.
    versions = [s.version for s in snapshots]
    assert versions == sorted(set(versions))
    assert snapshots[-1].status is ChatStatus.READY
    assert text(snapshots[-1].messages[-1]) == "You said: streamed"


def test_leaving_stream_message_early_stops_the_reply(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, app = chat_server
    with SyncChatClient(adapter(server, "slow", "sse")) as chat:
        for snap in chat.stream_message("go"):
            last = snap.last_message
            if last is not None and last.role == "assistant" and text(last):
                break
        assert chat.status is ChatStatus.READY
        assert app.closed.wait(5) and not app.completed.is_set()
        assert text(chat.messages[-1]).startswith("0 ")


def test_a_slow_loop_body_gets_the_latest_state() -> None:
    events = [
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"} for _ in range(200)),
        {"type": "RUN_FINISHED", "runId": "r", "finishReason": "stop"},
    ]

    async def agent(messages: Any, data: Any) -> Any:
        for event in events:
            yield event
            await asyncio.sleep(0.001)

    seen = []
    with SyncChatClient(stream(agent)) as chat:
        for snap in chat.stream_message("go"):
            seen.append(snap)
            time.sleep(0.1)  # far slower than the stream
    assert len(seen) < 50  # coalesced: far fewer items than the 200 events
    assert text(seen[-1].messages[-1]) == "x" * 200


def test_errors_are_kept_and_optionally_raised_after_the_final_snapshot() -> None:
    async def broken(messages: Any, data: Any) -> Any:
        raise ConnectError("refused")
        yield  # pragma: no cover

    with SyncChatClient(stream(broken)) as chat:
        assert chat.send_message("hi") is None
        assert isinstance(chat.error, ConnectError) and chat.status is ChatStatus.ERROR
        with pytest.raises(ConnectError):
            chat.send_message("again", raise_on_error=True)
        seen = []
        with pytest.raises(ConnectError):
            for snap in chat.stream_message("once more", raise_on_error=True):
                seen.append(snap)
        assert seen[-1].status is ChatStatus.ERROR


def test_timeout_stops_the_reply(chat_server: tuple[RunningServer, ChatApp]) -> None:
    server, app = chat_server
    with SyncChatClient(adapter(server, "slow", "sse")) as chat:
        with pytest.raises(TimeoutError, match="stopped"):
            chat.send_message("go", timeout=0.3)
        assert chat.status is ChatStatus.READY and not chat.is_loading
        assert app.closed.wait(5)


async def test_usable_from_a_thread_with_a_running_event_loop(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    # Like a Jupyter cell: this test function runs inside an asyncio loop.
    server, _ = chat_server
    asyncio.get_running_loop()
    chat = SyncChatClient(adapter(server, "chat", "sse"))
    try:
        reply = chat.send_message("from a loop")
        assert reply is not None and text(reply) == "You said: from a loop"
    finally:
        chat.close()


def test_callbacks_cannot_call_back_into_the_sync_client(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, _ = chat_server
    problems: list[BaseException] = []
    holder: list[SyncChatClient] = []

    def on_finish(message: Any) -> None:
        try:
            holder[0].clear()
        except RuntimeError as exc:
            problems.append(exc)

    with SyncChatClient(adapter(server, "chat", "sse"), on_finish=on_finish) as chat:
        holder.append(chat)
        reply = chat.send_message("hi")
        assert reply is not None  # no deadlock
    assert len(problems) == 1 and "own callbacks" in str(problems[0])


def test_closed_client_refuses_work_and_close_is_idempotent() -> None:
    chat = SyncChatClient(stream(lambda messages, data: iter(())))
    thread = chat._thread
    chat.close()
    chat.close()
    assert not thread.is_alive()
    with pytest.raises(ClientClosedError):
        chat.send_message("hi")
    chat.stop()  # harmless after close


def test_options_are_checked_on_construction() -> None:
    with pytest.raises(TypeError, match="body must be a mapping"):
        SyncChatClient(stream(lambda m, d: iter(())), body=3)
    with pytest.raises(TypeError):
        SyncChatClient(stream(lambda m, d: iter(())), no_such_option=1)


def test_stop_from_another_thread_ends_a_blocking_send(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    server, app = chat_server
    with SyncChatClient(adapter(server, "slow", "sse")) as chat:

        def press_stop() -> None:  # a UI thread: "Stop" once some text is shown
            for _ in range(500):
                last = chat.snapshot().last_message
                if last is not None and last.role == "assistant" and text(last):
                    break
                time.sleep(0.01)
            chat.stop()

        stopper = threading.Thread(target=press_stop)
        stopper.start()
        reply = chat.send_message("go", timeout=10)
        stopper.join()
        assert reply is not None and text(reply).startswith("0 ")
        assert chat.status is ChatStatus.READY and chat.error is None
        assert app.closed.wait(5) and not app.completed.is_set()


def test_a_closed_sync_client_leaves_nothing_for_the_cyclic_gc(
    chat_server: tuple[RunningServer, ChatApp],
) -> None:
    """As for ChatClient (test_client_http): closing lets go of every reference cycle,
    with a client tool answered on the way; its loop thread's objects included."""
    server, _app = chat_server

    def one_client() -> None:
        tools = [Tool("get_time", "t", execute=lambda args: {"time": "noon"})]
        with SyncChatClient(adapter(server, "chat", "sse"), tools=tools) as chat:
            reply = chat.send_message("ask get_time")
            assert reply is not None and text(reply) == 'The tool said {"time":"noon"}'

    one_client()
    with no_cyclic_garbage(exclude=("server",)):
        for _ in range(3):
            one_client()
