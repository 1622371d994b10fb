"""What a closed client lets go of: the references that would keep it in a cycle.

A client's parts point back at each other in a few places: the processor calls the
conversation's methods, the conversation calls the client's follow-up hook, and the last
error's traceback holds the frames that handled the request (the client among their
variables). Once closed, none of that is needed; without it, the client is freed by
reference counting as soon as the app drops it, instead of being left to the cyclic
garbage collector (~50 objects a client, walked at every full collection until then).
"""

from __future__ import annotations

import traceback

from ._conversation import Conversation

__all__ = ["release"]


def release(conversation: Conversation, error: BaseException | None) -> None:
    """Drop the callbacks and hooks of a closed ``conversation``; ``error`` (the client's
    last, which stays readable) keeps its traceback's lines but not the frames' variables."""
    conversation.processor.drop_callbacks()
    conversation.follow_up = _NO_FOLLOW_UP
    seen: set[int] = set()
    pending = [error]
    while pending:  # the error and those it was raised from or during
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        pending += (exc.__cause__, exc.__context__)


class _NoFollowUp:
    """The follow-up of a closed conversation: nothing."""

    async def continue_if_ready(self) -> None:
        return None


_NO_FOLLOW_UP = _NoFollowUp()
