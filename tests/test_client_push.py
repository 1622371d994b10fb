"""ChatClient with push (subscribe + send) adapters: the subscription loop (reference §5.4,
checklist 49, 123-134, 140).

``PushServer`` is an in-process push adapter: ``subscribe()`` yields whatever the
test (playing the server) pushes, ``send()`` records the request and may push a
scripted reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import pytest

from chatconduit import (
    AbortSignal,
    ChatClient,
    ChatConnectionStatus,
    ChatStatus,
    RunContext,
    StreamReadError,
    TextPart,
    TransportError,
    UIMessage,
)

END = object()


class PushServer:
    def __init__(self, reply: Callable[[RunContext], list[Any]] | None = None) -> None:
        self.reply = reply
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.sends: list[
            tuple[list[Any], Mapping[str, Any] | None, AbortSignal | None, RunContext]
        ] = []
        self.subscriptions: list[AbortSignal | None] = []
        self.ended = 0  # subscription iterators that finished

    def push(self, *events: Any) -> None:
        for event in events:
            self.queue.put_nowait(event)

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Any]:
        self.subscriptions.append(abort_signal)
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        try:
            while True:
                item = await self.queue.get()
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.ended += 1

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        assert run_context is not None
        self.sends.append((list(messages), data, abort_signal, run_context))
        if self.reply is not None:
            self.push(*self.reply(run_context))


def reply_text(text: str, message_id: str = "m-1") -> Callable[[RunContext], list[Any]]:
    def reply(rc: RunContext) -> list[Any]:
        return [
            {"type": "RUN_STARTED", "runId": rc.run_id, "threadId": rc.thread_id},
            {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": text},
            {"type": "TEXT_MESSAGE_END", "messageId": message_id},
            {"type": "RUN_FINISHED", "runId": rc.run_id, "finishReason": "stop"},
        ]

    return reply


def text_of(message: UIMessage) -> str:
    return "".join(p.content for p in message.parts if isinstance(p, TextPart))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_send_message_uses_subscribe_and_send() -> None:
    server = PushServer(reply_text("Hello from push"))
    client = ChatClient(server)
    reply = await asyncio.wait_for(client.send_message("hi"), 5)
    assert reply is not None and text_of(reply) == "Hello from push"
    assert len(server.sends) == 1 and len(server.subscriptions) == 1
    assert client.is_subscribed and client.connection_status is ChatConnectionStatus.CONNECTED
    assert client.status is ChatStatus.READY
    await client.send_message("again")
    assert len(server.subscriptions) == 1  # the loop stays up across requests
    await client.aclose()


async def test_subscribe_is_idempotent_and_restart_starts_a_new_loop() -> None:
    server = PushServer()
    statuses: list[str] = []
    client = ChatClient(server, on_connection_status_change=lambda s: statuses.append(s.value))
    client.subscribe()
    client.subscribe()
    await settle()
    assert len(server.subscriptions) == 1
    server.push({"type": "RUN_STARTED", "runId": "x"})
    await settle()
    assert client.connection_status is ChatConnectionStatus.CONNECTED
    client.subscribe(restart=True)
    await settle()
    assert len(server.subscriptions) == 2
    first_signal = server.subscriptions[0]
    assert first_signal is not None and first_signal.aborted
    assert statuses == ["connecting", "connected", "connecting"]
    await client.aclose()


async def test_subscription_callbacks_and_statuses_over_a_lifetime() -> None:
    server = PushServer()
    subscribed: list[bool] = []
    statuses: list[str] = []
    client = ChatClient(
        server,
        on_subscription_change=subscribed.append,
        on_connection_status_change=lambda s: statuses.append(s.value),
    )
    client.subscribe()
    server.push({"type": "CUSTOM", "name": "hello", "value": 1})
    await settle()
    client.unsubscribe()
    client.unsubscribe()  # idempotent
    await settle()
    assert subscribed == [True, False]
    assert statuses == ["connecting", "connected", "disconnected"]
    assert server.ended == 1  # the subscription iterator was closed


async def test_unsubscribe_aborts_the_running_turn() -> None:
    server = PushServer()  # never replies
    client = ChatClient(server)
    turn = asyncio.create_task(client.send_message("hi"))
    await settle()
    assert client.is_loading
    client.unsubscribe()
    assert await asyncio.wait_for(turn, 5) is None
    assert client.status is ChatStatus.READY and not client.is_loading
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED


async def test_without_terminal_event_send_waits_until_stop() -> None:
    server = PushServer(lambda rc: [{"type": "RUN_STARTED", "runId": rc.run_id}])
    client = ChatClient(server)
    turn = asyncio.create_task(client.send_message("hi"))
    await asyncio.sleep(0.05)
    assert not turn.done() and client.session_generating
    client.stop()
    await asyncio.wait_for(turn, 5)
    assert client.status is ChatStatus.READY and client.session_generating is False
    assert client.is_subscribed  # stop keeps the subscription alive (checklist 125)
    await client.aclose()


async def test_events_of_a_stopped_run_are_dropped() -> None:
    """Reference: chunks still arriving for a stopped request keep being processed."""
    server = PushServer(
        lambda rc: [
            {"type": "RUN_STARTED", "runId": rc.run_id},
            {"type": "TEXT_MESSAGE_START", "messageId": "m-1"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-1", "delta": "Part"},
        ]
    )
    client = ChatClient(server)
    turn = asyncio.create_task(client.send_message("hi"))
    await asyncio.sleep(0.05)
    client.stop()
    await turn
    run_id = server.sends[0][3].run_id
    server.push(
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-1", "delta": " late"},
        {"type": "RUN_FINISHED", "runId": run_id},
        # A new server-pushed run is processed again.
        {"type": "RUN_STARTED", "runId": "pushed"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m-2"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-2", "delta": "News"},
        {"type": "RUN_FINISHED", "runId": "pushed", "finishReason": "stop"},
    )
    await settle()
    assert [text_of(m) for m in client.messages] == ["hi", "Part", "News"]
    assert client.status is ChatStatus.READY
    await client.aclose()


async def test_server_pushed_run_while_idle_updates_messages_and_finishes() -> None:
    server = PushServer()
    finishes: list[UIMessage] = []
    generating: list[bool] = []
    client = ChatClient(
        server, on_finish=finishes.append, on_session_generating_change=generating.append
    )
    client.subscribe()
    server.push(
        {"type": "RUN_STARTED", "runId": "p1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "n-1"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "n-1", "delta": "Pushed"},
        {"type": "RUN_FINISHED", "runId": "p1", "finishReason": "stop"},
    )
    await settle()
    assert [text_of(m) for m in client.messages] == ["Pushed"]
    assert [m.id for m in finishes] == ["n-1"]
    assert generating == [True, False]
    assert client.status is ChatStatus.READY  # no request of ours was involved
    await client.aclose()


async def test_loop_failure_reports_once_and_resolves_the_send() -> None:
    server = PushServer()
    errors: list[BaseException] = []
    client = ChatClient(server, on_error=errors.append)
    turn = asyncio.create_task(client.send_message("hi"))
    await settle()
    server.push({"type": "RUN_STARTED", "runId": "r"}, TransportError("socket closed"))
    assert await asyncio.wait_for(turn, 5) is None
    assert [str(e) for e in errors] == ["socket closed"]
    assert client.status is ChatStatus.ERROR
    assert client.connection_status is ChatConnectionStatus.ERROR
    assert client.is_subscribed is False and client.session_generating is False


async def test_loop_failure_while_idle_sets_error_status() -> None:
    server = PushServer()
    errors: list[BaseException] = []
    client = ChatClient(server, on_error=errors.append)
    client.subscribe()
    server.push(TransportError("gone"))
    await settle()
    assert client.status is ChatStatus.ERROR and [str(e) for e in errors] == ["gone"]
    assert client.connection_status is ChatConnectionStatus.ERROR


async def test_subscription_ending_during_a_request_fails_it() -> None:
    server = PushServer(lambda rc: [{"type": "RUN_STARTED", "runId": rc.run_id}, END])
    client = ChatClient(server)
    await asyncio.wait_for(client.send_message("hi"), 5)
    assert isinstance(client.error, StreamReadError)
    assert "subscription ended" in str(client.error)
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED
    assert client.is_subscribed is False


async def test_update_options_connection_resubscribes_only_if_subscribed() -> None:
    first, second, third = PushServer(), PushServer(), PushServer()
    client = ChatClient(first)
    client.update_options(connection=second)
    await settle()
    assert second.subscriptions == [] and not client.is_subscribed
    client.subscribe()
    await settle()
    client.update_options(connection=third)
    await settle()
    assert len(third.subscriptions) == 1 and client.is_subscribed
    assert second.subscriptions[0] is not None and second.subscriptions[0].aborted
    await client.aclose()


async def test_update_options_connection_during_a_stream_does_not_hang() -> None:
    server = PushServer(lambda rc: [{"type": "RUN_STARTED", "runId": rc.run_id}])
    client = ChatClient(server)
    turn = asyncio.create_task(client.send_message("hi"))
    await settle()
    client.update_options(connection=PushServer())
    assert await asyncio.wait_for(turn, 5) is None
    assert client.status is ChatStatus.READY and client.session_generating is False
    await client.aclose()


async def test_session_generating_tracks_concurrent_runs_and_dedupes() -> None:
    server = PushServer()
    generating: list[bool] = []
    client = ChatClient(server, on_session_generating_change=generating.append)
    client.subscribe()
    server.push(
        {"type": "RUN_STARTED", "runId": "a"},
        {"type": "RUN_STARTED", "runId": "b"},
        {"type": "RUN_FINISHED", "runId": "a", "finishReason": "stop"},
    )
    await settle()
    assert client.session_generating and generating == [True]
    server.push({"type": "RUN_ERROR", "message": "all down"})
    await settle()
    assert generating == [True, False]
    server.push({"type": "RUN_STARTED", "runId": "c"})
    await settle()
    client.unsubscribe()
    assert generating == [True, False, True, False]  # reset on unsubscribe


async def test_concurrent_runs_on_one_subscription_do_not_corrupt_messages() -> None:
    def reply(rc: RunContext) -> list[Any]:
        return [
            {"type": "RUN_STARTED", "runId": "a"},
            {"type": "RUN_STARTED", "runId": "b"},
            {"type": "TEXT_MESSAGE_START", "messageId": "ma"},
            {"type": "TEXT_MESSAGE_START", "messageId": "mb"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "ma", "delta": "A1 "},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "mb", "delta": "B1 "},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "ma", "delta": "A2"},
            {"type": "RUN_FINISHED", "runId": "a", "finishReason": "stop"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "mb", "delta": "B2"},
            {"type": "RUN_FINISHED", "runId": "b", "finishReason": "stop"},
        ]

    server = PushServer(reply)
    client = ChatClient(server)
    reply_message = await asyncio.wait_for(client.send_message("both"), 5)
    assert [(m.id, text_of(m)) for m in client.messages[1:]] == [("ma", "A1 A2"), ("mb", "B1 B2")]
    assert reply_message is not None and reply_message.id == "mb"
    assert client.status is ChatStatus.READY
    await client.aclose()


async def test_push_send_failure_is_reported() -> None:
    class Failing(PushServer):
        async def send(self, *args: Any, **kwargs: Any) -> None:
            raise TransportError("cannot send")

    client = ChatClient(Failing())
    errors: list[BaseException] = []
    client.update_options(on_error=errors.append)
    assert await client.send_message("hi") is None
    assert [str(e) for e in errors] == ["cannot send"] and client.status is ChatStatus.ERROR
    await client.aclose()


@pytest.mark.parametrize("shape", ["mapping", "object"])
async def test_mapping_and_object_push_adapters(shape: str) -> None:
    server = PushServer(reply_text("ok"))
    adapter: Any = (
        {"subscribe": server.subscribe, "send": server.send} if shape == "mapping" else server
    )
    client = ChatClient(adapter)
    reply = await asyncio.wait_for(client.send_message("hi"), 5)
    assert reply is not None and text_of(reply) == "ok"
    await client.aclose()
