"""How a pydantic validation error of a message becomes a :class:`MessageValidationError`
that names JSON paths (``messages[2].parts[0].content``) and never echoes input values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .._exceptions import MessageValidationError

__all__ = ["format_location", "validation_error", "validation_problems"]

_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "bytes"})


def _is_union_label(elem: str, current: Any) -> bool:
    """Whether a ``loc`` element names a union member (``str``, ``list[...]``) or a tag.

    Real JSON keys here are camelCase identifiers found under a mapping; union
    labels are type names (``str``, ``TextPart``, ``list[tagged-union[...]]``) and
    discriminator values (``tool-call``).
    """
    if not isinstance(current, Mapping):
        return True  # nothing below a non-object can be a key
    if elem in current:
        return False
    return current.get("type") == elem or "[" in elem or elem[:1].isupper() or elem in _TYPE_LABELS


def format_location(prefix: str, loc: tuple[int | str, ...], data: Any) -> str:
    """A JSON path (``messages[2].parts[0].content``) for a pydantic error location.

    Pydantic puts union member labels and tagged-union discriminators into ``loc``
    (``('parts', 0, 'tool-call', 'id')``, ``('content', 'str')``); walking the input
    alongside lets us recognise and drop them, so the path names only JSON keys.
    """
    path = prefix
    current = data
    for elem in loc:
        if isinstance(elem, int):
            path += f"[{elem}]"
            current = current[elem] if isinstance(current, list) and elem < len(current) else None
            continue
        if _is_union_label(elem, current) and path:
            continue
        path = f"{path}.{elem}" if path else elem
        current = current.get(elem) if isinstance(current, Mapping) else None
    return path


def validation_problems(exc: ValidationError, prefix: str, data: Any) -> list[tuple[str, str]]:
    """``(path, problem)`` pairs for a pydantic error, input values never echoed.

    Alternatives of one union fail at the same path; their problems are joined.
    """
    merged: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        where = format_location(prefix, tuple(err["loc"]), data)
        problems = merged.setdefault(where, [])
        if err["msg"] not in problems:
            problems.append(err["msg"])
    return [(where, "; or ".join(problems)) for where, problems in merged.items()]


def validation_error(
    exc: ValidationError, what: str, where: str, data: Any
) -> MessageValidationError:
    """The error to raise for ``exc``, raised while parsing ``data`` as a ``what``."""
    problems = validation_problems(exc, where, data)
    text = "; ".join(f"{loc}: {problem}" for loc, problem in problems)
    return MessageValidationError(f"invalid {what}: {text}", problems)
