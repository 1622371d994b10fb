"""The zero-setup demo backend: a deterministic agent and the ASGI app that serves it.

    uvicorn --factory chatconduit.demo:create_app

Needs the ``server`` extra (Starlette).
"""

from __future__ import annotations

from ..agents import OpenAICompatibleAgent
from ._agent import DEMO_MODEL, SERVER_TOOLS, DemoAgent
from ._app import create_app
from ._calculator import CalculatorError, evaluate

__all__ = [
    "DEMO_MODEL",
    "SERVER_TOOLS",
    "CalculatorError",
    "DemoAgent",
    "OpenAICompatibleAgent",
    "create_app",
    "evaluate",
]
