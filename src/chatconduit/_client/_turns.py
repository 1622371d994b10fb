"""``TurnRunner``: a turn, from the first request to the last follow-up.

``_turn`` is the only place the lifecycle moves through a turn: it runs requests
(``_run_request``) until the reply is complete, continuing after client tools
(SPEC 5.3 step 13, 5.6). A pull adapter's reply is consumed by the request itself
(``_request_pull``); a push adapter's request waits for the subscription loop
(``_push.py``) to finish processing the run (``_request_push``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from .._connection._abort import Aborted, AbortScope
from .._connection._iterables import close_iterator, to_async_iterator
from .._connection._protocols import ConnectConnectionAdapter, RunContext
from .._events import BaseEvent, coerce_event
from .._messages import ToolCallPart, ToolResultPart, UIMessage
from .._run_input import generate_run_id
from ._core import ClientCore
from ._request import Outcome, Request, is_transport_failure
from ._state import ChatConnectionStatus, Trigger, freeze_message

logger = logging.getLogger("chatconduit.client")


class TurnRunner(ClientCore):
    """Turns and their requests (the pull path, and the push path's sending side)."""

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

    def _should_continue(self, request: Request) -> bool:
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
        request = Request()
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
                    self._calls.emit(self._cb.on_error, error)
                    result = self._turn_result()
                    should_raise = (
                        self._raise_on_error if raise_on_error is None else raise_on_error
                    )
                    if should_raise:
                        raise error
                    return result
                if self._should_continue(request):
                    self._transition(Trigger.CONTINUE)
                    request = Request()
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

    async def _run_request(self, request: Request) -> Outcome:
        messages = list(self._processor.messages)
        if self._cb.on_response is not None:
            self._calls.emit(self._cb.on_response)
            await self._calls.flush()
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
                    if is_transport_failure(exc)
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
            self._calls.emit(self._cb.on_finish, freeze_message(finished))
        self._hub.changed(urgent=True)
        return "ok"

    async def _request_pull(
        self,
        adapter: ConnectConnectionAdapter,
        request: Request,
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
        request: Request,
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
                if self._calls.queue:
                    await self._calls.flush()
        finally:
            # Closing the iterator closes the HTTP response: the server sees the
            # disconnect at once rather than when it next writes.
            await close_iterator(iterator)

    async def _request_push(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
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
