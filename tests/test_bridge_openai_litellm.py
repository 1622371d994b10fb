"""OpenAI-compatible chat completions against a real server nobody here wrote: LiteLLM's
proxy (``litellm[proxy]==1.108.7``, installed by ``dev.py`` into ``.venv/litellm``),
started offline on loopback with mock responses (``interop_current/openai_litellm_config.yaml``).

Our client adapter talks to it directly; ``chatconduit serve --openai-base-url`` serves it
through ``OpenAICompatibleAgent`` (the key from an environment variable, never in the
process's command line) to a ChatClient; a key the proxy does not know is a typed error
with the status and the body, the key masked.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatconduit import (
    ChatClient,
    HTTPStatusError,
    TextPart,
    fetch_server_sent_events,
    openai_chat_completions,
)
from chatconduit.events import EventType
from interop_current.harness import _read_line, _stop, interop_dir

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[1]
LITELLM = ROOT / ".venv" / "litellm" / "bin" / "litellm"
MASTER_KEY = "sk-litellm-master-TEST0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def litellm() -> Iterator[str]:
    if not LITELLM.exists():
        problem = f"{LITELLM} is missing: run `python3 dev.py setup`"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    port = free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOG": "ERROR"}
    config = interop_dir() / "openai_litellm_config.yaml"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"LiteLLM did not start: {log.read()[-3000:]!r}")
                time.sleep(0.25)
            yield f"{url}/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def text_of(client: ChatClient) -> str:
    last = client.messages[-1]
    return "".join(p.content for p in last.parts if isinstance(p, TextPart))


async def test_client_adapter_text_usage_and_finish(
    litellm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_TEST_KEY", MASTER_KEY)
    events: list[Any] = []
    adapter = openai_chat_completions(
        litellm, {"model": "mock-gpt", "api_key_env": "LITELLM_TEST_KEY"}
    )
    client = ChatClient(adapter, on_chunk=events.append)
    await client.send_message("hello")
    assert client.error is None, client.error
    assert text_of(client) == "Hello from LiteLLM's mock!"
    finished = [e for e in events if e.type == EventType.RUN_FINISHED]
    assert len(finished) == 1 and finished[0].finish_reason == "stop"
    assert finished[0].usage is not None and finished[0].usage.total_tokens > 0
    # A second turn: the whole conversation goes back.
    await client.send_message("again")
    assert text_of(client) == "Hello from LiteLLM's mock!"
    assert len(client.messages) == 4
    await client.aclose()


async def test_unknown_key_is_a_typed_error_with_status_and_body(litellm: str) -> None:
    wrong = "sk-wrong-key-which-must-not-leak-42"
    adapter = openai_chat_completions(
        litellm, {"model": "mock-gpt", "api_key": wrong, "retry": False}
    )
    client = ChatClient(adapter, raise_on_error=False)
    await client.send_message("hello")
    error = client.error
    assert isinstance(error, HTTPStatusError)
    assert error.status_code in (400, 401)
    assert '"error"' in error.body
    assert wrong not in str(error) and wrong not in error.body and wrong not in repr(adapter)
    await client.aclose()


def test_serve_openai_base_url_serves_litellm_through_our_agent(litellm: str) -> None:
    env = {**os.environ, "LITELLM_TEST_KEY": MASTER_KEY}
    command = [
        sys.executable, "-m", "chatconduit", "serve", "--port", "0",
        "--openai-base-url", litellm, "--model", "mock-gpt", "--api-key-env", "LITELLM_TEST_KEY",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        sse_url = None
        for _ in range(20):
            line = _read_line(process.stdout, 30).decode("utf-8", "replace")
            if "SSE" in line and "POST" in line:
                sse_url = line.split("POST", 1)[1].strip()
                break
        assert sse_url, "serve printed no SSE route"
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert MASTER_KEY.encode() not in cmdline  # the key is in no process listing

        async def chat() -> str:
            client = ChatClient(fetch_server_sent_events(sse_url))
            await client.send_message("hello through our server")
            assert client.error is None, client.error
            text = text_of(client)
            await client.aclose()
            return text

        import asyncio

        assert asyncio.run(chat()) == "Hello from LiteLLM's mock!"
    finally:
        _stop(process)


def test_cli_protocol_openai(litellm: str) -> None:
    env = {**os.environ, "LITELLM_TEST_KEY": MASTER_KEY}
    command = [
        sys.executable, "-m", "chatconduit", "chat", litellm, "--protocol", "openai",
        "--model", "mock-gpt", "--api-key-env", "LITELLM_TEST_KEY", "-m", "hello",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "Hello from LiteLLM's mock!" in done.stdout
    # Without the key the proxy refuses (LiteLLM 1.108 answers 500): exit 3, one line.
    env.pop("LITELLM_TEST_KEY")
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("error: HTTP ") and refused.stderr.count("\n") == 1
