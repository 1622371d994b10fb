"""Server helpers: stream an agent's AG-UI events as SSE or NDJSON to TanStack AI,
AG-UI and chatconduit clients. The byte streams, errors, heartbeats and replay logs
work with any ASGI framework and import without Starlette; the ready-made
Starlette/FastAPI pieces (``chat_endpoint``, the responses, the request readers)
need the ``server`` extra and the Redis log (``RedisStreamLog``, ``RedisThreadStore``)
the ``redis`` extra; both are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    AgentOutputError,
    EventTooLargeError,
    PayloadTooLargeError,
    ReplayError,
    ReplayGapError,
    RequestTimeoutError,
    RunExistsError,
    StreamLogFullError,
    TooManyPendingBodiesError,
    TooManyRunsError,
    UnknownRunError,
    UnsupportedMediaTypeError,
    UserFacingError,
)
from .._run_input import RunAgentInput
from ._builder import EventBuilder
from ._durable import DurableRuns
from ._errors import (
    ErrorPayloadMapper,
    RunErrorPayload,
    redact_text,
    run_error_event,
    run_error_payload,
)
from ._http import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PENDING_BODIES,
    NDJSON_HEADERS,
    SSE_HEADERS,
)
from ._replay import (
    InMemoryStreamLog,
    RunControl,
    StopState,
    StreamLog,
    StreamLogUnavailableError,
)
from ._streams import (
    DEFAULT_HEARTBEAT,
    DisconnectHook,
    EventSource,
    Framing,
    http_stream,
    server_sent_events_stream,
)
from ._threads import InMemoryThreadStore, PendingInterrupts, ThreadRecord, ThreadStore

if TYPE_CHECKING:
    from ..playground import playground_app as playground_app
    from ._endpoint import Agent, Authorize, RunScope, chat_endpoint, error_response
    from ._fastapi import ChatRequestBody, FastAPIAgent, chat_input, chat_router
    from ._redis_log import RedisStreamLog
    from ._redis_threads import RedisThreadStore
    from ._requests import PendingBodies, read_body, read_chat_request, request_error_response
    from ._responses import EventStreamResponse, to_http_response, to_server_sent_events_response
    from ._websocket import DEFAULT_WS_HEARTBEAT as DEFAULT_WS_HEARTBEAT
    from ._websocket import websocket_endpoint as websocket_endpoint

# Names that need Starlette, and the module of each: imported on first access.
_STARLETTE_NAMES: dict[str, str] = {
    "Agent": "_endpoint",
    "Authorize": "_endpoint",
    "RunScope": "_endpoint",
    "chat_endpoint": "_endpoint",
    "error_response": "_endpoint",
    "PendingBodies": "_requests",
    "read_body": "_requests",
    "read_chat_request": "_requests",
    "request_error_response": "_requests",
    "EventStreamResponse": "_responses",
    "to_http_response": "_responses",
    "to_server_sent_events_response": "_responses",
    "DEFAULT_WS_HEARTBEAT": "_websocket",
    "websocket_endpoint": "_websocket",
    "ChatRequestBody": "_fastapi",  # the FastAPI-native helpers need FastAPI too
    "FastAPIAgent": "_fastapi",
    "chat_input": "_fastapi",
    "chat_router": "_fastapi",
    "playground_app": ".playground",  # chatconduit.playground, beside this package
}

# Names that need the redis package (the ``redis`` extra), and the module of each.
_REDIS_NAMES: dict[str, str] = {
    "RedisStreamLog": "_redis_log",
    "RedisThreadStore": "_redis_threads",
}


def _redis_name(name: str) -> Any:
    try:
        module = importlib.import_module(f".{_REDIS_NAMES[name]}", __name__)
    except ImportError as exc:
        missing = exc.name or ""
        if missing != "redis" and not missing.startswith("redis."):
            raise
        raise ImportError(
            f"chatconduit.server.{name} needs redis, which is not installed: "
            'pip install "chatconduit[redis]"',
            name=missing,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error

    def __getattr__(name: str) -> Any:
        if name in _REDIS_NAMES:
            return _redis_name(name)
        module_name = _STARLETTE_NAMES.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(f".{module_name}", __name__)
        except ImportError as exc:
            missing = exc.name or ""
            if missing == "fastapi" or missing.startswith("fastapi."):
                raise ImportError(
                    f"chatconduit.server.{name} needs FastAPI, which is not installed: "
                    'pip install fastapi "chatconduit[server]"',
                    name=missing,
                ) from exc
            if missing != "starlette" and not missing.startswith("starlette."):
                raise
            raise ImportError(
                f"chatconduit.server.{name} needs Starlette, which is not installed: "
                'pip install "chatconduit[server]"',
                name=missing,
            ) from exc
        value = getattr(module, name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_STARLETTE_NAMES) | set(_REDIS_NAMES))


__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PENDING_BODIES",
    "DEFAULT_WS_HEARTBEAT",
    "NDJSON_HEADERS",
    "SSE_HEADERS",
    "Agent",
    "AgentOutputError",
    "Authorize",
    "ChatRequestBody",
    "DisconnectHook",
    "DurableRuns",
    "ErrorPayloadMapper",
    "EventBuilder",
    "EventSource",
    "EventStreamResponse",
    "EventTooLargeError",
    "FastAPIAgent",
    "Framing",
    "InMemoryStreamLog",
    "InMemoryThreadStore",
    "PayloadTooLargeError",
    "PendingBodies",
    "PendingInterrupts",
    "RedisStreamLog",
    "RedisThreadStore",
    "ReplayError",
    "ReplayGapError",
    "RequestTimeoutError",
    "RunAgentInput",
    "RunControl",
    "RunErrorPayload",
    "RunExistsError",
    "RunScope",
    "StopState",
    "StreamLog",
    "StreamLogFullError",
    "StreamLogUnavailableError",
    "ThreadRecord",
    "ThreadStore",
    "TooManyPendingBodiesError",
    "TooManyRunsError",
    "UnknownRunError",
    "UnsupportedMediaTypeError",
    "UserFacingError",
    "chat_endpoint",
    "chat_input",
    "chat_router",
    "error_response",
    "http_stream",
    "playground_app",
    "read_body",
    "read_chat_request",
    "redact_text",
    "request_error_response",
    "run_error_event",
    "run_error_payload",
    "server_sent_events_stream",
    "to_http_response",
    "to_server_sent_events_response",
    "websocket_endpoint",
]
