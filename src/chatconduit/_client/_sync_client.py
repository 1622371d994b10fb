"""``SyncChatClient``: the ``ChatClient`` for blocking code. Scripts, notebooks,
Django/Flask views and Streamlit apps have no event loop of their own to spare (or have
one that is already running, as Jupyter does, where ``asyncio.run`` refuses to start),
so this client does not borrow the caller's loop: it runs an ordinary
:class:`~chatconduit.ChatClient` on a private event loop in a daemon thread
(``_loop_thread.py``), and every method hands its work to that loop and blocks the
calling thread until it is done; any thread may call it, including one with a running
loop. It takes the same options (``ChatClientOptions``) and has the same members, with
the few deliberate differences listed on the class (``tests/test_client_sync_parity.py``
keeps the two in step).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, Unpack

from .._connection._hydrate import HydratedThread
from .._exceptions import ClientClosedError
from .._messages import UIMessage
from .._messages._ui_message import reply_messages, reply_text
from ._chat_client import ChatClient
from ._freezing import freeze_message
from ._inputs import MessageInput, PartInput
from ._loop_thread import CLOSE_TIMEOUT, LatestSlot, LoopThread, relay, unwrap
from ._options import ChatClientOptions, OptionChanges
from ._reply import Body, Content, Reply, SendOptions
from ._state import ChatConnectionStatus, ChatSnapshot, ChatStatus
from ._tools import Tool

__all__ = ["SyncChatClient"]

T = TypeVar("T")

_CANCEL_TIMEOUT = 5.0  # seconds an interrupted call waits for the stop to take effect


class SyncChatClient:
    """A blocking :class:`~chatconduit.ChatClient` (same options and members)::

        with SyncChatClient(fetch_server_sent_events(url)) as chat:
            reply = chat.send_message("Hello")
            for snap in chat.stream_message("Tell me more"):
                print(snap.last_message)

    ``options`` are :class:`ChatClientOptions`, as for ``ChatClient``. The deliberate
    differences from ``ChatClient``:

    - ``close()``, ``with`` instead of ``aclose()``, ``async with``. Closing stops
      everything, closes the connection adapter when it has ``aclose()`` (its HTTP
      connections belong to the private loop, which ends here) and joins the thread.
      It may be called from another thread while one iterates ``stream_message``: that
      iteration ends after the last snapshot (one not started yet raises
      ``ClientClosedError``, as every call does once the loop has stopped).
    - ``stream_message(...)`` instead of ``updates()``: sends, and yields
      :class:`~chatconduit.ChatSnapshot`\\ s as the reply arrives, always the newest
      one: a slow loop body skips intermediate states and never makes the stream wait
      or memory grow. Leaving the loop early stops the reply.
    - ``send_message(..., timeout=None)``: stop the reply and raise ``TimeoutError``
      after ``timeout`` seconds. Interrupting any blocking call (Ctrl-C) stops the
      reply first, so the client is ``ready`` again when the exception reaches you.
    - ``messages``, ``state`` and ``usage`` return copies (taken on the loop thread),
      since the live values change on the other thread.
    - ``async_client`` and ``loop``: the wrapped client and its loop. Callbacks run on
      that loop's thread, not the caller's; a callback must not call the
      ``SyncChatClient`` back (it would wait for itself): such a call raises
      ``RuntimeError`` instead of deadlocking.
    """

    def __init__(self, connection: object, **options: Unpack[ChatClientOptions]) -> None:
        self._closed = False
        # The live stream_message() calls: close() lets them end, then releases any left.
        self._streams: dict[LatestSlot, concurrent.futures.Future[None] | None] = {}
        self._streams_lock = threading.Lock()
        self._runner = LoopThread("chatconduit-sync-client")
        self._loop = self._runner.loop
        self._thread = self._runner.thread
        try:
            self._client: ChatClient = self._call(lambda: ChatClient(connection, **options))
        except BaseException:
            self._runner.stop()
            raise

    # ------------------------------------------------------------------ plumbing

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("this SyncChatClient was closed; create a new one")
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "SyncChatClient methods cannot be called from its own callbacks (they run "
                "on the client's loop thread, and the call would wait for itself); use "
                "the ChatClient given by .async_client there"
            )

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the loop thread and return its result."""
        if threading.current_thread() is self._thread:
            self._check()  # raises: waiting here would wait for ourselves
        return self._runner.call(fn)

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
        """Run a coroutine of the client on the loop and wait; an interruption stops the turn."""
        self._check()
        task, result = self._runner.submit(make())
        try:
            return result.result(timeout)
        except BaseException as exc:
            if not result.done():
                # Ctrl-C or our timeout: cancel the turn (ChatClient treats a cancelled
                # send like stop()) and wait until that has happened.
                if self._runner.post(task.cancel):
                    concurrent.futures.wait([result], _CANCEL_TIMEOUT)
                if isinstance(exc, TimeoutError):
                    raise TimeoutError(
                        f"no complete reply within {timeout}s; the request was stopped"
                    ) from None
            raise

    # ------------------------------------------------------------------ state

    @property
    def async_client(self) -> ChatClient:
        """The wrapped ChatClient; use it only on :attr:`loop` (e.g. in callbacks)."""
        return self._client

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def id(self) -> str:
        return self._client.id

    @property
    def thread_id(self) -> str:
        return self._client.thread_id

    @property
    def status(self) -> ChatStatus:
        return self._client.status

    @property
    def is_loading(self) -> bool:
        return self._client.is_loading

    @property
    def error(self) -> BaseException | None:
        return self._client.error

    @property
    def connection_status(self) -> ChatConnectionStatus:
        return self._client.connection_status

    @property
    def session_generating(self) -> bool:
        return self._client.session_generating

    @property
    def is_subscribed(self) -> bool:
        return self._client.is_subscribed

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def finish_reason(self) -> str | None:
        return self._client.finish_reason

    @property
    def usage(self) -> Any:
        """A copy of ``usage`` of the latest response's RUN_FINISHED."""
        self._check()
        client = self._client
        return self._call(lambda: copy.deepcopy(client.usage))

    @property
    def tools(self) -> Mapping[str, Tool]:
        return self._client.tools

    @property
    def adapter(self) -> object:
        return self._client.adapter

    @property
    def messages(self) -> tuple[UIMessage, ...]:
        """A fresh copy of the conversation (taken on the loop thread), yours to change."""
        self._check()
        client = self._client
        return self._call(lambda: tuple(freeze_message(m) for m in client.messages))

    @property
    def state(self) -> Any:
        """A copy of the agent's shared state."""
        return self.snapshot().state

    def snapshot(self) -> ChatSnapshot:
        self._check()
        return self._call(self._client.snapshot)

    def __repr__(self) -> str:
        return f"<SyncChatClient {self._client!r}{' closed' if self._closed else ''}>"

    # ------------------------------------------------------------------ turns

    def send_message(
        self,
        content: str | Sequence[PartInput],
        body: Mapping[str, Any] | None = None,
        *,
        message_id: str | None = None,
        raise_on_error: bool | None = None,
        timeout: float | None = None,
    ) -> UIMessage | None:
        """Send and block until the reply is complete (see ``ChatClient.send_message``).

        ``timeout`` (s): stop the reply and raise ``TimeoutError`` if it takes longer.
        """
        client = self._client
        return self._run(
            lambda: client.send_message(
                content, body, message_id=message_id, raise_on_error=raise_on_error
            ),
            timeout,
        )

    def stream_message(
        self,
        content: str | Sequence[PartInput],
        body: Mapping[str, Any] | None = None,
        *,
        message_id: str | None = None,
        raise_on_error: bool | None = None,
        max_latency: float = 0.05,
    ) -> Iterator[ChatSnapshot]:
        """Send, and yield snapshots while the reply arrives; the last one is the final state.

        Breaking out of the loop (or closing the generator) stops the reply. With
        ``raise_on_error`` a failure is raised after the final snapshot was yielded.
        ``close()`` from another thread ends the iteration (the reply is stopped, the
        last snapshot yielded); if the stream had not started yet, it raises
        :class:`ClientClosedError`.
        """
        self._check()
        client = self._client
        slot = LatestSlot()

        async def pump() -> None:
            updates = client.updates(max_latency=max_latency)
            send = asyncio.ensure_future(
                relay(
                    client.send_message(
                        content, body, message_id=message_id, raise_on_error=raise_on_error
                    )
                )
            )
            following: asyncio.Future[ChatSnapshot] | None = None
            try:
                while not send.done():
                    following = asyncio.ensure_future(anext(updates))
                    await asyncio.wait({following, send}, return_when=asyncio.FIRST_COMPLETED)
                    if not following.done():
                        break  # the reply is complete; the final snapshot follows
                    if following.exception() is not None:
                        following = None
                        break  # the client was closed: updates ended
                    slot.put(following.result())
                    following = None
                if following is not None:
                    following.cancel()
                    await asyncio.wait({following})
                    following = None
                await asyncio.wait({send})
                slot.put(client.snapshot())
                error = unwrap(send.exception())
                slot.finish(None if error is not None else send.result(), error)
            finally:
                if following is not None:
                    following.cancel()
                if not send.done():
                    send.cancel()  # the consumer left: ChatClient stops the turn
                    await asyncio.wait({send})
                await updates.aclose()
                slot.finish(None, None)  # no-op if already finished

        with self._streams_lock:
            self._streams[slot] = None
        try:
            task, done = self._runner.submit(pump())
        except BaseException:
            with self._streams_lock:
                self._streams.pop(slot, None)
            raise
        with self._streams_lock:
            if slot in self._streams:  # else close() has released it already
                self._streams[slot] = done
        try:
            while True:
                item = slot.get()
                if item is None:
                    break
                yield item
            slot.outcome()  # the reply's error, with raise_on_error
            failure = done.exception(_CANCEL_TIMEOUT)  # a failure of the pump itself (a bug)
            # Closed from another thread: the loop stopped under the pump (the failure is
            # ClientClosedError); the iteration ends as it would at the reply's end.
            if failure is not None and not self._closed:
                raise failure
        finally:
            with self._streams_lock:
                self._streams.pop(slot, None)
            if not done.done() and self._runner.post(task.cancel):
                concurrent.futures.wait([done], _CANCEL_TIMEOUT)

    def ask(
        self,
        content: Content,
        body: Body = None,
        *,
        timeout: float | None = None,
        **kw: Unpack[SendOptions],
    ) -> Reply:
        """Send and block until the turn ends; the whole :class:`Reply` (see ``ChatClient.ask``)."""
        client = self._client
        return self._run(lambda: client.ask(content, body, **kw), timeout)

    def stream_text(
        self,
        content: Content,
        body: Body = None,
        *,
        max_latency: float = 0.05,
        **kw: Unpack[SendOptions],
    ) -> Iterator[str]:
        """Send, and yield the reply's text as it arrives (``"".join`` of it is
        ``Reply.text``); leaving the loop early stops the reply."""
        start = len(self.messages)
        emitted = ""
        for snapshot in self.stream_message(content, body, max_latency=max_latency, **kw):
            text = reply_text(reply_messages(snapshot.messages, start))
            if len(text) > len(emitted) and text.startswith(emitted):
                yield text[len(emitted) :]
                emitted = text

    def append(
        self, message: MessageInput, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        client = self._client
        return self._run(lambda: client.append(message, raise_on_error=raise_on_error))

    def reload(self, *, raise_on_error: bool | None = None) -> UIMessage | None:
        client = self._client
        return self._run(lambda: client.reload(raise_on_error=raise_on_error))

    def add_tool_result(
        self,
        tool_call_id: str,
        output: Any = None,
        *,
        error: str | None = None,
        raise_on_error: bool | None = None,
    ) -> UIMessage | None:
        client = self._client
        return self._run(
            lambda: client.add_tool_result(
                tool_call_id, output, error=error, raise_on_error=raise_on_error
            )
        )

    def add_tool_approval_response(
        self, approval_id: str, approved: bool, *, raise_on_error: bool | None = None
    ) -> UIMessage | None:
        client = self._client
        return self._run(
            lambda: client.add_tool_approval_response(
                approval_id, approved, raise_on_error=raise_on_error
            )
        )

    def join_run(self, run_id: str, *, raise_on_error: bool | None = None) -> UIMessage | None:
        """Join a run the server is producing and block until its reply is complete
        (see ``ChatClient.join_run``)."""
        client = self._client
        return self._run(lambda: client.join_run(run_id, raise_on_error=raise_on_error))

    def hydrate(
        self, thread_id: str | None = None, *, raise_on_error: bool | None = None
    ) -> HydratedThread:
        """Load the stored thread, joining its running run (see ``ChatClient.hydrate``)."""
        client = self._client
        return self._run(lambda: client.hydrate(thread_id, raise_on_error=raise_on_error))

    # ------------------------------------------------------------------ plain calls

    def stop(self) -> None:
        """Stop the running reply (safe from any thread but the client's own)."""
        if self._closed:
            return
        self._check()
        self._call(self._client.stop)

    def clear(self) -> None:
        self._check()
        self._call(self._client.clear)

    def set_messages(self, messages: Iterable[UIMessage | Mapping[str, Any]]) -> None:
        self._check()
        items = list(messages)
        self._call(lambda: self._client.set_messages(items))

    def update_options(self, **changes: Unpack[OptionChanges]) -> None:
        self._check()
        self._call(lambda: self._client.update_options(**changes))

    def subscribe(self, *, restart: bool = False) -> None:
        self._check()
        self._call(lambda: self._client.subscribe(restart=restart))

    def unsubscribe(self) -> None:
        self._check()
        self._call(self._client.unsubscribe)

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Stop everything, close the adapter (if it has ``aclose``), end the thread."""
        if self._closed:
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncChatClient.close() cannot be called from its own callbacks")
        client = self._client

        async def shutdown() -> None:
            await client.aclose()
            aclose = getattr(client.adapter, "aclose", None)
            if callable(aclose):
                with contextlib.suppress(Exception):
                    await aclose()

        try:
            _, done = self._runner.submit(shutdown())
            done.result(CLOSE_TIMEOUT)
            # The turns are stopped: let each stream_message pump hand over its final
            # snapshot before the loop stops under it.
            with self._streams_lock:
                pumps = [d for d in self._streams.values() if d is not None]
            concurrent.futures.wait(pumps, CLOSE_TIMEOUT)
        except ClientClosedError:
            pass  # the loop had already stopped (killed by a tool's KeyboardInterrupt)
        finally:
            self._closed = True
            self._runner.stop()
            # Whatever the loop did not finish: wake the iterating threads (their
            # generators end; see stream_message).
            with self._streams_lock:
                slots, self._streams = list(self._streams), {}
            for slot in slots:
                slot.finish(None, None)

    def __enter__(self) -> SyncChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
