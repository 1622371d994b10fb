"""The demo agent's scripted replies other than its server tools: streamed thinking,
the call that hands a client tool to the app, the call that asks for a ``delete_file``
approval, the answer to a client tool's result, and the Markdown explanation that
answers anything else. Each one streams through a :class:`~._events.Run`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .._messages import ModelMessage
from .._run_input import RunAgentInput, ToolSpec
from ._events import Accumulated, Run, split_words
from ._limits import MAX_INPUT_CHARS, MAX_TOOL_NAME_CHARS, clip
from ._reading import quote, text_of, tool_input
from ._tools import APPROVAL_TOOL

__all__ = ["answer_tool_result", "client_tool", "explain", "request_approval", "think"]


async def think(run: Run, topic: str) -> AsyncIterator[dict[str, Any]]:
    """Thinking streamed as STEP_STARTED / STEP_FINISHED deltas, then a Markdown answer."""
    step_id = run.next_id("step")
    step = {"stepName": step_id, "stepId": step_id}
    yield run.event("STEP_STARTED", step, stepType="thinking")
    words = topic.split()
    shown = clip(topic)
    thoughts = (
        f"The user wants me to think about “{shown}”. "
        "I am a scripted demo without a language model, so my thinking is honest arithmetic: "
        f"the topic has {len(words)} word{'s' if len(words) != 1 else ''} "
        f"and {len(topic)} characters. "
        "I will answer with a short Markdown list."
    )
    content = Accumulated("content")
    for delta in split_words(thoughts):
        await run.pause()
        yield run.event("STEP_FINISHED", step, delta=delta, **content.add(delta))
    longest = max(words, key=len) if words else ""
    answer = (
        f"### Thoughts on {shown}\n\n"
        f"- **Words:** {len(words)}\n"
        f"- **Characters:** {len(topic)}\n"
        f"- **Longest word:** {clip(longest, 80) or '(none)'}\n\n"
        "_The thinking above was streamed as STEP_STARTED / STEP_FINISHED events._"
    )
    async for event in run.text(answer):
        yield event


async def client_tool(run: Run, tool: ToolSpec, text: str) -> AsyncIterator[dict[str, Any]]:
    """A call of the client tool ``tool`` (the run pauses on it afterwards)."""
    arguments = tool_input(tool, text)
    async for event in run.text(f"I will ask your app to run `{clip(tool.name)}`."):
        yield event
    call_id = run.next_id("call")
    # The client runs the tool: the run pauses after the call (``DemoAgent.run`` yields
    # the client-tool interrupt) and the follow-up request carries the result.
    async for event in run.tool_call(tool.name, arguments, call_id):
        yield event


async def request_approval(run: Run, arguments: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """A ``delete_file`` call (the run pauses on its approval afterwards)."""
    path = clip(arguments["path"], 80)
    text = f"Deleting `{path}` needs your approval (the demo only pretends to delete)."
    async for event in run.text(text):
        yield event
    async for event in run.tool_call(APPROVAL_TOOL.name, arguments, run.next_id("call")):
        yield event


async def answer_tool_result(
    run: Run, messages: Sequence[ModelMessage], result: ModelMessage
) -> AsyncIterator[dict[str, Any]]:
    """An answer quoting what the app's tool returned (pretty-printed when it is JSON)."""
    name = "the tool"
    for message in messages:
        for call in message.tool_calls or ():
            if call.id == result.tool_call_id:
                name = f"`{clip(call.function.name, MAX_TOOL_NAME_CHARS)}`"
    output = text_of(result)
    try:
        if len(output) > MAX_INPUT_CHARS:
            raise ValueError("too long to pretty-print")
        pretty = json.dumps(json.loads(output), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        pretty = output
    pretty = clip(pretty)
    answer = f"Your app ran {name} and it returned:\n\n```json\n{pretty}\n```"
    async for event in run.text(answer):
        yield event


def explain(params: RunAgentInput, text: str, turn: int) -> str:
    """The Markdown answer to anything else: what the demo is, the question, what to try."""
    lines = [
        "**chatconduit demo agent**: deterministic, no model and no network.",
        "",
        "You said:",
        "",
        quote(clip(text)) if text else "> (nothing)",
        "",
        f"This is turn {turn} of the conversation "
        f"({len(params.model_messages)} messages reached the server).",
    ]
    props = params.forwarded_props if isinstance(params.forwarded_props, Mapping) else {}
    if props:
        keys = ", ".join(f"`{clip(str(key), 40)}`" for key in list(props)[:10])
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
        names = ", ".join(f"`{clip(tool.name, MAX_TOOL_NAME_CHARS)}`" for tool in params.tools[:10])
        lines.append(f"- name one of your client tools ({names}): your app runs it")
    return "\n".join(lines)
