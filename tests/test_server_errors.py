"""What a client is told when an agent fails, and what the server log keeps.

reference §6.1 and checklist 144, 147.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from chatconduit import HTTPStatusError, RunError
from chatconduit.server import (
    RunErrorPayload,
    UserFacingError,
    run_error_event,
    run_error_payload,
    to_http_response,
    to_server_sent_events_response,
)
from servers import Install, serve_handlers

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[Install]:
    """``server(handler)``: the module's server, now answering ``/`` with ``handler``."""
    with serve_handlers() as install:
        yield install


def sse_events(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(f.removeprefix(b"data: ")) for f in body.split(b"\n\n") if f]


async def fail_after(events: list[Any], error: BaseException) -> AsyncIterator[Any]:
    for event in events:
        yield event
    raise error


START = {"type": "RUN_STARTED", "threadId": "t-1", "runId": "r-1"}


# --- the mapping (pure) ------------------------------------------------------------------


class AbortError(Exception):
    pass


class APIUserAbortError(Exception):
    pass


class CodedError(Exception):
    def __init__(self, message: str, code: Any) -> None:
        super().__init__(message)
        self.code = code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AbortError("x"), {"message": "Request aborted", "code": "aborted"}),
        (APIUserAbortError(), {"message": "Request aborted", "code": "aborted"}),
        (
            UserFacingError("Try again later", "busy"),
            {"message": "Try again later", "code": "busy"},
        ),
        (UserFacingError("No code"), {"message": "No code"}),
        (UserFacingError(""), {"message": "Unknown error occurred"}),
        (
            RunError("upstream said no", code="denied"),
            {"message": "upstream said no", "code": "denied"},
        ),
        (
            HTTPStatusError(429, "Too Many Requests", body=SECRET),
            {"message": "Upstream service error", "code": "429"},
        ),
        (
            RuntimeError(f"db password={SECRET}"),
            {"message": "Internal server error", "code": "internal_error"},
        ),
        (CodedError(SECRET, 429), {"message": "Internal server error", "code": "429"}),
        (
            CodedError("x", "rate_limit_exceeded"),
            {"message": "Internal server error", "code": "rate_limit_exceeded"},
        ),
        (
            CodedError("x", "has spaces and data"),
            {"message": "Internal server error", "code": "internal_error"},
        ),
        (CodedError("x", True), {"message": "Internal server error", "code": "internal_error"}),
    ],
)
def test_run_error_payload(error: BaseException, expected: RunErrorPayload) -> None:
    assert run_error_payload(error) == expected


def test_run_error_event_has_both_shapes_in_reference_order() -> None:
    event = run_error_event({"message": "m", "code": "c"}, run_id="r", thread_id="t", timestamp=5)
    assert json.dumps(event, separators=(",", ":")) == (
        '{"type":"RUN_ERROR","threadId":"t","runId":"r","timestamp":5,'
        '"message":"m","code":"c","error":{"message":"m","code":"c"}}'
    )
    bare = run_error_event({"message": "m"}, timestamp=5)
    assert bare == {"type": "RUN_ERROR", "timestamp": 5, "message": "m", "error": {"message": "m"}}


# --- over a real server --------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
def test_an_internal_error_reaches_the_client_as_a_generic_run_error(
    framing: str, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    error = RuntimeError(f"connect to postgres://admin:{SECRET}@db failed, token {SECRET}")
    make = to_server_sent_events_response if framing == "sse" else to_http_response
    srv = server(lambda r: make(fail_after([START], error), heartbeat=0))
    with caplog.at_level(logging.ERROR, logger="chatconduit.server"):
        response = httpx.post(srv.url)
    assert response.status_code == 200
    assert SECRET.encode() not in response.content
    assert b"Traceback" not in response.content and b"postgres" not in response.content
    lines = response.content.split(b"\n\n" if framing == "sse" else b"\n")
    last = json.loads([x for x in lines if x][-1].removeprefix(b"data: "))
    assert last["type"] == "RUN_ERROR"
    assert last["message"] == last["error"]["message"] == "Internal server error"
    assert last["code"] == "internal_error" and last["runId"] == "r-1"
    # The operator gets the traceback, with the credentials masked.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged and "Traceback" in logged
    assert "[redacted]" in logged and SECRET not in logged


def test_a_user_facing_error_is_shown(server: Any) -> None:
    srv = server(
        lambda r: to_server_sent_events_response(
            fail_after([], UserFacingError("The weather service is down.", "weather_down")),
            heartbeat=0,
        )
    )
    (event,) = sse_events(httpx.post(srv.url).content)
    assert event["message"] == "The weather service is down."
    assert event["error"] == {"message": "The weather service is down.", "code": "weather_down"}
    assert "runId" not in event  # no RUN_STARTED was seen and none was given


def test_a_custom_error_mapper_decides(server: Any) -> None:
    def mapper(exc: BaseException) -> RunErrorPayload:
        return {"message": f"mapped {type(exc).__name__}", "code": "custom"}

    srv = server(
        lambda r: to_server_sent_events_response(
            fail_after([], KeyError("k")), heartbeat=0, error_payload=mapper
        )
    )
    (event,) = sse_events(httpx.post(srv.url).content)
    assert (event["message"], event["code"]) == ("mapped KeyError", "custom")


@pytest.mark.parametrize(
    ("bad", "logged"),
    [
        (42, "agent event #1 is a int"),
        ({"no": "type"}, "agent event #1 is not a valid AG-UI event"),
        ({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": 5}, "delta"),
        ({"type": "CUSTOM", "name": "x", "value": object()}, "TypeError"),
    ],
)
def test_an_agent_yielding_garbage_ends_with_a_run_error(
    bad: Any, logged: str, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[str] = []

    async def agent() -> AsyncIterator[Any]:
        yield START
        yield bad
        after.append("continued")  # pragma: no cover - must not be reached
        yield START  # pragma: no cover

    srv = server(lambda r: to_server_sent_events_response(agent(), heartbeat=0))
    with caplog.at_level(logging.ERROR, logger="chatconduit.server"):
        events = sse_events(httpx.post(srv.url).content)
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[1]["code"] == "internal_error" and after == []
    assert logged in "\n".join(record.getMessage() for record in caplog.records)


def test_an_error_raised_before_the_first_event(server: Any) -> None:
    srv = server(lambda r: to_http_response(fail_after([], UserFacingError("nope", "early"))))
    lines = httpx.post(srv.url).content.splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["early"]


@pytest.mark.parametrize("broken", [lambda exc: 1 / 0, lambda exc: None, lambda exc: {"code": "x"}])
def test_a_broken_error_mapper_falls_back_to_the_default(
    broken: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    srv = server(
        lambda r: to_server_sent_events_response(
            fail_after([START], RuntimeError("boom")), heartbeat=0, error_payload=broken
        )
    )
    with caplog.at_level(logging.ERROR, logger="chatconduit.server"):
        events = sse_events(httpx.post(srv.url).content)
    assert events[-1]["message"] == "Internal server error"
    assert any("error_payload mapper failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("heartbeat", [0, 5])
def test_a_cancelled_error_leaking_from_the_agent_is_a_failure_not_a_hang(
    heartbeat: float, server: Any
) -> None:
    """A CancelledError the agent raises itself is not the client leaving."""

    async def agent() -> AsyncIterator[Any]:
        yield START
        raise asyncio.CancelledError  # e.g. from an inner task the agent awaited

    srv = server(lambda r: to_server_sent_events_response(agent(), heartbeat=heartbeat))
    events = sse_events(httpx.post(srv.url, timeout=10).content)
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[1]["code"] == "internal_error"
