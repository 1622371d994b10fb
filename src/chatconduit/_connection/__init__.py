"""Connection adapters: the contract, normalisation, direct streams and the HTTP transports."""

from ._abort import AbortController, AbortSignal
from ._direct import DirectStreamAdapter, rpc_stream, stream
from ._http import HTTPStreamAdapter, fetch_http_stream, fetch_server_sent_events
from ._hydrate import HydratedInterrupts, HydratedThread
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
from ._websocket import WebSocketAdapter, WebSocketOptions, websocket
from ._websocket_push import WebSocketPushAdapter, websocket_push

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
    "HydratedInterrupts",
    "HydratedThread",
    "NormalizedConnectionAdapter",
    "ResumePolicy",
    "RetryPolicy",
    "RunContext",
    "SubscribeConnectionAdapter",
    "WebSocketAdapter",
    "WebSocketOptions",
    "WebSocketPushAdapter",
    "fetch_http_stream",
    "fetch_server_sent_events",
    "normalize_connection_adapter",
    "rpc_stream",
    "stream",
    "websocket",
    "websocket_push",
]
