"""The ``on_*`` callbacks: which exist (:class:`Callbacks`), how they are checked, and how
they run (:class:`CallbackRunner`). A callback may be sync or async. One that raises is
logged (logger ``chatconduit.client``) and the client carries on; an awaitable it
returns is queued and run in order by one helper task, which the stream waits for
(:meth:`CallbackRunner.flush`): a slow async ``on_chunk`` slows the stream, so render
from ``updates()`` instead.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Final, TypeAlias

from .._events import BaseEvent
from .._messages import UIMessage
from .._processor import ApprovalRequest, MessagesView, ToolCallRequest
from ._state import ChatConnectionStatus, ChatStatus

logger = logging.getLogger("chatconduit.client")

Callback: TypeAlias = Callable[..., object]
"""A callback may be a plain function or return an awaitable (``async def``)."""


@dataclass(frozen=True, slots=True)
class Callbacks:
    """A client's ``on_*`` callbacks. Frozen: ``update_options`` replaces the whole
    object, so every client without callbacks can share :data:`NO_CALLBACKS`."""

    on_chunk: Callable[[BaseEvent], object] | None = None
    on_response: Callable[[], object] | None = None
    on_finish: Callable[[UIMessage], object] | None = None
    on_error: Callable[[BaseException], object] | None = None
    on_messages_change: Callable[[MessagesView], object] | None = None
    on_status_change: Callable[[ChatStatus], object] | None = None
    on_loading_change: Callable[[bool], object] | None = None
    on_error_change: Callable[[BaseException | None], object] | None = None
    on_connection_status_change: Callable[[ChatConnectionStatus], object] | None = None
    on_session_generating_change: Callable[[bool], object] | None = None
    on_subscription_change: Callable[[bool], object] | None = None
    on_custom_event: Callable[[str, Any, str | None], object] | None = None
    on_tool_call: Callable[[ToolCallRequest], object] | None = None
    on_approval_request: Callable[[ApprovalRequest], object] | None = None


CALLBACK_NAMES: Final = frozenset(f.name for f in fields(Callbacks))
NO_CALLBACKS: Final = Callbacks()


def check_callables(named: Iterable[tuple[str, object]]) -> None:
    """Raise ``TypeError`` for the first ``(name, value)`` whose value is neither
    ``None`` nor callable."""
    for name, value in named:
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be callable, got {type(value).__name__}")


class CallbackRunner:
    """Runs user callbacks: exceptions are logged, awaitables queued in order."""

    __slots__ = ("drainer", "queue")

    def __init__(self) -> None:
        # Made by the first async callback: most clients have none, and the stream only
        # tests it for truth (``if calls.queue``) to know whether to flush.
        self.queue: deque[tuple[Callback, Awaitable[object]]] | None = None
        self.drainer: asyncio.Task[None] | None = None

    def emit(self, callback: Callback | None, *args: Any) -> None:
        """Run a user callback; an exception is logged, an awaitable is queued."""
        if callback is None:
            return
        try:
            result = callback(*args)
        except Exception as exc:
            _callback_failed(callback, exc)
            return
        if result is None or not inspect.isawaitable(result):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            close = getattr(result, "close", None)
            if callable(close):
                close()
            logger.warning(
                "async callback %s was called outside an event loop and did not run",
                _callback_name(callback),
            )
            return
        if self.queue is None:
            self.queue = deque()
        self.queue.append((callback, result))
        if self.drainer is None or self.drainer.done():
            self.drainer = loop.create_task(self._drain())

    async def _drain(self) -> None:
        queue = self.queue
        assert queue is not None  # emit() made it before starting the drainer
        while queue:
            callback, awaitable = queue.popleft()
            try:
                await awaitable
            except Exception as exc:
                _callback_failed(callback, exc)

    async def flush(self) -> None:
        """Wait until the queued async callbacks have run (backpressure for the stream)."""
        drainer = self.drainer
        if drainer is None or drainer.done() or asyncio.current_task() is drainer:
            return
        await asyncio.shield(drainer)


def _callback_failed(callback: Callback, exc: BaseException) -> None:
    logger.error(
        "ChatClient callback %s raised %s: %s (ignored; the client carries on)",
        _callback_name(callback),
        type(exc).__name__,
        exc,
        exc_info=exc,
    )


def _callback_name(callback: Callback) -> str:
    return str(getattr(callback, "__qualname__", None) or repr(callback))
