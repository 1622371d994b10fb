"""A reply that reuses the message id of an earlier turn's reply.

Agents written with a fixed ``"messageId": "m1"`` send the same id on every turn. The
processor follows the reference there: an event naming a message it holds continues
that message, so from the second turn on the new reply overwrote the first and the
turn seemed to return nothing. A message that a later user message follows belongs to
an earlier turn and is finished; an event opening a message under its id starts a new
message instead. The earlier message is the one renamed (``<id>~<n>``): the newest
message keeps the id the server knows it by, so the rest of the run's events (and a
later ``MESSAGES_SNAPSHOT``) still find it. Messages after the last user message (a
tool follow-up, an approval's resumed run, a joined run) are left alone: continuing
them is what those runs mean.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from .._events import BaseEvent, EventType
from .._messages import UIMessage

__all__ = ["OPENING_EVENTS", "ReusedIdGuard", "check_reused_id"]

logger = logging.getLogger("chatconduit.client")

# The events that can open a message, and the field naming it.
OPENING_EVENTS: Final[dict[str, str]] = {
    EventType.TEXT_MESSAGE_START: "message_id",
    EventType.TEXT_MESSAGE_CHUNK: "message_id",
    EventType.TOOL_CALL_START: "parent_message_id",
    EventType.TOOL_CALL_CHUNK: "parent_message_id",
}


def check_reused_id(
    guard: ReusedIdGuard | None, event: BaseEvent, field: str, messages: Sequence[UIMessage]
) -> ReusedIdGuard | None:
    """Check an opening event; returns the guard, made by the first rename (most clients
    never need one, and thousands of live conversations would each hold one)."""
    message_id = event.__dict__.get(field)
    if not isinstance(message_id, str):
        return guard
    earlier = _earlier_turn_message(messages, message_id)
    if earlier is None:
        return guard
    if guard is None:
        guard = ReusedIdGuard()
    guard.rename(earlier, message_id, messages)
    return guard


class ReusedIdGuard:
    """Renames an earlier turn's message whose id a new reply opens again; warns once."""

    __slots__ = ("_renamed", "warned")

    def __init__(self) -> None:
        self.warned = False
        self._renamed = 0

    def rename(self, earlier: UIMessage, message_id: str, messages: Sequence[UIMessage]) -> None:
        self._renamed += 1
        new_id = f"{message_id}~{self._renamed}"
        while any(m.id == new_id for m in messages):
            self._renamed += 1
            new_id = f"{message_id}~{self._renamed}"
        earlier.id = new_id
        if not self.warned:
            self.warned = True
            logger.warning(
                "the agent reused message id %r of an earlier turn's reply; the new reply is "
                "shown as a new message (the earlier one is now %r). Give every reply its own "
                "id, e.g. with chatconduit.server.EventBuilder. (Logged once per client.)",
                message_id,
                new_id,
            )


def _earlier_turn_message(messages: Sequence[UIMessage], message_id: str) -> UIMessage | None:
    """The message of that id when a user message follows it (an earlier turn's), else None."""
    seen_user = False
    for message in reversed(messages):
        if message.id == message_id:
            return message if seen_user and message.role != "user" else None
        if message.role == "user":
            seen_user = True
    return None
