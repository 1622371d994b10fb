"""Every script in examples/ runs here as a reader would run it, against a real server.

``client.py`` against the demo, against ``fastapi_app.py`` under uvicorn, and against
``chatconduit serve --agent my_agent:agent``; ``adapters/retrying_adapter.py`` with a
URL. The adapter examples' own behaviour is tested in test_connection_examples.py;
``test_every_example_is_run`` (test_docs.py) keeps the two lists complete.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from chatconduit.demo import create_app
from servers import RunningServer, serve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RUN_HERE = ["client", "fastapi_app", "my_agent", "retrying_adapter"]  # read by test_docs.py


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=path.parent,
    )


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(create_app(delay=0.001)) as srv:
        yield srv


def test_client_script_against_the_demo(demo: RunningServer) -> None:
    done = run_script(EXAMPLES / "client.py", f"{demo.url}/api/chat/sse")
    assert done.returncode == 0, done.stderr
    assert "84" in done.stdout and "(tool calculator" in done.stdout
    assert done.stderr == ""  # no warnings (unclosed resources, reused ids)


def test_fastapi_app_with_the_client_script() -> None:
    app = load("fastapi_app").app
    with serve(app) as srv:
        done = run_script(EXAMPLES / "client.py", f"{srv.url}/api/chat")
        spec = httpx.get(f"{srv.url}/openapi.json", timeout=10).json()
        personal = httpx.post(
            f"{srv.url}/api/chat",
            json={
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "u", "role": "user", "content": "hi"}],
                "tools": [],
                "context": [],
            },
            headers={"X-User": "Ada"},
            timeout=10,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Let me multiply that."
    assert "12 × 7 = 84, guest." in done.stdout
    assert """(tool multiply {"a":12,"b":7} -> {'result': 84})""" in done.stdout
    assert "Hello guest!" in lines[-1]
    body = spec["paths"]["/api/chat"]["post"]["requestBody"]["content"]["application/json"]
    assert "threadId" in body["schema"]["properties"]
    assert "Hello Ada!" in personal.text


def test_my_agent_served_by_the_cli() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatconduit", "serve", "--port", "0", "--agent", "my_agent:agent"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=EXAMPLES,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert process.stdout is not None
    url = ""
    deadline = time.monotonic() + 30
    while not url and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if match := re.search(r"SSE\s+POST (\S+)", line):
            url = match.group(1)
    try:
        assert url, process.stderr.read() if process.stderr else ""
        done = subprocess.run(
            [sys.executable, "-m", "chatconduit", "chat", url, "-m", "one two three"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "You said 3 words: three two one (backwards)."
        script = run_script(EXAMPLES / "client.py", url)
        assert script.returncode == 0, script.stderr
        assert "You said 2 words: 12*7? is (backwards)." not in script.stdout  # "What is 12*7?"
        assert "You said 3 words: 12*7? is What (backwards)." in script.stdout
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_retrying_adapter_script_uses_its_policy_on_a_real_server(demo: RunningServer) -> None:
    done = run_script(EXAMPLES / "adapters" / "retrying_adapter.py", f"{demo.url}/api/chat/sse")
    assert done.returncode == 0, done.stderr
    assert "after 3 calls:" in done.stdout
    assert re.search(r"the server says: .*\*\*4\*\*", done.stdout, re.S), done.stdout
