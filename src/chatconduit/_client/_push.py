"""``PushDriver``: requests through a push adapter (``subscribe`` + ``send``), as in the reference.

One subscription loop reads every event the server pushes (a generation number tells a
replaced loop to stop): replies to our requests, which resolve the request's ``done``
future at the run's end, and runs the server starts on its own while we are idle. The
end is a RUN_ERROR or a RUN_FINISHED, except the intermediate RUN_FINISHED of a server
agent loop (finish reason ``tool_calls`` while the client has nothing to do: see
``PushDriver._is_step_end``), after which the same response goes on. A
request only sends, then waits for that future. Events still arriving for a stopped
run are dropped (the discard set). The connection status is the subscription's.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Final

from .._connection._abort import AbortController, Aborted, AbortScope
from .._connection._iterables import close_iterator, to_async_iterator
from .._connection._protocols import SubscribeConnectionAdapter
from .._events import BaseEvent, EventType, coerce_event, is_intermediate_finish
from .._exceptions import StreamReadError
from .._messages import UIMessage
from .._processor._context import newest_tool_call
from ._conversation import Conversation
from ._interrupts import is_answered
from ._observable import ObservableState
from ._request import Request, resolve
from ._state import ChatConnectionStatus

_RUN_STARTED: Final = EventType.RUN_STARTED
_RUN_FINISHED: Final = EventType.RUN_FINISHED
_TERMINAL: Final = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})


class PushDriver:
    """Owns the subscription (task, controller, generation) and the discard set."""

    kind = "push"

    def __init__(
        self,
        adapter: SubscribeConnectionAdapter,
        conversation: Conversation,
        observable: ObservableState,
    ) -> None:
        self.adapter = adapter
        self._conversation = conversation
        self._observable = observable
        self._task: asyncio.Task[None] | None = None
        self._controller: AbortController | None = None
        self._generation = 0
        self._discard: set[str | None] | None = None  # run ids whose events are dropped
        # An agent-loop step ended (an intermediate RUN_FINISHED): its response goes on.
        self._continuing = False

    # ------------------------------------------------------------------ requests

    async def run(self, request: Request, messages: list[UIMessage], data: dict[str, Any]) -> None:
        self._discard = None  # a new request: stop dropping the old run's events
        self._continuing = False
        if self._task is None or self._task.done():
            self.subscribe(restart=True)
        request.done = asyncio.get_running_loop().create_future()
        signal = request.signal
        scope = AbortScope(signal)
        try:
            sent = self.adapter.send(messages, data, signal, request.run_context)
            if inspect.isawaitable(sent):
                await scope.run(sent)
            if not request.is_stale():
                await scope.run(request.done)
        except Aborted:
            pass
        finally:
            scope.close()

    def cancelled(self, request: Request) -> None:
        """Drop the rest of the cancelled request's run (and of any run still going)."""
        if request.run_context is None:
            return
        runs = self._conversation.processor.runs
        running = {run_id for run_id, info in runs.items() if info.status == "running"}
        self._discard = {request.run_context.run_id, *running}
        self._continuing = False

    def stopped(self) -> None:
        """The subscription outlives a stopped request: its status does not change."""

    # ------------------------------------------------------------------ the subscription

    def subscribe(self, *, restart: bool = False) -> None:
        live = self._task is not None and not self._task.done()
        if live and not restart:
            return
        self.abort()
        self._generation += 1
        controller = AbortController()
        self._controller = controller
        self._observable.set_subscribed(True)
        self._observable.set_connection(ChatConnectionStatus.CONNECTING)
        self._task = asyncio.get_running_loop().create_task(
            self._loop(self._generation, controller)
        )

    def abort(self) -> asyncio.Task[None] | None:
        """Stop the subscription loop; returns its task, for a closer to wait on."""
        task = self._task
        controller, self._controller = self._controller, None
        self._task = None
        self._generation += 1
        if controller is not None:
            controller.abort()
        return task

    async def _loop(self, generation: int, controller: AbortController) -> None:
        scope = AbortScope(controller.signal)
        failure: Exception | None = None
        try:
            await scope.run(self._consume(generation, controller))
        except Aborted:
            return
        except Exception as exc:
            failure = exc
        finally:
            scope.close()
        if generation != self._generation:
            return  # replaced or unsubscribed meanwhile
        self._task = None
        self._controller = None
        observable = self._observable
        observable.set_subscribed(False)
        observable.clear_runs()
        request = self._conversation.request
        waiting = request.done if request is not None else None
        if failure is not None:
            observable.set_connection(ChatConnectionStatus.ERROR)
            if waiting is not None:
                resolve(waiting, failure)
            else:
                observable.fail(failure)
        else:
            observable.set_connection(ChatConnectionStatus.DISCONNECTED)
            if waiting is not None:
                resolve(waiting, StreamReadError("the subscription ended before the run finished"))

    async def _consume(self, generation: int, controller: AbortController) -> None:
        signal = controller.signal
        conversation = self._conversation
        observable = self._observable
        calls = observable.calls
        iterator = await to_async_iterator(self.adapter.subscribe(signal), "subscribe()")
        try:
            async for chunk in iterator:
                if generation != self._generation or signal.aborted:
                    return
                event = chunk if isinstance(chunk, BaseEvent) else coerce_event(chunk)
                if observable.connection is ChatConnectionStatus.CONNECTING:
                    observable.set_connection(ChatConnectionStatus.CONNECTED)
                if self._discard is not None and self._drops(event):
                    continue
                kind = event.type
                if kind == _RUN_STARTED:
                    if (
                        conversation.request is None
                        and not self._continuing
                        and not conversation.running_runs()
                    ):
                        conversation.processor.prepare_assistant_message()  # server-pushed
                    self._continuing = False
                conversation.on_event(event)
                if kind in _TERMINAL:
                    if kind == _RUN_FINISHED and self._is_step_end(event):
                        self._continuing = True  # the response goes on: not the end
                    else:
                        self._continuing = False
                        self._after_terminal()
                if calls.queue:
                    await calls.flush()
        finally:
            await close_iterator(iterator)

    def _is_step_end(self, event: BaseEvent) -> bool:
        """Whether a RUN_FINISHED only ends one step of a server agent loop (finish reason
        ``tool_calls``, no interrupt) that the server goes on with by itself: server tools
        (TanStack 0.58, our server). When the client has something to do, a client tool
        call (a 0.10 ``tool-input-available``, a call to a declared client tool) or an
        approval, the server waits for the client's follow-up: the request ends there."""
        return is_intermediate_finish(event) and not self._client_has_work()

    def _client_has_work(self) -> bool:
        conversation = self._conversation
        request = conversation.request
        if request is not None and request.tool_calls:
            return True  # client tool calls this request's reply asked for
        if conversation.interrupted is not None:
            return True
        processor = conversation.processor
        tools = conversation.declared_tools
        messages = processor.messages
        for tool_call_id, call in processor.tool_calls.items():
            found = newest_tool_call(messages, tool_call_id)
            if found is None:
                continue
            message, part = found
            approval = part.approval
            if approval is not None:
                if approval.approved is None:
                    return True  # an approval the user still owes
                continue
            if call.name in tools and not is_answered(message, part):
                return True  # plain AG-UI: a call to a declared client tool
        return False

    def _drops(self, event: BaseEvent) -> bool:
        """Whether a pushed event belongs to a stopped run (and is dropped)."""
        discard = self._discard
        assert discard is not None
        run_id = event.__dict__.get("run_id")
        if event.type == _RUN_STARTED and run_id not in discard:
            self._discard = None  # another run begins
            return False
        if (
            event.type in _TERMINAL
            and (run_id in discard or run_id is None)
            and not is_intermediate_finish(event)  # a loop step: the run may go on
        ):
            self._discard = None  # the stopped run's end: drop it, then stop dropping
        return True

    def _after_terminal(self) -> None:
        conversation = self._conversation
        if conversation.running_runs():
            return
        request = conversation.request
        if request is not None:
            resolve(request.done)
            return
        # A run the server pushed while we were idle has ended.
        processor = conversation.processor
        if processor.has_error:
            error = processor.error
            assert error is not None
            self._observable.fail(error)
            return
        processor.finalize_stream()
        finished, conversation.finished = conversation.finished, None
        if finished is not None:
            self._observable.finished(finished)
