"""``UIMessage``, a chat message as the UI holds it, mirroring TanStack AI's: an id, a
role and an ordered list of typed parts (``_parts``). The processor builds these from
stream events and mutates their parts in place on every token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias

from pydantic import Field

from ._base import MessageModel
from ._parts import MessagePart

__all__ = ["Role", "UIMessage"]

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
