"""A user-written adapter in the push (``subscribe`` + ``send``) shape.

Use this shape when responses do not arrive on the request that asked for
them: a shared channel, a message bus, a worker. ``subscribe`` is one
long-lived stream of every event of the session; ``send`` only dispatches.
Here the "channel" is in-process: ``send`` starts an agent in the background
and every subscriber receives what it publishes (a broadcast, so two views of
the same chat stay in sync).

Run it: ``python examples/adapters/push_adapter.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from chatconduit import AbortSignal, Event, RunContext, normalize_connection_adapter
from chatconduit.events import coerce_event
from chatconduit.server import EventBuilder

Agent = Callable[[Sequence[Any], RunContext], AsyncIterator[dict[str, Any]]]


class BroadcastAdapter:
    """Every ``send`` runs ``agent``; each subscriber gets every event it yields."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._runs: set[asyncio.Task[None]] = set()

    def subscribe(self, abort_signal: AbortSignal | None = None) -> AsyncIterator[Event]:
        # Register now, not at the first iteration: events published between this
        # call and the first ``anext`` must not be missed.
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        return self._drain(queue, abort_signal)

    async def _drain(
        self, queue: asyncio.Queue[Event], abort_signal: AbortSignal | None
    ) -> AsyncIterator[Event]:
        stop = asyncio.ensure_future(abort_signal.wait()) if abort_signal else None
        try:
            while stop is None or not stop.done():
                get = asyncio.ensure_future(queue.get())
                waiters = {get} if stop is None else {get, stop}
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if not get.done():  # aborted while waiting
                    get.cancel()
                    break
                yield get.result()
        finally:
            self._subscribers.discard(queue)
            if stop is not None:
                stop.cancel()

    async def send(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> None:
        context = run_context or RunContext(thread_id="thread-local", run_id="run-local")
        task = asyncio.create_task(self._run(messages, context))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        if abort_signal is not None:
            abort_signal.add_listener(lambda: task.get_loop().call_soon_threadsafe(task.cancel))

    async def _run(self, messages: Sequence[Any], context: RunContext) -> None:
        async for chunk in self._agent(messages, context):
            event = coerce_event(chunk)
            for queue in list(self._subscribers):
                queue.put_nowait(event)


async def counting_agent(messages: Sequence[Any], ctx: RunContext) -> AsyncIterator[dict[str, Any]]:
    ev = EventBuilder(thread_id=ctx.thread_id, run_id=ctx.run_id)  # ids made per run
    yield ev.start()
    yield ev.start_text()
    for i in range(1, 4):
        await asyncio.sleep(0)
        yield ev.text_delta(f"{i} ")
    yield ev.end_text()
    yield ev.finish()


async def main() -> None:
    adapter = normalize_connection_adapter(BroadcastAdapter(counting_agent))  # used as is
    first, second = aiter(adapter.subscribe()), aiter(adapter.subscribe())
    await adapter.send([], None, None, RunContext(thread_id="t", run_id="r1"))
    for name, events in (("first", first), ("second", second)):
        seen = [str((await anext(events)).type) for _ in range(7)]
        print(name, "saw", " ".join(seen))


if __name__ == "__main__":
    asyncio.run(main())
