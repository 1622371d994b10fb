"""Issue 16: ``print_stream()``, the CLI's way of showing a reply, for scripts and notebooks.

Against the real demo server: a plain stream (a file), a real terminal (a pty, where
the Markdown is rendered live), both client kinds, and the install hint without rich.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pexpect
import pytest

from chatconduit import ChatClient, SyncChatClient, fetch_http_stream, print_stream
from chatconduit.demo import create_app
from servers import RunningServer, serve


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(create_app(delay=0.001)) as srv:
        yield srv


def test_sync_client_to_a_file(demo: RunningServer) -> None:
    out = io.StringIO()
    with SyncChatClient(fetch_http_stream(f"{demo.url}/api/chat/ndjson")) as chat:
        reply = print_stream(chat, "What is 12*7?", file=out)
    text = out.getvalue()
    assert "**84**" in text  # plain output: the Markdown as written
    assert "tool: calculator" in text  # tool calls as notes (into the same file)
    assert "84" in reply.text and [c.name for c in reply.tool_calls] == ["calculator"]
    assert text.endswith("\n")


async def test_async_client_to_a_file(demo: RunningServer) -> None:
    out = io.StringIO()
    async with ChatClient(fetch_http_stream(f"{demo.url}/api/chat/ndjson")) as client:
        first = await print_stream(client, "Tell me a story", file=out)
        second = await print_stream(client, "What is 2+2?", file=io.StringIO())
    assert first.text and first.text.split()[0] in out.getvalue()
    assert "**4**" in second.text and first.text not in second.text


def test_a_terminal_gets_the_live_markdown_view(demo: RunningServer, tmp_path: object) -> None:
    script = textwrap.dedent(
        f"""
        from chatconduit import SyncChatClient, fetch_http_stream, print_stream
        with SyncChatClient(fetch_http_stream("{demo.url}/api/chat/ndjson")) as chat:
            reply = print_stream(chat, "What is 12*7?")
        print("RESULT", "84" in reply.text)
        """
    )
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable, ["-c", script], env=env, dimensions=(40, 100), encoding="utf-8", timeout=30
    )
    child.expect("RESULT True")
    shown = child.before
    child.expect(pexpect.EOF)
    assert "84" in shown
    assert "**84**" not in shown  # rendered Markdown, not its source
    assert "\x1b[" in shown  # styled for the terminal


def test_without_rich_it_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from chatconduit import SyncChatClient, print_stream, stream\n"
        "try:\n"
        "    print_stream(None, 'hi')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'chatconduit[cli]'" in done.stdout
