"""``chatconduit.server`` and ``chatconduit.agents`` import without Starlette.

The Starlette-based names are resolved on first access; without Starlette that
access says which extra to install. Every check that hides Starlette runs in a
fresh interpreter, so the poisoned ``sys.modules`` never reaches other tests.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

import chatconduit.server as server
from chatconduit import _exceptions
from chatconduit.server import _STARLETTE_NAMES

HIDE_STARLETTE = "import sys\nsys.modules['starlette'] = None\n"


def run_without_starlette(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE_STARLETTE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_framework_neutral_names_import_without_starlette() -> None:
    result = run_without_starlette(
        """
        from chatconduit.server import (
            DEFAULT_HEARTBEAT, NDJSON_HEADERS, SSE_HEADERS, DurableRuns, InMemoryStreamLog,
            ReplayError, RunAgentInput, UserFacingError, http_stream, run_error_payload,
            server_sent_events_stream,
        )
        import sys
        assert not any(name.split('.')[0] == 'starlette' for name in sys.modules
                       if sys.modules[name] is not None), 'starlette was imported'
        print('ok')
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_framework_neutral_stream_works_without_starlette() -> None:
    result = run_without_starlette(
        """
        import asyncio
        from chatconduit.server import http_stream

        async def events():
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}

        async def main():
            return b"".join([chunk async for chunk in http_stream(events())])

        print(asyncio.run(main()).decode(), end="")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"type":"RUN_STARTED","threadId":"t","runId":"r"}\n'


@pytest.mark.parametrize("name", ["chat_endpoint", "to_http_response", "read_chat_request"])
def test_starlette_names_without_starlette_say_what_to_install(name: str) -> None:
    result = run_without_starlette(
        f"""
        try:
            from chatconduit.server import {name}
        except ImportError as exc:
            print(type(exc).__name__, exc)
        else:
            raise SystemExit('imported without Starlette')
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError ")
    assert f"chatconduit.server.{name} needs Starlette" in result.stdout
    assert 'pip install "chatconduit[server]"' in result.stdout


def test_star_import_of_the_package_works_without_starlette() -> None:
    # The client core must not need the server extra, not even for `import *`.
    result = run_without_starlette(
        """
        from chatconduit import *
        from chatconduit.events import *
        print(ChatClient.__name__, TextMessageContentEvent.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ChatClient", "TextMessageContentEvent"]


def test_agents_import_without_starlette() -> None:
    result = run_without_starlette(
        """
        from chatconduit.agents import OpenAICompatibleAgent, to_openai_messages
        print(OpenAICompatibleAgent.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OpenAICompatibleAgent"


def test_starlette_names_resolve_with_starlette() -> None:
    # Resolved as the package does (a leading dot: relative to chatconduit, not .server).
    for name, module in _STARLETTE_NAMES.items():
        loaded = importlib.import_module(f".{module}", "chatconduit.server")
        assert getattr(server, name) is getattr(loaded, name)


def test_all_and_dir_list_every_name() -> None:
    for name in server.__all__:
        assert getattr(server, name) is not None
    assert set(server.__all__) <= set(dir(server))
    assert set(_STARLETTE_NAMES) <= set(server.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    name = "no_such_name"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        getattr(server, name)


@pytest.mark.parametrize(
    "name",
    [
        "AgentOutputError",
        "PayloadTooLargeError",
        "ReplayError",
        "ReplayGapError",
        "RunExistsError",
        "StreamLogFullError",
        "UnknownRunError",
        "UserFacingError",
    ],
)
def test_server_errors_are_the_ones_of_the_tree(name: str) -> None:
    error = getattr(server, name)
    assert error is getattr(_exceptions, name)
    assert issubclass(error, _exceptions.ChatConduitError)


def test_moved_errors_keep_their_builtin_bases() -> None:
    from chatconduit.demo import CalculatorError

    assert CalculatorError is _exceptions.CalculatorError
    assert issubclass(CalculatorError, ValueError)
    assert issubclass(server.AgentOutputError, TypeError)
    assert issubclass(server.UnknownRunError, LookupError)
