"""What a client is told when an agent fails, and what the server log keeps.

The reference (``toRunErrorPayload`` in ``@tanstack/ai``) sends ``err.message``
of *any* exception to the browser. That leaks internals: upstream URLs, SQL,
file paths, sometimes credentials quoted in an exception text. chatconduit
decides differently and documents it (``docs/server.md``):

* :class:`UserFacingError` is the designated "say this to the user" exception:
  its ``message`` and ``code`` go to the client verbatim.
* :class:`~chatconduit.RunError` (a RUN_ERROR received from an upstream
  agent) was already written for clients, so it is passed on as well.
* Abort-like errors map to ``Request aborted`` / ``aborted`` like the reference.
* :class:`~chatconduit.HTTPStatusError` from an upstream keeps only its status
  as the code (``"429"``, stringified like the reference does with numbers).
* Anything else becomes ``Internal server error`` / ``internal_error``; a short
  identifier-like ``code`` attribute on the exception is kept (it helps the UI
  choose a message and carries no data).

The full exception, with its traceback, is logged on the server side after
:func:`redact_text` has masked what looks like a credential.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any, TypedDict

from .._exceptions import (
    HTTPStatusError,
    PayloadTooLargeError,
    RunError,
    UserFacingError,
)
from .._ids import now_ms
from .._redact import redact_text  # re-exported: chatconduit.server.redact_text

__all__ = [
    "ErrorPayloadMapper",
    "PayloadTooLargeError",
    "RunErrorPayload",
    "UserFacingError",
    "log_agent_failure",
    "redact_text",
    "run_error_event",
    "run_error_payload",
]

logger = logging.getLogger("chatconduit.server")

GENERIC_MESSAGE = "Internal server error"
GENERIC_CODE = "internal_error"
_ABORT_NAMES = frozenset({"AbortError", "APIUserAbortError", "RequestAbortedError"})
_SAFE_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class RunErrorPayload(TypedDict, total=False):
    """``{message, code?}``: the body of a RUN_ERROR, nested or top level."""

    message: str
    code: str


ErrorPayloadMapper = Callable[[BaseException], RunErrorPayload]
"""Turns an exception into what the client is allowed to see."""


def _code_of(exc: BaseException) -> str | None:
    code: Any = getattr(exc, "code", None)
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return str(code)  # the reference stringifies numeric codes: 429 -> "429"
    if isinstance(code, str) and _SAFE_CODE.fullmatch(code):
        return code
    return None


def run_error_payload(exc: BaseException) -> RunErrorPayload:
    """The client-safe ``{message, code}`` for ``exc`` (see the module docstring)."""
    if type(exc).__name__ in _ABORT_NAMES:
        return {"message": "Request aborted", "code": "aborted"}
    if isinstance(exc, UserFacingError | RunError):
        payload: RunErrorPayload = {"message": exc.args[0] if exc.args else ""}
        payload["message"] = payload["message"] or "Unknown error occurred"
        if exc.code:
            payload["code"] = str(exc.code)
        return payload
    if isinstance(exc, HTTPStatusError):
        return {"message": "Upstream service error", "code": str(exc.status_code)}
    return {"message": GENERIC_MESSAGE, "code": _code_of(exc) or GENERIC_CODE}


def run_error_event(
    payload: RunErrorPayload,
    *,
    run_id: str | None = None,
    thread_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A RUN_ERROR both client generations understand.

    TanStack 0.10 reads the nested ``error.message``; AG-UI clients (and
    TanStack after 0.10) read the top-level ``message``/``code``. ``runId``
    lets a client retire exactly the run that failed instead of all of them.
    """
    # Key order: the reference's (type, timestamp, ..., error), ids first as AG-UI writes them.
    event: dict[str, Any] = {"type": "RUN_ERROR"}
    if thread_id is not None:
        event["threadId"] = thread_id
    if run_id is not None:
        event["runId"] = run_id
    event["timestamp"] = now_ms() if timestamp is None else timestamp
    event["message"] = payload["message"]
    if "code" in payload:
        event["code"] = payload["code"]
    event["error"] = dict(payload)
    return event


def log_agent_failure(exc: BaseException, *, where: str) -> None:
    """Log ``exc`` with its traceback, credentials masked, for the operator (never the client).

    A :class:`UserFacingError` is the agent telling the user something on purpose, not
    a bug: one line at INFO, no traceback."""
    if isinstance(exc, UserFacingError):
        code = f" ({exc.code})" if exc.code else ""
        logger.info("%s: told the client: %s%s", where, redact_text(exc.message), code)
        return
    detail = "".join(traceback.format_exception(exc))
    logger.error("%s failed: %s", where, redact_text(detail.rstrip()))
