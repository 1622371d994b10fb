"""Approvals and client tools in the CLI, against a real server (uvicorn, loopback port).

A small agent pauses its run the way current servers do (an approval interrupt, or a
client-tool interrupt, in ``RUN_FINISHED.outcome``; the server rewrites them as the
0.10 CUSTOM events for the 0.10 dialect) and answers the follow-up request with what
the client sent back, so every test checks the whole loop: the question shown, the
answer sent, the reply continued.

- ``-m``: an approval nobody can give ends with status 7 and one line saying so;
  ``--approve-all`` / ``--deny-all`` answer it and the reply completes.
- Interactive (pexpect, a real terminal): ``y``, ``n``, Ctrl-C and Ctrl-D at the
  question; ``ask_user`` takes the typed answer.
- Client tools: ``get_time`` runs by itself; a tool the CLI does not have gets an
  error result, and the reply still continues.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pexpect
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from chatconduit import ApprovalRequest, ToolCallRequest
from chatconduit.cli._approvals import Asker, Questions, approval_needed_line, decide
from chatconduit.cli._args import parse_command
from chatconduit.cli._errors import ExitCode
from chatconduit.server import RunAgentInput, chat_endpoint
from servers import RunningServer, serve

PROMPT = "you›"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
QUESTION = "Really wipe the disk?"


class AskingAgent:
    """``wipe ...`` -> the approval-gated ``wipe`` tool; ``call NAME`` -> the client tool
    NAME; ``ask me`` -> ``ask_user``; anything else -> ``hello``. A follow-up request
    is answered with what it carried: ``APPROVED wipe`` / ``DENIED wipe`` /
    ``RESULT name: <output>``."""

    def __init__(self) -> None:
        self.requests: list[RunAgentInput] = []

    async def __call__(
        self, params: RunAgentInput, request: object
    ) -> AsyncIterator[dict[str, Any]]:
        self.requests.append(params)
        run = {"runId": params.run_id, "threadId": params.thread_id}
        yield {"type": "RUN_STARTED", **run}
        messages = params.model_messages
        last = messages[-1]
        if last.role != "user":
            for event in self._text(params, self._answer(params)):
                yield event
            yield {"type": "RUN_FINISHED", **run, "finishReason": "stop"}
            return
        text = last.content if isinstance(last.content, str) else ""
        call_id = f"call-{params.run_id}"
        calls: list[tuple[str, str, dict[str, Any]]] = []
        if text.startswith("wipe twice"):
            calls = [(f"{call_id}-{t}", "wipe", {"target": t}) for t in ("a", "b")]
        elif text.startswith("wipe"):
            calls = [(call_id, "wipe", {"target": "disk"})]
        elif text.startswith("call "):
            calls = [(call_id, text.split()[1], {})]
        elif text.startswith("ask me"):
            calls = [(call_id, "ask_user", {"question": "Favourite colour?"})]
        else:
            for event in self._text(params, "hello"):
                yield event
            yield {"type": "RUN_FINISHED", **run, "finishReason": "stop"}
            return
        for event in self._text(params, f"using {calls[0][1]}"):
            yield event
        interrupts = []
        for tool_call_id, name, arguments in calls:
            names = {"toolCallId": tool_call_id, "toolCallName": name}
            yield {"type": "TOOL_CALL_START", **names}
            args = json.dumps(arguments)
            yield {"type": "TOOL_CALL_ARGS", "toolCallId": tool_call_id, "delta": args}
            yield {"type": "TOOL_CALL_END", **names}
            if name == "wipe":
                interrupts.append(
                    params.approval_interrupt(tool_call_id, name, arguments, message=QUESTION)
                )
            else:
                interrupts.append(params.client_tool_interrupt(tool_call_id, name, arguments))
        yield params.interrupt_run(interrupts)

    @staticmethod
    def _text(params: RunAgentInput, text: str) -> Iterator[dict[str, Any]]:
        message_id = f"msg-{params.run_id}"
        yield {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": text}
        yield {"type": "TEXT_MESSAGE_END", "messageId": message_id}

    @staticmethod
    def _answer(params: RunAgentInput) -> str:
        messages = params.model_messages
        calls = next(
            m.tool_calls for m in reversed(messages) if m.role == "assistant" and m.tool_calls
        )
        return "; ".join(AskingAgent._answer_call(params, call) for call in calls)

    @staticmethod
    def _answer_call(params: RunAgentInput, call: Any) -> str:
        name = call.function.name
        tool_message = next(
            (m for m in params.model_messages if m.role == "tool" and m.tool_call_id == call.id),
            None,
        )
        sent: Any = None
        if tool_message is not None:
            content = tool_message.content
            sent = json.loads(content) if isinstance(content, str) and content else content
        if name == "wipe":
            entry = params.resumed(f"approval_{call.id}")
            approved = entry.approved if entry is not None else (sent or {}).get("approved")
            target = json.loads(call.function.arguments)["target"]
            suffix = "" if target == "disk" else f" {target}"
            return f"{'APPROVED' if approved else 'DENIED'} wipe{suffix}"
        entry = params.resumed(f"client_tool_{call.id}")
        if entry is not None and entry.payload is not None:
            sent = entry.payload
        return f"RESULT {name}: {json.dumps(sent, sort_keys=True)}"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[AskingAgent, RunningServer]]:
    agent = AskingAgent()
    routes = [
        Route(f"/{dialect}", chat_endpoint(agent, dialect=dialect), methods=["POST"])
        for dialect in ("current", "tanstack-0.18")
    ]
    with serve(Starlette(routes=routes)) as running:
        yield agent, running


def url_of(server: tuple[AskingAgent, RunningServer], dialect: str = "current") -> str:
    return f"{server[1].url}/{dialect}"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatconduit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )


# --------------------------------------------------------------------------- one-shot


@pytest.mark.parametrize("dialect", ["current", "tanstack-0.18"])
def test_one_shot_approval_exits_7_with_one_line(
    server: tuple[AskingAgent, RunningServer], dialect: str
) -> None:
    agent = server[0]
    before = len(agent.requests)
    result = run_cli("chat", url_of(server, dialect), "-m", "wipe it")
    assert result.returncode == ExitCode.APPROVAL == 7, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "using wipe\n"  # what arrived before the pause is kept
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert 'approval needed: the agent wants to run wipe(target="disk")' in line
    assert "--approve-all" in line and "--deny-all" in line and "without -m" in line
    assert len(agent.requests) == before + 1  # nothing was answered, nothing hung


@pytest.mark.parametrize("dialect", ["current", "tanstack-0.18"])
@pytest.mark.parametrize(
    ("flag", "answer"), [("--approve-all", "APPROVED"), ("--deny-all", "DENIED")]
)
def test_one_shot_with_a_policy_completes(
    server: tuple[AskingAgent, RunningServer], dialect: str, flag: str, answer: str
) -> None:
    result = run_cli("chat", url_of(server, dialect), "-m", "wipe it", flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"using wipe\n\n{answer} wipe\n"
    verb = "approved" if flag == "--approve-all" else "denied"
    assert f'{verb} wipe(target="disk") ({flag})' in result.stderr


def test_approve_all_and_deny_all_exclude_each_other() -> None:
    result = run_cli("demo", "-m", "hi", "--approve-all", "--deny-all")
    assert result.returncode == ExitCode.USAGE
    assert "not allowed with argument" in result.stderr


@pytest.mark.parametrize("dialect", ["current", "tanstack-0.18"])
def test_get_time_client_tool_runs_and_the_reply_continues(
    server: tuple[AskingAgent, RunningServer], dialect: str
) -> None:
    agent = server[0]
    result = run_cli("chat", url_of(server, dialect), "-m", "call get_time")
    assert result.returncode == 0, result.stderr
    assert "tool: get_time()" in result.stderr
    assert "tool: get_time → {" in result.stderr
    match = re.search(r"RESULT get_time: (\{.*\})", result.stdout)
    assert match is not None, result.stdout
    output = json.loads(match.group(1))
    assert set(output) == {"time", "timezone"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", output["time"])
    # The tool was advertised with the schema of TanStack's examples; no ask_user with -m.
    tools = {tool.name: tool for tool in agent.requests[-1].tools}
    assert set(tools) == {"get_time"}
    assert tools["get_time"].parameters == {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": [],
    }


def test_unknown_client_tool_gets_an_error_result(
    server: tuple[AskingAgent, RunningServer],
) -> None:
    result = run_cli("chat", url_of(server), "-m", "call launch_rockets")
    assert result.returncode == 0, result.stderr
    assert "launch_rockets is not a client tool of the chatconduit CLI" in result.stderr
    assert "RESULT launch_rockets:" in result.stdout
    assert "no client tool named 'launch_rockets'" in result.stdout


# --------------------------------------------------------------------------- interactive


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "chatconduit", *args],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=20,
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    status = child.exitstatus
    assert isinstance(status, int), f"killed by signal {child.signalstatus}"
    return status


def plain(text: str) -> str:
    return ANSI.sub("", text)


def test_interactive_yes_then_no(server: tuple[AskingAgent, RunningServer]) -> None:
    child = spawn("chat", url_of(server))
    child.expect(PROMPT)

    child.sendline("wipe it")
    child.expect(r"approve\? \[y/N\]")
    shown = plain(child.before)
    assert 'wipe(target="disk") needs your approval' in shown
    assert QUESTION in shown  # the server's message
    assert "waiting for approval" in shown
    child.sendline("y")
    child.expect("✓ approved")
    child.expect("APPROVED wipe")
    child.expect(PROMPT)

    child.sendline("wipe again")
    child.expect(r"approve\? \[y/N\]")
    child.sendline("maybe")
    child.expect("please answer y or n")
    child.expect(r"approve\? \[y/N\]")
    child.sendline("n")
    child.expect("✗ denied")
    child.expect("DENIED wipe")
    child.expect(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0


@pytest.mark.parametrize("dialect", ["current", "tanstack-0.18"])
def test_interactive_two_approvals_in_one_reply(
    server: tuple[AskingAgent, RunningServer], dialect: str
) -> None:
    agent = server[0]
    child = spawn("chat", url_of(server, dialect))
    child.expect(PROMPT)
    before = len(agent.requests)
    child.sendline("wipe twice")
    child.expect(r"approve\? \[y/N\]")
    assert 'wipe(target="a") needs your approval' in plain(child.before)
    child.sendline("y")
    child.expect(r"approve\? \[y/N\]")
    assert 'wipe(target="b") needs your approval' in plain(child.before)
    child.sendline("n")
    child.expect("APPROVED wipe a; DENIED wipe b")
    child.expect(PROMPT)
    assert len(agent.requests) == before + 2  # one follow-up, with both answers
    child.sendline("/exit")
    assert finish(child) == 0


def test_interactive_ctrl_c_and_ctrl_d_deny(server: tuple[AskingAgent, RunningServer]) -> None:
    child = spawn("chat", url_of(server, "tanstack-0.18"))
    child.expect(PROMPT)

    child.sendline("wipe it")
    child.expect(r"approve\? \[y/N\]")
    child.sendintr()
    child.expect(r"denied \(no answer\)")
    child.expect("DENIED wipe")
    child.expect(PROMPT)

    child.sendline("wipe again")
    child.expect(r"approve\? \[y/N\]")
    child.sendeof()
    child.expect(r"denied \(no answer\)")
    child.expect("DENIED wipe")
    child.expect(PROMPT)

    child.sendline("hi")  # the session goes on normally
    child.expect("hello")
    child.expect(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0


def test_interactive_ask_user_and_get_time(server: tuple[AskingAgent, RunningServer]) -> None:
    child = spawn("chat", url_of(server))
    child.expect(PROMPT)

    child.sendline("ask me")
    child.expect("answer›")
    assert "? the agent asks: Favourite colour?" in plain(child.before)
    assert "waiting for your answer" in plain(child.before)
    child.sendline("blue")
    child.expect(re.escape('RESULT ask_user: {"answer": "blue"}'))
    child.expect(PROMPT)

    child.sendline("call get_time")
    child.expect(PROMPT)
    shown = plain(child.before)
    assert "⚙ get_time()" in shown
    assert '↳ {"time": ' in shown
    assert "RESULT get_time:" in shown
    child.sendline("/exit")
    assert finish(child) == 0


def test_interactive_approve_all_does_not_ask(server: tuple[AskingAgent, RunningServer]) -> None:
    child = spawn("chat", url_of(server), "--approve-all")
    child.expect(PROMPT)
    child.sendline("wipe it")
    child.expect(PROMPT)
    shown = plain(child.before)
    assert "approve?" not in shown
    assert 'approved wipe(target="disk") (--approve-all)' in shown
    assert "APPROVED wipe" in shown
    child.sendline("/exit")
    assert finish(child) == 0


def test_demo_approval_and_client_tool_in_a_terminal() -> None:
    """``chatconduit demo`` exercises both: its ``delete_file`` asks for approval, and
    it calls the CLI's ``get_time`` when a message names it."""
    child = spawn("demo", "--delay", "0")
    child.expect("delete notes.txt")  # the banner suggests it
    child.expect(PROMPT)
    child.sendline("delete notes.txt")
    child.expect(r"approve\? \[y/N\]")
    assert 'delete_file(path="notes.txt") needs your approval' in plain(child.before)
    child.sendline("y")
    child.expect("deleted \\(not really")
    child.expect(PROMPT)
    child.sendline("use get_time")
    child.expect(PROMPT)
    shown = plain(child.before)
    assert "⚙ get_time()" in shown
    assert "Your app ran get_time" in shown or "Your app ran `get_time`" in shown
    child.sendline("/exit")
    assert finish(child) == 0


# --------------------------------------------------------------------------- units


def approval(name: str = "wipe", message: str | None = None) -> ApprovalRequest:
    return ApprovalRequest("c1", name, {"target": "disk"}, "approval_c1", message=message)


def test_questions_skip_automatic_tools_and_duplicates() -> None:
    questions = Questions()
    questions.on_tool_call(ToolCallRequest("t1", "get_time", {}))
    assert not questions
    questions.on_tool_call(ToolCallRequest("t2", "ask_user", {"question": "?"}))
    questions.on_tool_call(ToolCallRequest("t2", "ask_user", {"question": "?"}))
    questions.on_approval(approval())
    questions.on_approval(approval())
    approvals, calls = questions.take()
    assert [a.approval_id for a in approvals] == ["approval_c1"]
    assert [c.tool_call_id for c in calls] == ["t2"]
    assert not questions


def test_asker_reads_answers_and_treats_ctrl_c_as_no() -> None:
    said: list[str] = []
    lines = iter(["what", "YES"])

    def read(prompt: str) -> str:
        return next(lines)

    asker = Asker(lambda text: said.append(text.plain), read)
    assert asker.approve(approval(message=QUESTION)) is True
    assert said[0] == '? wipe(target="disk") needs your approval'
    assert said[1] == f"  {QUESTION}"
    assert "please answer y or n" in said[2]

    def interrupted(prompt: str) -> str:
        raise KeyboardInterrupt

    assert Asker(lambda text: None, interrupted).approve(approval()) is False
    assert Asker(lambda text: None, lambda p: "").approve(approval()) is False  # default no


def test_decide_without_anyone_to_ask() -> None:
    notes: list[str] = []
    assert decide([approval()], [], policy="ask", asker=None, note=notes.append) is None
    answers = decide([approval()], [], policy="deny", asker=None, note=notes.append)
    assert answers is not None and not answers[0].approved
    assert notes == ['denied wipe(target="disk") (--deny-all)']
    line = approval_needed_line([approval(), approval("rm")])
    assert 'wipe(target="disk"), rm(target="disk")' in line
    assert "\n" not in line


def test_flags_parse_into_the_policy() -> None:
    assert parse_command(["demo"], {}).session.approvals == "ask"  # type: ignore[union-attr]
    command = parse_command(["demo", "--approve-all"], {})
    assert command.session.approvals == "approve"  # type: ignore[union-attr]
    command = parse_command(["chat", "http://x/", "--deny-all"], {})
    assert command.session.approvals == "deny"  # type: ignore[union-attr]


def test_plain_asker_says_the_prompt_on_the_notes_stream() -> None:
    notes = io.StringIO()
    asker = Asker(lambda text: notes.write(text.plain + "\n"), lambda p: "y", prompts=False)
    assert asker.approve(approval()) is True
    assert "approve? [y/N]" in notes.getvalue()
