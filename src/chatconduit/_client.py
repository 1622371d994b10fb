"""``ChatClient``: the Python ``useChat`` (the reference's ``ChatClient``, SPEC §5).

It owns a conversation (a :class:`~chatconduit._processor.StreamProcessor`), sends it
through a connection adapter, feeds the reply's events back into the processor, runs
client tools and sends their follow-up requests, and reports what happens through
callbacks, properties and an async iterator of snapshots (:meth:`ChatClient.updates`).

How it is built, and where it deliberately differs from the reference
--------------------------------------------------------------------

* **One state machine.** ``status`` is a single value changed only through the
  transition table of ``_client_state`` (``is_loading`` is derived from it). The
  reference's interacting flags produce impossible combinations (``submitted`` with
  nothing loading, ``streaming`` after a removed reply); here every turn ends in
  ``ready`` or ``error``.
* **A turn is one await.** ``send_message`` (and ``append``, ``reload``, a tool answer
  while idle) returns when the reply has been *processed*, including client tools and
  their automatic follow-up requests, and returns the final assistant message. Pull
  adapters (``connect``) are consumed directly by the request, so there is no queue
  between reading and processing and no race where the call returns before the last
  events are applied (SPEC 5.3, "Race"). Push adapters (``subscribe`` + ``send``) use
  a subscription loop, as in the reference.
* **Loading spans the whole turn.** A client-tool follow-up continues the same turn
  (``streaming → submitted → streaming``): ``on_loading_change`` fires ``True`` once
  and ``False`` once per turn, instead of flickering between the requests.
* **Errors.** Reported once per request through ``on_error``, kept in ``error``,
  status ``error``; ``send_message`` raises it only with ``raise_on_error=True``.
  No empty assistant message is ever left behind (not after an HTTP error, a
  RUN_ERROR, a stop, or an empty reply), and the partial reply is kept.
* **stop()** cancels the request (the HTTP response is closed, so the server sees the
  disconnect), cancels running client tools (their results are discarded), keeps the
  partial reply, and leaves status ``ready`` with no run marked as generating. With a
  push adapter, events still arriving for the stopped run are dropped.
* **One finish per request.** ``on_finish`` fires once for each request that completed
  with an assistant reply (the processor finalizes once per response).
* **Callbacks** may be sync or async. A callback that raises is logged (logger
  ``chatconduit.client``) and the client carries on: a bug in UI code must not
  corrupt the conversation. Async callbacks run in order on a helper task; the
  stream waits for them, so a slow async ``on_chunk`` slows the stream (use
  :meth:`updates` for rendering instead). Setters notify only on an actual change.
* **Connection status** for pull adapters describes each request (``connecting`` →
  ``connected`` → ``disconnected`` / ``error``) rather than a subscription that
  stays ``connected`` forever.

Not thread-safe: use one client from one event loop (``SyncChatClient`` wraps one
for blocking code and other threads).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias, cast

from pydantic import BaseModel

from ._client_state import (
    ChatConnectionStatus,
    ChatSnapshot,
    ChatStatus,
    Lifecycle,
    MessageFreezer,
    Trigger,
    UpdateHub,
    Updates,
    freeze_message,
)
from ._client_tools import (
    Tool,
    ToolInput,
    UnknownApprovalError,
    UnknownToolCallError,
    coerce_tools,
    run_tool,
)
from ._connection._abort import AbortController, Aborted, AbortScope
from ._connection._iterables import close_iterator, to_async_iterator
from ._connection._normalize import ConnectAdapterWrapper, normalize_connection_adapter
from ._connection._protocols import (
    ConnectConnectionAdapter,
    RunContext,
    SubscribeConnectionAdapter,
)
from ._events import BaseEvent, EventType, coerce_event
from ._exceptions import (
    ClientClosedError,
    HTTPStatusError,
    ProtocolError,
    StreamReadError,
    TransportError,
)
from ._ids import generate_id
from ._messages import (
    AudioPart,
    DocumentPart,
    ImagePart,
    MessagePart,
    ModelMessage,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    VideoPart,
    message_from_dict,
    model_message_from_dict,
    part_from_dict,
)
from ._processor import ApprovalRequest, MessagesView, StreamProcessor, ToolCallRequest
from ._strategies import ChunkStrategy
from ._text import JS_WHITESPACE as _JS_WHITESPACE  # the reference trims user text
from ._wire import generate_run_id

__all__ = ["ChatClient", "ClientClosedError"]

logger = logging.getLogger("chatconduit.client")

_RUN_STARTED: Final = EventType.RUN_STARTED
_TERMINAL: Final = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})
_RUN_EVENTS: Final = frozenset({EventType.RUN_STARTED, *_TERMINAL})
_STRUCTURAL_WEIGHT: Final = 32  # "characters" an event without text counts for (UpdateHub)

PartInput: TypeAlias = BaseModel | Mapping[str, Any]
MessageInput: TypeAlias = UIMessage | ModelMessage | Mapping[str, Any]
Callback: TypeAlias = Callable[..., object]
"""A callback may be a plain function or return an awaitable (``async def``)."""


class _Unset:
    """Marks an ``update_options`` argument that was not given."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


@dataclass(slots=True)
class _Callbacks:
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


_CALLBACK_NAMES: Final = frozenset(f.name for f in fields(_Callbacks))


Outcome: TypeAlias = Literal["ok", "failed", "stale"]


class _Request:
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


def _now() -> datetime:
    return datetime.now(UTC)


def _resolve(future: asyncio.Future[None] | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _text_weight(event: BaseEvent) -> int:
    """Roughly how much text an event adds (for the snapshot budget of UpdateHub)."""
    value = event.__dict__.get("delta")
    if isinstance(value, str) and value:
        return len(value)
    value = event.__dict__.get("content")
    if isinstance(value, str):
        return len(value)
    return _STRUCTURAL_WEIGHT


def _to_ui_message(message: MessageInput, where: str) -> UIMessage:
    """``append``'s input as a UIMessage (SPEC 5.5): UIMessages keep their id; a
    ModelMessage (``role`` + ``content``, no ``parts``) becomes text / tool-call parts."""
    if isinstance(message, UIMessage):
        ui = message
    elif isinstance(message, ModelMessage) or (
        isinstance(message, Mapping) and "parts" not in message and "content" in message
    ):
        model = (
            message
            if isinstance(message, ModelMessage)
            else model_message_from_dict(message, where=where)
        )
        if model.role == "tool":
            raise ValueError(
                f"{where}: a tool message cannot be appended; answer the tool call with "
                "add_tool_result()"
            )
        parts: list[Any] = []
        content = model.content
        if isinstance(content, str):
            if content:
                parts.append(TextPart(content=content))
        elif content is not None:
            parts.extend(p.model_copy() for p in content)
        for call in model.tool_calls or ():
            parts.append(
                ToolCallPart(
                    id=call.id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                    state="input-complete",
                )
            )
        extra_id = (model.__pydantic_extra__ or {}).get("id")
        ui = UIMessage(
            id=extra_id if isinstance(extra_id, str) else generate_id("msg"),
            role=model.role,
            parts=parts,
            created_at=_now(),
        )
        return ui
    elif isinstance(message, Mapping):
        data = dict(message)
        if not isinstance(data.get("id"), str):
            data["id"] = generate_id("msg")
        ui = message_from_dict(data, where=where)
    else:
        raise TypeError(
            f"{where}: expected a UIMessage, a ModelMessage or a dict, got {type(message).__name__}"
        )
    if ui.created_at is None:
        ui = ui.model_copy(update={"created_at": _now()})
    return ui


_PART_CLASSES: Final = (
    TextPart,
    ImagePart,
    AudioPart,
    VideoPart,
    DocumentPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)


def _coerce_parts(parts: Iterable[PartInput], where: str) -> list[MessagePart]:
    out: list[MessagePart] = []
    for i, part in enumerate(parts):
        if isinstance(part, _PART_CLASSES):
            out.append(part)
        elif isinstance(part, Mapping):
            out.append(part_from_dict(part, where=f"{where}[{i}]"))
        else:
            raise TypeError(
                f"{where}[{i}]: expected a message part or a dict, got {type(part).__name__}"
            )
    return out


def _is_transport_failure(error: BaseException) -> bool:
    """Whether an error means the connection itself failed (vs. the agent reporting one)."""
    return isinstance(error, TransportError | HTTPStatusError | ProtocolError) or not isinstance(
        error, Exception
    )


class ChatClient:
    """A headless chat client: send messages, get streamed replies as UIMessages.

    ::

        client = ChatClient(fetch_server_sent_events("https://example.com/api/chat"))
        reply = await client.send_message("Hello")
        print(reply.parts[0].content if reply else client.error)

    ``connection`` is a pull adapter (``connect``, e.g. ``fetch_server_sent_events``,
    ``fetch_http_stream``, ``stream(fn)``), a push adapter (``subscribe`` + ``send``),
    or a mapping with those keys. See the module docstring for the behaviour and
    ``docs/client.md`` for a guide.
    """

    def __init__(
        self,
        connection: object,
        *,
        initial_messages: Iterable[UIMessage | Mapping[str, Any]] | None = None,
        id: str | None = None,
        thread_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        forwarded_props: Mapping[str, Any] | None = None,
        tools: Iterable[ToolInput] | None = None,
        chunk_strategy: ChunkStrategy | None = None,
        raise_on_error: bool = False,
        on_chunk: Callable[[BaseEvent], object] | None = None,
        on_response: Callable[[], object] | None = None,
        on_finish: Callable[[UIMessage], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_messages_change: Callable[[MessagesView], object] | None = None,
        on_status_change: Callable[[ChatStatus], object] | None = None,
        on_loading_change: Callable[[bool], object] | None = None,
        on_error_change: Callable[[BaseException | None], object] | None = None,
        on_connection_status_change: Callable[[ChatConnectionStatus], object] | None = None,
        on_session_generating_change: Callable[[bool], object] | None = None,
        on_subscription_change: Callable[[bool], object] | None = None,
        on_custom_event: Callable[[str, Any, str | None], object] | None = None,
        on_tool_call: Callable[[ToolCallRequest], object] | None = None,
        on_approval_request: Callable[[ApprovalRequest], object] | None = None,
    ) -> None:
        self._pull: ConnectConnectionAdapter | None = None
        self._push: SubscribeConnectionAdapter | None = None
        self._install(connection)
        for name, value in (("body", body), ("forwarded_props", forwarded_props)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
        for name, ident in (("id", id), ("thread_id", thread_id)):
            if ident is not None and (not isinstance(ident, str) or not ident):
                raise TypeError(f"{name} must be a non-empty str, got {ident!r}")
        self._id = id or generate_run_id("chat")
        self._thread_id = thread_id or generate_run_id("thread")
        self._body: dict[str, Any] = dict(body or {})
        self._forwarded_props: dict[str, Any] = dict(forwarded_props or {})
        self._per_message_body: dict[str, Any] | None = None
        self._tools: dict[str, Tool] = coerce_tools(tools)
        self._raise_on_error = bool(raise_on_error)
        self._cb = _Callbacks(
            on_chunk=on_chunk,
            on_response=on_response,
            on_finish=on_finish,
            on_error=on_error,
            on_messages_change=on_messages_change,
            on_status_change=on_status_change,
            on_loading_change=on_loading_change,
            on_error_change=on_error_change,
            on_connection_status_change=on_connection_status_change,
            on_session_generating_change=on_session_generating_change,
            on_subscription_change=on_subscription_change,
            on_custom_event=on_custom_event,
            on_tool_call=on_tool_call,
            on_approval_request=on_approval_request,
        )
        for name in _CALLBACK_NAMES:
            value = getattr(self._cb, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {type(value).__name__}")

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
        self._current: _Request | None = None  # set exactly while loading
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
        # Async callbacks, run in order by one helper task.
        self._callback_queue: deque[tuple[Callback, Awaitable[object]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        # Snapshots.
        self._freezer = MessageFreezer()
        self._state_version = 0
        self._state_copy: tuple[int, Any] = (0, None)
        self._hub = UpdateHub(self._build_snapshot)

    # ------------------------------------------------------------------ read-only state

    @property
    def id(self) -> str:
        return self._id

    @property
    def thread_id(self) -> str:
        """Sent as ``threadId`` with every request of this client."""
        return self._thread_id

    @property
    def messages(self) -> MessagesView:
        """The conversation: a live read-only view (see :meth:`snapshot` for a copy)."""
        return self._processor.messages

    @property
    def status(self) -> ChatStatus:
        return self._lifecycle.status

    @property
    def is_loading(self) -> bool:
        return self._lifecycle.is_loading

    @property
    def error(self) -> BaseException | None:
        """What the last request failed with (cleared when the next one starts)."""
        return self._error

    @property
    def connection_status(self) -> ChatConnectionStatus:
        return self._connection_status

    @property
    def is_subscribed(self) -> bool:
        """Whether a push adapter's subscription loop is running (always False for pull)."""
        return self._subscribed

    @property
    def session_generating(self) -> bool:
        """Whether a run seen on the connection has started and not yet ended."""
        return self._generating

    @property
    def state(self) -> Any:
        """The agent's shared state (STATE_SNAPSHOT / STATE_DELTA); live, treat as read-only."""
        return self._processor.state

    @property
    def finish_reason(self) -> str | None:
        """``finishReason`` of the latest response's RUN_FINISHED."""
        return self._processor.finish_reason

    @property
    def usage(self) -> Any:
        """``usage`` of the latest response's RUN_FINISHED."""
        return self._processor.usage

    @property
    def tools(self) -> Mapping[str, Tool]:
        return dict(self._tools)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def adapter(self) -> object:
        """The connection adapter in use: the pull adapter (``connect``), or the push one."""
        return self._pull if self._pull is not None else self._push

    def __repr__(self) -> str:
        kind = "pull" if self._pull is not None else "push"
        return (
            f"<ChatClient {self._id} {self.status.value} {kind} "
            f"messages={len(self._processor.messages)}>"
        )

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> ChatSnapshot:
        """The current state as an immutable :class:`ChatSnapshot` (built now)."""
        return self._hub.snapshot()

    def updates(self, *, max_latency: float = 0.05) -> Updates:
        """An async iterator of snapshots, for rendering without callbacks::

            async for snap in client.updates():
                render(snap.messages, snap.status)

        The first item is the current state; then one item per change, coalesced: a
        consumer slower than the stream skips to the newest state. ``max_latency`` (s)
        bounds how long a change may wait to be shown while snapshots are rationed on
        long replies (see ``UpdateHub``). Ends when the client is closed, or with
        ``aclose()``.
        """
        return self._hub.subscribe(max_latency)

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

    # ------------------------------------------------------------------ callbacks

    def _emit(self, callback: Callback | None, *args: Any) -> None:
        """Run a user callback; an exception is logged, an awaitable is queued."""
        if callback is None:
            return
        try:
            result = callback(*args)
        except Exception as exc:
            self._callback_failed(callback, exc)
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
        self._callback_queue.append((callback, result))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain_callbacks())

    async def _drain_callbacks(self) -> None:
        queue = self._callback_queue
        while queue:
            callback, awaitable = queue.popleft()
            try:
                await awaitable
            except Exception as exc:
                self._callback_failed(callback, exc)

    async def _flush_callbacks(self) -> None:
        """Wait until the queued async callbacks have run (backpressure for the stream)."""
        drainer = self._drainer
        if drainer is None or drainer.done() or asyncio.current_task() is drainer:
            return
        await asyncio.shield(drainer)

    @staticmethod
    def _callback_failed(callback: Callback, exc: BaseException) -> None:
        logger.error(
            "ChatClient callback %s raised %s: %s (ignored; the client carries on)",
            _callback_name(callback),
            type(exc).__name__,
            exc,
            exc_info=exc,
        )

    # ------------------------------------------------------------------ observable setters

    def _transition(self, trigger: Trigger) -> None:
        before, after = self._lifecycle.fire(trigger)
        if before is after:
            return
        self._hub.changed(urgent=True)
        was_loading = before in (ChatStatus.SUBMITTED, ChatStatus.STREAMING)
        loading = after in (ChatStatus.SUBMITTED, ChatStatus.STREAMING)
        if loading and not was_loading:
            self._emit(self._cb.on_loading_change, True)
        self._emit(self._cb.on_status_change, after)
        if was_loading and not loading:
            self._emit(self._cb.on_loading_change, False)
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                _resolve(waiter)

    def _set_error(self, error: BaseException | None) -> None:
        if error is self._error:
            return
        self._error = error
        self._hub.changed(urgent=True)
        self._emit(self._cb.on_error_change, error)

    def _set_connection(self, status: ChatConnectionStatus) -> None:
        if status is self._connection_status:
            return
        self._connection_status = status
        self._hub.changed(urgent=True)
        self._emit(self._cb.on_connection_status_change, status)

    def _set_generating(self, value: bool) -> None:
        if value is self._generating:
            return
        self._generating = value
        self._hub.changed(urgent=True)
        self._emit(self._cb.on_session_generating_change, value)

    def _set_subscribed(self, value: bool) -> None:
        if value is self._subscribed:
            return
        self._subscribed = value
        self._emit(self._cb.on_subscription_change, value)

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
            self._emit(callback, view)

    def _on_stream_start(self, message: UIMessage) -> None:
        if self._current is not None and message.role == "assistant":
            self._current.created.append(message)

    def _on_stream_end(self, message: UIMessage) -> None:
        self._finished = message

    def _on_state_change(self, state: Any) -> None:
        self._state_version += 1
        self._hub.changed()

    def _on_custom_event(self, name: str, value: Any, tool_call_id: str | None) -> None:
        self._emit(self._cb.on_custom_event, name, value, tool_call_id)

    def _on_approval_request(self, request: ApprovalRequest) -> None:
        self._emit(self._cb.on_approval_request, request)

    def _on_tool_call(self, request: ToolCallRequest) -> None:
        self._emit(self._cb.on_tool_call, request)
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
        self, found: Tool, tool_call_id: str, request: ToolCallRequest, owner: _Request | None
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
            self._emit(callback, event)
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

    # ------------------------------------------------------------------ turns

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this ChatClient was closed; create a new one")

    async def send_message(
        self,
        content: str | Sequence[PartInput],
        body: Mapping[str, Any] | None = None,
        *,
        message_id: str | None = None,
        raise_on_error: bool | None = None,
    ) -> UIMessage | None:
        """Add a user message and get the reply; returns the final assistant message.

        ``content``: text (trimmed; empty text sends nothing) or a list of parts (text
        and media, kept as given). ``body``: merged into ``forwardedProps`` for this
        request only (over ``forwarded_props`` and ``body``). Returns when the reply
        and any client-tool follow-ups are fully processed, or it failed (then
        ``error`` is set; raised too with ``raise_on_error``), or was stopped (the
        partial reply is returned). Ignored (``None``, logged) while a turn is running.
        """
        self._check_open()
        if isinstance(content, str):
            text = content.strip(_JS_WHITESPACE)
            if not text:
                logger.warning("send_message: empty text, nothing sent")
                return None
            parts: str | list[MessagePart] = text
        elif isinstance(content, Sequence) and not isinstance(content, bytes):
            parts = _coerce_parts(cast(Sequence[PartInput], content), "content")
        else:
            raise TypeError(
                f"content must be a str or a list of message parts, got {type(content).__name__}"
            )
        if body is not None and not isinstance(body, Mapping):
            raise TypeError(f"body must be a mapping, got {type(body).__name__}")
        if self._lifecycle.is_loading:
            logger.warning("send_message ignored: a reply is still in progress (stop() it first)")
            return None
        self._per_message_body = dict(body) if body else None
        self._processor.add_user_message(parts, id=message_id)
        return await self._turn(Trigger.SEND, raise_on_error)

    async def append(
        self, message: MessageInput, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        """Append a message (UIMessage, its dict, or a ModelMessage) and request a reply.

        A ``system`` message is ignored (logged), as in the reference. While a turn is
        running, the message is added at once and its request waits for the turn to end.
        """
        self._check_open()
        ui = _to_ui_message(message, "message")
        if ui.role == "system":
            logger.warning("append: system messages are not appended (as in the reference)")
            return None
        self._processor.set_messages([*self._processor.messages, ui])
        while self._lifecycle.is_loading:
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            await waiter
            self._check_open()
        return await self._turn(Trigger.SEND, raise_on_error)

    async def reload(self, *, raise_on_error: bool | None = None) -> UIMessage | None:
        """Drop everything after the last user message and ask again.

        A running turn is superseded (its ``send_message`` returns ``None``). Without a
        user message this does nothing.
        """
        self._check_open()
        messages = self._processor.messages
        last_user = next(
            (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None
        )
        if last_user is None:
            return None
        current = self._current
        if current is not None:
            self._cancel_request(current, stopped=False)
        self._processor.remove_messages_after(last_user)
        return await self._turn(
            Trigger.CONTINUE if current is not None else Trigger.SEND, raise_on_error
        )

    def stop(self) -> None:
        """Stop the running turn: the request is cancelled, the partial reply kept,
        status ``ready``. Does nothing when idle. Call it on the client's event loop."""
        current = self._current
        if current is None:
            return
        self._cancel_request(current, stopped=True)
        if self._pull is not None:
            self._set_connection(ChatConnectionStatus.DISCONNECTED)
        self._clear_runs()
        self._transition(Trigger.STOP)

    def clear(self) -> None:
        """Remove all messages and forget the error (a running turn is not stopped)."""
        self._processor.clear_messages()
        self._set_error(None)
        if self._lifecycle.status is ChatStatus.ERROR:
            self._transition(Trigger.RESET)

    def set_messages(self, messages: Iterable[UIMessage | Mapping[str, Any]]) -> None:
        """Replace the conversation (UIMessages or their camelCase dicts)."""
        self._processor.set_messages(messages)

    async def add_tool_result(
        self,
        tool_call_id: str,
        output: Any = None,
        *,
        error: str | None = None,
        raise_on_error: bool | None = None,
    ) -> UIMessage | None:
        """Answer a client tool call (one without ``execute``, or to override one).

        ``output`` must be JSON data; ``error`` (a message) marks the call failed. When
        every tool call of the last assistant message is answered, the follow-up
        request is sent: at once when idle (this call then returns its reply), or at
        the end of the running turn. Raises :class:`UnknownToolCallError` when no
        message holds ``tool_call_id``.
        """
        self._check_open()
        if not _has_tool_call(self._processor.messages, tool_call_id):
            raise UnknownToolCallError(f"no message holds a tool call with id {tool_call_id!r}")
        self._processor.add_tool_result(tool_call_id, output, error)
        if self._current is not None:
            self._current.tool_answered = True
            return None
        return await self._continue_if_ready(raise_on_error)

    async def add_tool_approval_response(
        self, approval_id: str, approved: bool, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        """Approve or deny a tool call waiting for approval (``approval_id`` is the
        approval's id, not the tool call's). The follow-up request is sent as for
        :meth:`add_tool_result` (also when denied: the server is told)."""
        self._check_open()
        if not _has_approval(self._processor.messages, approval_id):
            raise UnknownApprovalError(f"no tool call waits for approval id {approval_id!r}")
        self._processor.add_tool_approval_response(approval_id, bool(approved))
        if self._current is not None:
            self._current.tool_answered = True
            return None
        return await self._continue_if_ready(raise_on_error)

    async def _continue_if_ready(self, raise_on_error: bool | None) -> UIMessage | None:
        if self._closed or self._current is not None or not self._should_auto_send():
            return None
        return await self._turn(Trigger.SEND, raise_on_error)

    def _should_auto_send(self) -> bool:
        """SPEC 5.6 ``shouldAutoSend``: the last assistant message has tool calls, all answered."""
        messages = self._processor.messages
        last = next((m for m in reversed(messages) if m.role == "assistant"), None)
        if last is None or not any(isinstance(p, ToolCallPart) for p in last.parts):
            return False
        return self._processor.are_all_tools_complete()

    def _should_continue(self, request: _Request) -> bool:
        """Whether a successful request is followed by another one (SPEC 5.3 step 13, 5.6)."""
        if not self._should_auto_send():
            return False
        if request.tool_answered:
            return True  # client tools (or the app) answered during the request
        messages = self._processor.messages
        last = messages[-1] if messages else None
        if last is None or not last.parts or not isinstance(last.parts[-1], ToolResultPart):
            return False
        return self._processor.finish_reason != "stop"

    async def _turn(self, trigger: Trigger, raise_on_error: bool | None) -> UIMessage | None:
        """Run requests until the reply is complete; the lifecycle is changed only here."""
        self._transition(trigger)
        self._set_error(None)
        self._turn_changed = False
        request = _Request()
        self._current = request
        try:
            while True:
                outcome = await self._run_request(request)
                if outcome == "stale":
                    return self._turn_result() if request.stopped else None
                if outcome == "failed":
                    error = request.error
                    assert error is not None
                    self._current = None
                    self._cancel_tools(request)
                    self._drop_empty_replies(request)
                    self._processor.prepare_assistant_message()  # forget the broken stream
                    self._set_error(error)
                    self._transition(Trigger.FAIL)
                    self._emit(self._cb.on_error, error)
                    result = self._turn_result()
                    should_raise = (
                        self._raise_on_error if raise_on_error is None else raise_on_error
                    )
                    if should_raise:
                        raise error
                    return result
                if self._should_continue(request):
                    self._transition(Trigger.CONTINUE)
                    request = _Request()
                    self._current = request
                    continue
                self._current = None
                self._transition(Trigger.FINISH)
                return self._turn_result()
        except BaseException:
            # Cancelled from outside (a timeout around send_message, Ctrl-C) or a bug:
            # leave the client idle, as stop() would.
            if self._current is request:
                self.stop()
            raise

    def _turn_result(self) -> UIMessage | None:
        if not self._turn_changed:
            return None
        messages = self._processor.messages
        if messages and messages[-1].role == "assistant":
            return freeze_message(messages[-1])
        return None

    def _next_body(self) -> dict[str, Any]:
        """SPEC 1.3: ``body`` < ``forwarded_props`` < per-message body (used once)."""
        merged: dict[str, Any] = {}
        merged.update(self._body)
        merged.update(self._forwarded_props)
        if self._per_message_body:
            merged.update(self._per_message_body)
        self._per_message_body = None
        return merged

    async def _run_request(self, request: _Request) -> Outcome:
        messages = list(self._processor.messages)
        if self._cb.on_response is not None:
            self._emit(self._cb.on_response)
            await self._flush_callbacks()
        if request is not self._current:
            return "stale"  # stop() or reload() inside on_response: nothing is sent
        data = self._next_body()
        request.run_context = RunContext(
            thread_id=self._thread_id,
            run_id=generate_run_id("run"),
            client_tools=[t.spec() for t in self._tools.values()],
            forwarded_props=dict(data),
        )
        self._processor.prepare_assistant_message()
        self._finished = None
        try:
            if self._pull is not None:
                await self._request_pull(self._pull, request, messages, data)
            else:
                await self._request_push(request, messages, data)
        except Exception as exc:
            if request is not self._current:
                return "stale"
            request.error = exc
            if self._pull is not None:
                self._set_connection(
                    ChatConnectionStatus.ERROR
                    if _is_transport_failure(exc)
                    else ChatConnectionStatus.DISCONNECTED
                )
                self._clear_runs()
            return "failed"
        if request is not self._current:
            return "stale"
        if self._pull is not None:
            self._set_connection(ChatConnectionStatus.DISCONNECTED)
            self._clear_runs()
        if self._processor.has_error:
            request.error = self._processor.error
            return "failed"
        pending = [t for t in request.tool_tasks if not t.done()]
        if pending:
            results = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    logger.error("client tool task failed: %r", result, exc_info=result)
            if request is not self._current:
                return "stale"
        self._processor.finalize_stream()
        self._drop_empty_replies(request)
        finished, self._finished = self._finished, None
        if finished is not None and any(m is finished for m in self._processor.messages):
            self._emit(self._cb.on_finish, freeze_message(finished))
        self._hub.changed(urgent=True)
        return "ok"

    async def _request_pull(
        self,
        adapter: ConnectConnectionAdapter,
        request: _Request,
        messages: list[UIMessage],
        data: dict[str, Any],
    ) -> None:
        self._set_connection(ChatConnectionStatus.CONNECTING)
        scope = AbortScope(request.controller.signal)
        try:
            # The whole consumption runs inside the scope: an abort cancels whatever it
            # awaits (a network read, an async callback), never the processing between.
            await scope.run(self._consume_pull(adapter, request, messages, data))
        except Aborted:
            pass  # stop() / reload(): the request is already stale
        finally:
            scope.close()

    async def _consume_pull(
        self,
        adapter: ConnectConnectionAdapter,
        request: _Request,
        messages: list[UIMessage],
        data: dict[str, Any],
    ) -> None:
        result = adapter.connect(messages, data, request.controller.signal, request.run_context)
        iterator = await to_async_iterator(result, "connect()")
        try:
            first = True
            async for chunk in iterator:
                if request is not self._current:
                    return
                event = chunk if isinstance(chunk, BaseEvent) else coerce_event(chunk)
                if first:
                    first = False
                    self._set_connection(ChatConnectionStatus.CONNECTED)
                self._on_event(event)
                if self._callback_queue:
                    await self._flush_callbacks()
        finally:
            # Closing the iterator closes the HTTP response: the server sees the
            # disconnect at once rather than when it next writes.
            await close_iterator(iterator)

    async def _request_push(
        self, request: _Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> None:
        push = self._push
        assert push is not None
        self._discard = None  # a new request: stop dropping the old run's events
        self._ensure_subscription()
        request.done = asyncio.get_running_loop().create_future()
        signal = request.controller.signal
        scope = AbortScope(signal)
        try:
            sent = push.send(messages, data, signal, request.run_context)
            if inspect.isawaitable(sent):
                await scope.run(sent)
            if request is self._current:
                await scope.run(request.done)
        except Aborted:
            pass
        finally:
            scope.close()

    def _cancel_request(self, request: _Request, *, stopped: bool) -> None:
        self._current = None
        self._cancels += 1
        request.stopped = stopped
        request.controller.abort()
        self._cancel_tools(request)
        _resolve(request.done)
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
    def _cancel_tools(request: _Request) -> None:
        for task in request.tool_tasks:
            task.cancel()

    def _drop_empty_replies(self, request: _Request) -> None:
        """Remove assistant messages this request created that ended without any part."""
        empty = [m for m in request.created if not m.parts]
        if not empty:
            return
        request.created = [m for m in request.created if m.parts]
        keep = [m for m in self._processor.messages if not any(m is e for e in empty)]
        if len(keep) != len(self._processor.messages):
            self._processor.set_messages(keep)

    # ------------------------------------------------------------------ push subscription

    def subscribe(self, *, restart: bool = False) -> None:
        """Start the push adapter's subscription loop (idempotent unless ``restart``).

        Requests start it on their own; call this to receive server-pushed runs before
        sending anything. Pull adapters have no subscription: this does nothing.
        Must be called on the client's event loop.
        """
        self._check_open()
        push = self._push
        if push is None:
            return
        live = self._sub_task is not None and not self._sub_task.done()
        if live and not restart:
            return
        self._abort_subscription()
        self._sub_generation += 1
        controller = AbortController()
        self._sub_controller = controller
        self._set_subscribed(True)
        self._set_connection(ChatConnectionStatus.CONNECTING)
        self._sub_task = asyncio.get_running_loop().create_task(
            self._subscription_loop(push, self._sub_generation, controller)
        )

    def unsubscribe(self) -> None:
        """Stop the running turn (status ``ready``) and the subscription loop. Idempotent."""
        current = self._current
        if current is not None:
            self._cancel_request(current, stopped=True)
            self._transition(Trigger.STOP)
        self._abort_subscription()
        self._clear_runs()
        self._set_subscribed(False)
        self._set_connection(ChatConnectionStatus.DISCONNECTED)

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
                _resolve(request.done, failure)
            else:
                self._set_error(failure)
                self._transition(Trigger.FAIL)
                self._emit(self._cb.on_error, failure)
        else:
            self._set_connection(ChatConnectionStatus.DISCONNECTED)
            if request is not None and request.done is not None:
                _resolve(
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
                if self._callback_queue:
                    await self._flush_callbacks()
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
            _resolve(request.done)
            return
        # A run the server pushed while we were idle has ended.
        if self._processor.has_error:
            error = self._processor.error
            assert error is not None
            self._set_error(error)
            self._transition(Trigger.FAIL)
            self._emit(self._cb.on_error, error)
            return
        self._processor.finalize_stream()
        finished, self._finished = self._finished, None
        if finished is not None:
            self._emit(self._cb.on_finish, freeze_message(finished))

    # ------------------------------------------------------------------ options, closing

    def update_options(
        self,
        *,
        connection: object = _UNSET,
        body: Mapping[str, Any] | _Unset | None = _UNSET,
        forwarded_props: Mapping[str, Any] | _Unset | None = _UNSET,
        tools: Iterable[ToolInput] | _Unset | None = _UNSET,
        raise_on_error: bool | _Unset = _UNSET,
        **callbacks: Callback | None,
    ) -> None:
        """Change options after construction (SPEC 5.8); only the arguments given change.

        ``body`` / ``forwarded_props``: replace that slot (``None`` or ``{}`` clears it).
        ``connection``: a running turn is stopped and the subscription (if any) moves to
        the new adapter. Any ``on_*`` callback can be replaced (``None`` removes it).
        """
        unknown = sorted(set(callbacks) - _CALLBACK_NAMES)
        if unknown:
            raise TypeError(
                f"update_options: unknown option(s) {unknown}; callbacks are "
                f"{sorted(_CALLBACK_NAMES)}"
            )
        for name, value in callbacks.items():
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {type(value).__name__}")
        for name, slot in (("body", body), ("forwarded_props", forwarded_props)):
            if not isinstance(slot, _Unset) and slot is not None and not isinstance(slot, Mapping):
                raise TypeError(f"{name} must be a mapping or None, got {type(slot).__name__}")
        new_tools = None if isinstance(tools, _Unset) else coerce_tools(tools)
        if not isinstance(connection, _Unset):
            normalize_connection_adapter(connection)  # validate before changing anything
            was_subscribed = self._subscribed
            current = self._current
            if current is not None:
                self._cancel_request(current, stopped=True)
                self._transition(Trigger.STOP)
            self._abort_subscription()
            self._clear_runs()
            self._set_subscribed(False)
            self._set_connection(ChatConnectionStatus.DISCONNECTED)
            self._install(connection)
            if was_subscribed:
                self.subscribe()
        if not isinstance(body, _Unset):
            self._body = dict(body or {})
        if not isinstance(forwarded_props, _Unset):
            self._forwarded_props = dict(forwarded_props or {})
        if new_tools is not None:
            self._tools = new_tools
        if not isinstance(raise_on_error, _Unset):
            self._raise_on_error = bool(raise_on_error)
        for name, value in callbacks.items():
            setattr(self._cb, name, value)

    async def aclose(self) -> None:
        """Stop everything (turn, subscription, tools) and end ``updates()`` iterators."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        task = self._sub_task
        self._abort_subscription()
        for tool_task in list(self._idle_tool_tasks):
            tool_task.cancel()
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            _resolve(waiter)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self._flush_callbacks()
        self._hub.close()

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _callback_name(callback: Callback) -> str:
    return str(getattr(callback, "__qualname__", None) or repr(callback))


def _has_tool_call(messages: Sequence[UIMessage], tool_call_id: str) -> bool:
    return any(
        isinstance(p, ToolCallPart) and p.id == tool_call_id for m in messages for p in m.parts
    )


def _has_approval(messages: Sequence[UIMessage], approval_id: str) -> bool:
    return any(
        isinstance(p, ToolCallPart) and p.approval is not None and p.approval.id == approval_id
        for m in messages
        for p in m.parts
    )
