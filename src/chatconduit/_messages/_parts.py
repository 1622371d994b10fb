"""The parts of a ``UIMessage``, mirroring TanStack AI's: text, thinking, tool calls,
tool results, media (image, audio, video, document, with their inline or URL source),
and :class:`UnknownPart` for a type this library does not know; :data:`MessagePart` is
their union, discriminated on ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import Discriminator, Field, Tag

from ._base import MessageModel

__all__ = [
    "MEDIA_PART_TYPES",
    "PART_TYPES",
    "AudioPart",
    "DataSource",
    "DocumentPart",
    "ImagePart",
    "MediaPart",
    "MediaSource",
    "MessagePart",
    "TextPart",
    "ThinkingPart",
    "ToolCallApproval",
    "ToolCallPart",
    "ToolCallState",
    "ToolResultPart",
    "ToolResultState",
    "UnknownPart",
    "UrlSource",
    "VideoPart",
]

ToolCallState: TypeAlias = Literal[
    "awaiting-input",
    "input-streaming",
    "input-complete",
    "approval-requested",
    "approval-responded",
]
"""Life cycle of a tool-call part, in the order the processor drives it."""

ToolResultState: TypeAlias = Literal["streaming", "complete", "error"]
"""``streaming`` is declared by the reference but never produced."""

# --------------------------------------------------------------------------- media


class DataSource(MessageModel):
    """Inline media: ``value`` is base64 data."""

    type: Literal["data"] = "data"
    value: str
    mime_type: str


class UrlSource(MessageModel):
    """Media by reference: ``value`` is a URL."""

    type: Literal["url"] = "url"
    value: str
    mime_type: str | None = None


MediaSource: TypeAlias = Annotated[DataSource | UrlSource, Field(discriminator="type")]


class ImagePart(MessageModel):
    type: Literal["image"] = "image"
    source: MediaSource
    metadata: Any = None


class AudioPart(MessageModel):
    type: Literal["audio"] = "audio"
    source: MediaSource
    metadata: Any = None


class VideoPart(MessageModel):
    type: Literal["video"] = "video"
    source: MediaSource
    metadata: Any = None


class DocumentPart(MessageModel):
    type: Literal["document"] = "document"
    source: MediaSource
    metadata: Any = None


MediaPart: TypeAlias = ImagePart | AudioPart | VideoPart | DocumentPart
MEDIA_PART_TYPES: frozenset[str] = frozenset({"image", "audio", "video", "document"})

# --------------------------------------------------------------------------- parts


class TextPart(MessageModel):
    type: Literal["text"] = "text"
    content: str
    metadata: Any = None


class ThinkingPart(MessageModel):
    """Model reasoning. ``step_id`` links it to the STEP_* events that produced it."""

    type: Literal["thinking"] = "thinking"
    content: str
    step_id: str | None = None
    signature: str | None = None


class ToolCallApproval(MessageModel):
    """Human-in-the-loop approval attached to a tool call (``approved`` unset until answered)."""

    id: str
    needs_approval: bool = True
    approved: bool | None = None


class ToolCallPart(MessageModel):
    """A tool call. ``arguments`` is the raw (possibly still incomplete) JSON text.

    ``output`` distinguishes *absent* from ``None`` (JSON ``null``): use
    :attr:`has_output` to ask, :meth:`set_output` / :meth:`clear_output` to change it.
    A plain ``part.output = value`` also counts as setting it.
    """

    # "No output yet" and "the tool returned null" are different things on the wire.
    _written_when_set: ClassVar[frozenset[str]] = frozenset({"output"})

    type: Literal["tool-call"] = "tool-call"
    id: str
    name: str
    arguments: str = ""
    state: ToolCallState = "awaiting-input"
    # Declared in the key order the reference's ``updateToolCallPart`` writes.
    approval: ToolCallApproval | None = None
    output: Any = None
    metadata: Any = None

    @property
    def has_output(self) -> bool:
        """True once an output was set, even if that output is ``None`` (JSON ``null``)."""
        return "output" in self.model_fields_set

    def set_output(self, value: Any) -> None:
        self.output = value  # the attribute write marks the field as set

    def clear_output(self) -> None:
        self.output = None
        self.model_fields_set.discard("output")


class ToolResultPart(MessageModel):
    type: Literal["tool-result"] = "tool-result"
    tool_call_id: str
    content: str
    state: ToolResultState = "complete"
    error: str | None = None


class UnknownPart(MessageModel):
    """A part of a type this library does not know, kept whole.

    Newer TanStack versions add part types (``structured-output``, ``ui-resource``, ...) and
    apps add their own; a message holding one must neither be refused nor lose its other
    parts. Every key is kept as it came (``type`` as the field, the rest as extras, under
    their wire names), so the part serialises back to the same JSON object. Nothing in this
    library reads or changes it.
    """

    type: str


PART_TYPES: frozenset[str] = frozenset(
    {"text", "image", "audio", "video", "document", "tool-call", "tool-result", "thinking"}
)
"""The part types this library knows (every other string ``type`` is an :class:`UnknownPart`)."""

_UNKNOWN_PART_TAG = "chatconduit:unknown-part"  # no real part type looks like this


def _part_tag(value: Any) -> str | None:
    """The union member for a part: its ``type`` when known, the opaque part for any other
    string; ``None`` (an error naming the missing tag) when there is no string ``type``."""
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    if not isinstance(kind, str):
        return None
    if isinstance(value, UnknownPart) or kind not in PART_TYPES:
        return _UNKNOWN_PART_TAG
    return kind


MessagePart: TypeAlias = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ThinkingPart, Tag("thinking")]
    | Annotated[ToolCallPart, Tag("tool-call")]
    | Annotated[ToolResultPart, Tag("tool-result")]
    | Annotated[ImagePart, Tag("image")]
    | Annotated[AudioPart, Tag("audio")]
    | Annotated[VideoPart, Tag("video")]
    | Annotated[DocumentPart, Tag("document")]
    | Annotated[UnknownPart, Tag(_UNKNOWN_PART_TAG)],
    Discriminator(
        _part_tag,
        custom_error_type="invalid_part",
        custom_error_message="a message part needs a string 'type'",
    ),
]
"""Any UIMessage part, discriminated on ``type``; a type not in :data:`PART_TYPES` is an
:class:`UnknownPart`."""
