"""FastAPI, natively: a request model FastAPI validates on the camelCase wire, a bounded
request dependency the client cannot steer, and a router whose agents take FastAPI
dependencies.

``RunAgentInput`` is a dataclass with snake_case fields: as a FastAPI body type it
answers every real client 422, and a route taking ``request: Request`` documents no
body at all. :class:`ChatRequestBody` is the body as it is on the wire (``threadId``,
``runId``, ``forwardedProps``...) and documents itself in OpenAPI; its
:meth:`~ChatRequestBody.to_run_agent_input` applies chatconduit's own checks (message
shapes, JSON paths). ``Depends(read_chat_request)`` would make ``max_body_bytes`` a
query parameter the client sets; :func:`chat_input` fixes the limits when the app is
built. :func:`chat_router` does the whole route: the agent's own parameters after the
first are FastAPI parameters and dependencies, resolved per request and passed in.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .._exceptions import RequestValidationError
from .._run_input import RunAgentInput, parse_run_agent_input
from ._endpoint import chat_endpoint
from ._http import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_PENDING_BODIES
from ._requests import PendingBodies, read_chat_request, request_error_response
from ._streams import EventSource, Framing

__all__ = ["ChatRequestBody", "FastAPIAgent", "chat_input", "chat_router"]

FastAPIAgent: TypeAlias = Callable[..., EventSource | Awaitable[EventSource]]
"""``agent(params, **dependencies)``: the first parameter gets the :class:`RunAgentInput`;
every other parameter is declared as in a FastAPI path operation (``Depends(...)``,
``Header()``, ``Request``...), and FastAPI resolves it."""

# Where chat_router hands the dependency values to the agent: the request's scope,
# which every Request object of one request shares.
_VALUES_KEY = "chatconduit.fastapi.values"


class ChatRequestBody(BaseModel):
    """The chat POST body (AG-UI ``RunAgentInput``) as FastAPI validates and documents it.

    Only the envelope is typed here; :meth:`to_run_agent_input` checks the rest
    (each message's role, content and parts) exactly as ``chat_endpoint`` does.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        json_schema_extra={
            "example": {
                "threadId": "thread-1",
                "runId": "run-1",
                "messages": [{"id": "u1", "role": "user", "content": "Hello"}],
                "tools": [],
                "context": [],
                "state": None,
                "forwardedProps": {},
            }
        },
    )

    thread_id: str = Field(description="The conversation's id, the same on every turn.")
    run_id: str = Field(description="This request's run id (the client makes it).")
    parent_run_id: str | None = Field(None, description="The run this one answers.")
    messages: list[dict[str, Any]] = Field(
        default_factory=list, description="The whole conversation, oldest first."
    )
    tools: list[dict[str, Any]] = Field(
        default_factory=list, description="Tools the client runs: name, description, parameters."
    )
    context: list[dict[str, Any]] = Field(default_factory=list)
    state: Any = None
    forwarded_props: Any = None
    resume: list[dict[str, Any]] | None = Field(
        None, description="Answers to the interrupts the parent run paused on."
    )

    def to_run_agent_input(self) -> RunAgentInput:
        """The validated :class:`RunAgentInput`; a bad message raises
        :class:`~chatconduit.RequestValidationError` naming its JSON path (an app
        answers it with ``request_error_response``; :func:`chat_input` and
        :func:`chat_router` answer 400 themselves)."""
        return parse_run_agent_input(self.model_dump(by_alias=True, exclude_unset=True))


_BODY_SCHEMA: dict[str, Any] = ChatRequestBody.model_json_schema(by_alias=True)
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _BODY_SCHEMA}},
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The run's AG-UI events, streamed",
        "content": {"text/event-stream": {}, "application/x-ndjson": {}},
    },
    400: {"description": "The body is not a valid RunAgentInput (every problem, with its path)"},
    413: {"description": "The body is larger than the route allows"},
    415: {"description": "The body is not declared as JSON"},
}


def chat_input(
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    max_pending_bodies: int | None = DEFAULT_MAX_PENDING_BODIES,
) -> Callable[[Request], Awaitable[RunAgentInput]]:
    """A FastAPI dependency reading a chat POST into a :class:`RunAgentInput`, within
    limits fixed here (its only parameter is the request, so a client cannot change
    them)::

        ChatInput = Annotated[RunAgentInput, Depends(chat_input(max_body_bytes=1 << 20))]

        @app.post("/chat")
        async def chat(params: ChatInput) -> Response: ...

    A refused body raises FastAPI's ``HTTPException``: 400 (with every problem and
    its JSON path), 408, 413, 415 or 503, ``{"detail": {"message", "code", ...}}``.
    """
    pending = PendingBodies(max_pending_bodies) if max_pending_bodies is not None else None

    async def read(request: Request) -> RunAgentInput:
        try:
            return await read_chat_request(
                request,
                max_body_bytes=max_body_bytes,
                body_timeout=body_timeout,
                pending_bodies=pending,
            )
        except RequestValidationError as exc:
            raise _http_error(exc, request) from None

    return read


def _http_error(exc: RequestValidationError, request: Request) -> HTTPException:
    """The refusal ``chat_endpoint`` would send, as FastAPI's ``HTTPException``: same
    status, ``{"detail": {message, code, errors?}}``, same headers (``Connection: close``
    when the body was left unread)."""
    response = request_error_response(exc, request=request)
    body = json.loads(bytes(response.body))
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    return HTTPException(response.status_code, detail=body.get("error"), headers=headers or None)


_KEPT_HEADERS = frozenset({"connection", "retry-after"})


def chat_router(
    agent: FastAPIAgent,
    *,
    path: str = "/api/chat",
    framing: Framing = "sse",
    name: str = "chat",
    tags: list[str] | None = None,
    **options: Any,
) -> APIRouter:
    """An ``APIRouter`` with one POST route at ``path`` streaming ``agent``'s events.

    ``agent(params, ...)``: its first parameter receives the :class:`RunAgentInput`;
    each further parameter is declared as in any FastAPI path operation and resolved
    by FastAPI per request (dependencies with their own dependencies, headers,
    ``Request``)::

        async def agent(params: RunAgentInput, user: User = Depends(current_user)):
            ...

        app.include_router(chat_router(agent, path="/api/chat"))

    The body is read by chatconduit (bounded, checked, documented in OpenAPI as
    :class:`ChatRequestBody`); ``options`` are :func:`chat_endpoint`'s
    (``max_body_bytes``, ``heartbeat``, ``durable``, ``authorize``...). Dependencies
    run before the body is read, so one raising ``HTTPException(401)`` refuses a
    request without reading it.
    """
    # eval_str: the agent's string annotations are resolved in its own module.
    parameters = list(inspect.signature(agent, eval_str=True).parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(
            f"chat_router: {agent!r} must take the RunAgentInput as its first positional "
            "parameter (params), then its FastAPI dependencies"
        )
    dependencies = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters[1:]]
    taken = {p.name for p in dependencies}
    request_name = "request" if "request" not in taken else "_chatconduit_request"

    def call_agent(params: RunAgentInput, request: Request) -> Any:
        values: Mapping[str, Any] = request.scope.get(_VALUES_KEY, {})
        return agent(params, **values)

    inner = chat_endpoint(call_agent, framing=framing, **options)

    async def endpoint(**values: Any) -> Response:
        request: Request = values.pop(request_name)
        request.scope[_VALUES_KEY] = values
        return await inner(request)

    request_parameter = inspect.Parameter(
        request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request
    )
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [request_parameter, *dependencies], return_annotation=Response
    )
    endpoint.__name__ = name
    router = APIRouter()
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        name=name,
        tags=list(tags) if tags else None,
        response_class=Response,
        responses=_RESPONSES,
        openapi_extra=_OPENAPI,
        summary=f"Chat with the agent ({'SSE' if framing == 'sse' else 'NDJSON'})",
    )
    return router
