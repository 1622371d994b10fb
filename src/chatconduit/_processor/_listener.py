"""Who hears what the processor does: one listener object with the ``on_*`` callbacks.

The processor reads every callback from one object, its *listener*, rather than from
eleven fields of its own. An owner whose callbacks are its own methods (the client's
``Conversation``) is its own listener, so it does not make a bound method per callback
and keep them for its whole life: with thousands of live conversations, those are
objects the garbage collector walks again and again. The ``on_*`` keywords of
``StreamProcessor`` become a :class:`Callbacks`, which is a listener too.

Each attribute is a callable or ``None``; ``StreamProcessor``'s docstring says when each
fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Protocol, TypeAlias

from .._exceptions import RunError
from .._messages import ToolCallState, UIMessage
from ._records import ApprovalRequest, MessagesView, ToolCallRequest

__all__ = ["CALLBACK_NAMES", "NO_CALLBACKS", "Callbacks", "ProcessorListener"]

MessagesChangeCallback: TypeAlias = Callable[[MessagesView], None]
MessageCallback: TypeAlias = Callable[[UIMessage], None]
ErrorCallback: TypeAlias = Callable[[RunError], None]
ToolCallCallback: TypeAlias = Callable[[ToolCallRequest], None]
ApprovalCallback: TypeAlias = Callable[[ApprovalRequest], None]
CustomEventCallback: TypeAlias = Callable[[str, Any, "str | None"], None]
TextUpdateCallback: TypeAlias = Callable[[str, str], None]
ThinkingUpdateCallback: TypeAlias = Callable[[str, str, str], None]
ToolCallStateCallback: TypeAlias = Callable[[str, str, ToolCallState, str], None]
StateChangeCallback: TypeAlias = Callable[[Any], None]


class ProcessorListener(Protocol):
    """An object with every ``on_*`` attribute below, each a callable or ``None``."""

    @property
    def on_messages_change(self) -> MessagesChangeCallback | None: ...
    @property
    def on_stream_start(self) -> MessageCallback | None: ...
    @property
    def on_stream_end(self) -> MessageCallback | None: ...
    @property
    def on_error(self) -> ErrorCallback | None: ...
    @property
    def on_tool_call(self) -> ToolCallCallback | None: ...
    @property
    def on_approval_request(self) -> ApprovalCallback | None: ...
    @property
    def on_custom_event(self) -> CustomEventCallback | None: ...
    @property
    def on_text_update(self) -> TextUpdateCallback | None: ...
    @property
    def on_thinking_update(self) -> ThinkingUpdateCallback | None: ...
    @property
    def on_tool_call_state_change(self) -> ToolCallStateCallback | None: ...
    @property
    def on_state_change(self) -> StateChangeCallback | None: ...


@dataclass(frozen=True, slots=True)
class Callbacks:
    """A listener made of separate callbacks (``StreamProcessor``'s ``on_*`` keywords,
    which it passes in this order)."""

    on_messages_change: MessagesChangeCallback | None = None
    on_stream_start: MessageCallback | None = None
    on_stream_end: MessageCallback | None = None
    on_error: ErrorCallback | None = None
    on_tool_call: ToolCallCallback | None = None
    on_approval_request: ApprovalCallback | None = None
    on_custom_event: CustomEventCallback | None = None
    on_text_update: TextUpdateCallback | None = None
    on_thinking_update: ThinkingUpdateCallback | None = None
    on_tool_call_state_change: ToolCallStateCallback | None = None
    on_state_change: StateChangeCallback | None = None


CALLBACK_NAMES: frozenset[str] = frozenset(field.name for field in fields(Callbacks))

NO_CALLBACKS = Callbacks()
"""Nobody listens (frozen, so one is shared by every processor without callbacks)."""
