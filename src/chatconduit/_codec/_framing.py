"""What the SSE and NDJSON codecs share (reference §2.2, 2.3, 6.1).

* the names of the wire: :data:`Framing` (``"sse"`` or ``"ndjson"``), the legacy
  :data:`DONE` sentinel, and :data:`PING`, the keep-alive's event type (the decoder
  skips it; the server's heartbeats are written with it);
* the frame-size limit (:data:`DEFAULT_MAX_FRAME_BYTES`) and the error-reporting
  contract: strict decoders keep the first :class:`~chatconduit.ProtocolError` and
  refuse more input; lenient ones pass each error to an :data:`ErrorHandler` (default
  :func:`log_protocol_error`) and go on;
* :class:`LineDecoder`, the byte-level state both incremental decoders start from: the
  leading-BOM check, the buffered unterminated line, the line counter, and that
  contract (``pending_error``, ``check()``, ``_report()``);
* :func:`excerpt` and :func:`is_json` for error messages and end-of-stream checks;
* :func:`encode_payload`, the compact JSON both encoders frame.

The framing itself (where a line ends, what a line means) stays in
:mod:`chatconduit._codec._sse` (with ``_sse_lines`` and ``_sse_frames``) and
:mod:`chatconduit._codec._ndjson`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

from .. import _json
from .._events import BaseEvent, event_to_dict
from .._exceptions import ProtocolError

__all__ = [
    "BOM",
    "DEFAULT_MAX_FRAME_BYTES",
    "DONE",
    "DONE_TEXT",
    "PING",
    "ErrorHandler",
    "Framing",
    "LineDecoder",
    "encode_payload",
    "excerpt",
    "is_json",
    "log_protocol_error",
]

Framing: TypeAlias = Literal["sse", "ndjson"]
"""The two framings of an event stream: Server-Sent Events, or newline-delimited JSON."""

DONE = b"[DONE]"
"""The legacy end-of-stream payload some servers send (``data: [DONE]``, or a line of its
own); TanStack 0.10 skips it with a warning. The framing decoders surface it, and
:class:`~chatconduit._codec.EventDecoder` stops there."""
DONE_TEXT = DONE.decode("ascii")
""":data:`DONE` as decoded text (an :class:`~chatconduit._codec.SSEMessage`'s ``data``)."""

PING = "ping"
"""The keep-alive's event type. A payload ``{"type": "ping"}`` is skipped by the decoder
in either framing; the server's heartbeat is that line in NDJSON and a ``: ping``
comment in SSE."""

DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Default limit for one line or one event (4 MiB)."""

ErrorHandler: TypeAlias = Callable[[ProtocolError], None]

BOM = b"\xef\xbb\xbf"
_EXCERPT_BYTES = 60

_log = logging.getLogger("chatconduit")


def excerpt(data: bytes) -> str:
    """A short, safe-to-log excerpt of a payload for error messages."""
    if len(data) <= _EXCERPT_BYTES:
        return data.decode("utf-8", "replace")
    return data[:_EXCERPT_BYTES].decode("utf-8", "ignore") + "…"


def is_json(data: bytes) -> bool:
    """True when ``data`` is one complete JSON value (as ``JSON.parse`` would accept it)."""
    try:
        _json.loads(data)
    except ValueError:
        return False
    return True


def log_protocol_error(error: ProtocolError) -> None:
    """The default ``on_error`` of lenient decoders: a warning, so nothing is dropped silently."""
    _log.warning("skipped malformed stream input: %s", error)


class LineDecoder:
    """The state and error contract the incremental SSE and NDJSON decoders share.

    Subclasses split lines and interpret them; this class holds the limit, the
    strict/lenient choice, the BOM check, the unterminated line (``_partial``, in pieces,
    ``_partial_bytes`` long), the count of complete lines, and the first error.
    """

    __slots__ = (
        "_error",
        "_finished",
        "_head",
        "_lenient",
        "_line",
        "_max",
        "_on_error",
        "_partial",
        "_partial_bytes",
        "_skip_line",
        "_started",
    )

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        lenient: bool = False,
        on_error: ErrorHandler | None = None,
    ) -> None:
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be positive, got {max_frame_bytes}")
        self._max = max_frame_bytes
        self._lenient = lenient
        self._on_error = on_error or log_protocol_error
        self._error: ProtocolError | None = None
        self._finished = False
        self._started = False  # past the (optional) BOM
        self._head = b""  # the first bytes, while they could still be a BOM
        self._partial: list[bytes] = []  # the current unterminated line, in pieces
        self._partial_bytes = 0
        self._line = 0  # complete lines consumed so far
        self._skip_line = False  # dropping the rest of an oversized line

    @property
    def pending_error(self) -> ProtocolError | None:
        """The error that stopped decoding (strict mode), not yet raised or already raised."""
        return self._error

    @property
    def lines_read(self) -> int:
        """The complete lines consumed so far (for the line number of an error found by
        whoever feeds this decoder, without counting every read's line ends again)."""
        return self._line

    def check(self) -> None:
        """Raise the pending error now instead of at the next ``feed()``/``finish()``."""
        if self._error is not None:
            raise self._error

    def _strip_bom(self, data: bytes) -> bytes:
        """Drop a leading UTF-8 BOM once; ``b""`` while the first bytes could still be one."""
        head = self._head + data
        if len(head) < 3 and BOM.startswith(head):
            self._head = head  # could still become a BOM
            return b""
        self._head = b""
        self._started = True
        return head[3:] if head.startswith(BOM) else head

    def _report(self, error: ProtocolError) -> None:
        """Lenient: hand ``error`` to ``on_error``. Strict: keep it and drop what is buffered."""
        if self._lenient:
            self._on_error(error)
        else:
            self._error = error
            self._drop_buffers()

    def _drop_buffers(self) -> None:
        self._partial = []
        self._partial_bytes = 0


def encode_payload(event: BaseEvent | Mapping[str, Any]) -> bytes:
    """Compact JSON bytes of an event (in wire key order) or of a plain mapping (as given)."""
    if type(event) is dict:  # the server's every frame: skip two ABC isinstance checks
        return _json.dumps_bytes(event)
    if isinstance(event, BaseEvent):
        return _json.dumps_bytes(event_to_dict(event))
    if isinstance(event, Mapping):
        return _json.dumps_bytes(event if type(event) is dict else dict(event))
    raise TypeError(f"expected an event or a mapping, got {type(event).__name__}")
