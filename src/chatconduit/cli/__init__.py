"""The ``chatconduit`` command: ``chat URL``, ``demo`` and ``serve``.

A thin shell over the library: it parses arguments, builds a ``ChatClient`` on
an HTTP adapter, and shows what the client reports. Every failure ends as one
readable line and a documented exit status (``docs/cli.md``); a traceback only
with ``--debug``.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from ._args import ChatCommand, DemoCommand, ServeCommand, parse_command
from ._errors import ExitCode, UsageError, describe_error, exit_code_for

__all__ = ["main"]

_CLI_EXTRA = frozenset({"rich", "starlette", "uvicorn"})  # the ``cli`` extra


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        command = parse_command(args, os.environ)
    except SystemExit as exc:  # argparse: --help, --version, or a syntax error
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except UsageError as exc:
        sys.stderr.write(f"chatconduit: error: {exc}\n")
        return ExitCode.USAGE
    except KeyboardInterrupt:  # Ctrl-C while `-m -` waits for stdin
        return ExitCode.INTERRUPTED

    try:
        if isinstance(command, ServeCommand):
            from ._serve import run_serve

            return run_serve(command, sys.stdout, sys.stderr)
        # Imported late: rich and the client are only needed past this point, and
        # `chatconduit --help` should be instant.
        from ._chat import run_chat, run_demo

        if isinstance(command, DemoCommand):
            return run_demo(command)
        assert isinstance(command, ChatCommand)
        return run_chat(command)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return ExitCode.INTERRUPTED
    except ImportError as exc:
        if debug:
            traceback.print_exc()
        if exc.name in _CLI_EXTRA:
            sys.stderr.write(
                f"chatconduit: error: this command needs {exc.name}: "
                "pip install 'chatconduit[cli]'\n"
            )
        else:
            sys.stderr.write(f"chatconduit: error: {describe_error(exc)}\n")
        return ExitCode.FAILURE
    except Exception as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"chatconduit: error: {describe_error(exc)}\n")
        return exit_code_for(exc)
