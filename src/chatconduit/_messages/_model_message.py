"""``ModelMessage``, the flat, LLM-ready message shape the server side hands to an agent
(``role``/``content``/``toolCalls``/``toolCallId``), with its OpenAI-style tool calls,
reasoning entries and multimodal content pieces; the ``_run_input`` package holds the
rules that flatten UI messages into these.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import Field

from ._base import MessageModel
from ._parts import AudioPart, DocumentPart, ImagePart, TextPart, VideoPart

__all__ = [
    "ContentPart",
    "ModelMessage",
    "ModelToolCall",
    "ModelToolCallFunction",
    "ThinkingEntry",
]

ContentPart: TypeAlias = Annotated[
    TextPart | ImagePart | AudioPart | VideoPart | DocumentPart,
    Field(discriminator="type"),
]
"""A piece of multimodal ``ModelMessage.content``: text uses ``content``, like UI parts."""


class ModelToolCallFunction(MessageModel):
    name: str
    arguments: str


class ModelToolCall(MessageModel):
    """An OpenAI-style tool call: ``{id, type:'function', function:{name, arguments}}``."""

    id: str
    type: Literal["function"] = "function"
    function: ModelToolCallFunction
    metadata: Any = None


class ThinkingEntry(MessageModel):
    """Reasoning carried on an assistant ModelMessage (``signature`` for providers that sign it)."""

    content: str
    signature: str | None = None


class ModelMessage(MessageModel):
    """The LLM-ready message shape. ``content`` is always present (``None`` is meaningful).

    Extra keys (e.g. the AG-UI ``id`` or ``error`` of a passed-through tool message)
    are kept.
    """

    # ``content: null`` is part of the shape: it is written even when ``None``.
    _written_when_none: ClassVar[frozenset[str]] = frozenset({"content"})

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ModelToolCall] | None = None
    tool_call_id: str | None = None
    thinking: list[ThinkingEntry] | None = None
