"""Content-Encoding, decoded in bounded steps: a peer cannot make one read allocate a GiB.

httpx decodes ``gzip``/``deflate`` for us, but each compressed chunk in one call
with no limit on the output: 2 KiB of ``Content-Encoding: gzip, gzip`` on the
wire became one 1 GiB allocation (a ``MemoryError``), and 255 KiB of gzipped
newlines became 673 MiB. So the transports read the raw body and decode it here,
at most :data:`STEP_BYTES` of output per step; the decoder upstream consumes each
step before the next is made, so memory stays bounded by the frame limits however
well the body compresses.

Only what we ask for (``Accept-Encoding: gzip, deflate``, set on every request)
is decoded; ``identity`` is no encoding. Anything else - a stacked encoding
(``gzip, gzip``: nothing legitimate needs it, and each layer multiplies the
expansion), an encoding we did not offer, corrupt compressed data - is a
:class:`~chatconduit.ContentEncodingError`.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Iterator

import httpx

from .._exceptions import ContentEncodingError

__all__ = ["ACCEPT_ENCODING", "STEP_BYTES", "BodyDecoder", "decoded_body"]

ACCEPT_ENCODING = "gzip, deflate"
STEP_BYTES = 64 * 1024  # the most decoded output one step may produce

_GZIP_MAGIC = b"\x1f\x8b"


class BodyDecoder:
    """Decodes one response body's ``Content-Encoding``, a bounded step at a time."""

    __slots__ = ("_deflate_raw", "_kind", "_started", "_zlib")

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise ContentEncodingError(
                f"the response is encoded several times (Content-Encoding: {content_encoding}); "
                f"stacked encodings are refused (we accept one of: {ACCEPT_ENCODING})"
            )
        kind = codings[0] if codings else "identity"
        if kind == "x-gzip":
            kind = "gzip"
        if kind not in ("identity", "gzip", "deflate"):
            raise ContentEncodingError(
                f"the response uses Content-Encoding {kind!r}, which we did not ask for "
                f"(Accept-Encoding: {ACCEPT_ENCODING})"
            )
        self._kind = kind
        self._started = False
        self._deflate_raw = False
        self._zlib: zlib._Decompress | None = self._new()

    def _new(self) -> zlib._Decompress | None:
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._kind == "deflate":
            # "deflate" should be zlib-wrapped; some servers send raw deflate (httpx
            # tries both as well).
            return zlib.decompressobj(-zlib.MAX_WBITS if self._deflate_raw else zlib.MAX_WBITS)
        return None

    @property
    def identity(self) -> bool:
        return self._zlib is None

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, in pieces of at most :data:`STEP_BYTES`."""
        if self._zlib is None:
            if data:
                yield data
            return
        if data:
            yield from self._inflate(data)

    def flush(self) -> Iterator[bytes]:
        """The end of the body: whatever the decompressor still holds, in bounded pieces."""
        if self._zlib is not None and not self._zlib.eof:
            yield from self._inflate(b"")

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        while True:
            assert self._zlib is not None
            try:
                out = self._zlib.decompress(data, STEP_BYTES)
            except zlib.error as exc:
                if self._kind == "deflate" and not self._started and not self._deflate_raw:
                    self._deflate_raw = True  # not zlib-wrapped: try raw deflate, once
                    self._zlib = self._new()
                    continue
                raise ContentEncodingError(
                    f"the response's {self._kind} data is corrupt ({exc})"
                ) from None
            self._started = True
            if out:
                yield out
            if self._zlib.eof:
                # A gzip body may hold several members, one after the other; anything
                # else after the end of the compressed data is ignored, as httpx does.
                rest = self._zlib.unused_data
                if self._kind != "gzip" or rest[:2] != _GZIP_MAGIC:
                    return
                self._zlib = self._new()
                data = rest
                continue
            # What did not fit into this step. When all input was consumed but the step
            # came out full, output may still be pending: one more (empty) step.
            data = self._zlib.unconsumed_tail
            if not data and len(out) < STEP_BYTES:
                return


def decoded_body(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """``response``'s body with its Content-Encoding removed, in bounded pieces.

    Raises :class:`~chatconduit.ContentEncodingError` at the first step for an
    encoding we refuse; transport errors of the raw read pass through (httpx's).

    A response of the default client's aiohttp transport is read by one generator of
    that transport's body, straight from aiohttp (``_aiohttp``), rather than through
    three (this one, httpx's ``aiter_raw`` and the body's): fewer objects for every
    live stream and fewer hops per read, with the same errors.
    """
    direct = getattr(response.stream, "chatconduit_decoded", None)
    if direct is not None and not response.is_stream_consumed and not response.is_closed:
        decoded: AsyncGenerator[bytes, None] = direct(response)
        return decoded
    return _decoded_body(response)


async def _decoded_body(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    decoder = BodyDecoder(content_encoding(response))
    async for raw in response.aiter_raw():
        for piece in decoder.decode(raw):
            yield piece
    for piece in decoder.flush():
        yield piece


def content_encoding(response: httpx.Response) -> str | None:
    values = response.headers.get_list("content-encoding")
    return ", ".join(values) if values else None
