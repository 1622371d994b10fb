"""The CLI's pure pieces: rendering messages, the plain printer, the status line, errors.

Renderables are printed into a recording rich Console (no terminal involved)
and the text a person would see is asserted.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TextIO

import pytest
from rich.console import Console, RenderableType

from chatconduit import (
    ConnectError,
    ConnectionStatus,
    ConnectionStatusEvent,
    HTTPStatusError,
    MalformedEventError,
    RunError,
    StreamReadError,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
)
from chatconduit.cli._errors import ExitCode, describe_error, exit_code_for, server_message
from chatconduit.cli._plain import PlainPrinter
from chatconduit.cli._render import TailCrop, format_arguments, markdown_tail, render_message
from chatconduit.cli._status import StatusLine
from chatconduit.events import parse_event


def shown(renderable: RenderableType, width: int = 70) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def assistant(*parts: object) -> UIMessage:
    return UIMessage(id="a1", role="assistant", parts=list(parts))


# --------------------------------------------------------------------------- messages


def test_markdown_is_rendered_not_shown_raw() -> None:
    text = shown(
        render_message(assistant(TextPart(content="Some **bold** and `code`.\n\n- one\n- two")))
    )
    assert "Some bold and code." in text
    assert "**" not in text and "`" not in text
    assert "• one" in text and "• two" in text


def test_thinking_is_shown_while_thinking_and_collapses_once_the_answer_starts() -> None:
    thinking = ThinkingPart(content="Two is prime. Three is prime.", step_id="s1")
    while_thinking = shown(render_message(assistant(thinking)))
    assert "Two is prime. Three is prime." in while_thinking

    answered = assistant(thinking, TextPart(content="Primes are infinite."))
    collapsed = shown(render_message(answered))
    assert "Two is prime" not in collapsed
    assert "thought · 6 words" in collapsed
    assert collapsed.index("thought") < collapsed.index("Primes are infinite.")

    expanded = shown(render_message(answered, thinking="expanded"))
    assert "Two is prime. Three is prime." in expanded
    assert expanded.index("Two is prime") < expanded.index("Primes are infinite.")


def test_tool_call_shows_name_arguments_and_its_result() -> None:
    message = assistant(
        ToolCallPart(
            id="c1", name="calculator", arguments='{"expression":"12*7"}', state="input-complete"
        ),
        ToolResultPart(tool_call_id="c1", content='{"value":84}'),
        TextPart(content="It is 84."),
    )
    lines = shown(render_message(message)).splitlines()
    assert lines[0] == '⚙ calculator(expression="12*7")'
    assert lines[1] == '  ↳ {"value": 84}'
    assert lines[2] == ""  # the answer is set apart from the tool call
    assert lines[3] == "It is 84."


def test_tool_call_states_before_a_result() -> None:
    streaming = ToolCallPart(
        id="c1", name="calculator", arguments='{"expr', state="input-streaming"
    )
    assert shown(render_message(assistant(streaming))) == '⚙ calculator({"expr  …'
    running = ToolCallPart(id="c1", name="clock", arguments="{}", state="input-complete")
    assert shown(render_message(assistant(running))).splitlines() == ["⚙ clock()", "  ↳ running…"]


def test_failed_tool_result_shows_the_error() -> None:
    message = assistant(
        ToolCallPart(
            id="c1", name="calculator", arguments='{"expression":"1/0"}', state="input-complete"
        ),
        ToolResultPart(tool_call_id="c1", content="", state="error", error="division by zero"),
    )
    assert "✗ division by zero" in shown(render_message(message))


def test_result_without_its_call_is_still_shown() -> None:
    message = assistant(ToolResultPart(tool_call_id="zz", content="done"))
    assert shown(render_message(message)) == "  ↳ done"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1, "b": "x"}', '(a=1, b="x")'),
        ("", "()"),
        ("[1, 2]", "([1, 2])"),
        ('{"city": "Pa', '({"city": "Pa'),
    ],
)
def test_format_arguments(arguments: str, expected: str) -> None:
    assert format_arguments(arguments) == expected


def test_tail_crop_keeps_only_the_last_lines() -> None:
    text = "\n\n".join(f"paragraph {i}" for i in range(10))
    cropped = shown(TailCrop(render_message(assistant(TextPart(content=text))), 3))
    assert "paragraph 9" in cropped
    assert "paragraph 0" not in cropped
    assert len(cropped.splitlines()) == 3


def test_markdown_tail_cuts_between_blocks_and_never_inside_code() -> None:
    text = "intro\n\n```python\na = 1\n\nb = 2\n```\n\nlast line"
    assert markdown_tail(text, 1) == "last line"  # cut at the blank line after the fence
    # Two lines are needed: the blank line inside the code block is no place to cut.
    assert markdown_tail(text, 2).startswith("```python\na = 1")
    assert markdown_tail(text, 100) == text
    one_block = "\n".join(f"line {i}" for i in range(50))
    assert markdown_tail(one_block, 5).splitlines() == [f"line {i}" for i in range(45, 50)]


def test_rendering_only_the_tail_shows_what_the_whole_would_show_at_the_bottom() -> None:
    text = "\n\n".join(
        f"## Section {i}\n\nSome **bold** words, `code`.\n\n```\ncode {i}\n```" for i in range(60)
    )
    message = assistant(
        ThinkingPart(content="a thought"),
        ToolCallPart(id="c", name="clock", arguments="{}", state="input-complete"),
        TextPart(content=text),
    )
    whole = shown(TailCrop(render_message(message), 12))
    tail = shown(TailCrop(render_message(message, tail_lines=12), 12))
    assert tail == whole
    assert "code 59" in tail


# --------------------------------------------------------------------------- plain output


def test_plain_printer_appends_only_what_is_new() -> None:
    out, notes = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, notes)
    printer.update(assistant(ThinkingPart(content="hmm")))
    assert notes.getvalue() == ""  # thinking is noted once it is complete
    printer.update(assistant(ThinkingPart(content="hmm, yes"), TextPart(content="Hel")))
    printer.update(assistant(ThinkingPart(content="hmm, yes"), TextPart(content="Hello **world**")))
    printer.finish()
    assert out.getvalue() == "Hello **world**\n"
    assert notes.getvalue() == "thinking: hmm, yes\n"


def test_plain_printer_notes_tool_calls_and_starts_a_new_paragraph_after_them() -> None:
    out, notes = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, notes)
    call = ToolCallPart(id="c1", name="calculator", arguments='{"expression":"2+2"}')
    printer.update(assistant(TextPart(content="Let me check."), call))
    assert notes.getvalue() == ""  # arguments may still be streaming
    call.state = "input-complete"
    result = ToolResultPart(tool_call_id="c1", content="4")
    printer.update(assistant(TextPart(content="Let me check."), call, result))
    printer.update(
        assistant(TextPart(content="Let me check."), call, result, TextPart(content="It is 4."))
    )
    printer.finish()
    assert out.getvalue() == "Let me check.\n\nIt is 4.\n"
    assert notes.getvalue() == 'tool: calculator(expression="2+2")\ntool: calculator → 4\n'


def test_plain_printer_sharing_one_stream_keeps_notes_on_their_own_lines() -> None:
    out = io.StringIO()
    printer = PlainPrinter(out, out)
    call = ToolCallPart(id="c1", name="clock", arguments="{}", state="input-complete")
    printer.update(assistant(TextPart(content="Checking"), call))
    printer.update(assistant(TextPart(content="Checking"), call, TextPart(content="Noon.")))
    printer.finish()
    assert out.getvalue() == "Checking\ntool: clock()\n\nNoon.\n"


def print_text_then_a_tool_call(out: TextIO, notes: TextIO) -> None:
    """The demo's calculator reply: text without a newline, then a note about a tool call."""
    printer = PlainPrinter(out, notes)
    call = ToolCallPart(id="c1", name="clock", arguments="{}", state="input-complete")
    printer.update(assistant(TextPart(content="Checking"), call))
    printer.update(assistant(TextPart(content="Checking"), call, TextPart(content="Noon.")))
    printer.finish()


def test_plain_printer_ends_the_line_when_stdout_and_stderr_share_a_pipe() -> None:
    # `chatconduit ... 2>&1 | less`: two file objects, one pipe. Without the check
    # for a shared destination the note is glued to the text: "Checkingtool: clock()".
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader:
        with (
            os.fdopen(write_fd, "w", encoding="utf-8") as out,
            os.fdopen(os.dup(write_fd), "w", encoding="utf-8") as notes,
        ):
            print_text_then_a_tool_call(out, notes)
        assert reader.read().decode() == "Checking\ntool: clock()\n\nNoon.\n"


def test_plain_printer_adds_no_newline_when_stdout_goes_elsewhere(tmp_path: Path) -> None:
    # `chatconduit ... > answer.md`: stdout a file, stderr the terminal. The file gets
    # the reply exactly as written, with no line break where the note was.
    with (
        open(tmp_path / "answer.md", "w", encoding="utf-8") as out,
        open(tmp_path / "notes.txt", "w", encoding="utf-8") as notes,
    ):
        print_text_then_a_tool_call(out, notes)
    assert (tmp_path / "answer.md").read_text() == "Checking\n\nNoon.\n"
    assert (tmp_path / "notes.txt").read_text() == "tool: clock()\n"


# --------------------------------------------------------------------------- status line


def status(kind: ConnectionStatus, **extra: object) -> ConnectionStatusEvent:
    return ConnectionStatusEvent(kind, "http://x/api", **extra)  # type: ignore[arg-type]


def delta(text: str) -> object:
    return parse_event({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": text})


def test_status_line_walks_through_a_request() -> None:
    line = StatusLine()
    line.start(now=100.0)
    assert line.render(100.2).plain.endswith("connecting… 0.2s")
    line.on_connection(status(ConnectionStatus.OPEN), now=100.3)
    assert "waiting for the reply" in line.render(100.3).plain
    for i in range(11):  # 11 deltas, one every 0.1 s from t=101.0: 10 intervals in 1 s
        line.on_event(delta("w "), now=101.0 + i / 10)  # type: ignore[arg-type]
    text = line.render(102.0).plain
    assert "streaming · 11 tokens · 10.0 tok/s" in text
    line.finish(now=102.0)
    assert line.render(102.0).plain == "11 tokens · 10.0 tok/s · 2.0s"


def test_status_line_gives_no_rate_for_a_burst() -> None:
    line = StatusLine()
    line.start(now=0.0)
    for i in range(50):
        line.on_event(delta("w"), now=1.0 + i / 10_000)  # type: ignore[arg-type]
    line.finish(now=1.1)
    assert line.render(1.1).plain == "50 tokens · 1.1s"


def test_status_line_shows_reconnecting_with_the_reason_and_the_wait() -> None:
    line = StatusLine()
    line.start(now=0.0)
    line.on_connection(
        status(ConnectionStatus.RECONNECTING, delay=2.0, error=ConnectError("refused"), attempt=1),
        now=1.0,
    )
    # Nothing was ever connected: a retry, not a "reconnect" (issue 16).
    assert "retrying in 1.5s — refused" in line.render(1.5).plain
    assert "reconnecting" not in line.render(1.5).plain
    line.on_connection(status(ConnectionStatus.OPEN, attempt=2), now=2.0)
    line.on_connection(
        status(ConnectionStatus.RECONNECTING, delay=2.0, error=ConnectError("dropped"), attempt=2),
        now=3.0,
    )
    assert "reconnecting in 1.5s — dropped" in line.render(3.5).plain


def test_status_line_prefers_the_servers_usage_count() -> None:
    line = StatusLine()
    line.start(now=0.0)
    line.on_event(delta("a"), now=0.1)  # type: ignore[arg-type]
    finished = parse_event(
        {
            "type": "RUN_FINISHED",
            "runId": "r",
            "threadId": "t",
            "usage": {"promptTokens": 3, "completionTokens": 42, "totalTokens": 45},
        }
    )
    line.on_event(finished, now=0.2)
    line.finish(now=0.2)
    assert line.render(0.2).plain.startswith("42 tokens")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("message", "code", "shown"),
    [
        ("token expired", "invalid_token", ": token expired [invalid_token]"),
        # what only restates the status line ("401 Unauthorized") is left out
        ("missing or invalid token", "unauthorized", ": missing or invalid token"),
        ("Unauthorized", "unauthorized", ""),
        ("UNAUTHORIZED", "token_expired", " [token_expired]"),
    ],
)
def test_http_error_line_has_status_and_the_servers_message(
    message: str, code: str, shown: str
) -> None:
    error = HTTPStatusError(
        401,
        "Unauthorized",
        url="http://127.0.0.1:9/api/chat",
        body=json.dumps({"error": {"message": message, "code": code}}),
    )
    line = describe_error(error)
    assert line == f"HTTP 401 Unauthorized{shown} (http://127.0.0.1:9/api/chat)"
    assert exit_code_for(error) == ExitCode.HTTP


def test_http_error_line_drops_a_message_that_repeats_the_reason() -> None:
    error = HTTPStatusError(404, "Not Found", body='{"detail": "Not Found"}')
    line = describe_error(error)
    assert line.startswith("HTTP 404 Not Found; check the path")  # not "Not Found: Not Found"
    assert "/api/chat/sse" in line  # the routes `chatconduit serve` offers (issue 16)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": "nope"}', "nope"),
        ('{"message": "slow down"}', "slow down"),
        ('{"detail": "Not Found"}', "Not Found"),
        ("plain\ntext  body", "plain text body"),
        ("<html><body>500</body></html>", ""),
        ("", ""),
        ('{"other": 1}', '{"other": 1}'),
    ],
)
def test_server_message(body: str, expected: str) -> None:
    assert server_message(body) == expected


def test_each_kind_of_failure_has_its_own_exit_status() -> None:
    codes = {
        exit_code_for(HTTPStatusError(500)),
        exit_code_for(ConnectError("refused")),
        exit_code_for(RunError("boom")),
        exit_code_for(MalformedEventError("bad json")),
        exit_code_for(ValueError("bug")),
    }
    assert codes == {
        ExitCode.HTTP,
        ExitCode.CONNECTION,
        ExitCode.RUN,
        ExitCode.PROTOCOL,
        ExitCode.FAILURE,
    }
    assert exit_code_for(StreamReadError("dropped")) == ExitCode.CONNECTION


def test_error_lines_are_single_lines() -> None:
    assert describe_error(RunError("model\noverloaded", code="overloaded")) == (
        "the agent failed: model overloaded [overloaded]"
    )
    assert "\n" not in describe_error(ValueError("a\nb"))
