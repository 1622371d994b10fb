"""Command-line parsing: argv → one typed command object.

argparse does the syntax; what argparse cannot check (``-H`` values, the
``--body`` JSON, environment references) is checked here too, so that every
usage problem is reported before any connection is made, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .. import __version__
from ._errors import UsageError
from ._headers import HeaderSyntaxError, parse_header

if TYPE_CHECKING:  # rich is imported only when something is rendered
    from ._render import ThinkingMode

__all__ = [
    "ApprovalPolicy",
    "ChatCommand",
    "Command",
    "DemoCommand",
    "ServeCommand",
    "SessionOptions",
    "Transport",
    "build_parser",
    "parse_command",
]

Transport = Literal["sse", "ndjson"]
ApprovalPolicy = Literal["ask", "approve", "deny"]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# -m waits this long for the whole reply by default: a script must not hang on a
# server that keeps the stream open (heartbeats, or one byte at a time) forever.
DEFAULT_ONE_SHOT_TIMEOUT = 300.0


@dataclass(frozen=True)
class SessionOptions:
    """How a chat session talks and shows things; shared by ``chat`` and ``demo``."""

    transport: Transport = "sse"
    message: str | None = None  # one-shot mode when set
    raw: bool = False
    show_request: bool = False
    thinking: ThinkingMode = "auto"
    debug: bool = False
    timeout: float | None = None  # seconds for one reply (the adapter's deadline)
    approvals: ApprovalPolicy = "ask"  # --approve-all / --deny-all


@dataclass(frozen=True)
class ChatCommand:
    url: str
    session: SessionOptions
    headers: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    thread_id: str | None = None


@dataclass(frozen=True)
class DemoCommand:
    session: SessionOptions
    delay: float | None = None  # seconds between streamed words; None: the demo's default


@dataclass(frozen=True)
class ServeCommand:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    delay: float | None = None
    debug: bool = False


Command = ChatCommand | DemoCommand | ServeCommand

_EPILOG = """\
exit status: 0 ok, 2 usage error, 3 HTTP error, 4 connection error (refused,
dropped, stalled), 5 the agent reported an error (RUN_ERROR), 6 invalid stream,
7 an approval was needed in one-shot mode (-m without --approve-all/--deny-all),
130 interrupted, 1 anything else.
"""

_HEADER_HELP = """\
add a request header, 'Name: value' (repeatable). $NAME and ${NAME} in the
value are read from the environment, so tokens stay out of shell history:
-H 'Authorization: Bearer $TOKEN' (single quotes). $$ is a literal $.
"""


def _session_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("chat options")
    group.add_argument(
        "-m",
        "--message",
        metavar="TEXT",
        help="send one message, print the reply and exit ('-' reads it from stdin)",
    )
    group.add_argument(
        "--transport",
        choices=("sse", "ndjson"),
        default="sse",
        help="response framing: Server-Sent Events or newline-delimited JSON (default: sse)",
    )
    group.add_argument(
        "--raw",
        action="store_true",
        help="print every event as one JSON line instead of rendering the reply",
    )
    group.add_argument(
        "--show-request",
        action="store_true",
        help="print each request (URL, headers with secrets masked, body) to stderr",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help=(
            "give up on a reply that has not completed after SECONDS, retries and "
            f"reconnects included (default with -m: {DEFAULT_ONE_SHOT_TIMEOUT:g}; "
            "otherwise none; 0: no limit)"
        ),
    )
    answers = group.add_mutually_exclusive_group()
    answers.add_argument(
        "--approve-all",
        action="store_const",
        const="approve",
        dest="approvals",
        default="ask",
        help="approve every tool call the agent asks approval for, without asking",
    )
    answers.add_argument(
        "--deny-all",
        action="store_const",
        const="deny",
        dest="approvals",
        help=(
            "deny every approval without asking (with -m and neither flag, an approval "
            "ends the command with status 7)"
        ),
    )
    group.add_argument(
        "--thinking",
        action="store_true",
        help="always show the model's thinking in full (toggle with /thinking)",
    )
    parent.add_argument(
        "--debug", action="store_true", help="show tracebacks and transport logs on errors"
    )
    return parent


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ports are 0-65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatconduit",
        description="Chat with streaming AI backends (TanStack AI / AG-UI, SSE or NDJSON).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chatconduit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    session = _session_parent()

    chat = commands.add_parser(
        "chat",
        parents=[session],
        help="chat with a TanStack AI / AG-UI endpoint",
        description="Chat with any TanStack AI / AG-UI compatible endpoint.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument(
        "url", metavar="URL", help="the chat endpoint, e.g. http://host/api/chat or ws://host/ws"
    )
    chat.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help=_HEADER_HELP,
    )
    chat.add_argument(
        "--body",
        metavar="JSON",
        help="a JSON object sent as forwardedProps with every request",
    )
    chat.add_argument("--thread-id", metavar="ID", help="the thread id (default: a new one)")

    demo = commands.add_parser(
        "demo",
        parents=[session],
        help="chat with the built-in demo agent (no setup, no network)",
        description=(
            "Start the deterministic demo agent on a free local port and chat with it "
            "over a real socket."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--delay",
        type=_positive_float,
        metavar="SECONDS",
        help="pause between streamed words (default: the demo's own pace)",
    )

    serve = commands.add_parser(
        "serve",
        help="serve the demo agent over HTTP for other clients",
        description="Serve the demo agent's SSE and NDJSON chat routes until Ctrl-C.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0 picks one"
    )
    serve.add_argument(
        "--delay",
        type=_positive_float,
        metavar="SECONDS",
        help="pause between streamed words (default: the demo's own pace)",
    )
    serve.add_argument("--debug", action="store_true", help="show tracebacks and server logs")
    return parser


def parse_command(
    argv: Sequence[str], environ: Mapping[str, str], stdin_text: Any = None
) -> Command:
    """Parse ``argv``. argparse's own errors exit (status 2) as usual; the checks
    made here raise :class:`UsageError`. ``stdin_text`` is a callable returning
    stdin's text, used for ``-m -``."""
    ns = build_parser().parse_args(list(argv))
    if ns.command == "serve":
        return ServeCommand(host=ns.host, port=ns.port, delay=ns.delay, debug=ns.debug)

    message: str | None = ns.message
    if message == "-":
        message = (stdin_text or sys.stdin.read)()
    if message is not None and not message.strip():
        raise UsageError("the message (-m) is empty")
    timeout: float | None = ns.timeout
    if timeout is None and message is not None:
        timeout = DEFAULT_ONE_SHOT_TIMEOUT
    session = SessionOptions(
        transport=ns.transport,
        message=message,
        raw=ns.raw,
        show_request=ns.show_request,
        thinking="expanded" if ns.thinking else "auto",
        debug=ns.debug,
        timeout=timeout or None,  # 0: no limit
        approvals=ns.approvals,
    )
    if ns.command == "demo":
        return DemoCommand(session=session, delay=ns.delay)

    headers: list[tuple[str, str]] = []
    for spec in ns.header:
        try:
            headers.append(parse_header(spec, environ))
        except HeaderSyntaxError as exc:
            raise UsageError(f"-H: {exc}") from None
    return ChatCommand(
        url=_check_url(ns.url),
        session=session,
        headers=tuple(headers),
        body=_parse_body(ns.body),
        thread_id=ns.thread_id,
    )


def _check_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https", "ws", "wss") or not rest:
        # Not echoed: a URL may carry a token in its query string.
        raise UsageError("URL must start with http://, https://, ws:// or wss://")
    return url


def _parse_body(text: str | None) -> Mapping[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError("--body must be a JSON object (its keys become forwardedProps)")
    return value
