"""StreamProcessor's ``listener``: one object whose ``on_*`` attributes are the callbacks.

The client's conversation listens itself rather than handing the processor a bound
method per callback (objects every live conversation would hold); these tests pin what
a listener gets, that it excludes the ``on_*`` keywords, and that ``drop_callbacks``
lets go of it.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from chatconduit import StreamProcessor, UIMessage
from chatconduit._processor._listener import CALLBACK_NAMES, NO_CALLBACKS, Callbacks

REPLY = [
    {"type": "RUN_STARTED", "runId": "r", "threadId": "t"},
    {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "Hel"},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "lo"},
    {"type": "TEXT_MESSAGE_END", "messageId": "m"},
    {"type": "STATE_SNAPSHOT", "snapshot": {"n": 1}},
    {"type": "CUSTOM", "name": "progress", "value": {"toolCallId": "c1", "pct": 50}},
    {"type": "RUN_FINISHED", "runId": "r", "threadId": "t"},
]


class Recorder:
    """A listener with some callbacks as methods and the others None."""

    on_error = on_thinking_update = on_tool_call_state_change = None
    on_tool_call = on_approval_request = None

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_messages_change(self, view: Any) -> None:
        self.calls.append(("messages", [m.id for m in view]))

    def on_stream_start(self, message: UIMessage) -> None:
        self.calls.append(("start", message.id))

    def on_stream_end(self, message: UIMessage) -> None:
        self.calls.append(("end", message.id))

    def on_text_update(self, message_id: str, text: str) -> None:
        self.calls.append(("text", (message_id, text)))

    def on_state_change(self, state: Any) -> None:
        self.calls.append(("state", state))

    def on_custom_event(self, name: str, value: Any, tool_call_id: str | None) -> None:
        self.calls.append(("custom", (name, tool_call_id)))


def play(processor: StreamProcessor) -> None:
    processor.prepare_assistant_message()
    for event in REPLY:
        processor.process(event)
    processor.finalize_stream()


def test_a_listener_hears_what_the_same_keywords_would() -> None:
    listener = Recorder()
    play(StreamProcessor(listener=listener))
    heard: list[tuple[str, Any]] = []
    play(
        StreamProcessor(
            on_messages_change=lambda view: heard.append(("messages", [m.id for m in view])),
            on_stream_start=lambda message: heard.append(("start", message.id)),
            on_stream_end=lambda message: heard.append(("end", message.id)),
            on_text_update=lambda message_id, text: heard.append(("text", (message_id, text))),
            on_state_change=lambda state: heard.append(("state", state)),
            on_custom_event=lambda name, value, call: heard.append(("custom", (name, call))),
        )
    )
    assert listener.calls == heard
    kinds = [kind for kind, _ in listener.calls]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert ("text", ("m", "Hello")) in listener.calls
    assert ("state", {"n": 1}) in listener.calls
    assert ("custom", ("progress", "c1")) in listener.calls


def test_a_listener_and_keywords_together_are_refused() -> None:
    with pytest.raises(TypeError, match="listener or on_\\* callbacks"):
        StreamProcessor(listener=Recorder(), on_stream_end=print)


@pytest.mark.parametrize("name", sorted(CALLBACK_NAMES))
def test_each_keyword_lands_on_its_own_callback(name: str) -> None:
    def callback(*args: object) -> None: ...

    listener = StreamProcessor(**{name: callback})._ctx.listener  # type: ignore[arg-type]
    assert listener == Callbacks(**{name: callback})  # type: ignore[arg-type]
    assert [n for n in CALLBACK_NAMES if getattr(listener, n) is not None] == [name]


def test_without_callbacks_every_processor_shares_the_empty_listener() -> None:
    assert set(CALLBACK_NAMES) == {name for name in dir(Callbacks) if name.startswith("on_")}
    assert StreamProcessor()._ctx.listener is NO_CALLBACKS
    assert StreamProcessor(initial_messages=[])._ctx.listener is NO_CALLBACKS


def test_drop_callbacks_lets_go_of_the_listener() -> None:
    listener = Recorder()
    processor = StreamProcessor(listener=listener)
    processor.drop_callbacks()
    play(processor)  # events are still applied, and nobody is told
    assert listener.calls == []
    assert [m.id for m in processor.messages] == ["m"]
    ref = weakref.ref(listener)
    del listener
    gc.collect()
    assert ref() is None
