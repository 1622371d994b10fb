"""Identifier generation in the reference's shape: ``<prefix>-<epoch ms>-<base36 random>``."""

from __future__ import annotations

import os
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


# Random bytes become base36 characters by table: a byte below 252 (7 x 36) is its
# value mod 36, the others are dropped, so every character is equally likely. In C,
# where a divmod loop per id cost more than the rest of making it.
_ACCEPTED = 252
_TO_BASE36 = bytes(ord(_ALPHABET[i % 36]) if i < _ACCEPTED else 0 for i in range(256))
_DROPPED = bytes(range(_ACCEPTED, 256))


def random_base36(length: int) -> str:
    """``length`` uniformly random base36 characters from the OS's random source."""
    # 4 bytes in 256 are dropped: a draw of length + 8 bytes comes up short less than
    # once in 10**12 ids of 7 characters, and then it draws again.
    while True:
        digits = os.urandom(length + 8).translate(_TO_BASE36, _DROPPED)
        if len(digits) >= length:
            return digits[:length].decode("ascii")


def generate_id(prefix: str) -> str:
    """``msg-1795480475046-n0cy5cr``: sortable by time, unique by 7 random base36 chars."""
    return f"{prefix}-{now_ms()}-{random_base36(7)}"
