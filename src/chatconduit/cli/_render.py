"""Messages → rich renderables: pure functions of a message snapshot.

Nothing here touches a terminal, so every rendering decision (how thinking
collapses, how a tool call with its result looks) is tested by printing into a
recording ``Console``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment
from rich.text import Text

from .._messages import (
    MessagePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
)

__all__ = [
    "TailCrop",
    "ThinkingMode",
    "format_arguments",
    "format_result",
    "markdown_tail",
    "render_message",
    "render_thinking",
    "render_tool_call",
]

ThinkingMode = Literal["auto", "expanded"]
"""``auto``: thinking is shown while the model thinks and collapses to one line
once the answer starts. ``expanded``: always shown in full (``/thinking``)."""

ARGUMENT_LIMIT = 200
ASK_USER_TOOL = "ask_user"  # the name of ._tools.ASK_USER, answered by the user
RESULT_LIMIT = 500
CODE_THEME = "monokai"


def render_message(
    message: UIMessage, *, thinking: ThinkingMode = "auto", tail_lines: int | None = None
) -> RenderableType:
    """The message: its parts in order, tool results folded into their calls.

    ``tail_lines``: render only about that many lines from the end (at least that
    many; the caller crops). Rendering Markdown costs time proportional to its
    length, and a live view redraws ten times a second: without this a long
    reply would spend the whole second re-rendering text that is off screen.
    """
    parts = message.parts
    results = {part.tool_call_id: part for part in parts if isinstance(part, ToolResultPart)}
    shown_with_call = {part.id for part in parts if isinstance(part, ToolCallPart)}
    first, text_budget = (0, None) if tail_lines is None else _tail_start(parts, tail_lines)
    blocks: list[RenderableType] = []
    previous = ""
    for index in range(first, len(parts)):
        part = parts[index]
        block: RenderableType
        if isinstance(part, TextPart):
            if not part.content.strip():
                continue
            source = part.content
            if index == first and text_budget is not None:
                source = markdown_tail(source, text_budget)
            block = Markdown(source, code_theme=CODE_THEME)
        elif isinstance(part, ThinkingPart):
            # Anything after the thinking means the model has moved on to answering.
            answered = index < len(parts) - 1
            block = render_thinking(part, collapsed=thinking == "auto" and answered)
        elif isinstance(part, ToolCallPart):
            block = render_tool_call(part, results.get(part.id))
        elif isinstance(part, ToolResultPart):
            if part.tool_call_id in shown_with_call:
                continue
            block = _result_line(part.content, part.state == "error", part.error)
        else:  # media: say what it is rather than dump base64
            block = Text(f"[{part.type}]", style="dim")
        # A blank line between blocks of different kinds; consecutive tool calls stay
        # together, like the lines of one log.
        if blocks and not (previous == part.type == "tool-call"):
            blocks.append(Text(""))
        blocks.append(block)
        previous = part.type
    return Group(*blocks)


def _tail_start(parts: Sequence[MessagePart], lines: int) -> tuple[int, int | None]:
    """The first part needed to fill ``lines`` lines counted from the end, and for a
    text part there, how many of its lines are needed. Counting source lines
    underestimates what is displayed (wrapping only adds lines), so the result
    errs on the side of rendering too much."""
    budget = lines
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        size = 2  # a tool call and its result, a collapsed thought
        if isinstance(part, TextPart | ThinkingPart):
            size = part.content.count("\n") + 2
        if size >= budget:
            return index, budget if isinstance(part, TextPart) else None
        budget -= size
    return 0, None


def markdown_tail(text: str, min_lines: int) -> str:
    """The end of a Markdown text, at least ``min_lines`` lines of it, cut where a
    block starts (after a blank line, never inside a fenced code block) so that
    what is kept renders as it would in the whole text."""
    lines = text.split("\n")
    limit = len(lines) - min_lines  # the cut must be at or before this line
    if limit <= 0:
        return text
    cut = 0
    fence = ""  # the open fence's marker, "" outside code blocks
    fence_start = 0
    for number, line in enumerate(lines[: limit + 1]):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            if not fence:
                fence, fence_start = stripped[:3], number
            elif stripped.startswith(fence):
                fence = ""
        elif not fence and not stripped and number < limit:
            cut = number + 1
    if cut == 0:
        # One huge block: cut at a line anyway (a paragraph continues fine), but
        # never inside a code block, whose fence would be lost.
        cut = fence_start if fence else limit
    return "\n".join(lines[cut:])


def render_thinking(part: ThinkingPart, *, collapsed: bool) -> RenderableType:
    words = len(part.content.split())
    if collapsed:
        return Text.assemble(
            ("▸ thought", "dim bold"),
            (f" · {words} word{'s' if words != 1 else ''}", "dim"),
            ("  (/thinking to show)", "dim italic"),
        )
    text = Text("▾ thinking\n", style="dim bold")
    text.append(part.content.strip(), style="dim italic")
    return text


def render_tool_call(call: ToolCallPart, result: ToolResultPart | None) -> RenderableType:
    head = Text.assemble(("⚙ ", "cyan"), (call.name, "bold cyan"))
    head.append(format_arguments(call.arguments), style="cyan")
    lines: list[RenderableType] = [head]
    if result is not None:
        lines.append(_result_line(result.content, result.state == "error", result.error))
    elif call.has_output:
        lines.append(_result_line(_to_text(call.output), False, None))
    elif call.state in ("awaiting-input", "input-streaming"):
        head.append("  …", style="dim")
    elif call.state == "approval-requested":
        lines.append(Text("  ↳ waiting for approval", style="yellow"))
    elif call.state == "approval-responded":
        approved = call.approval is not None and call.approval.approved
        lines.append(Text(f"  ↳ {'approved' if approved else 'denied'}", style="yellow"))
    elif call.name == ASK_USER_TOOL:  # the CLI's own tool: the user answers it, not code
        lines.append(Text("  ↳ waiting for your answer", style="yellow"))
    else:
        lines.append(Text("  ↳ running…", style="dim"))
    return Group(*lines)


def format_arguments(arguments: str) -> str:
    """``{"expression": "12*7"}`` → ``(expression="12*7")``: a call, as people read one.

    Arguments that are still streaming (incomplete JSON) or not an object are
    shown as they are, shortened."""
    try:
        parsed: Any = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return f"({_shorten(arguments, ARGUMENT_LIMIT)}"  # still streaming: no closing paren
    if isinstance(parsed, dict):
        inner = ", ".join(f"{key}={_compact(value)}" for key, value in parsed.items())
    else:
        inner = _compact(parsed)
    return f"({_shorten(inner, ARGUMENT_LIMIT)})"


def format_result(content: str) -> str:
    """A tool result on one line: JSON compacted, long results shortened."""
    try:
        parsed: Any = json.loads(content)
    except ValueError:
        return _shorten(" ".join(content.split()), RESULT_LIMIT)
    if isinstance(parsed, str):
        return _shorten(" ".join(parsed.split()), RESULT_LIMIT)
    return _shorten(_compact(parsed), RESULT_LIMIT)


def _result_line(content: str, failed: bool, error: str | None) -> Text:
    if failed:
        return Text(f"  ↳ ✗ {format_result(error or content)}", style="red")
    return Text.assemble(("  ↳ ", "green"), (format_result(content), ""))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TailCrop:
    """Show only the last ``height`` lines of a renderable.

    While a reply streams it lives in a rich ``Live`` region, which cannot redraw
    lines that scrolled off the top of the terminal. Keeping the region no taller
    than the screen avoids duplicated half-drawn replies; the full reply is
    printed normally once it is complete.
    """

    def __init__(self, renderable: RenderableType, height: int) -> None:
        self.renderable = renderable
        self.height = max(1, height)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options.update(height=None), pad=False)
        yield from _join(lines[-self.height :])


def _join(lines: Iterable[list[Segment]]) -> Iterable[Segment]:
    for line in lines:
        yield from line
        yield Segment.line()
