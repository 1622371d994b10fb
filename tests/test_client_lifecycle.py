"""ChatClient behaviour with in-process pull adapters (reference §5, checklist 104-122, 141).

Pure client logic: the adapters here are small connect adapters yielding scripted
events (transport behaviour is in test_client_http.py). Where we deliberately differ
from the reference, the test's docstring names the reference behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from chatconduit import (
    AbortSignal,
    AdapterContractError,
    ChatClient,
    ChatConduitError,
    ChatConnectionStatus,
    ChatStatus,
    ClientClosedError,
    ConnectError,
    MalformedEventError,
    RunContext,
    RunError,
    TextPart,
    UIMessage,
    message_to_dict,
    stream,
)

PAUSE = object()  # in a script: stop here until the test releases the adapter


def text_reply(
    *deltas: str, run_id: str = "run-a", message_id: str = "m-1", finish: str | None = "stop"
) -> list[Any]:
    events: list[Any] = [
        {"type": "RUN_STARTED", "runId": run_id, "threadId": "t"},
        {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"},
    ]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": d} for d in deltas
    ]
    events.append({"type": "TEXT_MESSAGE_END", "messageId": message_id})
    finished: dict[str, Any] = {"type": "RUN_FINISHED", "runId": run_id, "threadId": "t"}
    if finish is not None:
        finished["finishReason"] = finish
    events.append(finished)
    return events


@dataclass
class Call:
    messages: list[UIMessage]
    data: Mapping[str, Any] | None
    signal: AbortSignal | None
    run_context: RunContext | None
    aborted_at_start: bool


class Scripted:
    """A pull adapter: the n-th request gets the n-th script (the last one repeats,
    with ``#<n>`` appended to its message ids so that each reply is a new message).

    A script item is an event dict, ``PAUSE`` (wait for :meth:`release`), or an
    exception (raised there).
    """

    def __init__(self, *scripts: Sequence[Any]) -> None:
        self.scripts = [list(s) for s in scripts]
        self.calls: list[Call] = []
        self.closed = 0  # streams whose generator has finished (normally or not)
        self.paused = asyncio.Event()
        self._release = asyncio.Event()

    def release(self) -> None:
        self.paused.clear()
        self._release.set()

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Any]:
        aborted = abort_signal.aborted if abort_signal is not None else False
        self.calls.append(Call(list(messages), data, abort_signal, run_context, aborted))
        n = len(self.calls)
        script = self.scripts[min(n, len(self.scripts)) - 1]
        if n > len(self.scripts):
            script = [
                {**e, "messageId": f"{e['messageId']}#{n}"}
                if isinstance(e, dict) and "messageId" in e
                else e
                for e in script
            ]
        return self._events(script)

    async def _events(self, script: list[Any]) -> AsyncIterator[Any]:
        try:
            for item in script:
                if item is PAUSE:
                    self._release.clear()
                    self.paused.set()
                    await self._release.wait()
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            self.closed += 1


def texts(client: ChatClient) -> list[tuple[str, str]]:
    out = []
    for m in client.messages:
        text = "".join(p.content for p in m.parts if isinstance(p, TextPart))
        out.append((m.role, text))
    return out


# ---------------------------------------------------------------- construction (104-106, 46-48)


def test_fresh_client_state() -> None:
    client = ChatClient(Scripted(text_reply("x")))
    assert list(client.messages) == []
    assert client.is_loading is False
    assert client.is_subscribed is False
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED
    assert client.error is None
    assert client.status is ChatStatus.READY
    assert client.session_generating is False
    assert re.fullmatch(r"chat-\d{13}-[0-9a-z]{1,6}", client.id)
    assert re.fullmatch(r"thread-\d{13}-[0-9a-z]{1,6}", client.thread_id)


def test_adapter_contract_errors_are_the_references() -> None:
    with pytest.raises(AdapterContractError, match=r"^Connection adapter is required$"):
        ChatClient(None)

    class Both:
        def connect(self) -> None: ...
        def subscribe(self) -> None: ...
        def send(self) -> None: ...

    with pytest.raises(AdapterContractError, match=r"not both modes$"):
        ChatClient(Both())
    with pytest.raises(
        AdapterContractError, match=r"^Connection adapter must provide either connect or both"
    ):
        ChatClient({"subscribe": lambda signal=None: None})


def test_bad_options_name_the_option() -> None:
    with pytest.raises(TypeError, match="body must be a mapping"):
        ChatClient(Scripted(), body="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_chunk must be callable"):
        ChatClient(Scripted(), on_chunk=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="thread_id must be a non-empty str"):
        ChatClient(Scripted(), thread_id="")
    with pytest.raises(ValueError, match=r"initial_messages\[0\]"):
        ChatClient(Scripted(), initial_messages=[{"id": "a", "role": "robot", "parts": []}])


def test_initial_messages_are_the_messages() -> None:
    initial = [
        {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "Hi"}]},
        UIMessage(id="a1", role="assistant", parts=[TextPart(content="Hello")]),
    ]
    client = ChatClient(Scripted(), initial_messages=initial)
    assert [m.id for m in client.messages] == ["u1", "a1"]
    assert texts(client) == [("user", "Hi"), ("assistant", "Hello")]


async def test_generated_message_ids_are_unique_msg_ids() -> None:
    adapter = Scripted(text_reply("ok"))
    client = ChatClient(adapter)
    for text in ("one", "two", "three"):
        await client.send_message(text)
    user_ids = [m.id for m in client.messages if m.role == "user"]
    assert len(set(user_ids)) == 3
    assert all(re.fullmatch(r"msg-\d{13}-[0-9a-z]+", i) for i in user_ids)


# ---------------------------------------------------------------- send_message (107-109)


async def test_empty_text_sends_nothing(caplog: pytest.LogCaptureFixture) -> None:
    adapter = Scripted(text_reply("x"))
    client = ChatClient(adapter)
    with caplog.at_level(logging.WARNING, "chatconduit.client"):
        assert await client.send_message("") is None
        assert await client.send_message(" \n\t\u3000") is None
    assert list(client.messages) == []
    assert adapter.calls == []
    assert "empty text" in caplog.text


async def test_send_while_loading_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    adapter = Scripted([*text_reply("a")[:2], PAUSE, *text_reply("a")[2:]])
    client = ChatClient(adapter)
    first = asyncio.create_task(client.send_message("first"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    with caplog.at_level(logging.WARNING, "chatconduit.client"):
        assert await client.send_message("second") is None
    adapter.release()
    await first
    assert [m.role for m in client.messages] == ["user", "assistant"]
    assert len(adapter.calls) == 1
    assert "still in progress" in caplog.text


async def test_text_is_trimmed_custom_id_and_parts_kept() -> None:
    adapter = Scripted(text_reply("ok"))
    client = ChatClient(adapter)
    await client.send_message("  padded \n")
    await client.send_message(
        [
            {"type": "text", "content": "  not trimmed "},
            {"type": "image", "source": {"type": "url", "value": "https://x/y.png"}},
        ],
        message_id="custom-1",
    )
    await client.send_message([], message_id="empty-parts")
    users = [m for m in client.messages if m.role == "user"]
    assert users[0].parts == [TextPart(content="padded")]
    assert users[1].id == "custom-1"
    assert message_to_dict(users[1])["parts"] == [
        {"type": "text", "content": "  not trimmed "},
        {"type": "image", "source": {"type": "url", "value": "https://x/y.png"}},
    ]
    assert users[2].id == "empty-parts" and users[2].parts == []
    assert len(adapter.calls) == 3


async def test_bad_content_is_a_type_error() -> None:
    client = ChatClient(Scripted())
    with pytest.raises(TypeError, match="content must be a str or a list"):
        await client.send_message(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"content\[0\]"):
        await client.send_message([{"type": "nope"}])
    with pytest.raises(TypeError, match=r"content\[1\]: expected a message part"):
        await client.send_message([TextPart(content="ok"), UIMessage(id="x", role="user")])  # type: ignore[list-item]
    assert list(client.messages) == []


# ---------------------------------------------------------------- append, reload (110-112)


async def test_append_ui_message_keeps_id_and_model_message_is_converted() -> None:
    adapter = Scripted(text_reply("ok"))
    client = ChatClient(adapter)
    await client.append(
        {"id": "keep-me", "role": "user", "parts": [{"type": "text", "content": "A"}]}
    )
    await client.append({"role": "user", "content": "B"})
    first, _, second, _ = client.messages
    assert first.id == "keep-me" and first.created_at is not None
    assert second.parts == [TextPart(content="B")]
    assert re.fullmatch(r"msg-\d{13}-[0-9a-z]+", second.id) and second.created_at is not None
    assert len(adapter.calls) == 2


async def test_append_system_message_is_ignored() -> None:
    adapter = Scripted(text_reply("ok"))
    client = ChatClient(adapter)
    assert await client.append({"role": "system", "content": "be nice"}) is None
    assert list(client.messages) == [] and adapter.calls == []


async def test_append_while_loading_runs_after_the_turn() -> None:
    """Reference: the message is added at once and its request queued post-stream."""
    adapter = Scripted(
        [*text_reply("one")[:3], PAUSE, *text_reply("one")[3:]], text_reply("two", message_id="m-2")
    )
    client = ChatClient(adapter)
    first = asyncio.create_task(client.send_message("first"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    appended = asyncio.create_task(client.append({"role": "user", "content": "second"}))
    await asyncio.sleep(0.01)
    assert [m.role for m in client.messages] == ["user", "assistant", "user"]
    assert len(adapter.calls) == 1
    adapter.release()
    await first
    reply = await appended
    assert reply is not None and reply.id == "m-2"
    assert len(adapter.calls) == 2


async def test_reload_drops_after_last_user_message_and_asks_again() -> None:
    adapter = Scripted(text_reply("first answer"), text_reply("second answer", message_id="m-2"))
    client = ChatClient(adapter)
    assert await client.reload() is None  # no user message: nothing happens
    assert adapter.calls == []
    await client.send_message("question")
    reply = await client.reload()
    assert reply is not None and reply.id == "m-2"
    assert texts(client) == [("user", "question"), ("assistant", "second answer")]
    assert [m.role for m in adapter.calls[1].messages] == ["user"]


async def test_reload_while_loading_supersedes_the_running_turn() -> None:
    adapter = Scripted(
        [*text_reply("old")[:3], PAUSE, *text_reply("old")[3:]], text_reply("new", message_id="m-2")
    )
    client = ChatClient(adapter)
    first = asyncio.create_task(client.send_message("q"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    reply = await client.reload()
    assert await first is None  # superseded
    assert reply is not None and reply.id == "m-2"
    assert texts(client) == [("user", "q"), ("assistant", "new")]
    assert adapter.calls[0].signal is not None and adapter.calls[0].signal.aborted
    assert client.status is ChatStatus.READY


# ---------------------------------------------------------------- status and callbacks (113-115)


async def test_callback_order_and_status_sequence_on_success() -> None:
    log: list[Any] = []
    adapter = Scripted(text_reply("Hel", "lo"))

    class Logging(Scripted):
        pass

    def connect(*args: Any, **kwargs: Any) -> Any:
        log.append("connect")
        return adapter.connect(*args, **kwargs)

    client = ChatClient(
        {"connect": connect},
        on_loading_change=lambda v: log.append(("loading", v)),
        on_status_change=lambda s: log.append(("status", s.value)),
        on_response=lambda: log.append("response"),
        on_finish=lambda m: log.append(("finish", m.id, m.parts[0].content)),
        on_error_change=lambda e: log.append(("error", e)),
    )
    reply = await client.send_message("hi")
    assert log == [
        ("loading", True),
        ("status", "submitted"),
        "response",
        "connect",
        ("status", "streaming"),
        ("finish", "m-1", "Hello"),
        ("status", "ready"),
        ("loading", False),
    ]
    assert reply is not None and reply.id == "m-1" and reply.parts == [TextPart(content="Hello")]
    assert client.status is ChatStatus.READY and not client.is_loading


async def test_loading_is_set_before_the_first_await() -> None:
    adapter = Scripted([PAUSE, *text_reply("x")])
    client = ChatClient(adapter)
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.sleep(0)  # the task ran up to its first suspension
    assert client.is_loading and client.status is ChatStatus.SUBMITTED
    await asyncio.wait_for(adapter.paused.wait(), 5)
    adapter.release()
    await task
    assert not client.is_loading


async def test_reply_returned_is_a_copy_not_changed_later() -> None:
    adapter = Scripted(text_reply("one"), text_reply("two", message_id="m-1"))
    client = ChatClient(adapter)
    reply = await client.send_message("a")
    assert reply is not None
    client.messages[-1].parts.append(TextPart(content="mutated live"))
    assert reply.parts == [TextPart(content="one")]


# ---------------------------------------------------------------- errors (116-117)


async def test_connection_failure_is_reported_once_without_empty_message() -> None:
    """Reference: status flickers error → streaming → error and an empty assistant
    message is appended (the wrapper's synthesized RUN_ERROR); ours does neither."""
    errors: list[BaseException] = []
    statuses: list[str] = []
    adapter = Scripted([ConnectError("could not connect to http://x: refused")])
    client = ChatClient(
        adapter, on_error=errors.append, on_status_change=lambda s: statuses.append(s.value)
    )
    assert await client.send_message("hi") is None
    assert len(errors) == 1 and isinstance(errors[0], ConnectError)
    assert client.error is errors[0]
    assert client.status is ChatStatus.ERROR and not client.is_loading
    assert statuses == ["submitted", "error"]
    assert [m.role for m in client.messages] == ["user"]
    assert client.connection_status is ChatConnectionStatus.ERROR


async def test_raise_on_error_raises_the_error() -> None:
    adapter = Scripted([ConnectError("refused")])
    client = ChatClient(adapter)
    with pytest.raises(ConnectError, match="refused"):
        await client.send_message("hi", raise_on_error=True)
    assert client.status is ChatStatus.ERROR
    strict = ChatClient(Scripted([ConnectError("refused")]), raise_on_error=True)
    with pytest.raises(ConnectError):
        await strict.send_message("hi")
    assert await strict.send_message("again", raise_on_error=False) is None


async def test_run_error_keeps_partial_reply_and_reports_run_error() -> None:
    adapter = Scripted(
        [
            *text_reply("Partial ")[:3],
            {"type": "RUN_ERROR", "error": {"message": "upstream exploded", "code": "x"}},
        ]
    )
    finishes: list[Any] = []
    client = ChatClient(adapter, on_finish=finishes.append)
    reply = await client.send_message("hi")
    assert isinstance(client.error, RunError)
    assert str(client.error) == "upstream exploded" and client.error.code == "x"
    assert client.status is ChatStatus.ERROR
    assert texts(client) == [("user", "hi"), ("assistant", "Partial ")]
    assert reply is not None and reply.parts == [TextPart(content="Partial ")]
    assert finishes == []
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED  # the server was fine


async def test_run_error_before_content_leaves_no_empty_assistant_message() -> None:
    """Reference: RUN_ERROR appends an empty assistant message when none is active; a
    TEXT_MESSAGE_START followed by an error leaves one too. Ours leaves neither."""
    for script in (
        [{"type": "RUN_STARTED", "runId": "r"}, {"type": "RUN_ERROR", "message": "nope"}],
        [
            {"type": "RUN_STARTED", "runId": "r"},
            {"type": "TEXT_MESSAGE_START", "messageId": "m"},
            {"type": "RUN_ERROR", "runId": "r", "message": "nope"},
        ],
    ):
        client = ChatClient(Scripted(script))
        assert await client.send_message("hi") is None
        assert [m.role for m in client.messages] == ["user"]
        assert str(client.error) == "nope"


async def test_next_request_clears_the_error() -> None:
    adapter = Scripted([ConnectError("refused")], text_reply("fine"))
    changes: list[BaseException | None] = []
    client = ChatClient(adapter, on_error_change=changes.append)
    await client.send_message("one")
    assert client.error is not None
    await client.send_message("two")
    assert client.error is None and client.status is ChatStatus.READY
    assert [type(c).__name__ for c in changes] == ["ConnectError", "NoneType"]


async def test_malformed_event_fails_the_request_with_a_typed_error() -> None:
    adapter = Scripted([{"type": "RUN_STARTED"}, {"no": "type"}])
    client = ChatClient(adapter)
    await client.send_message("hi")
    assert isinstance(client.error, MalformedEventError)
    assert client.status is ChatStatus.ERROR


# ---------------------------------------------------------------- stop (118-121)


async def test_stop_keeps_partial_content_and_leaves_ready() -> None:
    adapter = Scripted([*text_reply("Par", "tial")[:4], PAUSE, *text_reply("x")[2:]])
    errors: list[Any] = []
    finishes: list[Any] = []
    loading: list[bool] = []
    client = ChatClient(
        adapter, on_error=errors.append, on_finish=finishes.append, on_loading_change=loading.append
    )
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    assert client.session_generating
    client.stop()
    assert client.status is ChatStatus.READY and not client.is_loading
    reply = await asyncio.wait_for(task, 5)
    assert reply is not None and reply.parts == [TextPart(content="Partial")]
    assert texts(client) == [("user", "hi"), ("assistant", "Partial")]
    assert errors == [] and finishes == [] and client.error is None
    assert loading == [True, False]
    assert client.session_generating is False
    assert adapter.calls[0].signal is not None and adapter.calls[0].signal.aborted
    assert adapter.closed == 1  # the stream was closed, not left hanging
    assert client.connection_status is ChatConnectionStatus.DISCONNECTED
    client.stop()  # idle: nothing happens
    assert client.status is ChatStatus.READY


async def test_stop_before_any_content_leaves_no_message() -> None:
    adapter = Scripted([{"type": "RUN_STARTED", "runId": "r"}, PAUSE])
    client = ChatClient(adapter)
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    client.stop()
    assert await task is None
    assert [m.role for m in client.messages] == ["user"]


async def test_each_request_gets_a_fresh_live_signal() -> None:
    adapter = Scripted(text_reply("a"))
    client = ChatClient(adapter)
    await client.send_message("one")
    await client.send_message("two")
    first, second = adapter.calls
    assert first.signal is not None and second.signal is not None
    assert first.signal is not second.signal
    assert not first.aborted_at_start and not second.aborted_at_start


async def test_stop_inside_on_response_never_connects() -> None:
    adapter = Scripted(text_reply("a"))
    holder: list[ChatClient] = []
    client = ChatClient(adapter, on_response=lambda: holder[0].stop())
    holder.append(client)
    assert await client.send_message("hi") is None
    assert adapter.calls == []
    assert client.error is None and not client.is_loading and client.status is ChatStatus.READY


async def test_reload_inside_on_response_only_reload_connects() -> None:
    adapter = Scripted(text_reply("a"))
    holder: list[ChatClient] = []
    reloaded: list[Any] = []

    async def on_response() -> None:
        if not reloaded:
            reloaded.append(await holder[0].reload())

    client = ChatClient(adapter, on_response=on_response)
    holder.append(client)
    assert await client.send_message("hi") is None  # superseded by the reload
    assert len(adapter.calls) == 1 and not adapter.calls[0].aborted_at_start
    assert reloaded[0] is not None and reloaded[0].id == "m-1"
    assert client.status is ChatStatus.READY


async def test_cancelling_send_message_stops_the_request() -> None:
    adapter = Scripted([*text_reply("x")[:3], PAUSE])
    client = ChatClient(adapter)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.send_message("hi"), 0.2)
    assert client.status is ChatStatus.READY and not client.is_loading
    assert adapter.calls[0].signal is not None and adapter.calls[0].signal.aborted
    assert adapter.closed == 1


# ---------------------------------------------------------------- clear, set_messages (122)


async def test_clear_empties_messages_and_error() -> None:
    client = ChatClient(Scripted([ConnectError("refused")]))
    await client.send_message("hi")
    assert client.status is ChatStatus.ERROR
    client.clear()
    assert list(client.messages) == [] and client.error is None
    assert client.status is ChatStatus.READY  # reference: stays "error" with no error


async def test_set_messages_replaces_the_conversation() -> None:
    changes: list[int] = []
    client = ChatClient(Scripted(), on_messages_change=lambda view: changes.append(len(view)))
    client.set_messages([{"id": "x", "role": "user", "parts": []}])
    assert [m.id for m in client.messages] == ["x"] and changes == [1]


# ---------------------------------------------------------------- bodies and run context (12-17)


async def test_body_precedence_and_per_message_body_used_once() -> None:
    adapter = Scripted(text_reply("a"))
    client = ChatClient(
        adapter,
        body={"shared": "body", "b": "body"},
        forwarded_props={"shared": "fp", "f": "fp"},
    )
    await client.send_message("one", {"shared": "per-msg", "p": 1})
    await client.send_message("two")
    assert adapter.calls[0].data == {"shared": "per-msg", "b": "body", "f": "fp", "p": 1}
    assert list(adapter.calls[0].data or {}) == ["shared", "b", "f", "p"]
    assert adapter.calls[1].data == {"shared": "fp", "b": "body", "f": "fp"}
    rc = adapter.calls[0].run_context
    assert rc is not None and rc.forwarded_props == adapter.calls[0].data
    client.update_options(forwarded_props={"f": "new"})
    await client.send_message("three")
    assert adapter.calls[2].data == {"shared": "body", "b": "body", "f": "new"}  # body intact
    client.update_options(body=None)
    await client.send_message("four")
    assert adapter.calls[3].data == {"f": "new"}
    assert "conversationId" not in (adapter.calls[3].data or {})


async def test_thread_id_is_constant_and_run_ids_are_fresh() -> None:
    adapter = Scripted(text_reply("a"))
    client = ChatClient(adapter, thread_id="thread-fixed")
    await client.send_message("one")
    await client.send_message("two")
    contexts = [c.run_context for c in adapter.calls]
    assert all(rc is not None and rc.thread_id == "thread-fixed" for rc in contexts)
    run_ids = [rc.run_id for rc in contexts if rc is not None]
    assert len(set(run_ids)) == 2
    assert all(re.fullmatch(r"run-\d{13}-[0-9a-z]{1,6}", r) for r in run_ids)
    assert all(rc is not None and rc.parent_run_id is None for rc in contexts)


async def test_stream_adapter_receives_raw_ui_messages_and_data() -> None:
    seen: list[Any] = []

    async def agent(messages: list[Any], data: Any) -> AsyncIterator[dict[str, Any]]:
        seen.append((messages, data))
        for event in text_reply("ok"):
            yield event

    client = ChatClient(stream(agent), body={"k": 1})
    await client.send_message("hello")
    messages, data = seen[0]
    assert isinstance(messages[0], UIMessage) and data == {"k": 1}


# ---------------------------------------------------------------- odd replies


async def test_reply_without_content_ends_ready() -> None:
    """Reference: status stays "submitted" (with isLoading false) after a reply with
    no content. Ours ends "ready"."""
    adapter = Scripted(
        [{"type": "RUN_STARTED", "runId": "r"}, {"type": "RUN_FINISHED", "runId": "r"}]
    )
    statuses: list[str] = []
    client = ChatClient(adapter, on_status_change=lambda s: statuses.append(s.value))
    assert await client.send_message("hi") is None
    assert statuses == ["submitted", "ready"]
    assert [m.role for m in client.messages] == ["user"]


async def test_whitespace_only_reply_is_removed_and_ends_ready() -> None:
    """Reference: the reply is removed but status is left at "streaming"."""
    client = ChatClient(Scripted(text_reply("  ", "\n")))
    assert await client.send_message("hi") is None
    assert [m.role for m in client.messages] == ["user"]
    assert client.status is ChatStatus.READY


async def test_stream_without_terminal_event_is_finalized() -> None:
    """Reference: the connect wrapper synthesizes RUN_FINISHED (``finishReason: stop``)."""
    events = text_reply("no end")[:-1]
    finishes: list[Any] = []
    client = ChatClient(Scripted(events), on_finish=finishes.append)
    reply = await client.send_message("hi")
    assert reply is not None and reply.parts == [TextPart(content="no end")]
    assert len(finishes) == 1 and client.status is ChatStatus.READY


async def test_agent_loop_with_several_run_finished_finishes_once() -> None:
    """Reference: onFinish fires per RUN_FINISHED that finalizes, and status may go
    ready → streaming → ready after send resolved (reference §5.3 "Race")."""
    events = [
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m-1"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-1", "delta": "Checking."},
        {"type": "TEXT_MESSAGE_END", "messageId": "m-1"},
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "get_weather"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1", "input": {}},
        {"type": "RUN_FINISHED", "runId": "r", "finishReason": "tool_calls"},
        {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "content": '{"t":21}'},
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m-2"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-2", "delta": "It is 21."},
        {"type": "TEXT_MESSAGE_END", "messageId": "m-2"},
        {"type": "RUN_FINISHED", "runId": "r", "finishReason": "stop"},
    ]
    finishes: list[UIMessage] = []
    statuses: list[str] = []
    adapter = Scripted(events)
    client = ChatClient(
        adapter, on_finish=finishes.append, on_status_change=lambda s: statuses.append(s.value)
    )
    reply = await client.send_message("weather?")
    assert [m.id for m in finishes] == ["m-2"]
    assert reply is not None and reply.id == "m-2"
    assert statuses == ["submitted", "streaming", "ready"]
    assert len(adapter.calls) == 1  # finishReason "stop": no follow-up


async def test_resumed_content_for_an_initial_message_appends() -> None:
    """Checklist 141: content for an ``initial_messages`` assistant message continues it."""
    initial = [
        {"id": "u", "role": "user", "parts": [{"type": "text", "content": "Hi"}]},
        {"id": "a", "role": "assistant", "parts": [{"type": "text", "content": "Hello"}]},
    ]
    events = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "a", "delta": " there"},
        {"type": "RUN_FINISHED", "runId": "r", "finishReason": "stop"},
    ]
    client = ChatClient(Scripted(events), initial_messages=initial)
    await client.send_message("go on")
    assert texts(client) == [("user", "Hi"), ("assistant", "Hello there"), ("user", "go on")]
    assert [m.id for m in client.messages] == ["u", "a", client.messages[2].id]


# ---------------------------------------------------------------- callbacks


async def test_a_raising_callback_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    def boom(*args: Any) -> None:
        raise ValueError("ui bug")

    client = ChatClient(
        Scripted(text_reply("fine")), on_chunk=boom, on_status_change=boom, on_finish=boom
    )
    with caplog.at_level(logging.ERROR, "chatconduit.client"):
        reply = await client.send_message("hi")
    assert reply is not None and reply.parts == [TextPart(content="fine")]
    assert client.status is ChatStatus.READY and client.error is None
    assert "ValueError: ui bug" in caplog.text
    assert "boom" in caplog.text


async def test_async_callbacks_run_in_order_and_the_stream_waits_for_them() -> None:
    seen: list[str] = []

    async def on_chunk(event: Any) -> None:
        await asyncio.sleep(0)
        seen.append(event.type)

    async def on_finish(message: UIMessage) -> None:
        seen.append("finish")

    client = ChatClient(Scripted(text_reply("a", "b")), on_chunk=on_chunk, on_finish=on_finish)
    await client.send_message("hi")
    await asyncio.sleep(0.01)
    assert seen == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
        "finish",
    ]


async def test_custom_events_and_update_options_callbacks() -> None:
    events = [
        {"type": "CUSTOM", "name": "progress", "value": {"toolCallId": "c9", "pct": 50}},
        {
            "type": "CUSTOM",
            "name": "tool-input-available",
            "value": {"toolCallId": "c1", "toolName": "x", "input": {}},
        },
        *text_reply("done"),
    ]
    first: list[Any] = []
    second: list[Any] = []
    client = ChatClient(Scripted(events), on_custom_event=lambda *a: first.append(a))
    await client.send_message("hi")
    client.update_options(on_custom_event=lambda *a: second.append(a))
    await client.send_message("again")
    assert first == [("progress", {"toolCallId": "c9", "pct": 50}, "c9")]
    assert second == first  # tool-input-available is not a custom event (checklist 83)
    with pytest.raises(TypeError, match="unknown option"):
        client.update_options(on_nothing=print)


async def test_session_generating_and_connection_status_in_pull_mode() -> None:
    generating: list[bool] = []
    connection: list[str] = []
    adapter = Scripted(text_reply("a"))
    client = ChatClient(
        adapter,
        on_session_generating_change=generating.append,
        on_connection_status_change=lambda s: connection.append(s.value),
    )
    await client.send_message("hi")
    assert generating == [True, False]
    assert connection == ["connecting", "connected", "disconnected"]


async def test_session_generating_waits_for_all_runs() -> None:
    events = [
        {"type": "RUN_STARTED", "runId": "a"},
        {"type": "RUN_STARTED", "runId": "b"},
        {"type": "RUN_STARTED", "runId": "b"},
        {"type": "RUN_FINISHED", "runId": "a"},
        PAUSE,
        {"type": "RUN_ERROR", "message": "all gone"},
    ]
    generating: list[bool] = []
    adapter = Scripted(events)
    client = ChatClient(adapter, on_session_generating_change=generating.append)
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    assert client.session_generating  # b still runs after a finished
    adapter.release()
    await task
    assert generating == [True, False]  # de-duplicated; RUN_ERROR without runId clears all


async def test_update_options_connection_stops_the_running_turn() -> None:
    old = Scripted([*text_reply("x")[:2], PAUSE])
    new = Scripted(text_reply("from new"))
    client = ChatClient(old)
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.wait_for(old.paused.wait(), 5)
    client.update_options(connection=new)
    assert await asyncio.wait_for(task, 5) is None
    assert client.status is ChatStatus.READY
    reply = await client.send_message("again")
    assert reply is not None and len(new.calls) == 1
    with pytest.raises(AdapterContractError):
        client.update_options(connection={})


async def test_closed_client_refuses_work() -> None:
    client = ChatClient(Scripted(text_reply("a")))
    await client.aclose()
    await client.aclose()  # idempotent
    with pytest.raises(ClientClosedError) as raised:
        await client.send_message("hi")
    assert isinstance(raised.value, ChatConduitError)


@pytest.mark.parametrize("where", ["on_chunk", "on_messages_change"])
async def test_stop_from_a_callback_inside_the_stream(where: str) -> None:
    """stop() called by UI code while an event is being applied: the request ends at
    once, nothing after it is applied, and the client stays consistent."""
    adapter = Scripted(text_reply("one ", "two ", "three"))
    holder: list[ChatClient] = []
    seen: list[str] = []

    def on_chunk(event: Any) -> None:
        seen.append(event.type)
        if where == "on_chunk" and event.type == "TEXT_MESSAGE_CONTENT" and len(seen) == 4:
            holder[0].stop()

    def on_messages_change(view: Any) -> None:
        if where == "on_messages_change" and "two" in "".join(
            p.content for p in view[-1].parts if isinstance(p, TextPart)
        ):
            holder[0].stop()

    client = ChatClient(adapter, on_chunk=on_chunk, on_messages_change=on_messages_change)
    holder.append(client)
    reply = await asyncio.wait_for(client.send_message("hi"), 5)
    expected = "one " if where == "on_chunk" else "one two "
    assert reply is not None and reply.parts == [TextPart(content=expected)]
    assert texts(client)[-1] == ("assistant", expected)
    assert client.status is ChatStatus.READY and client.error is None
    assert adapter.closed == 1
    # The client is usable again afterwards.
    again = await client.send_message("again")
    assert again is not None and client.status is ChatStatus.READY


async def test_unsubscribe_with_a_pull_adapter_stops_the_turn() -> None:
    adapter = Scripted([*text_reply("x")[:3], PAUSE])
    client = ChatClient(adapter)
    task = asyncio.create_task(client.send_message("hi"))
    await asyncio.wait_for(adapter.paused.wait(), 5)
    client.subscribe()  # nothing to subscribe to with a pull adapter
    assert client.is_subscribed is False
    client.unsubscribe()
    await asyncio.wait_for(task, 5)
    assert client.status is ChatStatus.READY and adapter.closed == 1
