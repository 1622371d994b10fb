"""Connection status changes of the HTTP transports, for a UI to show ("reconnecting…")."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ConnectionStatus", "ConnectionStatusEvent", "StatusCallback"]

logger = logging.getLogger("chatconduit.connection")


class ConnectionStatus(enum.StrEnum):
    CONNECTING = "connecting"  # a request is being sent (first attempt or a retry)
    OPEN = "open"  # response headers arrived with a success status; events may follow
    RECONNECTING = "reconnecting"  # waiting before a retry or a resume
    CLOSED = "closed"  # the stream ended (completed, or aborted by the caller)
    ERROR = "error"  # the stream failed; ``error`` holds what is about to be raised


@dataclass(frozen=True, slots=True)
class ConnectionStatusEvent:
    """One status change. ``url`` is redacted (no query string, no user info)."""

    status: ConnectionStatus
    url: str
    attempt: int = 1  # 1 for the first request of a stream, counting retries and resumes
    delay: float | None = None  # for RECONNECTING: seconds until the next attempt
    error: BaseException | None = None  # for ERROR, and for RECONNECTING: what caused it
    last_event_id: str | None = None  # for a resume: where it continues from


StatusCallback = Callable[[ConnectionStatusEvent], None]


def notify(callback: StatusCallback | None, event: ConnectionStatusEvent) -> None:
    """Deliver ``event``; a failing callback is logged, never allowed to break the stream."""
    if callback is None:
        return
    try:
        callback(event)
    except Exception as exc:
        # Log the type and text only: the callback is user code and its traceback
        # frames could hold request state (headers) in their locals.
        logger.warning("connection status callback raised %s: %s", type(exc).__name__, exc)
