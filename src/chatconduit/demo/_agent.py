"""The demo agent: deterministic, no model weights, no network.

It exists so the whole loop (client, transport, server, events, UI messages)
runs with zero setup, and so tests have a backend that exercises every event
family the TanStack 0.10 client renders. It picks one behaviour from the last
user message:

* "delete_file ..." / "delete file ..." / "delete <path>" -> the ``delete_file`` tool,
  which needs the user's approval: the call is streamed and the run pauses on an
  approval interrupt; the answer (approve, deny, cancel; a ``resume`` entry, or the
  approval recorded on the tool call by a 0.10 client) continues it. Nothing is ever
  deleted: the tool only pretends;
* a client tool named in the message (one the request advertised in ``tools``)
  -> the tool call is streamed and the run pauses on a client-tool interrupt (the
  0.10 client gets it as a ``tool-input-available`` CUSTOM event and
  ``finishReason: "tool_calls"``); the follow-up request that carries the result
  gets an answer that uses it;
* arithmetic ("what is 2+3*4") -> the server-side ``calculator`` tool;
* "what time is it" (optionally "in Europe/Paris") -> the ``get_current_time`` tool;
* "think about X" -> streamed thinking (STEP_STARTED / STEP_FINISHED), then an answer;
* anything else -> a Markdown answer that explains the demo and echoes the question.

The events have the shapes and key order of the reference 0.18 server's (compare
``tests/fixtures/tanstack-0.10/responses/tools.sse`` and ``thinking.sse``); the server
rewrites them for current clients (``chatconduit.server._dialect``). Pauses are the
one current-style event the demo yields (``RunAgentInput.interrupt_run``), since an
interrupt says more than its 0.10 form and the server downgrades it for 0.10 clients.
Text is streamed in word-sized deltas ``delay`` seconds apart (``0`` for tests).

The demo is often the first thing exposed to a network, so what one request can
cost is bounded: it looks at the first :data:`MAX_INPUT_CHARS` characters of the
message and the first :data:`MAX_TOOLS` tools, echoes at most
:data:`MAX_ECHO_CHARS` of anything it quotes, and every pattern it matches runs in
linear time; the accumulated ``content`` / ``args`` fields (which the reference
repeats on every delta, so their total grows with the square of the text) stop
after :data:`MAX_ACCUMULATED_CHARS` per message, leaving the deltas, which
clients read anyway. A request therefore costs microseconds to a few
milliseconds of event loop and a response of bounded size, whatever its size.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._exceptions import CalculatorError
from .._ids import now_ms
from .._messages import ModelMessage, ModelToolCall, TextPart
from .._run_input import RunAgentInput, ToolSpec
from ._calculator import evaluate, format_number

__all__ = [
    "APPROVAL_TOOL",
    "DEMO_MODEL",
    "MAX_ACCUMULATED_CHARS",
    "MAX_ECHO_CHARS",
    "MAX_INPUT_CHARS",
    "MAX_TOOLS",
    "SERVER_TOOLS",
    "DemoAgent",
    "split_words",
]

DEMO_MODEL = "chatconduit-demo"

MAX_INPUT_CHARS = 4000
"""Characters of the last user message (and of a tool result) the demo reads."""
MAX_TOOLS = 64
"""Client tools considered when looking for one named in the message."""
MAX_TOOL_NAME_CHARS = 64
"""Longer tool names are never matched: nobody types them in a chat."""
MAX_ECHO_CHARS = 500
"""Characters of the question, a topic, a tool result or a name the answer quotes."""
MAX_ACCUMULATED_CHARS = 16 * 1024
"""Characters of accumulated ``content`` / ``args`` sent per message or tool call."""
_MAX_JSON_STARTS = 16  # "{" positions tried when looking for JSON arguments in a message
_MAX_PLACEHOLDERS = 32  # required properties given a placeholder value

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

APPROVAL_TOOL = ToolSpec(
    "delete_file",
    "Delete a file, once the user approves. The demo only pretends: nothing is touched.",
    # The schema TanStack's examples give the tool: a client declaring the same schema
    # with ``needsApproval`` binds the approval as a typed one (the hashes match).
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": []},
    {"needsApproval": True},
)
"""The demo's approval-gated server tool (harmless: it never touches a file)."""

# The first run of arithmetic characters holding a digit-operator-digit pattern.
# Linear time: a match may only start where a run of signs/parentheses or of
# digits starts (the look-behinds), and the possessive quantifiers never give
# back what they took, so no run of the text is scanned more than a few times.
# (The naive pattern backtracked quadratically: 24 KB of digits took 16 s.)
_ARITHMETIC = re.compile(
    r"(?:(?<![-+(])[-+(]++)?+(?<![\d.])[\d.]++"
    r"(?:\s*+(?:\*\*|//|[-+*/%^×÷])\s*+[-+(]*+[\d.]++\)*+)++\)*+"
)
_TIME = re.compile(r"\b(what(?:'s| is)? (?:the )?(?:current )?time|time is it|current time)\b")
_ZONE = re.compile(r"\b([A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+\-0-9]+)+|UTC)\b")
_THINK = re.compile(
    r"^\s*(?:please\s+)?think(?:\s+(?:about|of|on|through))?\b[\s:,]*(.*)$", re.I | re.S
)
_WORD = re.compile(r"\S+\s*|\s+")
# "delete_file ...", "delete file ...", or a message starting with "delete <something>".
_DELETE = re.compile(
    r"(?<![\w-])delete(?:_| )file(?![\w-])|^\s*(?:please\s+)?delete\s+(?=\S)", re.IGNORECASE
)
_PATH = re.compile(r"[\w./~-]*[\w~][\w./~-]*")
_MAX_PATH_CHARS = 200


def split_words(text: str) -> list[str]:
    """Word-sized deltas whose concatenation is ``text`` (trailing spaces stay attached)."""
    return _WORD.findall(text)


def _text_of(message: ModelMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(p.content for p in message.content if isinstance(p, TextPart))
    return ""


def _clip(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.strip().splitlines() or [""])


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object written in ``text``, trying only the first few ``{``
    (each try may scan to the end of the text)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(_MAX_JSON_STARTS):
        if start == -1:
            break
        try:
            value, _end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):  # not JSON here, or nested too deeply
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
    for name in required[:_MAX_PLACEHOLDERS] if isinstance(required, list) else []:
        if not isinstance(name, str) or len(name) > MAX_TOOL_NAME_CHARS:
            continue  # not a property name a model would fill in
        prop = properties.get(name)
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        out[str(name)] = _DEFAULTS.get(kind, None) if isinstance(kind, str) else None
    return out


def _named_tool(tools: Sequence[ToolSpec], text: str) -> ToolSpec | None:
    """The first advertised tool named in ``text`` as a whole word (``get_time`` or
    ``get time``), so that a tool called ``add`` does not fire on "address".

    Only the first :data:`MAX_TOOLS` tools with names of at most
    :data:`MAX_TOOL_NAME_CHARS` are considered: one search each over a bounded text.
    """
    for tool in tools[:MAX_TOOLS]:
        if not tool.name or len(tool.name) > MAX_TOOL_NAME_CHARS:
            continue
        spellings = {tool.name, tool.name.replace("_", " ")}
        pattern = "|".join(re.escape(name) for name in spellings)
        if re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE):
            return tool
    return None


def _delete_input(text: str, match: re.Match[str]) -> dict[str, Any]:
    """``{"path": ...}``: from a JSON object in the message, else the word after the
    command, else ``demo.txt``."""
    written = _first_json_object(text)
    if written is not None and isinstance(written.get("path"), str):
        return {"path": written["path"][:_MAX_PATH_CHARS]}
    path = _PATH.search(text, match.end())
    return {"path": path.group()[:_MAX_PATH_CHARS] if path else "demo.txt"}


def _decision(params: RunAgentInput, call_id: str, later: Sequence[ModelMessage]) -> str | None:
    """How the user answered the approval of ``call_id``: ``approved``, ``denied``,
    ``cancelled``, or ``None`` (not answered by this request, or already carried out).

    Current clients answer with a ``resume`` entry (TanStack 0.33 adds a tool message
    too, AG-UI clients do not); the 0.10 client records the decision on the tool call,
    which arrives as a tool message ``{"approved": ..., "pendingExecution"?: true}``.
    """
    entry = params.resumed(f"approval_{call_id}")
    if entry is not None:
        if entry.status == "cancelled":
            return "cancelled"
        if entry.approved is not None:
            return "approved" if entry.approved else "denied"
    for message in later:
        if message.role != "tool" or message.tool_call_id != call_id:
            continue
        try:
            answer = json.loads(_text_of(message)[:MAX_INPUT_CHARS])
        except (ValueError, RecursionError):
            return None
        if not isinstance(answer, dict) or not isinstance(answer.get("approved"), bool):
            return None  # the tool's own result: this call was carried out already
        if answer["approved"]:
            return "approved" if answer.get("pendingExecution") is True else None
        return "denied"
    return None


def _pending_approval(params: RunAgentInput) -> tuple[ModelToolCall, str] | None:
    """The ``delete_file`` call of the last assistant turn this request answers."""
    messages = params.model_messages
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "user":
            return None  # a new question: no answer pending
        if message.role != "assistant" or not message.tool_calls:
            continue
        for call in message.tool_calls:
            if call.function.name == APPROVAL_TOOL.name:
                decision = _decision(params, call.id, messages[index + 1 :])
                if decision is not None:
                    return call, decision
        return None
    return None


class _Run:
    """Builds the events of one run with the reference's field order."""

    def __init__(self, params: RunAgentInput, model: str) -> None:
        self.run_id = params.run_id
        self.thread_id = params.thread_id
        self.model = model
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


class _Accumulated:
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
        messages = params.model_messages
        last = messages[-1] if messages else None
        user_turns = [m for m in messages if m.role == "user"]
        # Everything below looks at a bounded text, so its cost does not grow with the body.
        text = _text_of(user_turns[-1])[:MAX_INPUT_CHARS] if user_turns else ""
        if (pending := _pending_approval(params)) is not None:
            async for event in self._carry_out(run, *pending):
                yield event
        elif last is not None and last.role == "tool":
            async for event in self._answer_tool_result(run, messages, last):
                yield event
        elif (delete := _DELETE.search(text)) is not None:
            # Before the client tools: a client declaring ``delete_file`` itself (to type
            # its approvals) still gets the server's tool, as in ``merge_agent_tools``.
            async for event in self._request_approval(run, _delete_input(text, delete)):
                yield event
            question = f"Delete {_clip(run.last_input['path'], 80)}? (the demo only pretends)"
            approval = params.approval_interrupt(
                run.last_call,
                APPROVAL_TOOL.name,
                run.last_input,
                input_schema=APPROVAL_TOOL.parameters,
                message=question,
            )
            yield params.interrupt_run([approval], model=self.model, timestamp=now_ms())
            return
        elif (tool := _named_tool(params.tools, text)) is not None:
            async for event in self._client_tool(run, tool, text):
                yield event
            yield params.interrupt_run(
                [params.client_tool_interrupt(run.last_call, tool.name, run.last_input)],
                model=self.model,
                timestamp=now_ms(),
            )
            return
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
            "finishReason": "stop",
        }

    # --- building blocks ---------------------------------------------------------------

    async def _text(self, run: _Run, text: str) -> AsyncIterator[dict[str, Any]]:
        message_id = run.next_id("msg")
        yield run.event("TEXT_MESSAGE_START", {"messageId": message_id}, role="assistant")
        content = _Accumulated("content")
        for delta in split_words(text):
            await self._pause()
            yield run.event(
                "TEXT_MESSAGE_CONTENT", {"messageId": message_id}, delta=delta, **content.add(delta)
            )
        yield run.event("TEXT_MESSAGE_END", {"messageId": message_id})

    async def _tool_call(
        self, run: _Run, name: str, arguments: dict[str, Any], call_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        """START, the arguments as ARGS deltas, END with the parsed ``input``."""
        run.last_call, run.last_input = call_id, arguments
        names = {"toolCallId": call_id, "toolCallName": name, "toolName": name}
        yield run.event("TOOL_CALL_START", names, index=0)
        args = _Accumulated("args")
        for delta in re.findall(r".{1,12}", json.dumps(arguments, ensure_ascii=False), re.S):
            await self._pause()
            yield run.event(
                "TOOL_CALL_ARGS", {"toolCallId": call_id}, delta=delta, **args.add(delta)
            )
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
            result = {"expression": _clip(expression), "error": str(exc)}
            answer = f"I could not compute `{_clip(expression)}`: {exc}."
        arguments = {"expression": _clip(expression)}
        async for event in self._server_tool(run, "calculator", arguments, result):
            yield event
        async for event in self._text(run, answer):
            yield event

    async def _tell_time(self, run: _Run, zone_name: str) -> AsyncIterator[dict[str, Any]]:
        zone: tzinfo
        try:
            # No IANA name is longer than ~32 characters; a longer one is not looked up.
            if len(zone_name) > MAX_TOOL_NAME_CHARS:
                raise ValueError(zone_name)
            zone = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
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
        shown = _clip(topic)
        thoughts = (
            f"The user wants me to think about “{shown}”. "
            "I am a scripted demo without a language model, so my thinking is honest arithmetic: "
            f"the topic has {len(words)} word{'s' if len(words) != 1 else ''} "
            f"and {len(topic)} characters. "
            "I will answer with a short Markdown list."
        )
        content = _Accumulated("content")
        for delta in split_words(thoughts):
            await self._pause()
            yield run.event("STEP_FINISHED", step, delta=delta, **content.add(delta))
        longest = max(words, key=len) if words else ""
        answer = (
            f"### Thoughts on {shown}\n\n"
            f"- **Words:** {len(words)}\n"
            f"- **Characters:** {len(topic)}\n"
            f"- **Longest word:** {_clip(longest, 80) or '(none)'}\n\n"
            "_The thinking above was streamed as STEP_STARTED / STEP_FINISHED events._"
        )
        async for event in self._text(run, answer):
            yield event

    async def _client_tool(
        self, run: _Run, tool: ToolSpec, text: str
    ) -> AsyncIterator[dict[str, Any]]:
        arguments = _tool_input(tool, text)
        async for event in self._text(run, f"I will ask your app to run `{_clip(tool.name)}`."):
            yield event
        call_id = run.next_id("call")
        # The client runs the tool: the run pauses after the call (``run`` yields the
        # client-tool interrupt) and the follow-up request carries the result.
        async for event in self._tool_call(run, tool.name, arguments, call_id):
            yield event

    async def _request_approval(
        self, run: _Run, arguments: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        path = _clip(arguments["path"], 80)
        text = f"Deleting `{path}` needs your approval (the demo only pretends to delete)."
        async for event in self._text(run, text):
            yield event
        async for event in self._tool_call(run, APPROVAL_TOOL.name, arguments, run.next_id("call")):
            yield event

    async def _carry_out(
        self, run: _Run, call: ModelToolCall, decision: str
    ) -> AsyncIterator[dict[str, Any]]:
        """The answered approval: pretend to delete, or say why not."""
        path = "the file"
        try:
            arguments = json.loads(call.function.arguments[:MAX_INPUT_CHARS])
            if isinstance(arguments, dict) and isinstance(arguments.get("path"), str):
                path = f"`{_clip(arguments['path'], 80)}`"
        except (ValueError, RecursionError):
            pass
        if decision == "approved":
            result = {"deleted": path.strip("`"), "simulated": True}
            content = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
            answer = f"Done: {path} is deleted (not really: the demo only pretends)."
        elif decision == "cancelled":
            # As TanStack 0.58 closes a cancelled call: an error result.
            content = '{"error":"Tool execution cancelled"}'
            answer = f"Cancelled: {path} stays where it is."
        else:
            content = ""
            answer = f"You declined, so {path} stays where it is."
        if content:
            extra = {"state": "output-error"} if decision == "cancelled" else {}
            yield run.event(
                "TOOL_CALL_RESULT",
                {"toolCallId": call.id, "messageId": run.next_id("tool-result")},
                content=content,
                role="tool",
                **extra,
            )
        async for event in self._text(run, answer):
            yield event

    async def _answer_tool_result(
        self, run: _Run, messages: Sequence[ModelMessage], result: ModelMessage
    ) -> AsyncIterator[dict[str, Any]]:
        name = "the tool"
        for message in messages:
            for call in message.tool_calls or ():
                if call.id == result.tool_call_id:
                    name = f"`{_clip(call.function.name, MAX_TOOL_NAME_CHARS)}`"
        output = _text_of(result)
        try:
            if len(output) > MAX_INPUT_CHARS:
                raise ValueError("too long to pretty-print")
            pretty = json.dumps(json.loads(output), ensure_ascii=False, indent=2)
        except (ValueError, RecursionError):
            pretty = output
        pretty = _clip(pretty)
        answer = f"Your app ran {name} and it returned:\n\n```json\n{pretty}\n```"
        async for event in self._text(run, answer):
            yield event

    def _explain(self, params: RunAgentInput, text: str, turn: int) -> str:
        lines = [
            "**chatconduit demo agent**: deterministic, no model and no network.",
            "",
            "You said:",
            "",
            _quote(_clip(text)) if text else "> (nothing)",
            "",
            f"This is turn {turn} of the conversation "
            f"({len(params.model_messages)} messages reached the server).",
        ]
        props = params.forwarded_props if isinstance(params.forwarded_props, Mapping) else {}
        if props:
            keys = ", ".join(f"`{_clip(str(key), 40)}`" for key in list(props)[:10])
            lines += ["", f"Your request also carried these fields: {keys}."]
        lines += [
            "",
            "Try:",
            "",
            "- `what is 2+3*4`: the **calculator** tool",
            "- `what time is it in Europe/Paris`: the **current time** tool",
            "- `think about rivers`: streamed **thinking**",
            "- `delete_file notes.txt`: **approval** first (nothing is deleted)",
        ]
        if params.tools:
            names = ", ".join(
                f"`{_clip(tool.name, MAX_TOOL_NAME_CHARS)}`" for tool in params.tools[:10]
            )
            lines.append(f"- name one of your client tools ({names}): your app runs it")
        return "\n".join(lines)
