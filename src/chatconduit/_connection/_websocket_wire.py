"""What TanStack 0.58's WebSocket protocol says beyond the frames' events: where a turn
ends, the query a socket is opened with (``?runId=``, ``?offset=``), a refused
handshake as an :class:`HTTPStatusError`, and the close code and reason of a closed
socket. Shared by the pull and push adapters and the join of a durable run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._events import Event, RunErrorEvent, RunFinishedEvent
from .._exceptions import HTTPStatusError
from .._redact import Scrubber, redact_url

__all__ = ["close_code", "close_reason", "ends_turn", "status_error", "with_query"]


def ends_turn(event: Event) -> bool:
    """Whether ``event`` ends a turn as ``toWebSocketStream`` defines it: a RUN_ERROR, an
    interrupt, or a RUN_FINISHED whose finish reason (top level, else
    ``metadata.tanstack.finishReason``) is not ``tool_calls``."""
    if isinstance(event, RunErrorEvent):
        return True
    if not isinstance(event, RunFinishedEvent):
        return False
    if event.outcome is not None and event.outcome.kind == "interrupt":
        return True
    reason = event.finish_reason
    if reason is None:
        reason = event.tanstack_metadata.get("finishReason")
    return reason != "tool_calls"


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` set (replacing same-named ones), other parameters kept."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*kept, *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def status_error(exc: Any, url: str, scrubber: Scrubber) -> HTTPStatusError:
    response = exc.response
    raw = bytes(response.body or b"")
    body = scrubber.text(raw[:2048].decode("utf-8", "replace"), truncated=len(raw) > 2048)
    return HTTPStatusError(
        int(response.status_code),
        str(response.reason_phrase or ""),
        url=redact_url(url),
        headers=scrubber.headers(list(response.headers.raw_items())),
        body=body,
        body_truncated=len(raw) > 2048,
    )


def close_code(exc: BaseException, side: str = "rcvd") -> int:
    """The close code we received (``side="sent"``: the one we sent); 1006 if none."""
    frame = getattr(exc, side, None)
    code = getattr(frame, "code", None)
    return int(code) if isinstance(code, int) else 1006


def close_reason(exc: BaseException) -> str:
    rcvd = getattr(exc, "rcvd", None)
    reason = getattr(rcvd, "reason", "")
    return reason if isinstance(reason, str) else ""
