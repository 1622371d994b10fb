"""``websocket_endpoint(agent)``: the agents of ``chat_endpoint`` over one WebSocket.

    app = Starlette(routes=[WebSocketRoute("/api/chat/ws", websocket_endpoint(my_agent))])

The protocol of TanStack 0.58's ``toWebSocketStream``: a socket per conversation;
each client text frame is a RunAgentInput (a turn) or ``{"type": "abort", "runId"}``;
every event goes out as one text frame (compact JSON), ``{"type": "ping"}`` every
``heartbeat`` seconds, and the socket stays open after a turn. One turn runs at a
time; an abort frame cancels it (the agent's ``finally`` runs) and nothing more of
that run is sent, as 0.58 does. A failing agent ends its turn with one RUN_ERROR
(``error_payload`` decides what the client sees), never the socket.

``authorize(websocket)`` runs before the handshake is accepted: falsy refuses it
with a 401 (``{"error": ...}`` body) where the server supports denial responses,
else close code 1008. Bad input is answered without touching other sockets:

=====================================  ==============================================
a frame that is not JSON / not object  close 1007 (invalid frame payload data)
a binary frame                         close 1003 (unsupported data)
a frame over ``max_frame_bytes``       close 1009 (message too big)
an unknown ``type``                    close 1008 (policy violation)
a RunAgentInput while a turn runs      close 1008 (policy violation)
an invalid RunAgentInput               a RUN_ERROR frame, code ``invalid_request``
=====================================  ==============================================

With ``durable`` each turn is recorded and sent as ``{id, chunk}`` frames, and a socket
opened at ``?runId=&offset=`` replays the run after that offset, then closes (1000).

``idle_timeout`` closes a socket (1000, "idle timeout") after that many seconds
without a client frame *and* without a running turn: it never fires mid-turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import _json
from .._exceptions import (
    ReplayError,
    ReplayGapError,
    RequestValidationError,
    RunExistsError,
    StreamLogFullError,
    UnknownRunError,
)
from .._run_input import RunAgentInput, parse_run_agent_input
from ._callers import is_authorized, scope_of
from ._dialect import Dialect, check_dialect, choose_dialect
from ._durable import DurableRuns, scoped_key
from ._endpoint import Agent, Authorize, agent_events, error_response
from ._errors import ErrorPayloadMapper, RunErrorPayload, log_agent_failure, run_error_event
from ._errors import run_error_payload as default_error_payload
from ._frames import EventSource, dialect_events
from ._heartbeat import aclose_quietly
from ._http import DEFAULT_MAX_BODY_BYTES
from ._streams import guarded_events

__all__ = ["DEFAULT_WS_HEARTBEAT", "websocket_endpoint"]

DEFAULT_WS_HEARTBEAT = 30.0
"""What ``toWebSocketStream`` uses: a ``{"type":"ping"}`` frame every 30 s."""

PING_FRAME = '{"type":"ping"}'
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009


class _Refusal(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Session:
    """One accepted socket: its sends, its running turn, its timers."""

    def __init__(
        self,
        websocket: WebSocket,
        agent: Agent,
        error_payload: ErrorPayloadMapper,
        max_frame_bytes: int,
        dialect: Dialect,
        durable: DurableRuns | None = None,
        scope: str | None = None,
    ) -> None:
        self.dialect = dialect
        self.durable = durable
        # The namespace of this caller's durable runs (``run_scope``): their names in the
        # log, so a run id guessed by another caller names nothing of theirs.
        self.scope = scope
        self.websocket = websocket
        self.agent = agent
        self.error_payload = error_payload
        self.max_frame_bytes = max_frame_bytes
        self.send_lock = asyncio.Lock()
        self.turn: asyncio.Task[None] | None = None
        self.turn_run_id: str | None = None
        self.last_activity = time.monotonic()
        self.closed = False

    async def send(self, text: str) -> None:
        async with self.send_lock:
            if self.closed:
                raise ConnectionError("socket closed")
            await self.websocket.send_text(text)

    async def close(self, code: int, reason: str = "") -> None:
        async with self.send_lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(Exception):
                # A close reason is at most 123 bytes of UTF-8.
                short = reason.encode("utf-8", "replace")[:120].decode("utf-8", "ignore")
                await self.websocket.close(code=code, reason=short)

    # -- turns ----------------------------------------------------------------------------

    def running(self) -> bool:
        return self.turn is not None and not self.turn.done()

    async def run_turn(self, params: RunAgentInput) -> None:
        request = cast(Request, self.websocket)  # an HTTPConnection, as agents read it

        def encode(event: dict[str, Any], index: int) -> str:
            return _json.dumps(event)

        try:
            events = dialect_events(
                agent_events(self.agent, params, request),
                choose_dialect(params, self.dialect),
                run_id=params.run_id,
                thread_id=params.thread_id,
            )
            if self.durable is not None:
                await self.run_durable(params, events)
                return
            async for text in guarded_events(
                events,
                transform=encode,
                error_payload=self.error_payload,
                run_id=params.run_id,
                thread_id=params.thread_id,
            ):
                await self.send(text)
        except (OSError, WebSocketDisconnect, RuntimeError):
            pass  # the client went away; the agent was closed on the way out
        finally:
            self.last_activity = time.monotonic()

    async def run_durable(self, params: RunAgentInput, events: EventSource) -> None:
        """Record the run in the log (unless it is there already) and follow it."""
        durable = self.durable
        assert durable is not None
        key = scoped_key(self.scope, params.run_id)
        if not await durable.log.has_run(key):
            try:
                await durable.start(
                    key,
                    events,
                    run_id=params.run_id,
                    thread_id=params.thread_id,
                    error_payload=self.error_payload,
                    scope=self.scope,
                    messages=params.messages,
                )
            except RunExistsError:
                pass  # a concurrent start won: follow it
            except StreamLogFullError:
                payload: RunErrorPayload = {"message": "Too many runs in progress", "code": "busy"}
                error = run_error_event(payload, run_id=params.run_id, thread_id=params.thread_id)
                await self.send(_json.dumps(error))
                return
        else:
            await aclose_quietly(events)
        await self.send_log(params.run_id, None)

    async def send_log(self, run_id: str, after: str | None) -> None:
        """The events of this caller's run ``run_id`` after ``after`` as ``{id, chunk}``
        frames, until the run ends."""
        assert self.durable is not None
        key = scoped_key(self.scope, run_id)
        stream = await self.durable.stream(key, after=after, framing="ndjson", run_id=run_id)
        try:
            async for line in stream:
                await self.send(line.decode("utf-8", "surrogatepass").rstrip("\n"))
        finally:
            await aclose_quietly(stream)

    async def stop_turn(self, *, cancel_run: bool = True) -> None:
        turn, run_id = self.turn, self.turn_run_id
        if turn is not None and not turn.done():
            turn.cancel()
            # Wait for the agent's ``finally`` before reading the next frame, so that a
            # new turn never overlaps the aborted one.
            await asyncio.gather(turn, return_exceptions=True)
        if cancel_run and self.durable is not None and run_id is not None:
            # An abort stops the recorded run too (a dropped socket only detaches).
            await self.stop_run(run_id)
        self.turn = None
        self.turn_run_id = None

    async def stop_run(self, run_id: str) -> None:
        """Stop a durable run wherever it is produced (with a shared log: any replica)."""
        assert self.durable is not None
        try:
            await self.durable.stop(scoped_key(self.scope, run_id))
        except ReplayError as exc:  # the log cannot be reached: nothing more to do here
            log_agent_failure(exc, where=f"stopping run {run_id!r}")

    # -- frames ---------------------------------------------------------------------------

    async def handle(self, message: MutableMapping[str, Any]) -> None:
        self.last_activity = time.monotonic()
        text = message.get("text")
        if text is None:
            if message.get("bytes") is not None:
                raise _Refusal(CLOSE_UNSUPPORTED, "binary frames are not supported")
            return
        if len(text) > self.max_frame_bytes or len(text.encode("utf-8", "surrogatepass")) > (
            self.max_frame_bytes
        ):
            raise _Refusal(CLOSE_TOO_BIG, f"frame larger than {self.max_frame_bytes} bytes")
        try:
            frame = _json.loads(text)
        except (ValueError, RecursionError):
            raise _Refusal(CLOSE_INVALID_PAYLOAD, "frame is not JSON") from None
        if not isinstance(frame, dict):
            raise _Refusal(CLOSE_INVALID_PAYLOAD, "frame is not a JSON object")
        kind = frame.get("type")
        if kind is not None:
            if kind == "abort":
                run_id = frame.get("runId")
                if self.running() and (run_id is None or run_id == self.turn_run_id):
                    await self.stop_turn()
                elif self.durable is not None and isinstance(run_id, str) and run_id:
                    await self.stop_run(run_id)  # a run of another socket, maybe elsewhere
                return
            if kind in ("ping", "pong"):
                return
            shown = kind if isinstance(kind, str) and len(kind) <= 40 else "?"
            raise _Refusal(CLOSE_POLICY, f"unknown frame type {shown!r}")
        if self.running():
            raise _Refusal(CLOSE_POLICY, "a turn is already running on this socket")
        try:
            params = parse_run_agent_input(frame)
        except RequestValidationError as exc:
            error = run_error_event(
                {"message": str(exc)[:500], "code": "invalid_request"},
                run_id=frame.get("runId") if isinstance(frame.get("runId"), str) else None,
                thread_id=frame.get("threadId") if isinstance(frame.get("threadId"), str) else None,
            )
            await self.send(_json.dumps(error))
            return
        self.turn_run_id = params.run_id
        self.turn = asyncio.create_task(self.run_turn(params), name="chatconduit-ws-turn")

    async def read(self) -> None:
        websocket = self.websocket
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] != "websocket.receive":
                continue
            try:
                await self.handle(message)
            except _Refusal as refusal:
                await self.stop_turn()
                await self.close(refusal.code, refusal.reason)
                return

    async def heartbeat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.send(PING_FRAME)

    async def idle_watch(self, limit: float) -> None:
        while True:
            wait = self.last_activity + limit - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self.running():
                await asyncio.sleep(limit)  # never mid-turn
                continue
            await self.close(CLOSE_NORMAL, "idle timeout")
            return


async def _replay(session: _Session, run_id: str | None, offset: str) -> None:
    """``?runId=&offset=``: the run's events after ``offset`` (``-1``: all), then close
    1000, as ``resumeWebSocketStream`` does; a problem closes 1008 with the reason."""
    if session.durable is None:
        await session.close(CLOSE_POLICY, "this endpoint keeps no replay buffer")
        return
    if not run_id:
        await session.close(CLOSE_POLICY, "resuming needs a runId query parameter")
        return
    try:
        await session.send_log(run_id, None if offset == "-1" else offset)
    except UnknownRunError:
        await session.close(CLOSE_POLICY, "unknown run")
        return
    except ReplayGapError:
        await session.close(CLOSE_POLICY, "offset not available")
        return
    except ReplayError:
        await session.close(CLOSE_POLICY, "run cannot be replayed")
        return
    except (OSError, WebSocketDisconnect, RuntimeError):
        return
    await session.close(CLOSE_NORMAL)


def websocket_endpoint(
    agent: Agent,
    *,
    heartbeat: float = DEFAULT_WS_HEARTBEAT,
    idle_timeout: float | None = None,
    max_frame_bytes: int = DEFAULT_MAX_BODY_BYTES,
    authorize: Authorize | None = None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    subprotocol: str | None = None,
    dialect: Dialect = "current",
    durable: DurableRuns | None = None,
    run_scope: Callable[[WebSocket], str | Awaitable[str]] | None = None,
) -> Callable[[WebSocket], Awaitable[None]]:
    """A Starlette WebSocket endpoint serving ``agent`` turn after turn (see the module).

    ``heartbeat``: seconds between ``{"type":"ping"}`` frames (0 disables).
    ``subprotocol``: accepted when the client offers it. ``dialect``: the events'
    shape, as for ``chat_endpoint``; ``"current"`` by default, since only current
    clients (TanStack 0.33, chatconduit) speak this protocol. ``durable``: runs are
    recorded and sent as ``{id, chunk}`` frames; a socket opened at
    ``?runId=&offset=<id>`` (``-1``: from the start) replays the run after that id,
    follows it to its end and closes (1000). A dropped socket leaves its run running
    (``DurableRuns.abandon_after``); an abort frame stops it, and an abort frame naming
    another durable run stops that one, wherever it is produced. The agent is called as
    ``agent(params, websocket)`` (a ``WebSocket`` reads like a ``Request``:
    headers, query parameters, ``state``).

    ``run_scope(websocket)``, as for ``chat_endpoint``: the namespace (say, the user)
    this socket's durable runs live in. Runs started, replayed (``?offset=``) or
    stopped (abort frames) through the socket are looked up in it only, so a caller who
    learns or guesses another's run id can neither read nor stop that run.
    """
    if not isinstance(heartbeat, int | float) or heartbeat < 0:
        raise ValueError(f"heartbeat must be a number of seconds >= 0, got {heartbeat!r}")
    if idle_timeout is not None and not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be > 0 seconds or None, got {idle_timeout!r}")
    check_dialect(dialect)
    if max_frame_bytes < 1:
        raise ValueError(f"max_frame_bytes must be >= 1, got {max_frame_bytes}")

    async def endpoint(websocket: WebSocket) -> None:
        if authorize is not None and not await is_authorized(authorize, cast(Request, websocket)):
            extensions = websocket.scope.get("extensions") or {}
            if "websocket.http.response" in extensions:
                await websocket.send_denial_response(
                    error_response(
                        401,
                        "Missing or invalid bearer token",
                        "unauthorized",
                        {"WWW-Authenticate": "Bearer"},
                    )
                )
            else:
                await websocket.close(code=CLOSE_POLICY, reason="unauthorized")
            return
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol=subprotocol if subprotocol in offered else None)
        scope = await scope_of(run_scope, websocket)
        session = _Session(
            websocket, agent, error_payload, max_frame_bytes, dialect, durable, scope
        )
        offset = websocket.query_params.get("offset")
        if offset is not None:
            await _replay(session, websocket.query_params.get("runId"), offset)
            return
        helpers: list[asyncio.Task[None]] = []
        if heartbeat > 0:
            helpers.append(asyncio.create_task(session.heartbeat(heartbeat)))
        reader = asyncio.create_task(session.read())
        if idle_timeout is not None:

            async def idle() -> None:
                await session.idle_watch(idle_timeout)
                reader.cancel()

            helpers.append(asyncio.create_task(idle()))
        try:
            await asyncio.wait([reader, *helpers], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            reader.cancel()
            raise
        finally:
            for task in helpers:
                task.cancel()
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, *helpers, return_exceptions=True)
            try:
                await session.stop_turn(cancel_run=False)
            except Exception as exc:  # pragma: no cover - defensive
                log_agent_failure(exc, where="websocket turn")
            await session.close(CLOSE_NORMAL)

    return endpoint
