"""How one reply is shown while it streams: live Markdown, plain text, or raw events.

A view is told about everything that happens during one exchange (events,
connection status, the growing reply) and decides what to write. The session
picks the view: ``--raw`` → :class:`RawView`; stdout not a terminal →
:class:`PlainView`; else :class:`LiveView`.

A reply that waits for the user (an approval, ``ask_user``) is *paused*: the
view shows what arrived so far, the session asks below it, then *resumes*
the same view for the rest of the reply.

Everything runs on the event loop's thread, including the live refresh (a
timer task calls :meth:`LiveView.tick`), because the processor grows message
parts in place: rendering from rich's own refresh thread could read a message
halfway through an update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from .._connection import ConnectionStatusEvent
from .._events import BaseEvent, event_to_json
from .._messages import MessagePart, ToolCallPart, ToolResultPart, UIMessage
from ._plain import PlainPrinter
from ._render import TailCrop, ThinkingMode, render_message
from ._status import StatusLine

__all__ = [
    "LiveView",
    "Outcome",
    "PlainView",
    "RawView",
    "ReplySource",
    "ReplyView",
    "merge_reply",
]

REFRESH_PER_SECOND = 10


@dataclass
class Outcome:
    """How an exchange ended."""

    error: BaseException | None = None
    stopped: bool = False  # Ctrl-C stopped the reply; what arrived stays
    quit: bool = False  # a second Ctrl-C: leave the program
    approval_needed: bool = False  # -m: the reply paused on an approval nobody could give


ReplySource = Callable[[], UIMessage | None]
"""Returns the reply so far (all assistant parts since the user's message), or None."""


class ReplyView(Protocol):
    refresh_interval: float | None  # seconds between tick() calls; None: no ticking

    def begin(self, reply: ReplySource) -> None: ...
    def on_event(self, event: BaseEvent) -> None: ...
    def on_connection(self, event: ConnectionStatusEvent) -> None: ...
    def on_change(self) -> None: ...
    def tick(self) -> None: ...
    def note(self, text: str) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def end(self, outcome: Outcome) -> None: ...


class RawView:
    """``--raw``: every event as one compact JSON line, exactly as it was on the wire."""

    refresh_interval: float | None = None

    def __init__(self, out: TextIO, notes: TextIO) -> None:
        self._out = out
        self._notes = notes

    def begin(self, reply: ReplySource) -> None:
        pass

    def on_event(self, event: BaseEvent) -> None:
        self._out.write(event_to_json(event) + "\n")
        self._out.flush()

    def on_connection(self, event: ConnectionStatusEvent) -> None:
        pass

    def on_change(self) -> None:
        pass

    def tick(self) -> None:
        pass

    def note(self, text: str) -> None:
        _write(self._notes, text)

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def end(self, outcome: Outcome) -> None:
        pass


class PlainView:
    """Stdout is a pipe or a file: the reply text, appended as it arrives."""

    refresh_interval: float | None = None

    def __init__(self, out: TextIO, notes: TextIO) -> None:
        self._out = out
        self._notes = notes
        self._printer = PlainPrinter(out, notes)
        self._reply: ReplySource = lambda: None

    def begin(self, reply: ReplySource) -> None:
        self._printer = PlainPrinter(self._out, self._notes)
        self._reply = reply

    def on_event(self, event: BaseEvent) -> None:
        pass

    def on_connection(self, event: ConnectionStatusEvent) -> None:
        pass

    def on_change(self) -> None:
        reply = self._reply()
        if reply is not None:
            self._printer.update(reply)

    def tick(self) -> None:
        pass

    def note(self, text: str) -> None:
        # Through the printer: it knows whether the reply is mid-line.
        self._printer.note(text)

    def pause(self) -> None:
        """The reply waits for the user: write what it has so far (tool calls
        included) and end its line, so that the question starts on a line of its own."""
        reply = self._reply()
        if reply is not None:
            self._printer.update(reply, final=True)
        self._printer.finish()

    def resume(self) -> None:
        pass  # the same printer goes on: it writes only what is new

    def end(self, outcome: Outcome) -> None:
        reply = self._reply()
        if reply is not None:
            self._printer.update(reply, final=True)
        self._printer.finish()
        if outcome.stopped or outcome.quit:
            self._printer.note("(stopped)")


class _LiveBody:
    """What the live region shows: the tail of the reply, then the status line.

    Rendered lazily (at refresh time, not per token), so a long reply is
    re-rendered at most ``REFRESH_PER_SECOND`` times a second however fast the
    tokens come.
    """

    def __init__(self, view: LiveView) -> None:
        self._view = view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view = self._view
        status = view.status.render(time.monotonic())
        reply = view.visible()
        if reply is None or not reply.parts:
            yield status
            return
        height = max(3, console.size.height - 2)  # room for the status line
        rendered = render_message(reply, thinking=view.thinking, tail_lines=height)
        body = TailCrop(rendered, height)
        yield Group(body, status)


class LiveView:
    """A terminal: live Markdown while it streams, then the whole reply printed once."""

    refresh_interval: float | None = 1 / REFRESH_PER_SECOND

    def __init__(self, console: Console, thinking: ThinkingMode = "auto") -> None:
        self.console = console
        self.thinking: ThinkingMode = thinking
        self.status = StatusLine()
        self.reply: ReplySource = lambda: None
        self._live: Live | None = None
        # Parts printed before a pause (by identity: the processor grows parts in
        # place, and a tool's result may be added to an earlier message).
        self._shown: dict[int, MessagePart] = {}

    def visible(self) -> UIMessage | None:
        """The reply without what was printed before a pause; a tool call printed
        then comes again with the result that arrived since."""
        reply = self.reply()
        if reply is None or not self._shown:
            return reply
        shown = self._shown
        answered = {
            p.tool_call_id
            for p in reply.parts
            if isinstance(p, ToolResultPart) and id(p) not in shown
        }
        parts = [
            p
            for p in reply.parts
            if id(p) not in shown or (isinstance(p, ToolCallPart) and p.id in answered)
        ]
        return UIMessage.model_construct(id=reply.id, role=reply.role, parts=parts)

    def begin(self, reply: ReplySource) -> None:
        self.reply = reply
        self._shown = {}
        self._start()

    def _start(self) -> None:
        self.status.start(time.monotonic())
        # transient: the live region is erased at the end and the reply printed
        # normally, so scrollback holds one clean copy of it.
        self._live = Live(
            _LiveBody(self),
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=True)

    def on_event(self, event: BaseEvent) -> None:
        self.status.on_event(event, time.monotonic())

    def on_connection(self, event: ConnectionStatusEvent) -> None:
        self.status.on_connection(event, time.monotonic())

    def on_change(self) -> None:
        pass  # rendered at the next tick, not per token

    def tick(self) -> None:
        if self._live is not None:
            self._live.refresh()

    def note(self, text: str) -> None:
        # While the live region is up, printing through its console puts the text
        # above the region; a write to the terminal behind rich's back would be
        # overdrawn by the next refresh.
        self.console.print(Text(text.rstrip("\n"), style="dim"), highlight=False)

    def pause(self) -> None:
        """The reply waits for the user: take the live region down and print the
        reply so far, so that the question is asked below it."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        reply = self.visible()
        if reply is not None and reply.parts:
            self.console.print(render_message(reply, thinking=self.thinking))
        whole = self.reply()
        if whole is not None:
            self._shown.update((id(p), p) for p in whole.parts)

    def resume(self) -> None:
        self._start()

    def end(self, outcome: Outcome) -> None:
        now = time.monotonic()
        self.status.finish(now, outcome.error)
        if self._live is not None:
            self._live.stop()
            self._live = None
        reply = self.visible()
        if reply is not None and reply.parts:
            self.console.print(render_message(reply, thinking=self.thinking))
        if outcome.stopped or outcome.quit:
            self.console.print(Text("■ stopped", style="yellow"))
        elif outcome.error is None:
            self.console.print(self.status.render(now))


def _write(stream: TextIO, text: str) -> None:
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def merge_reply(messages: Sequence[UIMessage], start: int) -> UIMessage | None:
    """The reply as one message: the parts of every assistant message after ``start``
    (a reply that ran client tools spans several requests, hence messages)."""
    parts: list[MessagePart] = []
    for message in messages[start:]:
        if message.role == "assistant":
            parts.extend(message.parts)
    if not parts:
        return None
    return UIMessage.model_construct(id="reply", role="assistant", parts=parts)
