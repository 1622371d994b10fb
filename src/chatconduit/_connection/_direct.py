"""``stream(factory)`` and ``rpc_stream(call)``: an in-process async generator as a pull adapter.

For server functions, RPC clients that return a stream, or an agent running in
the same process. The callable gets the raw messages and ``data`` (not the
wire form), as in the reference (reference §3.4). Unlike the reference, cancellation
is real: the abort signal is passed on when the callable declares a parameter
for it (``abort_signal`` or ``signal`` by name, else a third positional
parameter, which is where the reference's later versions put it), and on an
abort the generator is closed with ``aclose()`` so its ``finally`` blocks run
at once. ``run_context`` is passed when the callable names such a parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from .._events import Event, coerce_event
from ._abort import Aborted, AbortScope, AbortSignal
from ._iterables import close_iterator, to_async_iterator
from ._protocols import RunContext

__all__ = ["DirectStreamAdapter", "rpc_stream", "stream"]


class _CallPlan:
    """How to call the user's function: which optional arguments it can take, and how."""

    __slots__ = ("signal_keyword", "signal_positional", "takes_run_context")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.signal_keyword: str | None = None
        self.signal_positional = False
        self.takes_run_context = False
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):  # builtins / C callables without a signature
            return
        names = {p.name: p for p in params}
        keywordable = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for name in ("abort_signal", "signal"):
            param = names.get(name)
            if param is not None and param.kind in keywordable:
                self.signal_keyword = name
                break
        else:
            positional = [
                p
                for p in params
                if p.kind
                in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            ]
            has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
            third_free = len(positional) >= 3 and positional[2].name != "run_context"
            self.signal_positional = third_free or (len(positional) < 3 and has_varargs)
        param = names.get("run_context")
        self.takes_run_context = param is not None and param.kind in keywordable

    def call(
        self,
        fn: Callable[..., Any],
        messages: Sequence[Any],
        data: Mapping[str, Any] | None,
        signal: AbortSignal | None,
        run_context: RunContext | None,
    ) -> Any:
        args: list[Any] = [messages, data]
        kwargs: dict[str, Any] = {}
        if self.signal_keyword is not None:
            kwargs[self.signal_keyword] = signal
        elif self.signal_positional:
            args.append(signal)
        if self.takes_run_context:
            kwargs["run_context"] = run_context
        return fn(*args, **kwargs)


async def _abortable(
    start: Callable[[], Any], signal: AbortSignal | None, what: str
) -> AsyncGenerator[Event, None]:
    """The user's stream, stopped (and ``aclose``d) as soon as the signal aborts.

    One generator around the whole iteration; ``start`` (the user's call) runs at
    the first ``anext``. Without a signal the user's iterator is iterated directly.
    With one, each pull still goes through :meth:`AbortScope.run`: the consumer's
    code runs in the same task between two events, and an abort must cancel only
    the await blocked inside the user's stream, never that code.
    """
    scope = AbortScope(signal)
    iterator: AsyncIterator[Any] | None = None
    try:
        iterator = await scope.run(to_async_iterator(start(), what))
        if signal is None:
            async for chunk in iterator:
                yield coerce_event(chunk)
            return
        while True:
            try:
                chunk = await scope.run(anext(iterator))
            except StopAsyncIteration:
                return
            yield coerce_event(chunk)
    except Aborted:
        return
    finally:
        # On an abort, an error, the end, or the consumer's aclose(): the user's
        # generator is closed now, so its ``finally`` blocks run at once.
        scope.close()
        await close_iterator(iterator)


class DirectStreamAdapter:
    """A pull adapter over a callable returning an (async) iterable of events."""

    def __init__(self, fn: Callable[..., Any], kind: str) -> None:
        if not callable(fn):
            raise TypeError(f"{kind}() needs a callable, got {type(fn).__name__}")
        self._fn = fn
        self._kind = kind
        self._plan = _CallPlan(fn)

    def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Event]:
        def start() -> Any:
            return self._plan.call(self._fn, messages, data, abort_signal, run_context)

        return _abortable(start, abort_signal, repr(self))

    def __repr__(self) -> str:
        name = getattr(self._fn, "__qualname__", type(self._fn).__name__)
        return f"{self._kind}({name})"


def stream(factory: Callable[..., Any]) -> DirectStreamAdapter:
    """A pull adapter whose ``connect`` yields what ``factory(messages, data, ...)`` yields."""
    return DirectStreamAdapter(factory, "stream")


def rpc_stream(call: Callable[..., Any]) -> DirectStreamAdapter:
    """Like :func:`stream`, for an RPC call that returns (or resolves to) an event stream."""
    return DirectStreamAdapter(call, "rpc_stream")
