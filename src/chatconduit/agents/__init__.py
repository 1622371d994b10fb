"""Real agents: async generators of AG-UI events, backed by a model, ready to be served
by :mod:`chatconduit.server` (``OpenAICompatibleAgent`` talks to any OpenAI-compatible
``/chat/completions`` endpoint); they need no web framework, and the toy agents of the
zero-setup demo live in :mod:`chatconduit.demo` instead.
"""

from __future__ import annotations

from ._openai import OpenAICompatibleAgent, to_openai_messages

__all__ = ["OpenAICompatibleAgent", "to_openai_messages"]
