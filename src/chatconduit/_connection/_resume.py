"""Resuming a dropped stream: remember event ids, skip what was seen, bound the retries.

A server that tags events with ids (SSE ``id:`` lines, NDJSON ``{"id", "chunk"}``
envelopes) can replay from the last id it is given in ``Last-Event-ID``. The
tracker below decides which events are new, and counts reconnects that brought
nothing new so that a server which keeps failing in the same place ends in
``ReconnectLimitError`` rather than a loop.

An SSE id stays in force until the next ``id:`` line (WHATWG), so one id may
cover many events. The tracker therefore counts, per id, the events delivered
under it, and a replay is matched by count: a resumed response that starts
again at the event carrying ``Last-Event-ID`` has its first *n* events under
that id skipped, where *n* were delivered before. Only the most recent
:data:`REMEMBERED_IDS` ids are counted, a long one by a digest rather than the id
itself: memory stays constant however long the stream and however long its ids
(a set of every id seen grew by the size of each id, without bound).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "REMEMBERED_IDS",
    "ResumePolicy",
    "ResumeTracker",
    "coerce_resume_policy",
    "usable_event_id",
]

REMEMBERED_IDS = 64
"""Ids whose delivered-event counts are kept at least (up to twice as many, the
oldest are forgotten in batches). A server that replays from further back than
this many ids delivers those events twice."""

# What a header value cannot hold (h11 refuses it, or the server would read another
# value): control characters, and blanks at either end.
_NOT_A_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")


def usable_event_id(event_id: str) -> bool:
    """Whether ``event_id`` can be sent back as ``Last-Event-ID``.

    It goes out UTF-8 encoded (as EventSource sends it), so a lone surrogate (an
    NDJSON envelope may hold ``"\\ud800"``) cannot; neither can a control character
    or a leading or trailing blank.
    """
    if not event_id or _NOT_A_HEADER_VALUE.search(event_id):
        return False
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_KEPT_AS_IS = 64  # ids up to this long are their own key: hashing costs more than it saves


def _digest(event_id: str) -> bytes:
    """The key of a long id: 16 bytes whatever its size (a collision, which would skip
    an event, is as likely as guessing a 128-bit key)."""
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=16).digest()


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


# Frozen: one of each for every stream, as for RetryPolicy.
_DEFAULT = ResumePolicy()
_DISABLED = ResumePolicy.disabled()


def coerce_resume_policy(value: ResumePolicy | bool | None) -> ResumePolicy:
    if value is None or value is True:
        return _DEFAULT
    if value is False:
        return _DISABLED
    if isinstance(value, ResumePolicy):
        return value
    raise TypeError(f"resume must be a ResumePolicy or a bool, got {type(value).__name__}")


class ResumeTracker:
    """The ids of one logical stream (across all its reconnects), in constant memory.

    ``ids_persist``: an event without an id falls under the id in force (SSE, where
    the last event id carries over into a resumed response as it does in
    EventSource); otherwise such an event is untagged and always new (NDJSON).
    """

    __slots__ = (
        "_delivered",
        "_ids_persist",
        "_last_key",
        "_pending",
        "failures",
        "last_id",
        "progressed",
    )

    def __init__(self, *, ids_persist: bool = False) -> None:
        self.last_id: str | None = None
        self._last_key: str | bytes = b""
        self._ids_persist = ids_persist
        # key of an id -> events delivered under it; oldest first (a dict keeps insertion
        # order), the oldest forgotten past twice REMEMBERED_IDS.
        self._delivered: dict[str | bytes, int] = {}
        # In a resumed response: key -> delivered events under it the server may replay
        # (and which are skipped) before a new one comes. Empty before any reconnect, so
        # the first response pays nothing for it.
        self._pending: dict[str | bytes, int] = {}
        self.failures = 0  # consecutive reconnects that brought nothing new
        self.progressed = False  # something new arrived since the last (re)connect

    @property
    def cursor(self) -> str | None:
        """The id to send as ``Last-Event-ID``: the last id, unless it cannot be sent as a
        header (see :func:`usable_event_id`); such an id is treated as no id. Checked
        here, when it is needed, rather than for every event."""
        event_id = self.last_id
        return event_id if event_id is not None and usable_event_id(event_id) else None

    @property
    def resumable(self) -> bool:
        """True when the server has tagged the last events with an id we can resume from."""
        return self.cursor is not None

    def accept(self, event_id: str | None) -> bool:
        """Record an event's id; ``False`` means it was already delivered (skip it).

        In a resumed response, the first *n* events under an id are skipped when *n*
        were delivered under it before (a replay starts at the event carrying the
        id, so its first ones are the delivered ones). Untagged events are always
        new. An empty id resets the cursor, as the SSE standard (and the reference)
        define it: the stream is no longer resumable from there and earlier ids are
        forgotten.
        """
        if event_id is None:
            if not self._ids_persist or self.last_id is None:
                self.progressed = True
                return True
            event_id = self.last_id
        if event_id == self.last_id:  # the id in force again: no need to look at it
            key = self._last_key
        elif event_id:
            key = event_id if len(event_id) <= _KEPT_AS_IS else _digest(event_id)
        else:
            self._reset()
            self.progressed = True
            return True
        pending = self._pending
        if pending:
            left = pending.get(key)
            if left:
                if left == 1:
                    del pending[key]
                else:
                    pending[key] = left - 1
                return False  # delivered before a reconnect: the server replays it
        delivered = self._delivered
        delivered[key] = delivered.get(key, 0) + 1
        if len(delivered) > 2 * REMEMBERED_IDS:  # forget the oldest, a batch at a time
            self._delivered = dict(list(delivered.items())[-REMEMBERED_IDS:])
        self.last_id = event_id
        self._last_key = key
        self.progressed = True
        return True

    def _reset(self) -> None:
        self.last_id = None
        self._last_key = b""
        self._delivered = {}
        self._pending = {}

    def start_attempt(self) -> None:
        """Call when a (re)connection opens; progress and replays are counted from here."""
        self.progressed = False
        self._pending = dict(self._delivered)

    def record_drop(self) -> int:
        """Call when a connection ended incomplete; returns the consecutive no-progress count."""
        if self.progressed:
            self.failures = 0
        self.failures += 1
        self.progressed = False
        return self.failures
