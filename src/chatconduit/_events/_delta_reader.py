"""The usual payload of a stream, a plain delta, read and checked by msgspec in one C call.

A stream is mostly deltas: ``{"type": "TEXT_MESSAGE_CONTENT", "messageId": <str>,
"delta": <str>}``, with an int ``timestamp`` when TanStack writes it (and
``REASONING_MESSAGE_CONTENT`` or ``TOOL_CALL_ARGS`` the same way). Reading one with orjson
and then checking its keys and value types in Python cost ~0.55 µs of the ~1.4 µs an event
cost ``connect()``; msgspec reads it into a struct whose fields are exactly those, with
their types checked as it reads, in ~0.2 µs (``benchmarks/README.md``, round 12).

:func:`delta_reader` makes the reader ``_hand_built`` uses. The reader returns such a
struct (``ident``, ``delta``, ``timestamp`` - ``UNSET`` when absent - and ``target``: the
event class, its defaults and the id's field name), or raises ``msgspec.DecodeError`` for
anything else: another type, any other key (``metadata``, ``model``, a snake_case key), a
null, a number or bool where a string goes, a float, bool or null timestamp, or one beyond
int64 (orjson reads a timestamp beyond its 64-bit ints as a double, which is no plain one),
and JSON that is broken or that orjson refuses too (lone surrogates, invalid UTF-8). What
it refuses takes the orjson path as before, which alone decides what the payload is; so
what it takes, the orjson path would have taken with the same values
(``tests/test_events_delta_reader.py`` checks both on generated payloads).

msgspec comes with the ``fast`` extra, like orjson. Without it there is no reader,
and the callers read every payload with orjson, as they did before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from ._plain import DELTA_KEYS

__all__ = ["DeltaReader", "delta_reader"]

_Target = tuple[type, dict[str, Any], str]

try:  # optional speed-up, see the `fast` extra
    import msgspec
except ImportError:  # pragma: no cover - exercised when msgspec is absent
    msgspec = None  # type: ignore[assignment]


class DeltaReader(NamedTuple):
    """What the hot loops need, as locals: the reader, what it raises, and its ``UNSET``."""

    read: Callable[[bytes], Any]
    error: type[Exception]  # msgspec.DecodeError (its ValidationError is one)
    unset: Any  # a struct's timestamp when the payload has none


def delta_reader(targets: dict[str, _Target]) -> DeltaReader | None:
    """A reader of the delta types of ``targets`` (type -> the event class, its defaults,
    the id's field name: a struct's ``target``), as a tagged union of structs that accept
    nothing else; ``None`` without msgspec."""
    if msgspec is None:  # pragma: no cover - msgspec is in the fast extra
        return None
    # orjson reads ints beyond -2**63 .. 2**64 as doubles, which the hand-built path does
    # not take; msgspec reads any int. Bounded to int64 (the bounds msgspec supports),
    # this reader takes only what orjson reads as an int; the rest is orjson's to read.
    stamp = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
    union: Any = None
    for kind, (_, id_key, _) in DELTA_KEYS.items():
        if kind not in targets:
            continue
        struct = msgspec.defstruct(
            f"PlainDelta_{kind}",
            [
                ("ident", str, msgspec.field(name=id_key)),
                ("delta", str),
                ("timestamp", stamp | msgspec.UnsetType, msgspec.UNSET),
            ],
            namespace={"target": targets[kind]},
            tag_field="type",
            tag=kind,
            forbid_unknown_fields=True,
            gc=False,  # strings and an int: nothing for the garbage collector to track
            module=__name__,
        )
        union = struct if union is None else union | struct
    if union is None:  # pragma: no cover - the deltas are plain types
        return None
    return DeltaReader(msgspec.json.Decoder(union).decode, msgspec.DecodeError, msgspec.UNSET)
