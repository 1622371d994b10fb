"""Durable runs: the agent keeps going while its client reconnects.

Without durability the agent lives and dies with its HTTP response. With it, the
agent runs in a background task that records every event in a
:class:`~chatconduit.server.StreamLog`; each response (the first one, and every
resume after a dropped connection) is only a *reader* of that log, so a client
that reconnects with ``Last-Event-ID`` continues exactly where it stopped, live
if the run is still producing.

Nobody listening must not mean running forever: when a run has had no reader
for ``abandon_after`` seconds it is cancelled (its ``finally`` runs and the
``on_disconnect`` hook gets what it produced). Readers are counted in this
process only, so with a log shared between processes (one that is also a
:class:`~chatconduit.server.RunControl`) runs are not abandoned by default.

With a shared log, runs survive their replica's clients: one process produces each
run (the log's lease), readers on any process follow it, :meth:`DurableRuns.stop`
reaches the producer wherever it is, and :meth:`DurableRuns.drain` lets a replica
that is shutting down finish its runs without taking new ones.

Nobody may take every slot either: runs started with a ``scope`` (a caller's
namespace, see ``run_scope`` of ``chat_endpoint``) are limited to
``max_live_runs_per_scope`` live runs per scope, so one tenant reaching the limit
is refused (:class:`~chatconduit.server.TooManyRunsError`) while the others go on.

With a :class:`~chatconduit.server.ThreadStore` (``threads=``), each run started with
its request's messages also keeps its thread's state for ``hydrate``: the run is the
thread's active run while it produces, and when it ends the thread holds the
conversation with the run's answer folded in and the interrupts it ended with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import _json
from .._exceptions import (
    EventTooLargeError,
    ReplayError,
    ReplayGapError,
    StreamLogFullError,
    TooManyRunsError,
)
from .._messages import UIMessage
from ._errors import ErrorPayloadMapper, RunErrorPayload, log_agent_failure, run_error_event
from ._errors import run_error_payload as default_error_payload
from ._heartbeat import HEARTBEAT, aclose_quietly, with_heartbeats
from ._replay import RunControl, StopState, StreamLog, StreamLogUnavailableError
from ._streams import (
    DisconnectHook,
    EventSource,
    Framing,
    frame_payload,
    guarded_events,
    heartbeat_frame,
)
from ._threads import InMemoryThreadStore, ThreadStore, ThreadTracker

__all__ = [
    "DEFAULT_ABANDON_AFTER",
    "DEFAULT_DRAIN_GRACE",
    "DEFAULT_MAX_LIVE_RUNS_PER_SCOPE",
    "DurableRuns",
    "durable_runs",
    "scoped_key",
]

logger = logging.getLogger("chatconduit.server")


_STOPPED: RunErrorPayload = {
    "message": "The run was stopped before it finished.",
    "code": "run_cancelled",
}
_TOO_LARGE: RunErrorPayload = {
    "message": "The run produced an event too large to record; it was stopped.",
    "code": "event_too_large",
}
_NOT_RECORDED: RunErrorPayload = {
    "message": "The run's events could not be recorded; it was stopped.",
    "code": "replay_error",
}

DEFAULT_ABANDON_AFTER = 30.0
"""Seconds a run of a per-process log may go unread before it is cancelled."""
DEFAULT_DRAIN_GRACE = 30.0
"""Seconds :meth:`DurableRuns.drain` lets running runs finish before cancelling them."""

DEFAULT_MAX_LIVE_RUNS_PER_SCOPE = 16
"""Live runs one scope (caller) may have at once: far more than a person chats in
parallel, far fewer than the 1,024 slots of the default log."""


def scoped_key(scope: str | None, name: str) -> str:
    """A run or thread id in the namespace of ``scope`` (``run_scope`` of ``chat_endpoint``)."""
    return name if scope is None else f"{scope}\x1f{name}"  # a separator headers cannot carry


def _payload(event: dict[str, Any], index: int) -> bytes:
    return _json.dumps_bytes(event)


def _observed(tracker: ThreadTracker) -> Callable[[dict[str, Any], int], bytes]:
    """The recording transform, also showing each event to the thread's tracker."""

    def transform(event: dict[str, Any], index: int) -> bytes:
        payload = _json.dumps_bytes(event)  # encoded first: the fold never sees it changed
        tracker.event(event)
        return payload

    return transform


@dataclass
class _LiveRun:
    task: asyncio.Task[None] | None = None
    readers: int = 0
    abandon: asyncio.TimerHandle | None = None
    scope: str | None = None


def durable_runs(durable: DurableRuns | StreamLog | None) -> DurableRuns | None:
    """``durable`` as ``chat_endpoint`` takes it: a :class:`DurableRuns`, or a log that
    gets one with the defaults (and a thread store: the log's own, ``thread_store()``,
    when it has one, such as ``RedisStreamLog``; else an :class:`InMemoryThreadStore`)."""
    if durable is None or isinstance(durable, DurableRuns):
        return durable
    make_store = getattr(durable, "thread_store", None)
    threads: ThreadStore = make_store() if callable(make_store) else InMemoryThreadStore()
    return DurableRuns(durable, threads=threads)


def _reader_error(exc: ReplayError) -> RunErrorPayload:
    """The RUN_ERROR a reader ends with when the log fails under it."""
    if isinstance(exc, StreamLogUnavailableError):
        return {"message": "The run's log cannot be reached.", "code": "log_unavailable"}
    if isinstance(exc, ReplayGapError):
        return {
            "message": "The stream fell too far behind to resume, or lost events it had not read.",
            "code": "replay_gap",
        }
    return {"message": "The run can no longer be read.", "code": "replay_error"}


class DurableRuns:
    """Runs agents in background tasks that record into ``log``; readers replay and follow.

    ``abandon_after`` seconds without a reader cancel a run (``None``: never,
    ``0``: as soon as the last reader leaves, like a non-durable stream; ``"auto"``:
    30 s for a per-process log, never for a shared one, whose readers may be on
    other processes).
    ``max_live_runs_per_scope`` bounds the live runs of one scope in this process
    (``None``: no per-scope bound; runs started without a scope are not counted).
    ``threads`` keeps each thread's state for ``hydrate`` (``None``: no thread state,
    and ``GET ?threadId=`` is answered 501). ``control`` coordinates runs with other
    processes (default: ``log`` itself when it is a
    :class:`~chatconduit.server.RunControl`, else none: runs are this process's).
    """

    def __init__(
        self,
        log: StreamLog,
        *,
        abandon_after: float | Literal["auto"] | None = "auto",
        max_live_runs_per_scope: int | None = DEFAULT_MAX_LIVE_RUNS_PER_SCOPE,
        threads: ThreadStore | None = None,
        control: RunControl | None = None,
    ) -> None:
        if control is None and isinstance(log, RunControl):
            control = log
        if abandon_after == "auto":
            abandon_after = None if control is not None else DEFAULT_ABANDON_AFTER
        if abandon_after is not None and abandon_after < 0:
            raise ValueError(f"abandon_after must be >= 0 seconds or None, got {abandon_after!r}")
        if max_live_runs_per_scope is not None and max_live_runs_per_scope < 1:
            raise ValueError(
                "max_live_runs_per_scope must be at least 1 or None, "
                f"got {max_live_runs_per_scope!r}"
            )
        self.log = log
        self.threads = threads
        self.control = control
        self.abandon_after: float | None = abandon_after
        self.max_live_runs_per_scope = max_live_runs_per_scope
        self._live: dict[str, _LiveRun] = {}
        self._per_scope: dict[str, int] = {}  # live runs (and runs being created) per scope
        self._opened: asyncio.Future[None] | None = None
        self._draining = False

    def __repr__(self) -> str:
        return f"DurableRuns(log={self.log!r}, live={len(self._live)})"

    @property
    def draining(self) -> bool:
        """Whether :meth:`drain` was called: no new runs are started."""
        return self._draining

    async def open(self) -> None:
        """Connect the ``control`` (a shared log checks its store is reachable, raising
        :class:`~chatconduit.server.StreamLogUnavailableError`, and starts listening for
        stops). Called on first use; call it at start-up to fail early. Idempotent."""
        if self.control is None:
            return
        failed = (
            self._opened is not None
            and self._opened.done()
            and (self._opened.cancelled() or self._opened.exception() is not None)
        )
        if self._opened is None or failed:
            self._opened = asyncio.ensure_future(self.control.open(self._on_stop))
        await asyncio.shield(self._opened)

    def _on_stop(self, key: str, reason: str) -> None:
        live = self._live.get(key)
        if live is not None and live.task is not None and not live.task.done():
            logger.info("run %r: stopping (%s)", key[:80], reason)
            live.task.cancel()

    async def stop(self, key: str) -> StopState:
        """Stop the run ``key`` wherever it is produced; its agent's ``finally`` runs and
        its readers get a RUN_ERROR ``run_cancelled``. Distinct from a client going away,
        which only detaches. Returns what was found (see :data:`StopState`)."""
        live = self._live.get(key)
        if live is not None and live.task is not None and not live.task.done():
            live.task.cancel()
            await asyncio.gather(live.task, return_exceptions=True)
            return "stopped"
        if self.control is not None:
            await self.open()
            return await self.control.request_stop(key)
        return "finished" if await self.log.has_run(key) else "unknown"

    async def drain(self, grace: float = DEFAULT_DRAIN_GRACE) -> None:
        """Take no new runs (starting one raises
        :class:`~chatconduit.server.StreamLogFullError`), give the running ones ``grace``
        seconds to finish, then cancel what is left (:meth:`aclose`). For a replica
        being shut down: with a shared log its runs' readers, on any replica, see
        them to the end."""
        self._draining = True
        tasks = [live.task for live in self._live.values() if live.task is not None]
        if tasks and grace > 0:
            logger.info("draining: %d run(s), up to %.0f s", len(tasks), grace)
            await asyncio.wait(tasks, timeout=grace)
        await self.aclose()

    def is_live(self, key: str) -> bool:
        """Whether the run ``key`` is producing in this process right now."""
        return key in self._live

    def live_runs(self, scope: str) -> int:
        """How many runs of ``scope`` are producing in this process right now."""
        return self._per_scope.get(scope, 0)

    def _reserve(self, scope: str | None) -> None:
        if scope is None:
            return
        count = self._per_scope.get(scope, 0)
        limit = self.max_live_runs_per_scope
        if limit is not None and count >= limit:
            raise TooManyRunsError(limit)
        self._per_scope[scope] = count + 1

    def _release(self, scope: str | None) -> None:
        if scope is None:
            return
        count = self._per_scope.get(scope, 0) - 1
        if count > 0:
            self._per_scope[scope] = count
        else:
            self._per_scope.pop(scope, None)  # no entry per idle scope: the dict stays small

    async def start(
        self,
        key: str,
        events: EventSource,
        *,
        run_id: str | None = None,
        thread_id: str | None = None,
        on_disconnect: DisconnectHook | None = None,
        error_payload: ErrorPayloadMapper = default_error_payload,
        scope: str | None = None,
        messages: Sequence[UIMessage | Mapping[str, Any]] | None = None,
    ) -> None:
        """Create the run ``key`` in the log and start recording ``events`` into it.

        ``key`` is the run's name in the log: its ``runId``, or a scoped form of it
        (see ``run_scope`` of ``chat_endpoint``); ``run_id``/``thread_id`` (default:
        ``key``) name the run in the RUN_ERROR events written on its behalf; ``scope``
        counts the run against that scope's ``max_live_runs_per_scope``. With a
        ``threads`` store, ``thread_id`` and ``messages`` (the request's conversation),
        the run also keeps its thread's state (in ``scope``'s namespace). Raises
        :class:`~chatconduit.server.TooManyRunsError` when the scope is at its limit,
        or what ``log.create`` raises (the run exists, the log is full); the agent is
        then not started.
        """
        if self._draining:
            raise StreamLogFullError("this server is shutting down and takes no new runs")
        run_id = key if run_id is None else run_id
        # Counted before the await, so concurrent starts of one scope cannot all pass.
        self._reserve(scope)
        try:
            if self.control is not None:
                await self.open()
                await self.control.claim(key, name=run_id, thread_id=thread_id)
            else:
                await self.log.create(key)
        except BaseException:
            self._release(scope)
            raise
        tracker: ThreadTracker | None = None
        transform: Callable[[dict[str, Any], int], bytes] = _payload
        if self.threads is not None and thread_id is not None and messages is not None:
            tracker = ThreadTracker(self.threads, scoped_key(scope, thread_id), run_id, messages)
            transform = _observed(tracker)
        recorded = guarded_events(
            events,
            transform=transform,
            on_disconnect=on_disconnect,
            error_payload=error_payload,
            run_id=run_id,
            thread_id=thread_id,
        )
        live = _LiveRun(scope=scope)
        self._live[key] = live
        task = self._record(key, recorded, run_id, thread_id, tracker)
        live.task = asyncio.create_task(task, name=f"chatconduit-run-{run_id}")
        live.task.add_done_callback(lambda _: self._forget(key, live))
        self._arm(key, live)

    def _forget(self, key: str, live: _LiveRun) -> None:
        """Bookkeeping for a task cancelled before its first step: its ``_record`` never
        ran, so nothing else removes it from the live runs or gives its scope's place back."""
        if self._live.get(key) is live:
            del self._live[key]
            self._release(live.scope)

    async def _record(
        self,
        key: str,
        recorded: AsyncIterator[bytes],
        run_id: str,
        thread_id: str | None,
        tracker: ThreadTracker | None = None,
    ) -> None:
        try:
            if tracker is not None:
                # Before the first event is recorded: whoever has seen an event of this run
                # finds it as the thread's active run.
                await tracker.started()
            async for payload in recorded:
                await self.log.append(key, payload)
        except asyncio.CancelledError:
            # Abandoned (or shut down): close the agent first, then give later readers
            # a terminal event instead of a run that just stops.
            await aclose_quietly(recorded)
            stopped = run_error_event(_STOPPED, run_id=run_id, thread_id=thread_id)
            if tracker is not None:
                tracker.event(stopped)
            await self._append_end(key, stopped, run_id)
            raise
        except ReplayError as exc:
            # The log refused an event (too large, or the run vanished): stop the agent
            # rather than let it produce into nothing, and tell later readers why.
            await aclose_quietly(recorded)
            logger.warning("run %r stopped: %s", run_id, exc)
            reason = _TOO_LARGE if isinstance(exc, EventTooLargeError) else _NOT_RECORDED
            error = run_error_event(reason, run_id=run_id, thread_id=thread_id)
            if tracker is not None:
                tracker.event(error)
            await self._append_end(key, error, run_id)
        except Exception as exc:  # the log failed (the agent's own errors are events)
            log_agent_failure(exc, where=f"recording run {run_id!r}")
        finally:
            await aclose_quietly(recorded)
            live = self._live.pop(key, None)
            if live is not None:
                self._release(live.scope)
                if live.abandon is not None:
                    live.abandon.cancel()
            if tracker is not None:
                # Before the log is closed: a reader's response ends at the close, so a
                # client that read a run to its end and then hydrates finds the answer.
                await tracker.ended()
            try:
                await self.log.close(key)
            except Exception as exc:
                log_agent_failure(exc, where=f"closing run {run_id!r}")

    async def _append_end(self, key: str, event: dict[str, Any], run_id: str) -> None:
        """Record a run's terminal RUN_ERROR; a log that refuses it (the run was
        declared lost, the store is down) is only logged."""
        try:
            await self.log.append(key, _json.dumps_bytes(event))
        except ReplayError as exc:
            logger.warning("run %r: its end was not recorded: %s", run_id, exc)
        except Exception as exc:
            log_agent_failure(exc, where=f"recording the end of run {run_id!r}")

    def _arm(self, key: str, live: _LiveRun) -> None:
        """Schedule the cancellation of an unwatched run."""
        if self.abandon_after is None or live.readers > 0 or live.task is None:
            return
        live.abandon = asyncio.get_running_loop().call_later(self.abandon_after, live.task.cancel)

    def _attach(self, key: str) -> _LiveRun | None:
        live = self._live.get(key)
        if live is not None:
            live.readers += 1
            if live.abandon is not None:
                live.abandon.cancel()
                live.abandon = None
        return live

    def _detach(self, key: str, live: _LiveRun | None) -> None:
        if live is None:
            return
        live.readers -= 1
        if live.readers == 0 and self._live.get(key) is live:
            self._arm(key, live)

    async def stream(
        self,
        key: str,
        *,
        after: str | None = None,
        framing: Framing = "sse",
        heartbeat: float = 0.0,
        run_id: str | None = None,
    ) -> AsyncIterator[bytes]:
        """Check the run and offset now (raising :class:`~chatconduit.server.UnknownRunError`
        / :class:`~chatconduit.server.ReplayGapError`) and return the framed events after
        ``after``, with ids, following the run live until it ends. ``run_id``
        (default: ``key``) names the run in a RUN_ERROR this reader may add."""
        reader = await self.log.read(key, after=after)
        live = self._attach(key)
        name = key if run_id is None else run_id
        return self._frames(key, name, live, reader, framing, heartbeat)

    async def _frames(
        self,
        key: str,
        run_id: str,
        live: _LiveRun | None,
        reader: AsyncIterator[tuple[str, bytes]],
        framing: Framing,
        heartbeat: float,
    ) -> AsyncIterator[bytes]:
        ticking = with_heartbeats(reader, heartbeat) if heartbeat > 0 else reader
        pulse = heartbeat_frame(framing)
        try:
            async for item in ticking:
                if item is HEARTBEAT:
                    yield pulse
                else:
                    offset, payload = item
                    yield frame_payload(framing, payload, offset)
        except ReplayError as exc:  # fell behind the bounded buffer, or the log failed
            logger.warning("replay of run %r ended: %s", run_id, exc)
            error = run_error_event(_reader_error(exc), run_id=run_id)
            yield frame_payload(framing, _json.dumps_bytes(error))
        finally:
            await aclose_quietly(ticking)
            self._detach(key, live)

    async def aclose(self) -> None:
        """Cancel every live run and wait for them (call it on application shutdown)."""
        # One loop iteration first: a run started just now gets to its first step, so
        # its cancellation runs its cleanup (closing the agent and its run in the log).
        await asyncio.sleep(0)
        tasks = [live.task for live in self._live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks)
        if self.control is not None and self._opened is not None:
            self._opened = None
            try:
                await self.control.aclose()
            except Exception as exc:
                log_agent_failure(exc, where="closing the durable runs' control")
