"""Response bytes → ``(event, id)`` pairs: the codec layer's decoder, as the transports use it.

``_decode.EventDecoder`` does the work (SSE or NDJSON framing, ``[DONE]``,
pings, envelopes, size limits). What the transports add is one rule: an error
is raised as soon as it is known, not at the next read, which on a stalled
connection might never come: the transport iterates the events of a read, then
calls :meth:`StreamDecoder.check`.

The events of a read are handed out lazily (``EventDecoder.iter_feed``): each is
validated as the transport reaches it, so a big read never has all its events
alive at once and the garbage collector has little to do.
"""

from __future__ import annotations

from collections.abc import Iterator

from .._decode import DecodedEvent, EventDecoder, Framing

__all__ = ["Framing", "StreamDecoder", "make_decoder"]


class StreamDecoder:
    """One response body's decoder. ``done`` turns true at a ``[DONE]`` sentinel, where
    decoding ends (nothing after it in the same read is returned)."""

    __slots__ = ("_decoder",)

    def __init__(self, framing: Framing, max_frame_bytes: int) -> None:
        self._decoder = EventDecoder(framing, max_frame_bytes=max_frame_bytes)

    @property
    def done(self) -> bool:
        return self._decoder.done

    @property
    def retry(self) -> int | None:
        """SSE: the reconnection time (ms) the server's ``retry:`` field set, if any."""
        return self._decoder.retry

    def feed(self, data: bytes) -> Iterator[DecodedEvent]:
        """The events of one read, decoded as they are iterated; iterate them all, then
        call :meth:`check`."""
        return self._decoder.iter_feed(data)

    def finish(self) -> Iterator[DecodedEvent]:
        return iter(self._decoder.finish())

    def check(self) -> None:
        """Raise the error found in the last read (after its earlier events were used)."""
        self._decoder.check()


def make_decoder(framing: Framing, max_frame_bytes: int) -> StreamDecoder:
    return StreamDecoder(framing, max_frame_bytes)
