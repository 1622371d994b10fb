"""``stream()`` over an async generator: an agent in the same process, no network.

The generator gets the raw messages and ``data``. Declare an ``abort_signal``
parameter (or a third positional one) to receive the signal; either way an
abort closes the generator with ``aclose()``, so its ``finally`` runs at once
(close model connections there).

Run it: ``python examples/adapters/stream_generator.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from chatconduit import AbortSignal, RunContext, normalize_connection_adapter, stream
from chatconduit.events import is_terminal
from chatconduit.server import EventBuilder

cleanups: list[str] = []  # what the agent's ``finally`` recorded (the test reads it)


async def local_agent(
    messages: Sequence[Any],
    data: Mapping[str, Any] | None,
    abort_signal: AbortSignal | None = None,
) -> AsyncIterator[dict[str, Any]]:
    words = (data or {}).get("words", ["Hello", "from", "an", "in-process", "agent."])
    ev = EventBuilder()  # a new message id per reply (a fixed one would name the last reply)
    try:
        yield ev.start_text()
        for word in words:
            if abort_signal is not None and abort_signal.aborted:
                return  # cooperative check; aclose() would stop us anyway
            await asyncio.sleep(0.01)  # a model thinking
            yield ev.text_delta(word + " ")
        yield ev.end_text()
    finally:
        cleanups.append("closed")


adapter = stream(local_agent)


async def main() -> None:
    push = normalize_connection_adapter(adapter)
    events = aiter(push.subscribe())
    await push.send([], {"words": ["Hi", "there."]}, None, RunContext(thread_id="t", run_id="r"))
    while True:
        event = await anext(events)
        print(event.type, getattr(event, "delta", "") or "")
        if is_terminal(event):  # RUN_FINISHED: synthesized by the normalizer
            break


if __name__ == "__main__":
    asyncio.run(main())
