"""Run the CURRENT reference implementations from Python tests.

The Node scripts beside this file use the npm packages pinned in ``package.json``
(``@tanstack/ai@0.58.0``, ``@tanstack/ai-client@0.33.2``, ``@ag-ui/client@1.0.0``, ``ws``);
the pydantic-ai app uses ``pydantic-ai-slim[ag-ui]==2.78.0`` from the ``dev`` extra:

- ``ts058_server()``: ``ts058_server.mjs`` on a random port (real ``chat()`` with a scripted
  adapter behind the package's SSE / NDJSON / durable / WebSocket helpers);
- ``run_ts033_client()``: the real 0.33 ``ChatClient``, headless, against any URL;
- ``run_agui_client()``: the real ``@ag-ui/client`` ``HttpAgent`` against any URL;
- ``pydantic_ai_app()``: ``pydantic_ai_app.py`` under uvicorn on a random port.

Call ``require_node_modules()`` / ``require_pydantic_ai()`` first: they skip when the
packages are missing, except under ``CI``, where that is a failure (a wrong installed
version always fails). See README.md for the routes and the JSON each script prints.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from node_processes import InteropError as InteropError
from node_processes import node_executable as node_executable
from node_processes import (
    node_server,
    npm_install_problem,
    run_node_json,
    skip_or_fail,
)
from node_processes import read_line as _read_line
from node_processes import stop_process as _stop

NPM_PINS = {
    "@tanstack/ai": "0.58.0",
    "@tanstack/ai-client": "0.33.2",
    "@ag-ui/client": "1.0.0",
    "@ag-ui/core": "1.0.0",
    "ai": "7.0.185",
    "ws": "8.23.1",
}
PYTHON_PINS = {"pydantic-ai-slim": "2.78.0", "ag-ui-protocol": "1.0.0"}


def interop_dir() -> Path:
    """This folder: package.json, node_modules, the .mjs scripts and the pydantic-ai app."""
    return Path(__file__).resolve().parent


def fixtures_dir() -> Path:
    """``tests/fixtures/current``: the recorded bytes (see its README.md)."""
    return interop_dir().parent / "fixtures" / "current"


# --- availability -----------------------------------------------------------------------


def node_install_problem(directory: Path | None = None) -> tuple[str, bool] | None:
    """Why the pinned npm packages cannot be used, or None; the flag marks a wrong
    version (always a failure: it would test the wrong reference)."""
    return npm_install_problem(directory or interop_dir(), NPM_PINS)


def require_node_modules(directory: Path | None = None) -> None:
    """Skip the calling test if the npm packages are missing; fail under CI or on a
    wrong version. ``python3 dev.py setup`` installs them."""
    found = node_install_problem(directory)
    if found is not None:
        problem, wrong = found
        hint = "run `python3 dev.py setup` (npm ci in tests/interop_current)"
        skip_or_fail("current interop packages", problem, wrong, hint)


def python_install_problem() -> tuple[str, bool] | None:
    from importlib import metadata

    for name, version in PYTHON_PINS.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            return f"{name} is not installed", False
        if installed != version:
            return f"{name} {installed} is installed, the tests need {version}", True
    return None


def require_pydantic_ai() -> None:
    """Skip if pydantic-ai / ag-ui-protocol are missing; fail under CI or on a wrong version."""
    found = python_install_problem()
    if found is not None:
        problem, wrong = found
        hint = "run `python3 dev.py setup` (pip install -e .[dev])"
        skip_or_fail("current interop packages", problem, wrong, hint)


# --- processes ------------------------------------------------------------------------------


def run_node_script(
    script: str,
    args: Sequence[str] = (),
    *,
    stdin: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Run ``node <script> <args>`` in this folder and return the JSON document of its
    last stdout line. ``stdin``: text fed to the script (its ``--config -``)."""
    return run_node_json(interop_dir(), script, args, stdin=stdin, timeout=timeout)


class Ts058Server:
    """A running ``ts058_server.mjs``; routes under ``.url`` (see README.md)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, stderr: Any) -> None:
        self.process = process
        self.port = port
        self._stderr = stderr
        self._http = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def requests(self) -> list[dict[str, Any]]:
        """Everything received so far, oldest first. HTTP entries: ``kind: "http", method,
        path, query, headers, rawHeaders, bodyRaw, body, aguiValid, durableResume, status,
        responseHeaders, responseBody, disconnected``; WebSocket entries: ``kind:
        "websocket", path, query, headers, inbound, outbound, closed``."""
        response = self._http.get("/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def clear_requests(self) -> None:
        self._http.delete("/requests").raise_for_status()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return str(self._stderr.read().decode("utf-8", "replace"))

    def close(self) -> None:
        self._http.close()
        _stop(self.process)


@contextlib.contextmanager
def ts058_server(startup_timeout: float = 20) -> Iterator[Ts058Server]:
    """Start ``node ts058_server.mjs`` on 127.0.0.1 (random port); stop it afterwards."""
    with node_server(interop_dir(), "ts058_server.mjs", startup_timeout) as started:
        server = Ts058Server(*started)
        try:
            yield server
        finally:
            server.close()


class PydanticAiApp:
    """A running ``pydantic_ai_app.py`` (uvicorn); ``POST {url}/`` is the AG-UI endpoint."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Any) -> None:
        self.process = process
        self.port = port
        self._log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        self._log.seek(0)
        return str(self._log.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def pydantic_ai_app(startup_timeout: float = 30) -> Iterator[PydanticAiApp]:
    """Start ``uvicorn pydantic_ai_app:app`` on 127.0.0.1 with port 0 (the OS picks one;
    uvicorn's startup line names it); stop it afterwards."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "pydantic_ai_app:app",
                "--app-dir",
                str(interop_dir()),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--log-level",
                "info",
                "--no-access-log",
            ],
            cwd=interop_dir(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        port = None
        seen: list[bytes] = []
        try:
            assert process.stderr is not None
            while port is None:
                line = _read_line(process.stderr, startup_timeout)
                if not line:
                    raise InteropError(
                        "pydantic_ai_app did not start: "
                        + b"".join(seen).decode("utf-8", "replace")
                    )
                seen.append(line)
                found = re.search(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
                if found:
                    port = int(found.group(1))
            # Keep draining uvicorn's log so it never blocks on a full pipe.
            log.write(b"".join(seen))
            stream = process.stderr

            def drain() -> None:
                for chunk in iter(stream.readline, b""):
                    with contextlib.suppress(ValueError):
                        log.write(chunk)

            threading.Thread(target=drain, daemon=True).start()
            yield PydanticAiApp(process, port, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# --- the clients ------------------------------------------------------------------------------


def run_ts033_client(
    url: str,
    transport: str = "sse",
    messages: Sequence[str] = (),
    *,
    tools: Sequence[str] = (),
    approval: str = "none",
    persistence: str = "none",
    persisted: Mapping[str, Any] | None = None,
    attach: bool = False,
    thread_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    forwarded_props: Mapping[str, Any] | None = None,
    timeout: float = 60,
    settle_ms: int = 150,
    check: bool = True,
) -> dict[str, Any]:
    """Have the real 0.33 ChatClient send ``messages`` in turn to ``url``; return its report.

    ``tools``: client tools of ts033_client.mjs (``get_time``, ``fail_tool``, ``delete_file``
    (approval, declared on the client), ``ask_user`` (no execute)). ``approval``: ``none`` |
    ``approve`` | ``deny`` | ``cancel``. ``persistence``: ``none`` | ``memory`` | ``server``.
    The report's keys are listed in README.md. With ``check`` a timeout or crash raises.
    """
    if transport not in ("sse", "ndjson", "ws"):
        raise ValueError(f"transport must be 'sse', 'ndjson' or 'ws', not {transport!r}")
    own_deadline = timeout - min(5.0, timeout / 4)
    config: dict[str, Any] = {
        "url": url,
        "transport": transport,
        "messages": list(messages),
        "tools": list(tools),
        "approval": approval,
        "persistence": persistence,
        "attach": attach,
        "timeoutMs": int(own_deadline * 1000),
        "settleMs": settle_ms,
        "headers": dict(headers or {}),
    }
    if persisted is not None:
        config["persisted"] = dict(persisted)
    if thread_id is not None:
        config["threadId"] = thread_id
    if forwarded_props is not None:
        config["forwardedProps"] = dict(forwarded_props)
    report = run_node_script(
        "ts033_client.mjs", ["--config", "-"], stdin=json.dumps(config), timeout=timeout
    )
    if check and (report["timedOut"] or report["harnessError"]):
        raise InteropError(
            f"ts033_client.mjs timedOut={report['timedOut']} harnessError={report['harnessError']}"
            f" status={report['status']} error={report['error']}"
        )
    return report


def run_agui_client(
    url: str,
    run_input: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Run ``@ag-ui/client``'s HttpAgent once with ``run_input``; return ``{events,
    warnings, error, requests, responses, newMessages, messages, pendingInterrupts,
    result, timedOut}``."""
    config = {
        "url": url,
        "input": dict(run_input),
        "headers": dict(headers or {}),
        "timeoutMs": int((timeout - min(5.0, timeout / 4)) * 1000),
    }
    return run_node_script(
        "agui_client.mjs", ["--config", "-"], stdin=json.dumps(config), timeout=timeout
    )


# --- bodies and frames ---------------------------------------------------------------------


def run_input(
    text: str,
    *,
    thread_id: str = "thread-fixture",
    run_id: str = "run-fixture",
    tools: Sequence[Mapping[str, Any]] = (),
    messages: Sequence[Mapping[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A minimal valid AG-UI RunAgentInput with one user message (or ``messages``)."""
    body: dict[str, Any] = {
        "threadId": thread_id,
        "runId": run_id,
        "state": {},
        "messages": list(messages)
        if messages is not None
        else [{"id": f"user-{run_id}", "role": "user", "content": text}],
        "tools": list(tools),
        "context": [],
        "forwardedProps": {},
    }
    body.update(extra)
    return body


def sse_frames(raw: bytes | str) -> list[dict[str, Any]]:
    """``[{"id": str | None, "data": <parsed JSON or the raw string>}]`` of an SSE body.

    Enough for the helpers' own output (``id:``/``data:`` lines, blank line between
    frames); not a general SSE parser."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    frames = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event_id: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("id:"):
                event_id = line[3:].removeprefix(" ")
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if not data:
            continue
        joined = "\n".join(data)
        try:
            value: Any = json.loads(joined)
        except ValueError:
            value = joined
        frames.append({"id": event_id, "data": value})
    return frames


def ndjson_lines(raw: bytes | str) -> list[dict[str, Any]]:
    """The JSON objects of an NDJSON body (bare events or ``{id, chunk}`` envelopes)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def events_of(raw: bytes | str, framing: str) -> list[dict[str, Any]]:
    """The events of an SSE or NDJSON body, or of WebSocket frames joined by newlines
    (``ws``: heartbeat pings left out), envelopes unwrapped."""
    if framing == "sse":
        return [f["data"] for f in sse_frames(raw) if isinstance(f["data"], dict)]
    events = [line.get("chunk", line) if "type" not in line else line for line in ndjson_lines(raw)]
    return [e for e in events if not (framing == "ws" and e.get("type") == "ping")]
