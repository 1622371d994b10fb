"""A chat client in a script: ask, print the reply as text, then stream one.

Run it against any chat endpoint (default: ``chatconduit serve``'s)::

    python examples/client.py [URL]
"""

from __future__ import annotations

import asyncio
import sys

from chatconduit import ChatClient, fetch_server_sent_events

DEFAULT_URL = "http://127.0.0.1:8000/api/chat/sse"


async def main(url: str = DEFAULT_URL) -> None:
    async with ChatClient(fetch_server_sent_events(url)) as client:
        reply = await client.ask("What is 12*7?")  # the whole turn: tool calls and text
        if reply.error is not None:
            sys.exit(f"the request failed: {reply.error}")
        print(reply.text)
        for call in reply.tool_calls:
            print(f"  (tool {call.name} {call.arguments} -> {call.output})")
        async for delta in client.stream_text("Tell me more"):  # text as it arrives
            print(delta, end="", flush=True)
        print()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
