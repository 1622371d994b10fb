"""Bytes <-> events, both directions, both framings (SSE and NDJSON).

Pure code: no I/O and no asyncio, so every other layer can trust it and the property
tests can drive it with arbitrary splits. The incremental decoders turn reads into
frames, :class:`EventDecoder` turns frames into typed events, and the encoders write
the exact bytes the TanStack server helpers write.
"""
