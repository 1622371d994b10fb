"""``chatconduit chat`` and ``chatconduit demo``: a ChatClient on an HTTP adapter, shown live.

One :class:`ChatSession` is one conversation. It owns an event loop that lives
as long as the session, because the client's HTTP connections belong to the
loop that opened them; between replies the loop is idle while ``input()``
waits for the next line.

Ctrl-C while a reply streams calls ``ChatClient.stop()``: the request is
cancelled and its HTTP response closed (the server sees the disconnect), and
the partial reply stays on screen and in the conversation. A second Ctrl-C
before the stop has completed cancels everything and quits.

A reply that pauses on an approval or an ``ask_user`` call is continued in the
same exchange: the session asks (or applies ``--approve-all`` / ``--deny-all``)
once the request has ended, sends the answers, and shows the rest of the reply
(``_approvals.py``); ``-m`` without a policy stops there with exit status 7.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO, cast

import httpx
from rich.console import Console
from rich.text import Text

from .._bridges._auto import protocol_adapter
from .._client import ChatClient
from .._connection import (
    ConnectionStatusEvent,
    FetchOptions,
    WebSocketAdapter,
    WebSocketOptions,
    fetch_http_stream,
    fetch_server_sent_events,
    websocket,
)
from .._events import BaseEvent
from .._messages import ThinkingPart, UIMessage
from ._approvals import Asker, Questions, approval_needed_line, decide
from ._args import ChatCommand, DemoCommand, SessionOptions
from ._banners import chat_banner, demo_banner
from ._errors import ExitCode, describe_error, exit_code_for
from ._history import load_conversation, save_conversation
from ._pipes import PipeGuard, echo_off
from ._render import ThinkingMode, render_message
from ._repl import run_repl
from ._request import format_request, format_response_head
from ._serve import NDJSON_PATH, SSE_PATH, background_server, demo_app
from ._tools import builtin_tools
from ._views import LiveView, Outcome, PlainView, RawView, ReplyView, merge_reply

__all__ = ["ChatSession", "run_chat", "run_demo"]

CONNECT_TIMEOUT = 10.0
QUIT_WINDOW = 0.5


class _NoteHandler(logging.Handler):
    """Library warnings as one dim line each, through the view (so a live
    display is not torn by a stray write)."""

    def __init__(self, session: ChatSession) -> None:
        super().__init__(logging.WARNING)
        self._session = session

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._session.view.note(f"{record.levelname.lower()}: {record.getMessage()}")


class ChatSession:
    """A conversation with one endpoint, and the terminal it is shown on."""

    def __init__(
        self,
        url: str,
        options: SessionOptions,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        thread_id: str | None = None,
        protocol: str | None = None,
        model: str | None = None,
        api_key_env: str | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.options = options
        # A reader that closes the pipe (`| head`) stops the reply quietly (_pipes).
        self._pipe = PipeGuard(stdout or sys.stdout, self._reader_left)
        self._out = cast(TextIO, self._pipe)
        self._err = stderr or sys.stderr
        self.console = Console(file=self._out)
        self.err_console = Console(file=self._err, stderr=True, highlight=False)
        self.view: ReplyView = self._choose_view()
        self.thinking: ThinkingMode = options.thinking
        self._last_reply: UIMessage | None = None
        self._stopping = False  # Ctrl-C was pressed during this exchange
        self._quit_requested = False  # ... twice
        self._interrupted_at = 0.0
        self._quit_event = asyncio.Event()
        # Seconds after a first Ctrl-C within which a second one quits (interactive).
        self.quit_window = QUIT_WINDOW
        self._task: asyncio.Task[None] | None = None
        # What the agent asked during the reply (approvals, ask_user): answered once
        # the reply pauses, by asking (interactive), or by --approve-all / --deny-all.
        self.questions = Questions()
        self._one_shot = options.message is not None
        self._loop = asyncio.new_event_loop()

        hooks: dict[str, list[Any]] = {"request": [], "response": []}
        if options.show_request:
            hooks["request"].append(self._show_request)
            hooks["response"].append(self._show_response)
        # Our own httpx client: for the --show-request hooks, and so that closing the
        # session closes every connection it opened.
        self._http = httpx.AsyncClient(
            follow_redirects=True,
            timeout=httpx.Timeout(CONNECT_TIMEOUT, read=None, write=None),
            event_hooks=hooks,
        )
        fetch = fetch_server_sent_events if options.transport == "sse" else fetch_http_stream
        self._socket: WebSocketAdapter | None = None
        if url.lower().startswith(("ws://", "wss://")):  # TanStack 0.58's WebSocket protocol
            self._socket = websocket(url, WebSocketOptions(headers=dict(headers)))
        fetch_options = FetchOptions(
            headers=list(headers),
            client=self._http,
            on_status=self._on_status,
            deadline=options.timeout,
        )
        # --protocol: AG-UI, a Vercel UI message stream or OpenAI chat completions; without
        # it AG-UI, switching to Vercel when the endpoint says it speaks that.
        adapter = self._socket or protocol_adapter(
            protocol,
            url,
            fetch_options,
            agui=fetch,
            model=model,
            api_key_env=api_key_env,
            on_switch=lambda note: self.view.note(note),
        )
        self.client = ChatClient(
            adapter,
            thread_id=thread_id,
            forwarded_props=body,
            tools=builtin_tools(interactive=not self._one_shot),
            on_chunk=self._on_chunk,
            on_messages_change=self._on_messages_change,
            on_approval_request=self.questions.on_approval,
            on_tool_call=self.questions.on_tool_call,
        )
        self._log_handler = self._setup_logging()

    # ------------------------------------------------------------------ set-up

    def _choose_view(self) -> ReplyView:
        if self.options.raw:
            return RawView(self._out, self._err)
        if not self.console.is_terminal or self.console.is_dumb_terminal:
            return PlainView(self._out, self._err)
        return LiveView(self.console, self.options.thinking)

    def _setup_logging(self) -> logging.Handler:
        library = logging.getLogger("chatconduit")
        if self.options.debug:
            handler: logging.Handler = logging.StreamHandler(self._err)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            library.setLevel(logging.DEBUG)
        else:
            handler = _NoteHandler(self)
        library.addHandler(handler)
        return handler

    def _reader_left(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            self._loop.call_soon_threadsafe(client.stop)

    def close(self) -> None:
        """Close the client and every connection; nothing is left running."""
        logging.getLogger("chatconduit").removeHandler(self._log_handler)
        try:
            self._loop.run_until_complete(self.client.aclose())
            if self._socket is not None:
                self._loop.run_until_complete(self._socket.aclose())
            self._loop.run_until_complete(self._http.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ callbacks

    def _on_chunk(self, event: BaseEvent) -> None:
        self.view.on_event(event)

    def _on_messages_change(self, messages: Sequence[UIMessage]) -> None:
        self.view.on_change()

    def _on_status(self, event: ConnectionStatusEvent) -> None:
        self.view.on_connection(event)

    async def _show_request(self, request: httpx.Request) -> None:
        self.view.note(format_request(request))

    async def _show_response(self, response: httpx.Response) -> None:
        self.view.note(format_response_head(response))

    # ------------------------------------------------------------------ one exchange

    def exchange(
        self,
        text: str,
        *,
        send: Callable[[], Awaitable[object]] | None = None,
        base: int | None = None,
    ) -> Outcome:
        """Send ``text`` and show the reply until it ends, fails, or is stopped.
        (``send``: another request, e.g. ``reload``; its reply follows ``base``.)

        A reply that pauses on questions for the user (approvals, ``ask_user``) is
        continued with their answers (:meth:`_answer_questions`), in the same view."""
        self._stopping = self._quit_requested = False
        self._quit_event = asyncio.Event()
        self.questions.clear()
        outcome = Outcome()
        if base is None:
            base = len(self.client.messages)  # the user's message goes here; the reply after

        def reply() -> UIMessage | None:
            return merge_reply(self.client.messages, base + 1)

        self.view.begin(reply)
        self._run(send or (lambda: self.client.send_message(text)), outcome)
        while self.questions and not self._ended(outcome):
            if not self._answer_questions(outcome):
                break
        outcome.stopped = self._stopping and not outcome.quit
        self.view.end(outcome)
        outcome.quit = outcome.quit or self._pipe.broken  # the reader left: so do we (quietly)
        self._last_reply = reply()
        if outcome.error is not None:
            self.report(outcome.error)
        return outcome

    def _ended(self, outcome: Outcome) -> bool:
        return outcome.error is not None or outcome.quit or self._stopping

    def _answer_questions(self, outcome: Outcome) -> bool:
        """Answer what the paused reply asked and send the answers (which continues
        it); False when nobody could answer an approval (``-m``)."""
        approvals, calls = self.questions.take()
        asker: Asker | None = None
        paused = False
        if not self._one_shot and (calls or (approvals and self.options.approvals == "ask")):
            self.view.pause()
            paused = True
            asker = self._asker()
        answers = decide(
            approvals, calls, policy=self.options.approvals, asker=asker, note=self.view.note
        )
        if paused:
            self.view.resume()
        if answers is None:
            outcome.approval_needed = True
            self.view.pause()  # what arrived stays on screen; the line goes below it
            self.report_line(approval_needed_line(approvals))
            return False
        for answer in answers:
            self._run(functools.partial(answer.send, self.client), outcome)
            if self._ended(outcome):
                break
        return True

    def _asker(self) -> Asker:
        if isinstance(self.view, LiveView):
            return Asker(lambda text: self.console.print(text, highlight=False))
        # Plain or raw output: questions go with the notes (stderr), never into the reply.
        return Asker(lambda text: self.view.note(text.plain), prompts=False)

    def _run(self, action: Callable[[], Awaitable[object]], outcome: Outcome) -> None:
        """Run one step of the exchange (a request and what it triggers) on the loop,
        with Ctrl-C stopping it; record how it ended in ``outcome``."""
        task = self._loop.create_task(self._step(action, outcome))
        self._task = task
        # A plain signal handler rather than loop.add_signal_handler(): it runs as soon
        # as the signal arrives, even in the instant the loop is not running (just
        # after the reply ended), where a loop callback would wait for the next reply.
        previous: Any = None
        with contextlib.suppress(ValueError):  # not the main thread: Ctrl-C is not ours
            previous = signal.signal(signal.SIGINT, self._on_sigint)
        # What is typed during a live reply is not echoed into it (it stays queued for
        # the next prompt).
        hide_typing = isinstance(self.view, LiveView) and not self._one_shot
        try:
            with echo_off() if hide_typing else contextlib.nullcontext():
                while True:
                    try:
                        self._loop.run_until_complete(task)
                        break
                    except KeyboardInterrupt:  # our handler was not installed
                        self.interrupt()
            if self._stopping and not self._quit_requested:
                self._loop.run_until_complete(self._second_interrupt_window())
            # Two Ctrl-C in a row mean "quit", even when the first one had already
            # ended the reply by the time the second arrived.
            outcome.quit = outcome.quit or self._quit_requested
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self._task = None

    async def _second_interrupt_window(self) -> None:
        """Keep listening for a second Ctrl-C until ``quit_window`` after the first.

        Stopping takes milliseconds, so without this the second press of a quick
        double Ctrl-C would land in ``input()`` as it starts, where CPython can miss
        a signal (it only checks for one when the blocking read is interrupted).
        """
        remaining = self._interrupted_at + self.quit_window - time.monotonic()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quit_event.wait(), remaining)

    def _on_sigint(self, signum: int, frame: object) -> None:
        self.interrupt()

    def interrupt(self) -> None:
        """Ctrl-C: stop the reply; a second one before the prompt is back quits.

        Safe to call from a signal handler: it only sets flags and schedules the
        work on the loop."""
        task = self._task
        if self._stopping:
            self._quit_requested = True
            self._loop.call_soon_threadsafe(self._quit_event.set)
            if task is not None and not task.done():
                self._loop.call_soon_threadsafe(task.cancel)
            return
        self._stopping = True
        self._interrupted_at = time.monotonic()
        self._loop.call_soon_threadsafe(self.client.stop)

    async def _step(self, action: Callable[[], Awaitable[object]], outcome: Outcome) -> None:
        ticker = None
        if self.view.refresh_interval is not None:
            ticker = asyncio.create_task(self._tick(self.view.refresh_interval))
        try:
            await action()
        except asyncio.CancelledError:
            outcome.quit = True
        except Exception as exc:  # a bug rather than a failed request: still one line
            outcome.error = exc
        finally:
            if ticker is not None:
                ticker.cancel()
        if outcome.error is None and not outcome.quit:
            outcome.error = self.client.error

    async def _tick(self, interval: float) -> None:
        while True:
            self.view.tick()
            await asyncio.sleep(interval)

    def report(self, error: BaseException) -> None:
        if self.options.debug:
            self._err.write("".join(traceback.format_exception(error)))
        # soft_wrap: one line, as promised, even when stderr is not a terminal (rich
        # would otherwise break it at 80 columns, mid-URL, in a log or a pipe).
        self.report_line(describe_error(error))

    def report_line(self, text: str) -> None:
        """``error: <text>`` on stderr, on one line."""
        self.err_console.print(Text(f"error: {text}", style="red"), soft_wrap=True)

    # ------------------------------------------------------------------ the REPL's hooks

    def clear(self) -> None:
        self.client.clear()
        self._last_reply = None

    def retry(self) -> Outcome | None:
        """Ask the last question again (``reload``); None when there is none."""
        users = [i for i, m in enumerate(self.client.messages) if m.role == "user"]
        if not users:
            return None
        return self.exchange("", send=self.client.reload, base=users[-1])

    def save(self, path: str) -> int:
        return save_conversation(self.client.messages, path)

    def load(self, path: str) -> int:
        messages = load_conversation(path)
        self.client.set_messages(messages)
        return len(messages)

    def toggle_thinking(self) -> ThinkingMode:
        self.thinking = "expanded" if self.thinking == "auto" else "auto"
        if isinstance(self.view, LiveView):
            self.view.thinking = self.thinking
        return self.thinking

    def show_last_reply(self) -> bool:
        """Print the last reply again if it had thinking (after /thinking, to see
        what was collapsed)."""
        reply = self._last_reply
        if reply is None or not any(isinstance(p, ThinkingPart) for p in reply.parts):
            return False
        self.console.print(render_message(reply, thinking=self.thinking))
        return True

    # ------------------------------------------------------------------ modes

    def one_shot(self, text: str) -> int:
        self.quit_window = 0.0  # a Ctrl-C ends the program anyway
        outcome = self.exchange(text)
        if self._pipe.broken:
            return ExitCode.OK  # the reader had enough (`| head`), as Unix tools do
        if outcome.quit or outcome.stopped:
            return ExitCode.INTERRUPTED
        if outcome.error is not None:
            return exit_code_for(outcome.error)
        if outcome.approval_needed:
            return ExitCode.APPROVAL
        return ExitCode.OK

    def interactive(self, banner: Sequence[Text]) -> int:
        # With stdout piped, only replies go there: the banner and the loop's own
        # lines (help, notices) go to stderr.
        chrome = self.console if self.console.is_terminal else self.err_console
        for line in banner:
            chrome.print(line)
        code = run_repl(self, self.console, chrome=chrome)
        return ExitCode.OK if self._pipe.broken else code


def run_chat(command: ChatCommand) -> int:
    with ChatSession(
        command.url,
        command.session,
        headers=command.headers,
        body=command.body,
        thread_id=command.thread_id,
        protocol=command.protocol,
        model=command.model,
        api_key_env=command.api_key_env,
    ) as session:
        if command.session.message is not None:
            return session.one_shot(command.session.message)
        ws = command.url.lower().startswith(("ws://", "wss://"))
        transport = "ws" if ws else command.session.transport
        return session.interactive(chat_banner(command.url, transport))


def run_demo(command: DemoCommand) -> int:
    options = command.session
    with (
        _quiet_server_errors(options.debug),
        background_server(demo_app(command.delay), debug=options.debug) as base,
    ):
        url = base + (SSE_PATH if options.transport == "sse" else NDJSON_PATH)
        with ChatSession(url, options) as session:
            if options.message is not None:
                return session.one_shot(options.message)
            return session.interactive(demo_banner(url, options.transport))


@contextlib.contextmanager
def _quiet_server_errors(debug: bool) -> Iterator[None]:
    """The embedded server shares our terminal: keep its logs out of the chat unless
    --debug (a stopped reply, for one, is a disconnect it would log)."""
    logger = logging.getLogger("uvicorn.error")
    previous = logger.level
    if not debug:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)
