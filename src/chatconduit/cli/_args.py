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
from dataclasses import dataclass, field
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
# serve --api-key reads the key from here: a value on the command line is visible to
# every user of the machine (ps, /proc/<pid>/cmdline).
API_KEY_ENV = "CHATCONDUIT_API_KEY"


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
    # --protocol: None reads AG-UI and switches to Vercel when the response says it is one.
    protocol: str | None = None
    model: str | None = None  # --model, for --protocol openai
    api_key_env: str = "OPENAI_API_KEY"  # the variable holding the key, never the key


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
    open_browser: bool = False  # --open: the playground in the default browser
    proxy: bool = False  # --proxy: the playground's CORS proxy route
    redis_url: str | None = None  # --redis-url: durable runs in Redis, shared by replicas
    redis_optional: bool = False  # --redis-optional: Redis down at start -> not durable
    agent: str | None = None  # --agent MODULE:ATTR; None: the demo agent
    api_key: str | None = field(default=None, repr=False)  # --api-key: from API_KEY_ENV
    openai_base_url: str | None = None  # --openai-base-url: serve OpenAICompatibleAgent
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # the upstream key's variable, read by serve


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
        "url",
        metavar="URL",
        help="the chat endpoint, e.g. http://127.0.0.1:8000/api/chat/sse (what `chatconduit "
        "serve` offers), http://host/api/chat or ws://host/ws",
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
    chat.add_argument(
        "--protocol",
        choices=("agui", "vercel", "openai"),
        help="what the endpoint speaks: AG-UI events, a Vercel AI SDK UI message stream, or "
        "OpenAI-compatible chat completions (URL: the API root, e.g. http://host/v1). "
        "Default: AG-UI, switching to Vercel when the response says it is one",
    )
    chat.add_argument("--model", metavar="NAME", help="the model, for --protocol openai")
    chat.add_argument(
        "--api-key-env",
        metavar="VAR",
        default="OPENAI_API_KEY",
        help="the environment variable holding the API key for --protocol openai "
        "(default: OPENAI_API_KEY; a key is never given on the command line)",
    )

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
        help="serve the demo agent (or your own, --agent) over HTTP for other clients",
        description=(
            "Serve the demo agent's (or your --agent's) SSE and NDJSON chat routes until "
            "Ctrl-C or SIGTERM; replies still running then end with a RUN_ERROR saying "
            "the server is stopping."
        ),
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
    serve.add_argument(
        "--redis-url",
        metavar="redis://HOST:PORT/DB",
        help="keep durable runs in this Redis, shared by every replica started with it "
        "(resume, joinRun, hydrate and stop work across replicas)",
    )
    serve.add_argument(
        "--redis-optional",
        action="store_true",
        help="if Redis cannot be reached at start, serve runs that are not durable "
        "instead of exiting with an error",
    )
    serve.add_argument(
        "--openai-base-url",
        metavar="URL",
        help="serve a real model instead of the demo: any OpenAI-compatible API root "
        "(http://host/v1), with --model; the key is read from --api-key-env",
    )
    serve.add_argument("--model", metavar="NAME", help="the model, with --openai-base-url")
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        default="OPENAI_API_KEY",
        help="the environment variable holding the upstream API key (default: OPENAI_API_KEY)",
    )
    serve.add_argument(
        "--agent",
        metavar="MODULE:ATTR",
        help="serve your own agent: an async generator function agent(params, request) "
        "(or a class making one), importable from the current directory",
    )
    serve.add_argument(
        "--api-key",
        action="store_true",
        help=f"require 'Authorization: Bearer <key>', the key read from ${API_KEY_ENV} "
        "(never from the command line, where ps shows it)",
    )
    serve.add_argument(
        "--open", action="store_true", help="open the playground page in the default browser"
    )
    serve.add_argument(
        "--proxy",
        action="store_true",
        help="let the playground reach other backends through this server (CORS proxy; "
        "it forwards to any URL the page names, so bind to a trusted interface only)",
    )
    return parser


def parse_command(
    argv: Sequence[str], environ: Mapping[str, str], stdin_text: Any = None
) -> Command:
    """Parse ``argv``. argparse's own errors exit (status 2) as usual; the checks
    made here raise :class:`UsageError`. ``stdin_text`` is a callable returning
    stdin's text, used for ``-m -``."""
    ns = build_parser().parse_args(list(argv))
    if ns.command == "serve":
        return ServeCommand(
            host=ns.host,
            port=ns.port,
            delay=ns.delay,
            debug=ns.debug,
            open_browser=ns.open,
            proxy=ns.proxy,
            redis_url=ns.redis_url,
            redis_optional=ns.redis_optional,
            agent=ns.agent,
            api_key=_api_key(environ) if ns.api_key else None,
            openai_base_url=_openai_base_url(ns.openai_base_url, ns.model, ns.agent),
            model=ns.model,
            api_key_env=ns.api_key_env,
        )

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
        protocol=ns.protocol,
        model=_chat_model(ns.protocol, ns.model),
        api_key_env=ns.api_key_env,
    )


def _openai_base_url(url: str | None, model: str | None, agent: str | None) -> str | None:
    if url is None:
        if model is not None:
            raise UsageError("--model needs --openai-base-url")
        return None
    if agent is not None:
        raise UsageError("give --agent or --openai-base-url, not both")
    if not model:
        raise UsageError("--openai-base-url needs --model NAME")
    return _check_url(url)


def _chat_model(protocol: str | None, model: str | None) -> str | None:
    if protocol == "openai" and not model:
        raise UsageError("--protocol openai needs --model NAME")
    return model


def _api_key(environ: Mapping[str, str]) -> str:
    key = environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise UsageError(
            f"--api-key reads the key from ${API_KEY_ENV}, which is empty or not set "
            f"(export {API_KEY_ENV}=...)"
        )
    return key


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
