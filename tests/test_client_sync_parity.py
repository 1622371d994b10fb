"""SyncChatClient mirrors ChatClient: the same options (one definition) and the same public
members, except the deliberate differences listed here. Adding a member to one class
and not the other, or changing a method's parameters on one side, fails these tests:
add it to both, or list it below with the reason."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Unpack, get_type_hints

import pytest

from chatconduit import ChatClient, ChatClientOptions, SyncChatClient, stream
from chatconduit._client._callbacks import Callbacks
from chatconduit._client._options import CallbackOptions, OptionChanges

# ChatClient member -> its SyncChatClient name (same parameters).
RENAMED = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
# Only on ChatClient, with the reason.
ASYNC_ONLY = {"updates": "an async iterator; blocking code uses stream_message()"}
# Only on SyncChatClient, with the reason.
SYNC_ONLY = {
    "async_client": "the wrapped ChatClient, for use on its loop (e.g. in callbacks)",
    "loop": "the private event loop the wrapped client runs on",
    "stream_message": "send_message() yielding snapshots: what updates() is for async code",
}
# Extra keyword-only parameters of SyncChatClient methods.
SYNC_EXTRA_PARAMETERS = {
    "send_message": {"timeout": "stop the reply after this many seconds"},
    "ask": {"timeout": "stop the reply after this many seconds"},
}


def members(cls: type) -> dict[str, Any]:
    """Public names of ``cls``, plus the dunder methods it defines itself."""
    out: dict[str, Any] = {}
    for name in dir(cls):
        value = inspect.getattr_static(cls, name)
        own_dunder = name.startswith("__") and name in vars(cls) and inspect.isfunction(value)
        if not name.startswith("_") or own_dunder:
            out[name] = value
    return out


def kind(value: Any) -> str:
    if isinstance(value, property):
        return "property"
    if inspect.iscoroutinefunction(value):
        return "async method"
    if inspect.isfunction(value):
        return "method"
    return type(value).__name__


def parameters(fn: Callable[..., Any], drop: set[str] = set()) -> list[tuple[Any, ...]]:  # noqa: B006
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in inspect.signature(fn).parameters.values()
        if p.name not in drop
    ]


ASYNC = members(ChatClient)
SYNC = members(SyncChatClient)
PAIRS = {
    name: RENAMED.get(name, name)
    for name in ASYNC
    if name not in ASYNC_ONLY and RENAMED.get(name, name) in SYNC
}


def test_the_lists_of_differences_are_current() -> None:
    for name in ASYNC_ONLY:
        assert name in ASYNC and name not in SYNC, name
    for name in SYNC_ONLY:
        assert name in SYNC and name not in ASYNC, name
    for old, new in RENAMED.items():
        assert old in ASYNC and new in SYNC and old not in SYNC and new not in ASYNC, old
    for name, extra in SYNC_EXTRA_PARAMETERS.items():
        assert set(extra) <= set(inspect.signature(SYNC[name]).parameters), name


def test_both_clients_have_the_same_public_members() -> None:
    expected = {RENAMED.get(n, n) for n in ASYNC if n not in ASYNC_ONLY}
    actual = set(SYNC) - set(SYNC_ONLY)
    assert not expected - actual, f"missing on SyncChatClient: {sorted(expected - actual)}"
    assert not actual - expected, f"missing on ChatClient: {sorted(actual - expected)}"


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_members_have_the_same_kind_and_parameters(name: str) -> None:
    mine, theirs = ASYNC[name], SYNC[PAIRS[name]]
    expected_kind = {"async method": "method"}.get(kind(mine), kind(mine))
    assert kind(theirs) == expected_kind, f"{name}: {kind(mine)} vs {kind(theirs)}"
    if isinstance(mine, property):
        return
    extra = SYNC_EXTRA_PARAMETERS.get(PAIRS[name], {})
    assert parameters(theirs, set(extra)) == parameters(mine)
    for param in inspect.signature(theirs).parameters.values():
        if param.name in extra:  # never breaks a call written for ChatClient
            assert param.kind is inspect.Parameter.KEYWORD_ONLY
            assert param.default is not inspect.Parameter.empty


def test_both_constructors_take_the_one_options_definition() -> None:
    for cls in (ChatClient, SyncChatClient):
        hints = get_type_hints(cls.__init__, include_extras=True)
        assert hints["options"] == Unpack[ChatClientOptions], cls
        assert [(p.name, p.kind) for p in inspect.signature(cls).parameters.values()] == [
            ("connection", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            ("options", inspect.Parameter.VAR_KEYWORD),
        ]
        hints = get_type_hints(cls.update_options, include_extras=True)
        assert hints["changes"] == Unpack[OptionChanges], cls


def test_the_callbacks_are_defined_once_for_options_and_runtime() -> None:
    """The ``on_*`` options and the Callbacks the client keeps have the same names and types."""
    assert get_type_hints(Callbacks) == get_type_hints(CallbackOptions)
    callbacks = set(CallbackOptions.__optional_keys__)
    assert callbacks <= ChatClientOptions.__optional_keys__
    assert callbacks <= OptionChanges.__optional_keys__


def _every_option() -> ChatClientOptions:
    def noop(*args: Any) -> None:
        return None

    options: dict[str, Any] = {name: noop for name in CallbackOptions.__optional_keys__}
    user = {"id": "m1", "role": "user", "parts": [{"type": "text", "content": "a"}]}
    options.update(
        initial_messages=[user],
        id="chat-1",
        thread_id="thread-1",
        body={"b": 1},
        forwarded_props={"f": 2},
        tools=[],
        chunk_strategy=None,
        raise_on_error=True,
        max_continuations=5,
    )
    assert set(options) == ChatClientOptions.__optional_keys__  # every option is tried
    return options  # type: ignore[return-value]


def _adapter() -> object:
    return stream(lambda messages, data: iter(()))


async def test_chat_client_accepts_every_option_and_rejects_others() -> None:
    client = ChatClient(_adapter(), **_every_option())
    assert (client.id, client.thread_id, len(client.messages)) == ("chat-1", "thread-1", 1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        ChatClient(_adapter(), colour="red")  # type: ignore[call-arg]


def test_sync_chat_client_accepts_every_option_and_rejects_others() -> None:
    with SyncChatClient(_adapter(), **_every_option()) as chat:
        assert (chat.id, chat.thread_id, len(chat.messages)) == ("chat-1", "thread-1", 1)
        assert chat.tools == {} and chat.finish_reason is None and chat.usage is None
        assert chat.adapter is chat.async_client.adapter
        chat.update_options(body={"b": 2}, on_chunk=None)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        SyncChatClient(_adapter(), colour="red")  # type: ignore[call-arg]
