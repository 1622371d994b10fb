"""``SyncChatClient``: the ``ChatClient`` for blocking code.

Scripts, notebooks, Django/Flask views and Streamlit apps have no event loop of
their own to spare (or have one that is already running, as Jupyter does, where
``asyncio.run`` refuses to start). So the client does not borrow the caller's
loop: it runs an ordinary :class:`~chatconduit.ChatClient` on a private event
loop in a daemon thread, and every method hands its work to that loop and blocks
the calling thread until it is done. Any thread may call it, including one with a
running loop.

Consequences worth knowing:

- Callbacks run on the private loop's thread, not the caller's. A callback must not
  call the ``SyncChatClient`` back (that would wait for itself); such a call raises
  ``RuntimeError`` instead of deadlocking.
- ``messages`` returns copies (a tuple of UIMessages), since the live list is being
  changed on the other thread.
- ``stream_message`` yields :class:`~chatconduit.ChatSnapshot`\\ s as the reply
  arrives, always the newest one: a slow loop body skips intermediate states and
  never makes the stream wait or memory grow. Leaving the loop early stops the reply.
- Interrupting a blocking call (Ctrl-C, or ``timeout``) stops the reply first, so the
  client is ``ready`` again when the exception reaches you.
- ``close()`` (or the ``with`` block) stops everything, closes the connection
  adapter when it has ``aclose()`` (its HTTP connections belong to the private loop,
  which ends here) and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .._messages import UIMessage
from . import ChatClient, ClientClosedError, MessageInput, PartInput
from ._state import ChatConnectionStatus, ChatSnapshot, ChatStatus, freeze_message

__all__ = ["SyncChatClient"]

T = TypeVar("T")

_CLOSE_TIMEOUT = 10.0  # seconds close() waits for the loop to wind down
_CANCEL_TIMEOUT = 5.0  # seconds an interrupted call waits for the stop to take effect


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Stop and close a private loop (also the finalizer of an unclosed client)."""
    if loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(_CLOSE_TIMEOUT)
    if not thread.is_alive():
        loop.close()


class _LatestSlot:
    """Hands the newest snapshot from the loop thread to the consuming thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: ChatSnapshot | None = None
        self._version = -1  # of the newest snapshot put
        self._finished = False
        self._result: UIMessage | None = None
        self._error: BaseException | None = None

    def put(self, item: ChatSnapshot) -> None:
        with self._cond:
            if item.version <= self._version:
                return  # already handed over (the final snapshot may repeat the last one)
            self._version = item.version
            self._item = item  # replaces an undelivered older one: coalescing
            self._cond.notify()

    def finish(self, result: UIMessage | None, error: BaseException | None) -> None:
        """The outcome; only the first call counts."""
        with self._cond:
            if self._finished:
                return
            self._finished = True
            self._result = result
            self._error = error
            self._cond.notify()

    def get(self) -> ChatSnapshot | None:
        """The next snapshot, or None once finished and everything was delivered."""
        with self._cond:
            while self._item is None and not self._finished:
                self._cond.wait()
            item, self._item = self._item, None
            return item

    def outcome(self) -> UIMessage | None:
        with self._cond:
            if self._error is not None:
                raise self._error
            return self._result


class SyncChatClient:
    """A blocking :class:`~chatconduit.ChatClient` (same options and methods)::

        with SyncChatClient(fetch_server_sent_events(url)) as chat:
            reply = chat.send_message("Hello")
            for snap in chat.stream_message("Tell me more"):
                print(snap.last_message)

    ``options`` are those of ``ChatClient`` (``tools``, ``body``, callbacks, ...).
    """

    def __init__(self, connection: object, **options: Any) -> None:
        self._closed = False
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="chatconduit-sync-client", daemon=True)
        thread.start()
        ready.wait()
        self._loop = loop
        self._thread = thread
        self._finalizer = weakref.finalize(self, _stop_loop, loop, thread)
        try:
            self._client: ChatClient = self._call(lambda: ChatClient(connection, **options))
        except BaseException:
            self._finalizer()
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
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return done.result()

    def _submit(
        self, coro: Coroutine[Any, Any, T]
    ) -> tuple[asyncio.Task[T], concurrent.futures.Future[T]]:
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> asyncio.Task[T]:
            task = self._loop.create_task(coro)

            def finished(t: asyncio.Task[T]) -> None:
                if t.cancelled():
                    result.set_exception(concurrent.futures.CancelledError())
                    return
                error = t.exception()
                if error is not None:
                    result.set_exception(error)
                else:
                    result.set_result(t.result())

            task.add_done_callback(finished)
            return task

        return self._call(start), result

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
        """Run a coroutine of the client on the loop and wait; an interruption stops the turn."""
        self._check()
        task, result = self._submit(make())
        try:
            return result.result(timeout)
        except BaseException as exc:
            if not result.done():
                # Ctrl-C or our timeout: cancel the turn (ChatClient treats a cancelled
                # send like stop()) and wait until that has happened.
                self._loop.call_soon_threadsafe(task.cancel)
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
        """
        self._check()
        client = self._client
        slot = _LatestSlot()

        async def pump() -> None:
            updates = client.updates(max_latency=max_latency)
            send = asyncio.ensure_future(
                client.send_message(
                    content, body, message_id=message_id, raise_on_error=raise_on_error
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
                error = send.exception()
                slot.finish(None if error is not None else send.result(), error)
            finally:
                if following is not None:
                    following.cancel()
                if not send.done():
                    send.cancel()  # the consumer left: ChatClient stops the turn
                    await asyncio.wait({send})
                await updates.aclose()
                slot.finish(None, None)  # no-op if already finished

        task, done = self._submit(pump())
        try:
            while True:
                item = slot.get()
                if item is None:
                    break
                yield item
            slot.outcome()  # the reply's error, with raise_on_error
            failure = done.exception(_CANCEL_TIMEOUT)  # a failure of the pump itself (a bug)
            if failure is not None:
                raise failure
        finally:
            if not done.done():
                self._loop.call_soon_threadsafe(task.cancel)
                concurrent.futures.wait([done], _CANCEL_TIMEOUT)

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

    def update_options(self, **options: Any) -> None:
        self._check()
        self._call(lambda: self._client.update_options(**options))

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
            _, done = self._submit(shutdown())
            done.result(_CLOSE_TIMEOUT)
        finally:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> SyncChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
