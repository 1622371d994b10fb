"""The two shapes a connection adapter can take, and the per-request run context.

These mirror the reference's ``ConnectConnectionAdapter`` and
``SubscribeConnectionAdapter``: an adapter has *either* ``connect`` (pull: one
call per request, the result is that request's events) *or* ``subscribe`` plus
``send`` (push: one long-lived event stream, requests only dispatch). The
ChatClient only ever talks to the push shape; ``normalize_connection_adapter``
turns a pull adapter into one.

They are ``typing.Protocol``s, so any object with the right methods is an
adapter, no base class needed. Adapters may yield event models or plain dicts
(what ``json.loads`` gives); ``normalize_connection_adapter`` turns the latter
into events.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from .._events import Event
from ._abort import AbortSignal

__all__ = [
    "ConnectConnectionAdapter",
    "ConnectionAdapter",
    "NormalizedConnectionAdapter",
    "RunContext",
    "SubscribeConnectionAdapter",
]

Chunk: TypeAlias = Event | Mapping[str, Any]
"""What an adapter may yield: a typed event, or its JSON object form."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """Identifies one request: the reference's ``RunAgentInputContext``.

    ``client_tools`` are the tools the client advertises (``{name, description,
    parameters}`` each); ``forwarded_props`` lands in the body's
    ``forwardedProps`` (see ``_wire`` for the merge precedence).
    """

    thread_id: str
    run_id: str
    parent_run_id: str | None = None
    client_tools: Sequence[Any] | None = None
    forwarded_props: Mapping[str, Any] | None = field(default=None)


@runtime_checkable
class ConnectConnectionAdapter(Protocol):
    """Pull shape: ``connect`` returns the events of one request."""

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterable[Chunk]: ...


@runtime_checkable
class SubscribeConnectionAdapter(Protocol):
    """Push shape: one long-lived ``subscribe`` stream; ``send`` dispatches a request."""

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterable[Chunk]: ...

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None: ...


ConnectionAdapter: TypeAlias = ConnectConnectionAdapter | SubscribeConnectionAdapter


class NormalizedConnectionAdapter(SubscribeConnectionAdapter, Protocol):
    """What ``normalize_connection_adapter`` returns: the push shape, yielding typed events.

    ``send`` is the push shape's own; only ``subscribe`` is narrower (typed events,
    never dicts), so the two cannot drift apart.
    """

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Event]: ...
