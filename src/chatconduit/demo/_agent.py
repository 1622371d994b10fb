"""The demo agent: deterministic, no model weights, no network.

It exists so the whole loop (client, transport, server, events, UI messages)
runs with zero setup, and so tests have a backend that exercises every event
family the TanStack 0.10 client renders. It picks one behaviour from the last
user message:

* "delete_file ..." / "delete file ..." / "delete <path>" -> the ``delete_file`` tool,
  which needs the user's approval: the call is streamed and the run pauses on an
  approval interrupt; the answer (approve, deny, cancel; a ``resume`` entry, or the
  approval recorded on the tool call by a 0.10 client) continues it. Nothing is ever
  deleted: the tool only pretends;
* a client tool named in the message (one the request advertised in ``tools``)
  -> the tool call is streamed and the run pauses on a client-tool interrupt (the
  0.10 client gets it as a ``tool-input-available`` CUSTOM event and
  ``finishReason: "tool_calls"``); the follow-up request that carries the result
  gets an answer that uses it;
* arithmetic ("what is 2+3*4") -> the server-side ``calculator`` tool;
* "what time is it" (optionally "in Europe/Paris") -> the ``get_current_time`` tool;
* "think about X" -> streamed thinking (STEP_STARTED / STEP_FINISHED), then an answer;
* anything else -> a Markdown answer that explains the demo and echoes the question.

This module holds the choice; the event layout is ``_events``, the server tools
``_tools``, the other replies ``_flows``, the reading of a request ``_reading`` and
the caps on what a request may cost ``_limits``. Pauses are the one current-style
event the demo yields (``RunAgentInput.interrupt_run``), since an interrupt says more
than its 0.10 form and the server downgrades it for 0.10 clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from .._ids import now_ms
from .._run_input import RunAgentInput
from ._events import Run, split_words
from ._flows import answer_tool_result, client_tool, explain, request_approval, think
from ._limits import (
    MAX_ACCUMULATED_CHARS,
    MAX_ECHO_CHARS,
    MAX_INPUT_CHARS,
    MAX_TOOLS,
    clip,
)
from ._reading import ARITHMETIC as _ARITHMETIC
from ._reading import DELETE as _DELETE
from ._reading import THINK as _THINK
from ._reading import TIME as _TIME
from ._reading import ZONE as _ZONE
from ._reading import delete_input, named_tool, pending_approval, text_of
from ._tools import APPROVAL_TOOL, SERVER_TOOLS, calculate, carry_out, tell_time

__all__ = [
    "APPROVAL_TOOL",
    "DEMO_MODEL",
    "MAX_ACCUMULATED_CHARS",
    "MAX_ECHO_CHARS",
    "MAX_INPUT_CHARS",
    "MAX_TOOLS",
    "SERVER_TOOLS",
    "DemoAgent",
    "split_words",
]

DEMO_MODEL = "chatconduit-demo"


class DemoAgent:
    """``agent(params, request)`` for :func:`chatconduit.server.chat_endpoint`.

    ``delay`` is the pause between deltas (seconds; ``0`` still yields to the
    event loop); ``clock`` returns the current time (inject one in tests).
    """

    def __init__(
        self,
        *,
        delay: float = 0.03,
        model: str = DEMO_MODEL,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        self.delay = delay
        self.model = model
        self.clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"DemoAgent(delay={self.delay!r}, model={self.model!r})"

    def __call__(
        self, params: RunAgentInput, request: object = None
    ) -> AsyncIterator[dict[str, Any]]:
        return self.run(params)

    async def _pause(self) -> None:
        await asyncio.sleep(self.delay)

    async def run(self, params: RunAgentInput) -> AsyncIterator[dict[str, Any]]:
        """The events of one run (see the module docstring for the behaviours)."""
        run = Run(params, self.model, self._pause)
        yield {
            "type": "RUN_STARTED",
            "runId": run.run_id,
            "threadId": run.thread_id,
            "model": self.model,
            "timestamp": now_ms(),
        }
        messages = params.model_messages
        last = messages[-1] if messages else None
        user_turns = [m for m in messages if m.role == "user"]
        # Everything below looks at a bounded text, so its cost does not grow with the body.
        text = text_of(user_turns[-1])[:MAX_INPUT_CHARS] if user_turns else ""
        if (pending := pending_approval(params)) is not None:
            async for event in carry_out(run, *pending):
                yield event
        elif last is not None and last.role == "tool":
            async for event in answer_tool_result(run, messages, last):
                yield event
        elif (delete := _DELETE.search(text)) is not None:
            # Before the client tools: a client declaring ``delete_file`` itself (to type
            # its approvals) still gets the server's tool, as in ``merge_agent_tools``.
            async for event in request_approval(run, delete_input(text, delete)):
                yield event
            question = f"Delete {clip(run.last_input['path'], 80)}? (the demo only pretends)"
            approval = params.approval_interrupt(
                run.last_call,
                APPROVAL_TOOL.name,
                run.last_input,
                input_schema=APPROVAL_TOOL.parameters,
                message=question,
            )
            yield params.interrupt_run([approval], model=self.model, timestamp=now_ms())
            return
        elif (tool := named_tool(params.tools, text)) is not None:
            async for event in client_tool(run, tool, text):
                yield event
            yield params.interrupt_run(
                [params.client_tool_interrupt(run.last_call, tool.name, run.last_input)],
                model=self.model,
                timestamp=now_ms(),
            )
            return
        elif (match := _ARITHMETIC.search(text)) is not None:
            async for event in calculate(run, match.group().strip()):
                yield event
        elif _TIME.search(text.lower()):
            zone = _ZONE.search(text)
            async for event in tell_time(run, zone.group(1) if zone else "UTC", self.clock):
                yield event
        elif (thinking := _THINK.match(text)) is not None:
            async for event in think(run, thinking.group(1).strip() or "nothing in particular"):
                yield event
        else:
            async for event in run.text(explain(params, text, len(user_turns))):
                yield event
        yield {
            "type": "RUN_FINISHED",
            "runId": run.run_id,
            "threadId": run.thread_id,
            "model": self.model,
            "timestamp": now_ms(),
            "finishReason": "stop",
        }
