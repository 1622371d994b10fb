"""``ChatClient``: the Python ``useChat`` (the reference's ``ChatClient``, reference §5), the
public class. It composes its parts and holds none of their logic: the
:class:`~._observable.ObservableState` (status, error, connection, callbacks, the ``UpdateHub``
behind ``updates()``), the :class:`~._conversation.Conversation` (the ``StreamProcessor``,
the live request, client tools), the :class:`~._turns.TurnRunner` (turns and follow-ups),
the driver its adapter needs (``_pull.py`` / ``_push.py``), the steps of ``join_run`` /
``hydrate`` (``_durable.py``) and what closing lets go of (``_closing.py``). Not
thread-safe: one client, one event loop (``SyncChatClient`` wraps one for other threads).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Unpack

from .._connection._hydrate import HydratedThread
from .._connection._normalize import normalize_connection_adapter
from .._exceptions import ClientClosedError, UnknownApprovalError, UnknownToolCallError
from .._messages import UIMessage
from .._messages._ui_message import reply_messages
from .._processor import MessagesView
from ._closing import release
from ._conversation import Conversation
from ._driver import Driver, driver_for
from ._durable import hydrate_thread, join_run
from ._inputs import (
    MessageInput,
    PartInput,
    has_approval,
    has_tool_call,
    message_content,
    to_ui_message,
)
from ._observable import ObservableState
from ._options import (
    ChatClientOptions,
    OptionChanges,
    apply_changes,
    callbacks_from,
    check_changes,
    check_names,
    settings_from,
)
from ._reply import Body, Content, Reply, SendOptions, text_deltas
from ._request import Phase
from ._state import ChatConnectionStatus, ChatSnapshot, ChatStatus, Trigger, UpdateHub, Updates
from ._tools import Tool
from ._turns import TurnRunner

logger = logging.getLogger("chatconduit.client")


class ChatClient:
    """A headless chat client: send messages, get streamed replies as UIMessages.

    ::

        client = ChatClient(fetch_server_sent_events("https://example.com/api/chat"))
        print((await client.ask("Hello")).text)   # every assistant message of the turn

    ``connection`` is a pull adapter (``connect``, e.g. ``fetch_server_sent_events``,
    ``fetch_http_stream``, ``stream(fn)``), a push adapter (``subscribe`` + ``send``),
    or a mapping with those keys. ``options`` are :class:`ChatClientOptions`. See
    ``docs/client.md`` for a guide.
    """

    def __init__(self, connection: object, **options: Unpack[ChatClientOptions]) -> None:
        check_names(options)
        adapter = normalize_connection_adapter(connection)
        self._connection = adapter  # join_run / hydrate are read from it
        self._settings = settings_from(options)
        self._hub = UpdateHub()
        self._observable = ObservableState(callbacks_from(options), self._hub)
        self._conversation = Conversation(
            self._observable,
            self._settings,
            options.get("initial_messages"),
            options.get("chunk_strategy"),
        )
        self._turns = TurnRunner(
            self._conversation,
            self._observable,
            self._settings,
            driver_for(adapter, self._conversation, self._observable),
        )
        self._conversation.follow_up = self._turns

    @property
    def _driver(self) -> Driver:
        return self._turns.driver

    def _check_open(self) -> None:
        if self._conversation.closed:
            raise ClientClosedError("this ChatClient was closed; create a new one")

    # ------------------------------------------------------------------ read-only state

    @property
    def id(self) -> str:
        return self._settings.id

    @property
    def thread_id(self) -> str:
        """Sent as ``threadId`` with every request of this client."""
        return self._settings.thread_id

    @property
    def messages(self) -> MessagesView:
        """The conversation: a live read-only view (see :meth:`snapshot` for a copy)."""
        return self._conversation.processor.messages

    @property
    def status(self) -> ChatStatus:
        return self._observable.status

    @property
    def is_loading(self) -> bool:
        return self._observable.is_loading

    @property
    def error(self) -> BaseException | None:
        """What the last request failed with (cleared when the next one starts)."""
        return self._observable.error

    @property
    def connection_status(self) -> ChatConnectionStatus:
        return self._observable.connection

    @property
    def is_subscribed(self) -> bool:
        """Whether a push adapter's subscription loop is running (always False for pull)."""
        return self._observable.subscribed

    @property
    def session_generating(self) -> bool:
        """Whether a run seen on the connection has started and not yet ended."""
        return self._observable.generating

    @property
    def state(self) -> Any:
        """The agent's shared state (STATE_SNAPSHOT / STATE_DELTA); live, treat as read-only."""
        return self._conversation.processor.state

    @property
    def finish_reason(self) -> str | None:
        """``finishReason`` of the latest response's RUN_FINISHED."""
        return self._conversation.processor.finish_reason

    @property
    def usage(self) -> Any:
        """``usage`` of the latest response's RUN_FINISHED."""
        return self._conversation.processor.usage

    @property
    def tools(self) -> Mapping[str, Tool]:
        return dict(self._settings.tools)

    @property
    def closed(self) -> bool:
        return self._conversation.closed

    @property
    def adapter(self) -> object:
        """The connection adapter in use: the pull adapter (``connect``), or the push one."""
        return self._driver.adapter

    def __repr__(self) -> str:
        return (
            f"<ChatClient {self._settings.id} {self.status.value} {self._driver.kind} "
            f"messages={len(self._conversation.processor.messages)}>"
        )

    # ------------------------------------------------------------------ snapshots

    def _build_snapshot(self, version: int) -> tuple[ChatSnapshot, int]:
        messages, state, cost = self._conversation.freeze()
        return self._observable.snapshot(version, messages, state), cost

    def snapshot(self) -> ChatSnapshot:
        """The current state as an immutable :class:`ChatSnapshot` (built now)."""
        return self._hub.snapshot(self._build_snapshot)

    def updates(self, *, max_latency: float = 0.05, until_turn_end: bool = False) -> Updates:
        """An async iterator of snapshots, for rendering without callbacks::

            async for snap in client.updates():
                render(snap.messages, snap.status)

        The first item is the current state; then one item per change, coalesced: a
        consumer slower than the stream skips to the newest state. ``max_latency`` (s)
        bounds how long a change may wait to be shown while snapshots are rationed on
        long replies (see ``UpdateHub``). Ends when the client is closed, or with
        ``aclose()``; with ``until_turn_end``, after the snapshot showing the end of the
        next turn. Prefer it to callbacks for rendering: an async ``on_chunk`` is
        awaited by the stream, so a slow one slows the reply.
        """
        return self._hub.subscribe(self._build_snapshot, max_latency, until_turn_end)

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
        ``error`` is set; raised too with ``raise_on_error``; more than
        ``max_continuations`` follow-ups fail with ``ContinuationLimitError``), or was
        stopped (the partial reply is returned). Ignored (``None``, logged) while a turn
        is running. A ``KeyboardInterrupt`` / ``SystemExit`` raised by a client tool stops
        the turn and is raised from here. When the last run paused on interrupts
        (TanStack 0.58, pydantic-ai) that are still unanswered, e.g. an approval, this
        request tells the server they are cancelled.
        """
        self._check_open()
        parts = message_content(content)
        if parts == "":
            logger.warning("send_message: empty text, nothing sent")
            return None
        if body is not None and not isinstance(body, Mapping):
            raise TypeError(f"body must be a mapping, got {type(body).__name__}")
        if self._observable.is_loading:
            logger.warning("send_message ignored: a reply is still in progress (stop() it first)")
            return None
        self._turns.message_body = dict(body) if body else None
        self._conversation.processor.add_user_message(parts, id=message_id)
        return await self._turns.run(Trigger.SEND, raise_on_error)

    async def ask(self, content: Content, body: Body = None, **kw: Unpack[SendOptions]) -> Reply:
        """``send_message``, returning the whole :class:`Reply` (every assistant message
        of the turn, its tool calls and ``.text``) instead of the last message."""
        start = len(self.messages)
        await self.send_message(content, body, **kw)
        return Reply(
            tuple(reply_messages(self.snapshot().messages, start)), self.status, self.error
        )

    def stream_text(
        self,
        content: Content,
        body: Body = None,
        *,
        max_latency: float = 0.05,
        **kw: Unpack[SendOptions],
    ) -> AsyncIterator[str]:
        """Send; yield the reply's text as it arrives (joined: ``Reply.text``); break stops it."""
        send = functools.partial(self.send_message, content, body, **kw)
        return text_deltas(
            lambda: self.updates(max_latency=max_latency), self.snapshot, send, self.messages
        )

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
        processor = self._conversation.processor
        processor.set_messages([*processor.messages, ui])
        while self._observable.is_loading:
            await self._observable.until_idle()
            self._check_open()
        return await self._turns.run(Trigger.SEND, raise_on_error)

    async def reload(self, *, raise_on_error: bool | None = None) -> UIMessage | None:
        """Drop everything after the last user message and ask again.

        A running turn is superseded (its ``send_message`` returns ``None``). Without a
        user message this does nothing.
        """
        self._check_open()
        processor = self._conversation.processor
        messages = processor.messages
        last_user = next(
            (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None
        )
        if last_user is None:
            return None
        current = self._conversation.request
        if current is not None:
            self._turns.cancel(current, Phase.SUPERSEDED)
        processor.remove_messages_after(last_user)
        # The reply being redone may have paused on interrupts; its calls are gone, and
        # the new request starts a run of its own rather than answering that one.
        self._conversation.interrupted = None
        return await self._turns.run(
            Trigger.CONTINUE if current is not None else Trigger.SEND, raise_on_error
        )

    def stop(self) -> None:
        """Stop the running turn: the request is cancelled (an HTTP response is closed, so
        the server sees the disconnect), running client tools are cancelled (their
        results discarded; a sync tool's thread cannot be killed and runs on, but nothing
        waits for it), each tool call left unanswered gets an error result ("cancelled
        by the user", so the next request is valid for backends that require every tool
        call answered), the partial reply is kept and status is ``ready``; a push
        adapter's events still arriving for the stopped run are dropped. Does nothing
        when idle. Call it on the client's event loop."""
        self._turns.stop()

    def clear(self) -> None:
        """Remove all messages and forget the error (a running turn is not stopped)."""
        self._conversation.processor.clear_messages()
        self._conversation.forget_interrupts()
        self._observable.set_error(None)
        if self._observable.status is ChatStatus.ERROR:
            self._observable.transition(Trigger.RESET)

    def set_messages(self, messages: Iterable[UIMessage | Mapping[str, Any]]) -> None:
        """Replace the conversation (UIMessages or their camelCase dicts)."""
        self._conversation.processor.set_messages(messages)

    async def add_tool_result(
        self,
        tool_call_id: str,
        output: Any = None,
        *,
        error: str | None = None,
        raise_on_error: bool | None = None,
    ) -> UIMessage | None:
        """Answer a client tool call (one without ``execute``, or to override one).

        ``output`` must be JSON data; ``error`` (a message) marks the call failed, and
        the server reads it as the result (``{"error": "<message>"}``). When every tool
        call of the last assistant message is answered, the follow-up request is sent:
        at once when idle (this call then returns its reply), or at the end of the
        running turn; it answers the call the way the server asked for it (a ``resume``
        entry for an interrupt, a tool message otherwise). Raises
        :class:`UnknownToolCallError` when no message holds ``tool_call_id``.
        """
        self._check_open()
        processor = self._conversation.processor
        if not has_tool_call(processor.messages, tool_call_id):
            raise UnknownToolCallError(f"no message holds a tool call with id {tool_call_id!r}")
        processor.add_tool_result(tool_call_id, output, error)
        return await self._answered(raise_on_error)

    async def add_tool_approval_response(
        self, approval_id: str, approved: bool, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        """Approve or deny a tool call waiting for approval (``approval_id`` is the
        approval's id, not the tool call's: ``ApprovalRequest.approval_id``, which for an
        interrupt is the interrupt's id). The follow-up request is sent as for
        :meth:`add_tool_result` (also when denied: the server is told, for an interrupt
        as ``resume: [{interruptId, status: "resolved", payload: {approved}}]``)."""
        self._check_open()
        processor = self._conversation.processor
        if not has_approval(processor.messages, approval_id):
            raise UnknownApprovalError(f"no tool call waits for approval id {approval_id!r}")
        processor.add_tool_approval_response(approval_id, bool(approved))
        return await self._answered(raise_on_error)

    async def _answered(self, raise_on_error: bool | None) -> UIMessage | None:
        """A tool answer was recorded: the running request continues after it, or,
        idle, the follow-up is sent now."""
        current = self._conversation.request
        if current is not None:
            current.tool_answered = True
            return None
        return await self._turns.continue_if_ready(raise_on_error)

    # ------------------------------------------------------------------ durable runs

    async def join_run(
        self, run_id: str, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        """Join a run the server is producing (or has kept), e.g. one another client
        started on this thread, from its first event, through the adapter's ``join_run``
        (0.33's ``joinRun``; ``fetch_server_sent_events`` and ``fetch_http_stream`` have
        it, for a durable server). Its reply streams into the conversation as a turn's
        does (status ``submitted`` → ``streaming`` → ``ready``; ``updates()``, callbacks,
        client tools and their follow-ups, ``stop()``) and the final assistant message is
        returned; a failure is reported as a turn's. A copy of the reply the conversation
        already holds as its last message (same message id) is replaced by the replay.
        Ignored (``None``, logged) while a turn is running. Raises
        :class:`AdapterContractError` (a ``TypeError``) when the adapter has no
        ``join_run``.
        """
        self._check_open()
        return await join_run(
            self._turns, self._observable, self._connection, run_id, raise_on_error
        )

    async def hydrate(
        self, thread_id: str | None = None, *, raise_on_error: bool | None = None
    ) -> HydratedThread:
        """Load a thread as the server stores it (0.33's ``hydrate``), e.g. to continue on
        another device or after a restart, and return what was read.

        Calls the adapter's ``hydrate(thread_id)`` (default: this client's
        :attr:`thread_id`; another one becomes this client's thread id), then replaces
        the messages with the stored ones and forgets the error. When the thread's last
        run paused on interrupts, they are acted on as when a run ends with them (client
        tools with ``execute`` run and their follow-up is sent, ``on_approval_request``
        and ``on_tool_call`` fire; answer with ``add_tool_result`` /
        ``add_tool_approval_response``). Else, when a run is still producing, it is
        joined (:meth:`join_run`) and this returns once its reply is complete
        (``raise_on_error`` applies to it). A running turn is stopped once the thread is
        read. Errors of the hydrate request itself are raised (nothing changes then):
        :class:`AdapterContractError` (a ``TypeError``) when the adapter has no
        ``hydrate``, ``HydrateUnsupportedError`` when the server has no hydrate route.
        Only the page the server sends is loaded (``HydratedThread.truncated``).
        """
        self._check_open()
        return await hydrate_thread(
            thread_id,
            settings=self._settings,
            conversation=self._conversation,
            observable=self._observable,
            adapter=self._connection,
            check_open=self._check_open,
            stop=self.stop,
            join=lambda run_id: self.join_run(run_id, raise_on_error=raise_on_error),
        )

    # ------------------------------------------------------------------ push subscription

    def subscribe(self, *, restart: bool = False) -> None:
        """Start the push adapter's subscription loop (idempotent unless ``restart``).

        Requests start it on their own; call this to receive server-pushed runs before
        sending anything. Pull adapters have no subscription: this does nothing.
        Must be called on the client's event loop.
        """
        self._check_open()
        self._driver.subscribe(restart=restart)

    def unsubscribe(self) -> None:
        """Stop the running turn (status ``ready``) and the subscription loop. Idempotent."""
        current = self._conversation.request
        if current is not None:
            self._turns.cancel(current, Phase.STOPPED)
            self._observable.transition(Trigger.STOP)
        self._driver.abort()
        self._observable.clear_runs()
        self._observable.set_subscribed(False)
        self._observable.set_connection(ChatConnectionStatus.DISCONNECTED)

    # ------------------------------------------------------------------ options, closing

    def update_options(self, **changes: Unpack[OptionChanges]) -> None:
        """Change options after construction (reference §5.8); only the arguments given change.

        ``body`` / ``forwarded_props``: replace that slot (``None`` or ``{}`` clears it).
        ``connection``: a running turn is stopped and the subscription (if any) moves to
        the new adapter. ``max_continuations`` applies from the next follow-up on. Any
        ``on_*`` callback can be replaced (``None`` removes it).
        """
        tools = check_changes(changes)
        if "connection" in changes:
            adapter = normalize_connection_adapter(changes["connection"])  # before any change
            self._connection = adapter
            was_subscribed = self._observable.subscribed
            self.unsubscribe()  # stops the running turn and the old subscription
            self._turns.driver = driver_for(adapter, self._conversation, self._observable)
            if was_subscribed:
                self.subscribe()
        self._observable.callbacks = apply_changes(
            self._settings, self._observable.callbacks, changes, tools
        )

    async def aclose(self) -> None:
        """Stop everything (turn, subscription, tools) and end ``updates()`` iterators."""
        conversation = self._conversation
        if conversation.closed:
            return
        conversation.closed = True
        self.stop()
        task = self._driver.abort()
        conversation.cancel_idle_tools()
        self._observable.release_waiters()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self._observable.calls.flush()
        self._hub.close()
        release(conversation, self._observable.error)  # last: nothing after needs them

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
