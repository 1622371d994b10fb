"""Real agents that serve chatconduit's server helpers.

``OpenAICompatibleAgent`` answers from any OpenAI-compatible ``/chat/completions``
endpoint (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM). The toy agents of the zero-setup
demo live in :mod:`chatconduit.demo`.
"""

from __future__ import annotations

from ._openai import OpenAICompatibleAgent, to_openai_messages

__all__ = ["OpenAICompatibleAgent", "to_openai_messages"]
