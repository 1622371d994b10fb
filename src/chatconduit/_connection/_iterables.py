"""Accepting what users return from ``connect``/``stream`` callables, and closing it again."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["close_iterator", "to_async_iterator"]

T = TypeVar("T")


class _SyncIterator(AsyncIterator[T]):
    """A plain iterable seen as an async one (the reference accepts sync iterables too)."""

    def __init__(self, iterator: Iterator[T]) -> None:
        self._iterator = iterator

    async def __anext__(self) -> T:
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        close = getattr(self._iterator, "close", None)
        if callable(close):
            close()


async def to_async_iterator(result: Any, what: str) -> AsyncIterator[Any]:
    """An async iterator over ``result``: an async or sync iterable, or an awaitable of one.

    ``what`` names the callable in the error raised for anything else.
    """
    if inspect.isawaitable(result) and not isinstance(result, AsyncIterable):
        result = await result
    if isinstance(result, AsyncIterable):
        return aiter(result)
    if isinstance(result, Iterable) and not isinstance(result, str | bytes | Mapping):
        return _SyncIterator(iter(result))
    raise TypeError(f"{what} must return an async iterable of events, got {type(result).__name__}")


async def close_iterator(iterator: object) -> None:
    """``aclose()`` an iterator if it has one (async generators do); release what it holds."""
    if iterator is None:
        return
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
