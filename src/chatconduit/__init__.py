"""chatconduit: chat clients and streaming AI backends, wire-compatible with TanStack AI."""

from ._exceptions import (
    AdapterContractError,
    ChatConduitError,
    ConnectError,
    FrameTooLargeError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    ReconnectLimitError,
    RequestValidationError,
    RunError,
    StreamReadError,
    StreamTimeoutError,
    StreamTruncatedError,
    TransportError,
)

__version__ = "0.1.0"

__all__ = [
    "AdapterContractError",
    "ChatConduitError",
    "ConnectError",
    "FrameTooLargeError",
    "HTTPStatusError",
    "MalformedEventError",
    "ProtocolError",
    "ReconnectLimitError",
    "RequestValidationError",
    "RunError",
    "StreamReadError",
    "StreamTimeoutError",
    "StreamTruncatedError",
    "TransportError",
    "__version__",
]
