"""Per-thread state for ``hydrate``: a conversation as the server last knew it.

TanStack's 0.33 client (``persistence: true``) asks ``GET <url>?threadId=<id>`` when
its view mounts and reads ``{messages, activeRun: {runId} | null, interrupts: {runId,
pending} | null}``: the transcript to paint, the run to re-join while it still
produces, the interrupts still waiting for an answer. That needs state per thread
that outlives a request, so durable runs can keep it in a :class:`ThreadStore`:

* when a run starts, the thread's messages become the request's conversation and the
  run is the thread's active run (pending interrupts are cleared: a new run is the
  answer to them, or supersedes them);
* while it runs, its events are folded into UI messages by the same
  :class:`~chatconduit._processor.StreamProcessor` our client uses
  (:class:`ThreadTracker`);
* when it ends, the thread's messages become that fold, the active run is cleared and
  the interrupts of a ``RUN_FINISHED{outcome: {type: "interrupt"}}`` are kept as
  pending.

:class:`ThreadStore` is the interface, shaped for a networked store (Redis: one hash
per thread, ``run_ended`` a compare-and-set on the latest run, ``EXPIRE`` for the
TTL); :class:`InMemoryThreadStore` keeps threads in this process, bounded in count,
age and bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .. import _json
from .._messages import ThinkingPart, UIMessage, message_to_dict
from .._processor import StreamProcessor, ui_messages_from_snapshot

__all__ = [
    "DEFAULT_MAX_BYTES_PER_THREAD",
    "DEFAULT_MAX_THREADS",
    "DEFAULT_MAX_THREAD_BYTES",
    "DEFAULT_THREAD_TTL",
    "InMemoryThreadStore",
    "PendingInterrupts",
    "ThreadRecord",
    "ThreadStore",
    "ThreadTracker",
    "request_ui_messages",
]

logger = logging.getLogger("chatconduit.server")


@dataclass(frozen=True)
class PendingInterrupts:
    """The interrupts a run ended with (``RUN_FINISHED.outcome.interrupts``), unanswered."""

    run_id: str
    pending: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "pending": self.pending}


@dataclass(frozen=True)
class ThreadRecord:
    """One thread as ``hydrate`` returns it. ``messages`` are UIMessages as camelCase dicts."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    active_run: str | None = None
    interrupts: PendingInterrupts | None = None

    def to_json(self) -> dict[str, Any]:
        """The hydrate document: ``{messages, activeRun: {runId} | null, interrupts}``."""
        return {
            "messages": self.messages,
            "activeRun": {"runId": self.active_run} if self.active_run is not None else None,
            "interrupts": self.interrupts.to_json() if self.interrupts is not None else None,
        }


@runtime_checkable
class ThreadStore(Protocol):
    """Where durable runs keep each thread's transcript, active run and pending interrupts.

    Thread ids arrive already scoped (see ``run_scope`` of ``chat_endpoint``). All
    methods are coroutines; a failing store is logged, never fails the run.
    """

    async def run_started(
        self, thread_id: str, run_id: str, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        """``run_id`` started on ``thread_id`` with ``messages`` (the request's conversation,
        UIMessage dicts): store them, make ``run_id`` the thread's active and latest run,
        clear its pending interrupts."""
        ...

    async def run_ended(
        self,
        thread_id: str,
        run_id: str,
        messages: Sequence[Mapping[str, Any]],
        interrupts: PendingInterrupts | None,
    ) -> None:
        """``run_id`` ended with ``messages`` (the conversation including its answer) and
        ``interrupts`` still to answer. Applies only if ``run_id`` is the thread's latest
        run (or the thread is not kept): the end of an older run must not overwrite a
        newer one's state."""
        ...

    async def load(self, thread_id: str) -> ThreadRecord | None:
        """The thread, or ``None`` when it is not kept."""
        ...


DEFAULT_MAX_THREADS = 10_000
"""Threads an :class:`InMemoryThreadStore` keeps by default."""
DEFAULT_MAX_BYTES_PER_THREAD = 4 * 1024 * 1024
"""4 MiB of compact JSON per thread: the default request body limit, so a conversation
the server accepted fits."""
DEFAULT_MAX_THREAD_BYTES = 256 * 1024 * 1024
"""256 MiB for all threads of one :class:`InMemoryThreadStore` together."""
DEFAULT_THREAD_TTL = 24 * 3600.0
"""A thread untouched (not written, not read) for a day is dropped."""


class _Thread:
    __slots__ = ("active_run", "interrupts", "latest_run", "messages", "size", "touched")

    def __init__(self) -> None:
        # Each message as its compact JSON: the exact bytes counted against the bounds,
        # and cheap to drop one by one from the front when a thread is too large.
        self.messages: list[bytes] = []
        self.interrupts: tuple[str, bytes] | None = None  # (run id, JSON of the pending list)
        self.active_run: str | None = None
        self.latest_run: str | None = None
        self.size = 0
        self.touched = time.monotonic()

    def measure(self) -> int:
        size = sum(len(m) for m in self.messages)
        if self.interrupts is not None:
            size += len(self.interrupts[0]) + len(self.interrupts[1])
        # Run ids come from clients (X-Run-Id): count them, they can be long.
        size += len(self.active_run or "") + len(self.latest_run or "")
        self.size = size
        return size


class InMemoryThreadStore:
    """A bounded, per-process :class:`ThreadStore`.

    At most ``max_threads`` threads are kept, least recently used (written or read)
    dropped first; a thread untouched for ``ttl`` seconds is dropped. Each thread keeps
    at most ``max_bytes_per_thread`` bytes of compact JSON: beyond, its oldest messages
    are dropped (a hydrate then returns the newest messages that fit); pending interrupts
    larger than half of it are not kept. All threads together keep at most
    ``max_total_bytes``; least recently used threads make room.
    """

    def __init__(
        self,
        *,
        max_threads: int = DEFAULT_MAX_THREADS,
        max_bytes_per_thread: int = DEFAULT_MAX_BYTES_PER_THREAD,
        max_total_bytes: int = DEFAULT_MAX_THREAD_BYTES,
        ttl: float = DEFAULT_THREAD_TTL,
    ) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, got {max_threads!r}")
        if max_bytes_per_thread < 1 or max_total_bytes < max_bytes_per_thread:
            raise ValueError(
                "max_bytes_per_thread must be at least 1 and max_total_bytes at least "
                f"max_bytes_per_thread, got {max_bytes_per_thread} and {max_total_bytes}"
            )
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
        self.max_threads = max_threads
        self.max_bytes_per_thread = max_bytes_per_thread
        self.max_total_bytes = max_total_bytes
        self.ttl = ttl
        self._threads: OrderedDict[str, _Thread] = OrderedDict()  # least recently used first
        self._total = 0

    def __repr__(self) -> str:
        return (
            f"InMemoryThreadStore(threads={len(self._threads)}, max_threads={self.max_threads}, "
            f"bytes={self._total}, max_total_bytes={self.max_total_bytes})"
        )

    def __len__(self) -> int:
        return len(self._threads)

    @property
    def total_bytes(self) -> int:
        """Bytes kept right now, all threads together."""
        return self._total

    # ------------------------------------------------------------------ bookkeeping

    def _expire(self) -> None:
        deadline = time.monotonic() - self.ttl
        while self._threads:
            thread_id, thread = next(iter(self._threads.items()))
            # LRU order is also touch order, so the first fresh thread ends the scan.
            if thread.touched > deadline:
                return
            self._drop(thread_id)

    def _drop(self, thread_id: str) -> None:
        thread = self._threads.pop(thread_id)
        self._total -= thread.size

    def _take(self, thread_id: str) -> _Thread | None:
        """The thread, out of the accounting until :meth:`_put` puts it back."""
        self._expire()
        thread = self._threads.pop(thread_id, None)
        if thread is not None:
            self._total -= thread.size
        return thread

    def _put(self, thread_id: str, thread: _Thread) -> None:
        if thread.measure() > self.max_bytes_per_thread:
            self._trim(thread_id, thread)
        thread.touched = time.monotonic()
        # Make room before inserting, so the thread being written is never the one evicted.
        while self._threads and (
            len(self._threads) >= self.max_threads
            or self._total + thread.size > self.max_total_bytes
        ):
            self._drop(next(iter(self._threads)))
        self._threads[thread_id] = thread
        self._total += thread.size

    def _trim(self, thread_id: str, thread: _Thread) -> None:
        lost_interrupts = False
        if thread.interrupts is not None:
            run_id, pending = thread.interrupts
            if len(run_id) + len(pending) > self.max_bytes_per_thread // 2:
                # They would leave (almost) no room for the transcript: drop them, not it.
                thread.interrupts = None
                lost_interrupts = True
        excess = thread.measure() - self.max_bytes_per_thread
        dropped = 0
        while excess > 0 and thread.messages:
            excess -= len(thread.messages.pop(0))
            dropped += 1
        thread.measure()
        logger.warning(
            "thread %r is over %d bytes: dropped its %d oldest messages%s",
            thread_id[:80],
            self.max_bytes_per_thread,
            dropped,
            " and its pending interrupts" if lost_interrupts else "",
        )

    # ------------------------------------------------------------------ ThreadStore

    async def run_started(
        self, thread_id: str, run_id: str, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        thread = self._take(thread_id) or _Thread()
        thread.messages = [_json.dumps_bytes(m) for m in messages]
        thread.active_run = thread.latest_run = run_id
        thread.interrupts = None
        self._put(thread_id, thread)

    async def run_ended(
        self,
        thread_id: str,
        run_id: str,
        messages: Sequence[Mapping[str, Any]],
        interrupts: PendingInterrupts | None,
    ) -> None:
        thread = self._take(thread_id)
        if thread is not None and thread.latest_run not in (None, run_id):
            self._put(thread_id, thread)  # a newer run owns the thread now
            return
        thread = thread or _Thread()
        thread.messages = [_json.dumps_bytes(m) for m in messages]
        thread.latest_run = run_id
        thread.active_run = None
        thread.interrupts = (
            (interrupts.run_id, _json.dumps_bytes(interrupts.pending))
            if interrupts is not None and interrupts.pending
            else None
        )
        self._put(thread_id, thread)

    async def load(self, thread_id: str) -> ThreadRecord | None:
        self._expire()
        thread = self._threads.get(thread_id)
        if thread is None:
            return None
        thread.touched = time.monotonic()
        self._threads.move_to_end(thread_id)
        pending = None
        if thread.interrupts is not None:
            run_id, encoded = thread.interrupts
            pending = PendingInterrupts(run_id, _json.loads(encoded))
        return ThreadRecord(
            messages=[_json.loads(m) for m in thread.messages],
            active_run=thread.active_run,
            interrupts=pending,
        )


# --------------------------------------------------------------------------- the fold


def _entry(message: UIMessage | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(message, UIMessage):
        return message_to_dict(message)
    created = message.get("createdAt")
    metadata = message.get("metadata")
    tanstack = metadata.get("tanstack") if isinstance(metadata, Mapping) else None
    stamp = tanstack.get("createdAt") if isinstance(tanstack, Mapping) else None
    if created is None and isinstance(stamp, str):
        # 0.33 sends the time a message was made in metadata.tanstack.createdAt; a stamp
        # that is not a date is ignored rather than costing the message.
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            return message
        return {**message, "createdAt": stamp}
    return message


def _merge_reasoning(messages: list[UIMessage], reasoning_ids: set[str]) -> list[UIMessage]:
    """0.33 sends an assistant message's thinking as a ``role: "reasoning"`` entry just
    before it (``reasoning_ids``); put that thinking back into the message it belongs to."""
    out: list[UIMessage] = []
    carried: list[Any] = []
    for message in messages:
        if message.id in reasoning_ids and all(isinstance(p, ThinkingPart) for p in message.parts):
            carried.extend(message.parts)
            continue
        if carried and message.role == "assistant":
            message.parts[:0] = carried
            carried = []
        elif carried:
            out.append(UIMessage(id=f"reasoning-{message.id}", role="assistant", parts=carried))
            carried = []
        out.append(message)
    if carried:
        out.append(UIMessage(id="reasoning-last", role="assistant", parts=carried))
    return out


def request_ui_messages(messages: Sequence[UIMessage | Mapping[str, Any]]) -> list[UIMessage]:
    """A request's conversation (``RunAgentInput.messages``: UIMessages, or AG-UI messages
    as 0.33 sends them) as UIMessages. Best effort: an entry that cannot be converted is
    left out (and logged) rather than losing the whole thread."""
    entries = [_entry(m) for m in messages]
    reasoning_ids = {
        e["id"] for e in entries if e.get("role") == "reasoning" and isinstance(e.get("id"), str)
    }
    try:
        converted = ui_messages_from_snapshot(entries)
    except Exception:
        converted = []
        skipped = 0
        for entry in entries:
            try:
                converted.extend(ui_messages_from_snapshot([entry]))
            except Exception:
                skipped += 1
        logger.warning("a thread's messages were stored without %d unreadable entries", skipped)
    return _merge_reasoning(converted, reasoning_ids) if reasoning_ids else converted


_CONVERT_OFF_LOOP = 64
"""Conversations with more messages than this are converted on a worker thread, so a
long one does not hold the event loop (and every other stream) while it is parsed."""


class ThreadTracker:
    """Follows one durable run for its thread: ``started()`` before the first event,
    ``event()`` for each recorded event (synchronous, on the recording path), ``ended()``
    after the last. Failures of the fold or the store are logged and never reach the run.
    """

    def __init__(
        self,
        store: ThreadStore,
        thread_id: str,
        run_id: str,
        messages: Sequence[UIMessage | Mapping[str, Any]],
    ) -> None:
        self.store = store
        self.thread_id = thread_id
        self.run_id = run_id
        self._request_messages = messages
        self._processor: StreamProcessor | None = None
        self._pending: PendingInterrupts | None = None
        self._fold_failed = False

    def __repr__(self) -> str:
        return f"ThreadTracker(thread_id={self.thread_id!r}, run_id={self.run_id!r})"

    def _snapshot(self) -> list[dict[str, Any]]:
        if self._processor is None:
            return []
        return [message_to_dict(m) for m in self._processor.messages]

    async def started(self) -> None:
        messages = self._request_messages
        self._request_messages = ()  # the processor holds the conversation from now on
        try:
            if len(messages) > _CONVERT_OFF_LOOP:
                initial = await asyncio.to_thread(request_ui_messages, messages)
            else:
                initial = request_ui_messages(messages)
            self._processor = StreamProcessor(initial_messages=initial)
            self._processor.prepare_assistant_message()
            await self.store.run_started(self.thread_id, self.run_id, self._snapshot())
        except Exception as exc:
            logger.warning(
                "thread %r: recording the start of run %r failed: %r",
                self.thread_id[:80],
                self.run_id[:80],
                exc,
            )

    def event(self, event: Mapping[str, Any]) -> None:
        try:
            self._fold(event)
        except Exception as exc:
            # The transcript is best effort; the stream is what matters. Said once per run.
            if not self._fold_failed:
                self._fold_failed = True
                logger.warning(
                    "thread %r: an event of run %r could not be folded into messages: %r",
                    self.thread_id[:80],
                    self.run_id[:80],
                    exc,
                )

    def _fold(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "RUN_FINISHED":
            outcome = event.get("outcome")
            interrupts = outcome.get("interrupts") if isinstance(outcome, Mapping) else None
            if (
                isinstance(outcome, Mapping)
                and outcome.get("type") == "interrupt"
                and isinstance(interrupts, list)
            ):
                run_id = event.get("runId")
                self._pending = PendingInterrupts(
                    run_id if isinstance(run_id, str) else self.run_id,
                    [dict(i) for i in interrupts if isinstance(i, Mapping)],
                )
            else:
                self._pending = None
        elif kind == "RUN_ERROR":
            self._pending = None
        if self._processor is not None:
            self._processor.process(event)

    async def ended(self) -> None:
        try:
            if self._processor is not None:
                self._processor.finalize_stream()
            await self.store.run_ended(self.thread_id, self.run_id, self._snapshot(), self._pending)
        except Exception as exc:
            logger.warning(
                "thread %r: recording the end of run %r failed: %r",
                self.thread_id[:80],
                self.run_id[:80],
                exc,
            )
        finally:
            self._processor = None
