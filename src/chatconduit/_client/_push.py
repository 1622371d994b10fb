"""``PushSubscription``: the subscription loop of a push adapter (``subscribe`` + ``send``).

One loop per subscription (``_sub_generation`` tells a replaced loop to stop) reads
every event the server pushes: replies to our requests, which resolve the request's
``done`` future at the run's end, and runs the server starts on its own while we are
idle. Events of a stopped run are dropped (``_drops``).
"""

from __future__ import annotations

from typing import Final

from .._connection._abort import AbortController, Aborted, AbortScope
from .._connection._iterables import close_iterator, to_async_iterator
from .._connection._protocols import SubscribeConnectionAdapter
from .._events import BaseEvent, EventType, coerce_event
from .._exceptions import StreamReadError
from ._core import ClientCore
from ._request import resolve
from ._state import ChatConnectionStatus, Trigger, freeze_message

_RUN_STARTED: Final = EventType.RUN_STARTED
_TERMINAL: Final = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})


class PushSubscription(ClientCore):
    """The push adapter's subscription loop (``subscribe()`` is public, on ChatClient)."""

    def _abort_subscription(self) -> None:
        controller, self._sub_controller = self._sub_controller, None
        self._sub_task = None
        self._sub_generation += 1
        if controller is not None:
            controller.abort()

    def _ensure_subscription(self) -> None:
        if self._sub_task is None or self._sub_task.done():
            self.subscribe(restart=True)

    async def _subscription_loop(
        self, push: SubscribeConnectionAdapter, generation: int, controller: AbortController
    ) -> None:
        scope = AbortScope(controller.signal)
        failure: Exception | None = None
        try:
            await scope.run(self._consume_subscription(push, generation, controller))
        except Aborted:
            return
        except Exception as exc:
            failure = exc
        finally:
            scope.close()
        if generation != self._sub_generation:
            return  # replaced or unsubscribed meanwhile
        self._sub_task = None
        self._sub_controller = None
        self._set_subscribed(False)
        self._clear_runs()
        request = self._current
        if failure is not None:
            self._set_connection(ChatConnectionStatus.ERROR)
            if request is not None and request.done is not None:
                resolve(request.done, failure)
            else:
                self._set_error(failure)
                self._transition(Trigger.FAIL)
                self._calls.emit(self._cb.on_error, failure)
        else:
            self._set_connection(ChatConnectionStatus.DISCONNECTED)
            if request is not None and request.done is not None:
                resolve(
                    request.done,
                    StreamReadError("the subscription ended before the run finished"),
                )

    async def _consume_subscription(
        self, push: SubscribeConnectionAdapter, generation: int, controller: AbortController
    ) -> None:
        signal = controller.signal
        iterator = await to_async_iterator(push.subscribe(signal), "subscribe()")
        try:
            async for chunk in iterator:
                if generation != self._sub_generation or signal.aborted:
                    return
                event = chunk if isinstance(chunk, BaseEvent) else coerce_event(chunk)
                if self._connection_status is ChatConnectionStatus.CONNECTING:
                    self._set_connection(ChatConnectionStatus.CONNECTED)
                if self._discard is not None and self._drops(event):
                    continue
                if (
                    self._current is None
                    and event.type == _RUN_STARTED
                    and not self._running_runs()
                ):
                    self._processor.prepare_assistant_message()  # a server-pushed run
                self._on_event(event)
                if event.type in _TERMINAL:
                    self._after_push_terminal()
                if self._calls.queue:
                    await self._calls.flush()
        finally:
            await close_iterator(iterator)

    def _drops(self, event: BaseEvent) -> bool:
        """Whether a pushed event belongs to a stopped run (and is dropped)."""
        discard = self._discard
        assert discard is not None
        run_id = event.__dict__.get("run_id")
        if event.type == _RUN_STARTED and run_id not in discard:
            self._discard = None  # another run begins
            return False
        if event.type in _TERMINAL and (run_id in discard or run_id is None):
            self._discard = None  # the stopped run's end: drop it, then stop dropping
        return True

    def _after_push_terminal(self) -> None:
        if self._running_runs():
            return
        request = self._current
        if request is not None:
            resolve(request.done)
            return
        # A run the server pushed while we were idle has ended.
        if self._processor.has_error:
            error = self._processor.error
            assert error is not None
            self._set_error(error)
            self._transition(Trigger.FAIL)
            self._calls.emit(self._cb.on_error, error)
            return
        self._processor.finalize_stream()
        finished, self._finished = self._finished, None
        if finished is not None:
            self._calls.emit(self._cb.on_finish, freeze_message(finished))
