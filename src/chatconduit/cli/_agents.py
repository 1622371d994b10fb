"""What ``chatconduit serve`` serves: your agent (``--agent module:attr``), and every
agent ending its replies cleanly when the server stops.

Stopping: uvicorn waits for open responses before it exits, then cancels them with
tracebacks, and the client sees a chunked read broken off. :class:`ServerStopping`
wraps the agent so that, once the server is asked to stop, each running reply ends
with a RUN_ERROR saying so (a :class:`UserFacingError`, which the stream sends as is
and logs as one line), its response completes, and uvicorn exits promptly.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from .._exceptions import AgentOutputError, UserFacingError
from ._errors import UsageError

__all__ = ["STOPPING_CODE", "STOPPING_MESSAGE", "ServerStopping", "load_agent"]

STOPPING_MESSAGE = "the server is stopping; send the message again once it is back"
STOPPING_CODE = "server_stopping"


def load_agent(spec: str) -> Callable[..., Any]:
    """``module:attr`` (``module`` importable from the current directory, ``attr`` a
    dotted name in it) → the agent, ``agent(params, request)``; a class is
    instantiated without arguments. Raises :class:`UsageError` with one line."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--agent wants MODULE:ATTR (e.g. my_agent:agent), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` and uvicorn do
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--agent: cannot import {module_name!r}: {exc}") from None
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UsageError(f"--agent: {module_name!r} has no {attr!r}") from None
    if inspect.isclass(value):
        value = value()
    if not callable(value):
        raise UsageError(
            f"--agent: {spec} is a {type(value).__name__}, not an agent "
            "(an async generator function agent(params, request))"
        )
    return value  # type: ignore[no-any-return]


class ServerStopping:
    """Set once the server is asked to stop; :meth:`wrap` makes an agent obey it."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def stop(self) -> None:
        self.event.set()

    def wrap(self, agent: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
        event = self.event

        async def stoppable(params: Any, request: Any) -> AsyncIterator[Any]:
            result = agent(params, request)
            if inspect.isawaitable(result):
                result = await result
            if not isinstance(result, AsyncIterable):
                raise AgentOutputError(
                    f"agent returned a {type(result).__name__}; expected an async iterable "
                    "of events"
                )
            iterator = aiter(result)
            stopping = asyncio.ensure_future(event.wait())
            try:
                while True:
                    following = asyncio.ensure_future(anext(iterator))
                    await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not following.done():
                        following.cancel()
                        await asyncio.wait({following})
                        raise UserFacingError(STOPPING_MESSAGE, code=STOPPING_CODE)
                    try:
                        item = following.result()
                    except StopAsyncIteration:
                        return
                    yield item
            finally:
                stopping.cancel()
                closer = getattr(iterator, "aclose", None)
                if closer is not None:
                    await closer()

        return stoppable
