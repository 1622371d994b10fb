"""The zero-setup demo backend: a deterministic toy agent (``DemoAgent``, with a safe
calculator tool) and the Starlette app that serves it (``uvicorn --factory
chatconduit.demo:create_app``), so the whole stack runs without a model or a network;
it needs the ``server`` extra, and the real agents live in :mod:`chatconduit.agents`.
"""

from __future__ import annotations

from .._exceptions import CalculatorError
from ..agents import OpenAICompatibleAgent  # re-exported for compatibility
from ._agent import DEMO_MODEL, SERVER_TOOLS, DemoAgent
from ._app import create_app
from ._calculator import evaluate

__all__ = [
    "DEMO_MODEL",
    "SERVER_TOOLS",
    "CalculatorError",
    "DemoAgent",
    "OpenAICompatibleAgent",
    "create_app",
    "evaluate",
]
