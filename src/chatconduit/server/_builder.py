"""``EventBuilder``: the AG-UI events of one run, for agents written by hand.

Every reply needs ids of its own: a client holds the conversation, and a message id
it already has names that message (an agent that sends ``"messageId": "m1"`` on every
turn would continue its first reply instead of writing a new one). The builder makes
them per run (``msg-<runId>-1``, ``call-<runId>-2``, ...) and writes the events in the
shapes AG-UI 1.0 defines, which the server passes on to every client generation.

Each method returns plain event dicts an agent yields as they are::

    ev = EventBuilder(params)
    yield ev.start()
    for event in ev.text("Hello!"):
        yield event
    yield ev.finish()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._ids import generate_id
from .._json import dumps
from .._run_input import RunAgentInput
from ._errors import RunErrorPayload, run_error_event

__all__ = ["EventBuilder"]

Event = dict[str, Any]


class EventBuilder:
    """Builds the events of one run: ids per run, AG-UI 1.0 shapes, plain dicts.

    ``params`` is the run's :class:`RunAgentInput` (its ``threadId``/``runId`` go into
    RUN_STARTED, RUN_FINISHED and RUN_ERROR and into the ids made here); without it,
    pass ``thread_id``/``run_id`` or let the builder make them.
    """

    def __init__(
        self,
        params: RunAgentInput | None = None,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if params is not None:
            thread_id = thread_id or params.thread_id
            run_id = run_id or params.run_id
        self.thread_id: str = thread_id or generate_id("thread")
        self.run_id: str = run_id or generate_id("run")
        self._count = 0
        self._open_text: str | None = None  # the message start_text() opened
        self.message_id: str | None = None  # the newest assistant message's id
        self.tool_call_id: str | None = None  # the newest tool call's id

    def new_id(self, prefix: str) -> str:
        """``<prefix>-<runId>-<n>``: unique within the run, and across runs with the run id."""
        self._count += 1
        return f"{prefix}-{self.run_id}-{self._count}"

    def _ids(self) -> Event:
        return {"threadId": self.thread_id, "runId": self.run_id}

    # ------------------------------------------------------------------ the run

    def start(self) -> Event:
        return {"type": "RUN_STARTED", **self._ids()}

    def finish(self, finish_reason: str = "stop") -> Event:
        """RUN_FINISHED; ``finish_reason`` ``"tool_calls"`` when the client has tools to run."""
        return {"type": "RUN_FINISHED", **self._ids(), "finishReason": finish_reason}

    def error(self, message: str, code: str | None = None) -> Event:
        """RUN_ERROR as every client generation reads it (``message``, ``code``, ``error``)."""
        payload: RunErrorPayload = {"message": message}
        if code is not None:
            payload["code"] = code
        return run_error_event(payload, run_id=self.run_id, thread_id=self.thread_id)

    # ------------------------------------------------------------------ text

    def text(self, *deltas: str) -> list[Event]:
        """A whole assistant text message: START, one CONTENT per non-empty delta, END."""
        events = [self.start_text()]
        events.extend(self.text_delta(delta) for delta in deltas if delta)
        events.append(self.end_text())
        return events

    def start_text(self) -> Event:
        """Opens an assistant text message with a new id; :meth:`text_delta` writes to it."""
        if self._open_text is not None:
            raise RuntimeError(
                f"EventBuilder.start_text(): message {self._open_text!r} is still open; "
                "call end_text() first"
            )
        message_id = self.new_id("msg")
        self._open_text = self.message_id = message_id
        return {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}

    def text_delta(self, delta: str) -> Event:
        """A piece of the open text message (``delta`` must not be empty: AG-UI forbids it)."""
        if self._open_text is None:
            raise RuntimeError("EventBuilder.text_delta(): no text message is open; start_text()")
        if not isinstance(delta, str) or not delta:
            raise ValueError(f"EventBuilder.text_delta(): delta must be a non-empty str: {delta!r}")
        return {"type": "TEXT_MESSAGE_CONTENT", "messageId": self._open_text, "delta": delta}

    def end_text(self) -> Event:
        if self._open_text is None:
            raise RuntimeError("EventBuilder.end_text(): no text message is open")
        message_id, self._open_text = self._open_text, None
        return {"type": "TEXT_MESSAGE_END", "messageId": message_id}

    # ------------------------------------------------------------------ reasoning

    def reasoning(self, *deltas: str) -> list[Event]:
        """Reasoning shown as thinking: REASONING_START, one message of deltas, REASONING_END."""
        message_id = self.new_id("reasoning")
        events: list[Event] = [
            {"type": "REASONING_START", "messageId": message_id},
            {"type": "REASONING_MESSAGE_START", "messageId": message_id, "role": "reasoning"},
        ]
        events.extend(
            {"type": "REASONING_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}
            for delta in deltas
            if delta
        )
        events.append({"type": "REASONING_MESSAGE_END", "messageId": message_id})
        events.append({"type": "REASONING_END", "messageId": message_id})
        return events

    # ------------------------------------------------------------------ tools

    def tool_call(
        self, name: str, arguments: Mapping[str, Any] | str, *, tool_call_id: str | None = None
    ) -> list[Event]:
        """A tool call: START (under the newest text message, when there is one), its
        arguments as one ARGS delta (a mapping is JSON-encoded), END. The call's id is
        ``tool_call_id`` or a new one; :attr:`tool_call_id` holds it afterwards."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"EventBuilder.tool_call(): name must be a non-empty str: {name!r}")
        call_id = tool_call_id or self.new_id("call")
        self.tool_call_id = call_id
        start: Event = {"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": name}
        if self.message_id is not None:
            start["parentMessageId"] = self.message_id
        args = arguments if isinstance(arguments, str) else dumps(dict(arguments))
        events = [start]
        if args:
            events.append({"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": args})
        events.append({"type": "TOOL_CALL_END", "toolCallId": call_id})
        return events

    def tool_result(self, tool_call_id: str, content: Any) -> Event:
        """TOOL_CALL_RESULT of a tool run on the server (non-string content is JSON-encoded)."""
        text = content if isinstance(content, str) else dumps(content)
        return {
            "type": "TOOL_CALL_RESULT",
            "messageId": self.new_id("result"),
            "toolCallId": tool_call_id,
            "content": text,
            "role": "tool",
        }
