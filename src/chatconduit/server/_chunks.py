"""Batches of frames to body chunks: what a streaming response writes per batch.

:func:`~._streams.guarded_batches` hands over the frames an agent produced together;
each batch becomes one body chunk here (one ``send`` for the server, one write to the
socket) instead of one per event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._heartbeat import aclose_quietly

__all__ = ["MAX_CHUNK_BYTES", "joined_chunks"]

# A body chunk holds one batch's frames up to about this many bytes (a frame is never
# split): one write per batch of a busy stream, never megabytes of tool output at once.
MAX_CHUNK_BYTES = 64 * 1024


async def joined_chunks(batches: AsyncIterator[list[bytes]]) -> AsyncIterator[bytes]:
    """Each batch of frames as one body chunk (or a few, past ``MAX_CHUNK_BYTES``)."""
    try:
        async for batch in batches:
            size = start = 0
            for index, frame in enumerate(batch):
                size += len(frame)
                if size >= MAX_CHUNK_BYTES:
                    yield b"".join(batch[start : index + 1])
                    start, size = index + 1, 0
            if start < len(batch):
                yield b"".join(batch[start:])
    finally:
        await aclose_quietly(batches)
