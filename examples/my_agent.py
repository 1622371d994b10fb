"""Your own agent, served by the CLI: ``chatconduit serve --agent my_agent:agent``
(run from this directory, or with it on ``PYTHONPATH``).

An agent is an async generator function ``agent(params, request)`` yielding AG-UI
events; ``EventBuilder`` makes the events and a new id for every reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from chatconduit import UIMessage
from chatconduit.server import EventBuilder, RunAgentInput


def last_user_text(params: RunAgentInput) -> str:
    for message in reversed(params.messages):
        if isinstance(message, UIMessage) and message.role == "user":
            return message.text
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


async def agent(params: RunAgentInput, request: Any) -> AsyncIterator[dict[str, Any]]:
    ev = EventBuilder(params)
    yield ev.start()
    words = last_user_text(params).split()
    for event in ev.text(
        f"You said {len(words)} word{'s' if len(words) != 1 else ''}: ",
        " ".join(reversed(words)) + " (backwards).",
    ):
        yield event
    yield ev.finish()
