"""What the agent asks of the user: approvals, and ``ask_user`` / unknown client tools.

During a reply the client only *collects* these (:class:`Questions`, fed by the
client's ``on_approval_request`` / ``on_tool_call``). Once the reply has paused
(the run ended waiting for them), the session turns each into an
:class:`Answer` (:func:`decide`): by asking the user at the terminal
(:class:`Asker`), by the ``--approve-all`` / ``--deny-all`` policy, or, for a
client tool the CLI does not have, with an error result. Sending the answers
(``add_tool_approval_response`` / ``add_tool_result``) continues the reply.

In one-shot mode (``-m``) nobody can be asked: an approval without a policy is
left unanswered, and the session exits with :data:`ExitCode.APPROVAL`
after one line saying what was asked (:func:`approval_needed_line`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.text import Text

from .._client import ChatClient
from .._processor import ApprovalRequest, ToolCallRequest
from ._args import ApprovalPolicy
from ._render import format_arguments
from ._tools import ASK_USER, AUTOMATIC_TOOLS

__all__ = [
    "Answer",
    "Asker",
    "Questions",
    "approval_needed_line",
    "decide",
    "describe_call",
]

_YES = frozenset({"y", "yes"})
_NO = frozenset({"n", "no", ""})
_MAX_QUESTION_CHARS = 2000


@dataclass
class Questions:
    """What the agent asked during the current reply and nothing answered yet."""

    approvals: list[ApprovalRequest] = field(default_factory=list)
    calls: list[ToolCallRequest] = field(default_factory=list)

    def on_approval(self, request: ApprovalRequest) -> None:
        if all(a.approval_id != request.approval_id for a in self.approvals):
            self.approvals.append(request)

    def on_tool_call(self, request: ToolCallRequest) -> None:
        if request.tool_name in AUTOMATIC_TOOLS or not isinstance(request.tool_call_id, str):
            return  # answered by the tool's own execute
        if all(c.tool_call_id != request.tool_call_id for c in self.calls):
            self.calls.append(request)

    def take(self) -> tuple[list[ApprovalRequest], list[ToolCallRequest]]:
        """Everything asked so far; the list starts empty again."""
        approvals, calls = self.approvals, self.calls
        self.approvals, self.calls = [], []
        return approvals, calls

    def clear(self) -> None:
        self.take()

    def __bool__(self) -> bool:
        return bool(self.approvals or self.calls)


@dataclass(frozen=True)
class Answer:
    """One answer to send: an approval decision, or a client tool's result."""

    kind: Literal["approval", "result"]
    id: str
    approved: bool = False
    output: Any = None
    error: str | None = None

    async def send(self, client: ChatClient) -> None:
        if self.kind == "approval":
            await client.add_tool_approval_response(self.id, self.approved)
        else:
            await client.add_tool_result(self.id, self.output, error=self.error)


def describe_call(name: str | None, arguments: Any) -> str:
    """``delete_file(path="notes.txt")``: the call as the views show it."""
    try:
        encoded = json.dumps(arguments, ensure_ascii=False)
    except (TypeError, ValueError):
        encoded = str(arguments)
    return f"{name or '(unnamed tool)'}{format_arguments(encoded)}"


def approval_needed_line(approvals: Sequence[ApprovalRequest]) -> str:
    """One line for ``-m``: what needed approval, that nothing ran, and how to answer."""
    calls = ", ".join(describe_call(a.tool_name, a.input) for a in approvals)
    return (
        f"approval needed: the agent wants to run {calls}; it was not approved, so it did "
        "not run. Answer it in an interactive session (without -m), or pass --approve-all "
        "or --deny-all"
    )


class Asker:
    """Asks the user at the terminal. ``say`` shows a line (above nothing: the live
    region is down while asking); ``read`` is ``input``. Ctrl-C and end of input
    answer "no" (an approval is denied; ``ask_user`` gets an error result)."""

    def __init__(
        self,
        say: Callable[[Text], None],
        read: Callable[[str], str] = input,
        *,
        prompts: bool = True,
    ) -> None:
        self._say = say
        self._read = read
        self._prompts = prompts  # False: the prompt text is said, then read without one

    def _ask(self, prompt: str) -> str | None:
        """A line from the user, or None for Ctrl-C / end of input."""
        if not self._prompts:
            self._say(Text(prompt.rstrip(), style="bold"))
        try:
            return self._read(prompt if self._prompts else "")
        except (EOFError, KeyboardInterrupt):
            return None

    def approve(self, request: ApprovalRequest) -> bool:
        head = Text.assemble(
            ("? ", "bold yellow"),
            (describe_call(request.tool_name, request.input), "bold"),
            (" needs your approval", "yellow"),
        )
        self._say(head)
        if request.message:
            self._say(Text(f"  {_clip(request.message)}"))
        while True:
            line = self._ask("  approve? [y/N] ")
            if line is None:
                self._say(Text("  ✗ denied (no answer)", style="yellow"))
                return False
            choice = line.strip().lower()
            if choice in _YES:
                self._say(Text("  ✓ approved", style="green"))
                return True
            if choice in _NO:
                self._say(Text("  ✗ denied", style="yellow"))
                return False
            self._say(Text("  please answer y or n", style="dim"))

    def answer(self, request: ToolCallRequest) -> str | None:
        """The user's answer to ``ask_user``; None when they gave none."""
        arguments = request.input if isinstance(request.input, dict) else {}
        question = arguments.get("question")
        text = question.strip() if isinstance(question, str) else ""
        self._say(
            Text.assemble(("? ", "bold yellow"), ("the agent asks: ", "yellow"), _clip(text or "…"))
        )
        line = self._ask("  answer› ")
        if line is None:
            self._say(Text("  ✗ no answer", style="yellow"))
        return line


def decide(
    approvals: Sequence[ApprovalRequest],
    calls: Sequence[ToolCallRequest],
    *,
    policy: ApprovalPolicy,
    asker: Asker | None,
    note: Callable[[str], None],
) -> list[Answer] | None:
    """The answers to what was asked, or None when an approval needs someone to ask
    (``policy == "ask"`` and no ``asker``: one-shot mode)."""
    if approvals and policy == "ask" and asker is None:
        return None
    answers: list[Answer] = []
    for request in approvals:
        if policy == "ask":
            assert asker is not None
            approved = asker.approve(request)
        else:
            approved = policy == "approve"
            verb = "approved" if approved else "denied"
            flag = "--approve-all" if approved else "--deny-all"
            note(f"{verb} {describe_call(request.tool_name, request.input)} ({flag})")
        answers.append(Answer("approval", request.approval_id, approved=approved))
    for call in calls:
        assert call.tool_call_id is not None  # Questions keeps only calls with an id
        if call.tool_name == ASK_USER.name and asker is not None:
            reply = asker.answer(call)
            if reply is None:
                answers.append(
                    Answer("result", call.tool_call_id, error="The user did not answer.")
                )
            else:
                answers.append(Answer("result", call.tool_call_id, output={"answer": reply}))
        else:
            name = call.tool_name or "(unnamed)"
            note(f"tool: {name} is not a client tool of the chatconduit CLI; told the agent so")
            answers.append(
                Answer(
                    "result",
                    call.tool_call_id,
                    error=f"The chatconduit CLI has no client tool named {name!r}.",
                )
            )
    return answers


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _MAX_QUESTION_CHARS:
        return text
    return text[: _MAX_QUESTION_CHARS - 1] + "…"
