"""``UIMessage``, a chat message as the UI holds it, mirroring TanStack AI's: an id, a
role and an ordered list of typed parts (``_parts``). The processor builds these from
stream events and mutates their parts in place on every token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypeAlias

from pydantic import Field

from ._base import MessageModel
from ._parts import MessagePart, TextPart

__all__ = ["TEXT_SEPARATOR", "Role", "UIMessage", "reply_messages", "reply_text"]

TEXT_SEPARATOR = "\n\n"
"""Between two text parts (or two messages) in ``UIMessage.text`` and the client's reply text."""

Role: TypeAlias = Literal["system", "user", "assistant"]


class UIMessage(MessageModel):
    """A chat message as the UI holds it.

    Extra keys are kept (the wire serialiser echoes "all original fields"), but
    the processor only ever creates ``id``, ``role``, ``parts`` and ``created_at``.
    """

    id: str
    role: Role
    parts: list[MessagePart] = Field(default_factory=list)
    created_at: datetime | None = None

    @property
    def text(self) -> str:
        """The message's text: its text parts, joined by a blank line (``""`` if none).

        A reply that calls a tool in the middle holds its text in two parts (before and
        after the call); thinking, tool calls and media are not text.
        """
        return TEXT_SEPARATOR.join(
            p.content for p in self.parts if isinstance(p, TextPart) and p.content
        )


def reply_messages(messages: Sequence[UIMessage], start: int = -1) -> list[UIMessage]:
    """The assistant messages of a reply: those from index ``start`` on, or (``start``
    < 0) those after the last user message."""
    if start < 0:
        start = 0
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].role == "user":
                start = i + 1
                break
    return [m for m in messages[start:] if m.role == "assistant"]


def reply_text(messages: Sequence[UIMessage]) -> str:
    """The text parts of these messages, in order, joined by a blank line."""
    return TEXT_SEPARATOR.join(
        p.content for m in messages for p in m.parts if isinstance(p, TextPart) and p.content
    )
