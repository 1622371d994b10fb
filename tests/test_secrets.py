"""A server that echoes the request must not make us print our own credentials.

What we send - ``?api_key=`` values, ``user:password@`` user info (and the
``Basic`` header httpx makes of it), credential headers - can come back in an
error body, a ``WWW-Authenticate`` header, bytes of the stream quoted in a
protocol error, or a ``RUN_ERROR`` message. None of it may reach an exception
message, a repr, a status event, a ``chatconduit`` log record or the CLI's
output. The servers are ``RawServer``s (raw asyncio sockets) from
``test_hostile_server``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterable

import pytest

from chatconduit import (
    ChatClient,
    ConnectionStatusEvent,
    FetchOptions,
    HTTPStatusError,
    MalformedEventError,
    RetryPolicy,
    RunError,
    fetch_server_sent_events,
)
from chatconduit._redact import Scrubber
from chatconduit.events import RunErrorEvent
from faulty_app import sse_frame, text_run
from test_hostile_server import (
    RawRequest,
    RawServer,
    collect,
    response_head,
    run_cli,
)

QUERY_KEY = "qk-7f3a9c2e11"
USER_NAME, PASSWORD = "alice", "pw-d4e5f6a7b8"
BASIC = base64.b64encode(f"{USER_NAME}:{PASSWORD}".encode()).decode()
TOKEN = "tok-1a2b3c4d5e6f7a8b"
API_KEY = "key-99887766aabb"
SECRETS = (QUERY_KEY, PASSWORD, BASIC, TOKEN, API_KEY)
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY}
FAST_RETRY = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)


def assert_clean(texts: Iterable[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked in: {text[:400]}"


def echo_of(request: RawRequest) -> str:
    """Everything the request carried, as a careless server would quote it."""
    lines = [f"{request.method} {request.target}"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    return "\n".join(lines)


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    ours = [r for r in caplog.records if r.name.startswith("chatconduit")]
    assert ours, "expected our own log records to check"
    assert_clean(r.getMessage() for r in ours)


@pytest.mark.parametrize("credentials", ["userinfo", "headers"])
async def test_an_error_response_echoing_the_request_is_scrubbed(
    credentials: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The query value, the user info and its Basic base64, the headers: all masked in
    the body, in the echoed WWW-Authenticate, in messages, status events and logs."""
    caplog.set_level(logging.DEBUG)

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        echoed = echo_of(request)
        authorization = request.header("authorization") or ""
        writer.write(
            response_head(
                503,
                "Service Unavailable",
                (
                    ("content-type", "text/plain"),
                    ("www-authenticate", f'Bearer error="invalid_token", got="{authorization}"'),
                    ("x-echo-query", request.target),
                ),
            )
        )
        writer.write(f"busy; you sent:\n{echoed}\n".encode())

    statuses: list[ConnectionStatusEvent] = []
    with RawServer(handler) as server:
        host = server.url.removeprefix("http://")
        if credentials == "userinfo":
            url = f"http://{USER_NAME}:{PASSWORD}@{host}/chat?api_key={QUERY_KEY}&lang=en"
            headers: dict[str, str] = {}
        else:
            url = f"http://{host}/chat?api_key={QUERY_KEY}&lang=en"
            headers = HEADERS
        options = FetchOptions(headers=headers, retry=FAST_RETRY, on_status=statuses.append)
        with pytest.raises(HTTPStatusError) as info:
            await collect(fetch_server_sent_events(url, options))
    sent = server.requests[0]
    assert QUERY_KEY in sent.target  # it was sent (and echoed)
    if credentials == "userinfo":
        assert sent.header("authorization") == f"Basic {BASIC}"
    error = info.value
    assert "you sent" in error.body and "lang=en" in error.body
    assert_clean(
        [str(error), repr(error), error.body, repr(error.headers), error.url]
        + [repr(status) for status in statuses]
    )
    assert "[redacted]" in error.headers["www-authenticate"]
    assert_logs_clean(caplog)
    assert "retrying" in caplog.text


@pytest.mark.parametrize("offset", [0, 47], ids=["whole", "cut-by-the-excerpt"])
async def test_protocol_error_excerpts_are_scrubbed(offset: int) -> None:
    """Bytes of the stream quoted in a protocol error are scrubbed, also when the
    excerpt's cut falls inside the secret."""

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head())
        pad = "x" * max(0, offset - len('{"echo":"'))
        echo = json.dumps({"echo": pad + (request.header("authorization") or "")})
        writer.write(f"data: {echo}\n\n".encode())

    with RawServer(handler) as server, pytest.raises(MalformedEventError) as info:
        await collect(fetch_server_sent_events(server.url, FetchOptions(headers=HEADERS)))
    error = info.value
    assert error.excerpt is not None
    assert_clean([str(error), repr(error), error.excerpt])
    assert TOKEN[:4] not in error.excerpt  # not even the start of it, where the cut fell


async def test_a_run_error_repeating_the_request_is_scrubbed() -> None:
    """RUN_ERROR text becomes a RunError, shown and logged: masked at the adapter."""

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        message = f"upstream refused {request.target} with {request.header('authorization')}"
        events = [
            text_run(0)[0],
            {
                "type": "RUN_ERROR",
                "message": message,
                "code": f"bad-key-{request.header('x-api-key')}",
                "error": {"message": message},
            },
        ]
        writer.write(response_head() + b"".join(sse_frame(e) for e in events))

    with RawServer(handler) as server:
        url = f"{server.url}/chat?api_key={QUERY_KEY}"
        got = await collect(fetch_server_sent_events(url, FetchOptions(headers=HEADERS)))
        run_error = got[-1]
        assert isinstance(run_error, RunErrorEvent)
        assert run_error.message is not None and "upstream refused" in run_error.message
        assert run_error.error is not None and run_error.error.message is not None
        assert_clean([run_error.message, str(run_error.code), run_error.error.message])
        assert_clean([json.dumps(run_error.model_dump(mode="json"))])

        client = ChatClient(fetch_server_sent_events(url, FetchOptions(headers=HEADERS)))
        try:
            await client.send_message("hi")
            assert isinstance(client.error, RunError)
            assert_clean([str(client.error), repr(client.error), str(client.error.code)])
        finally:
            await client.aclose()


def test_scrubber_spellings_and_repr() -> None:
    scrubber = Scrubber.for_request(
        f"http://{USER_NAME}:{PASSWORD}@h/x?api_key={QUERY_KEY}&token=a%2Fb%20cd", HEADERS
    )
    assert_clean([repr(scrubber)])
    text = (
        f"{TOKEN} {API_KEY} {QUERY_KEY} {PASSWORD} {BASIC} a/b cd a%2Fb%20cd "
        f'{json.dumps(TOKEN)} "{USER_NAME}:{PASSWORD}"'
    )
    masked = scrubber.text(text)
    assert_clean([masked])
    assert "a/b cd" not in masked and "a%2Fb%20cd" not in masked
    assert Scrubber().text(text) == text  # nothing known, nothing changed
    assert Scrubber(["abc"]).text("abc") == "abc"  # too short to be worth masking


def test_cli_show_request_masks_an_echoed_www_authenticate() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        authorization = request.header("authorization") or ""
        writer.write(
            response_head(
                401,
                "Unauthorized",
                (
                    ("content-type", "application/json"),
                    ("www-authenticate", f'Bearer error="invalid_token", token="{authorization}"'),
                ),
            )
        )
        writer.write(json.dumps({"error": {"message": f"bad {echo_of(request)}"}}).encode())

    with RawServer(handler) as server:
        url = f"{server.url}/chat?api_key={QUERY_KEY}"
        result = run_cli(
            "chat",
            url,
            "-m",
            "hi",
            "--show-request",
            "-H",
            "Authorization: Bearer $TOKEN",
            "-H",
            "X-Api-Key: $KEY",
            env={"TOKEN": TOKEN, "KEY": API_KEY},
        )
    assert server.requests[0].header("authorization") == f"Bearer {TOKEN}"
    assert result.returncode == 3, result.stderr
    assert "www-authenticate" in result.stderr.lower()
    assert_clean([result.stdout, result.stderr])


def test_cli_output_of_an_echoed_run_error_is_clean() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        message = f"denied {request.target} for {request.header('x-api-key')}"
        events = [text_run(0)[0], {"type": "RUN_ERROR", "message": message, "code": "denied"}]
        writer.write(response_head() + b"".join(sse_frame(e) for e in events))

    with RawServer(handler) as server:
        result = run_cli(
            "chat",
            f"{server.url}/chat?api_key={QUERY_KEY}",
            "-m",
            "hi",
            "-H",
            "X-Api-Key: $KEY",
            env={"KEY": API_KEY},
        )
    assert result.returncode == 5, result.stderr  # the agent reported an error
    assert "denied" in result.stderr
    assert_clean([result.stdout, result.stderr])
