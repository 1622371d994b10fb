"""Chunk strategies: when a text delta should be *announced* to the UI (reference §4.6).

A strategy answers one question per ``TEXT_MESSAGE_CONTENT``: "is this a good moment to
tell the UI?" It only throttles notifications (``on_messages_change`` /
``on_text_update``); the message data itself is always current (see ``_processor``).
Pending text is always announced when a text segment ends, on ``TEXT_MESSAGE_END`` and
when the stream is finalized, whatever the strategy says.

The built-ins mirror TanStack AI's ``strategies.ts``:

=======================  ==============================================================
``ImmediateStrategy``    every chunk (the default)
``PunctuationStrategy``  chunks containing one of ``. , ! ? ; :`` or a newline
``BatchStrategy(n)``     every n-th chunk (the count restarts with each stream)
``WordBoundaryStrategy`` chunks ending in whitespace
``CompositeStrategy``    when any of its strategies says so
=======================  ==============================================================

Any object with ``should_emit(chunk, accumulated) -> bool`` (and optionally
``reset()``) is a strategy; :class:`ChunkStrategy` is the protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol, runtime_checkable

__all__ = [
    "BatchStrategy",
    "ChunkStrategy",
    "CompositeStrategy",
    "ImmediateStrategy",
    "PunctuationStrategy",
    "WordBoundaryStrategy",
]


@runtime_checkable
class ChunkStrategy(Protocol):
    """Decides whether the text accumulated so far should be announced now."""

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        """``chunk`` is this event's new text, ``accumulated`` the whole current segment."""
        ...


def reset_strategy(strategy: ChunkStrategy) -> None:
    """Call the strategy's optional ``reset()`` (a new stream begins)."""
    reset = getattr(strategy, "reset", None)
    if callable(reset):
        reset()


class ImmediateStrategy:
    """Announce every chunk."""

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        return True


class PunctuationStrategy:
    """Announce when the chunk contains sentence or clause punctuation, or a newline."""

    _PUNCTUATION: Final = re.compile(r"[.,!?;:\n]")

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        return self._PUNCTUATION.search(chunk) is not None


class BatchStrategy:
    """Announce every ``batch_size``-th chunk."""

    def __init__(self, batch_size: int = 5) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"BatchStrategy batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size = batch_size
        self._count = 0

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        self._count += 1
        if self._count >= self.batch_size:
            self._count = 0
            return True
        return False

    def reset(self) -> None:
        self._count = 0


class WordBoundaryStrategy:
    """Announce when the chunk ends in whitespace (a word has just been completed)."""

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        return chunk[-1:].isspace()


class CompositeStrategy:
    """Announce when any of the given strategies says so.

    Unlike the reference (``Array.some``, which stops at the first yes), every strategy
    is asked about every chunk, so a stateful one such as :class:`BatchStrategy` counts
    all chunks and keeps its rhythm regardless of its position in the list.
    """

    def __init__(self, strategies: Iterable[ChunkStrategy]) -> None:
        self.strategies: tuple[ChunkStrategy, ...] = tuple(strategies)

    def should_emit(self, chunk: str, accumulated: str) -> bool:
        results = [s.should_emit(chunk, accumulated) for s in self.strategies]
        return any(results)

    def reset(self) -> None:
        for strategy in self.strategies:
            reset_strategy(strategy)
