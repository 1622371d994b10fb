"""``chatconduit serve --redis-url``: Redis down at start is one clear line and a non-zero
exit, or, with ``--redis-optional``, a server whose runs are not durable; an app given a
``RedisStreamLog`` it cannot reach fails its start-up rather than serving without it.
(Serving with Redis up, across replicas, is ``test_redis_replicas.py``.)"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from chatconduit.cli._args import ServeCommand, parse_command
from redis_support import free_port

SUPPORT = Path(__file__).resolve().parent / "redis_support.py"


def test_serve_parses_the_redis_options() -> None:
    command = parse_command(
        ["serve", "--redis-url", "redis://cache:6379/2", "--redis-optional"], {}
    )
    assert isinstance(command, ServeCommand)
    assert command.redis_url == "redis://cache:6379/2" and command.redis_optional
    plain = parse_command(["serve"], {})
    assert isinstance(plain, ServeCommand)
    assert plain.redis_url is None and not plain.redis_optional


def test_serve_exits_with_a_clear_error_when_redis_is_down() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    done = subprocess.run(
        [sys.executable, "-m", "chatconduit", "serve", "--port", "0", "--redis-url", url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("chatconduit: error: cannot reach Redis at redis://127.0.0.1:")
    assert "hunter2" not in done.stderr + done.stdout  # the password is never shown
    assert "POST" not in done.stdout  # nothing was served


def test_serve_with_redis_optional_serves_runs_that_are_not_durable() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    command = [sys.executable, "-m", "chatconduit", "serve", "--port", "0"]
    command += ["--redis-url", url, "--redis-optional", "--delay", "0"]
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
        try:
            assert process.stdout is not None
            base = ""
            while not base:
                line = process.stdout.readline().decode()
                assert line, "serve exited"
                if " POST http://" in line:
                    base = line.split("POST ", 1)[1].split("/api/", 1)[0]
            info = httpx.get(f"{base}/", timeout=10).json()
            answer = httpx.post(
                f"{base}/api/chat/sse",
                json={
                    "threadId": "t",
                    "runId": "r",
                    "state": {},
                    "messages": [{"id": "u", "role": "user", "content": "hello"}],
                    "tools": [],
                    "context": [],
                    "forwardedProps": {},
                },
                timeout=30,
            )
        finally:
            process.terminate()
            process.wait(30)
        err.seek(0)
        stderr = err.read().decode()
    assert "warning: cannot reach Redis" in stderr and "not be durable" in stderr
    assert info["durable"] is False
    assert answer.status_code == 200 and "RUN_FINISHED" in answer.text
    assert "\nid: " not in answer.text  # no ids: nothing to resume from


def test_an_app_whose_redis_log_cannot_be_reached_fails_its_start_up(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    command = [sys.executable, str(SUPPORT), "--redis-url", url, "--marks", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[0])["port"] > 0  # it got as far as listening
    assert done.returncode != 0
    assert "cannot reach Redis" in done.stderr
