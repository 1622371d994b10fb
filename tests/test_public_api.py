"""The public surface, pinned: a name added to or dropped from a public module is a decision.

Change these lists together with the module's ``__all__`` (and the docs) on purpose.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGE = frozenset(
    {
        "AbortController",
        "AbortSignal",
        "AdapterContractError",
        "ApprovalRequest",
        "AudioPart",
        "BaseEvent",
        "BatchStrategy",
        "ChatClient",
        "ChatClientOptions",
        "ChatConduitError",
        "ChatConnectionStatus",
        "ChatSnapshot",
        "ChatStatus",
        "ChunkStrategy",
        "ClientClosedError",
        "ClientStateError",
        "CompositeStrategy",
        "ConnectConnectionAdapter",
        "ConnectError",
        "ConnectionAdapter",
        "ConnectionStatus",
        "ConnectionStatusEvent",
        "ContentEncodingError",
        "ContinuationLimitError",
        "DataSource",
        "DocumentPart",
        "Event",
        "EventType",
        "FetchOptions",
        "FrameTooLargeError",
        "HTTPStatusError",
        "HydrateUnsupportedError",
        "HydratedInterrupts",
        "HydratedThread",
        "ImagePart",
        "ImmediateStrategy",
        "JSONPatchError",
        "MalformedEventError",
        "MessagePart",
        "MessageValidationError",
        "MessagesView",
        "ModelMessage",
        "ProtocolError",
        "PunctuationStrategy",
        "ReconnectLimitError",
        "RedirectError",
        "RequestValidationError",
        "Reply",
        "ResumePolicy",
        "RetryPolicy",
        "RunAgentInput",
        "RunContext",
        "RunError",
        "StreamProcessor",
        "StreamReadError",
        "StreamTimeoutError",
        "StreamTruncatedError",
        "SubscribeConnectionAdapter",
        "SyncChatClient",
        "TextPart",
        "ThinkingPart",
        "Tool",
        "ToolCallApproval",
        "ToolCallPart",
        "ToolCallRequest",
        "ToolCallState",
        "ToolResultPart",
        "ToolResultState",
        "ToolSpec",
        "TransportError",
        "UIMessage",
        "UnexpectedResponseError",
        "UnknownApprovalError",
        "UnknownPart",
        "UnknownToolCallError",
        "Updates",
        "UrlSource",
        "VideoPart",
        "WebSocketClosedError",
        "WebSocketOptions",
        "WordBoundaryStrategy",
        "__version__",
        "build_run_agent_input",
        "encode_run_agent_input",
        "fetch_http_stream",
        "fetch_server_sent_events",
        "message_from_dict",
        "message_to_dict",
        "normalize_connection_adapter",
        "openai_chat_completions",
        "print_stream",
        "rpc_stream",
        "stream",
        "tool",
        "vercel_ui_stream",
        "websocket",
        "websocket_push",
    }
)

EVENTS = frozenset(
    {
        "ActivityDeltaEvent",
        "ActivitySnapshotEvent",
        "BaseEvent",
        "CustomEvent",
        "DecodedEvent",
        "Event",
        "EventDecoder",
        "EventType",
        "Framing",
        "Interrupt",
        "MessagesSnapshotEvent",
        "RawEvent",
        "ReasoningEncryptedValueEvent",
        "ReasoningEndEvent",
        "ReasoningMessageChunkEvent",
        "ReasoningMessageContentEvent",
        "ReasoningMessageEndEvent",
        "ReasoningMessageStartEvent",
        "ReasoningStartEvent",
        "RunErrorDetail",
        "RunErrorEvent",
        "RunFinishedEvent",
        "RunOutcome",
        "RunStartedEvent",
        "StateDeltaEvent",
        "StateSnapshotEvent",
        "StepFinishedEvent",
        "StepStartedEvent",
        "SubagentErrorEvent",
        "SubagentFinishedEvent",
        "SubagentStartedEvent",
        "TextMessageChunkEvent",
        "TextMessageContentEvent",
        "TextMessageEndEvent",
        "TextMessageStartEvent",
        "ThinkingEndEvent",
        "ThinkingStartEvent",
        "ThinkingTextMessageContentEvent",
        "ThinkingTextMessageEndEvent",
        "ThinkingTextMessageStartEvent",
        "ToolCallArgsEvent",
        "ToolCallChunkEvent",
        "ToolCallEndEvent",
        "ToolCallResultEvent",
        "ToolCallStartEvent",
        "UnknownEvent",
        "Usage",
        "coerce_event",
        "decode_event_payload",
        "encode_ndjson",
        "encode_sse",
        "encode_sse_comment",
        "event_class_for",
        "event_to_dict",
        "event_to_json",
        "finish_reason_of",
        "is_intermediate_finish",
        "is_terminal",
        "parse_event",
        "parse_event_json",
    }
)

SERVER = frozenset(
    {
        "Agent",
        "AgentOutputError",
        "Authorize",
        "ChatRequestBody",
        "DEFAULT_BODY_TIMEOUT",
        "DEFAULT_HEARTBEAT",
        "DEFAULT_MAX_BODY_BYTES",
        "DEFAULT_MAX_PENDING_BODIES",
        "DEFAULT_WS_HEARTBEAT",
        "DisconnectHook",
        "DurableRuns",
        "ErrorPayloadMapper",
        "EventBuilder",
        "EventSource",
        "EventStreamResponse",
        "EventTooLargeError",
        "FastAPIAgent",
        "Framing",
        "InMemoryStreamLog",
        "InMemoryThreadStore",
        "NDJSON_HEADERS",
        "PayloadTooLargeError",
        "PendingBodies",
        "PendingInterrupts",
        "RedisStreamLog",
        "RedisThreadStore",
        "ReplayError",
        "ReplayGapError",
        "RequestTimeoutError",
        "RunAgentInput",
        "RunControl",
        "RunErrorPayload",
        "RunExistsError",
        "RunScope",
        "SSE_HEADERS",
        "StopState",
        "StreamLog",
        "StreamLogFullError",
        "StreamLogUnavailableError",
        "ThreadRecord",
        "ThreadStore",
        "TooManyPendingBodiesError",
        "TooManyRunsError",
        "UnknownRunError",
        "UnsupportedMediaTypeError",
        "UserFacingError",
        "chat_endpoint",
        "chat_input",
        "chat_router",
        "error_response",
        "http_stream",
        "playground_app",
        "read_body",
        "read_chat_request",
        "redact_text",
        "request_error_response",
        "run_error_event",
        "run_error_payload",
        "server_sent_events_stream",
        "to_http_response",
        "to_server_sent_events_response",
        "websocket_endpoint",
    }
)

AGENTS = frozenset(
    {
        "OpenAICompatibleAgent",
        "to_openai_messages",
    }
)

PUBLIC = {
    "chatconduit": PACKAGE,
    "chatconduit.events": EVENTS,
    "chatconduit.server": SERVER,
    "chatconduit.agents": AGENTS,
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_listed_name_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_the_package_stays_small() -> None:
    # The first-hour surface: event classes belong in chatconduit.events.
    # 98: the bridge adapters (vercel_ui_stream, openai_chat_completions) are adapters
    # of the first hour, next to fetch_server_sent_events.
    assert len(PACKAGE) <= 98
    assert not (PACKAGE & EVENTS) - {"BaseEvent", "Event", "EventType"}


def test_one_home_per_name() -> None:
    # A name exported by two public modules must be the very same object.
    seen: dict[str, object] = {}
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if name in seen:
                assert seen[name] is value, f"{name} differs between public modules"
            seen[name] = value


def test_star_import_needs_no_server_extra() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
        "from chatconduit import *\n"
        "from chatconduit.events import *\n"
        "from chatconduit.server import http_stream, server_sent_events_stream\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
