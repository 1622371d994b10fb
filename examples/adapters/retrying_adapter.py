"""Retrying: the built-in policy, and the reference's wrap-an-adapter pattern.

The HTTP adapters already retry the initial request (connect errors, 408, 429,
5xx; ``Retry-After`` honoured) and resume id-tagged streams; both are tuned
with :class:`RetryPolicy` / :class:`ResumePolicy` and switched off with
``retry=False`` / ``resume=False``.

For adapters without that (your own, or an RPC stream), the reference's
pattern still works: wrap ``connect`` and retry while nothing has been
yielded. Once an event reached the consumer, a retry could duplicate it, so
the wrapper gives up and lets the error through.

Run it: ``python examples/adapters/retrying_adapter.py [URL]`` (with the URL of a
chat endpoint, e.g. ``chatconduit serve``'s, it also chats through ``resilient_sse``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from chatconduit import (
    AbortSignal,
    ChatClient,
    ConnectConnectionAdapter,
    Event,
    FetchOptions,
    ResumePolicy,
    RetryPolicy,
    RunContext,
    fetch_server_sent_events,
    stream,
)
from chatconduit.events import coerce_event


def resilient_sse(url: str, token: str) -> ConnectConnectionAdapter:
    """The built-in way: a policy on the HTTP adapter itself."""
    return fetch_server_sent_events(
        url,
        lambda: FetchOptions(  # a callable: re-read for every retry and resume
            headers={"Authorization": f"Bearer {token}"},
            retry=RetryPolicy(max_attempts=4, initial_delay=0.25, max_retry_after=20),
            resume=ResumePolicy(max_reconnects=5),
            idle_timeout=60,
        ),
    )


class RetryingAdapter:
    """Retries ``inner.connect`` when it fails before its first event."""

    def __init__(self, inner: ConnectConnectionAdapter, attempts: int = 3, delay: float = 0.5):
        self.inner = inner
        self.attempts = attempts
        self.delay = delay

    async def connect(
        self,
        messages: Sequence[Any],
        data: Mapping[str, Any] | None = None,
        abort_signal: AbortSignal | None = None,
        run_context: RunContext | None = None,
    ) -> AsyncIterator[Event]:
        for attempt in range(1, self.attempts + 1):
            delivered = False
            try:
                async for chunk in self.inner.connect(messages, data, abort_signal, run_context):
                    delivered = True
                    yield coerce_event(chunk)
                return
            except Exception:
                if delivered or attempt == self.attempts:
                    raise
            if abort_signal is not None and abort_signal.aborted:
                return
            await asyncio.sleep(self.delay * attempt)


async def main(url: str | None = None) -> None:
    calls = 0

    async def flaky_rpc(messages: Sequence[Any], data: Any) -> AsyncIterator[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError(f"backend unavailable (call {calls})")
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "finally!"}

    adapter = RetryingAdapter(stream(flaky_rpc), attempts=3, delay=0.01)
    async for event in adapter.connect([]):
        print(f"after {calls} calls:", event.type, getattr(event, "delta", ""))

    if url is not None:  # the built-in policies, on a real endpoint
        async with ChatClient(resilient_sse(url, os.environ.get("TOKEN", "demo"))) as client:
            print("the server says:", (await client.ask("what is 2+2?")).text)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
