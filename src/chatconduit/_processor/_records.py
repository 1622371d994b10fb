"""What the processor hands out: requests for the owner, run records, the messages view.

(:class:`~._message_state.StreamToolCall`, the read-only view of a streaming tool call,
lives with the message state that holds it.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, overload

from .._events import Usage
from .._events._run import Interrupt
from .._exceptions import RunError
from .._messages import UIMessage

__all__ = ["ApprovalRequest", "MessagesView", "RunInfo", "RunStatus", "ToolCallRequest"]


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A client tool should run now.

    The server asks in one of three ways: CUSTOM ``tool-input-available`` (TanStack 0.10),
    an interrupt of its run (TanStack 0.58: ``interrupt`` is set, and the answer goes
    back as a ``resume`` entry), or, plain AG-UI, by ending its run with a call to a tool
    the client declared left unanswered.
    """

    tool_call_id: str | None
    tool_name: str | None
    input: Any
    interrupt: Interrupt | None = None
    """The interrupt that asked for it (TanStack 0.58), else ``None``."""


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A tool call waits for the user's approval: CUSTOM ``approval-requested`` (TanStack
    0.10), or an interrupt of the run (TanStack 0.58, pydantic-ai).

    Answer it with ``add_tool_approval_response(approval_id, approved)``. From an
    interrupt, ``approval_id`` is the interrupt's id and ``message`` /
    ``response_schema`` are what the server wrote (the question to show, the JSON
    Schema of the answer it accepts).
    """

    tool_call_id: str | None
    tool_name: str | None
    input: Any
    approval_id: str
    message: str | None = None
    response_schema: Any = None
    interrupt: Interrupt | None = None


RunStatus: TypeAlias = Literal["running", "finished", "error"]


@dataclass(slots=True)
class RunInfo:
    """What the processor knows about one run of the current stream.

    ``status`` is ``running`` after RUN_STARTED, ``finished`` after RUN_FINISHED (also an
    intermediate one with ``finish_reason == "tool_calls"``) and ``error`` after RUN_ERROR.
    """

    run_id: str | None
    thread_id: str | None = None
    status: RunStatus = "running"
    finish_reason: str | None = None
    usage: Usage | list[Usage] | None = None
    error: RunError | None = None


class MessagesView(Sequence[UIMessage]):
    """A live, read-only view of the processor's message list (no copy is made).

    It always reflects the current messages; ``list(view)`` takes a snapshot of the list
    (the messages themselves are shared: deep-copy them with
    ``m.model_copy(deep=True)`` if you need to keep a point-in-time state).
    """

    __slots__ = ("_items",)

    def __init__(self, items: list[UIMessage]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> UIMessage: ...
    @overload
    def __getitem__(self, index: slice) -> list[UIMessage]: ...
    def __getitem__(self, index: int | slice) -> UIMessage | list[UIMessage]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[UIMessage]:
        return iter(self._items)

    def __reversed__(self) -> Iterator[UIMessage]:
        # The list's own (Sequence's would index item by item in Python).
        return reversed(self._items)

    def __contains__(self, value: object) -> bool:
        return value in self._items

    def __repr__(self) -> str:
        return f"MessagesView({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessagesView):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
