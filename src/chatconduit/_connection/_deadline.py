"""``Deadline``: the time limit of one whole ``connect()``, retries, resumes and waits included.

``FetchOptions.deadline`` is counted on the event loop's clock from the run's first
iteration, and every wait of the run is bounded by what is left of it: opening a
response, each read of a body (next to the idle and event watchdogs, see
``_response_reader``) and the pause before the next attempt. Its error is made once
and kept, because the run must tell it from the other timeouts: those may be resumed,
the deadline ends the run.
"""

from __future__ import annotations

import asyncio

from .._exceptions import StreamTimeoutError

__all__ = ["NO_DEADLINE", "Deadline"]

# A wait bounded by the deadline may wake a hair early (the loop's clock resolution):
# that is the deadline too, not the idle timeout.
_CLOCK_SLACK = 0.001


class Deadline:
    """What is left of a run's ``deadline`` seconds (``None``: no limit), and its error."""

    __slots__ = ("_at", "error", "seconds")

    @classmethod
    def of(cls, seconds: float | None) -> Deadline:
        """A deadline of ``seconds``; without one, the shared :data:`NO_DEADLINE` (it
        never changes: its error is only made once a deadline is passed)."""
        return NO_DEADLINE if seconds is None else cls(seconds)

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else asyncio.get_running_loop().time() + seconds
        self.error: StreamTimeoutError | None = None  # once made, the same object every time

    def remaining(self) -> float | None:
        """Seconds left (negative once past), ``None`` without a deadline."""
        if self._at is None:
            return None
        return self._at - asyncio.get_running_loop().time()

    def bounded(self, timeout: float | None) -> float | None:
        """``timeout``, or less when the deadline comes first."""
        remaining = self.remaining()
        if remaining is None:
            return timeout
        remaining = max(remaining, 0.0)
        return remaining if timeout is None else min(timeout, remaining)

    def passed(self, url: str, cause: BaseException | None = None) -> StreamTimeoutError | None:
        """The deadline error when the deadline has passed (or will before anything
        could happen), else ``None``."""
        remaining = self.remaining()
        if remaining is None or remaining > _CLOCK_SLACK:
            return None
        return self.exceeded(url, cause)

    def exceeded(self, url: str, cause: BaseException | None = None) -> StreamTimeoutError:
        """The deadline error; ``url`` and ``cause`` count only the first time."""
        if self.error is None:
            error = StreamTimeoutError(
                f"the stream from {url} did not complete within {self.seconds}s (deadline)"
            )
            error.__cause__ = cause
            if self._at is None:  # never asked of NO_DEADLINE; if it were, keep it unchanged
                return error
            self.error = error
        return self.error


NO_DEADLINE = Deadline(None)  # no limit: what most runs have, shared
