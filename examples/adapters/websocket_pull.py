"""A user-written WebSocket adapter in the pull (``connect``) shape.

The reference's docs show this pattern: one socket per request. ``connect``
opens a socket, sends the RunAgentInput as one text frame, yields every event
frame until the run ends, and closes the socket. Anything with a ``connect``
method of this signature is an adapter; no base class is needed.

Run it: ``python examples/adapters/websocket_pull.py`` (starts a small
Starlette WebSocket server on a free local port, then chats with it).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect as ws_connect

from chatconduit import (
    AbortSignal,
    Event,
    RunContext,
    encode_run_agent_input,
    normalize_connection_adapter,
)
from chatconduit.events import TextMessageContentEvent, decode_event_payload, is_terminal
from chatconduit.server import EventBuilder


class WebSocketPullAdapter:
    """One WebSocket per request; the server answers with one JSON event per frame."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.headers = dict(headers or {})

    async def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Event]:
        body = encode_run_agent_input(
            messages,
            thread_id=run_context.thread_id if run_context else None,
            run_id=run_context.run_id if run_context else None,
            forwarded_props=run_context.forwarded_props if run_context else None,
            data=data,
        )
        # Leaving the ``async with`` closes the socket: at the end, on an error, on
        # an abort (normalize_connection_adapter cancels a blocked receive), and
        # when the consumer stops iterating.
        async with ws_connect(self.url, additional_headers=self.headers) as ws:
            await ws.send(body.decode("utf-8"))
            async for frame in ws:
                if abort_signal is not None and abort_signal.aborted:
                    return
                decoded = decode_event_payload(frame)  # skips pings, unwraps envelopes
                if decoded is None:
                    continue
                event, _event_id = decoded
                yield event
                if is_terminal(event):
                    return


# -- a tiny server to talk to -------------------------------------------------------------


async def echo_agent(websocket: WebSocket) -> None:
    """Answers each RunAgentInput frame with a short run that echoes the last user text."""
    await websocket.accept()
    run = json.loads(await websocket.receive_text())
    text = run["messages"][-1].get("content", "")
    ev = EventBuilder(thread_id=run["threadId"], run_id=run["runId"])  # ids made per run
    await websocket.send_text(json.dumps(ev.start()))
    await websocket.send_text(json.dumps({"type": "ping"}))  # a keep-alive, ignored
    await websocket.send_text(json.dumps(ev.start_text()))
    for word in f"You said: {text}".split(" "):
        await websocket.send_text(json.dumps(ev.text_delta(word + " ")))
    await websocket.send_text(json.dumps(ev.end_text()))
    await websocket.send_text(json.dumps(ev.finish()))
    await websocket.close()


def server_app() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", echo_agent)])


async def chat(url: str, text: str) -> str:
    """Send one user message through the adapter (normalized, as a ChatClient uses it)."""
    adapter = normalize_connection_adapter(WebSocketPullAdapter(url))
    user = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": text}]}]
    events = aiter(adapter.subscribe())
    await adapter.send(user, None, None, RunContext(thread_id="thread-1", run_id="run-1"))
    reply: list[str] = []
    while True:
        event = await anext(events)
        if isinstance(event, TextMessageContentEvent) and event.delta:
            reply.append(event.delta)
        if is_terminal(event):
            return "".join(reply).strip()


async def main() -> None:
    # A listening socket of our own: clients may connect before uvicorn is up
    # (the kernel queues them), so there is no start-up race to wait out.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(server_app(), log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        print(await chat(f"ws://127.0.0.1:{port}/ws", "Hello over a WebSocket"))
    finally:
        server.should_exit = True
        await serving
        sock.close()


if __name__ == "__main__":
    asyncio.run(main())
