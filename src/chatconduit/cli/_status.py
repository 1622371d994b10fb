"""The status line under a streaming reply: connecting, streaming (tokens/s), reconnecting.

It is a small state machine fed by the transport's connection-status events and
by the stream's events, rendered as a function of the current time, so it can
be tested with made-up clocks.

"Tokens" are content deltas (text, thinking and tool-argument chunks): servers
stream about one model token per delta, and the real count (``usage``) only
arrives, if at all, with ``RUN_FINISHED``; when it does, it replaces ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.text import Text

from .._connection import ConnectionStatus, ConnectionStatusEvent
from .._events import (
    BaseEvent,
    ReasoningMessageContentEvent,
    RunFinishedEvent,
    StepFinishedEvent,
    TextMessageContentEvent,
    ToolCallArgsEvent,
    Usage,
)
from ._errors import describe_error

__all__ = ["Phase", "StatusLine"]

Phase = Literal["idle", "connecting", "waiting", "streaming", "reconnecting", "done", "error"]

MIN_RATE_SPAN = 0.25  # seconds of streaming before a tokens/s figure means anything
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_CONTENT_EVENTS = (
    TextMessageContentEvent,
    ReasoningMessageContentEvent,
    StepFinishedEvent,
    ToolCallArgsEvent,
    Usage,
)


@dataclass
class StatusLine:
    phase: Phase = "idle"
    started_at: float = 0.0
    first_token_at: float | None = None
    last_token_at: float | None = None
    tokens: int = 0
    attempt: int = 1
    retry_at: float | None = None
    detail: str = ""
    # Whether this request ever got a response: before that, a retry is not a
    # "reconnect" (nothing was connected), and saying so sends the reader astray.
    connected: bool = False

    def start(self, now: float) -> None:
        """A new request: forget the previous one."""
        self.phase = "connecting"
        self.started_at = now
        self.first_token_at = self.last_token_at = self.retry_at = None
        self.tokens = 0
        self.attempt = 1
        self.detail = ""
        self.connected = False

    def on_connection(self, event: ConnectionStatusEvent, now: float) -> None:
        self.attempt = event.attempt
        if event.status is ConnectionStatus.CONNECTING:
            if self.phase != "streaming":
                self.phase = "connecting"
        elif event.status is ConnectionStatus.OPEN:
            self.connected = True
            if self.phase != "streaming":
                self.phase = "waiting"
        elif event.status is ConnectionStatus.RECONNECTING:
            self.phase = "reconnecting"
            self.retry_at = now + (event.delay or 0.0)
            self.detail = describe_error(event.error) if event.error is not None else ""
        elif event.status is ConnectionStatus.ERROR:
            self.phase = "error"
            self.detail = describe_error(event.error) if event.error is not None else ""

    def on_event(self, event: BaseEvent, now: float) -> None:
        if isinstance(event, _CONTENT_EVENTS):
            self.tokens += 1
            if self.first_token_at is None:
                self.first_token_at = now
            self.last_token_at = now
            self.phase = "streaming"
        elif isinstance(event, RunFinishedEvent):
            usage = event.usage
            if isinstance(usage, Usage) and usage.completion_tokens:
                self.tokens = int(usage.completion_tokens)

    def finish(self, now: float, error: BaseException | None = None) -> None:
        self.last_token_at = self.last_token_at or now
        if error is not None:
            self.phase = "error"
            self.detail = describe_error(error)
        else:
            self.phase = "done"

    def tokens_per_second(self, now: float) -> float | None:
        if self.first_token_at is None or self.tokens < 2:
            return None
        end = now if self.phase == "streaming" else (self.last_token_at or now)
        span = end - self.first_token_at
        if span < MIN_RATE_SPAN:
            return None  # a burst read in one go says nothing about the model's speed
        # The first delta opens the window, so it is not counted in the rate.
        return (self.tokens - 1) / span

    def render(self, now: float) -> Text:
        spin = _SPINNER[int(now * 10) % len(_SPINNER)]
        elapsed = f"{max(0.0, now - self.started_at):.1f}s"
        if self.phase == "connecting":
            retry = f" (attempt {self.attempt})" if self.attempt > 1 else ""
            return Text(f"{spin} connecting{retry}… {elapsed}", style="dim")
        if self.phase == "waiting":
            return Text(f"{spin} waiting for the reply… {elapsed}", style="dim")
        if self.phase == "reconnecting":
            wait = max(0.0, (self.retry_at or now) - now)
            what = "reconnecting" if self.connected else "retrying"
            text = Text(f"{spin} {what} in {wait:.1f}s", style="yellow")
            if self.detail:
                text.append(f" — {self.detail}", style="dim")
            return text
        if self.phase == "error":
            return Text(f"✗ {self.detail or 'failed'}", style="red")
        rate = self.tokens_per_second(now)
        numbers = f"{self.tokens} token{'s' if self.tokens != 1 else ''}"
        if rate is not None:
            numbers += f" · {rate:.1f} tok/s"
        if self.phase == "streaming":
            return Text(f"{spin} streaming · {numbers} · {elapsed}  (Ctrl-C stops)", style="dim")
        return Text(f"{numbers} · {elapsed}", style="dim")
