"""What the user sees when something fails: one line, and an exit status per kind.

The exit statuses let a script tell "my token is wrong" (HTTP) from "the
server is down" (connection) from "the model failed" (run) without parsing
text. They are documented in ``docs/cli.md``; keep the two in step.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from .._exceptions import (
    ChatConduitError,
    ConnectError,
    HTTPStatusError,
    ProtocolError,
    RedirectError,
    RunError,
    TransportError,
)

__all__ = ["ExitCode", "UsageError", "describe_error", "exit_code_for", "server_message"]


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # anything not covered below (a bug, an unexpected exception)
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    HTTP = 3  # the server answered with a non-2xx status
    CONNECTION = 4  # could not connect, or the connection broke / stalled mid-stream
    RUN = 5  # the server reported RUN_ERROR
    PROTOCOL = 6  # the server's bytes are not a valid event stream
    APPROVAL = 7  # one-shot mode: the agent asked for an approval nobody could give
    INTERRUPTED = 130  # Ctrl-C in one-shot mode (128 + SIGINT, as shells report it)


class UsageError(ChatConduitError):
    """A command-line problem found after argparse (bad ``-H``, bad ``--body``)."""


def exit_code_for(error: BaseException) -> ExitCode:
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, HTTPStatusError):
        return ExitCode.HTTP
    if isinstance(error, TransportError):
        return ExitCode.CONNECTION
    if isinstance(error, RunError):
        return ExitCode.RUN
    if isinstance(error, ProtocolError):
        return ExitCode.PROTOCOL
    return ExitCode.FAILURE


def describe_error(error: BaseException) -> str:
    """One readable line (no newline, no traceback) saying what went wrong."""
    if isinstance(error, RedirectError):
        text = str(error)  # the redirect response has no body to show; the refusal says it
    elif isinstance(error, HTTPStatusError):
        text = f"HTTP {error.status_code}"
        if error.reason:
            text += f" {error.reason}"
        message, code = _server_parts(error.body)
        # "HTTP 401 Unauthorized: Unauthorized [unauthorized]" says one thing three
        # times: what merely restates the status line is left out.
        if message and not _restates(message, error.reason):
            text += f": {message}"
        if code and not _restates(code, error.reason):
            text += f" [{code}]"
        if error.url:
            text += f" ({error.url})"
        hint = _protocol_hint(error) or _not_found_hint(error)
        if hint:
            text += f"; {hint}"
    elif isinstance(error, RunError):
        text = f"the agent failed: {error}"
        if error.code:
            text += f" [{error.code}]"
    elif isinstance(error, ProtocolError):
        text = f"the server sent an invalid stream: {error}"
    elif isinstance(error, ChatConduitError):
        text = str(error) or type(error).__name__
        if isinstance(error, ConnectError) and _refused(error):
            text += "; is the server running? (`chatconduit serve` starts the demo one)"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return _one_line(text)


def server_message(body: str, limit: int = 300) -> str:
    """The human part of an error body: ``{"error": {"message"}}`` and the usual
    variants (``{"error": "..."}``, ``{"message"}``, ``{"detail"}``), else the text
    itself. HTML error pages say nothing a status line does not, so they are dropped."""
    message, code = _server_parts(body, limit)
    return f"{message} [{code}]" if message and code else message


def _server_parts(body: str, limit: int = 300) -> tuple[str, str | None]:
    """``(message, code)`` of an error body; see :func:`server_message`."""
    stripped = body.strip()
    if not stripped:
        return "", None
    try:
        parsed: Any = json.loads(stripped)
    except ValueError:
        parsed = None
    code: str | None = None
    if parsed is not None:
        found = _message_in(parsed)
        text, code = found if found is not None else (stripped, None)
    elif stripped.startswith("<"):
        return "", None
    else:
        text = stripped
    text = _one_line(text)
    return (text if len(text) <= limit else text[: limit - 1] + "…"), code


def _message_in(value: Any) -> tuple[str, str | None] | None:
    if isinstance(value, str):
        return value, None
    if isinstance(value, list):
        return _validation_errors(value)
    if not isinstance(value, dict):
        return None
    for key in ("error", "message", "detail", "error_description"):
        if key in value:
            found = _message_in(value[key])
            if found and found[0]:
                code = value.get("code") if key == "message" else None
                return (found[0], code) if isinstance(code, str) and code else found
    return None


def _validation_errors(items: list[Any]) -> tuple[str, str | None] | None:
    """A FastAPI / pydantic 422 ``detail`` list (or pydantic-ai's bare list) as one short
    line: where and what of the first problem, and how many more. Never its ``input``:
    that is our own request body echoed back, conversation and secrets included."""
    problems = [
        item for item in items if isinstance(item, dict) and isinstance(item.get("msg"), str)
    ]
    if not problems:
        return None
    first = problems[0]
    loc = first.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) and loc else ""
    text = f"{where}: {first['msg']}" if where else str(first["msg"])
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more)"
    return text, None


def _protocol_hint(error: HTTPStatusError) -> str | None:
    """Which ``--protocol`` would read this endpoint, when its refusal says so."""
    if error.status_code in (400, 422) and "'trigger'" in error.body:
        return "the endpoint expects a Vercel AI SDK chat request: try --protocol vercel"
    return None


def _not_found_hint(error: HTTPStatusError) -> str | None:
    if error.status_code != 404:
        return None
    return "check the path (`chatconduit serve` offers POST /api/chat/sse and /api/chat/ndjson)"


def _refused(error: BaseException) -> bool:
    """Whether nothing listens there (refused), as opposed to a DNS failure or a timeout."""
    seen: BaseException | None = error
    for _ in range(8):  # the cause chain, bounded
        if seen is None:
            break
        if (
            isinstance(seen, ConnectionRefusedError)
            or "All connection attempts failed" in str(seen)
            or "Connection refused" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _restates(text: str, reason: str) -> bool:
    """``Unauthorized``, ``unauthorized`` and ``UNAUTHORIZED`` all restate the reason
    ``Unauthorized``; ``not_found`` restates ``Not Found``."""
    return _words(text) == _words(reason)


def _words(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def _one_line(text: str) -> str:
    return " ".join(text.split())
