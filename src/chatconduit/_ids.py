"""Identifier generation in the reference's shape: ``<prefix>-<epoch ms>-<base36 random>``."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(n: int) -> str:
    if n == 0:
        return "0"
    neg = n < 0
    n = abs(n)
    digits: list[str] = []
    while n:
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return ("-" if neg else "") + "".join(reversed(digits))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def generate_id(prefix: str) -> str:
    """``msg-1795480475046-n0cy5cr``: sortable by time, unique by 7 random base36 chars."""
    rand = "".join(secrets.choice(_ALPHABET) for _ in range(7))
    return f"{prefix}-{now_ms()}-{rand}"
