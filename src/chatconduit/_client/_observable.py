"""``ObservableState``: the values of a chat client that the application watches, and the
only way they change. ``status`` moves through the lifecycle table; ``error``,
``connection``, ``generating`` (sessionGenerating) and ``subscribed`` change through
setters that notify only on an actual change. A change that snapshots show marks the
``UpdateHub`` at once (so ``updates()`` iterators wake), then the matching ``on_*``
callback runs through the ``CallbackRunner`` (sync or async; an exception is logged and
the client carries on: a bug in UI code must not corrupt the conversation).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from .._events import EventType
from .._messages import UIMessage
from ._callbacks import Callback, CallbackRunner, Callbacks
from ._freezing import freeze_message
from ._request import resolve
from ._state import (
    ChatConnectionStatus,
    ChatSnapshot,
    ChatStatus,
    Lifecycle,
    Trigger,
    UpdateHub,
    is_loading,
)

_RUN_STARTED: Final = EventType.RUN_STARTED
_RUN_ERROR: Final = EventType.RUN_ERROR


class ObservableState:
    """Status, error, connection status, session generating, subscribed; and who hears of it."""

    def __init__(self, callbacks: Callbacks, hub: UpdateHub) -> None:
        self.callbacks = callbacks  # replaced as a whole by update_options (frozen)
        self.calls = CallbackRunner()
        self.hub = hub
        self.lifecycle = Lifecycle()
        self.error: BaseException | None = None
        self.connection = ChatConnectionStatus.DISCONNECTED
        self.generating = False
        self.subscribed = False
        # Runs seen on the connection and not ended, as dict keys: a dict of strings is not
        # tracked by the garbage collector (a set always is), and every live client has one.
        self._runs: dict[str | None, None] = {}
        self._idle_waiters: list[asyncio.Future[None]] | None = None  # made when one waits

    @property
    def status(self) -> ChatStatus:
        return self.lifecycle.status

    @property
    def is_loading(self) -> bool:
        return self.lifecycle.is_loading

    # ------------------------------------------------------------------ status

    def transition(self, trigger: Trigger) -> None:
        before, after = self.lifecycle.fire(trigger)
        if before is after:
            return
        self.hub.changed(urgent=True)
        was_loading, loading = is_loading(before), is_loading(after)
        if loading and not was_loading:
            self.calls.emit(self.callbacks.on_loading_change, True)
        self.calls.emit(self.callbacks.on_status_change, after)
        if was_loading and not loading:
            self.hub.turn_end_version = self.hub.version  # updates(until_turn_end=True)
            self.calls.emit(self.callbacks.on_loading_change, False)
            self.release_waiters()

    async def until_idle(self) -> None:
        """Wait for the running turn to end (or for the client to close)."""
        waiter = asyncio.get_running_loop().create_future()
        if self._idle_waiters is None:
            self._idle_waiters = [waiter]
        else:
            self._idle_waiters.append(waiter)
        await waiter

    def release_waiters(self) -> None:
        # Every turn ends here: no new list each time, none while nobody waits.
        waiters, self._idle_waiters = self._idle_waiters or (), None
        for waiter in waiters:
            resolve(waiter)

    def fail(self, error: BaseException) -> None:
        """A turn (or, while idle, the connection) failed: ``error``, ``on_error``."""
        self.set_error(error)
        self.transition(Trigger.FAIL)
        self.calls.emit(self.callbacks.on_error, error)

    def finished(self, message: UIMessage) -> None:
        """A reply completed: ``on_finish`` gets a copy it may keep."""
        on_finish = self.callbacks.on_finish
        if on_finish is not None:  # the copy costs four model copies: only for a taker
            self.calls.emit(on_finish, freeze_message(message))

    # ------------------------------------------------------------------ the other values

    def _notify(self, callback: Callback | None, value: object) -> None:
        """After an observable value changed: a snapshot at once, then its callback."""
        self.hub.changed(urgent=True)
        self.calls.emit(callback, value)

    def set_error(self, error: BaseException | None) -> None:
        if error is not self.error:
            self.error = error
            self._notify(self.callbacks.on_error_change, error)

    def set_connection(self, status: ChatConnectionStatus) -> None:
        if status is not self.connection:
            self.connection = status
            self._notify(self.callbacks.on_connection_status_change, status)

    def set_generating(self, value: bool) -> None:
        if value is not self.generating:
            self.generating = value
            self._notify(self.callbacks.on_session_generating_change, value)

    def set_subscribed(self, value: bool) -> None:
        if value is self.subscribed:
            return
        self.subscribed = value
        self.calls.emit(self.callbacks.on_subscription_change, value)

    def run_event(self, kind: str, run_id: str | None) -> None:
        """A RUN_STARTED / RUN_FINISHED / RUN_ERROR went by: update ``generating``."""
        runs = self._runs
        if kind == _RUN_STARTED:
            runs[run_id] = None
            self.set_generating(True)
            return
        if run_id in runs:
            del runs[run_id]
        elif kind == _RUN_ERROR and run_id is None:
            runs.clear()  # a RUN_ERROR naming no run ends them all
        self.set_generating(bool(runs))

    def clear_runs(self) -> None:
        self._runs.clear()
        self.set_generating(False)

    def snapshot(self, version: int, messages: tuple[UIMessage, ...], state: Any) -> ChatSnapshot:
        """A :class:`ChatSnapshot` of these (frozen) messages and state, and of the status now."""
        return ChatSnapshot(
            version=version,
            messages=messages,
            status=self.status,
            error=self.error,
            connection_status=self.connection,
            session_generating=self.generating,
            state=state,
        )
