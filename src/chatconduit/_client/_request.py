"""One request of a turn, and the small rules about how it ends."""

from __future__ import annotations

import asyncio
from typing import Literal, TypeAlias

from .._connection._abort import AbortController
from .._connection._protocols import RunContext
from .._exceptions import HTTPStatusError, ProtocolError, TransportError
from .._messages import UIMessage

Outcome: TypeAlias = Literal["ok", "failed", "stale"]


class Request:
    """One request of a turn (the first, or a follow-up after client tools)."""

    __slots__ = (
        "controller",
        "created",
        "done",
        "error",
        "run_context",
        "stopped",
        "tool_answered",
        "tool_tasks",
    )

    def __init__(self) -> None:
        self.controller = AbortController()
        self.run_context: RunContext | None = None
        self.done: asyncio.Future[None] | None = None  # push adapters: processing complete
        self.error: BaseException | None = None
        self.stopped = False  # stop() (as opposed to being superseded by reload())
        self.tool_answered = False  # a tool result / approval arrived while it ran
        self.tool_tasks: list[asyncio.Task[None]] = []
        self.created: list[UIMessage] = []  # assistant messages this request created


def resolve(future: asyncio.Future[None] | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def is_transport_failure(error: BaseException) -> bool:
    """Whether an error means the connection itself failed (vs. the agent reporting one)."""
    return isinstance(error, TransportError | HTTPStatusError | ProtocolError) or not isinstance(
        error, Exception
    )
