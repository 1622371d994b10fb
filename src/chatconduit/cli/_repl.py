"""The interactive loop: read a line, send it, show the reply, repeat.

Plain ``input()`` (with ``readline`` line editing and history where Python has
it): the prompt is only ever shown while nothing streams, so a full-screen
toolkit would add a dependency without adding a feature.

Quitting: ``/exit`` (or ``/quit``), Ctrl-D, or Ctrl-C at the prompt all end the
session normally (status 0). Ctrl-C *during* a reply stops that reply (see
``ChatSession``); a second Ctrl-C while it is being stopped quits at once
(status 130).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.text import Text

from ._errors import ExitCode
from ._render import ThinkingMode
from ._views import Outcome

__all__ = ["COMMANDS_HELP", "Conversation", "run_repl"]

COMMANDS_HELP = "/thinking show or hide the model's thinking · /help · /exit (or Ctrl-D)"


class Conversation(Protocol):
    """What the loop drives (``ChatSession`` in practice)."""

    def exchange(self, text: str) -> Outcome: ...
    def toggle_thinking(self) -> ThinkingMode: ...
    def show_last_reply(self) -> bool: ...


def _enable_line_editing() -> None:
    # Importing readline is what turns on editing and history for input().
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401


def _prompt(console: Console) -> str:
    if not sys.stdin.isatty():
        return ""  # lines come from a pipe or a file: nobody reads a prompt
    if not console.is_terminal:
        return "> "
    # \001 and \002 tell readline the escape codes take no room on the line,
    # otherwise editing a long line wraps at the wrong column.
    return "\001\033[1;32m\002you›\001\033[0m\002 "


def run_repl(
    conversation: Conversation,
    console: Console,
    read: Callable[[str], str] = input,
) -> int:
    """Run until the user quits; return the exit status."""
    _enable_line_editing()
    prompt = _prompt(console)
    while True:
        try:
            line = read(prompt)
        except EOFError:  # Ctrl-D
            console.print()
            return ExitCode.OK
        except KeyboardInterrupt:  # Ctrl-C at the prompt
            console.print()
            return ExitCode.OK
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            command = text.split()[0].lower()
            if command in ("/exit", "/quit"):
                return ExitCode.OK
            if command == "/thinking":
                mode = conversation.toggle_thinking()
                shown = "shown in full" if mode == "expanded" else "collapsed after the answer"
                console.print(Text(f"thinking: {shown}", style="dim"))
                if mode == "expanded":
                    conversation.show_last_reply()
                continue
            if command in ("/help", "/?"):
                console.print(Text(COMMANDS_HELP, style="dim"))
                continue
            if not text.startswith("//"):
                console.print(Text(f"unknown command {command} — {COMMANDS_HELP}", style="yellow"))
                continue
            text = text[1:]  # "//etc" sends "/etc"
        outcome = conversation.exchange(text)
        if outcome.quit:
            return ExitCode.INTERRUPTED
