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
from ._history import HistoryError
from ._render import ThinkingMode
from ._views import Outcome

__all__ = ["COMMANDS_HELP", "Conversation", "run_repl"]

COMMANDS_HELP = (
    "/thinking show or hide the model's thinking · /retry ask again · /clear start over · "
    "/save FILE · /load FILE · /help · /exit (or Ctrl-D)"
)


class Conversation(Protocol):
    """What the loop drives (``ChatSession`` in practice)."""

    def exchange(self, text: str) -> Outcome: ...
    def toggle_thinking(self) -> ThinkingMode: ...
    def show_last_reply(self) -> bool: ...
    def clear(self) -> None: ...
    def retry(self) -> Outcome | None: ...
    def save(self, path: str) -> int: ...
    def load(self, path: str) -> int: ...


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
    *,
    chrome: Console | None = None,
) -> int:
    """Run until the user quits; return the exit status. ``chrome``: where the loop's
    own lines go (help, notices), when not with the replies on ``console``."""
    _enable_line_editing()
    prompt = _prompt(console)
    console = chrome or console
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
            if command in _HISTORY_COMMANDS:
                outcome = _history_command(conversation, console, command, text)
                if outcome is not None and outcome.quit:
                    return ExitCode.INTERRUPTED
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


_HISTORY_COMMANDS = frozenset({"/clear", "/retry", "/save", "/load"})


def _history_command(
    conversation: Conversation, console: Console, command: str, text: str
) -> Outcome | None:
    """``/clear``, ``/retry``, ``/save FILE``, ``/load FILE``: one line says what happened."""
    argument = text[len(command) :].strip()
    if command == "/clear":
        conversation.clear()
        console.print(Text("conversation cleared", style="dim"))
        return None
    if command == "/retry":
        outcome = conversation.retry()
        if outcome is None:
            console.print(Text("nothing to retry yet", style="yellow"))
        return outcome
    if not argument:
        console.print(Text(f"{command} needs a file name: {command} chat.json", style="yellow"))
        return None
    try:
        if command == "/save":
            count = conversation.save(argument)
            console.print(Text(f"saved {count} messages to {argument}", style="dim"))
        else:
            count = conversation.load(argument)
            console.print(Text(f"loaded {count} messages from {argument}", style="dim"))
    except HistoryError as exc:
        console.print(Text(f"error: {exc}", style="red"), soft_wrap=True)
    return None
