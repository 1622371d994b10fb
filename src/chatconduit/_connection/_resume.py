"""Resuming a dropped stream: remember event ids, skip what was seen, bound the retries.

A server that tags events with ids (SSE ``id:`` lines, NDJSON ``{"id", "chunk"}``
envelopes) can replay from the last id it is given in ``Last-Event-ID``. The
tracker below decides which events are new, and counts reconnects that brought
nothing new so that a server which keeps failing in the same place ends in
``ReconnectLimitError`` rather than a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResumePolicy", "ResumeTracker", "coerce_resume_policy"]


@dataclass(frozen=True, slots=True)
class ResumePolicy:
    """How a stream whose events carry ids is resumed after a drop.

    ``max_reconnects`` bounds *consecutive* reconnects that deliver no new
    event; any progress resets the count. The n-th consecutive reconnect waits
    ``delay * 2**(n-1)`` seconds, at most ``max_delay``. An SSE server's
    ``retry:`` field (its reconnection time) replaces ``delay``, see
    :meth:`delay_for`.
    """

    max_reconnects: int = 5
    delay: float = 0.25
    max_delay: float = 4.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_reconnects, int) or self.max_reconnects < 0:
            raise ValueError(
                f"ResumePolicy.max_reconnects must be an int >= 0, got {self.max_reconnects!r}"
            )
        for name in ("delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"ResumePolicy.{name} must be a number >= 0, got {value!r}")

    @classmethod
    def disabled(cls) -> ResumePolicy:
        return cls(max_reconnects=0)

    def delay_for(self, consecutive: int, server_delay: float | None = None) -> float:
        """Seconds to wait before the ``consecutive``-th reconnect in a row without progress.

        ``server_delay`` is the reconnection time the server asked for (SSE
        ``retry:``, in seconds), which WHATWG has a client wait before reconnecting:
        it replaces ``delay``. Reconnects in a row that bring nothing new still back
        off, doubling from the larger of the two, so a server asking for ``retry: 0``
        cannot make a client hammer it while it keeps failing. Never more than
        ``max_delay``: a server cannot park a client for an hour either.
        """
        base = self.delay
        if server_delay is not None:
            base = server_delay if consecutive <= 1 else max(server_delay, self.delay)
        return float(min(self.max_delay, base * 2.0 ** max(0, consecutive - 1)))


def coerce_resume_policy(value: ResumePolicy | bool | None) -> ResumePolicy:
    if value is None or value is True:
        return ResumePolicy()
    if value is False:
        return ResumePolicy.disabled()
    if isinstance(value, ResumePolicy):
        return value
    raise TypeError(f"resume must be a ResumePolicy or a bool, got {type(value).__name__}")


class ResumeTracker:
    """The ids seen on one logical stream (across all its reconnects)."""

    __slots__ = ("_seen", "failures", "last_id", "progressed")

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._seen: set[str] = set()
        self.failures = 0  # consecutive reconnects that brought nothing new
        self.progressed = False  # something new arrived since the last (re)connect

    @property
    def resumable(self) -> bool:
        """True once the server has tagged an event with an id we can resume from."""
        return self.last_id is not None

    def accept(self, event_id: str | None) -> bool:
        """Record an event's id; ``False`` means it was already delivered (skip it).

        Untagged events are always new. An empty id resets the cursor, as the SSE
        standard (and the reference) define it: the stream is no longer resumable
        from there and earlier ids are forgotten.
        """
        if event_id is None:
            self.progressed = True
            return True
        if event_id == "":
            self.last_id = None
            self._seen.clear()
            self.progressed = True
            return True
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self.last_id = event_id
        self.progressed = True
        return True

    def start_attempt(self) -> None:
        """Call when a (re)connection opens; progress is measured from here."""
        self.progressed = False

    def record_drop(self) -> int:
        """Call when a connection ended incomplete; returns the consecutive no-progress count."""
        if self.progressed:
            self.failures = 0
        self.failures += 1
        self.progressed = False
        return self.failures
