"""Messages and parts to and from their camelCase JSON dicts: the ``*_to_dict`` writers
(the omission rules are ``_base``'s) and the ``*_from_dict`` parsers, which accept
snake_case keys too and raise :class:`MessageValidationError` naming the offending path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .._exceptions import MessageValidationError
from ._base import model_to_dict
from ._model_message import ModelMessage
from ._parts import PART_TYPES, MessagePart
from ._ui_message import UIMessage
from ._validation import validation_error

__all__ = [
    "message_from_dict",
    "message_to_dict",
    "model_message_from_dict",
    "model_message_to_dict",
    "part_from_dict",
    "part_to_dict",
]

_PART_ADAPTER: TypeAdapter[MessagePart] = TypeAdapter(MessagePart)


def part_to_dict(part: BaseModel) -> dict[str, Any]:
    """One part as its camelCase JSON dict."""
    return model_to_dict(part)


def message_to_dict(message: UIMessage) -> dict[str, Any]:
    """A UIMessage as the camelCase dict ``JSON.stringify`` would produce for it."""
    return model_to_dict(message)


def model_message_to_dict(message: ModelMessage) -> dict[str, Any]:
    return model_to_dict(message)


def message_from_dict(data: Mapping[str, Any], *, where: str = "message") -> UIMessage:
    """Parse a camelCase (or snake_case) dict into a UIMessage.

    Raises :class:`MessageValidationError` naming the offending path
    (``message.parts[1].content: ...``).
    """
    try:
        return UIMessage.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "UIMessage", where, data) from None


def part_from_dict(
    data: Mapping[str, Any], *, where: str = "part", keep_unknown: bool = False
) -> MessagePart:
    """Parse one part dict (discriminated on ``type``); errors name the bad path.

    A part of a type this library does not know is refused unless ``keep_unknown``: a
    single part is what a caller is writing now, where an unknown type is most likely a
    typo. (Parts inside a whole message - a stored history, a snapshot - are kept as
    :class:`UnknownPart`: they come from elsewhere and must round-trip.)
    """
    kind = data.get("type") if isinstance(data, Mapping) else None
    if not keep_unknown and isinstance(kind, str) and kind not in PART_TYPES:
        known = ", ".join(repr(t) for t in sorted(PART_TYPES))
        problem = f"unknown part type {kind!r} (known: {known})"
        raise MessageValidationError(
            f"invalid message part: {where}.type: {problem}", [(f"{where}.type", problem)]
        )
    try:
        return _PART_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise validation_error(exc, "message part", where, data) from None


def model_message_from_dict(data: Mapping[str, Any], *, where: str = "message") -> ModelMessage:
    try:
        return ModelMessage.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "ModelMessage", where, data) from None
