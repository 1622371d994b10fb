"""Issue 16: FastAPI, natively. Real FastAPI apps under real uvicorn, our ChatClient and httpx.

Found before: a body typed ``chatconduit.RunAgentInput`` answered every client 422;
``request: Request`` routes documented no body; ``Depends(read_chat_request)`` made
``max_body_bytes`` a query parameter the client set; a ``UserFacingError`` was logged
with a full traceback; an agent reached the user only through ``request.state``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import StreamingResponse

from chatconduit import ChatClient, RunAgentInput, UIMessage, fetch_server_sent_events
from chatconduit.server import (
    ChatRequestBody,
    EventBuilder,
    UserFacingError,
    chat_input,
    chat_router,
    server_sent_events_stream,
)
from servers import RunningServer, serve


class User:
    def __init__(self, name: str) -> None:
        self.name = name


USERS = {"tok-ada": User("Ada"), "tok-bob": User("Bob")}
seen_reads: list[str] = []


async def current_user(authorization: Annotated[str | None, Header()] = None) -> User:
    token = (authorization or "").removeprefix("Bearer ")
    user = USERS.get(token)
    if user is None:
        raise HTTPException(401, "who are you?")
    return user


def user_text(params: RunAgentInput) -> str:
    last = params.messages[-1]
    return last.text if isinstance(last, UIMessage) else str(last.get("content"))


async def greeter(
    params: RunAgentInput, user: Annotated[User, Depends(current_user)]
) -> AsyncIterator[dict[str, Any]]:
    ev = EventBuilder(params)
    yield ev.start()
    if user_text(params) == "refuse":
        raise UserFacingError("I cannot do that, Ada.", code="REFUSED")
    for event in ev.text(f"Hello {user.name}, you said {user_text(params)!r}."):
        yield event
    yield ev.finish()


# At module level: with postponed annotations FastAPI resolves the alias by name here.
ChatInput = Annotated[RunAgentInput, Depends(chat_input(max_body_bytes=4096))]


def build_app() -> FastAPI:
    app = FastAPI()
    app.include_router(chat_router(greeter, path="/api/chat", max_body_bytes=4096))

    @app.post("/api/dep")
    async def via_dependency(params: ChatInput) -> StreamingResponse:
        ev = EventBuilder(params)

        async def events() -> AsyncIterator[dict[str, Any]]:
            yield ev.start()
            for event in ev.text(f"dep: {user_text(params)}"):
                yield event
            yield ev.finish()

        return StreamingResponse(
            server_sent_events_stream(events()), media_type="text/event-stream"
        )

    @app.post("/api/model")
    async def via_model(body: ChatRequestBody) -> StreamingResponse:
        params = body.to_run_agent_input()
        ev = EventBuilder(params)

        async def events() -> AsyncIterator[dict[str, Any]]:
            yield ev.start()
            for event in ev.text(f"model: {user_text(params)} in {body.thread_id}"):
                yield event
            yield ev.finish()

        return StreamingResponse(
            server_sent_events_stream(events()), media_type="text/event-stream"
        )

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(build_app()) as srv:
        yield srv


def body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "threadId": "t1",
        "runId": "r1",
        "messages": [{"id": "u1", "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "state": None,
        "forwardedProps": {},
        **extra,
    }


async def test_router_agent_receives_its_dependency(server: RunningServer) -> None:
    adapter = fetch_server_sent_events(
        f"{server.url}/api/chat", {"headers": {"Authorization": "Bearer tok-ada"}}
    )
    async with ChatClient(adapter) as client:
        reply = await client.ask("hi there")
        again = await client.ask("twice")
    assert reply.text == "Hello Ada, you said 'hi there'."
    assert again.text == "Hello Ada, you said 'twice'."


async def test_router_dependency_refuses_before_the_agent(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.url}/api/chat", json=body())
    assert response.status_code == 401
    assert response.json() == {"detail": "who are you?"}


async def test_the_client_cannot_raise_or_lower_the_body_limit(server: RunningServer) -> None:
    headers = {"Authorization": "Bearer tok-bob"}
    async with httpx.AsyncClient() as http:
        small = await http.post(
            f"{server.url}/api/chat?max_body_bytes=10", json=body(), headers=headers
        )
        big = body("x" * 5000)
        raised = await http.post(
            f"{server.url}/api/chat?max_body_bytes=99999999", json=big, headers=headers
        )
        dep_small = await http.post(f"{server.url}/api/dep?max_body_bytes=10", json=body())
        dep_raised = await http.post(f"{server.url}/api/dep?max_body_bytes=99999999", json=big)
    assert small.status_code == 200 and "Hello Bob" in small.text
    assert raised.status_code == 413
    assert dep_small.status_code == 200 and "dep: hi" in dep_small.text
    assert dep_raised.status_code == 413
    assert dep_raised.json()["detail"]["code"] == "payload_too_large"


async def test_bad_bodies_are_400_with_paths(server: RunningServer) -> None:
    bad = body()
    bad["messages"][0]["role"] = "wizard"
    headers = {"Authorization": "Bearer tok-bob"}
    async with httpx.AsyncClient() as http:
        routed = await http.post(f"{server.url}/api/chat", json=bad, headers=headers)
        dep = await http.post(f"{server.url}/api/dep", json=bad)
        model = await http.post(f"{server.url}/api/model", json={"runId": "r"})
        text = await http.post(
            f"{server.url}/api/dep", content=b"{}", headers={"content-type": "text/plain"}
        )
    assert routed.status_code == 400 and "messages[0]" in routed.text
    assert dep.status_code == 400 and "messages[0]" in dep.text
    assert model.status_code == 422  # FastAPI's own validation: threadId is missing
    assert any(err["loc"] == ["body", "threadId"] for err in model.json()["detail"])
    assert text.status_code == 415


async def test_request_model_accepts_the_camel_case_wire(server: RunningServer) -> None:
    # Before: a body typed as RunAgentInput (snake_case dataclass) answered every client 422.
    async with ChatClient(fetch_server_sent_events(f"{server.url}/api/model")) as client:
        reply = await client.ask("camels")
    assert reply.text.startswith("model: camels in ")
    async with ChatClient(fetch_server_sent_events(f"{server.url}/api/dep")) as client:
        assert (await client.ask("deps")).text == "dep: deps"


async def test_openapi_documents_the_body_and_no_limit_parameter(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{server.url}/openapi.json")).json()
    for path in ("/api/chat", "/api/model"):
        operation = spec["paths"][path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        assert {"threadId", "runId", "messages", "forwardedProps"} <= set(schema["properties"])
        assert "thread_id" not in schema["properties"]
    for path in ("/api/chat", "/api/dep"):
        names = {p["name"] for p in spec["paths"][path]["post"].get("parameters", [])}
        assert not {"max_body_bytes", "body_timeout", "pending_bodies"} & names, names
    chat_params = {p["name"] for p in spec["paths"]["/api/chat"]["post"]["parameters"]}
    assert chat_params == {"authorization"}  # the agent's own dependency, documented


async def test_user_facing_error_is_logged_without_a_traceback(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chatconduit.server")
    adapter = fetch_server_sent_events(
        f"{server.url}/api/chat", {"headers": {"Authorization": "Bearer tok-ada"}}
    )
    async with ChatClient(adapter) as client:
        reply = await client.ask("refuse")
    assert reply.error is not None and "I cannot do that, Ada." in str(reply.error)
    records = [r for r in caplog.records if r.name == "chatconduit.server"]
    assert any("I cannot do that" in r.getMessage() for r in records), records
    for record in records:
        assert "Traceback" not in record.getMessage()
        assert record.exc_info is None
        assert record.levelno < logging.WARNING


def test_chat_router_wants_params_first() -> None:
    async def no_params() -> AsyncIterator[dict[str, Any]]:
        yield {}

    with pytest.raises(TypeError, match="first positional"):
        chat_router(no_params)


async def test_a_400_quotes_only_short_enum_values_as_the_docs_say(server: RunningServer) -> None:
    # docs/server.md claimed that no body value is ever echoed; a bad role is (cut short).
    secret = "sk-" + "s3cr3t" * 10
    bad = body()
    bad["messages"] = [
        {"id": "u1", "role": "wizard", "content": "x"},
        {"id": "u2", "role": secret, "content": "x"},
        {"id": "u3", "role": "user", "content": {"token": secret}},
    ]
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{server.url}/api/chat", json=bad, headers={"Authorization": "Bearer tok-bob"}
        )
    assert answer.status_code == 400
    assert "'wizard'" in answer.text  # a typo'd role is recognisable...
    assert secret not in answer.text  # ...a long value is cut, a content value never shown
    assert secret[:40] in answer.text
    assert "s3cr3t" * 7 not in answer.text
