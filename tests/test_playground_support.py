"""Helpers of the playground tests: headless Chromium, Debian's ``/usr/bin/chromium`` driven
through Playwright's Python package (no browser download, ever), screenshots written
as artifacts under ``tmp/artifacts/playground`` (or ``$CHATCONDUIT_ARTIFACTS``).

When Chromium or Playwright is missing the tests skip with the reason, except under
CI (``CI=true``), where a missing browser is a failure: CI installs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path(os.environ.get("CHATCONDUIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("CHATCONDUIT_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "playground"
WAIT = 30_000  # ms: generous, the machine is shared


def require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {problem}")
    pytest.skip(problem)


@contextmanager
def chromium() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, width: int = 1440, height: int = 900) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.set_default_timeout(WAIT)
    page.goto(url)
    page.wait_for_function("() => window.playground !== undefined")
    return page


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def send(page: Any, text: str) -> None:
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def apply_settings(page: Any, **fields: Any) -> None:
    """Fill the settings panel (url, headers, framing, protocol, model, proxy) and apply it."""
    page.locator("details.settings-box summary").click()
    form = page.locator("#settings")
    if "url" in fields:
        form.locator("input[name=url]").fill(fields["url"])
    if "headers" in fields:
        form.locator("textarea[name=headers]").fill(fields["headers"])
    for name in ("framing", "protocol"):
        if name in fields:
            form.locator(f"select[name={name}]").select_option(fields[name])
    if "model" in fields:
        form.locator("input[name=model]").fill(fields["model"])
    if fields.get("proxy"):
        form.locator("input[name=proxy]").check()
    form.get_by_role("button", name="Apply").click()


def wait_idle(page: Any, runs: int) -> None:
    """Until ``runs`` runs exist, the last one is over, the client is ready and the
    inspector has drawn all of it."""
    page.wait_for_function(
        """(n) => {
            const runs = playground.runs()
            const last = runs[runs.length - 1]
            const drawn = playground.rendered()
            return runs.length >= n && last.endedAt !== null && last.status !== 'resuming'
                && !document.body.classList.contains('loading')
                && drawn.run === last.number && drawn.rows === last.rows.length
                && drawn.status === last.status
        }""",
        arg=runs,
    )


def event_types(page: Any, run: int | None = None) -> list[str]:
    return list(page.evaluate("(n) => playground.events(n).map((e) => e.type)", run))


def request_body(page: Any, run: int) -> dict[str, Any]:
    body = page.evaluate("(n) => playground.runs()[n - 1].requests[0].body", run)
    return dict(json.loads(body))


def sse_types(raw: str) -> list[str]:
    """The ``type`` of every data frame of an SSE body, in order."""
    types = []
    for frame in re.split(r"\r?\n\r?\n", raw):
        data = [line[5:].lstrip() for line in frame.splitlines() if line.startswith("data:")]
        if data and data[0] != "[DONE]":
            types.append(json.loads("\n".join(data))["type"])
    return types


def replay_types(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[str]:
    """What the server sends for ``body`` when asked directly (no browser)."""
    response = httpx.post(url, json=body, headers=headers or {}, timeout=60)
    response.raise_for_status()
    return sse_types(response.text)


@contextmanager
def chatconduit_serve(*args: str) -> Iterator[str]:
    """``chatconduit serve --port 0 ARGS`` in a subprocess; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chatconduit", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        base = None
        while base is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"SSE\s+POST (http://\S+?)/api/chat/sse", line):
                base = match.group(1)
        assert base, f"serve did not start: {''.join(lines)}"
        wait_up(base)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def poll(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_sse_types_reads_data_frames_in_order() -> None:
    raw = (
        ': ping\n\nid: 1\ndata: {"type":"RUN_STARTED"}\n\ndata: {"type":\ndata: "RUN_FINISHED"}\n\n'
    )
    assert sse_types(raw) == ["RUN_STARTED", "RUN_FINISHED"]
