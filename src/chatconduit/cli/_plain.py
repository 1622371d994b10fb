"""The reply as plain text, for pipes and files: append-only, no colours, no redraws.

The Markdown text of the reply goes to ``out`` (stdout) exactly as the model
wrote it, so ``chatconduit chat URL -m '...' > answer.md`` captures the answer
and nothing else. Thinking and tool calls are annotations: they go to
``notes`` (stderr), one line each, when they are complete.

When both streams end up in the same place (``2>&1``, both on one pipe or a
dumb terminal) a note written while the reply is mid-line would be glued to
the text (``...the tool.tool: calculator(...)``), so the reply's line is ended
first. When they go to different places the reply is left exactly as the model
wrote it.
"""

from __future__ import annotations

import json
import os
from typing import TextIO

from .._messages import TextPart, ThinkingPart, ToolCallPart, ToolResultPart, UIMessage
from ._render import format_arguments, format_result

__all__ = ["PlainPrinter"]


class PlainPrinter:
    """Feed it successive snapshots of one assistant message; it writes only what is new."""

    def __init__(self, out: TextIO, notes: TextIO) -> None:
        self._out = out
        self._notes = notes
        self._printed: dict[int, int] = {}  # text part index → characters written
        self._noted: set[str] = set()  # keys of annotations already written
        self._out_at_line_start = True
        self._wrote_text = False
        self._shared = _same_destination(out, notes)

    def update(self, message: UIMessage, *, final: bool = False) -> None:
        """Write what ``message`` has beyond what was written. ``final``: the message
        is complete, so annotations waiting for completion are written too."""
        parts = message.parts
        names = {p.id: p.name for p in parts if isinstance(p, ToolCallPart)}
        for index, part in enumerate(parts):
            later = final or index < len(parts) - 1
            if isinstance(part, TextPart):
                self._text(index, part.content)
            elif isinstance(part, ThinkingPart):
                if later and part.content.strip():
                    self._note(f"thinking:{index}", "thinking: " + " ".join(part.content.split()))
            elif isinstance(part, ToolCallPart):
                if later or part.state not in ("awaiting-input", "input-streaming"):
                    self._note(
                        f"call:{part.id}", f"tool: {part.name}{format_arguments(part.arguments)}"
                    )
                if part.has_output and not any(
                    isinstance(p, ToolResultPart) and p.tool_call_id == part.id for p in parts
                ):
                    self._note(f"result:{part.id}", f"tool: {part.name} → {_output(part.output)}")
            elif isinstance(part, ToolResultPart):
                name = names.get(part.tool_call_id, part.tool_call_id)
                failed = part.state == "error"
                shown = format_result((part.error or part.content) if failed else part.content)
                self._note(
                    f"result:{part.tool_call_id}",
                    f"tool: {name} {'✗' if failed else '→'} {shown}",
                )
        self._out.flush()

    def finish(self) -> None:
        """End the reply on a line of its own."""
        if self._wrote_text and not self._out_at_line_start:
            self._out.write("\n")
            self._out_at_line_start = True
        self._out.flush()

    def _text(self, index: int, content: str) -> None:
        done = self._printed.get(index, 0)
        if len(content) <= done:
            return
        if done == 0 and self._wrote_text:
            # A new text segment (after a tool call, say) is a new Markdown paragraph.
            self._out.write("\n" if self._out_at_line_start else "\n\n")
        new = content[done:]
        self._out.write(new)
        self._printed[index] = len(content)
        self._wrote_text = True
        self._out_at_line_start = new.endswith("\n")

    def note(self, text: str) -> None:
        """Write ``text`` to ``notes`` on a line (or lines) of its own."""
        if self._shared:
            if not self._out_at_line_start:
                self._out.write("\n")
                self._out_at_line_start = True
            # stdout is usually block-buffered when it is not a terminal: what was
            # written to it must reach the shared destination before the note does.
            self._out.flush()
        self._notes.write(text if text.endswith("\n") else text + "\n")
        self._notes.flush()

    def _note(self, key: str, line: str) -> None:
        if key in self._noted:
            return
        self._noted.add(key)
        self.note(line)


def _same_destination(out: TextIO, notes: TextIO) -> bool:
    """Whether writes to ``out`` and ``notes`` land in the same file, pipe or terminal."""
    if out is notes:
        return True
    try:
        a, b = os.fstat(out.fileno()), os.fstat(notes.fileno())
    except (OSError, ValueError):  # no file descriptor (StringIO), or closed
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _output(value: object) -> str:
    return format_result(value if isinstance(value, str) else json.dumps(value))
