"""The server's fast path for the events agents yield most: ``fast_event_dict``.

A streaming agent yields one content delta per token: TEXT_MESSAGE_CONTENT,
REASONING_MESSAGE_CONTENT and TOOL_CALL_ARGS as plain dicts of strings. Normalising such a
dict through the model (:func:`~._encode.event_to_dict`: validate into an event, dump back)
was ~37 % of the server's time per event. For those three types, with only their own
string fields plus ``model`` (a string) and ``timestamp`` (an ``int``, as TanStack stamps
every event), that round trip cannot change anything but the key order (``type`` first,
the rest as they came) and cannot fail, so this checks exactly that by hand and copies
the dict. Anything else - another type, an extra or unknown key, a value that is not
exactly a ``str`` (``None``, a subclass, a number), a timestamp that is not exactly an
``int`` (a float, a bool, a string the model would turn into a number), a key that is not
exactly a ``str``, a model, a Mapping that is not a dict - gets ``None`` and takes the
model path, which alone decides what is valid and words every error.
``tests/test_speed_server_fast.py`` checks that both give the same dicts and bytes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fast_event_dict"]

# Per type, the keys whose values the model keeps as they are when they are strings
# (each is a ``str | None`` field; the BaseEvent fields of other types, and any extra,
# always go the model way), and ``timestamp`` (``int | float``), taken as an exact int.
_COMMON = ("type", "model", "timestamp")
_FAST_KEYS: dict[str, frozenset[str]] = {
    "TEXT_MESSAGE_CONTENT": frozenset({*_COMMON, "messageId", "delta", "content"}),
    "REASONING_MESSAGE_CONTENT": frozenset({*_COMMON, "messageId", "delta"}),
    "TOOL_CALL_ARGS": frozenset({*_COMMON, "toolCallId", "delta", "args"}),
}


def fast_event_dict(item: object) -> dict[str, Any] | None:
    """The wire dict :func:`~._encode.event_to_dict` makes of ``item``, or ``None`` when
    ``item`` is not one of the plain shapes this path handles (then ask the model)."""
    if type(item) is not dict:
        return None
    kind = item.get("type")
    if type(kind) is not str:
        return None
    allowed = _FAST_KEYS.get(kind)
    if allowed is None:
        return None
    out: dict[str, Any] = {"type": kind}
    for key, value in item.items():
        if type(key) is not str or key not in allowed:
            return None
        if type(value) is not (int if key == "timestamp" else str):
            return None
        out[key] = value  # "type" again: same value, keeps its first place
    return out
