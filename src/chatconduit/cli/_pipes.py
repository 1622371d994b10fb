"""The terminal's edges: a reader that leaves the pipe, and typing while a reply streams.

``chatconduit chat URL -m hi | head -1``: once ``head`` has its line it closes the
pipe, and every later write raises ``BrokenPipeError``. Unix tools take that as "the
reader left": they stop quietly with status 0. :class:`PipeGuard` wraps stdout so the
first broken write stops the reply (through ``on_broken``), later writes go nowhere,
and nothing is left for Python to fail on when it flushes stdout at exit.

:func:`echo_off` keeps what the user types during a reply from being echoed into the
live view (where it tore the status line); the typed line stays in the terminal's
input queue and is read by the next prompt.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = ["PipeGuard", "echo_off"]


class PipeGuard:
    """A text stream that turns a closed pipe into one call of ``on_broken``."""

    def __init__(self, stream: TextIO, on_broken: Callable[[], None]) -> None:
        self._stream = stream
        self._on_broken = on_broken
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def _broke(self) -> None:
        self.broken = True
        # Python flushes sys.stdout at exit; with the pipe gone that would print
        # "Exception ignored ... BrokenPipeError". Point the descriptor at /dev/null.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        self._on_broken()

    def isatty(self) -> bool:
        return not self.broken and self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def __getattr__(self, name: str) -> Any:  # encoding, errors, ... of the stream
        return getattr(self._stream, name)


@contextlib.contextmanager
def echo_off(stream: TextIO | None = None) -> Iterator[None]:
    """Turn the terminal's echo off (``stream``: stdin by default) for the block; a no-op
    when it is not a terminal. Line buffering stays on: what is typed waits, unechoed,
    for the next ``input()``."""
    stream = stream or sys.stdin
    try:
        import termios

        fd = stream.fileno()
        if not os.isatty(fd):
            raise OSError
        before = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    after = list(before)
    after[3] = after[3] & ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSANOW, after)
    except termios.error:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, before)
