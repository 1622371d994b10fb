"""Documentation is code: every Python block in README.md and docs/*.md runs here.

Collected: every fenced block tagged ``python`` or ``py`` in README.md and
docs/*.md; other tags (``sh``, ``text``, ``json``) are not Python. Each block is
its own test case, with an id like ``README.md:L45`` (the line of its opening fence).

Fragments. A block is a fragment (collected, not run) when the line right before
its opening fence is an HTML comment starting with ``<!-- fragment``, with the
reason after a colon::

    <!-- fragment: excerpt; `client` and `render` are the reader's -->
    ```python
    async for snap in client.updates():
        ...
    ```

The comment is invisible on GitHub and keeps the fence's tag a plain ``python``.
Use it only for blocks that are by nature not runnable (a signature excerpt, a
piece of a larger agent); a block a reader would copy as a whole must run.

Running. A block that defines a server app (a module-level ``name = Starlette(...)``
or ``FastAPI(...)``) is imported and served with uvicorn; one of its POST routes is
sent a RunAgentInput and must answer with events (SSE or NDJSON). Every other block
runs in a fresh subprocess (``sys.executable``, 30 s timeout, cwd a tmp dir) against
the demo server (``chatconduit.demo.create_app``) started here: the placeholder URLs
the docs use (``http://127.0.0.1:8000``, ``https://example.com``,
``https://api.example.com``, ``wss://host``) are replaced with the live server's.
No Python block currently asks the reader to set environment variables; if one
does, add them to ``BLOCK_ENV``.

The scripts in examples/ run in tests/test_connection_examples.py (each adapter
example's ``main()``) and tests/test_examples.py (the app-shaped ones, as scripts
against real servers); ``test_every_example_is_run`` keeps those lists complete.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit.demo import create_app
from servers import RunningServer, serve

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_TAGS = {"python", "py"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")
SERVER_APP = re.compile(r"^(\w+)\s*=\s*(Starlette|FastAPI)\(", re.MULTILINE)
HTTP_PLACEHOLDER = re.compile(
    r"https?://(?:127\.0\.0\.1:8000|localhost:8000|example\.com|api\.example\.com)"
)
WS_PLACEHOLDER = re.compile(r"wss?://(?:host|127\.0\.0\.1:8000|localhost:8000|example\.com)")
BLOCK_ENV: dict[str, dict[str, str]] = {}  # block id -> environment the docs tell a reader to set
RUN_INPUT = {
    "threadId": "docs-thread",
    "runId": "docs-run",
    "messages": [{"id": "u1", "role": "user", "content": "hello"}],
    "tools": [],
    "context": [],
    "state": {},
    "forwardedProps": {},
}


@dataclass(frozen=True)
class Block:
    file: Path
    line: int  # 1-based line of the opening fence
    code: str
    fragment: bool

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT).as_posix()}:L{self.line}"


def collect_blocks() -> list[Block]:
    blocks: list[Block] = []
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            opening = FENCE.match(lines[i])
            if not opening:
                i += 1
                continue
            indent, fence, tag = opening.groups()
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            i += 1
            if tag.lower() in PYTHON_TAGS:
                previous = lines[start - 1].strip() if start else ""
                fragment = previous.startswith("<!-- fragment")
                blocks.append(Block(path, start + 1, "\n".join(body) + "\n", fragment))
    return blocks


BLOCKS = collect_blocks()


class Recorder:
    """ASGI wrapper noting each HTTP answer's path and status, so a block that hits a
    wrong route (404) or a bad request fails even if it only prints the error."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answers: list[tuple[str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.answers.append((scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)


@dataclass
class Demo:
    server: RunningServer
    recorder: Recorder


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    recorder = Recorder(create_app(delay=0))
    with serve(recorder) as srv:
        yield Demo(srv, recorder)


def with_live_urls(code: str, srv: RunningServer) -> str:
    code = HTTP_PLACEHOLDER.sub(srv.url, code)
    return WS_PLACEHOLDER.sub(srv.ws_url(), code)


def load_app(block: Block, tmp_path: Path) -> Any:
    source = tmp_path / "doc_app.py"
    source.write_text(block.code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"doc_app_{block.line}", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name = SERVER_APP.search(block.code)
    assert name is not None
    return getattr(module, name.group(1))


def post_route(app: Starlette) -> str:
    openapi = getattr(app, "openapi", None)
    if openapi is not None:  # FastAPI: included routers are not in app.routes
        return next(path for path, ops in openapi()["paths"].items() if "post" in ops)
    for route in app.routes:
        if isinstance(route, Route) and route.methods and "POST" in route.methods:
            return route.path
    raise AssertionError(f"no POST route in {app.routes}")


def assert_events(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    types: list[str] = []
    for line in response.text.splitlines():
        line = line.removeprefix("data:").strip()
        if line.startswith("{"):
            types.append(json.loads(line).get("type"))
    assert types, f"no events in {response.text!r}"
    assert types[0] == "RUN_STARTED" and types[-1] in {"RUN_FINISHED", "RUN_ERROR"}, types


def test_blocks_found() -> None:
    assert len(BLOCKS) >= 10, [b.id for b in BLOCKS]
    for block in BLOCKS:
        if block.fragment:
            comment = block.file.read_text(encoding="utf-8").splitlines()[block.line - 2]
            assert re.match(r"<!-- fragment: \S.* -->", comment.strip()), (
                f"{block.id}: a fragment needs a reason: <!-- fragment: why -->"
            )


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_doc_block(block: Block, demo: Demo, tmp_path: Path) -> None:
    if block.fragment:
        compile(block.code, block.id, "exec", flags=0x2000)  # PyCF_ALLOW_TOP_LEVEL_AWAIT
        return
    if SERVER_APP.search(block.code):
        app = load_app(block, tmp_path)
        with serve(app) as srv:
            response = httpx.post(srv.url + post_route(app), json=RUN_INPUT, timeout=10)
        assert_events(response)
        return
    script = tmp_path / "doc_block.py"
    script.write_text(with_live_urls(block.code, demo.server), encoding="utf-8")
    demo.recorder.answers.clear()
    env = {**os.environ, **BLOCK_ENV.get(block.id, {})}
    done = subprocess.run(
        # -X dev: unclosed sockets and transports are reported (issue 16: the README's
        # client left its adapter open).
        [sys.executable, "-X", "dev", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    assert "ResourceWarning" not in done.stderr, f"{block.id} leaks:\n{done.stderr}"
    refused = [answer for answer in demo.recorder.answers if answer[1] >= 400]
    assert not refused, f"{block.id}: the demo server refused {refused}"


def test_every_example_is_run() -> None:
    runners = "".join(
        (ROOT / "tests" / name).read_text(encoding="utf-8")
        for name in ("test_connection_examples.py", "test_examples.py")
    )
    examples = sorted((ROOT / "examples").rglob("*.py"))
    assert examples
    for example in examples:
        assert f'"{example.stem}"' in runners, f"{example} is run by no test"


def test_public_names_of_the_adapter_docs_import() -> None:
    # Issue 16: docs/connection-adapters.md listed names that could not be imported.
    import chatconduit

    text = (ROOT / "docs" / "connection-adapters.md").read_text(encoding="utf-8")
    section = text.split("## Public names", 1)[1].split("The classes behind them", 1)[0]
    names = re.findall(r"`([A-Za-z_]\w*)`", section)
    assert len(names) >= 20, names
    missing = [n for n in names if n != "chatconduit" and not hasattr(chatconduit, n)]
    assert not missing, f"listed as importable from chatconduit but not: {missing}"


def test_docs_and_examples_import_only_public_modules() -> None:
    # Issue 16: the WebSocket example imported a private module; readers copy imports.
    private = re.compile(r"^\s*(?:from|import)\s+chatconduit(?:\.\w+)*\._\w+", re.MULTILINE)
    sources = {block.id: block.code for block in BLOCKS}
    for path in sorted((ROOT / "examples").rglob("*.py")):
        sources[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    offenders = [name for name, code in sources.items() if private.search(code)]
    assert not offenders, f"private chatconduit modules imported in {offenders}"
