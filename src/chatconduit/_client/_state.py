"""What a ``ChatClient`` shows to the outside: its lifecycle, and snapshots of it.

Pure bookkeeping, no I/O. **The lifecycle state machine:** the reference keeps
``status``, ``isLoading`` and a handful of flags that interact (and can disagree: a
reply with no content leaves ``status == 'submitted'`` with ``isLoading == false``).
Here there is one value, :class:`ChatStatus`, driven by a small transition table, and
``is_loading`` is derived from it by one rule (:func:`is_loading`), so the two can
never contradict each other; a transition that is not in the table is a bug in the
client and raises :class:`ClientStateError` instead of leaving the client in a state
nobody designed. **Snapshots for ``ChatClient.updates()``:** :class:`ChatSnapshot` is
one immutable moment, and :class:`UpdateHub` decides *when* a new one may be built so
that the copying (``_freezing.py``) stays proportional to the data received;
consumers that fall behind simply get the latest snapshot, nothing queues up.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .._events import BaseEvent
from .._exceptions import ClientStateError
from .._messages import UIMessage
from .._messages._ui_message import reply_messages, reply_text

__all__ = [
    "TRANSITIONS",
    "ChatConnectionStatus",
    "ChatSnapshot",
    "ChatStatus",
    "Lifecycle",
    "Trigger",
    "UpdateHub",
    "Updates",
    "is_loading",
]


# =========================================================================== lifecycle


class ChatStatus(enum.StrEnum):
    """The client's status, with the reference's four values."""

    READY = "ready"  # idle; the last request (if any) succeeded or was stopped
    SUBMITTED = "submitted"  # a request is out, nothing of the reply has arrived yet
    STREAMING = "streaming"  # the reply is arriving (or its client tools are running)
    ERROR = "error"  # idle; the last request failed (``ChatClient.error`` says why)


class Trigger(enum.Enum):
    """What happened, as far as the lifecycle is concerned."""

    SEND = "send"  # a turn starts (send_message, append, reload, a tool answer when idle)
    RECEIVE = "receive"  # the first change to the messages caused by the reply
    CONTINUE = "continue"  # the same turn sends another request (client-tool follow-up, reload)
    FINISH = "finish"  # the turn ended normally
    FAIL = "fail"  # the turn (or, idle, the subscription) failed
    STOP = "stop"  # stop(), unsubscribe(), a connection swap, a cancelled send
    RESET = "reset"  # clear(): forget the error


_R, _SUB, _STR, _ERR = (
    ChatStatus.READY,
    ChatStatus.SUBMITTED,
    ChatStatus.STREAMING,
    ChatStatus.ERROR,
)

TRANSITIONS: Final[Mapping[tuple[ChatStatus, Trigger], ChatStatus]] = {
    (_R, Trigger.SEND): _SUB,
    (_ERR, Trigger.SEND): _SUB,
    (_SUB, Trigger.RECEIVE): _STR,
    (_SUB, Trigger.CONTINUE): _SUB,
    (_STR, Trigger.CONTINUE): _SUB,
    (_SUB, Trigger.FINISH): _R,
    (_STR, Trigger.FINISH): _R,
    (_SUB, Trigger.FAIL): _ERR,
    (_STR, Trigger.FAIL): _ERR,
    # A push subscription can break while no request is out: the chat is broken.
    (_R, Trigger.FAIL): _ERR,
    (_ERR, Trigger.FAIL): _ERR,
    (_SUB, Trigger.STOP): _R,
    (_STR, Trigger.STOP): _R,
    (_R, Trigger.RESET): _R,
    (_ERR, Trigger.RESET): _R,
}
"""The whole lifecycle. ``(status, trigger) → next status``; anything else is a bug."""

_LOADING: Final = frozenset({ChatStatus.SUBMITTED, ChatStatus.STREAMING})


def is_loading(status: ChatStatus) -> bool:
    """The loading rule: a turn is in progress while its request is out or its reply arrives."""
    return status in _LOADING


class Lifecycle:
    """The current :class:`ChatStatus` and the only way to change it: :meth:`fire`."""

    __slots__ = ("_status",)

    def __init__(self) -> None:
        self._status = ChatStatus.READY

    @property
    def status(self) -> ChatStatus:
        return self._status

    @property
    def is_loading(self) -> bool:
        return is_loading(self._status)

    def can(self, trigger: Trigger) -> bool:
        return (self._status, trigger) in TRANSITIONS

    def fire(self, trigger: Trigger) -> tuple[ChatStatus, ChatStatus]:
        """Apply ``trigger``; return ``(before, after)``. Raises on an illegal transition."""
        before = self._status
        after = TRANSITIONS.get((before, trigger))
        if after is None:
            raise ClientStateError(
                f"illegal ChatClient transition: {trigger.value!r} while {before.value!r} "
                "(this is a bug in chatconduit; please report it)"
            )
        self._status = after
        return before, after

    def __repr__(self) -> str:
        return f"Lifecycle({self._status.value})"


class ChatConnectionStatus(enum.StrEnum):
    """The client's view of its connection (the reference's ``connectionStatus``).

    Pull adapters (``connect``): per request, ``connecting`` when it starts,
    ``connected`` once the first event arrived, ``disconnected`` when the response
    ended (or was stopped), ``error`` when the transport failed. Push adapters: the
    long-lived subscription's state, as in the reference. (The HTTP transports report
    finer detail, such as reconnects, through ``FetchOptions.on_status``.)
    """

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    ERROR = "error"


# =========================================================================== snapshots


@dataclass(frozen=True, slots=True)
class ChatSnapshot:
    """The client's observable state at one moment, safe to keep and to hand to another thread.

    ``messages`` are copies: the client never mutates them afterwards (text is shared
    with the live messages, which is free because strings are immutable). Treat them
    as read-only: an unchanged message is the *same* object in consecutive snapshots.
    ``version`` grows with every change, so two snapshots with the same version are
    identical.
    """

    version: int
    messages: tuple[UIMessage, ...]
    status: ChatStatus
    error: BaseException | None
    connection_status: ChatConnectionStatus
    session_generating: bool
    state: Any = None

    @property
    def is_loading(self) -> bool:
        return is_loading(self.status)

    @property
    def last_message(self) -> UIMessage | None:
        return self.messages[-1] if self.messages else None

    @property
    def text(self) -> str:
        """The newest reply's text: the assistant messages after the last user message,
        their text parts joined by a blank line (it grows while the reply streams)."""
        return reply_text(reply_messages(self.messages))


# =========================================================================== updates


_STRUCTURAL_WEIGHT: Final = 32  # "characters" an event without text counts for


def text_weight(event: BaseEvent) -> int:
    """Roughly how much text an event adds: what it adds to :attr:`UpdateHub.growth`."""
    value = event.__dict__.get("delta")
    if isinstance(value, str) and value:
        return len(value)
    value = event.__dict__.get("content")
    if isinstance(value, str):
        return len(value)
    return _STRUCTURAL_WEIGHT


SnapshotBuilder = Callable[[int], tuple[ChatSnapshot, int]]
"""Builds the snapshot for a version; returns it and its cost (see ``MessageFreezer``)."""


class UpdateHub:
    """Tells ``updates()`` iterators when there is something new, and hands out snapshots.

    Every change bumps :attr:`version`. A snapshot is built lazily, when an iterator
    asks for one, and shared by all iterators asking for the same version.

    **Why building is rationed.** Sharing a string with a snapshot makes the
    processor's next append to it copy the string once. So a snapshot costs about the
    size of the text it shares that is still growing, and one snapshot per token would
    make a long reply quadratic. A snapshot may therefore be built only when one of
    these holds:

    - the change is *urgent* (status, error, connection, the end of a request);
    - the data received since the last build is at least ``1/amortization`` of that
      build's cost (so the total building work is at most about
      ``(amortization + 1)`` times the data received: linear);
    - ``max_latency`` seconds passed since the last build (so a reader never waits
      longer than that for a slow trickle to show up).

    Early in a reply, when the text is short, that is every token; later it is
    every few tokens, or every ``max_latency``.

    The builder comes with each call (:meth:`snapshot`, :meth:`subscribe`) rather than
    living here: it reads the client, which holds this hub, and a closed client must be
    freed by reference counting, not left in a cycle for the garbage collector.
    """

    def __init__(self, *, amortization: int = 8) -> None:
        if amortization < 1:
            raise ValueError(f"amortization must be >= 1, got {amortization}")
        self._amortization = amortization
        self.version = 0
        self._urgent_version = 0
        self.growth = 0  # data received since the last build (characters, roughly)
        self._last_cost = 0
        self._last_build = -float("inf")
        self._snapshot: ChatSnapshot | None = None
        # (future, wants_any); made by the first updates() wait: most clients have none.
        self._waiters: list[tuple[asyncio.Future[None], bool]] | None = None
        self._subscribers = 0
        self.closed = False
        # The version at which the newest turn ended (the client left loading): where
        # updates(until_turn_end=True) stops.
        self.turn_end_version = 0
        self.builds = 0  # how many snapshots were built (observability, tests)
        self.build_cost = 0  # the sum of their costs

    @property
    def has_subscribers(self) -> bool:
        return self._subscribers > 0

    def changed(self, *, urgent: bool = False) -> None:
        """Something observable changed."""
        self.version += 1
        if urgent:
            self._urgent_version = self.version
        if self._waiters:
            self._wake(all_=urgent or self._budget_allows())

    def _budget_allows(self) -> bool:
        return self.growth * self._amortization >= self._last_cost

    def _wake(self, *, all_: bool) -> None:
        waiters = self._waiters
        if not waiters:
            return
        keep: list[tuple[asyncio.Future[None], bool]] = []
        for future, wants_any in waiters:
            if all_ or wants_any:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((future, wants_any))
        self._waiters = keep or None

    def close(self) -> None:
        """End every iterator (the client closed)."""
        self.closed = True
        self._wake(all_=True)

    def snapshot(self, build: SnapshotBuilder) -> ChatSnapshot:
        """The snapshot of the current version, built now with ``build`` if needed (no
        rationing)."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == self.version:
            return snapshot
        snapshot, cost = build(self.version)
        self._snapshot = snapshot
        self._last_cost = cost
        self.growth = 0
        self._last_build = time.monotonic()
        self.builds += 1
        self.build_cost += cost
        return snapshot

    def _next_for(
        self, seen: int, max_latency: float, build: SnapshotBuilder
    ) -> ChatSnapshot | float:
        """A snapshot newer than ``seen`` if one may be handed out now, else how long to wait."""
        cached = self._snapshot
        if cached is not None and cached.version == self.version:
            return cached
        if self._urgent_version > seen or self._budget_allows():
            return self.snapshot(build)
        waited = time.monotonic() - self._last_build
        if waited >= max_latency:
            return self.snapshot(build)
        return max_latency - waited

    async def _wait(self, delay: float | None, *, wants_any: bool) -> None:
        """Until woken by :meth:`changed` (or :meth:`close`), or ``delay`` seconds."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, wants_any)
        if self._waiters is None:
            self._waiters = [entry]
        else:
            self._waiters.append(entry)
        try:
            if delay is None:
                await future
            else:
                try:
                    async with asyncio.timeout(delay):
                        await future
                except TimeoutError:
                    pass
        finally:
            if self._waiters is not None and entry in self._waiters:
                self._waiters.remove(entry)

    def subscribe(
        self, build: SnapshotBuilder, max_latency: float, until_turn_end: bool = False
    ) -> Updates:
        if not (max_latency >= 0):
            raise ValueError(f"max_latency must be a number >= 0, got {max_latency!r}")
        return Updates(self, build, max_latency, until_turn_end)


class Updates:
    """``async for snapshot in client.updates()``: the latest :class:`ChatSnapshot` each time.

    The first item is the current state. After that, each ``__anext__`` waits for a
    change and returns the newest snapshot: a consumer that is slower than the stream
    skips intermediate states (never the final one), and nothing accumulates while it
    is busy. Ends when the client is closed or :meth:`aclose` is called; with
    ``until_turn_end``, also after the snapshot that shows the end of the first turn
    ending after the iterator was made (a turn started later ends it too).
    """

    def __init__(
        self,
        hub: UpdateHub,
        build: SnapshotBuilder,
        max_latency: float,
        until_turn_end: bool = False,
    ) -> None:
        self._hub = hub
        self._build = build
        self._max_latency = max_latency
        self._seen = -1
        self._closed = False
        # With until_turn_end: a turn must end after this version (-1: never stop).
        self._stop_after = hub.version if until_turn_end else -1
        hub._subscribers += 1

    def __aiter__(self) -> Updates:
        return self

    async def __anext__(self) -> ChatSnapshot:
        hub = self._hub
        while True:
            if self._closed or hub.closed:
                await self.aclose()
                raise StopAsyncIteration
            if hub.version > self._seen:
                got = hub._next_for(self._seen, self._max_latency, self._build)
                if isinstance(got, ChatSnapshot):
                    self._seen = got.version
                    if (
                        self._stop_after >= 0
                        and hub.turn_end_version > self._stop_after
                        and got.version >= hub.turn_end_version
                        and not got.is_loading
                    ):
                        self._closed = True  # this is the last item: the next call ends
                        hub._subscribers -= 1
                    return got
                await hub._wait(got, wants_any=False)
            else:
                await hub._wait(None, wants_any=True)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub._subscribers -= 1
            self._hub._wake(all_=True)  # a waiting __anext__ of ours re-checks and ends
