"""The problem collector of request validation, and the error it raises.

:class:`_Checker` walks a request body and collects one ``(json path, problem)`` pair
per problem instead of stopping at the first, so a client learns everything wrong at
once; :func:`_raise_problems` turns them into a
:class:`~chatconduit._exceptions.RequestValidationError`. :func:`_kind`, :func:`_short`
and :func:`_one_of` word the problems without echoing input values (bodies may carry
secrets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from .._exceptions import RequestValidationError

_MAX_LISTED_ERRORS = 10


def _kind(value: object) -> str:
    """The JSON type name of a parsed value, for error messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _short(value: object) -> str:
    """A short quote of an enum-like string value, so a typo'd role is recognisable."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    return _kind(value)


def _one_of(options: Sequence[str]) -> str:
    return "must be one of " + ", ".join(repr(o) for o in options)


class _Checker:
    """Collects ``(path, problem)`` pairs while walking a body."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append((path or "(body)", problem))

    def string(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "is required" if key not in obj else "must be a string, got null")
            return None
        if not isinstance(value, str):
            self.add(where, f"must be a string, got {_kind(value)}")
            return None
        return value

    def array(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> list[Any]:
        where = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, "is required" if key not in obj else "must be an array, got null")
            return []
        if not isinstance(value, list):
            self.add(where, f"must be an array, got {_kind(value)}")
            return []
        return value

    def obj(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"must be an object, got {_kind(value)}")
            return None
        return value


def _raise_problems(problems: list[tuple[str, str]]) -> NoReturn:
    listed = "; ".join(f"{loc}: {problem}" for loc, problem in problems[:_MAX_LISTED_ERRORS])
    more = len(problems) - _MAX_LISTED_ERRORS
    if more > 0:
        listed += f" (and {more} more)"
    raise RequestValidationError(
        f"Request body is not a valid AG-UI RunAgentInput: {listed}", list(problems)
    )
