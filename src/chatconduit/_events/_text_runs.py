"""``PlainTextRun``: a slice's consecutive plain text deltas for one message, kept as strings.

What a ``ChatClient`` does with a streamed text delta is add its ``delta`` to the message's
text. Validating each one into a ``TextMessageContentEvent`` first cost ~0.8 µs of pydantic
per delta, more than everything else the client did with it. So the slices that
``ChatClient``'s pull driver reads from our own adapters (and only those: ``connect()``
yields typed events as before) read each payload with msgspec's reader of plain deltas
(``_delta_reader``), and a payload that is exactly ``{"type": "TEXT_MESSAGE_CONTENT",
"messageId": <str>, "delta": <non-empty str>}`` - nothing else that the model would keep,
so nothing a run could lose - joins a run: consecutive ones for one message become one
:class:`PlainTextRun`.

:meth:`PlainTextRun.events` makes the typed events whenever somebody needs them (an
``on_chunk`` callback, a delta that opens its message's text, a strategy other than
immediate), from the payloads and through :func:`parse_event_json`, so they are exactly
the events the typed path gives. ``tests/test_client_text_runs.py`` checks both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, cast

from ._hand_built import DELTA_READER, hand_built_available
from ._parse import parse_event_json, parse_event_json_batch
from ._text_messages import TextMessageContentEvent
from ._union import Event

__all__ = ["PlainTextRun", "SliceItem", "plain_text_slice", "text_runs_available"]

text_runs_available = DELTA_READER is not None and hand_built_available
"""Without msgspec (the ``fast`` extra), reading each payload in Python would cost more
than the runs save: the slices hold typed events then."""


class PlainTextRun:
    """Consecutive plain TEXT_MESSAGE_CONTENT payloads for one message: the message id,
    their deltas (each a non-empty ``str``) and the payloads they came from, in order."""

    __slots__ = ("deltas", "message_id", "payloads")

    def __init__(self, message_id: str, delta: str, payload: bytes) -> None:
        self.message_id = message_id
        self.deltas = [delta]
        self.payloads = [payload]

    def __len__(self) -> int:
        return len(self.deltas)

    def events(self) -> list[TextMessageContentEvent]:
        """The typed events, exactly as :func:`parse_event_json` reads each payload (in one
        call into pydantic, which cannot refuse what ``plain_text_slice`` let through)."""
        return cast("list[TextMessageContentEvent]", parse_event_json_batch(self.payloads))

    def event(self, index: int) -> TextMessageContentEvent:
        """The typed event of one delta (see :meth:`events`)."""
        return cast(TextMessageContentEvent, parse_event_json(self.payloads[index]))

    def __repr__(self) -> str:
        return f"PlainTextRun(message_id={self.message_id!r}, deltas={len(self.deltas)})"


SliceItem: TypeAlias = Event | PlainTextRun
"""What a slice read for ``ChatClient`` holds: typed events, and runs of plain deltas."""


def plain_text_slice(payloads: Sequence[bytes]) -> list[SliceItem]:
    """The slice's plain text deltas as runs, the other payloads as typed events (through
    :func:`parse_event_json_batch`, whose ``ValueError`` this raises, for the caller to
    decode the slice one payload at a time)."""
    assert DELTA_READER is not None, "check text_runs_available first"
    read, refused, unset = DELTA_READER
    out: list[SliceItem | None] = []
    others: list[bytes] = []  # the payloads that are no plain delta, in order
    slots: list[int] = []  # where each of them goes in out
    run: PlainTextRun | None = None
    for payload in payloads:
        # Each payload is read alone. One read of the slice as a JSON array would be
        # cheaper, but it could not tell where each payload ends: two payloads that are no
        # JSON, split inside a string (``{...,"delta":"x`` and ``y"}``), read as one value.
        try:
            plain = read(payload)
        except refused:  # no plain delta: parse_event_json_batch decides what it is
            plain = None
        # A text delta with some text and no timestamp: the model could keep nothing else.
        if (
            plain is not None
            and plain.target[0] is TextMessageContentEvent
            and plain.timestamp is unset
            and plain.delta
        ):
            if run is not None and plain.ident == run.message_id:
                run.deltas.append(plain.delta)
                run.payloads.append(payload)
            else:
                run = PlainTextRun(plain.ident, plain.delta, payload)
                out.append(run)
            continue
        run = None
        slots.append(len(out))
        out.append(None)
        others.append(payload)
    if others:
        for slot, event in zip(slots, parse_event_json_batch(others), strict=True):
            out[slot] = event
    return cast("list[SliceItem]", out)
