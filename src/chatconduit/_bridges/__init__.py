"""Bridges: chat with backends that speak other protocols (the Vercel AI SDK UI message
stream, OpenAI-compatible chat completions), and serve our agents to a Vercel ``useChat``.

Each module holds one concern: a protocol's chunks to our events or back, a protocol's
request body, the shared decoder, and the adapters built on ``_connection``'s HTTP code.
"""

from __future__ import annotations

from ._adapters import (
    OpenAIChatCompletionsAdapter,
    VercelUIStreamAdapter,
    openai_chat_completions,
    vercel_ui_stream,
)

__all__ = [
    "OpenAIChatCompletionsAdapter",
    "VercelUIStreamAdapter",
    "openai_chat_completions",
    "vercel_ui_stream",
]
