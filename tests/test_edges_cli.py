"""Issue 16: the ``chatconduit`` command in pipes, on the way down, and with your own agent.

Real processes: the installed CLI (``python -m chatconduit``) against a real uvicorn,
a shell pipeline into ``head``, signals to a real ``serve``, a pty for the echo.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatconduit import ChatClient, fetch_server_sent_events
from chatconduit.demo import create_app
from servers import RunningServer, serve

CLI = [sys.executable, "-m", "chatconduit"]
ENV = {k: v for k, v in os.environ.items() if k != "CHATCONDUIT_API_KEY"}
ENV["COLUMNS"] = "200"


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(create_app(delay=0.002)) as srv:
        yield srv


def run(*args: str, stdin: str | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=kw.pop("env", ENV),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


class Served:
    """``chatconduit serve --port 0 ...`` in a subprocess."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or ENV,
            cwd=cwd,
        )
        assert self.process.stdout is not None
        self.banner: list[str] = []
        deadline = time.monotonic() + 30
        self.sse = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            if match := re.search(r"SSE\s+POST (\S+)", line):
                self.sse = match.group(1)
            if line.startswith("Press Ctrl-C"):
                break
        assert self.sse, "".join(self.banner) + (self.process.stderr.read() if not line else "")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


# ---------------------------------------------------------------------------- pipes


def test_a_reader_leaving_the_pipe_is_a_quiet_exit_0(demo: RunningServer) -> None:
    url = f"{demo.url}/api/chat/sse"
    interactive = f"printf 'Tell me a story\\nwhat is 2+2?\\n' | {' '.join(CLI)} chat {url}"
    for shell in (
        f"{' '.join(CLI)} chat {url} -m 'Tell me a story' | head -1",
        f"{' '.join(CLI)} chat {url} -m 'Tell me a story' --raw | head -1",
        f"{interactive} 2>/dev/null | head -1",  # the REPL ends too: its reader is gone
    ):
        done = subprocess.run(
            ["bash", "-c", shell + "; echo rc=${PIPESTATUS[-2]} >&2"],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
        )
        # Before: 41-53 "BrokenPipeError" lines and exit status 1.
        assert done.stderr.strip() == "rc=0", done.stderr
        assert len(done.stdout.splitlines()) == 1


def test_piped_interactive_output_holds_replies_only(demo: RunningServer) -> None:
    done = run("chat", f"{demo.url}/api/chat/sse", stdin="what is 2+2?\n")
    assert done.returncode == 0, done.stderr
    assert "4" in done.stdout
    assert "Ctrl-C stops a reply" not in done.stdout  # the banner...
    assert "Ctrl-C stops a reply" in done.stderr  # ...is on stderr


def test_errors_carry_hints(demo: RunningServer) -> None:
    missing = run("chat", f"{demo.url}/api/chat", "-m", "hi")
    assert missing.returncode == 3
    assert "HTTP 404" in missing.stderr and "/api/chat/sse" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    with socketless_port() as port:
        refused = run("chat", f"http://127.0.0.1:{port}/api/chat/sse", "-m", "hi")
    assert refused.returncode == 4
    assert "is the server running?" in refused.stderr


def test_chat_help_example_url_works_against_serve() -> None:
    helped = run("chat", "--help")
    match = re.search(r"e\.g\. (http://127\.0\.0\.1:8000\S*?)\s", helped.stdout.replace("\n", " "))
    assert match, helped.stdout
    served = Served("--delay", "0")
    try:
        port = served.sse.split(":")[2].split("/")[0]
        example = match.group(1).replace(":8000", f":{port}")
        done = run("chat", example, "-m", "what is 2+2?")
        assert done.returncode == 0, done.stderr
        assert "4" in done.stdout
    finally:
        served.stop()


# ---------------------------------------------------------------------------- serve


async def _reply_then_signal(served: Served, sig: int) -> ChatClient:
    client = ChatClient(fetch_server_sent_events(served.sse))
    task = asyncio.create_task(client.send_message("Tell me a story"))
    deadline = time.monotonic() + 20
    while not (client.messages and client.messages[-1].role == "assistant"):
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.02)
    served.process.send_signal(sig)
    await asyncio.wait_for(task, 20)
    await client.aclose()
    return client


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_serve_ends_running_replies_cleanly_when_stopped(sig: int) -> None:
    served = Served("--delay", "0.3")  # a story takes many seconds at this pace
    client = await _reply_then_signal(served, sig)
    out, err = await asyncio.to_thread(served.process.communicate, timeout=30)
    # The reply ended with a RUN_ERROR saying why, not with a broken chunked read.
    assert client.error is not None
    assert "server is stopping" in str(client.error), repr(client.error)
    assert client.messages[-1].text  # the partial reply stays
    assert served.process.returncode == 0
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in err and "graceful shutdown" not in err, err


def test_serve_your_own_agent_with_an_api_key(tmp_path: Path) -> None:
    (tmp_path / "my_agent.py").write_text(
        textwrap.dedent(
            """
            from chatconduit.server import EventBuilder

            async def agent(params, request):
                ev = EventBuilder(params)
                yield ev.start()
                for event in ev.text("Hello from my agent!"):
                    yield event
                yield ev.finish()
            """
        )
    )
    key = "k-" + os.urandom(8).hex()
    served = Served(
        "--agent",
        "my_agent:agent",
        "--api-key",
        env={**ENV, "CHATCONDUIT_API_KEY": key},
        cwd=tmp_path,
    )
    try:
        assert served.banner[0].startswith("chatconduit server: my_agent:agent")
        cmdline = Path(f"/proc/{served.process.pid}/cmdline").read_bytes()
        assert key.encode() not in cmdline  # never visible in ps
        assert key not in "".join(served.banner)
        refused = run("chat", served.sse, "-m", "hi")
        assert refused.returncode == 3 and "401" in refused.stderr
        env = {**ENV, "CHATCONDUIT_API_KEY": key}
        header = "Authorization: Bearer $CHATCONDUIT_API_KEY"
        done = run("chat", served.sse, "-m", "hi", "-H", header, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Hello from my agent!"
    finally:
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err


def test_serve_sets_its_garbage_collector_thresholds(tmp_path: Path) -> None:
    """``serve`` collects less often than CPython's default (docs/deployment.md, "Many
    streams in one process"); the agent reports what the serving process has."""
    (tmp_path / "gc_agent.py").write_text(
        textwrap.dedent(
            """
            import gc

            from chatconduit.server import EventBuilder

            async def agent(params, request):
                ev = EventBuilder(params)
                yield ev.start()
                for event in ev.text(repr(gc.get_threshold())):
                    yield event
                yield ev.finish()
            """
        )
    )
    from chatconduit.cli._serve import GC_THRESHOLDS

    served = Served("--agent", "gc_agent:agent", cwd=tmp_path)
    try:
        done = run("chat", served.sse, "-m", "hi")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == repr(GC_THRESHOLDS) != repr((700, 10, 10))
    finally:
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err


def test_serve_agent_and_key_problems_are_one_line() -> None:
    no_key = run("serve", "--port", "0", "--api-key")
    assert no_key.returncode == 2 and "CHATCONDUIT_API_KEY" in no_key.stderr
    bad = run("serve", "--port", "0", "--agent", "no_such_module_xyz:agent")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "chatconduit: error: --agent: cannot import 'no_such_module_xyz': "
        "No module named 'no_such_module_xyz'"
    )
    shape = run("serve", "--port", "0", "--agent", "nocolon")
    assert shape.returncode == 2 and "MODULE:ATTR" in shape.stderr
    not_agent = run("serve", "--port", "0", "--agent", "os:sep")
    assert not_agent.returncode == 2 and "not an agent" in not_agent.stderr


# ---------------------------------------------------------------------------- the tty


def test_echo_is_off_while_a_reply_streams() -> None:
    import pty
    import termios

    from chatconduit.cli._pipes import echo_off

    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "r", closefd=False) as stream:
            assert termios.tcgetattr(follower)[3] & termios.ECHO
            with echo_off(stream):
                assert not termios.tcgetattr(follower)[3] & termios.ECHO
                assert termios.tcgetattr(follower)[3] & termios.ICANON  # lines still queue
            assert termios.tcgetattr(follower)[3] & termios.ECHO
    finally:
        os.close(leader)
        os.close(follower)


class socketless_port:
    """A port nothing listens on (bound, never listening, so it stays ours)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_typing_during_a_live_reply_is_not_echoed_into_it() -> None:
    import pexpect

    env = {**ENV, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    with serve(create_app(delay=0.05)) as srv:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "chatconduit", "chat", f"{srv.url}/api/chat/sse"],
            env=env,
            dimensions=(40, 120),
            encoding="utf-8",
            timeout=30,
        )
        child.expect("you›")
        child.sendline("Tell me a story")
        child.expect("streaming")  # the live view is up
        child.send("zqx")  # typed while the reply streams, no Enter yet
        child.expect("you›")  # the reply ended; the prompt is back
        # Before: the keys were echoed into the live view, glued to the status line.
        assert "zqx" not in child.before
        child.expect("zqx")  # the queued keys show at the new prompt, ready to edit
        child.sendline("")  # Enter: the queued text is the next message...
        child.expect("You said")
        child.expect("you›")
        assert "zqx" in child.before  # ...which the demo echoes
        child.sendline("/exit")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0


# ---------------------------------------------------------------------------- REPL history


def test_repl_save_clear_load_retry(demo: RunningServer, tmp_path: Path) -> None:
    saved = tmp_path / "chat.json"
    script = "\n".join(
        [
            "what is 2+2?",
            "/retry",
            f"/save {saved}",
            "/clear",
            "/retry",
            f"/load {saved}",
            "/retry",
            f"/load {tmp_path / 'missing.json'}",
            "/save",
        ]
    )
    done = run("chat", f"{demo.url}/api/chat/sse", stdin=script + "\n")
    assert done.returncode == 0, done.stderr
    # Three replies to the same question: the first, /retry, and /retry after /load.
    assert done.stdout.count("**4**") == 3, done.stdout
    data = json.loads(saved.read_text(encoding="utf-8"))
    roles = [m["role"] for m in data]
    assert roles[0] == "user" and set(roles[1:]) == {"assistant"}  # /retry replaced the reply
    assert roles.count("user") == 1
    assert data[0]["parts"][0]["content"] == "what is 2+2?"
    err = done.stderr
    assert f"saved {len(data)} messages to {saved}" in err
    assert "conversation cleared" in err
    assert "nothing to retry yet" in err  # after /clear
    assert f"loaded {len(data)} messages from {saved}" in err
    assert "error: cannot read" in err and "missing.json" in err
    assert "/save needs a file name" in err


def test_a_broken_conversation_file_is_one_line(tmp_path: Path) -> None:
    from chatconduit.cli._history import HistoryError, load_conversation

    bad = tmp_path / "bad.json"
    for content, expected in [
        ("{not json", "is not JSON"),
        ('{"messages": []}', "no conversation"),
        ('[{"id": "u", "role": "wizard", "parts": []}]', "[0].role"),
    ]:
        bad.write_text(content)
        with pytest.raises(HistoryError, match=re.escape(expected)) as caught:
            load_conversation(str(bad))
        assert "\n" not in str(caught.value)
