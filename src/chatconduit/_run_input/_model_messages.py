"""Messages flattened for an LLM: UIMessages and AG-UI messages as :class:`ModelMessage`\\ s.

reference §6.3: :func:`convert_messages_to_model_messages` is the reference's
``convertMessagesToModelMessages`` (fan-out duplicates dropped, ``developer`` as
``system``); :func:`ui_message_to_model_messages` splits one UIMessage at its tool
results, keeping the order of text, tool calls and results. A failed tool call that
recorded no output reaches the model as its error, not as ``null``
(:func:`~._request_body.tool_error_content`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from .. import _json
from .._messages import (
    MEDIA_PART_TYPES,
    AudioPart,
    ContentPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MessageValidationError,
    ModelMessage,
    ModelToolCall,
    ModelToolCallFunction,
    TextPart,
    ThinkingEntry,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    UrlSource,
    VideoPart,
    message_from_dict,
    part_from_dict,
    to_json_value,
    validation_problems,
)
from ._request_body import WireInputMessage, approval_decision, tool_error_content

_MEDIA_BY_PREFIX: dict[str, type[ImagePart | AudioPart | VideoPart]] = {
    "image/": ImagePart,
    "audio/": AudioPart,
    "video/": VideoPart,
}


def _content_part(item: Mapping[str, Any], where: str) -> ContentPart:
    """An AG-UI input content item (or a TanStack content part) as a typed content part."""
    kind = item.get("type")
    if kind == "text":
        text = item["text"] if "text" in item else item.get("content")
        extra = {"metadata": item["metadata"]} if item.get("metadata") is not None else {}
        return TextPart(content=text if isinstance(text, str) else "", **extra)
    if kind == "binary":
        mime = str(item.get("mimeType", ""))
        source: DataSource | UrlSource
        if item.get("data") is not None:
            source = DataSource(value=str(item["data"]), mime_type=mime)
        elif item.get("url") is not None:
            source = UrlSource(value=str(item["url"]), mime_type=mime)
        else:
            raise MessageValidationError(
                f"{where}: binary content needs `data` or `url`",
                [(where, "binary content needs `data` or `url`")],
            )
        cls: type[ImagePart | AudioPart | VideoPart | DocumentPart] = DocumentPart
        for prefix, media_cls in _MEDIA_BY_PREFIX.items():
            if mime.startswith(prefix):
                cls = media_cls
        if item.get("filename") is not None:
            return cls(source=source, metadata={"filename": item["filename"]})
        return cls(source=source)
    part = part_from_dict(item, where=where)
    if part.type not in MEDIA_PART_TYPES:
        raise MessageValidationError(
            f"{where}.type: {part.type!r} is not a content part",
            [(f"{where}.type", f"{part.type!r} is not a content part")],
        )
    assert isinstance(part, ImagePart | AudioPart | VideoPart | DocumentPart)
    return part


def _model_message_from_mapping(msg: Mapping[str, Any], where: str) -> ModelMessage:
    fields = {str(k): v for k, v in msg.items()}
    content = fields.get("content")
    if isinstance(content, list):
        fields["content"] = [
            _content_part(item, f"{where}.content[{j}]")
            if isinstance(item, Mapping)
            else item  # left for the model validation to report
            for j, item in enumerate(content)
        ]
    try:
        return ModelMessage.model_validate(fields)
    except ValidationError as exc:
        problems = validation_problems(exc, where, fields)
        text = "; ".join(f"{loc}: {problem}" for loc, problem in problems)
        raise MessageValidationError(f"invalid ModelMessage: {text}", problems) from None


def convert_messages_to_model_messages(
    messages: Iterable[WireInputMessage],
) -> list[ModelMessage]:
    """Flatten a conversation for an LLM, as the reference's ``convertMessagesToModelMessages``.

    UIMessages (or mappings with ``parts``) go through
    :func:`ui_message_to_model_messages`; a parts-less ``tool`` message whose
    ``toolCallId`` is already answered by a tool-result part is the AG-UI fan-out
    duplicate and is dropped; ``reasoning``/``activity`` messages are dropped;
    ``developer`` becomes ``system``; anything else is kept as a ModelMessage.
    """
    items: list[UIMessage | ModelMessage | Mapping[str, Any]] = []
    for i, message in enumerate(messages):
        if isinstance(message, Mapping) and "parts" in message:
            items.append(message_from_dict(message, where=f"messages[{i}]"))
        elif isinstance(message, UIMessage | ModelMessage | Mapping):
            items.append(message)
        else:
            raise TypeError(
                f"messages[{i}] must be a UIMessage, ModelMessage or mapping, "
                f"got {type(message).__name__}"
            )

    anchored = {
        part.tool_call_id
        for m in items
        if isinstance(m, UIMessage)
        for part in m.parts
        if isinstance(part, ToolResultPart)
    }

    out: list[ModelMessage] = []
    for i, m in enumerate(items):
        if isinstance(m, UIMessage):
            out.extend(ui_message_to_model_messages(m))
            continue
        if isinstance(m, ModelMessage):
            role: object = m.role
            tool_call_id: object = m.tool_call_id
        else:
            role = m.get("role")
            tool_call_id = m.get("toolCallId", m.get("tool_call_id"))
        if role == "tool" and tool_call_id and tool_call_id in anchored:
            continue
        if role == "tool" and isinstance(m, Mapping) and m.get("error"):
            # An AG-UI tool message of a failed call: the model reads ``content`` only.
            content = tool_error_content(m.get("content"), m["error"])
            if content is not m.get("content"):
                m = {**m, "content": content}
        if role in ("reasoning", "activity"):
            continue
        if role == "developer" and not isinstance(m, ModelMessage):
            system = {"role": "system", "content": m.get("content")}
            out.append(_model_message_from_mapping(system, f"messages[{i}]"))
            continue
        if isinstance(m, ModelMessage):
            out.append(m)
        else:
            out.append(_model_message_from_mapping(m, f"messages[{i}]"))
    return out


def _collapse(parts: list[ContentPart]) -> str | list[ContentPart] | None:
    """No parts → None; only text → the joined text (None if empty); else the parts."""
    if not parts:
        return None
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.content for p in parts if isinstance(p, TextPart)) or None
    return parts


def ui_message_to_model_messages(message: UIMessage) -> list[ModelMessage]:
    """One UIMessage as model messages, keeping the order of text, tool calls and results.

    ``system`` yields nothing (system prompts travel separately); ``user`` yields one
    message; an ``assistant`` is split at each tool result into
    ``assistant(content, toolCalls)`` / ``tool(result)`` pairs, then outputs and
    approval decisions recorded on tool-call parts are appended as tool messages.
    """
    if message.role == "system":
        return []
    if message.role != "assistant":
        content_parts: list[ContentPart] = [
            p.model_copy()
            for p in message.parts
            if isinstance(p, TextPart | ImagePart | AudioPart | VideoPart | DocumentPart)
        ]
        return [ModelMessage(role=message.role, content=_collapse(content_parts))]

    out: list[ModelMessage] = []
    segment: list[ContentPart] = []
    calls: list[ModelToolCall] = []
    thinking: list[ThinkingEntry] = []
    emitted: set[str] = set()

    def flush() -> None:
        nonlocal segment, calls, thinking
        content = _collapse(segment)
        if content is not None or calls:
            fields: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                fields["tool_calls"] = calls
            if thinking:
                fields["thinking"] = thinking
                thinking = []
            out.append(ModelMessage(**fields))
        segment, calls = [], []

    for part in message.parts:
        if isinstance(part, TextPart | ImagePart | AudioPart | VideoPart | DocumentPart):
            segment.append(part.model_copy())
        elif isinstance(part, ToolCallPart):
            if part.state in ("input-complete", "approval-responded") or part.has_output:
                call = ModelToolCall(
                    id=part.id,
                    function=ModelToolCallFunction(name=part.name, arguments=part.arguments),
                )
                if part.metadata is not None:
                    call.metadata = part.metadata
                calls.append(call)
        elif isinstance(part, ToolResultPart):
            flush()
            if part.state in ("complete", "error") and part.tool_call_id not in emitted:
                # A failed call's "null" becomes its error: the model must read what went wrong.
                content = tool_error_content(part.content, part.error)
                out.append(
                    ModelMessage(role="tool", content=content, tool_call_id=part.tool_call_id)
                )
                emitted.add(part.tool_call_id)
        elif isinstance(part, ThinkingPart) and part.content:
            entry = ThinkingEntry(content=part.content)
            if part.signature:
                entry.signature = part.signature
            thinking.append(entry)
    flush()

    for part in message.parts:
        if not isinstance(part, ToolCallPart) or part.id in emitted:
            continue
        if part.has_output:
            result = _json.dumps(to_json_value(part.output))
        elif (
            part.state == "approval-responded"
            and part.approval is not None
            and part.approval.approved is not None
        ):
            result = approval_decision(part.approval.approved)
        else:
            continue
        out.append(ModelMessage(role="tool", content=result, tool_call_id=part.id))
        emitted.add(part.id)

    if not out:
        out.append(ModelMessage(role="assistant", content=None))
    return out
