"""The exception hierarchy. Every error chatconduit raises derives from ChatConduitError.

    ChatConduitError
    ├── AdapterContractError        an adapter offers neither, both or half of the two shapes
    ├── TransportError              the network failed us
    │   ├── ConnectError            could not connect (refused, DNS, TLS)
    │   ├── StreamTimeoutError      no bytes for too long (idle watchdog), or a connect/read timeout
    │   ├── StreamReadError         the connection broke while the body was being read
    │   └── ReconnectLimitError     resume gave up after too many reconnects without progress
    ├── HTTPStatusError             the server answered with a non-2xx status
    ├── ProtocolError               the bytes on the wire are not what the protocol allows
    │   ├── MalformedEventError     a payload is not valid JSON / not an event
    │   ├── StreamTruncatedError    the stream ended in the middle of a line or event
    │   └── FrameTooLargeError      a line or event exceeded the size limit
    ├── RunError                    the server reported RUN_ERROR
    ├── JSONPatchError              a STATE_DELTA (RFC 6902 JSON Patch) does not apply to the state
    ├── MessageValidationError      a dict does not describe a valid UI message or part
    ├── ClientClosedError           the ChatClient was closed
    ├── ClientStateError            an illegal lifecycle transition (a bug, never user input)
    ├── UnknownToolCallError        add_tool_result named a tool call no message holds
    ├── UnknownApprovalError        add_tool_approval_response named an unknown approval
    ├── UserFacingError             (server side) raised by an agent: its message reaches the user
    └── RequestValidationError      (server side) a request body is not a valid RunAgentInput
        └── PayloadTooLargeError    the body is larger than the endpoint accepts (HTTP 413)

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
