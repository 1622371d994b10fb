"""Credentials never show up in reprs, error messages, status events or log records."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from chatconduit import (
    ChatConduitError,
    ConnectError,
    ConnectionStatusEvent,
    FetchOptions,
    HTTPStatusError,
    ResumePolicy,
    RetryPolicy,
    RunContext,
    fetch_server_sent_events,
)
from faulty_app import FaultyApp, Plan, RecordedRequest, Resumable, Switchboard, text_run

TOKEN = "sk-live-0123456789abcdef"
COOKIE = "sess-9f8e7d6c5b4a"
API_KEY = "key-aaaabbbbcccc"
PASSWORD = "hunter2-pw"
URL_TOKEN = "tok-in-the-query-42"
HEADER_SECRETS = (TOKEN, COOKIE, API_KEY)
SECRETS = (*HEADER_SECRETS, PASSWORD, URL_TOKEN)
CTX = RunContext(thread_id="t", run_id="r")

OPTIONS = FetchOptions(
    headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY, "X-Trace": "visible"},
    cookies={"session": COOKIE},
    body={"apiKey": API_KEY},
    retry=RetryPolicy(max_attempts=2, initial_delay=0.01),
    resume=ResumePolicy(delay=0.01),
)


@pytest.fixture(scope="module")
def server() -> Iterator[Switchboard]:
    with Switchboard.running() as board:
        yield board


@pytest.fixture
def app(server: Switchboard) -> FaultyApp:
    return server.plug(FaultyApp())


def assert_clean(text: str, secrets: tuple[str, ...] = SECRETS) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret[:6]}… leaked in: {text[:300]}"


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    """Our records, at every level: no secret at all. httpx's INFO+ records: no header secret.

    httpx itself logs each request URL at INFO, query string included, and
    httpcore's DEBUG traces print raw response headers (Set-Cookie too); neither
    is ours to change (see docs/connection-adapters.md).
    """
    ours = [r for r in caplog.records if r.name.startswith("chatconduit")]
    assert ours, "expected our own log records to check"
    for record in ours:
        assert_clean(record.getMessage())
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            assert_clean(record.getMessage(), HEADER_SECRETS)


def test_reprs_hide_credentials() -> None:
    text = repr(OPTIONS)
    assert_clean(text)
    assert "X-Trace" in text and "visible" in text  # ordinary headers stay readable
    assert "[redacted]" in text
    adapter = fetch_server_sent_events(
        f"https://user:{PASSWORD}@api.example.com/chat?api_key={API_KEY}&lang=en", OPTIONS
    )
    text = repr(adapter)
    assert_clean(text)
    assert "api.example.com/chat" in text and "lang=en" in text
    assert_clean(repr(fetch_server_sent_events(lambda: "http://x", lambda: OPTIONS)))


async def test_error_status_body_and_headers_are_scrubbed(
    app: FaultyApp, server: Switchboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: RecordedRequest) -> Plan:
        # A careless server that echoes what it got, credentials included.
        echoed = (
            f"bad request; you sent {request.header('authorization')} {request.header('cookie')}"
        )
        return Plan(
            status=503,
            headers=(("content-type", "text/plain"), ("set-cookie", f"session={COOKIE}")),
            body=[echoed.encode()],
        )

    app.set_plans(echo)
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(
        headers=OPTIONS.headers,
        cookies=OPTIONS.cookies,
        retry=OPTIONS.retry,
        on_status=statuses.append,
    )
    url = server.url + f"/x?token={URL_TOKEN}"
    with pytest.raises(HTTPStatusError) as info:
        async for _ in fetch_server_sent_events(url, options).connect([], None, None, CTX):
            pass
    err = info.value
    assert app.requests[0].header("authorization") == f"Bearer {TOKEN}"  # it was sent
    assert "you sent [redacted] session=[redacted]" in err.body
    assert err.headers["set-cookie"] == "[redacted]"
    for text in (str(err), repr(err), err.body, repr(err.headers), err.url):
        assert_clean(text)
    assert_logs_clean(caplog)
    for status in statuses:
        assert_clean(repr(status))
    assert "retrying" in caplog.text  # the retry was logged, without secrets


async def test_transport_errors_and_resume_logs_are_clean(
    app: FaultyApp, server: Switchboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    events = text_run(3)
    app.set_plans(Resumable(events, drops=[2, 2, 2, 2, 2, 2, 2]))
    url = server.url + f"/y?access_token={URL_TOKEN}"
    with pytest.raises(ChatConduitError) as info:
        async for _ in fetch_server_sent_events(url, OPTIONS).connect([], None, None, CTX):
            pass
    chain = []
    error: BaseException | None = info.value
    while error is not None:
        chain += [str(error), repr(error)]
        error = error.__cause__
    for text in chain:
        assert_clean(text)
    assert_logs_clean(caplog)
    assert "resuming after event id" in caplog.text

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = f"http://user:{PASSWORD}@127.0.0.1:{port}/z?key={API_KEY}"
    with pytest.raises(ConnectError) as refused:
        async for _ in fetch_server_sent_events(dead, OPTIONS).connect([], None, None, CTX):
            pass
    assert_clean(str(refused.value))
    assert_logs_clean(caplog)
