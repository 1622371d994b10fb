"""A tiny pydantic-ai 2.78 AG-UI server with a scripted model (no network).

Run it with uvicorn::

    .venv/bin/python -m uvicorn tests.interop_current.pydantic_ai_app:app --port 8123
    # or, from this folder: uvicorn pydantic_ai_app:app

``POST /`` (and ``POST /agui``) is ``AGUIAdapter.dispatch_request`` over an ``Agent`` whose
model is a ``FunctionModel``. ``POST /agui/usage`` is the same with ``include_usage=True``.
The scripted model reads the latest model request, like ``fake_model.mjs``:

- a tool return (server tool result, frontend tool result sent back by the client, or an
  approval decision) -> text ``The <tool> tool returned <content>.``
- user text naming a tool the agent offers (whole word: ``get_weather``, ``delete_file``,
  or a frontend tool the client declared in ``tools``) -> a tool call with the first
  ``{...}`` JSON object of the text as arguments;
- user text containing ``think`` -> a thinking part first, then the echo;
- anything else -> ``You said: "<text>"``.

``get_weather`` runs on the server; ``delete_file`` needs approval
(``requires_approval=True``: a deferred tool call, which the AG-UI adapter turns into a
``RUN_FINISHED`` interrupt outcome; the answer comes back as ``resume``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import (
    AgentInfo,
    DeltaThinkingCalls,
    DeltaThinkingPart,
    DeltaToolCall,
    DeltaToolCalls,
    FunctionModel,
)
from pydantic_ai.ui.ag_ui import AGUIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MODEL_NAME = "fake-pai"


def _words(text: str) -> list[str]:
    """Word-sized pieces, so a reply streams as several deltas."""
    return re.findall(r"\S+\s*|\s+", text)


def _first_json_object(text: str) -> dict[str, Any]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return {}
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(^|[^\w]){re.escape(name)}($|[^\w])", text) is not None


def _user_text(part: UserPromptPart) -> str:
    if isinstance(part.content, str):
        return part.content
    return "".join(item for item in part.content if isinstance(item, str))


async def scripted_model(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls | DeltaThinkingCalls]:
    last = messages[-1]
    parts = last.parts if isinstance(last, ModelRequest) else []
    returns = [p for p in parts if isinstance(p, ToolReturnPart)]
    if returns:
        ret = returns[-1]
        content = ret.content if isinstance(ret.content, str) else json.dumps(ret.content)
        for piece in _words(f"The {ret.tool_name} tool returned {content}."):
            yield piece
        return

    prompts = [p for p in parts if isinstance(p, UserPromptPart)]
    said = _user_text(prompts[-1]) if prompts else ""
    tool = next((t for t in info.function_tools if _mentions(said, t.name)), None)
    if tool is not None:
        args = json.dumps(_first_json_object(said))
        half = (len(args) + 1) // 2
        call_id = f"call_{tool.name}_{len(messages)}"
        yield {0: DeltaToolCall(name=tool.name, json_args=args[:half], tool_call_id=call_id)}
        yield {0: DeltaToolCall(json_args=args[half:])}
        return

    if "think" in said.lower():
        for piece in ("Thinking ", "it over… ", "✔"):
            yield {0: DeltaThinkingPart(content=piece)}
    for piece in _words(f'You said: "{said}"'):
        yield piece


# DeferredToolRequests among the output types: an approval-required call ends the run
# with the pending requests, which the AG-UI adapter reports as an interrupt outcome.
agent: Agent[None, str | DeferredToolRequests] = Agent(
    FunctionModel(stream_function=scripted_model, model_name=MODEL_NAME),
    output_type=[str, DeferredToolRequests],
    name="pydantic-ai-fake",
)


@agent.tool_plain
def get_weather(city: str = "Zürich") -> dict[str, Any]:
    """Get the current weather for a city (server tool)."""
    return {"city": city, "temperature": 21, "condition": "sunny ☀️"}


@agent.tool_plain(requires_approval=True)
def delete_file(path: str = "/tmp/x") -> dict[str, Any]:
    """Delete a file (server tool that needs the user to approve it)."""
    return {"deleted": path}


async def run_agent(request: Request) -> Response:
    return await AGUIAdapter.dispatch_request(request, agent=agent)


async def run_agent_with_usage(request: Request) -> Response:
    return await AGUIAdapter.dispatch_request(request, agent=agent, include_usage=True)


app = Starlette(
    routes=[
        Route("/", run_agent, methods=["POST"]),
        Route("/agui", run_agent, methods=["POST"]),
        Route("/agui/usage", run_agent_with_usage, methods=["POST"]),
    ]
)
