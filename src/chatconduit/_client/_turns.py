"""``TurnRunner``: a turn, from the first request to the last follow-up, and stopping it.

A turn is one await: ``send_message`` (and ``append``, ``reload``, a tool answer while
idle) returns when the reply has been *processed*, including client tools and their
automatic follow-up requests (reference §5.3 step 13, 5.6), and returns the final assistant
message. :meth:`TurnRunner.run` is the only place the lifecycle moves through a turn,
and loading spans the whole turn: a follow-up continues it (``streaming → submitted →
streaming``), so ``on_loading_change`` fires ``True`` once and ``False`` once. Every
turn ends in ``ready`` or ``error``. A failure is reported once per request (``error``,
``on_error``; raised only with ``raise_on_error``), and no empty assistant message is
ever left behind. ``stop()`` cancels the request and its client tools, keeps the
partial reply and leaves the client ``ready``. ``on_finish`` fires once for each
request that completed with an assistant reply. A turn sends at most
``max_continuations`` automatic follow-ups (then it fails with
:class:`~chatconduit.ContinuationLimitError`); a client tool's ``KeyboardInterrupt`` /
``SystemExit`` stops the turn and is raised from it.

A turn may also start by *joining* a run already going on the server (``join_run``,
:class:`Join`): its first request sends nothing and reads the run's events from the
adapter's ``join_run`` instead; the rest (client tools, follow-ups, ending) is the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from .._connection._abort import Aborted, AbortScope, AbortSignal
from .._connection._iterables import close_iterator
from .._connection._protocols import RunContext
from .._events import Event, EventType
from .._exceptions import ContinuationLimitError
from .._messages import ToolCallPart, ToolResultPart, UIMessage
from .._run_input import generate_run_id
from .._run_input._request_body import RequestMessages
from ._conversation import FAILED_TOOL_ERROR, Conversation
from ._driver import Driver
from ._freezing import freeze_message
from ._observable import ObservableState
from ._options import Settings
from ._request import Outcome, Phase, Request
from ._state import ChatConnectionStatus, Trigger

logger = logging.getLogger("chatconduit.client")

# Events that (re)build a message: on the first one a join drops the stale copy of the
# message it rebuilds (the reference's REJOIN_REBUILD_TRIGGERS).
_REBUILD: Final = frozenset(
    {
        EventType.TEXT_MESSAGE_START,
        EventType.TEXT_MESSAGE_CONTENT,
        EventType.TOOL_CALL_START,
        EventType.MESSAGES_SNAPSHOT,
    }
)


@dataclass(frozen=True, slots=True)
class Join:
    """A run to join: its id, and how to read its events (the adapter's ``join_run``)."""

    run_id: str
    events: Callable[[AbortSignal], AsyncIterator[Event]]


class TurnRunner:
    """Runs turns through the current driver (``update_options`` may replace it)."""

    def __init__(
        self,
        conversation: Conversation,
        observable: ObservableState,
        settings: Settings,
        driver: Driver,
    ) -> None:
        self.driver = driver
        self.message_body: dict[str, Any] | None = None  # send_message's body, used once
        self._conversation = conversation
        self._processor = conversation.processor
        self._observable = observable
        self._settings = settings

    # ------------------------------------------------------------------ starting and stopping

    async def continue_if_ready(self, raise_on_error: bool | None = None) -> UIMessage | None:
        """Send the follow-up of answered tool calls, when idle and every call is answered."""
        conversation = self._conversation
        if conversation.closed or conversation.request is not None or not self._should_auto_send():
            return None
        return await self.run(Trigger.SEND, raise_on_error)

    def cancel(self, request: Request, phase: Phase) -> None:
        """Cancel the live request (stopped, or superseded by ``reload``)."""
        self.driver.cancelled(request)
        self._conversation.cancel(request, phase)

    def stop(self) -> None:
        """Stop the running turn, if any: status ``ready``, no run marked as generating."""
        current = self._conversation.request
        if current is None:
            return
        self.cancel(current, Phase.STOPPED)
        self.driver.stopped()
        self._observable.clear_runs()
        self._observable.transition(Trigger.STOP)

    # ------------------------------------------------------------------ a turn

    async def run(
        self, trigger: Trigger, raise_on_error: bool | None, join: Join | None = None
    ) -> UIMessage | None:
        """Run requests until the reply is complete; the lifecycle is changed only here.
        With ``join``, the first request reads that run instead of sending one."""
        conversation = self._conversation
        observable = self._observable
        observable.transition(trigger)
        observable.set_error(None)
        conversation.turn_changed = False
        request = Request()
        conversation.begin(request)
        continuations = 0  # automatic follow-up requests sent in this turn
        try:
            while True:
                outcome = await self._run_request(request, join)
                join = None
                if outcome == "stale":
                    return self._turn_result() if request.stopped else None
                if outcome == "failed":
                    error = request.error
                    assert error is not None
                    return self._fail(request, error, raise_on_error)
                if self._should_continue(request):
                    limit = self._settings.max_continuations
                    if limit is not None and continuations >= limit:
                        # An agent that answers every follow-up with another client-tool
                        # call would otherwise keep this turn (and send_message) going
                        # forever, thousands of requests a second.
                        return self._fail(request, ContinuationLimitError(limit), raise_on_error)
                    continuations += 1
                    observable.transition(Trigger.CONTINUE)
                    conversation.end(request, Phase.FINISHED)
                    request = Request()
                    conversation.begin(request)
                    continue
                conversation.end(request, Phase.FINISHED)
                observable.transition(Trigger.FINISH)
                return self._turn_result()
        except BaseException:
            # Cancelled from outside (a timeout around send_message, Ctrl-C), a client
            # tool's KeyboardInterrupt / SystemExit (re-raised by _run_request) or a bug:
            # leave the client idle, as stop() would.
            if not request.is_stale():
                self.stop()
            raise

    def _fail(
        self, request: Request, error: BaseException, raise_on_error: bool | None
    ) -> UIMessage | None:
        """End the turn with ``error``: status ``error``, ``on_error``, the partial reply kept."""
        conversation = self._conversation
        conversation.end(request, Phase.FAILED)
        conversation.cancel_tools(request)
        # As after stop(): the next request sends every call, and OpenAI-style backends
        # refuse one that no tool message answers.
        conversation.answer_open_calls(request, FAILED_TOOL_ERROR)
        conversation.drop_empty_replies(request)
        self._processor.prepare_assistant_message()  # forget the broken stream
        self._observable.fail(error)
        result = self._turn_result()
        should_raise = self._settings.raise_on_error if raise_on_error is None else raise_on_error
        if should_raise:
            raise error
        return result

    async def _run_request(self, request: Request, join: Join | None = None) -> Outcome:
        processor = self._processor
        observable = self._observable
        if join is not None:
            request.run_context = RunContext(thread_id=self._settings.thread_id, run_id=join.run_id)
            processor.prepare_assistant_message()
            self._conversation.finished = None
            request.phase = Phase.RUNNING
            try:
                await self._join(request, join)
            except Exception as exc:
                if request.is_stale():
                    return "stale"
                if request.interrupt is None:
                    request.error = exc
                    return "failed"
            return await self._after_reply(request)
        calls = observable.calls
        messages = list(processor.messages)
        if observable.callbacks.on_response is not None:
            calls.emit(observable.callbacks.on_response)
            await calls.flush()
        if request.is_stale():
            return "stale"  # stop() or reload() inside on_response: nothing is sent
        data = self._next_body()
        # A run that paused for the client (interrupts) is answered by this request, the
        # way the server asked: its id as parentRunId, the answers as resume.
        parent_run_id, resume = self._conversation.take_resume()
        tanstack_calls = self._conversation.tanstack_calls
        if resume or tanstack_calls:
            messages = RequestMessages(messages, resume, tanstack_calls)
        request.run_context = RunContext(
            thread_id=self._settings.thread_id,
            run_id=generate_run_id("run"),
            parent_run_id=parent_run_id,
            # A tuple: the shared empty one when there are no tools (most clients).
            client_tools=tuple([t.spec() for t in self._settings.tools.values()]),
            forwarded_props=dict(data),
        )
        processor.prepare_assistant_message()
        self._conversation.finished = None
        request.phase = Phase.RUNNING
        try:
            running = self.driver.run(request, messages, data)
            del messages, data, resume  # see PullDriver.run: not kept for the whole stream
            await running
        except Exception as exc:
            if request.is_stale():
                return "stale"
            if request.interrupt is None:  # else the abort below caused it
                request.error = exc
                return "failed"
        return await self._after_reply(request)

    async def _after_reply(self, request: Request) -> Outcome:
        """The reply was read: client tools, then the request's outcome."""
        processor = self._processor
        observable = self._observable
        if request.is_stale():
            return "stale"
        if request.interrupt is not None:
            # A client tool raised KeyboardInterrupt / SystemExit and aborted the request;
            # its call is answered. run() stops the turn and lets it propagate.
            raise request.interrupt
        if processor.has_error:
            request.error = processor.error
            return "failed"
        self._conversation.claim_client_calls(request)  # plain AG-UI frontend tools
        pending = [t for t in request.tool_tasks if not t.done()]
        if pending:
            results = await asyncio.gather(*pending, return_exceptions=True)
            if request.is_stale():
                return "stale"
            if request.interrupt is not None:
                raise request.interrupt
            for result in results:
                if isinstance(result, Exception):
                    # run_tool turns every failure into an answer, so this is a bug; a
                    # call left unanswered must not end the turn as if nothing happened.
                    logger.error("client tool task failed: %r", result, exc_info=result)
                    request.error = result
                    return "failed"
        processor.finalize_stream()
        self._conversation.drop_empty_replies(request)
        finished, self._conversation.finished = self._conversation.finished, None
        if finished is not None and any(m is finished for m in processor.messages):
            observable.finished(finished)
        observable.hub.changed(urgent=True)
        return "ok"

    async def _join(self, request: Request, join: Join) -> None:
        """Read the joined run's events into the conversation, as a reply's."""
        observable = self._observable
        pull = self.driver.kind == "pull"  # a push adapter's status is its subscription's
        if pull:
            observable.set_connection(ChatConnectionStatus.CONNECTING)
        scope = AbortScope(request.signal)
        failed = False
        try:
            await scope.run(self._consume_join(request, join))
        except Aborted:
            pass  # stop(): the request is already stale
        except Exception:
            failed = True
            raise
        finally:
            scope.close()
            if pull and not request.is_stale():
                observable.set_connection(
                    ChatConnectionStatus.ERROR if failed else ChatConnectionStatus.DISCONNECTED
                )
            if not request.is_stale():
                observable.clear_runs()

    async def _consume_join(self, request: Request, join: Join) -> None:
        iterator = join.events(request.signal)
        conversation = self._conversation
        calls = self._observable.calls
        rebuilt = False
        try:
            first = True
            async for event in iterator:
                if request.is_stale():
                    return
                if first:
                    first = False
                    if self.driver.kind == "pull":
                        self._observable.set_connection(ChatConnectionStatus.CONNECTED)
                if not rebuilt and event.type in _REBUILD:
                    rebuilt = True
                    self._drop_stale_copy(request, event)
                conversation.on_event(event)
                if calls.queue:
                    await calls.flush()
        finally:
            await close_iterator(iterator)

    def _drop_stale_copy(self, request: Request, event: Event) -> None:
        """A hydrated thread may hold the joined run's partial reply: the replay rebuilds
        it from the start, so the trailing assistant message it rebuilds is dropped."""
        messages = self._processor.messages
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant" or any(last is m for m in request.created):
            return
        fields = event.__dict__
        message_id = fields.get("message_id") or fields.get("parent_message_id")
        if event.type is EventType.MESSAGES_SNAPSHOT or message_id == last.id:
            self._processor.set_messages(list(messages)[:-1])

    # ------------------------------------------------------------------ the rules

    def _should_auto_send(self) -> bool:
        """reference §5.6 ``shouldAutoSend``: the last assistant message has tool calls,
        all answered."""
        for message in reversed(self._processor.messages):
            if message.role == "assistant":
                for part in message.parts:
                    if isinstance(part, ToolCallPart):
                        return self._processor.are_all_tools_complete()
                return False
        return False

    def _should_continue(self, request: Request) -> bool:
        """Whether a successful request is followed by another one (reference §5.3 step 13, 5.6)."""
        if not self._should_auto_send():
            return False
        if request.tool_answered:
            return True  # client tools (or the app) answered during the request
        messages = self._processor.messages
        last = messages[-1] if messages else None
        if last is None or not last.parts or not isinstance(last.parts[-1], ToolResultPart):
            return False
        return self._processor.finish_reason != "stop"

    def _turn_result(self) -> UIMessage | None:
        if not self._conversation.turn_changed:
            return None
        messages = self._processor.messages
        if messages and messages[-1].role == "assistant":
            return freeze_message(messages[-1])
        return None

    def _next_body(self) -> dict[str, Any]:
        """reference §1.3: ``body`` < ``forwarded_props`` < per-message body (used once)."""
        merged: dict[str, Any] = {}
        merged.update(self._settings.body)
        merged.update(self._settings.forwarded_props)
        if self.message_body:
            merged.update(self.message_body)
        self.message_body = None
        return merged
