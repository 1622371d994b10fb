"""The per-stream state of the current dialect, and the repairs made on it.

:class:`CurrentDialect` (``_current_dialect``) handles one event type at a time; what it
must remember across events (is a run open, which messages, tool calls, steps and
reasoning messages are open, the held RUN_FINISHED, a pending tool result, the interrupts
owed) lives in :class:`CurrentDialectState`, with the moves that open and close things on
the wire (a RUN_STARTED made from the request's ids, reasoning made from thinking steps,
closing whatever is open before RUN_FINISHED). Kept apart from the handlers so that each
reads on its own; the reasons for each piece of state are in ``CurrentDialect``'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .._events._plain import DELTA_KEYS, PlainDeltas
from .._ids import generate_id, now_ms
from ._spec_keys import to_spec

__all__ = ["NOTHING", "CurrentDialectState"]

NOTHING: PlainDeltas = {}  # no delta passes unchanged (shared, never written to)


class CurrentDialectState:
    """What :class:`CurrentDialect` remembers about one stream, and the helpers that change it."""

    def __init__(self, *, run_id: str | None = None, thread_id: str | None = None) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self._phase: Literal["idle", "running", "held", "errored"] = "idle"
        self._held: dict[str, Any] | None = None
        self._pending_result: dict[str, Any] | None = None
        self._text: dict[str, None] = {}  # open text message ids (an ordered set)
        self._tools: dict[str, None] = {}  # open tool call ids
        self._ended_tools: set[str] = set()
        self._results: set[str] = set()  # tool calls whose result was sent
        self._steps: dict[str, None] = {}  # open non-thinking steps, by stepName
        # thinking step name -> the base of its reasoning ids (None: a duplicate of the
        # REASONING_* events the agent streams itself)
        self._thinking: dict[str, str | None] = {}
        self._reasoning_spans: dict[str, None] = {}
        self._reasoning_messages: dict[str, None] = {}
        self._synthetic: str | None = None  # the reasoning message made from thinking steps
        self._synthetic_step: str | None = None
        self._reasoning_ids: set[str] = set()  # every reasoning id used, so none repeats
        self._counter = 0
        self._interrupts: list[dict[str, Any]] = []
        # Per content-delta type, its keys (the id's second) and the ids open of that kind
        # (the dicts above, never replaced).
        self._open_by_delta: PlainDeltas = {
            "TEXT_MESSAGE_CONTENT": (DELTA_KEYS["TEXT_MESSAGE_CONTENT"], self._text),
            "TOOL_CALL_ARGS": (DELTA_KEYS["TOOL_CALL_ARGS"], self._tools),
            "REASONING_MESSAGE_CONTENT": (
                DELTA_KEYS["REASONING_MESSAGE_CONTENT"],
                self._reasoning_messages,
            ),
        }
        # What passes unchanged right now (DialectConverter.as_is): _open_by_delta while
        # a run goes smoothly, nothing otherwise; set again after every full step.
        self.as_is: PlainDeltas = NOTHING

    # --- helpers ----------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def _run_started(self, event: Mapping[str, Any]) -> dict[str, Any]:
        run_id = event.get("runId")
        thread_id = event.get("threadId")
        if isinstance(run_id, str):
            self.run_id = run_id
        if isinstance(thread_id, str):
            self.thread_id = thread_id
        self.run_id = self.run_id or generate_id("run")
        self.thread_id = self.thread_id or generate_id("thread")
        self._phase = "running"
        started: dict[str, Any] = to_spec(event) if event else {"type": "RUN_STARTED"}
        started["threadId"] = self.thread_id
        started["runId"] = self.run_id
        started.setdefault("timestamp", now_ms())
        return started

    def _flush_result(self, out: list[dict[str, Any]], event: Mapping[str, Any] | None) -> None:
        """Send the result taken from a TOOL_CALL_END, unless ``event`` is the agent's own
        TOOL_CALL_RESULT for that call (0.18 servers send both; the explicit one has the
        agent's message id)."""
        pending = self._pending_result
        if pending is None:
            return
        self._pending_result = None
        if (
            event is not None
            and event.get("type") == "TOOL_CALL_RESULT"
            and event.get("toolCallId") == pending["toolCallId"]
        ):
            return
        self._results.add(pending["toolCallId"])
        out.append(pending)

    def _close_synthetic(self, out: list[dict[str, Any]]) -> None:
        message_id = self._synthetic
        if message_id is None:
            return
        self._synthetic = None
        self._synthetic_step = None
        timestamp = now_ms()
        out.append(
            {"type": "REASONING_MESSAGE_END", "messageId": message_id, "timestamp": timestamp}
        )
        out.append({"type": "REASONING_END", "messageId": message_id, "timestamp": timestamp})

    def _open_synthetic(self, step: str, base: str, out: list[dict[str, Any]]) -> str:
        self._close_synthetic(out)
        message_id = f"reasoning-{base}"
        if message_id in self._reasoning_ids:  # the step goes on after an interruption
            message_id = f"{message_id}-{self._next_id('part')}"
        self._reasoning_ids.add(message_id)
        self._thinking[step] = base
        self._synthetic, self._synthetic_step = message_id, step
        timestamp = now_ms()
        out.append({"type": "REASONING_START", "messageId": message_id, "timestamp": timestamp})
        out.append(
            {
                "type": "REASONING_MESSAGE_START",
                "messageId": message_id,
                "role": "reasoning",
                "timestamp": timestamp,
            }
        )
        return message_id

    def _close_everything(self, out: list[dict[str, Any]]) -> None:
        """End what is still open: @ag-ui/client refuses a RUN_FINISHED otherwise."""
        self._close_synthetic(out)
        timestamp = now_ms()
        for message_id in self._reasoning_messages:
            out.append(
                {"type": "REASONING_MESSAGE_END", "messageId": message_id, "timestamp": timestamp}
            )
        self._reasoning_messages.clear()
        for message_id in self._reasoning_spans:
            out.append({"type": "REASONING_END", "messageId": message_id, "timestamp": timestamp})
        self._reasoning_spans.clear()
        for message_id in self._text:
            out.append(
                {"type": "TEXT_MESSAGE_END", "messageId": message_id, "timestamp": timestamp}
            )
        self._text.clear()
        for call_id in self._tools:
            out.append({"type": "TOOL_CALL_END", "toolCallId": call_id, "timestamp": timestamp})
            self._ended_tools.add(call_id)
        self._tools.clear()
        for step in self._steps:
            out.append({"type": "STEP_FINISHED", "stepName": step, "timestamp": timestamp})
        self._steps.clear()

    def _finished(self, event: Mapping[str, Any]) -> dict[str, Any]:
        finished = to_spec(event)
        finished.setdefault("threadId", self.thread_id)
        finished.setdefault("runId", self.run_id)
        finished.setdefault("timestamp", now_ms())
        if self._interrupts and "outcome" not in finished:
            finished["outcome"] = {"type": "interrupt", "interrupts": self._interrupts}
        self._interrupts = []
        return finished

    def _thinking_delta(
        self, event: Mapping[str, Any], message_id: str, out: list[dict[str, Any]]
    ) -> None:
        delta = event.get("delta")
        timestamp = event.get("timestamp", now_ms())
        if isinstance(delta, str) and delta:
            out.append(
                {
                    "type": "REASONING_MESSAGE_CONTENT",
                    "messageId": message_id,
                    "delta": delta,
                    "timestamp": timestamp,
                }
            )
        signature = event.get("signature")
        if isinstance(signature, str) and signature:
            out.append(
                {
                    "type": "REASONING_ENCRYPTED_VALUE",
                    "subtype": "message",
                    "entityId": message_id,
                    "encryptedValue": signature,
                    "timestamp": timestamp,
                }
            )
