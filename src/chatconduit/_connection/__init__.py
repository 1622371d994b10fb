"""Connection adapters: the contract, normalisation, direct streams and the HTTP transports."""

from ._abort import AbortController, AbortSignal
from ._direct import DirectStreamAdapter, rpc_stream, stream
from ._http import HTTPStreamAdapter, fetch_http_stream, fetch_server_sent_events
from ._normalize import ConnectAdapterWrapper, normalize_connection_adapter
from ._options import FetchOptions
from ._protocols import (
    ConnectConnectionAdapter,
    ConnectionAdapter,
    NormalizedConnectionAdapter,
    RunContext,
    SubscribeConnectionAdapter,
)
from ._resume import ResumePolicy
from ._retry import RetryPolicy
from ._status import ConnectionStatus, ConnectionStatusEvent

__all__ = [
    "AbortController",
    "AbortSignal",
    "ConnectAdapterWrapper",
    "ConnectConnectionAdapter",
    "ConnectionAdapter",
    "ConnectionStatus",
    "ConnectionStatusEvent",
    "DirectStreamAdapter",
    "FetchOptions",
    "HTTPStreamAdapter",
    "NormalizedConnectionAdapter",
    "ResumePolicy",
    "RetryPolicy",
    "RunContext",
    "SubscribeConnectionAdapter",
    "fetch_http_stream",
    "fetch_server_sent_events",
    "normalize_connection_adapter",
    "rpc_stream",
    "stream",
]
