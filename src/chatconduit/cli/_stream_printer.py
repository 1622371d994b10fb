"""``StreamPrinter``: one reply shown as ``chatconduit chat`` shows it, from snapshots.

Used by ``chatconduit.print_stream()``: a terminal or a notebook gets the live Markdown
view (thinking collapsed, tool calls and results, the whole reply printed once at the
end); anything else gets the plain append-only text, tool calls as notes on stderr.
Driven by snapshots, never by the live messages, so it is safe from any thread.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .._client import ChatSnapshot
from ._plain import PlainPrinter
from ._render import ThinkingMode, render_message
from ._views import merge_reply

__all__ = ["StreamPrinter"]


class StreamPrinter:
    """Shows the reply that follows message index ``start`` of each snapshot."""

    def __init__(self, start: int, file: TextIO | None = None, thinking: ThinkingMode = "auto"):
        self._start = start
        self._thinking: ThinkingMode = thinking
        out = file or sys.stdout
        self._console = Console(file=out)
        self._live: Live | None = None
        self._plain: PlainPrinter | None = None
        if self._console.is_terminal or self._console.is_jupyter:
            self._live = Live(console=self._console, auto_refresh=False, transient=True)
            self._live.start()
        else:
            self._plain = PlainPrinter(out, sys.stderr if file is None else out)

    def show(self, snapshot: ChatSnapshot) -> None:
        reply = merge_reply(snapshot.messages, self._start)
        if reply is None:
            return
        if self._live is not None:
            self._live.update(render_message(reply, thinking=self._thinking), refresh=True)
        elif self._plain is not None:
            self._plain.update(reply)

    def end(self, snapshot: ChatSnapshot) -> None:
        reply = merge_reply(snapshot.messages, self._start)
        if self._live is not None:
            self._live.stop()
            self._live = None
            if reply is not None and reply.parts:
                self._console.print(render_message(reply, thinking=self._thinking))
        elif self._plain is not None:
            if reply is not None:
                self._plain.update(reply, final=True)
            self._plain.finish()
            self._plain = None
        if snapshot.error is not None:  # on stderr, as the CLI reports it
            Console(file=sys.stderr, stderr=True).print(
                Text(f"error: {snapshot.error}", style="red"), soft_wrap=True
            )
