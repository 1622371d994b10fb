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


def random_base36(length: int) -> str:
    """``length`` uniformly random base36 characters from one draw of the OS's random
    source (a draw per character made every id cost a system call per character)."""
    n = secrets.randbelow(36**length)
    digits = []
    for _ in range(length):
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return "".join(digits)


def generate_id(prefix: str) -> str:
    """``msg-1795480475046-n0cy5cr``: sortable by time, unique by 7 random base36 chars."""
    return f"{prefix}-{now_ms()}-{random_base36(7)}"
