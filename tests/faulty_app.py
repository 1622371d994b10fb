"""A raw ASGI app that misbehaves on purpose, for the connection adapter tests.

Each request is answered by the next :class:`Plan` in the queue (the last one
repeats); a plan may also be a function of the recorded request (used for
resume: it reads ``Last-Event-ID``). Raw ASGI rather than Starlette so that the
bytes and their split into writes are exactly what the plan says: one-byte
writes, CR-only framing, a close in the middle of an event, idle gaps,
heartbeats, error statuses with bodies.

Every request is recorded (headers in order, body bytes), together with what
happened to its response: how many body bytes were sent, whether the client
disconnected, and whether the response generator's ``finally`` ran — the
cancellation tests wait on that to prove the server saw the disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from servers import serve

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _HideDeliberateDrops(logging.Filter):
    # Dropping the connection mid-body is the point of some plans; uvicorn logs it
    # as an error, which would only be noise in test output.
    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_HideDeliberateDrops())


@dataclass(frozen=True)
class Gap:
    """Pause the body for ``seconds`` (sending heartbeats meanwhile if the plan has them)."""

    seconds: float


@dataclass(frozen=True)
class Plan:
    """How to answer one request."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("content-type", "text/event-stream"),)
    body: Sequence[bytes | Gap] = ()
    chunk_size: int | None = None  # split each piece into writes of this many bytes (1 = bytewise)
    end: Literal["complete", "drop", "hang"] = "complete"
    heartbeat: bytes | None = None  # written every heartbeat_interval during gaps and hangs
    heartbeat_interval: float = 0.05
    repeat_forever: bytes | None = None  # after ``body``: write this every 5 ms until disconnected
    head_delay: float = 0.0  # wait this long (or until the client leaves) before the status line


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    bytes_sent: int = 0
    disconnected: bool = False
    finished: bool = False  # the response generator's ``finally`` ran

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def json(self) -> Any:
        return json.loads(self.body)


PlanSource = Plan | Callable[[RecordedRequest], Plan]


class FaultyApp:
    """``FaultyApp(plan1, plan2, ...)``: request n gets plan n (the last repeats)."""

    def __init__(self, *plans: PlanSource) -> None:
        self._plans: list[PlanSource] = list(plans) or [Plan()]
        self._offset = 0
        self.requests: list[RecordedRequest] = []
        self._cond = threading.Condition()

    # -- test-side helpers (called from the test's thread) -----------------------------

    def set_plans(self, *plans: PlanSource) -> None:
        """Replace the queue of plans (request n from now gets plan n, counting from 0)."""
        self._plans = list(plans) or [Plan()]
        self._offset = len(self.requests)

    def wait_finished(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until ``count`` responses have run their ``finally``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(r.finished for r in self.requests) >= count, timeout
            )

    async def await_finished(self, count: int = 1, within: float = 10.0) -> bool:
        return await asyncio.to_thread(self.wait_finished, count, within)

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        )
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        record.body = b"".join(chunks)
        with self._cond:
            index = len(self.requests)
            self.requests.append(record)
        source = self._plans[min(index - self._offset, len(self._plans) - 1)]
        plan = source if isinstance(source, Plan) else source(record)
        gone = asyncio.Event()
        completed = False

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            # uvicorn also reports "disconnect" once the response is complete.
            if not completed:
                record.disconnected = True
                gone.set()

        watcher = asyncio.create_task(watch_disconnect())
        try:
            completed = await self._respond(plan, record, send, gone)
        finally:
            watcher.cancel()
            with self._cond:
                record.finished = True
                self._cond.notify_all()

    async def _respond(
        self, plan: Plan, record: RecordedRequest, send: Send, gone: asyncio.Event
    ) -> bool:
        """Answer per ``plan``; True when the response was completed normally."""
        if plan.head_delay:
            try:
                await asyncio.wait_for(gone.wait(), plan.head_delay)
                return False  # the client gave up waiting
            except TimeoutError:
                pass
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in plan.headers]
        await send({"type": "http.response.start", "status": plan.status, "headers": headers})

        async def write(data: bytes) -> None:
            step = plan.chunk_size or len(data) or 1
            for start in range(0, len(data), step):
                if gone.is_set():
                    return
                piece = data[start : start + step]
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                record.bytes_sent += len(piece)
                if plan.chunk_size:
                    await asyncio.sleep(0)  # let each piece leave as its own write

        async def idle(seconds: float | None) -> None:
            # Sleep (forever when None) unless the client goes away; heartbeat meanwhile.
            loop = asyncio.get_running_loop()
            deadline = None if seconds is None else loop.time() + seconds
            while not gone.is_set():
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    return
                step = plan.heartbeat_interval if plan.heartbeat else remaining
                if step is not None and remaining is not None:
                    step = min(step, remaining)
                try:
                    await asyncio.wait_for(gone.wait(), step)
                except TimeoutError:
                    if plan.heartbeat:
                        await write(plan.heartbeat)

        for piece in plan.body:
            if gone.is_set():
                return False
            if isinstance(piece, Gap):
                await idle(piece.seconds)
            else:
                await write(piece)
        if plan.repeat_forever is not None:
            while not gone.is_set():
                await write(plan.repeat_forever)
                await asyncio.sleep(0.005)
            return False
        if plan.end == "drop":
            return False  # returning with the body open makes uvicorn close the socket
        if plan.end == "hang":
            await idle(None)
            return False
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True


# -- framing helpers --------------------------------------------------------------------


def event_json(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def sse_frame(event: Mapping[str, Any], *, event_id: str | None = None, eol: str = "\n") -> bytes:
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines.append(f"data: {event_json(event)}")
    return (eol.join(lines) + eol + eol).encode("utf-8")


def ndjson_line(event: Mapping[str, Any], *, event_id: str | None = None) -> bytes:
    payload: Any = event if event_id is None else {"id": event_id, "chunk": event}
    return (event_json(payload) + "\n").encode("utf-8")


def text_run(
    n_deltas: int, *, run_id: str = "run-1", thread_id: str = "thread-1"
) -> list[dict[str, Any]]:
    """A small, complete run: RUN_STARTED, a text message of ``n_deltas`` deltas, RUN_FINISHED."""
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "runId": run_id, "threadId": thread_id},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
    ]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"d{i} "}
        for i in range(n_deltas)
    ]
    events += [
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {"type": "RUN_FINISHED", "runId": run_id, "threadId": thread_id, "finishReason": "stop"},
    ]
    return events


SSE = (("content-type", "text/event-stream"),)
NDJSON = (("content-type", "application/x-ndjson"),)


def sse_plan(events: Iterable[Mapping[str, Any]], **kwargs: Any) -> Plan:
    return Plan(headers=SSE, body=[sse_frame(e) for e in events], **kwargs)


def ndjson_plan(events: Iterable[Mapping[str, Any]], **kwargs: Any) -> Plan:
    return Plan(headers=NDJSON, body=[ndjson_line(e) for e in events], **kwargs)


@dataclass
class Resumable:
    """A plan function serving id-tagged events and honouring ``Last-Event-ID``.

    ``drops`` are indexes into ``events``: connection k stops halfway through
    the frame of ``drops[k]`` and closes the socket. ``replay_overlap`` makes the
    server re-send that many already-delivered events after a reconnect (a
    sloppy replay), which the client must skip. ``end`` is how the last
    connection ends ("complete", or "hang" to test the idle watchdog).
    ``stall_at``: connection k (0-based keys) sends nothing new after that
    index and just hangs, as a server that stopped mid-stream would.
    ``retry_ms``: the first connection starts with an SSE ``retry:`` field (the
    reconnection time); later ones do not, since a client keeps it (WHATWG).
    """

    events: list[dict[str, Any]]
    drops: list[int] = field(default_factory=list)
    ndjson: bool = False
    replay_overlap: int = 0
    stall_at: dict[int, int] = field(default_factory=dict)
    end: Literal["complete", "drop", "hang"] = "complete"
    retry_ms: int | None = None
    connections: int = 0
    last_event_ids: list[str | None] = field(default_factory=list)

    def frame(self, index: int) -> bytes:
        event_id = str(index + 1)
        if self.ndjson:
            return ndjson_line(self.events[index], event_id=event_id)
        return sse_frame(self.events[index], event_id=event_id)

    def __call__(self, request: RecordedRequest) -> Plan:
        last = request.header("last-event-id")
        self.last_event_ids.append(last)
        start = 0 if last is None else int(last)
        start = max(0, start - self.replay_overlap) if last is not None else 0
        connection = self.connections
        self.connections += 1
        stop = len(self.events)
        end: Literal["complete", "drop", "hang"] = self.end
        body: list[bytes | Gap] = []
        if self.retry_ms is not None and connection == 0:
            body.append(f"retry: {self.retry_ms}\n\n".encode())
        if connection < len(self.drops):
            stop = self.drops[connection]
            end = "drop"
        if connection in self.stall_at:
            stop = self.stall_at[connection]
            end = "hang"
        body += [self.frame(i) for i in range(start, min(stop, len(self.events)))]
        if end == "drop" and stop < len(self.events):
            half = self.frame(stop)
            body.append(half[: len(half) // 2])
        headers = NDJSON if self.ndjson else SSE
        return Plan(headers=headers, body=body, end=end)


class Switchboard:
    """One long-running server for many tests: forwards to whichever app a test plugs in.

    Starting uvicorn per test costs a few hundred milliseconds; this keeps the
    suite fast while every test still gets a fresh :class:`FaultyApp`. Use it
    as a module-scoped fixture: ``with Switchboard.running() as board: yield board``.
    """

    def __init__(self) -> None:
        self.app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None
        self.url = ""

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Switchboard]:
        board = cls()
        with serve(board) as server:
            board.url = server.url
            yield board

    def plug(self, app: FaultyApp) -> FaultyApp:
        self.app = app
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("no app plugged into the switchboard")
        await self.app(scope, receive, send)
