"""``Conversation``: the messages (a ``StreamProcessor``) and the request that is changing them.

It applies a reply's events (:meth:`Conversation.on_event`, the hot path, the same for
pull and push adapters), hears the processor's callbacks, runs client tools (a tool's
result is dropped when its request went stale meanwhile) and cancels a request: the
partial reply stays, an empty assistant message never does, and nothing treats the
interrupted stream as still being generated. A change to the messages caused by the
reply moves the status from ``submitted`` to ``streaming``.

The server asks for client tools and approvals in three ways, all ending up in the same
place (:meth:`Conversation.on_tool_call`, ``on_approval_request``): TanStack 0.10's
CUSTOM events (through the processor), a run's interrupts (TanStack 0.58, pydantic-ai:
:meth:`Conversation._on_interrupts`, answered by the next request, see ``_interrupts``),
and, plain AG-UI, a call to a declared client tool the run left unanswered
(:meth:`Conversation.claim_client_calls`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias, cast

from .._events import BaseEvent, EventType, RunFinishedEvent, TextMessageContentEvent
from .._events._run import Interrupt
from .._events._text_runs import PlainTextRun, SliceItem
from .._messages import ToolCallPart, ToolResultPart, UIMessage
from .._processor import (
    ApprovalRequest,
    ChunkStrategy,
    MessagesView,
    StreamProcessor,
    ToolCallRequest,
    copy_json,
)
from .._processor._context import newest_tool_call
from .._processor._custom import mark_approval_requested
from .._run_input._request_body import ResumeEntry
from ._freezing import MessageFreezer
from ._interrupts import InterruptedRun, is_answered
from ._observable import ObservableState
from ._options import Settings
from ._request import Phase, Request, resolve
from ._reused_ids import OPENING_EVENTS, ReusedIdGuard, check_reused_id
from ._state import ChatStatus, Trigger, text_weight
from ._tools import FollowUp, Tool, run_tool

_RUN_EVENTS: Final = frozenset({EventType.RUN_STARTED, EventType.RUN_FINISHED, EventType.RUN_ERROR})
_RUN_FINISHED: Final = EventType.RUN_FINISHED
_SUBMITTED: Final = ChatStatus.SUBMITTED
_NO_CALLS: Final[frozenset[str]] = frozenset()
_Deltas: TypeAlias = Sequence[TextMessageContentEvent]

# The answer recorded for a tool call that stop() left unanswered (see answer_open_calls).
STOPPED_TOOL_ERROR: Final = (
    "Error: cancelled by the user (the request was stopped before this tool call was answered)"
)
# The same for a call left unanswered by a request that failed.
FAILED_TOOL_ERROR: Final = (
    "Error: the request failed before this tool call was answered (no result was produced)"
)

logger = logging.getLogger("chatconduit.client")


class Conversation:
    """The messages, the live request, and what each event of a reply does to them."""

    # What continues the conversation after a tool of a server-pushed run answered while
    # idle: the client's TurnRunner (which needs this conversation), set once it exists.
    follow_up: FollowUp

    def __init__(
        self,
        observable: ObservableState,
        settings: Settings,
        initial_messages: Iterable[UIMessage | Mapping[str, Any]] | None,
        chunk_strategy: ChunkStrategy | None,
    ) -> None:
        # This conversation is the processor's listener: its on_* methods below.
        self.processor = StreamProcessor(
            initial_messages=initial_messages, chunk_strategy=chunk_strategy, listener=self
        )
        self._observable = observable
        # Held directly: the hot path reads them for every event.
        self._lifecycle = observable.lifecycle
        self._calls = observable.calls
        self._hub = observable.hub
        self._settings = settings
        self.request: Request | None = None  # the live request: set exactly while loading
        self.closed = False
        self.turn_changed = False  # the reply changed the messages during this turn
        self.finished: UIMessage | None = None  # what on_stream_end reported
        self._in_event = False  # inside processor.process (a change caused by the reply)
        # To run once processor.process returns; made when needed, as the set below.
        self._deferred: list[Callable[[], None]] | None = None
        self._cancels = 0  # requests cancelled so far (stop / reload / unsubscribe / swap)
        self._idle_tool_tasks: set[asyncio.Task[None]] | None = None  # of server-pushed runs
        self._freezer: MessageFreezer | None = None  # made by the first snapshot
        # The last run that ended waiting for the client, until a request answers it.
        self.interrupted: InterruptedRun | None = None
        # Calls a TanStack 0.58 server asked about with an interrupt: every request writes
        # their tool messages as its 0.33 client does (the server needs them to stay answered).
        # Replaced, never mutated (a request copies it).
        self.tanstack_calls: frozenset[str] = _NO_CALLS
        self._state_version = 0
        self._state_copy: tuple[int, Any] = (0, None)
        # A new reply under an earlier turn's message id: made by the first (see check_reused_id).
        self._reused_ids: ReusedIdGuard | None = None

    # ------------------------------------------------------------------ the live request

    @property
    def declared_tools(self) -> Mapping[str, Tool]:
        """The client tools the conversation declares to the agent (read-only)."""
        return self._settings.tools

    def begin(self, request: Request) -> None:
        self.request = request

    def end(self, request: Request, phase: Phase) -> None:
        """End the live ``request`` (its first ending counts): it turns stale, and the
        client has no live request until the next :meth:`begin`."""
        if not request.is_stale():
            request.phase = phase
        self.request = None

    def running_runs(self) -> bool:
        return any(info.status == "running" for info in self.processor.runs.values())

    # ------------------------------------------------------------------ events

    def on_event(self, event: BaseEvent) -> None:
        """Everything that happens for one event, in both adapter modes (the hot path)."""
        callback = self._observable.callbacks.on_chunk
        if callback is not None:
            cancels = self._cancels
            self._calls.emit(callback, event)
            if self._cancels != cancels:
                return  # on_chunk stopped the request: this event is not applied
        hub = self._hub
        if hub.has_subscribers:
            hub.growth += text_weight(event)
        kind = event.type
        opening = OPENING_EVENTS.get(kind)
        if opening is not None:
            self._reused_ids = check_reused_id(
                self._reused_ids, event, opening, self.processor.messages
            )
        self._in_event = True
        try:
            self.processor.process(event)
            if kind == _RUN_FINISHED:
                assert isinstance(event, RunFinishedEvent)
                outcome = event.outcome
                if outcome is not None and outcome.interrupts:
                    self._on_interrupts(event.run_id, outcome.parsed_interrupts())
        finally:
            self._in_event = False
            if self._deferred:
                deferred, self._deferred = self._deferred, None
                for action in deferred:
                    action()
        if kind in _RUN_EVENTS:
            self._observable.run_event(kind, event.__dict__.get("run_id"))

    def on_events(self, batch: Sequence[SliceItem], request: Request) -> None:
        """A slice of ``request``'s reply, in order (the pull driver over our own
        adapters): what :meth:`on_event` does for each event, except that consecutive
        text deltas for one message are applied together and announced once (see
        :meth:`_on_text_run`), as is a ``PlainTextRun`` (such deltas not yet made into
        events: they are made for ``on_chunk``). Stops once the request went stale (a
        callback stopped it), as the event-by-event loop does."""
        count = len(batch)
        index = 0
        while index < count:
            event: Any = batch[index]  # typed below by its class (no cast call per event)
            end = index + 1
            if event.__class__ is PlainTextRun:
                if self._observable.callbacks.on_chunk is None and len(event) > 1:
                    self._on_text_run(event)
                else:
                    self.on_events(event.events(), request)
            elif event.__class__ is TextMessageContentEvent:
                message_id = event.__dict__["message_id"]
                while (
                    end < count
                    and batch[end].__class__ is TextMessageContentEvent
                    and batch[end].__dict__["message_id"] == message_id
                ):
                    end += 1
                if end - index > 1:
                    self._on_text_run(cast(_Deltas, batch[index:end]))
                else:
                    self.on_event(event)
            else:
                self.on_event(event)
            index = end
            if request.is_stale():
                return

    def _on_text_run(self, run: _Deltas | PlainTextRun) -> None:
        """:meth:`on_event` for a run of deltas to one message (none opens anything or is
        a run event). ``on_chunk`` still gets every typed event, in order, each before it
        is applied; the run is then applied at once, with one announcement. If ``on_chunk``
        stops the request at an event, only the events before it are applied, as
        :meth:`on_event` would."""
        hub = self._hub
        if run.__class__ is PlainTextRun:  # on_events made its events if on_chunk wants them
            if hub.has_subscribers:
                hub.growth += sum(len(delta) for delta in run.deltas)
        else:
            callback = self._observable.callbacks.on_chunk
            if callback is not None:
                cancels = self._cancels
                emit = self._calls.emit
                for index, event in enumerate(cast(_Deltas, run)):
                    emit(callback, event)
                    if self._cancels != cancels:
                        run = cast(_Deltas, run)[:index]
                        if not run:
                            return
                        break
            if hub.has_subscribers:
                hub.growth += sum(map(text_weight, cast(_Deltas, run)))
        self._in_event = True
        try:
            self.processor.process_text_run(run)
        finally:
            self._in_event = False
            if self._deferred:
                deferred, self._deferred = self._deferred, None
                for action in deferred:
                    action()

    # ------------------------------------------------------------------ processor callbacks
    # The processor's listener (see _processor._listener): the callbacks it has, and None
    # for those it does not want.
    on_error = on_text_update = on_thinking_update = on_tool_call_state_change = None

    def on_messages_change(self, view: MessagesView) -> None:
        if self.request is not None:
            self.turn_changed = True
            # The slot, not the property: this runs for every change of a streamed reply.
            if self._in_event and self._lifecycle._status is _SUBMITTED:
                self._observable.transition(Trigger.RECEIVE)
        self._hub.changed()
        callback = self._observable.callbacks.on_messages_change
        if callback is not None:
            self._calls.emit(callback, view)

    def on_stream_start(self, message: UIMessage) -> None:
        if self.request is not None and message.role == "assistant":
            self.request.created.append(message)

    def on_stream_end(self, message: UIMessage) -> None:
        self.finished = message

    def on_state_change(self, state: Any) -> None:
        self._state_version += 1
        self._hub.changed()

    def on_custom_event(self, name: str, value: Any, tool_call_id: str | None) -> None:
        self._calls.emit(self._observable.callbacks.on_custom_event, name, value, tool_call_id)

    def on_approval_request(self, request: ApprovalRequest) -> None:
        self._calls.emit(self._observable.callbacks.on_approval_request, request)

    # ------------------------------------------------------------------ interrupts

    def _on_interrupts(self, run_id: str | None, interrupts: list[Interrupt]) -> None:
        """A run paused for the client: remember it (the next request answers it) and act
        on each interrupt as on the CUSTOM event it replaces."""
        interrupted = InterruptedRun(run_id, tuple(interrupts))
        self.interrupted = interrupted
        self.tanstack_calls = self.tanstack_calls.union(interrupted.tanstack_calls())
        messages = self.processor.messages
        requests = interrupted.requests(messages)
        for request in requests:
            if isinstance(request, ToolCallRequest):
                self.on_tool_call(request)
                continue
            assert request.tool_call_id is not None
            found = newest_tool_call(messages, request.tool_call_id)
            if found is not None:
                mark_approval_requested(found[1], request.approval_id)
                self.on_messages_change(messages)
            self.on_approval_request(request)
        unanswerable = len(interrupts) - len(requests)
        if unanswerable:
            logger.warning(
                "run %r paused on %d interrupt(s) that are not about a tool call; the next "
                "request answers them as cancelled",
                run_id,
                unanswerable,
            )

    def restore_interrupts(self, run_id: str, pending: list[dict[str, Any]]) -> None:
        """Interrupts a hydrated thread's last run still waits on (``HydratedThread``):
        acted on as if that run had just ended with them (client tools run, approvals
        are requested), and answered by the next request. One that is not an AG-UI
        interrupt is skipped (logged)."""
        interrupts: list[Interrupt] = []
        for item in pending:
            try:
                interrupts.append(Interrupt.model_validate(item))
            except ValueError as exc:
                logger.warning("hydrate: skipping a pending interrupt that is not one: %s", exc)
        if interrupts:
            self._on_interrupts(run_id, interrupts)

    def forget_interrupts(self) -> None:
        """The conversation starts over: no run waits, no call was asked about."""
        self.interrupted = None
        self.tanstack_calls = _NO_CALLS

    def take_resume(self) -> tuple[str | None, list[ResumeEntry]]:
        """The interrupted run and the answers the next request gives it (``(None, [])``
        when no run waits); the run then counts as answered."""
        interrupted, self.interrupted = self.interrupted, None
        if interrupted is None:
            return None, []
        return interrupted.run_id, interrupted.answers(self.processor.messages)

    # ------------------------------------------------------------------ client tools

    def claim_client_calls(self, request: Request) -> None:
        """Plain AG-UI (pydantic-ai, ``ag-ui-protocol``): a server asks for a frontend tool
        by streaming a call to a tool the client declared and ending its run. Each such
        call of this request's reply that nothing answered or asked for otherwise (no
        output, no result, no approval, no CUSTOM event or interrupt) is a client tool
        call: it goes where ``tool-input-available`` goes."""
        tools = self._settings.tools
        if not tools:
            return
        claimed = set(request.tool_calls)
        messages = self.processor.messages
        for tool_call_id, call in list(self.processor.tool_calls.items()):
            if tool_call_id in claimed or call.name not in tools:
                continue
            found = newest_tool_call(messages, tool_call_id)
            if found is None:
                continue
            message, part = found
            if part.approval is not None or is_answered(message, part):
                continue
            arguments = self.processor.tool_call_arguments(tool_call_id)
            self.on_tool_call(ToolCallRequest(tool_call_id, part.name, arguments))

    def on_tool_call(self, request: ToolCallRequest) -> None:
        owner = self.request
        if owner is not None and request.tool_call_id in owner.tool_calls:
            return  # asked twice (an interrupt after a CUSTOM event): run it once
        self._calls.emit(self._observable.callbacks.on_tool_call, request)
        if owner is not None and isinstance(request.tool_call_id, str):
            owner.add_tool_call(request.tool_call_id)
        name = request.tool_name
        found = self._settings.tools.get(name) if isinstance(name, str) else None
        if found is None or found.execute is None or not isinstance(request.tool_call_id, str):
            return  # the application answers it with add_tool_result()
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._execute_tool(found, request.tool_call_id, request, owner))
        if owner is not None:
            owner.add_tool_task(task)
        else:
            if self._idle_tool_tasks is None:
                self._idle_tool_tasks = set()
            self._idle_tool_tasks.add(task)
            task.add_done_callback(self._idle_tool_tasks.discard)

    async def _execute_tool(
        self, found: Tool, tool_call_id: str, request: ToolCallRequest, owner: Request | None
    ) -> None:
        outcome = await run_tool(found, request.input)  # raises only when cancelled
        if self.closed or (owner is not None and owner.is_stale()):
            return  # the request was stopped or failed meanwhile: drop the result
        self._record(found.name, tool_call_id, outcome.output, outcome.error)
        if outcome.interrupt is not None:
            if not self._interrupt(owner, outcome.interrupt):
                # A tool of a server-pushed run while idle: no turn to stop, no
                # send_message to raise it from. It ends this task, which stops the event
                # loop as a Ctrl-C would (the call is answered first).
                raise outcome.interrupt
            return
        if owner is not None:
            owner.tool_answered = True
        elif self.request is not None:
            self.request.tool_answered = True
        else:
            await self.follow_up.continue_if_ready()

    def _record(self, name: str, tool_call_id: str, output: Any, error: str | None) -> None:
        """Answer the call; a result that cannot be recorded is answered by the error."""
        try:
            self.processor.add_tool_result(tool_call_id, output, error)
        except Exception as exc:  # run_tool checked the output; this is the last line
            text = f"Error: {type(exc).__name__}: tool {name!r}: its result could not be recorded"
            logger.warning("%s (%s)", text, exc)
            self.processor.add_tool_result(tool_call_id, None, f"{text} ({exc})")

    def _interrupt(self, owner: Request | None, interrupt: BaseException) -> bool:
        """A tool raised KeyboardInterrupt / SystemExit: end its request now, so that the
        turn stops and re-raises it (``TurnRunner``), as Ctrl-C during the turn would.
        Returns False when no request is live."""
        target = owner if owner is not None else self.request
        if target is None:
            return False
        if target.interrupt is None:
            target.interrupt = interrupt
        current = asyncio.current_task()
        for task in target.tool_tasks:
            if task is not current:
                task.cancel()
        target.abort()  # the stream ends at its next await
        return True

    def cancel_idle_tools(self) -> None:
        for task in list(self._idle_tool_tasks or ()):
            task.cancel()

    # ------------------------------------------------------------------ ending a request

    def cancel(self, request: Request, phase: Phase) -> None:
        """Cancel the live request: abort its adapter call and its tools, keep the partial reply."""
        self.end(request, phase)
        self._cancels += 1
        request.abort()
        self.cancel_tools(request)
        resolve(request.done)

        def forget() -> None:
            if phase is Phase.STOPPED:
                self.answer_open_calls(request, STOPPED_TOOL_ERROR)
            # Forget the interrupted stream (active messages, runs): the partial reply
            # stays, but nothing treats it as still being generated; an empty one goes.
            self.drop_empty_replies(request)
            self.processor.prepare_assistant_message()

        if self._in_event:
            # stop() from a callback inside processor.process(): the processor must not
            # be reset under its own feet; do it once the event is applied.
            self._deferred = [*(self._deferred or ()), forget]
        else:
            forget()

    def answer_open_calls(self, request: Request, error: str) -> None:
        """Answer the tool calls a stopped or failed request left open with ``error``.

        The next request sends the whole conversation, and OpenAI-style backends refuse
        an assistant tool call that no tool message answers; the wire format
        (``ui_messages_to_wire``) sends every tool-call part as a call, answered or not.
        So each call of this request's reply with neither an output nor a result (client
        tools whose run was cancelled, tools the application had yet to answer, server
        tools cut off mid-stream) is answered as cancelled. ``add_tool_result`` may still
        replace that answer. Calls waiting for an approval are left to the approval.
        """
        ids = set(request.tool_calls)
        open_calls: list[str] = []
        for message in self.processor.messages:
            created = any(message is m for m in request.created)
            answered = {p.tool_call_id for p in message.parts if isinstance(p, ToolResultPart)}
            for part in message.parts:
                if (
                    isinstance(part, ToolCallPart)
                    and (created or part.id in ids)
                    and not part.has_output
                    and part.id not in answered
                    and part.approval is None
                ):
                    open_calls.append(part.id)
        for tool_call_id in open_calls:
            self.processor.add_tool_result(tool_call_id, None, error)

    @staticmethod
    def cancel_tools(request: Request) -> None:
        for task in request.tool_tasks:
            task.cancel()

    def drop_empty_replies(self, request: Request) -> None:
        """Remove assistant messages this request created that ended without any part."""
        empty = [m for m in request.created if not m.parts]
        if not empty:
            return
        request.created = [m for m in request.created if m.parts]
        keep = [m for m in self.processor.messages if not any(m is e for e in empty)]
        if len(keep) != len(self.processor.messages):
            self.processor.set_messages(keep)

    # ------------------------------------------------------------------ snapshots

    def freeze(self) -> tuple[tuple[UIMessage, ...], Any, int]:
        """Copies of the messages and the agent state for a snapshot, and their cost."""
        if self._freezer is None:
            self._freezer = MessageFreezer()
        messages, cost = self._freezer.freeze(self.processor.messages)
        if self._state_copy[0] != self._state_version:
            self._state_copy = (self._state_version, copy_json(self.processor.state))  # any depth
        return messages, self._state_copy[1], cost
