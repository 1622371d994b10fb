"""pydantic-ai 2.78's ``VercelAIAdapter`` over the scripted agent of ``pydantic_ai_app``.

``POST /`` is ``VercelAIAdapter.dispatch_request`` (``sdk_version=6``: tool approvals are
streamed as ``tool-approval-request`` chunks); the agent's ``FunctionModel`` is the one
the AG-UI app uses (text, ``think`` -> thinking, ``get_weather`` server tool,
``delete_file`` needing approval). It validates the AI SDK request body strictly: an
AG-UI body gets pydantic's 422.
"""

from __future__ import annotations

from pydantic_ai.ui.vercel_ai import VercelAIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .pydantic_ai_app import agent


async def run_agent(request: Request) -> Response:
    return await VercelAIAdapter.dispatch_request(request, agent=agent, sdk_version=6)


app = Starlette(routes=[Route("/", run_agent, methods=["POST"])])
