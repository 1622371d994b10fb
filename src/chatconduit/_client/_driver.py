"""``Driver``: how a request reaches the agent, chosen once per connection adapter.

A pull adapter (``connect``) gets a :class:`~._pull.PullDriver`, a push adapter
(``subscribe`` + ``send``) a :class:`~._push.PushDriver`; the rest of the client talks
to either through this protocol and never asks which one it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

from .._connection._normalize import ConnectAdapterWrapper
from .._connection._protocols import NormalizedConnectionAdapter
from .._messages import UIMessage
from ._conversation import Conversation
from ._observable import ObservableState
from ._pull import PullDriver
from ._push import PushDriver
from ._request import Request


class Driver(Protocol):
    @property
    def kind(self) -> str:
        """``"pull"`` or ``"push"`` (for ``repr``)."""

    @property
    def adapter(self) -> object:
        """The adapter in use: the pull adapter (``connect``), or the push one."""

    def run(
        self, request: Request, messages: list[UIMessage], data: dict[str, Any]
    ) -> Awaitable[None]:
        """Send ``request``; awaited, returns once its reply was applied and raises if it
        failed. Returns early, without raising, when the request goes stale meanwhile."""

    def cancelled(self, request: Request) -> None:
        """``request`` is being cancelled (called before the conversation forgets it)."""

    def stopped(self) -> None:
        """``stop()`` ended the running request."""

    def subscribe(self, *, restart: bool = False) -> None:
        """Start receiving server-pushed events (idempotent unless ``restart``)."""

    def abort(self) -> asyncio.Task[None] | None:
        """Stop receiving them; returns what is still winding down, for a closer to await."""


def driver_for(
    adapter: NormalizedConnectionAdapter, conversation: Conversation, observable: ObservableState
) -> Driver:
    """The driver for a normalized adapter (see ``normalize_connection_adapter``)."""
    if isinstance(adapter, ConnectAdapterWrapper):
        # Pull adapters are consumed directly by each request (no shared queue).
        return PullDriver(adapter.adapter, conversation, observable)
    return PushDriver(adapter, conversation, observable)
