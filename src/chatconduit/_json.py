"""JSON as JavaScript's ``JSON.stringify`` writes it: compact, raw UTF-8, lone surrogates escaped.

Byte-compatibility with the reference depends on this: ``separators=(",", ":")``,
``ensure_ascii=False``, and lone surrogates written as ``\\udXXX`` escapes (Python
would otherwise emit them raw, and they cannot be encoded to UTF-8).
``orjson`` is used when installed: it is faster, writes the same bytes for
ordinary data, and we fall back to the stdlib for what it refuses (lone surrogates,
integers beyond 64 bits).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

_orjson: Any
try:  # optional speed-up, see the `fast` extra
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when orjson is absent
    _orjson = None

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON.stringify writes NaN and ±Infinity as null; orjson does the same, and the stdlib
# fallback is made to (allow_nan=False makes it raise instead of writing invalid JSON).
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _finite(obj: Any) -> Any:
    """``obj`` with NaN and ±Infinity replaced by ``None``, as ``JSON.stringify`` writes them."""
    if type(obj) is float:
        return obj if math.isfinite(obj) else None
    if type(obj) is dict:
        return {key: _finite(value) for key, value in obj.items()}
    if type(obj) is list:
        return [_finite(value) for value in obj]
    return obj


def _stdlib_dumps(obj: Any) -> str:
    try:
        text = _encoder.encode(obj)
    except ValueError:  # a non-finite float (this path only runs when orjson refused)
        text = _encoder.encode(_finite(obj))
    # Surrogates can only reach the output inside JSON strings, where an escape is valid.
    return _LONE_SURROGATE.sub(_escape_surrogate, text)


def dumps(obj: Any) -> str:
    """Compact JSON text, byte-compatible with ``JSON.stringify`` for JSON-safe values."""
    if _orjson is not None:
        try:
            return str(_orjson.dumps(obj).decode("utf-8"))
        except (TypeError, _orjson.JSONEncodeError):
            pass
    return _stdlib_dumps(obj)


# orjson's own encoder and parser, for a hot loop that handles what they refuse itself
# (orjson.JSONEncodeError is a TypeError, JSONDecodeError a ValueError); None without
# orjson, where the stdlib's would cost more than the loop saves.
orjson_dumps: Callable[[Any], bytes] | None = None if _orjson is None else _orjson.dumps
orjson_loads: Callable[[bytes], Any] | None = None if _orjson is None else _orjson.loads


def dumps_bytes(obj: Any) -> bytes:
    """Like :func:`dumps`, as UTF-8 bytes."""
    if _orjson is not None:
        try:
            return bytes(_orjson.dumps(obj))
        except (TypeError, _orjson.JSONEncodeError):
            pass
    return _stdlib_dumps(obj).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _orjson_int(text: str) -> int | float:
    """An integer as orjson reads it: exact within 64 bits, else the nearest double (which
    is what ``JSON.parse`` makes of any integer that big)."""
    value = int(text)
    return value if -(2**63) <= value <= 2**64 - 1 else float(value)


def _js_loads(data: str | bytes) -> Any:
    """The stdlib parser, made to accept and refuse what ``JSON.parse`` does.

    Bytes are decoded as the reference's ``TextDecoder`` does (UTF-8, bad bytes become
    U+FFFD; the stdlib would guess UTF-16/32 and fail on bad bytes), and ``NaN`` /
    ``Infinity`` are refused (the stdlib accepts them, JavaScript does not). Integers follow
    orjson's rule, so that a value does not depend on which of the two parsed it.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else data
    return json.loads(text, parse_constant=_reject_constant, parse_int=_orjson_int)


fast_loads: Callable[[str | bytes], Any] = _js_loads if _orjson is None else _orjson.loads
"""orjson's parser itself when installed (no wrapper call), else the stdlib one. Stricter
than ``JSON.parse`` in the corners :func:`loads` describes: for hot paths that retry what
it refuses with :func:`loads`."""


def loads(data: str | bytes) -> Any:
    """Parse JSON text as ``JSON.parse`` does. Raises ``ValueError`` on bad input.

    orjson is tried first (it is the fast path and agrees on ordinary input); what it
    refuses is retried with the stdlib, because orjson is stricter than JavaScript in a
    few corners the reference relies on: lone surrogate escapes (``"\\ud800"``, which
    ``JSON.stringify`` writes), numbers beyond double range (``1e400`` is ``Infinity``)
    and invalid UTF-8 bytes (replaced by U+FFFD before parsing). Genuinely bad JSON
    fails both, so the second attempt costs only on the error path.
    """
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
    try:
        return _js_loads(data)
    except RecursionError:
        # The stdlib parser recurses per nesting level (orjson refuses past 1024 levels,
        # then we land here): a hostile peer must get the same ValueError as bad JSON.
        raise ValueError("JSON nested too deeply") from None
