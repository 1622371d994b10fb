"""The demo agent: deterministic, no model weights, no network.

It exists so the whole loop (client, transport, server, events, UI messages)
runs with zero setup, and so tests have a backend that exercises every event
family the TanStack 0.10 client renders. It picks one behaviour from the last
user message:

* a client tool named in the message (one the request advertised in ``tools``)
  -> the tool call is streamed, a ``tool-input-available`` CUSTOM event asks the
  client to run it, and the run ends with ``finishReason: "tool_calls"``; the
  follow-up request that carries the result gets an answer that uses it;
* arithmetic ("what is 2+3*4") -> the server-side ``calculator`` tool;
* "what time is it" (optionally "in Europe/Paris") -> the ``get_current_time`` tool;
* "think about X" -> streamed thinking (STEP_STARTED / STEP_FINISHED), then an answer;
* anything else -> a Markdown answer that explains the demo and echoes the question.

The events have the shapes and key order of the reference server's (compare
``tests/fixtures/tanstack-0.10/responses/tools.sse`` and ``thinking.sse``).
Text is streamed in word-sized deltas ``delay`` seconds apart (``0`` for tests).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._ids import now_ms
from .._messages import ModelMessage, TextPart
from .._run_input import RunAgentInput, ToolSpec
from ._calculator import CalculatorError, evaluate, format_number

__all__ = ["DEMO_MODEL", "SERVER_TOOLS", "DemoAgent", "split_words"]

DEMO_MODEL = "chatconduit-demo"

SERVER_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "calculator",
        "Evaluate an arithmetic expression (+ - * / // % ** and parentheses).",
        {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    ),
    ToolSpec(
        "get_current_time",
        "The current date and time in an IANA time zone (default UTC).",
        {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []},
    ),
)

# The longest run of arithmetic characters holding a digit-operator-digit pattern.
_ARITHMETIC = re.compile(r"[-+(]*[\d.]+(?:\s*(?:\*\*|//|[-+*/%^×÷])\s*[-+(]*[\d.]+\)*)+\)*")
_TIME = re.compile(r"\b(what(?:'s| is)? (?:the )?(?:current )?time|time is it|current time)\b")
_ZONE = re.compile(r"\b([A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+\-0-9]+)+|UTC)\b")
_THINK = re.compile(
    r"^\s*(?:please\s+)?think(?:\s+(?:about|of|on|through))?\b[\s:,]*(.*)$", re.I | re.S
)
_WORD = re.compile(r"\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Word-sized deltas whose concatenation is ``text`` (trailing spaces stay attached)."""
    return _WORD.findall(text)


def _text_of(message: ModelMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(p.content for p in message.content if isinstance(p, TextPart))
    return ""


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.strip().splitlines() or [""])


def _first_json_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


_DEFAULTS: Mapping[str, Any] = {
    "string": "",
    "number": 0,
    "integer": 0,
    "boolean": False,
    "array": [],
    "object": {},
}


def _tool_input(tool: ToolSpec, text: str) -> dict[str, Any]:
    """Arguments for a client tool: a JSON object written in the message, else a
    placeholder per required property, by JSON type."""
    written = _first_json_object(text)
    if written is not None:
        return written
    schema = tool.parameters if isinstance(tool.parameters, Mapping) else {}
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    out: dict[str, Any] = {}
    for name in required if isinstance(required, list) else []:
        prop = properties.get(name)
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        out[str(name)] = _DEFAULTS.get(kind, None) if isinstance(kind, str) else None
    return out


def _named_tool(tools: Sequence[ToolSpec], text: str) -> ToolSpec | None:
    """The first advertised tool named in ``text`` as a whole word (``get_time`` or
    ``get time``), so that a tool called ``add`` does not fire on "address"."""
    for tool in tools:
        if not tool.name:
            continue
        spellings = {tool.name, tool.name.replace("_", " ")}
        pattern = "|".join(re.escape(name) for name in spellings)
        if re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE):
            return tool
    return None


class _Run:
    """Builds the events of one run with the reference's field order."""

    def __init__(self, params: RunAgentInput, model: str) -> None:
        self.run_id = params.run_id
        self.thread_id = params.thread_id
        self.model = model
        self.counters: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}-{self.run_id}-{n}"

    def event(self, type_: str, head: dict[str, Any], **payload: Any) -> dict[str, Any]:
        """``{type, <head>, model, timestamp, <payload>}``, the reference server's layout."""
        return {"type": type_, **head, "model": self.model, "timestamp": now_ms(), **payload}


class DemoAgent:
    """``agent(params, request)`` for :func:`chatconduit.server.chat_endpoint`.

    ``delay`` is the pause between deltas (seconds; ``0`` still yields to the
    event loop); ``clock`` returns the current time (inject one in tests).
    """

    def __init__(
        self,
        *,
        delay: float = 0.03,
        model: str = DEMO_MODEL,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        self.delay = delay
        self.model = model
        self.clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"DemoAgent(delay={self.delay!r}, model={self.model!r})"

    def __call__(
        self, params: RunAgentInput, request: object = None
    ) -> AsyncIterator[dict[str, Any]]:
        return self.run(params)

    async def _pause(self) -> None:
        await asyncio.sleep(self.delay)

    async def run(self, params: RunAgentInput) -> AsyncIterator[dict[str, Any]]:
        """The events of one run (see the module docstring for the behaviours)."""
        run = _Run(params, self.model)
        yield {
            "type": "RUN_STARTED",
            "runId": run.run_id,
            "threadId": run.thread_id,
            "model": self.model,
            "timestamp": now_ms(),
        }
        finish_reason = "stop"
        messages = params.model_messages
        last = messages[-1] if messages else None
        user_turns = [m for m in messages if m.role == "user"]
        text = _text_of(user_turns[-1]) if user_turns else ""
        if last is not None and last.role == "tool":
            async for event in self._answer_tool_result(run, messages, last):
                yield event
        elif (tool := _named_tool(params.tools, text)) is not None:
            async for event in self._client_tool(run, tool, text):
                yield event
            finish_reason = "tool_calls"
        elif (match := _ARITHMETIC.search(text)) is not None:
            async for event in self._calculate(run, match.group().strip()):
                yield event
        elif _TIME.search(text.lower()):
            zone = _ZONE.search(text)
            async for event in self._tell_time(run, zone.group(1) if zone else "UTC"):
                yield event
        elif (think := _THINK.match(text)) is not None:
            async for event in self._think(run, think.group(1).strip() or "nothing in particular"):
                yield event
        else:
            async for event in self._text(run, self._explain(params, text, len(user_turns))):
                yield event
        yield {
            "type": "RUN_FINISHED",
            "runId": run.run_id,
            "threadId": run.thread_id,
            "model": self.model,
            "timestamp": now_ms(),
            "finishReason": finish_reason,
        }

    # --- building blocks ---------------------------------------------------------------

    async def _text(self, run: _Run, text: str) -> AsyncIterator[dict[str, Any]]:
        message_id = run.next_id("msg")
        yield run.event("TEXT_MESSAGE_START", {"messageId": message_id}, role="assistant")
        content = ""
        for delta in split_words(text):
            await self._pause()
            content += delta
            yield run.event(
                "TEXT_MESSAGE_CONTENT", {"messageId": message_id}, delta=delta, content=content
            )
        yield run.event("TEXT_MESSAGE_END", {"messageId": message_id})

    async def _tool_call(
        self, run: _Run, name: str, arguments: dict[str, Any], call_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        """START, the arguments as ARGS deltas, END with the parsed ``input``."""
        names = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
        yield run.event("TOOL_CALL_START", names, index=0)
        args = ""
        for delta in re.findall(r".{1,12}", json.dumps(arguments, ensure_ascii=False), re.S):
            await self._pause()
            args += delta
            yield run.event("TOOL_CALL_ARGS", {"toolCallId": call_id}, delta=delta, args=args)
        yield run.event("TOOL_CALL_END", names, input=arguments)

    async def _server_tool(
        self, run: _Run, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """A tool run here: the call, then its result as TOOL_CALL_END + TOOL_CALL_RESULT."""
        call_id = run.next_id("call")
        async for event in self._tool_call(run, name, arguments, call_id):
            yield event
        await self._pause()
        encoded = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        names = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
        yield run.event("TOOL_CALL_END", names, result=encoded)
        result_id = run.next_id("tool-result")
        yield run.event(
            "TOOL_CALL_RESULT",
            {"toolCallId": call_id, "messageId": result_id},
            content=encoded,
            role="tool",
        )

    # --- behaviours --------------------------------------------------------------------

    async def _calculate(self, run: _Run, expression: str) -> AsyncIterator[dict[str, Any]]:
        async for event in self._text(run, "Let me calculate that with the `calculator` tool."):
            yield event
        try:
            value = evaluate(expression)
            result: dict[str, Any] = {"expression": expression, "result": value}
            answer = f"`{expression}` = **{format_number(value)}**"
        except CalculatorError as exc:
            result = {"expression": expression, "error": str(exc)}
            answer = f"I could not compute `{expression}`: {exc}."
        async for event in self._server_tool(run, "calculator", {"expression": expression}, result):
            yield event
        async for event in self._text(run, answer):
            yield event

    async def _tell_time(self, run: _Run, zone_name: str) -> AsyncIterator[dict[str, Any]]:
        zone: tzinfo
        try:
            zone = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone, zone_name = UTC, "UTC"
        now = self.clock().astimezone(zone)
        result = {"timezone": zone_name, "iso": now.isoformat(timespec="seconds")}
        async for event in self._server_tool(
            run, "get_current_time", {"timezone": zone_name}, result
        ):
            yield event
        answer = f"It is **{now:%H:%M}** on {now:%A, %d %B %Y} ({zone_name})."
        async for event in self._text(run, answer):
            yield event

    async def _think(self, run: _Run, topic: str) -> AsyncIterator[dict[str, Any]]:
        step_id = run.next_id("step")
        step = {"stepName": step_id, "stepId": step_id}
        yield run.event("STEP_STARTED", step, stepType="thinking")
        words = topic.split()
        thoughts = (
            f"The user wants me to think about “{topic}”. "
            "I am a scripted demo without a language model, so my thinking is honest arithmetic: "
            f"the topic has {len(words)} word{'s' if len(words) != 1 else ''} "
            f"and {len(topic)} characters. "
            "I will answer with a short Markdown list."
        )
        content = ""
        for delta in split_words(thoughts):
            await self._pause()
            content += delta
            yield run.event("STEP_FINISHED", step, delta=delta, content=content)
        longest = max(words, key=len) if words else ""
        answer = (
            f"### Thoughts on {topic}\n\n"
            f"- **Words:** {len(words)}\n"
            f"- **Characters:** {len(topic)}\n"
            f"- **Longest word:** {longest or '(none)'}\n\n"
            "_The thinking above was streamed as STEP_STARTED / STEP_FINISHED events._"
        )
        async for event in self._text(run, answer):
            yield event

    async def _client_tool(
        self, run: _Run, tool: ToolSpec, text: str
    ) -> AsyncIterator[dict[str, Any]]:
        arguments = _tool_input(tool, text)
        async for event in self._text(run, f"I will ask your app to run `{tool.name}`."):
            yield event
        call_id = run.next_id("call")
        async for event in self._tool_call(run, tool.name, arguments, call_id):
            yield event
        # What TanStack's server emits for a tool without a server-side implementation:
        # the client runs it and sends the result in a follow-up request.
        value = {"toolCallId": call_id, "toolName": tool.name, "input": arguments}
        yield run.event("CUSTOM", {"name": "tool-input-available", "value": value})

    async def _answer_tool_result(
        self, run: _Run, messages: Sequence[ModelMessage], result: ModelMessage
    ) -> AsyncIterator[dict[str, Any]]:
        name = "the tool"
        for message in messages:
            for call in message.tool_calls or ():
                if call.id == result.tool_call_id:
                    name = f"`{call.function.name}`"
        output = _text_of(result)
        try:
            pretty = json.dumps(json.loads(output), ensure_ascii=False, indent=2)
        except ValueError:
            pretty = output
        answer = f"Your app ran {name} and it returned:\n\n```json\n{pretty}\n```"
        async for event in self._text(run, answer):
            yield event

    def _explain(self, params: RunAgentInput, text: str, turn: int) -> str:
        lines = [
            "**chatconduit demo agent**: deterministic, no model and no network.",
            "",
            "You said:",
            "",
            _quote(text) if text else "> (nothing)",
            "",
            f"This is turn {turn} of the conversation "
            f"({len(params.model_messages)} messages reached the server).",
        ]
        props = params.forwarded_props if isinstance(params.forwarded_props, Mapping) else {}
        if props:
            keys = ", ".join(f"`{key}`" for key in list(props)[:10])
            lines += ["", f"Your request also carried these fields: {keys}."]
        lines += [
            "",
            "Try:",
            "",
            "- `what is 2+3*4`: the **calculator** tool",
            "- `what time is it in Europe/Paris`: the **current time** tool",
            "- `think about rivers`: streamed **thinking**",
        ]
        if params.tools:
            names = ", ".join(f"`{tool.name}`" for tool in params.tools[:10])
            lines.append(f"- name one of your client tools ({names}): your app runs it")
        return "\n".join(lines)
