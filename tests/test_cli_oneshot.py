"""``chatconduit ... -m TEXT`` end to end: a subprocess, as a script would run it.

stdout is a pipe here, so the CLI writes plain text (no colours, no live
redraws): the reply on stdout, annotations and errors on stderr. The servers
are real: the demo backend inside the CLI process, or an app served by
``tests/servers.py`` on a loopback port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit.demo import create_app
from faulty_app import FaultyApp, Plan, sse_plan
from servers import RunningServer, serve

TOKEN = "tok-5e1f0a9c7d3b"  # distinctive, so that a leak is easy to spot


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "TOKEN"}
    full_env.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "chatconduit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=60,
    )


def assert_one_error_line(stderr: str) -> str:
    """The error is one readable line, never a traceback."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture(scope="module")
def demo_server() -> Iterator[RunningServer]:
    with serve(create_app(delay=0)) as server:
        yield server


# --------------------------------------------------------------------------- the demo


def test_demo_answers_one_message_over_sse() -> None:
    result = run_cli("demo", "--delay", "0", "-m", "what is 12*7?")
    assert result.returncode == 0, result.stderr
    assert "**84**" in result.stdout  # the Markdown as the model wrote it: pipe-friendly
    assert 'tool: calculator(expression="12*7")' in result.stderr
    assert '"result": 84' in result.stderr


def test_demo_with_stderr_on_the_same_pipe_keeps_each_note_on_its_own_line() -> None:
    # `chatconduit demo -m ... 2>&1 | cat`: the reply's text ends without a newline
    # before the tool call; the note must not be glued to it.
    result = subprocess.run(
        [sys.executable, "-m", "chatconduit", "demo", "--delay", "0", "-m", "what is 12*7?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert 'tool: calculator(expression="12*7")' in lines
    assert lines[-1] == "`12*7` = **84**"
    assert "\n\n\n" not in result.stdout  # ending the line added no blank one


def test_demo_over_ndjson_streams_thinking_then_the_answer() -> None:
    result = run_cli("demo", "--delay", "0", "--transport", "ndjson", "-m", "think about primes")
    assert result.returncode == 0, result.stderr
    assert "Thoughts on primes" in result.stdout
    assert "thinking:" in result.stderr and "primes" in result.stderr
    assert "thinking:" not in result.stdout  # annotations stay out of the answer


def test_message_from_stdin() -> None:
    result = run_cli("demo", "--delay", "0", "-m", "-", stdin="what is 2+3*4\n")
    assert result.returncode == 0, result.stderr
    assert "**14**" in result.stdout


# --------------------------------------------------------------------------- chat URL


@pytest.mark.parametrize(("transport", "path"), [("sse", "sse"), ("ndjson", "ndjson")])
def test_chat_with_a_separate_server(demo_server: RunningServer, transport: str, path: str) -> None:
    url = f"{demo_server.url}/api/chat/{path}"
    result = run_cli("chat", url, "--transport", transport, "-m", "hello there")
    assert result.returncode == 0, result.stderr
    assert "hello there" in result.stdout  # the demo quotes the question back
    assert result.stderr == ""


def test_raw_prints_one_json_event_per_line(demo_server: RunningServer) -> None:
    url = f"{demo_server.url}/api/chat/sse"
    result = run_cli("chat", url, "--raw", "-m", "what time is it?")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert "TOOL_CALL_START" in types and "TEXT_MESSAGE_CONTENT" in types
    # Exactly the wire form: compact, as JSON.stringify writes it.
    assert all(
        line == json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        for line, e in zip(lines, events, strict=True)
    )


def test_body_and_thread_id_are_sent() -> None:
    app = FaultyApp(sse_plan(_short_run("ok")))
    with serve(app) as server:
        result = run_cli(
            "chat",
            f"{server.url}/chat",
            "--body",
            '{"model": "m1"}',
            "--thread-id",
            "t-42",
            "-m",
            "hi",
        )
    assert result.returncode == 0, result.stderr
    sent = app.requests[0].json()
    assert sent["threadId"] == "t-42"
    assert sent["forwardedProps"]["model"] == "m1"
    assert sent["messages"][-1]["content"] == "hi"


# --------------------------------------------------------------------------- headers and secrets


def test_header_value_comes_from_the_environment_and_is_masked_by_show_request() -> None:
    app = FaultyApp(sse_plan(_short_run("fine")))
    with serve(app) as server:
        result = run_cli(
            "chat",
            f"{server.url}/chat",
            "-H",
            "Authorization: Bearer $TOKEN",
            "-H",
            "X-Team: blue",
            "--show-request",
            "-m",
            "hi",
            env={"TOKEN": TOKEN},
        )
    assert result.returncode == 0, result.stderr
    assert app.requests[0].header("authorization") == f"Bearer {TOKEN}"  # really sent
    assert TOKEN not in result.stdout + result.stderr  # never shown
    assert "> POST http://127.0.0.1:" in result.stderr
    assert "> authorization: [redacted]" in result.stderr
    assert "> x-team: blue" in result.stderr
    assert '"threadId"' in result.stderr  # the body is shown too
    assert "< HTTP/1.1 200 OK" in result.stderr


def test_demo_api_key_accepts_the_header(demo_server: RunningServer) -> None:
    with serve(create_app(delay=0, api_key=TOKEN)) as server:
        url = f"{server.url}/api/chat/sse"
        ok = run_cli(
            "chat", url, "-H", "Authorization: Bearer ${TOKEN}", "-m", "hi", env={"TOKEN": TOKEN}
        )
        refused = run_cli("chat", url, "-m", "hi")
    assert ok.returncode == 0, ok.stderr
    assert refused.returncode == 3
    line = assert_one_error_line(refused.stderr)
    assert line.startswith("error: HTTP 401 Unauthorized: Missing or invalid bearer token (")


def test_unset_variable_is_a_usage_error() -> None:
    result = run_cli(
        "chat", "http://127.0.0.1:9/x", "-H", "Authorization: Bearer $NOPE_UNSET", "-m", "hi"
    )
    assert result.returncode == 2
    assert "NOPE_UNSET is not set" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- failures


def test_http_401_shows_status_and_the_servers_message() -> None:
    body = b'{"error": {"message": "token expired", "code": "invalid_token"}}'
    app = FaultyApp(Plan(status=401, headers=(("content-type", "application/json"),), body=[body]))
    with serve(app) as server:
        result = run_cli("chat", f"{server.url}/chat", "-m", "hi")
    assert result.returncode == 3
    line = assert_one_error_line(result.stderr)
    assert line.startswith("error: HTTP 401 Unauthorized: token expired [invalid_token]")
    assert result.stdout == ""


def test_debug_shows_the_traceback() -> None:
    app = FaultyApp(Plan(status=403, headers=(("content-type", "text/plain"),), body=[b"no"]))
    with serve(app) as server:
        result = run_cli("chat", f"{server.url}/chat", "-m", "hi", "--debug")
    assert result.returncode == 3
    assert "Traceback" in result.stderr
    assert "HTTPStatusError" in result.stderr


def test_refused_connection() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("chat", f"http://127.0.0.1:{port}/chat", "-m", "hi")
    assert result.returncode == 4
    line = assert_one_error_line(result.stderr)
    assert "could not connect" in line and str(port) in line


def test_run_error_mid_stream_keeps_the_partial_reply() -> None:
    error = {
        "type": "RUN_ERROR",
        "runId": "r1",
        "message": "model overloaded",
        "code": "overloaded",
    }
    events = [*_short_run("The answer is", finish=False), error]
    with serve(FaultyApp(sse_plan(events))) as server:
        result = run_cli("chat", f"{server.url}/chat", "-m", "hi")
    assert result.returncode == 5
    assert result.stdout == "The answer is\n"
    line = assert_one_error_line(result.stderr)
    assert line == "error: the agent failed: model overloaded [overloaded]"


def test_dropped_connection_keeps_the_partial_reply() -> None:
    events = _short_run("Half of the", finish=False)
    with serve(FaultyApp(sse_plan(events, end="drop"))) as server:
        result = run_cli("chat", f"{server.url}/chat", "-m", "hi")
    assert result.returncode == 4
    assert result.stdout == "Half of the\n"
    assert_one_error_line(result.stderr)


def test_invalid_stream_is_a_protocol_error() -> None:
    plan = Plan(body=[b"data: {not json\n\n"])
    with serve(FaultyApp(plan)) as server:
        result = run_cli("chat", f"{server.url}/chat", "-m", "hi")
    assert result.returncode == 6
    assert "invalid stream" in assert_one_error_line(result.stderr)


def _short_run(text: str, *, finish: bool = True) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "runId": "r1", "threadId": "t1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
    ]
    events += [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": word}
        for word in re.findall(r"\S+\s*", text)
    ]
    if finish:
        events += [
            {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
            {"type": "RUN_FINISHED", "runId": "r1", "threadId": "t1", "finishReason": "stop"},
        ]
    return events
