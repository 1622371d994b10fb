"""The interactive CLI in a real pseudo-terminal (pexpect), and Ctrl-C, as a person uses them.

A slow agent (one word every 50 ms) served on a real socket makes "Ctrl-C
during a reply" deterministic: the test waits until some words are on screen,
interrupts, and then checks what the person sees (the partial reply, the
prompt again), what the server saw (the disconnect), and what the
conversation kept (the next request carries the partial reply).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pexpect
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit.server import RunAgentInput, chat_endpoint
from faulty_app import FaultyApp, Plan, sse_plan, text_run
from servers import RunningServer, serve

PROMPT = "you›"
WORDS = 300
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class SlowAgent:
    """Streams ``word000 word001 ...`` slowly; records each request and each disconnect."""

    def __init__(self) -> None:
        self.requests: list[RunAgentInput] = []
        self.disconnected = threading.Event()

    async def __call__(
        self, params: RunAgentInput, request: object
    ) -> AsyncIterator[dict[str, Any]]:
        self.requests.append(params)
        run = {"runId": params.run_id, "threadId": params.thread_id}
        yield {"type": "RUN_STARTED", **run}
        yield {"type": "TEXT_MESSAGE_START", "messageId": f"m-{params.run_id}", "role": "assistant"}
        for i in range(WORDS):
            await asyncio.sleep(0.05)
            yield {
                "type": "TEXT_MESSAGE_CONTENT",
                "messageId": f"m-{params.run_id}",
                "delta": f"word{i:03d} ",
            }
        yield {"type": "TEXT_MESSAGE_END", "messageId": f"m-{params.run_id}"}
        yield {"type": "RUN_FINISHED", **run, "finishReason": "stop"}


@pytest.fixture
def slow() -> Iterator[tuple[SlowAgent, RunningServer]]:
    agent = SlowAgent()
    endpoint = chat_endpoint(agent, on_disconnect=lambda events: agent.disconnected.set())
    app = Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])
    with serve(app) as server:
        yield agent, server


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "chatconduit", *args],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=20,
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    status = child.exitstatus
    assert isinstance(status, int), f"killed by signal {child.signalstatus}"
    return status


def printed_after_live(text: str) -> str:
    """What was printed once the live region was taken down (rich shows the cursor again)."""
    return ANSI.sub("", text.rsplit("\x1b[?25h", 1)[-1])


def port_is_closed(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


# --------------------------------------------------------------------------- the demo


def test_demo_session_in_a_terminal() -> None:
    child = spawn("demo", "--delay", "0.01")
    child.expect(r"(http://127\.0\.0\.1:\d+/api/chat/sse)")
    url = child.match.group(1)
    child.expect("what is 12\\*7\\?")  # the banner suggests prompts
    child.expect("think about primes")
    child.expect(PROMPT)

    child.sendline("what is 12*7?")
    child.expect(PROMPT)
    shown = printed_after_live(child.before)
    assert '⚙ calculator(expression="12*7")' in shown
    assert "12*7 = 84" in shown  # Markdown rendered: no ** or backticks left
    assert re.search(r"\d+ tokens · \d+\.\ds", shown)  # the summary of the status line

    child.sendline("think about primes")
    child.expect(PROMPT)
    shown = printed_after_live(child.before)
    assert "▸ thought" in shown  # collapsed to one line once the answer started
    assert "I am a scripted demo" not in shown
    assert "Thoughts on primes" in shown

    child.sendline("/thinking")
    child.expect(PROMPT)
    assert "I am a scripted demo" in ANSI.sub("", child.before)  # now shown in full

    child.sendline("/exit")
    assert finish(child) == 0
    assert port_is_closed(url)  # the embedded server is gone with the process


def test_ctrl_d_quits() -> None:
    child = spawn("demo")
    child.expect(PROMPT)
    child.sendeof()
    assert finish(child) == 0


def test_ctrl_c_at_the_prompt_quits() -> None:
    child = spawn("demo")
    child.expect(PROMPT)
    child.sendintr()
    assert finish(child) == 0


# --------------------------------------------------------------------------- Ctrl-C during a reply


def test_ctrl_c_stops_the_reply_and_keeps_it(slow: tuple[SlowAgent, RunningServer]) -> None:
    agent, server = slow
    child = spawn("chat", f"{server.url}/chat")
    child.expect(PROMPT)
    child.sendline("count slowly")
    child.expect("word003")
    child.expect("tok/s")  # the live status line
    child.sendintr()
    child.expect("■ stopped")
    shown = printed_after_live(child.before)
    assert "word000 word001 word002 word003" in shown  # the partial reply stays on screen
    assert "word299" not in shown
    child.expect(PROMPT)
    assert agent.disconnected.wait(5), "the server did not see the client go away"

    # The partial reply is part of the conversation: the next request carries it.
    child.sendline("go on")
    child.expect("word001")
    child.sendintr()
    child.expect(PROMPT)
    history = agent.requests[1].model_messages
    assert [m.role for m in history] == ["user", "assistant", "user"]
    assert isinstance(history[1].content, str)
    assert history[1].content.startswith("word000 word001 word002 word003")

    child.sendline("/exit")
    assert finish(child) == 0
    assert "Traceback" not in child.before


def test_an_error_is_one_line_and_the_session_goes_on() -> None:
    body = b'{"error": {"message": "token expired", "code": "invalid_token"}}'
    app = FaultyApp(
        Plan(status=401, headers=(("content-type", "application/json"),), body=[body]),
        sse_plan(text_run(2)),
    )
    with serve(app) as server:
        child = spawn("chat", f"{server.url}/chat")
        child.expect(PROMPT)
        child.sendline("hi")
        child.expect(r"error: HTTP 401 Unauthorized: token expired \[invalid_token\]")
        child.expect(PROMPT)
        assert "Traceback" not in child.before
        child.sendline("again")  # the next request goes out and succeeds
        child.expect("d0 d1")
        child.expect(PROMPT)
        child.sendline("/exit")
        assert finish(child) == 0
    assert len(app.requests) == 2


def test_status_line_shows_the_retry_of_a_busy_server() -> None:
    busy = Plan(status=503, headers=(("content-type", "text/plain"),), body=[b"busy"])
    app = FaultyApp(busy, sse_plan(text_run(3)))
    with serve(app) as server:
        child = spawn("chat", f"{server.url}/chat")
        child.expect(PROMPT)
        child.sendline("hi")
        child.expect(r"retrying in \d\.\ds")  # never connected: not "reconnecting"
        child.expect("HTTP 503 Service Unavailable: busy")
        child.expect(PROMPT)
        assert "d0 d1 d2" in printed_after_live(child.before)
        child.sendline("/exit")
        assert finish(child) == 0
    assert len(app.requests) == 2


def test_two_quick_ctrl_c_quit(slow: tuple[SlowAgent, RunningServer]) -> None:
    agent, server = slow
    child = spawn("chat", f"{server.url}/chat")
    child.expect(PROMPT)
    child.sendline("count slowly")
    child.expect("word002")
    child.sendintr()
    # A person's double press, not two bytes in one write: the terminal discards
    # input queued behind a Ctrl-C it is still turning into a signal.
    time.sleep(0.15)
    child.sendintr()
    assert finish(child) == 130  # within the double-press window: quit as interrupted
    assert "Traceback" not in (child.before or "")
    assert agent.disconnected.wait(5)


def test_sigint_in_one_shot_mode_prints_the_partial_reply(
    slow: tuple[SlowAgent, RunningServer],
) -> None:
    agent, server = slow
    process = subprocess.Popen(
        [sys.executable, "-m", "chatconduit", "chat", f"{server.url}/chat", "-m", "count"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    while "word002" not in seen:  # plain output streams: words arrive as they are sent
        chunk = process.stdout.read(8)
        assert chunk, "the output ended before the reply started"
        seen += chunk
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130
    reply = seen + out
    assert reply.startswith("word000 word001 word002")
    assert "word299" not in reply
    assert "(stopped)" in err and "Traceback" not in err
    assert agent.disconnected.wait(5)


# --------------------------------------------------------------------------- serve


def test_serve_prints_its_urls_answers_and_stops_on_ctrl_c() -> None:
    child = spawn("serve", "--port", "0", "--delay", "0")
    child.expect(r"SSE\s+POST (http://127\.0\.0\.1:\d+/api/chat/sse)")
    sse_url = child.match.group(1)
    child.expect(r"NDJSON\s+POST (http://127\.0\.0\.1:\d+/api/chat/ndjson)")
    ndjson_url = child.match.group(1)
    child.expect("Ctrl-C")

    body = {
        "threadId": "t1",
        "runId": "r1",
        "state": {},
        "messages": [{"id": "u1", "role": "user", "content": "what is 6*7"}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    sse = httpx.post(sse_url, json=body, timeout=10)
    assert sse.status_code == 200
    assert sse.headers["content-type"].startswith("text/event-stream")
    assert '"type":"RUN_FINISHED"' in sse.text and "42" in sse.text
    ndjson = httpx.post(ndjson_url, json=body, timeout=10)
    assert ndjson.status_code == 200
    assert ndjson.text.splitlines()[-1].startswith('{"type":"RUN_FINISHED"')
    child.expect("POST /api/chat/ndjson HTTP/1.1")  # requests are logged

    child.sendintr()
    child.expect("stopped")
    assert finish(child) == 0
    assert "Traceback" not in child.before
    assert port_is_closed(sse_url)


def test_serve_stops_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatconduit", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("chatconduit demo server")
    url = process.stdout.readline().split()[-1]
    assert httpx.get(url.rsplit("/api/", 1)[0] + "/health", timeout=10).json() == {"status": "ok"}
    process.terminate()
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.rstrip().endswith("stopped")
    assert port_is_closed(url)


def test_serve_reports_a_busy_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "chatconduit", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"chatconduit: error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.splitlines()) == 1
