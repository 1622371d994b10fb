"""Reading chat requests: typed params, 400/401/405/413 before the agent runs (reference §6.2)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatconduit import RequestValidationError, UIMessage
from chatconduit.server import (
    PayloadTooLargeError,
    RunAgentInput,
    chat_endpoint,
    read_chat_request,
    request_error_response,
)
from servers import RunningServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10"
LIMIT = 2048
JSON = {"Content-Type": "application/json"}  # what the TanStack adapters send


class Recorder:
    """An agent that records its calls (from the server thread) and answers briefly."""

    def __init__(self) -> None:
        self.calls: list[tuple[RunAgentInput, dict[str, str]]] = []

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        self.calls.append((params, dict(request.headers)))
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_FINISHED", "threadId": params.thread_id, "runId": params.run_id}


@pytest.fixture(scope="module")
def app_server() -> Iterator[tuple[RunningServer, Recorder]]:
    recorder = Recorder()

    def authorize(request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer let-me-in"

    async def manual(request: Request) -> Response:
        """The two-line route a developer writes without chat_endpoint."""
        try:
            params = await read_chat_request(request, max_body_bytes=LIMIT)
        except RequestValidationError as exc:
            return request_error_response(exc)
        return JSONResponse({"runId": params.run_id, "legacy": params.legacy})

    async def async_authorize(request: Request) -> bool:
        return authorize(request)

    app = Starlette(
        routes=[
            Route("/chat", chat_endpoint(recorder, max_body_bytes=LIMIT), methods=["POST", "GET"]),
            Route("/ndjson", chat_endpoint(recorder, framing="ndjson"), methods=["POST"]),
            Route("/auth", chat_endpoint(recorder, authorize=authorize), methods=["POST"]),
            Route(
                "/auth-async", chat_endpoint(recorder, authorize=async_authorize), methods=["POST"]
            ),
            Route("/manual", manual, methods=["POST"]),
        ]
    )
    with serve(app) as srv:
        yield srv, recorder


@pytest.fixture
def srv(app_server: tuple[RunningServer, Recorder]) -> RunningServer:
    return app_server[0]


@pytest.fixture
def recorder(app_server: tuple[RunningServer, Recorder]) -> Recorder:
    app_server[1].calls.clear()
    return app_server[1]


def client_body(name: str) -> bytes:
    return (FIXTURES / "requests" / f"{name}.body.json").read_bytes()


def test_the_clients_own_body_becomes_typed_params(srv: RunningServer, recorder: Recorder) -> None:
    body = client_body("sse-tools-and-body-merge")
    response = httpx.post(f"{srv.url}/ndjson", content=body, headers={"X-Trace": "abc", **JSON})
    assert response.status_code == 200
    assert [json.loads(x)["type"] for x in response.content.splitlines()] == [
        "RUN_STARTED",
        "RUN_FINISHED",
    ]
    (params, headers) = recorder.calls[0]
    assert params.thread_id == "thread-fixed" and params.run_id.startswith("run-")
    assert isinstance(params.messages[0], UIMessage)
    assert params.model_messages[0].role == "user"
    assert params.model_messages[0].content == "What time is it?"
    assert [tool.name for tool in params.tools] == ["get_time"]
    assert params.forwarded_props == {"a": 1, "shared": "sendMessage-body", "b": 2, "c": 3, "d": 4}
    assert headers["x-trace"] == "abc"


def test_a_multi_turn_body_with_tool_results(srv: RunningServer, recorder: Recorder) -> None:
    body = client_body("ndjson-second-turn-after-tools")
    assert httpx.post(f"{srv.url}/chat", content=body, headers=JSON).status_code == 200
    roles = [m.role for m in recorder.calls[0][0].model_messages]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]


def test_the_legacy_shape_is_accepted(srv: RunningServer, recorder: Recorder) -> None:
    legacy = {"messages": [{"role": "user", "content": "hi", "id": "u1"}], "data": {"x": 1}}
    response = httpx.post(f"{srv.url}/manual", json=legacy)
    assert response.status_code == 200 and response.json()["legacy"] is True


@pytest.mark.parametrize(
    ("body", "path", "problem"),
    [
        (b"{not json", "(body)", "not valid JSON"),
        (b"", "(body)", "empty"),
        (b"[1, 2]", "(body)", "must be a JSON object"),
        (b'{"runId": "r", "messages": [], "tools": [], "context": []}', "threadId", "is required"),
        (
            b'{"threadId": "t", "runId": "r", "messages": [{"id": "1", "role": "robot"}],'
            b' "tools": [], "context": []}',
            "messages[0].role",
            "robot",
        ),
        (b"\xff\xfe{}", "(body)", "UTF-8"),
    ],
)
def test_a_bad_body_gets_a_400_naming_the_field(
    srv: RunningServer, recorder: Recorder, body: bytes, path: str, problem: str
) -> None:
    response = httpx.post(f"{srv.url}/chat", content=body, headers=JSON)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert any(e["path"] == path and problem in e["problem"] for e in error["errors"]), error
    assert recorder.calls == []  # the agent never started


def test_a_secret_in_a_bad_body_is_not_echoed(srv: RunningServer, recorder: Recorder) -> None:
    body = {"threadId": 5, "runId": "sk-live-0123456789", "messages": "sk-live-0123456789"}
    response = httpx.post(f"{srv.url}/chat", json=body)
    assert response.status_code == 400
    assert "sk-live" not in response.text


def test_a_declared_oversized_body_gets_413_unread(srv: RunningServer, recorder: Recorder) -> None:
    response = httpx.post(f"{srv.url}/chat", content=b"x" * (LIMIT + 1), headers=JSON)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]
    assert recorder.calls == []


def test_a_chunked_oversized_body_is_cut_off_while_reading(
    srv: RunningServer, recorder: Recorder
) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 64 KiB offered in 1 KiB chunks, no Content-Length
            sent.append(1)
            yield b" " * 1024

    try:
        response = httpx.post(f"{srv.url}/chat", content=chunks(), headers=JSON, timeout=10)
    except httpx.TransportError:  # the server may close before the upload ends
        pytest.fail("the server should answer 413, not drop the connection")
    assert response.status_code == 413
    assert recorder.calls == []


def test_an_exact_limit_body_is_read(srv: RunningServer, recorder: Recorder) -> None:
    base = json.loads((FIXTURES / "curl-request-body.json").read_bytes())
    raw = json.dumps(base).encode()
    padded = raw[:-1] + b" " * (LIMIT - len(raw)) + b"}"
    assert len(padded) == LIMIT
    assert httpx.post(f"{srv.url}/chat", content=padded, headers=JSON).status_code == 200
    assert len(recorder.calls) == 1


@pytest.mark.parametrize("route", ["auth", "auth-async"])
def test_authorize_refuses_before_reading(
    srv: RunningServer, recorder: Recorder, route: str
) -> None:
    body = (FIXTURES / "curl-request-body.json").read_bytes()
    refused = httpx.post(
        f"{srv.url}/{route}", content=body, headers={**JSON, "Authorization": "Bearer no"}
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == {
        "message": "Missing or invalid bearer token",  # not just the status line again
        "code": "unauthorized",
    }
    assert refused.headers["www-authenticate"] == "Bearer"
    assert recorder.calls == []
    allowed = httpx.post(
        f"{srv.url}/{route}", content=body, headers={**JSON, "Authorization": "Bearer let-me-in"}
    )
    assert allowed.status_code == 200 and len(recorder.calls) == 1


def test_get_without_a_durable_log_is_refused(srv: RunningServer, recorder: Recorder) -> None:
    assert httpx.get(f"{srv.url}/chat").status_code == 405
    resume = httpx.post(
        f"{srv.url}/chat",
        content=(FIXTURES / "curl-request-body.json").read_bytes(),
        headers={"Last-Event-ID": "3"},
    )
    assert resume.status_code == 409 and resume.json()["error"]["code"] == "no_replay"
    assert recorder.calls == []


def test_payload_too_large_is_a_request_validation_error() -> None:
    error = PayloadTooLargeError(10, 11)
    assert isinstance(error, RequestValidationError)
    assert error.errors == [("body", "larger than 10 bytes")]
    assert request_error_response(error).status_code == 413


def test_an_agent_failing_at_call_time_becomes_a_run_error() -> None:
    def broken(params: RunAgentInput, request: Request) -> Any:
        raise RuntimeError("bad wiring")

    def not_iterable(params: RunAgentInput, request: Request) -> Any:
        return 42

    app = Starlette(
        routes=[
            Route("/broken", chat_endpoint(broken), methods=["POST"]),
            Route("/int", chat_endpoint(not_iterable, framing="ndjson"), methods=["POST"]),
        ]
    )
    body = (FIXTURES / "curl-request-body.json").read_bytes()
    with serve(app) as srv:
        for route in ("broken", "int"):
            response = httpx.post(f"{srv.url}/{route}", content=body, headers=JSON)
            last = response.content.strip().split(b"\n")[-1].removeprefix(b"data: ")
            event = json.loads(last)
            assert event["type"] == "RUN_ERROR" and event["code"] == "internal_error"
            # The run named in the request is the one reported as failed.
            assert (event["runId"], event["threadId"]) == ("run-fixture", "thread-fixture")


# --- the media type: a cross-site "simple" request cannot start an agent ---------------------


def test_the_tanstack_clients_declare_json() -> None:
    """What the 0.10 fetch adapters send (captured), hence what the server may require."""
    logs = sorted((FIXTURES / "requests").glob("*.log.json"))
    assert logs
    for log in logs:
        assert json.loads(log.read_text())["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize(
    "content_type",
    [
        None,  # fetch(url, {body: new Blob([json])}) sends none, without a preflight
        "text/plain",
        "text/plain;charset=UTF-8",  # fetch(url, {body: jsonString})
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/+json",
        "text/json",
    ],
)
@pytest.mark.parametrize("route", ["chat", "manual"])
def test_a_body_not_declared_as_json_gets_415_and_never_runs_the_agent(
    srv: RunningServer, recorder: Recorder, content_type: str | None, route: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = client_body("sse-first-turn")
    response = httpx.post(f"{srv.url}/{route}", content=body, headers=headers)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"]
    assert error["errors"][0]["path"] == "headers.content-type"
    assert recorder.calls == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.api+json",
        "application/ld+json ; profile=x",
    ],
)
def test_json_media_types_with_parameters_are_accepted(
    srv: RunningServer, recorder: Recorder, content_type: str
) -> None:
    body = client_body("sse-first-turn")
    response = httpx.post(f"{srv.url}/chat", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200 and len(recorder.calls) == 1


def test_a_refusal_lists_a_bounded_number_of_problems(
    srv: RunningServer, recorder: Recorder
) -> None:
    body = {"threadId": "t", "runId": "r", "messages": [1] * 400, "tools": [], "context": []}
    response = httpx.post(f"{srv.url}/manual", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert len(error["errors"]) == 50  # not 400: the answer must not outgrow the request
    assert "(and 390 more)" in error["message"]


def test_the_agent_can_still_read_the_body() -> None:
    """The endpoint consumed the body; ``await request.body()`` in the agent gets it
    (instead of waiting for a message that will never come)."""
    seen: list[bytes] = []

    async def agent(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        seen.append(await request.body())
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}

    body = client_body("sse-first-turn")
    app = Starlette(routes=[Route("/", chat_endpoint(agent), methods=["POST"])])
    with serve(app) as srv:
        response = httpx.post(srv.url, content=body, headers=JSON, timeout=10)
    assert response.status_code == 200 and seen == [body]


@pytest.mark.parametrize(
    ("option", "value"),
    [("body_timeout", 0), ("body_timeout", -1.0), ("max_pending_bodies", 0)],
)
def test_bad_limits_are_refused_at_setup(option: str, value: float) -> None:
    async def agent(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}

    with pytest.raises(ValueError, match=option if option == "body_timeout" else "at least 1"):
        chat_endpoint(agent, **{option: value})


def test_an_authorize_that_reads_the_body_does_not_stall_the_request() -> None:
    """A signature check in ``authorize`` may read the body first; the endpoint then
    uses what was read instead of waiting for a body that already arrived."""
    seen: list[str] = []

    async def signed(request: Request) -> bool:
        return b"thread-fixture" in await request.body()

    async def agent(params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        seen.append(params.run_id)
        yield {"type": "RUN_STARTED", "threadId": params.thread_id, "runId": params.run_id}

    endpoint = chat_endpoint(agent, authorize=signed, body_timeout=5)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    body = (FIXTURES / "curl-request-body.json").read_bytes()
    with serve(app) as srv:
        response = httpx.post(srv.url, content=body, headers=JSON, timeout=10)
    assert response.status_code == 200 and seen == ["run-fixture"]
