"""Who is calling a chat route: ``authorize(request)`` and ``run_scope(request)``, each
sync or async, asked the same way by the HTTP, Vercel and WebSocket routes and the
durable GET/DELETE routes (a ``WebSocket`` is passed as the ``Request`` it reads like).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import HTTPConnection

__all__ = ["is_authorized", "scope_of"]

C = TypeVar("C", bound=HTTPConnection)


async def is_authorized(authorize: Callable[[C], object], request: C) -> bool:
    """Whether ``authorize(request)`` (its value awaited when it is awaitable) is truthy."""
    allowed = authorize(request)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    return bool(allowed)


async def scope_of(run_scope: Callable[[C], str | Awaitable[str]] | None, request: C) -> str | None:
    """The namespace ``run_scope(request)`` names for this caller's durable runs
    (``None`` without a ``run_scope``: one namespace for everyone)."""
    if run_scope is None:
        return None
    named = run_scope(request)
    return await named if inspect.isawaitable(named) else named
