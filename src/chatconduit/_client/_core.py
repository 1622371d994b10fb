"""``ClientCore``: the state a ``ChatClient`` keeps and the machinery every path shares.

What is here: the internal state (``__init__``), the snapshots behind ``updates()``,
the observable setters (each change notifies its callback once), the processor's
callbacks, client-tool execution, ``_on_event`` (everything one event does, in both
adapter modes: the hot path) and cancelling a request. The turn runner
(``_turns.py``), the push subscription (``_push.py``) and the public class
(``_chat_client.py``) build on it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._connection._abort import AbortController
from .._connection._normalize import ConnectAdapterWrapper, normalize_connection_adapter
from .._connection._protocols import ConnectConnectionAdapter, SubscribeConnectionAdapter
from .._events import BaseEvent, EventType
from .._exceptions import ClientClosedError
from .._messages import UIMessage
from .._processor import ApprovalRequest, MessagesView, StreamProcessor, ToolCallRequest
from .._processor._strategies import ChunkStrategy
from ._callbacks import Callback, CallbackRunner, Callbacks
from ._request import Request, resolve
from ._state import (
    ChatConnectionStatus,
    ChatSnapshot,
    ChatStatus,
    Lifecycle,
    MessageFreezer,
    Trigger,
    UpdateHub,
)
from ._tools import Tool, run_tool

logger = logging.getLogger("chatconduit.client")

_RUN_STARTED: Final = EventType.RUN_STARTED
_RUN_EVENTS: Final = frozenset({EventType.RUN_STARTED, EventType.RUN_FINISHED, EventType.RUN_ERROR})
_STRUCTURAL_WEIGHT: Final = 32  # "characters" an event without text counts for (UpdateHub)


def _text_weight(event: BaseEvent) -> int:
    """Roughly how much text an event adds (for the snapshot budget of UpdateHub)."""
    value = event.__dict__.get("delta")
    if isinstance(value, str) and value:
        return len(value)
    value = event.__dict__.get("content")
    if isinstance(value, str):
        return len(value)
    return _STRUCTURAL_WEIGHT


class ClientCore:
    """The shared state and machinery of :class:`~chatconduit.ChatClient`."""

    # Options: set by ChatClient.__init__ before it calls this __init__, changed by
    # update_options.
    _pull: ConnectConnectionAdapter | None
    _push: SubscribeConnectionAdapter | None
    _id: str
    _thread_id: str
    _body: dict[str, Any]
    _forwarded_props: dict[str, Any]
    _per_message_body: dict[str, Any] | None
    _tools: dict[str, Tool]
    _raise_on_error: bool
    _cb: Callbacks

    if TYPE_CHECKING:  # defined by the subclasses that use them

        def stop(self) -> None: ...

        def subscribe(self, *, restart: bool = False) -> None: ...

        def _ensure_subscription(self) -> None: ...

        async def _continue_if_ready(self, raise_on_error: bool | None) -> UIMessage | None: ...

    def __init__(
        self,
        initial_messages: Iterable[UIMessage | Mapping[str, Any]] | None,
        chunk_strategy: ChunkStrategy | None,
    ) -> None:
        self._processor = StreamProcessor(
            initial_messages=initial_messages,
            chunk_strategy=chunk_strategy,
            on_messages_change=self._on_messages_change,
            on_stream_start=self._on_stream_start,
            on_stream_end=self._on_stream_end,
            on_tool_call=self._on_tool_call,
            on_approval_request=self._on_approval_request,
            on_custom_event=self._on_custom_event,
            on_state_change=self._on_state_change,
        )
        self._lifecycle = Lifecycle()
        self._error: BaseException | None = None
        self._connection_status = ChatConnectionStatus.DISCONNECTED
        self._current: Request | None = None  # set exactly while loading
        self._in_event = False  # inside processor.process (a change caused by the reply)
        self._deferred: list[Callable[[], None]] = []  # to run once processor.process returns
        self._cancels = 0  # requests cancelled so far (stop / reload / unsubscribe / swap)
        self._turn_changed = False  # the reply changed the messages during this turn
        self._finished: UIMessage | None = None  # what on_stream_end reported
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._idle_tool_tasks: set[asyncio.Task[None]] = set()  # tools of server-pushed runs
        self._closed = False
        # Push subscription.
        self._subscribed = False
        self._sub_task: asyncio.Task[None] | None = None
        self._sub_controller: AbortController | None = None
        self._sub_generation = 0
        self._discard: set[str | None] | None = None  # run ids whose events are dropped
        # Runs seen on the connection (sessionGenerating).
        self._session_runs: set[str | None] = set()
        self._generating = False
        # User callbacks (async ones run in order by one helper task).
        self._calls = CallbackRunner()
        # Snapshots.
        self._freezer = MessageFreezer()
        self._state_version = 0
        self._state_copy: tuple[int, Any] = (0, None)
        self._hub = UpdateHub(self._build_snapshot)

    # ------------------------------------------------------------------ snapshots

    def _build_snapshot(self, version: int) -> tuple[ChatSnapshot, int]:
        messages, cost = self._freezer.freeze(self._processor.messages)
        if self._state_copy[0] != self._state_version:
            self._state_copy = (self._state_version, copy.deepcopy(self._processor.state))
        snapshot = ChatSnapshot(
            version=version,
            messages=messages,
            status=self._lifecycle.status,
            error=self._error,
            connection_status=self._connection_status,
            session_generating=self._generating,
            state=self._state_copy[1],
        )
        return snapshot, cost

    # ------------------------------------------------------------------ connection

    def _install(self, connection: object) -> None:
        normalized = normalize_connection_adapter(connection)
        if isinstance(normalized, ConnectAdapterWrapper):
            # Pull adapters are consumed directly by each request (no shared queue).
            self._pull, self._push = normalized.adapter, None
        else:
            self._pull, self._push = None, normalized

    # ------------------------------------------------------------------ observable setters

    def _transition(self, trigger: Trigger) -> None:
        before, after = self._lifecycle.fire(trigger)
        if before is after:
            return
        self._hub.changed(urgent=True)
        was_loading = before in (ChatStatus.SUBMITTED, ChatStatus.STREAMING)
        loading = after in (ChatStatus.SUBMITTED, ChatStatus.STREAMING)
        if loading and not was_loading:
            self._calls.emit(self._cb.on_loading_change, True)
        self._calls.emit(self._cb.on_status_change, after)
        if was_loading and not loading:
            self._calls.emit(self._cb.on_loading_change, False)
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                resolve(waiter)

    def _notify(self, callback: Callback | None, value: object) -> None:
        """After an observable value changed: a snapshot at once, then its callback."""
        self._hub.changed(urgent=True)
        self._calls.emit(callback, value)

    def _set_error(self, error: BaseException | None) -> None:
        if error is not self._error:
            self._error = error
            self._notify(self._cb.on_error_change, error)

    def _set_connection(self, status: ChatConnectionStatus) -> None:
        if status is not self._connection_status:
            self._connection_status = status
            self._notify(self._cb.on_connection_status_change, status)

    def _set_generating(self, value: bool) -> None:
        if value is not self._generating:
            self._generating = value
            self._notify(self._cb.on_session_generating_change, value)

    def _set_subscribed(self, value: bool) -> None:
        if value is self._subscribed:
            return
        self._subscribed = value
        self._calls.emit(self._cb.on_subscription_change, value)

    def _clear_runs(self) -> None:
        self._session_runs.clear()
        self._set_generating(False)

    # ------------------------------------------------------------------ processor callbacks

    def _on_messages_change(self, view: MessagesView) -> None:
        if self._current is not None:
            self._turn_changed = True
            if self._in_event and self._lifecycle.status is ChatStatus.SUBMITTED:
                self._transition(Trigger.RECEIVE)
        self._hub.changed()
        callback = self._cb.on_messages_change
        if callback is not None:
            self._calls.emit(callback, view)

    def _on_stream_start(self, message: UIMessage) -> None:
        if self._current is not None and message.role == "assistant":
            self._current.created.append(message)

    def _on_stream_end(self, message: UIMessage) -> None:
        self._finished = message

    def _on_state_change(self, state: Any) -> None:
        self._state_version += 1
        self._hub.changed()

    def _on_custom_event(self, name: str, value: Any, tool_call_id: str | None) -> None:
        self._calls.emit(self._cb.on_custom_event, name, value, tool_call_id)

    def _on_approval_request(self, request: ApprovalRequest) -> None:
        self._calls.emit(self._cb.on_approval_request, request)

    def _on_tool_call(self, request: ToolCallRequest) -> None:
        self._calls.emit(self._cb.on_tool_call, request)
        name = request.tool_name
        found = self._tools.get(name) if isinstance(name, str) else None
        if found is None or found.execute is None or not isinstance(request.tool_call_id, str):
            return  # the application answers it with add_tool_result()
        loop = asyncio.get_running_loop()
        owner = self._current
        task = loop.create_task(self._execute_tool(found, request.tool_call_id, request, owner))
        if owner is not None:
            owner.tool_tasks.append(task)
        else:
            self._idle_tool_tasks.add(task)
            task.add_done_callback(self._idle_tool_tasks.discard)

    async def _execute_tool(
        self, found: Tool, tool_call_id: str, request: ToolCallRequest, owner: Request | None
    ) -> None:
        outcome = await run_tool(found, request.input)
        if self._closed or (owner is not None and owner is not self._current):
            return  # the request was stopped or failed meanwhile: drop the result
        self._processor.add_tool_result(tool_call_id, outcome.output, outcome.error)
        if owner is not None:
            owner.tool_answered = True
        elif self._current is not None:
            self._current.tool_answered = True
        else:
            await self._continue_if_ready(None)

    # ------------------------------------------------------------------ events

    def _on_event(self, event: BaseEvent) -> None:
        """Everything that happens for one event, in both adapter modes (the hot path)."""
        callback = self._cb.on_chunk
        if callback is not None:
            cancels = self._cancels
            self._calls.emit(callback, event)
            if self._cancels != cancels:
                return  # on_chunk stopped the request: this event is not applied
        hub = self._hub
        if hub.has_subscribers:
            hub.growth += _text_weight(event)
        self._in_event = True
        try:
            self._processor.process(event)
        finally:
            self._in_event = False
            if self._deferred:
                deferred, self._deferred = self._deferred, []
                for action in deferred:
                    action()
        kind = event.type
        if kind in _RUN_EVENTS:
            run_id: str | None = event.__dict__.get("run_id")
            if kind == _RUN_STARTED:
                self._session_runs.add(run_id)
                self._set_generating(True)
            else:
                if run_id in self._session_runs:
                    self._session_runs.discard(run_id)
                elif kind == EventType.RUN_ERROR and run_id is None:
                    self._session_runs.clear()
                self._set_generating(bool(self._session_runs))

    def _running_runs(self) -> bool:
        return any(info.status == "running" for info in self._processor.runs.values())

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this ChatClient was closed; create a new one")

    # ------------------------------------------------------------------ cancelling a request

    def _cancel_request(self, request: Request, *, stopped: bool) -> None:
        self._current = None
        self._cancels += 1
        request.stopped = stopped
        request.controller.abort()
        self._cancel_tools(request)
        resolve(request.done)
        if self._push is not None and request.run_context is not None:
            runs = {
                run_id for run_id, info in self._processor.runs.items() if info.status == "running"
            }
            self._discard = {request.run_context.run_id, *runs}

        def forget() -> None:
            # Forget the interrupted stream (active messages, runs): the partial reply
            # stays, but nothing treats it as still being generated; an empty one goes.
            self._drop_empty_replies(request)
            self._processor.prepare_assistant_message()

        if self._in_event:
            # stop() from a callback inside processor.process(): the processor must not
            # be reset under its own feet; do it once the event is applied.
            self._deferred.append(forget)
        else:
            forget()

    @staticmethod
    def _cancel_tools(request: Request) -> None:
        for task in request.tool_tasks:
            task.cancel()

    def _drop_empty_replies(self, request: Request) -> None:
        """Remove assistant messages this request created that ended without any part."""
        empty = [m for m in request.created if not m.parts]
        if not empty:
            return
        request.created = [m for m in request.created if m.parts]
        keep = [m for m in self._processor.messages if not any(m is e for e in empty)]
        if len(keep) != len(self._processor.messages):
            self._processor.set_messages(keep)
