"""A turn's reply as text and as a whole: ``Reply``, ``reply_text()``, and ``stream_text``.

``send_message`` returns the *last* assistant message, which on a tool turn is only
the part after the tool ran (a tool turn is two assistant messages or more). A
:class:`Reply` holds every assistant message of one turn, their tool calls and their
text; :func:`text_deltas` turns a client's snapshots into the text the reply adds, for
``stream_text()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import Any, TypeAlias, TypedDict

from .._messages import ToolCallPart, UIMessage
from .._messages._ui_message import reply_messages, reply_text
from ._inputs import PartInput
from ._state import ChatSnapshot, ChatStatus, Updates

__all__ = ["Body", "Content", "Reply", "SendOptions", "text_deltas"]

Content: TypeAlias = "str | Sequence[PartInput]"
Body: TypeAlias = "Mapping[str, Any] | None"


class SendOptions(TypedDict, total=False):
    """The keyword options of ``send_message`` that ``ask()`` and ``stream_text()`` pass on."""

    message_id: str | None
    raise_on_error: bool | None


@dataclass(frozen=True, slots=True)
class Reply:
    """One turn's reply: every assistant message it added, not only the last.

    ``messages`` are copies (later turns do not change them); ``text`` is their text
    parts joined by a blank line; ``tool_calls`` every tool call they hold, in order
    (with ``output`` / ``state`` as the turn left them). ``status`` and ``error`` are
    the client's when the turn ended (``error`` set when it failed).
    """

    messages: tuple[UIMessage, ...]
    status: ChatStatus
    error: BaseException | None = None

    @property
    def text(self) -> str:
        return reply_text(self.messages)

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(p for m in self.messages for p in m.parts if isinstance(p, ToolCallPart))

    @property
    def last_message(self) -> UIMessage | None:
        return self.messages[-1] if self.messages else None

    def __str__(self) -> str:
        return self.text


def snapshot_text(snapshot: ChatSnapshot, start: int) -> str:
    return reply_text(reply_messages(snapshot.messages, start))


async def text_deltas(
    updates: Callable[[], Updates],
    snapshot: Callable[[], ChatSnapshot],
    send: Callable[[], Awaitable[Any]],
    messages: Sized,
) -> AsyncIterator[str]:
    """The text of the reply that ``send()`` (a ``send_message`` call) produces, as it
    grows; nothing starts before the first item is asked for.

    ``updates``/``snapshot``: the client's; ``messages``: its live conversation. Read from the
    client's snapshots (coalesced: a delta may hold several tokens); ``"".join`` of
    everything yielded is the reply's text. Text is append-only here: should a reply
    rewrite what it already said, the rewritten part is not repeated.
    """
    start = len(messages)
    subscription = updates()
    task = asyncio.ensure_future(send())
    emitted = ""
    following: asyncio.Future[ChatSnapshot] | None = None
    try:
        while not task.done():
            following = asyncio.ensure_future(anext(subscription))
            await asyncio.wait({following, task}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done() or following.exception() is not None:
                break  # the reply is complete (or the client closed): read the final state
            text = snapshot_text(following.result(), start)
            following = None
            if len(text) > len(emitted) and text.startswith(emitted):
                yield text[len(emitted) :]
                emitted = text
        await asyncio.wait({task})
        text = snapshot_text(snapshot(), start)
        if len(text) > len(emitted) and text.startswith(emitted):
            yield text[len(emitted) :]
        task.result()  # raises the turn's error with raise_on_error
    finally:
        if following is not None and not following.done():
            following.cancel()
            await asyncio.wait({following})
        if not task.done():
            task.cancel()  # the consumer left early: the turn stops
            await asyncio.wait({task})
        await subscription.aclose()
