"""UI messages (what a chat shows: ``UIMessage`` and its parts) and model messages (what
an LLM is sent: ``ModelMessage``), their camelCase JSON dicts, and the errors that name a
bad path; import the names from here, the modules are private."""

from __future__ import annotations

from .._exceptions import MessageValidationError
from ._base import format_js_date, to_json_value
from ._dicts import (
    message_from_dict,
    message_to_dict,
    model_message_from_dict,
    model_message_to_dict,
    part_from_dict,
    part_to_dict,
)
from ._model_message import (
    ContentPart,
    ModelMessage,
    ModelToolCall,
    ModelToolCallFunction,
    ThinkingEntry,
)
from ._parts import MEDIA_PART_TYPES as MEDIA_PART_TYPES
from ._parts import PART_TYPES as PART_TYPES
from ._parts import (
    AudioPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MediaPart,
    MediaSource,
    MessagePart,
    TextPart,
    ThinkingPart,
    ToolCallApproval,
    ToolCallPart,
    ToolCallState,
    ToolResultPart,
    ToolResultState,
    UnknownPart,
    UrlSource,
)
from ._parts import VideoPart as VideoPart
from ._ui_message import Role, UIMessage
from ._validation import format_location, validation_problems

# ``MEDIA_PART_TYPES``, ``PART_TYPES`` and ``VideoPart`` are imported from here too (the
# ``as`` re-exports above), but stay out of ``__all__`` as they were before the split.
__all__ = [
    "AudioPart",
    "ContentPart",
    "DataSource",
    "DocumentPart",
    "ImagePart",
    "MediaPart",
    "MediaSource",
    "MessagePart",
    "MessageValidationError",
    "ModelMessage",
    "ModelToolCall",
    "ModelToolCallFunction",
    "Role",
    "TextPart",
    "ThinkingEntry",
    "ThinkingPart",
    "ToolCallApproval",
    "ToolCallPart",
    "ToolCallState",
    "ToolResultPart",
    "ToolResultState",
    "UIMessage",
    "UnknownPart",
    "UrlSource",
    "format_js_date",
    "format_location",
    "message_from_dict",
    "message_to_dict",
    "model_message_from_dict",
    "model_message_to_dict",
    "part_from_dict",
    "part_to_dict",
    "to_json_value",
    "validation_problems",
]
