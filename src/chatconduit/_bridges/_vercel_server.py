"""``vercel_chat_endpoint``: our agents behind a Vercel AI SDK ``useChat`` front end.

``chat_endpoint(agent, protocol="vercel")`` returns this endpoint. It reads the AI
SDK's request (``{trigger, id, messages}``, see ``_vercel_body``) with the same limits
as the AG-UI endpoint (415, 413, 408, 503, a bad body 400 naming what is wrong),
calls ``agent(params, request)`` with the usual :class:`RunAgentInput`, and answers
with a UI message stream (``x-vercel-ai-ui-message-stream: v1``, ``_vercel_chunks``).
An agent failure becomes an ``error`` chunk with the client-safe message of
``error_payload``. Needs Starlette (the ``server`` extra).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import _json
from .._events import coerce_event, event_to_dict
from .._exceptions import RequestValidationError
from .._run_input import RunAgentInput, parse_run_agent_input
from ..server._callers import is_authorized
from ..server._errors import ErrorPayloadMapper
from ..server._errors import run_error_payload as default_error_payload
from ..server._heartbeat import aclose_quietly
from ..server._requests import (
    PendingBodies,
    check_json_content_type,
    read_body,
    request_error_response,
)
from ._vercel_body import is_vercel_body, vercel_body_to_run_input
from ._vercel_chunks import VERCEL_HEADERS, VercelChunkEncoder

__all__ = ["vercel_chat_endpoint"]

logger = logging.getLogger("chatconduit.server")


def _frame(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + _json.dumps(chunk).encode("utf-8") + b"\n\n"


async def vercel_stream(
    events: AsyncIterable[Any], error_payload: ErrorPayloadMapper = default_error_payload
) -> AsyncIterator[bytes]:
    """An agent's events as the bytes of a UI message stream, ``[DONE]`` last."""
    encoder = VercelChunkEncoder()
    iterator = aiter(events)
    try:
        async for item in iterator:
            event = event_to_dict(coerce_event(item))
            for chunk in encoder.encode(event):
                yield _frame(chunk)
    except Exception as exc:  # the client is told, safely; the log has the details
        logger.exception("agent failed while streaming a Vercel UI message stream")
        message = error_payload(exc).get("message") or "the agent failed"
        for chunk in encoder.encode({"type": "RUN_ERROR", "message": message}):
            yield _frame(chunk)
    finally:
        await aclose_quietly(iterator)  # the agent's finally runs now, not at GC time
    for chunk in encoder.end():
        yield _frame(chunk)
    yield b"data: [DONE]\n\n"


async def read_vercel_request(
    request: Request,
    *,
    max_body_bytes: int,
    body_timeout: float | None,
    pending_bodies: PendingBodies | None,
) -> RunAgentInput:
    """The AI SDK's chat request as a :class:`RunAgentInput`; RequestValidationError
    (400, or 408/413/415/503 for the limits) when it is not one."""
    check_json_content_type(request)
    raw = await read_body(
        request,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        pending_bodies=pending_bodies,
    )
    try:
        body = json.loads(raw)
    except ValueError:
        raise RequestValidationError(
            "the request body is not JSON", [("$", "not valid JSON")]
        ) from None
    if not isinstance(body, dict) or not is_vercel_body(body):
        raise RequestValidationError(
            "expected a Vercel AI SDK chat request ({trigger, id, messages}); this "
            "endpoint speaks the UI message stream protocol (an AG-UI client needs "
            "chat_endpoint(agent) without protocol='vercel')",
            [("$.trigger", "must be 'submit-message' or 'regenerate-message'")],
        )
    return parse_run_agent_input(vercel_body_to_run_input(body))


Run = Callable[[RunAgentInput, Request], AsyncIterable[Any]]
"""The agent's events for a request (``chat_endpoint`` passes its own ``agent_events``)."""
Refuse = Callable[[int, str, str, Mapping[str, str] | None], Response]
"""``chat_endpoint``'s ``error_response``: the shape of every refusal."""


def vercel_chat_endpoint(
    run: Run,
    *,
    refuse: Refuse,
    headers: Mapping[str, str] | None = None,
    max_body_bytes: int,
    body_timeout: float | None,
    pending_bodies: PendingBodies | None,
    error_payload: ErrorPayloadMapper = default_error_payload,
    authorize: Callable[[Request], Any] | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint (see the module docstring); ``chat_endpoint`` checks the options."""
    response_headers = {**VERCEL_HEADERS, **(headers or {})}

    async def endpoint(request: Request) -> Response:
        if authorize is not None and not await is_authorized(authorize, request):
            return refuse(
                401, "Missing or invalid bearer token", "unauthorized",
                {"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if request.method != "POST":
            return refuse(405, "Use POST", "method_not_allowed", None)
        try:
            params = await read_vercel_request(
                request,
                max_body_bytes=max_body_bytes,
                body_timeout=body_timeout,
                pending_bodies=pending_bodies,
            )
        except RequestValidationError as exc:
            response: JSONResponse = request_error_response(exc, request=request)
            return response
        except ClientDisconnect:
            return Response(status_code=400)
        body = vercel_stream(run(params, request), error_payload)
        return StreamingResponse(body, headers=response_headers)

    return endpoint
