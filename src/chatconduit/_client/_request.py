"""``Request``: one request of a turn (the first, or a follow-up after client tools), and
its life as one small state value, :class:`Phase`. A request is created ``pending``,
becomes ``running`` when it is handed to the adapter, and ends exactly once: finished,
failed, stopped or superseded. Work that outlives its request (an await that returns
late, a client tool that completes after ``stop()``) asks :meth:`Request.is_stale` and
drops its result.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

from .._connection._abort import AbortSignal
from .._connection._protocols import RunContext
from .._messages import UIMessage

Outcome: TypeAlias = Literal["ok", "failed", "stale"]


class Phase(enum.Enum):
    PENDING = "pending"  # created; on_response runs, nothing was sent yet
    RUNNING = "running"  # handed to the adapter; its reply is being applied
    FINISHED = "finished"  # the reply was applied (a follow-up may come next)
    FAILED = "failed"  # the adapter or the agent reported an error
    STOPPED = "stopped"  # stop(), unsubscribe(), a connection swap, a cancelled send
    SUPERSEDED = "superseded"  # reload() replaced its turn by a new one


_PENDING: Final = Phase.PENDING
_RUNNING: Final = Phase.RUNNING


class Request:
    """One request of a turn: its phase, abort signal, run context and what it did."""

    __slots__ = (
        "created",
        "done",
        "error",
        "interrupt",
        "phase",
        "run_context",
        "signal",
        "tool_answered",
        "tool_calls",
        "tool_tasks",
    )

    def __init__(self) -> None:
        self.phase = Phase.PENDING
        # What the request's awaits watch; the request is its own controller (see abort):
        # an AbortController per request would be one more object each live client holds.
        self.signal = AbortSignal()
        self.run_context: RunContext | None = None
        self.done: asyncio.Future[None] | None = None  # push adapters: processing complete
        self.error: BaseException | None = None
        # A KeyboardInterrupt / SystemExit a client tool raised: the turn re-raises it.
        self.interrupt: BaseException | None = None
        self.tool_answered = False  # a tool result / approval arrived while it ran
        # Client-tool tasks, and the ids of the calls the reply asked for: empty tuples
        # until a tool runs (see add_tool_call), not two empty lists per request.
        self.tool_tasks: Sequence[asyncio.Task[None]] = ()
        self.tool_calls: Sequence[str] = ()
        self.created: list[UIMessage] = []  # assistant messages this request created

    def abort(self) -> None:
        """Abort the request's signal (idempotent, thread-safe): what it awaits ends."""
        self.signal._abort(None)

    def add_tool_call(self, tool_call_id: str) -> None:
        """Note a client-tool call the reply asked for."""
        self.tool_calls = [*self.tool_calls, tool_call_id]

    def add_tool_task(self, task: asyncio.Task[None]) -> None:
        """Note the task running one of those calls."""
        self.tool_tasks = [*self.tool_tasks, task]

    def is_stale(self) -> bool:
        """Whether the request has ended, so anything still working for it must stop."""
        phase = self.phase
        return phase is not _RUNNING and phase is not _PENDING

    @property
    def stopped(self) -> bool:
        """Ended by ``stop()`` (its turn returns the partial reply), not superseded."""
        return self.phase is Phase.STOPPED

    def __repr__(self) -> str:
        return f"<Request {self.phase.value}>"


def resolve(future: asyncio.Future[None] | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
