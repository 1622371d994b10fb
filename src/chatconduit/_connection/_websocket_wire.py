"""What TanStack 0.58's WebSocket protocol says beyond the frames' events: where a turn
ends, the query a socket is opened with (``?runId=``, ``?offset=``), a refused
handshake as an :class:`HTTPStatusError`, and the close code and reason of a closed
socket. Shared by the pull and push adapters and the join of a durable run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._events import Event, RunErrorEvent, RunFinishedEvent
from .._exceptions import HTTPStatusError, ReconnectLimitError
from .._redact import Scrubber, redact_url
from ._resume import ResumePolicy

__all__ = [
    "RunResume",
    "close_code",
    "close_reason",
    "ends_turn",
    "status_error",
    "with_query",
]


class RunResume:
    """Where a run read over a socket stands, for reopening it after a drop at
    ``?runId=&offset=<last id>``: the envelope ids seen (the server replays the boundary,
    which is skipped), the last one, and the reconnects since the last progress, which
    ``policy`` bounds. One per run, shared by the pull and push adapters and the join."""

    __slots__ = ("last_id", "policy", "reconnects", "run_id", "seen")

    def __init__(self, run_id: str, policy: ResumePolicy, after: str | None = None) -> None:
        self.run_id = run_id
        self.policy = policy
        self.last_id = after
        self.seen: set[str] = set() if after is None else {after}
        self.reconnects = 0

    @property
    def resumable(self) -> bool:
        """Whether a drop now can be resumed: an id says where, and resuming is on."""
        return self.last_id is not None and self.policy.max_reconnects > 0

    def is_new(self, event_id: str | None) -> bool:
        """Whether the event with this envelope id (``None``: none) is to be delivered;
        a new id is recorded as the place to resume after."""
        if event_id is None:
            return True
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        self.last_id = event_id
        self.reconnects = 0
        return True

    def next_delay(self, doing: str = "resuming") -> float:
        """Count one more reconnect and return its delay; past the policy's bound,
        :class:`ReconnectLimitError`."""
        self.reconnects += 1
        if self.reconnects > self.policy.max_reconnects:
            raise ReconnectLimitError(
                f"gave up {doing} run {self.run_id!r} after "
                f"{self.policy.max_reconnects} reconnects without progress"
            )
        return self.policy.delay_for(self.reconnects)


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
