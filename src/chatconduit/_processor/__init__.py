"""The stream processor: folds a stream of AG-UI events into ``UIMessage``s. It owns the
conversation and, while a response streams, the bookkeeping that decides where each
event's content lands; it is synchronous, does no I/O, and costs time in proportion
to the bytes received (the cost model is in docs/architecture.md).
"""

from ._json_patch import copy_json
from ._message_state import StreamToolCall
from ._records import ApprovalRequest, MessagesView, RunInfo, ToolCallRequest
from ._snapshot import ui_messages_from_snapshot
from ._strategies import (
    BatchStrategy,
    ChunkStrategy,
    CompositeStrategy,
    ImmediateStrategy,
    PunctuationStrategy,
    WordBoundaryStrategy,
)
from ._stream_processor import StreamProcessor

__all__ = [
    "ApprovalRequest",
    "BatchStrategy",
    "ChunkStrategy",
    "CompositeStrategy",
    "ImmediateStrategy",
    "MessagesView",
    "PunctuationStrategy",
    "RunInfo",
    "StreamProcessor",
    "StreamToolCall",
    "ToolCallRequest",
    "WordBoundaryStrategy",
    "copy_json",
    "ui_messages_from_snapshot",
]
