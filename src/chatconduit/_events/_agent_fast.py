"""The server's fast path for the events agents yield most: ``fast_event_dict``.

A streaming agent yields one content delta per token: TEXT_MESSAGE_CONTENT,
REASONING_MESSAGE_CONTENT and TOOL_CALL_ARGS as plain dicts of strings. Normalising such a
dict through the model (:func:`~._encode.event_to_dict`: validate into an event, dump back)
was ~37 % of the server's time per event. Every turn also opens and closes its run and its
messages (RUN_STARTED, TEXT_MESSAGE_START, ...): ~3 µs each through the model, ~15 µs of a
short turn's ~45 µs of stream making. For the types of ``_plain.PLAIN_KEYS``, with only their
own ``str | None`` fields given as strings plus ``model`` (a string) and ``timestamp`` (an
``int``, as TanStack stamps every event), that round trip cannot change anything but the
key order (``type`` first, the rest as they came) and cannot fail, so this checks exactly
that by hand and returns the dict itself (or, ``type`` not first, a copy with it first).
The same holds for an extra key the model keeps as it is: one that names no field of the
class in any spelling, with a ``str`` or ``int`` value (an agent's own stamp such as
``emittedNs``; one delta in ten carrying one cost the server ~20 % more per event on the
model path). Anything else - another type, an extra with any other value, a key that
spells a field (``message_id``, ``rawEvent``, ``metadata``), an own field whose value is
not exactly a ``str`` (``None``, a subclass, a number), a field that is no ``str | None``
(RUN_STARTED's ``input``, RUN_FINISHED's ``result``), a timestamp that is not exactly an
``int`` (a float, a bool, a string the model would turn into a number), a key that is
not exactly a ``str``, a model, a Mapping that is not a dict - gets ``None`` and takes
the model path, which alone decides what is valid and words every error.
``tests/test_speed_server_fast.py`` checks that both give the same dicts and bytes.
"""

from __future__ import annotations

from typing import Any

from ._plain import DELTA_KEYS, FIELD_KEYS, PLAIN_KEYS

__all__ = ["fast_event_dict"]

_EXTRA_VALUE_TYPES = frozenset({str, int})


def fast_event_dict(item: object) -> dict[str, Any] | None:
    """The wire dict :func:`~._encode.event_to_dict` makes of ``item``, or ``None`` when
    ``item`` is not one of the plain shapes this path handles (then ask the model).

    When ``type`` is already the first key that dict equals ``item`` key for key, so
    ``item`` itself is returned (no allocation per event): the server encodes it before
    the agent runs on and keeps no reference (the ``on_disconnect`` list takes copies),
    and nothing on the way mutates an event. Otherwise a copy with ``type`` moved first."""
    if type(item) is not dict:
        return None
    kind = item.get("type")
    if type(kind) is not str:
        return None
    allowed = PLAIN_KEYS.get(kind)
    if allowed is None:
        return None
    if len(item) == 3:
        kind_key, id_key, delta_key = item
        if (
            type(kind_key) is str
            and type(id_key) is str
            and type(delta_key) is str  # a str subclass equal to "delta" is the model's
            and (kind_key, id_key, delta_key) == DELTA_KEYS.get(kind)  # deltas only
        ):
            return item if type(item[id_key]) is str and type(item[delta_key]) is str else None
    fields = FIELD_KEYS[kind]
    first = None
    for key, value in item.items():
        if type(key) is not str:
            return None
        # An unknown key gets None, which no value's type is. It may still be an extra
        # the model keeps verbatim, in place: a key that is no field of the class in any
        # spelling, with a str or int value (an agent's own stamp, e.g. ``emittedNs``);
        # anything else is the model's to judge.
        if type(value) is not allowed.get(key) and (
            key in fields or type(value) not in _EXTRA_VALUE_TYPES
        ):
            return None
        if first is None:
            first = key
    if first == "type":
        return item
    return {"type": kind, **item}  # "type" again: same value, keeps its first place
