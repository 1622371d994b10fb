"""Server helpers: stream agent events to TanStack AI / AG-UI clients from Starlette or FastAPI.

    from chatconduit.server import chat_endpoint

    async def agent(params, request):
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
        ...

    app = Starlette(routes=[Route("/api/chat", chat_endpoint(agent), methods=["POST"])])

See ``docs/server.md``. Needs the ``server`` extra (Starlette).
"""

from __future__ import annotations

from .._run_input import RunAgentInput
from ._durable import DurableRuns
from ._endpoint import Agent, Authorize, RunScope, chat_endpoint, error_response
from ._errors import (
    ErrorPayloadMapper,
    PayloadTooLargeError,
    RunErrorPayload,
    UserFacingError,
    redact_text,
    run_error_event,
    run_error_payload,
)
from ._replay import (
    InMemoryStreamLog,
    ReplayError,
    ReplayGapError,
    RunExistsError,
    StreamLog,
    StreamLogFullError,
    UnknownRunError,
)
from ._requests import (
    DEFAULT_MAX_BODY_BYTES,
    read_body,
    read_chat_request,
    request_error_response,
)
from ._responses import (
    NDJSON_HEADERS,
    SSE_HEADERS,
    EventStreamResponse,
    to_http_response,
    to_server_sent_events_response,
)
from ._streams import (
    DEFAULT_HEARTBEAT,
    AgentOutputError,
    DisconnectHook,
    EventSource,
    Framing,
    http_stream,
    server_sent_events_stream,
)

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MAX_BODY_BYTES",
    "NDJSON_HEADERS",
    "SSE_HEADERS",
    "Agent",
    "AgentOutputError",
    "Authorize",
    "DisconnectHook",
    "DurableRuns",
    "ErrorPayloadMapper",
    "EventSource",
    "EventStreamResponse",
    "Framing",
    "InMemoryStreamLog",
    "PayloadTooLargeError",
    "ReplayError",
    "ReplayGapError",
    "RunAgentInput",
    "RunErrorPayload",
    "RunExistsError",
    "RunScope",
    "StreamLog",
    "StreamLogFullError",
    "UnknownRunError",
    "UserFacingError",
    "chat_endpoint",
    "error_response",
    "http_stream",
    "read_body",
    "read_chat_request",
    "redact_text",
    "request_error_response",
    "run_error_event",
    "run_error_payload",
    "server_sent_events_stream",
    "to_http_response",
    "to_server_sent_events_response",
]
