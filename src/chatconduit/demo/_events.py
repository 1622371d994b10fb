"""The event stream of one demo run: ids, the reference's event layout, and the pieces
every behaviour is built from (a streamed text message, a streamed tool call, a
server-side tool call with its result). The events have the shapes and key order of
the reference 0.18 server's (compare ``tests/fixtures/tanstack-0.10/responses/tools.sse``
and ``thinking.sse``); the server rewrites them for current clients
(``chatconduit.server._dialect``). Text is streamed in word-sized deltas, with the
agent's pause between them.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from .._ids import now_ms
from .._run_input import RunAgentInput
from ._limits import MAX_ACCUMULATED_CHARS

__all__ = ["Accumulated", "Run", "split_words"]

_WORD = re.compile(r"\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Word-sized deltas whose concatenation is ``text`` (trailing spaces stay attached)."""
    return _WORD.findall(text)


class Accumulated:
    """The accumulated text the reference repeats on every delta, within a budget.

    Sending the whole text so far with each word makes a response grow with the
    square of its length; the field is optional (clients read ``delta``), so it is
    sent while the characters it has cost stay within :data:`MAX_ACCUMULATED_CHARS`,
    and dropped from the deltas after that.
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self.text = ""
        self.spent = 0
        self.over = False

    def add(self, delta: str) -> dict[str, str]:
        """The extra field for the event carrying ``delta`` (none once over budget)."""
        if self.over:
            return {}
        self.text += delta
        self.spent += len(self.text)
        if self.spent > MAX_ACCUMULATED_CHARS:
            self.over, self.text = True, ""  # stop growing a text nobody will see
            return {}
        return {self.field: self.text}


class Run:
    """Builds the events of one run with the reference's field order.

    ``pause`` is awaited between deltas: the agent's, so that its ``delay`` is read
    when each delta goes out.
    """

    def __init__(
        self, params: RunAgentInput, model: str, pause: Callable[[], Awaitable[None]]
    ) -> None:
        self.run_id = params.run_id
        self.thread_id = params.thread_id
        self.model = model
        self.pause = pause
        self.counters: dict[str, int] = {}
        self.last_call = ""  # the id and input of the newest tool call streamed
        self.last_input: dict[str, Any] = {}

    def next_id(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}-{self.run_id}-{n}"

    def event(self, type_: str, head: dict[str, Any], **payload: Any) -> dict[str, Any]:
        """``{type, <head>, model, timestamp, <payload>}``, the reference server's layout."""
        return {"type": type_, **head, "model": self.model, "timestamp": now_ms(), **payload}

    async def text(self, text: str) -> AsyncIterator[dict[str, Any]]:
        """One assistant text message: START, a CONTENT event per word, END."""
        message_id = self.next_id("msg")
        yield self.event("TEXT_MESSAGE_START", {"messageId": message_id}, role="assistant")
        content = Accumulated("content")
        for delta in split_words(text):
            await self.pause()
            yield self.event(
                "TEXT_MESSAGE_CONTENT", {"messageId": message_id}, delta=delta, **content.add(delta)
            )
        yield self.event("TEXT_MESSAGE_END", {"messageId": message_id})

    async def tool_call(
        self, name: str, arguments: dict[str, Any], call_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        """START, the arguments as ARGS deltas, END with the parsed ``input``."""
        self.last_call, self.last_input = call_id, arguments
        names = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
        yield self.event("TOOL_CALL_START", names, index=0)
        args = Accumulated("args")
        for delta in re.findall(r".{1,12}", json.dumps(arguments, ensure_ascii=False), re.S):
            await self.pause()
            yield self.event(
                "TOOL_CALL_ARGS", {"toolCallId": call_id}, delta=delta, **args.add(delta)
            )
        yield self.event("TOOL_CALL_END", names, input=arguments)

    async def server_tool(
        self, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """A tool run here: the call, then its result as TOOL_CALL_END + TOOL_CALL_RESULT."""
        call_id = self.next_id("call")
        async for event in self.tool_call(name, arguments, call_id):
            yield event
        await self.pause()
        encoded = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        names = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
        yield self.event("TOOL_CALL_END", names, result=encoded)
        result_id = self.next_id("tool-result")
        yield self.event(
            "TOOL_CALL_RESULT",
            {"toolCallId": call_id, "messageId": result_id},
            content=encoded,
            role="tool",
        )
