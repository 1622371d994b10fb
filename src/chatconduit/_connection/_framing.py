"""Response bytes → ``(event, id)`` pairs: the codec layer's decoder, as the transports use it.

``_decode.EventDecoder`` does the work (SSE or NDJSON framing, ``[DONE]``,
pings, envelopes, size limits). What the transports add is one rule: an error
is raised as soon as it is known, not at the next read, which on a stalled
connection might never come: the transport yields the events of a read, then
calls :meth:`StreamDecoder.check`.
"""

from __future__ import annotations

from .._decode import DecodedEvent, EventDecoder, Framing

__all__ = ["Framing", "StreamDecoder", "make_decoder"]

_DONE = b"[DONE]"


def _line_end(data: bytes, start: int) -> int:
    """Index just past the next CR or LF at or after ``start``; -1 when there is none."""
    lf = data.find(b"\n", start)
    cr = data.find(b"\r", start)
    ends = [i for i in (lf, cr) if i >= 0]
    return min(ends) + 1 if ends else -1


class StreamDecoder:
    """One response body's decoder. ``done`` turns true at a ``[DONE]`` sentinel."""

    __slots__ = ("_decoder",)

    def __init__(self, framing: Framing, max_frame_bytes: int) -> None:
        self._decoder = EventDecoder(framing, max_frame_bytes=max_frame_bytes)

    @property
    def done(self) -> bool:
        return self._decoder.done

    def feed(self, data: bytes) -> list[DecodedEvent]:
        """The events of one read, none past a ``[DONE]`` (the stream ends there)."""
        at = data.find(_DONE)
        if at < 0:
            return self._decoder.feed(data)
        # The decoder is incremental, so feeding a read in pieces gives the same
        # events; feeding the lines after a possible [DONE] one at a time lets us
        # stop right where it is dispatched (an SSE event ends at a blank line:
        # up to four line ends with CRLF). If it was only text inside some JSON,
        # the rest is fed as usual.
        events = self._decoder.feed(data[:at])
        pos = at
        for _ in range(4):
            end = _line_end(data, pos)
            if end < 0:
                break
            events += self._decoder.feed(data[pos:end])
            pos = end
            if self._decoder.done:
                return events
        if pos < len(data):
            events += self.feed(data[pos:])
        return events

    def finish(self) -> list[DecodedEvent]:
        return self._decoder.finish()

    def check(self) -> None:
        """Raise the error found in the last read (after its earlier events were used)."""
        self._decoder.check()


def make_decoder(framing: Framing, max_frame_bytes: int) -> StreamDecoder:
    return StreamDecoder(framing, max_frame_bytes)
