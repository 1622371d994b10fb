"""``ChatClient``: the public class: constructor, read-only state, snapshots, the
turn methods (``send_message``, ``append``, ``reload``, ``stop``, tool answers),
``subscribe``/``unsubscribe``, ``update_options`` and closing.

The machinery lives in its bases: ``ClientCore`` (``_core.py``: state, setters,
events, tools), ``TurnRunner`` (``_turns.py``) and ``PushSubscription`` (``_push.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

from .._connection._abort import AbortController
from .._connection._normalize import normalize_connection_adapter
from .._events import BaseEvent
from .._messages import MessagePart, UIMessage
from .._processor import ApprovalRequest, MessagesView, ToolCallRequest
from .._processor._strategies import ChunkStrategy
from .._run_input import generate_run_id
from .._text import JS_WHITESPACE as _JS_WHITESPACE  # the reference trims user text
from ._callbacks import CALLBACK_NAMES, Callback, Callbacks, check_callables
from ._inputs import (
    MessageInput,
    PartInput,
    coerce_parts,
    has_approval,
    has_tool_call,
    to_ui_message,
)
from ._push import PushSubscription
from ._request import resolve
from ._state import ChatConnectionStatus, ChatSnapshot, ChatStatus, Trigger, Updates
from ._tools import (
    Tool,
    ToolInput,
    UnknownApprovalError,
    UnknownToolCallError,
    coerce_tools,
)
from ._turns import TurnRunner

logger = logging.getLogger("chatconduit.client")


class _Unset:
    """Marks an ``update_options`` argument that was not given."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


class ChatClient(TurnRunner, PushSubscription):
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
        self._pull = None
        self._push = None
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
        self._cb = Callbacks(
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
        check_callables((name, getattr(self._cb, name)) for name in CALLBACK_NAMES)
        super().__init__(initial_messages, chunk_strategy)

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

    # ------------------------------------------------------------------ turns

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
            parts = coerce_parts(cast(Sequence[PartInput], content), "content")
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
        ui = to_ui_message(message, "message")
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
        if not has_tool_call(self._processor.messages, tool_call_id):
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
        if not has_approval(self._processor.messages, approval_id):
            raise UnknownApprovalError(f"no tool call waits for approval id {approval_id!r}")
        self._processor.add_tool_approval_response(approval_id, bool(approved))
        if self._current is not None:
            self._current.tool_answered = True
            return None
        return await self._continue_if_ready(raise_on_error)

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
        unknown = sorted(set(callbacks) - CALLBACK_NAMES)
        if unknown:
            raise TypeError(
                f"update_options: unknown option(s) {unknown}; callbacks are "
                f"{sorted(CALLBACK_NAMES)}"
            )
        check_callables(callbacks.items())
        for name, slot in (("body", body), ("forwarded_props", forwarded_props)):
            if not isinstance(slot, _Unset) and slot is not None and not isinstance(slot, Mapping):
                raise TypeError(f"{name} must be a mapping or None, got {type(slot).__name__}")
        new_tools = None if isinstance(tools, _Unset) else coerce_tools(tools)
        if not isinstance(connection, _Unset):
            normalize_connection_adapter(connection)  # validate before changing anything
            was_subscribed = self._subscribed
            self.unsubscribe()  # stops the running turn and the old subscription
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
            resolve(waiter)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self._calls.flush()
        self._hub.close()

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
