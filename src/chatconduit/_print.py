"""``print_stream()``: send a message and show the reply as it streams, for scripts and
notebooks, the way ``chatconduit chat`` shows it (live Markdown in a terminal or a
notebook, plain text elsewhere). Needs the ``cli`` extra (rich)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Literal, TextIO, overload

from ._client import ChatClient, ChatSnapshot, Reply, SyncChatClient
from ._client._inputs import PartInput
from ._messages._ui_message import reply_messages

__all__ = ["print_stream"]

Thinking = Literal["auto", "expanded"]


@overload
def print_stream(
    client: SyncChatClient,
    content: str | Sequence[PartInput],
    body: Mapping[str, Any] | None = None,
    *,
    file: TextIO | None = None,
    thinking: Thinking = "auto",
) -> Reply: ...
@overload
def print_stream(
    client: ChatClient,
    content: str | Sequence[PartInput],
    body: Mapping[str, Any] | None = None,
    *,
    file: TextIO | None = None,
    thinking: Thinking = "auto",
) -> Coroutine[Any, Any, Reply]: ...
def print_stream(
    client: ChatClient | SyncChatClient,
    content: str | Sequence[PartInput],
    body: Mapping[str, Any] | None = None,
    *,
    file: TextIO | None = None,
    thinking: Thinking = "auto",
) -> Reply | Coroutine[Any, Any, Reply]:
    """Send ``content`` and print the reply while it streams; return the :class:`Reply`.

    With a :class:`SyncChatClient` it blocks; with a :class:`ChatClient` it returns a
    coroutine (``await print_stream(client, "Hi")``, top-level in a notebook).
    ``file``: where to print (stdout by default); ``thinking="expanded"`` shows the
    model's thinking in full instead of collapsing it once the answer starts.
    """
    try:
        from .cli._stream_printer import StreamPrinter
    except ImportError as exc:
        raise ImportError(
            f"print_stream needs rich, which is not installed: pip install 'chatconduit[cli]' "
            f"({exc})",
            name=exc.name,
        ) from exc
    if isinstance(client, SyncChatClient):
        start = len(client.messages)
        printer = StreamPrinter(start, file, thinking)
        last: ChatSnapshot | None = None
        try:
            for last in client.stream_message(content, body):
                printer.show(last)
        finally:
            printer.end(last if last is not None else client.snapshot())
        return _reply(client.snapshot(), start)
    if not isinstance(client, ChatClient):
        raise TypeError(f"print_stream needs a ChatClient or SyncChatClient, got {client!r}")
    return _print_async(client, content, body, StreamPrinter, file, thinking)


async def _print_async(
    client: ChatClient,
    content: str | Sequence[PartInput],
    body: Mapping[str, Any] | None,
    printer_type: Any,
    file: TextIO | None,
    thinking: Thinking,
) -> Reply:
    start = len(client.messages)
    printer = printer_type(start, file, thinking)
    updates = client.updates()
    task = asyncio.ensure_future(client.send_message(content, body))
    following: asyncio.Future[ChatSnapshot] | None = None
    try:
        while not task.done():
            following = asyncio.ensure_future(anext(updates))
            await asyncio.wait({following, task}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done() or following.exception() is not None:
                break  # the turn is over (or the client closed): the final state follows
            printer.show(following.result())
            following = None
        await task
    finally:
        if following is not None and not following.done():
            following.cancel()
            await asyncio.wait({following})
        if not task.done():
            task.cancel()  # interrupted: the turn stops
            await asyncio.wait({task})
        await updates.aclose()
        printer.end(client.snapshot())
    return _reply(client.snapshot(), start)


def _reply(snapshot: ChatSnapshot, start: int) -> Reply:
    return Reply(tuple(reply_messages(snapshot.messages, start)), snapshot.status, snapshot.error)
