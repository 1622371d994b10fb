"""The options of a chat client, defined once: what ``ChatClient`` and ``SyncChatClient``
accept (:class:`ChatClientOptions`, used with ``Unpack`` in both constructors, so
editors complete them and mypy checks them), what ``update_options`` may change
(:class:`OptionChanges`), how both are validated, and :class:`Settings`, the current
values that the client's requests read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from .._events import BaseEvent
from .._messages import UIMessage
from .._processor import ApprovalRequest, ChunkStrategy, MessagesView, ToolCallRequest
from .._run_input import generate_run_id
from ._callbacks import CALLBACK_NAMES, NO_CALLBACKS, Callbacks, check_callables
from ._state import ChatConnectionStatus, ChatStatus
from ._tools import Tool, ToolInput, coerce_tools

__all__ = [
    "CallbackOptions",
    "ChatClientOptions",
    "OptionChanges",
    "Settings",
    "callbacks_from",
    "check_changes",
    "settings_from",
]


class CallbackOptions(TypedDict, total=False):
    """The ``on_*`` callbacks (sync or async; see ``docs/client.md`` for when each fires)."""

    on_chunk: Callable[[BaseEvent], object] | None
    on_response: Callable[[], object] | None
    on_finish: Callable[[UIMessage], object] | None
    on_error: Callable[[BaseException], object] | None
    on_messages_change: Callable[[MessagesView], object] | None
    on_status_change: Callable[[ChatStatus], object] | None
    on_loading_change: Callable[[bool], object] | None
    on_error_change: Callable[[BaseException | None], object] | None
    on_connection_status_change: Callable[[ChatConnectionStatus], object] | None
    on_session_generating_change: Callable[[bool], object] | None
    on_subscription_change: Callable[[bool], object] | None
    on_custom_event: Callable[[str, Any, str | None], object] | None
    on_tool_call: Callable[[ToolCallRequest], object] | None
    on_approval_request: Callable[[ApprovalRequest], object] | None


class ChatClientOptions(CallbackOptions, total=False):
    """Keyword options of ``ChatClient(connection, **options)`` and of ``SyncChatClient``.

    ``initial_messages``: the conversation to start from (UIMessages or their dicts).
    ``id`` / ``thread_id``: generated when not given (``thread_id`` is sent as
    ``threadId``). ``body`` < ``forwarded_props`` < a message's own body are merged into
    each request's ``forwardedProps``. ``tools``: client tools. ``chunk_strategy``: how
    text is batched into message updates. ``raise_on_error``: whether a failed turn
    raises (by default it is reported through ``error`` and ``on_error``).
    ``max_continuations``: how many automatic follow-up requests (client-tool results
    sent back) one turn may send (default 20; ``None``: no limit); an agent asking for
    more ends the turn with ``ContinuationLimitError``.
    """

    initial_messages: Iterable[UIMessage | Mapping[str, Any]] | None
    id: str | None
    thread_id: str | None
    body: Mapping[str, Any] | None
    forwarded_props: Mapping[str, Any] | None
    tools: Iterable[ToolInput] | None
    chunk_strategy: ChunkStrategy | None
    raise_on_error: bool
    max_continuations: int | None


class OptionChanges(CallbackOptions, total=False):
    """Keyword arguments of ``update_options``: only those given change.

    ``body`` / ``forwarded_props``: replace that slot (``None`` or ``{}`` clears it).
    ``connection``: a running turn is stopped and the subscription (if any) moves to the
    new adapter. ``max_continuations``: as for the constructor. Any ``on_*`` callback can
    be replaced (``None`` removes it).
    """

    connection: object
    body: Mapping[str, Any] | None
    forwarded_props: Mapping[str, Any] | None
    tools: Iterable[ToolInput] | None
    raise_on_error: bool
    max_continuations: int | None


DEFAULT_MAX_CONTINUATIONS: Final = 20  # follow-ups per turn; real tool chains are far shorter

OPTION_NAMES: Final = ChatClientOptions.__required_keys__ | ChatClientOptions.__optional_keys__
_CHANGE_NAMES: Final = (OptionChanges.__required_keys__ | OptionChanges.__optional_keys__) - (
    CALLBACK_NAMES
)


@dataclass(slots=True)
class Settings:
    """The current option values that requests read (``update_options`` replaces them)."""

    id: str
    thread_id: str
    body: dict[str, Any]
    forwarded_props: dict[str, Any]
    tools: dict[str, Tool]
    raise_on_error: bool
    max_continuations: int | None


def check_names(options: Mapping[str, object]) -> None:
    """Reject an unknown option as Python would reject an unknown keyword argument."""
    for name in options:
        if name not in OPTION_NAMES:
            raise TypeError(f"ChatClient.__init__() got an unexpected keyword argument {name!r}")


def _check_mapping(name: str, value: object, *, nullable: str = "") -> None:
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping{nullable}, got {type(value).__name__}")


def _check_limit(name: str, value: object) -> int | None:
    # bool is an int subclass, but max_continuations=True is surely a mistake.
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise TypeError(f"{name} must be an int >= 0 or None, got {value!r}")


def settings_from(options: ChatClientOptions) -> Settings:
    """Validate the constructor's options (in their historical order) into Settings."""
    body, forwarded_props = options.get("body"), options.get("forwarded_props")
    _check_mapping("body", body)
    _check_mapping("forwarded_props", forwarded_props)
    for name in ("id", "thread_id"):
        ident = options.get(name)
        if ident is not None and (not isinstance(ident, str) or not ident):
            raise TypeError(f"{name} must be a non-empty str, got {ident!r}")
    return Settings(
        id=options.get("id") or generate_run_id("chat"),
        thread_id=options.get("thread_id") or generate_run_id("thread"),
        body=dict(body or {}),
        forwarded_props=dict(forwarded_props or {}),
        tools=coerce_tools(options.get("tools")),
        raise_on_error=bool(options.get("raise_on_error", False)),
        max_continuations=_check_limit(
            "max_continuations", options.get("max_continuations", DEFAULT_MAX_CONTINUATIONS)
        ),
    )


def callbacks_from(options: Mapping[str, object]) -> Callbacks:
    """The ``on_*`` entries of ``options`` (the others are ignored), checked; the
    shared empty one when there are none."""
    given: dict[str, Any] = {name: options[name] for name in CALLBACK_NAMES & options.keys()}
    check_callables(given.items())
    return Callbacks(**given) if given else NO_CALLBACKS


def check_changes(changes: OptionChanges) -> dict[str, Tool] | None:
    """Validate ``update_options``' arguments before anything changes; returns the new
    tools (``None`` when ``tools`` was not given). The connection is checked by the caller."""
    unknown = sorted(set(changes) - CALLBACK_NAMES - _CHANGE_NAMES)
    if unknown:
        raise TypeError(
            f"update_options: unknown option(s) {unknown}; callbacks are {sorted(CALLBACK_NAMES)}"
        )
    check_callables((name, value) for name, value in changes.items() if name in CALLBACK_NAMES)
    if "body" in changes:
        _check_mapping("body", changes["body"], nullable=" or None")
    if "forwarded_props" in changes:
        _check_mapping("forwarded_props", changes["forwarded_props"], nullable=" or None")
    if "max_continuations" in changes:
        _check_limit("max_continuations", changes["max_continuations"])
    return coerce_tools(changes["tools"]) if "tools" in changes else None


def apply_changes(
    settings: Settings, callbacks: Callbacks, changes: OptionChanges, tools: dict[str, Tool] | None
) -> Callbacks:
    """Apply checked changes (everything but the connection); returns the callbacks to
    use from now on (``callbacks`` itself when none changed)."""
    if "body" in changes:
        settings.body = dict(changes["body"] or {})
    if "forwarded_props" in changes:
        settings.forwarded_props = dict(changes["forwarded_props"] or {})
    if tools is not None:
        settings.tools = tools
    if "raise_on_error" in changes:
        settings.raise_on_error = bool(changes["raise_on_error"])
    if "max_continuations" in changes:
        settings.max_continuations = changes["max_continuations"]
    given: dict[str, Any] = {n: v for n, v in changes.items() if n in CALLBACK_NAMES}
    return dataclasses.replace(callbacks, **given) if given else callbacks
