"""User input as the client stores it: ``append``'s messages, ``send_message``'s parts,
and the lookups that validate a tool answer before it is applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias, cast

from pydantic import BaseModel

from .._ids import generate_id
from .._messages import (
    AudioPart,
    DocumentPart,
    ImagePart,
    MessagePart,
    ModelMessage,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    UnknownPart,
    VideoPart,
    message_from_dict,
    model_message_from_dict,
    part_from_dict,
)
from .._text import JS_WHITESPACE

PartInput: TypeAlias = BaseModel | Mapping[str, Any]
MessageInput: TypeAlias = UIMessage | ModelMessage | Mapping[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def to_ui_message(message: MessageInput, where: str) -> UIMessage:
    """``append``'s input as a UIMessage (reference §5.5): UIMessages keep their id; a
    ModelMessage (``role`` + ``content``, no ``parts``) becomes text / tool-call parts."""
    if isinstance(message, UIMessage):
        ui = message
    elif isinstance(message, ModelMessage) or (
        isinstance(message, Mapping) and "parts" not in message and "content" in message
    ):
        model = (
            message
            if isinstance(message, ModelMessage)
            else model_message_from_dict(message, where=where)
        )
        if model.role == "tool":
            raise ValueError(
                f"{where}: a tool message cannot be appended; answer the tool call with "
                "add_tool_result()"
            )
        parts: list[Any] = []
        content = model.content
        if isinstance(content, str):
            if content:
                parts.append(TextPart(content=content))
        elif content is not None:
            parts.extend(p.model_copy() for p in content)
        for call in model.tool_calls or ():
            parts.append(
                ToolCallPart(
                    id=call.id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                    state="input-complete",
                )
            )
        extra_id = (model.__pydantic_extra__ or {}).get("id")
        ui = UIMessage(
            id=extra_id if isinstance(extra_id, str) else generate_id("msg"),
            role=model.role,
            parts=parts,
            created_at=_now(),
        )
        return ui
    elif isinstance(message, Mapping):
        data = dict(message)
        if not isinstance(data.get("id"), str):
            data["id"] = generate_id("msg")
        ui = message_from_dict(data, where=where)
    else:
        raise TypeError(
            f"{where}: expected a UIMessage, a ModelMessage or a dict, got {type(message).__name__}"
        )
    if ui.created_at is None:
        ui = ui.model_copy(update={"created_at": _now()})
    return ui


_PART_CLASSES: Final = (
    TextPart,
    ImagePart,
    AudioPart,
    VideoPart,
    DocumentPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)


def message_content(content: object) -> str | list[MessagePart]:
    """``send_message``'s ``content``: text trimmed as the reference trims it (``""`` when
    nothing is left, which sends nothing), or a list of parts coerced and kept as given."""
    if isinstance(content, str):
        return content.strip(JS_WHITESPACE)
    if isinstance(content, Sequence) and not isinstance(content, bytes):
        return coerce_parts(cast(Sequence[PartInput], content), "content")
    raise TypeError(
        f"content must be a str or a list of message parts, got {type(content).__name__}"
    )


def coerce_parts(parts: Iterable[PartInput], where: str) -> list[MessagePart]:
    out: list[MessagePart] = []
    for i, part in enumerate(parts):
        if isinstance(part, _PART_CLASSES):
            out.append(part)
        elif isinstance(part, Mapping):
            coerced = part_from_dict(part, where=f"{where}[{i}]")
            if isinstance(coerced, UnknownPart):
                # Kept whole when a server or a store sends one; from the caller's own
                # input it is a typo (``"txt"``) that no agent would understand.
                raise ValueError(f"{where}[{i}].type: unknown part type {coerced.type!r}")
            out.append(coerced)
        else:
            raise TypeError(
                f"{where}[{i}]: expected a message part or a dict, got {type(part).__name__}"
            )
    return out


def has_tool_call(messages: Sequence[UIMessage], tool_call_id: str) -> bool:
    return any(
        isinstance(p, ToolCallPart) and p.id == tool_call_id for m in messages for p in m.parts
    )


def has_approval(messages: Sequence[UIMessage], approval_id: str) -> bool:
    return any(
        isinstance(p, ToolCallPart) and p.approval is not None and p.approval.id == approval_id
        for m in messages
        for p in m.parts
    )
