"""A FastAPI app serving an agent: a dependency (who is asking), a server-side tool,
and chatconduit's chat route with its body documented at ``/docs``.

Run it from this directory: ``uvicorn fastapi_app:app`` (needs ``fastapi`` and the
``server`` extra), then ``python client.py http://127.0.0.1:8000/api/chat``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header

from chatconduit import UIMessage
from chatconduit.server import EventBuilder, RunAgentInput, UserFacingError, chat_router


async def current_user(x_user: Annotated[str | None, Header()] = None) -> str:
    """Stands in for your authentication (a session, a token check...)."""
    return x_user or "guest"


def multiply(a: int, b: int) -> int:
    return a * b


def last_user_text(params: RunAgentInput) -> str:
    last = params.messages[-1] if params.messages else None
    if isinstance(last, UIMessage):
        return last.text
    return str(last.get("content") or "") if isinstance(last, dict) else ""


async def agent(
    params: RunAgentInput, user: Annotated[str, Depends(current_user)]
) -> AsyncIterator[dict[str, Any]]:
    ev = EventBuilder(params)
    yield ev.start()
    text = last_user_text(params)
    if not text.strip():
        raise UserFacingError("Please say something.", code="empty")
    product = re.search(r"(\d+)\s*[*x×]\s*(\d+)", text)
    if product is None:
        for event in ev.text(f"Hello {user}! Ask me to multiply, e.g. 12*7."):
            yield event
        yield ev.finish()
        return
    a, b = int(product.group(1)), int(product.group(2))
    for event in ev.text("Let me multiply that."):
        yield event
    for event in ev.tool_call("multiply", {"a": a, "b": b}):
        yield event
    assert ev.tool_call_id is not None
    result = multiply(a, b)
    yield ev.tool_result(ev.tool_call_id, {"result": result})
    for event in ev.text(f"{a} × {b} = {result}, {user}."):
        yield event
    yield ev.finish()


app = FastAPI(title="chatconduit example")
app.include_router(chat_router(agent, path="/api/chat"))
