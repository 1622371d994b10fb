"""The exception hierarchy. Every error chatconduit raises derives from ChatConduitError.

    ChatConduitError
    ├── AdapterContractError        an adapter offers neither, both or half of the two shapes
    ├── TransportError              the network failed us
    │   ├── ConnectError            could not connect (refused, DNS, TLS)
    │   ├── StreamTimeoutError      no bytes for too long (idle watchdog), or a connect/read timeout
    │   ├── StreamReadError         the connection broke while the body was being read
    │   │   └── WebSocketClosedError a WebSocket closed mid-turn (close code and reason kept)
    │   └── ReconnectLimitError     resume gave up after too many reconnects without progress
    ├── HTTPStatusError             the server answered with a non-2xx status
    │   ├── RedirectError           a redirect was not followed (body to another origin, too many)
    │   └── HydrateUnsupportedError the server has no hydrate route (405/501 to GET ?threadId=)
    ├── ProtocolError               the bytes on the wire are not what the protocol allows
    │   ├── MalformedEventError     a payload is not valid JSON / not an event
    │   ├── StreamTruncatedError    the stream ended in the middle of a line or event
    │   ├── FrameTooLargeError      a line or event exceeded the size limit
    │   ├── ContentEncodingError    stacked, unsupported or corrupt Content-Encoding
    │   └── UnexpectedResponseError a 2xx answer that is not an event stream (HTML, empty, 204)
    ├── RunError                    the server reported RUN_ERROR
    ├── JSONPatchError              a STATE_DELTA (RFC 6902 JSON Patch) does not apply to the state
    ├── MessageValidationError      a dict does not describe a valid UI message or part
    ├── ClientClosedError           the ChatClient was closed
    ├── ClientStateError            an illegal lifecycle transition (a bug, never user input)
    ├── ContinuationLimitError      a turn reached max_continuations automatic follow-up requests
    ├── UnknownToolCallError        add_tool_result named a tool call no message holds
    ├── UnknownApprovalError        add_tool_approval_response named an unknown approval
    ├── UserFacingError             (server side) raised by an agent: its message reaches the user
    ├── AgentOutputError            (server side) an agent yielded something that is not an event
    ├── RequestValidationError      (server side) a request body is not a valid RunAgentInput
    │   ├── PayloadTooLargeError    the body is larger than the endpoint accepts (HTTP 413)
    │   ├── RequestTimeoutError     the body did not arrive in time (HTTP 408)
    │   ├── TooManyPendingBodiesError too many requests are still sending their body (HTTP 503)
    │   └── UnsupportedMediaTypeError the body is not declared as JSON (HTTP 415)
    ├── ReplayError                 (server side) a replay buffer (stream log) refused an operation
    │   ├── UnknownRunError         no run with this id is kept
    │   ├── RunExistsError          a run with this id was already created
    │   ├── ReplayGapError          the requested offset is too old, or not an id of the run
    │   ├── StreamLogFullError      every slot holds a live run; no new run can be recorded
    │   │   └── TooManyRunsError    one scope (caller) already has its maximum of live runs
    │   └── EventTooLargeError      one event is larger than a run's whole replay buffer
    └── CalculatorError             (demo) the calculator tool got something that is not arithmetic

Messages name what was wrong and where, and never carry secrets: headers are
redacted (see ``_redact``) before they are stored on an exception.
"""

from __future__ import annotations

from collections.abc import Mapping


class ChatConduitError(Exception):
    """Base class of every error raised by chatconduit."""


class AdapterContractError(ChatConduitError, TypeError):
    """A connection adapter does not have exactly one of the two supported shapes."""


class TransportError(ChatConduitError):
    """The transport (network, socket, HTTP client) failed."""


class ConnectError(TransportError):
    """The connection could not be established."""


class StreamTimeoutError(TransportError):
    """Nothing arrived within the configured time."""


class StreamReadError(TransportError):
    """The connection broke while the response body was being read."""


class WebSocketClosedError(StreamReadError):
    """A WebSocket closed before the turn ended; ``code`` and ``reason`` are the close frame's
    (``1006`` and ``""`` when none arrived). The reason is scrubbed of our secrets."""

    def __init__(self, message: str, *, code: int = 1006, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(message)


class ReconnectLimitError(TransportError):
    """Resuming a dropped stream failed too many times in a row without progress."""


class HTTPStatusError(ChatConduitError):
    """The server answered with a non-success HTTP status.

    Keeps the status, reason, (redacted) response headers and the start of the
    body so that the caller can act on it (re-authenticate on 401, wait on 429).
    """

    def __init__(
        self,
        status_code: int,
        reason: str = "",
        *,
        url: str = "",
        headers: Mapping[str, str] | None = None,
        body: str = "",
        body_truncated: bool = False,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.url = url
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body
        self.body_truncated = body_truncated
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        head = f"HTTP error! status: {self.status_code} {self.reason}".rstrip()
        if self.url:
            head += f" from {self.url}"
        if self.body:
            excerpt = " ".join(self.body.split())
            if len(excerpt) > 300:
                excerpt = excerpt[:300] + "…"
            elif self.body_truncated:
                excerpt += "…"
            head += f": {excerpt}"
        return head

    @property
    def retry_after(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "retry-after":
                return value
        return None


class RedirectError(HTTPStatusError):
    """A redirect the transport refused to follow: one that would re-send the request
    body to another origin (307/308), one too many, or one to an unusable location.

    ``location`` is the (redacted) target; the rest is :class:`HTTPStatusError`'s, for
    the redirect response itself.
    """

    def __init__(
        self,
        status_code: int,
        reason: str = "",
        *,
        url: str = "",
        location: str = "",
        problem: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.location = location
        self.problem = problem
        super().__init__(status_code, reason, url=url, headers=headers)

    def _one_line(self) -> str:
        head = f"redirect not followed: status {self.status_code} {self.reason}".rstrip()
        if self.url:
            head += f" from {self.url}"
        if self.location:
            head += f" to {self.location}"
        return f"{head}: {self.problem}" if self.problem else head


class HydrateUnsupportedError(HTTPStatusError):
    """The server has no hydrate route: it answered ``GET ?threadId=`` with 405 or 501.

    An :class:`~chatconduit.HTTPStatusError` (status, headers, body excerpt kept), whose
    message says what is missing rather than only the status.
    """

    def _one_line(self) -> str:
        head = (
            f"the server does not support hydrate (GET ?threadId=): "
            f"status {self.status_code} {self.reason}"
        ).rstrip()
        if self.url:
            head += f" from {self.url}"
        return (
            f"{head}; the endpoint needs a hydrate route answering "
            "{messages, activeRun, interrupts} as JSON"
        )


class ProtocolError(ChatConduitError):
    """The bytes received do not follow the wire protocol."""

    def __init__(self, message: str, *, line: int | None = None, excerpt: str | None = None):
        self.line = line
        self.excerpt = excerpt
        where = f" (line {line})" if line is not None else ""
        tail = f": {excerpt!r}" if excerpt is not None else ""
        super().__init__(f"{message}{where}{tail}")


class MalformedEventError(ProtocolError):
    """A payload could not be parsed as JSON, or is not a JSON object with a string ``type``."""


class StreamTruncatedError(ProtocolError):
    """The stream ended in the middle of a line or an event."""


class FrameTooLargeError(ProtocolError):
    """A single line or event grew beyond the configured limit."""


class ContentEncodingError(ProtocolError):
    """The response's ``Content-Encoding`` is stacked (``gzip, gzip``), not one we asked
    for, or its compressed data is corrupt."""


class UnexpectedResponseError(ProtocolError):
    """A success status whose body is not an event stream: an HTML page, an empty body,
    a 204, another streaming protocol, or a body in which not a single event was found.

    ``status_code`` and ``content_type`` (``None`` when the header was missing) say what
    came back; ``excerpt`` holds the first bytes of the body, decoded, with the
    request's credentials masked.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        content_type: str | None,
        excerpt: str | None = None,
        line: int | None = None,
    ) -> None:
        self.status_code = status_code
        self.content_type = content_type
        super().__init__(message, line=line, excerpt=excerpt)


class RunError(ChatConduitError):
    """The agent reported a RUN_ERROR event."""

    def __init__(self, message: str, code: str | None = None, run_id: str | None = None):
        self.code = code
        self.run_id = run_id
        super().__init__(message)


class RequestValidationError(ChatConduitError, ValueError):
    """A request body is not a valid RunAgentInput. ``errors`` lists ``(location, problem)``."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None):
        self.errors = errors or []
        super().__init__(message)


class JSONPatchError(ChatConduitError, ValueError):
    """A JSON Patch (``STATE_DELTA``) is malformed or does not apply to the current state.

    ``operation_index`` / ``operation`` / ``pointer`` say which operation failed and where.
    The patch is applied atomically: when this is raised, the state is unchanged.
    """

    def __init__(
        self,
        message: str,
        *,
        operation_index: int | None = None,
        operation: Mapping[str, object] | None = None,
        pointer: object = None,
    ):
        self.operation_index = operation_index
        self.operation = dict(operation) if operation is not None else None
        self.pointer = pointer if isinstance(pointer, str) else None
        super().__init__(message)


class MessageValidationError(ChatConduitError, ValueError):
    """A dict does not describe a valid message or part. ``errors`` lists ``(path, problem)``."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None):
        self.errors = errors or []
        super().__init__(message)


class ClientClosedError(ChatConduitError, RuntimeError):
    """The client was closed (``aclose()``); create a new one."""


class ClientStateError(ChatConduitError, RuntimeError):
    """The client attempted a lifecycle transition its table does not allow (a bug)."""


class ContinuationLimitError(ChatConduitError):
    """A turn sent ``max_continuations`` automatic follow-up requests (client-tool results
    going back to the agent) and the agent asked for yet another one: the turn ends in
    ``error`` instead of looping forever. ``limit`` is the option's value; the messages,
    including the last tool results (not sent), are kept.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"the agent kept asking for client tools: {limit} automatic follow-up requests "
            f"in one turn (max_continuations={limit}); the last tool results were not sent"
        )


class UnknownToolCallError(ChatConduitError, LookupError):
    """``add_tool_result`` named a tool call id that no message holds."""


class UnknownApprovalError(ChatConduitError, LookupError):
    """``add_tool_approval_response`` named an approval id that no tool call carries."""


class UserFacingError(ChatConduitError):
    """Raise this from an agent to show ``message`` (and ``code``) to the user.

    Every other exception reaches the client as a generic message, so that
    internals never leak by accident.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        self.message = message
        self.code = code
        super().__init__(message)


class PayloadTooLargeError(RequestValidationError):
    """The request body is larger than the endpoint accepts (answered with HTTP 413)."""

    def __init__(self, limit: int, received: int | None = None) -> None:
        self.limit = limit
        self.received = received
        size = f" ({received} bytes declared)" if received is not None else ""
        super().__init__(
            f"Request body exceeds the limit of {limit} bytes{size}.",
            [("body", f"larger than {limit} bytes")],
        )


class RequestTimeoutError(RequestValidationError):
    """The request body did not arrive within the time allowed (answered with HTTP 408).

    A client that declares a body and then sends it slowly, or never, would otherwise
    hold a handler and a socket forever.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(
            f"Request body did not arrive within {timeout:g} seconds.",
            [("body", f"not received within {timeout:g} s")],
        )


class TooManyPendingBodiesError(RequestValidationError):
    """Too many requests are still sending their body (answered with HTTP 503).

    Refused at once rather than queued: a queued request would hold its socket too.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"Too many requests ({limit}) are still sending their body; retry shortly.",
            [("body", "the server is receiving too many bodies at once")],
        )


class UnsupportedMediaTypeError(RequestValidationError):
    """The request is not declared as JSON (answered with HTTP 415).

    Requiring ``Content-Type: application/json`` makes a cross-site form or
    ``text/plain`` fetch (a CORS "simple" request, sent without a preflight and
    with the victim's cookies) unable to start an agent.
    """

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        shown = "missing" if not content_type else repr(content_type[:60])
        problem = f"must be application/json (or application/*+json), got {shown}"
        super().__init__(f"Content-Type {problem}", [("headers.content-type", problem)])


class AgentOutputError(ChatConduitError, TypeError):
    """An agent yielded something that is not an AG-UI event."""


class ReplayError(ChatConduitError):
    """Base class of replay-buffer errors."""


class UnknownRunError(ReplayError, LookupError):
    """No run with this id is kept (never started here, or already evicted)."""


class RunExistsError(ReplayError):
    """A run with this id was already created."""


class ReplayGapError(ReplayError):
    """The requested offset is older than the oldest event still kept, or not an id of this run."""


class StreamLogFullError(ReplayError):
    """Every slot holds a run that is still producing; no new run can be recorded."""


class TooManyRunsError(StreamLogFullError):
    """One scope (a caller, see ``run_scope``) already has its maximum of live runs.

    A subclass of :class:`StreamLogFullError`, so code that handles a full log
    handles this too; ``chat_endpoint`` answers it with 429 instead of 503.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"this caller already has {limit} runs in progress")


class EventTooLargeError(ReplayError):
    """One event is larger than a run's whole replay buffer (``max_bytes_per_run``)."""


class CalculatorError(ChatConduitError, ValueError):
    """The expression is not plain arithmetic, or cannot be computed."""
