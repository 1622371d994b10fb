"""Run the real TanStack AI npm packages under Node from Python tests.

The scripts beside this file use ``@tanstack/ai@0.18.0`` and
``@tanstack/ai-client@0.10.0`` exactly as pinned in ``package.json``:

- ``ts_server()``: a Node HTTP server whose responses come from the real server
  helpers (scripted events, or a real ``chat()`` agent loop with a fake model);
- ``run_ts_client()``: the real ``ChatClient`` talking to any URL;
- ``run_ts_bench_client()``: the real ``ChatClient`` reading a file of stream bytes.

Call ``require_node_modules()`` first (in a fixture): it skips when the npm
packages are not installed, except under ``CI``, where that is a failure.
See README.md for the routes and the JSON each script prints.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from node_processes import (
    InteropError,
    node_server,
    npm_install_problem,
    run_node_json,
    skip_or_fail,
    stop_process,
)

PINS = {"@tanstack/ai": "0.18.0", "@tanstack/ai-client": "0.10.0"}


def interop_dir() -> Path:
    """The folder holding package.json, node_modules and the .mjs scripts."""
    return Path(__file__).resolve().parent


def require_node_modules(directory: Path | None = None) -> None:
    """Skip the calling test if the npm packages are missing; fail under CI.

    Run ``python3 dev.py setup`` (or ``npm ci`` in tests/interop) to install them.
    A wrong version fails everywhere.
    """
    directory = directory or interop_dir()
    found = npm_install_problem(directory, PINS)
    if found is not None:
        problem, wrong = found
        hint = f"run `python3 dev.py setup` (npm ci in {directory})"
        skip_or_fail("interop packages", problem, wrong, hint)


def fixture_events(path: Path) -> list[dict[str, Any]]:
    """The events of a captured ``responses/*.sse`` or ``*.ndjson`` fixture.

    The fixtures are the helpers' own output (``data: <json>\\n\\n`` or
    ``<json>\\n``, raw newlines only between frames), so splitting on ``\\n`` is
    exact for them; this is not a general SSE parser.
    """
    events = []
    for line in path.read_bytes().decode("utf-8").split("\n"):
        if line:
            events.append(json.loads(line.removeprefix("data: ")))
    return events


class TsServer:
    """A running ``ts_server.mjs``. Routes are under ``.url`` (see README.md)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, stderr: Any) -> None:
        self.process = process
        self.port = port
        self._stderr = stderr
        self._http = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_script(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        delay_ms: int | None = None,
        throw_after: int | None = None,
        throw_message: str | None = None,
        throw_code: str | int | None = None,
        status: int | None = None,
        error_body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """What ``POST /sse/scripted`` and ``/ndjson/scripted`` stream from now on.

        ``throw_after=n``: the source throws after n events, so the helper appends
        its own RUN_ERROR (with ``throw_message``/``throw_code``). ``status``: answer
        a plain-text HTTP error instead. ``headers``: passed to the helper's init.
        """
        script: dict[str, Any] = {"events": list(events)}
        options = {
            "delayMs": delay_ms,
            "throwAfter": throw_after,
            "throwMessage": throw_message,
            "throwCode": throw_code,
            "status": status,
            "errorBody": error_body,
            "headers": dict(headers) if headers is not None else None,
        }
        script.update({k: v for k, v in options.items() if v is not None})
        self.set_scripts([script])

    def set_scripts(self, scripts: Sequence[Mapping[str, Any]]) -> None:
        """Successive scripted requests get successive scripts (the last repeats).

        Each script is the JSON form: ``{"events": [...], "delayMs": ..., ...}``.
        """
        # json.dumps escapes non-ASCII, so even lone surrogates survive the trip.
        body = json.dumps(list(scripts)).encode("ascii")
        self._http.put("/script", content=body).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """Every request the scripted and chat routes received, oldest first.

        Each has ``seq, time, method, path, query, httpVersion, headers`` (lower-cased),
        ``rawHeaders`` (``[name, value]`` as sent), ``bodyRaw``, ``body`` (parsed or
        None), ``bodyError``, ``aguiValid`` (``{"ok": true}`` or ``{"ok": false,
        "error": <chatParamsFromRequestBody's message>}``), ``status`` and
        ``disconnected`` (the client went away before the response ended).
        """
        response = self._http.get("/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def clear_requests(self) -> None:
        self._http.delete("/requests").raise_for_status()

    def stderr_text(self) -> str:
        """What the server wrote to stderr so far (for failure messages)."""
        self._stderr.seek(0)
        return str(self._stderr.read().decode("utf-8", "replace"))

    def close(self) -> None:
        self._http.close()
        stop_process(self.process)


@contextlib.contextmanager
def ts_server(*, startup_timeout: float = 20) -> Iterator[TsServer]:
    """Start ``ts_server.mjs`` on a random loopback port; stop it on exit."""
    with node_server(interop_dir(), "ts_server.mjs", startup_timeout) as (process, port, stderr):
        server = TsServer(process, port, stderr)
        try:
            yield server
        finally:
            server.close()


def _run_node(script: str, args: Iterable[str], timeout: float) -> dict[str, Any]:
    return run_node_json(interop_dir(), script, list(args), timeout=timeout)


def run_ts_client(
    url: str,
    transport: str = "sse",
    messages: Sequence[str] = (),
    *,
    headers: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
    forwarded_props: Mapping[str, Any] | None = None,
    tools: Sequence[str] = (),
    thread_id: str | None = None,
    timeout: float = 60,
    settle_ms: int = 100,
    check: bool = True,
) -> dict[str, Any]:
    """Have the real ChatClient send ``messages`` in turn to ``url``; return its report.

    ``transport``: ``"sse"`` (fetchServerSentEvents) or ``"ndjson"`` (fetchHttpStream).
    ``body``/``forwarded_props``: the ChatClient options of those names (both end up
    in ``forwardedProps``). ``tools``: client tools from ts_client.mjs's catalogue:
    ``get_time``, ``add``, ``fail_tool`` (throws), ``ask_user`` (no execute).

    The report has ``messages, chunks, status, error, statusHistory, onFinishCalls,
    onErrorCalls, customEvents, toolExecutions, requestCount, requests,
    chunksFromAdapter, isLoading, connectionStatus, warnings, timedOut,
    harnessError``. With ``check`` a timeout or a crash of the script raises.
    """
    if transport not in ("sse", "ndjson"):
        raise ValueError(f"transport must be 'sse' or 'ndjson', not {transport!r}")
    # The script's own deadline comes first, so a slow run still reports what it saw.
    args = ["--url", url, "--transport", transport]
    own_deadline = timeout - min(5.0, timeout / 4)
    args += ["--timeout-ms", str(int(own_deadline * 1000))]
    args += ["--settle-ms", str(settle_ms)]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    if body is not None:
        args += ["--body", json.dumps(body)]
    if forwarded_props is not None:
        args += ["--forwarded-props", json.dumps(forwarded_props)]
    for tool in tools:
        args += ["--tool", tool]
    if thread_id is not None:
        args += ["--thread-id", thread_id]
    report = _run_node("ts_client.mjs", [*args, "--", *messages], timeout)
    if check and (report["timedOut"] or report["harnessError"]):
        raise InteropError(
            f"ts_client.mjs timedOut={report['timedOut']} harnessError={report['harnessError']}"
            f" status={report['status']} error={report['error']}"
        )
    return report


def run_ts_bench_client(
    path: Path | str,
    framing: str,
    max_seconds: float,
    *,
    chunk_bytes: int = 65536,
) -> dict[str, Any]:
    """Feed the file at ``path`` (SSE or NDJSON bytes) to the real ChatClient.

    Returns ``{framing, events, seconds, eventsPerSecond, peakRssBytes,
    finalTextLength, complete, capped, status, error, parseWarnings}``; at
    ``max_seconds`` the run stops and reports the partial count (``capped``).
    """
    if framing not in ("sse", "ndjson"):
        raise ValueError(f"framing must be 'sse' or 'ndjson', not {framing!r}")
    args = ["--file", str(Path(path).resolve()), "--framing", framing]
    args += ["--max-seconds", str(max_seconds), "--chunk-bytes", str(chunk_bytes)]
    # Node start-up and the final report take a few seconds at most on top of the cap.
    return _run_node("ts_bench_client.mjs", args, timeout=max_seconds + 30)
