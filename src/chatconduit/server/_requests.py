"""Reading a chat request: a size-bounded body, validated into a ``RunAgentInput``.

The reference answers a bad body with a 400 and a fixed text. Here the answer is
JSON naming every problem and where it is, so a developer can fix the client:

    {"error": {"message": "...", "code": "invalid_request",
               "errors": [{"path": "messages[0].role", "problem": "..."}]}}

Values from the body are never echoed (they may hold secrets); the validator in
``_wire`` only names paths and JSON types.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .._exceptions import RequestValidationError
from .._run_input import RunAgentInput, parse_run_agent_input
from ._errors import PayloadTooLargeError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "read_body",
    "read_chat_request",
    "request_error_response",
]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""4 MiB: a long conversation with a few inline images; raise it for bigger media."""


async def read_body(request: Request, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than ``max_body_bytes``.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a body without one (chunked) is counted while it arrives and refused as
    soon as it crosses the limit, so memory stays bounded either way.
    """
    if max_body_bytes < 0:
        raise ValueError(f"max_body_bytes must be >= 0, got {max_body_bytes}")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            problem = "must be a non-negative integer"
            raise RequestValidationError(
                f"Content-Length header {problem}", [("headers.content-length", problem)]
            )
        if int(declared) > max_body_bytes:
            raise PayloadTooLargeError(max_body_bytes, int(declared))
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_body_bytes:
            raise PayloadTooLargeError(max_body_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_chat_request(
    request: Request, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> RunAgentInput:
    """Read and validate a chat POST (the AG-UI ``RunAgentInput`` or the legacy
    ``{messages, data}`` shape).

    Raises :class:`~chatconduit.RequestValidationError` (400) or
    :class:`~chatconduit.server.PayloadTooLargeError` (413); turn either into a
    response with :func:`request_error_response`.
    """
    return parse_run_agent_input(await read_body(request, max_body_bytes=max_body_bytes))


def request_error_response(exc: RequestValidationError) -> JSONResponse:
    """The 400 (or 413) JSON answer for a request that was refused."""
    too_large = isinstance(exc, PayloadTooLargeError)
    body: dict[str, Any] = {
        "error": {
            "message": str(exc),
            "code": "payload_too_large" if too_large else "invalid_request",
            "errors": [{"path": path, "problem": problem} for path, problem in exc.errors],
        }
    }
    return JSONResponse(body, status_code=413 if too_large else 400)
