"""Which wire dialect a client speaks, and the transforms that write events in it.

Two generations of clients read our streams, and they disagree on the shape of the
same run:

``"tanstack-0.18"``
    What ``@tanstack/ai@0.18.0`` writes and ``@tanstack/ai-client@0.10.0`` reads:
    TanStack extras at the top level (``model``, ``finishReason``, ``toolName``, the
    accumulated ``content``/``args``), thinking as ``STEP_STARTED``/``STEP_FINISHED``
    deltas, a server tool's result on a second ``TOOL_CALL_END``, client tools and
    approvals as CUSTOM ``tool-input-available`` / ``approval-requested`` events.
    Events an agent yields in this style pass through untouched, byte for byte.

``"current"``
    What ``@tanstack/ai@0.58`` writes and ``@tanstack/ai-client@0.33`` and
    ``@ag-ui/client@1.0`` read (``/work/shared/PROTOCOL-2026.md``): only AG-UI keys at
    the top level, TanStack extras under ``metadata.tanstack``, thinking as
    ``REASONING_*``, results as ``TOOL_CALL_RESULT``, usage as a list, a flat
    ``RUN_ERROR``, paused runs as ``RUN_FINISHED.outcome.interrupts``, and a stream the
    ``@ag-ui/client`` verifier accepts (balanced starts and ends, one ``TOOL_CALL_END``
    per call, nothing after ``RUN_ERROR``, no ``RUN_STARTED`` inside a run).

An agent may yield either style (or a mix): :class:`CurrentDialect` upgrades old-style
events, :class:`Tanstack018Dialect` downgrades the few current-style ones the 0.10 client
would miss (interrupts, ``metadata.tanstack``). Both are pure and synchronous: one event
in, a list of events out, plus what is still owed when the agent ends (:meth:`finish`)
or fails (:meth:`error`).

:func:`choose_dialect` is the rule that picks a dialect from the request, so that no
front end has to be configured (see its docstring and ``docs/server.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol, TypeAlias

from .. import _json
from .._ids import generate_id, now_ms
from .._run_input import RunAgentInput
from .._run_input._request_parsing import (
    APPROVAL_REASON,
    CLIENT_TOOL_REASON,
    approval_interrupt,
    client_tool_interrupt,
)

__all__ = [
    "DIALECTS",
    "CurrentDialect",
    "Dialect",
    "DialectConverter",
    "Tanstack018Dialect",
    "WireDialect",
    "check_dialect",
    "choose_dialect",
    "make_converter",
]

Dialect: TypeAlias = Literal["auto", "tanstack-0.18", "current"]
"""The ``dialect=`` option: ``"auto"`` guesses from the request (:func:`choose_dialect`)."""
WireDialect: TypeAlias = Literal["tanstack-0.18", "current"]
"""A dialect a stream is actually written in."""
DIALECTS: tuple[Dialect, ...] = ("auto", "tanstack-0.18", "current")


def check_dialect(dialect: object) -> None:
    """Refuse an unknown ``dialect=`` when the route or stream is set up, not mid-stream."""
    if dialect not in DIALECTS:
        raise ValueError(
            f"dialect must be one of {', '.join(map(repr, DIALECTS))}, not {dialect!r}"
        )


def choose_dialect(params: RunAgentInput | None, dialect: Dialect = "auto") -> WireDialect:
    """The dialect to answer ``params`` in; an explicit ``dialect`` wins.

    The rule, first match wins, reads only what each client is known to send:

    1. ``protocolVersion`` in the body, or ``resume`` / ``parentRunId`` (an answer to a
       paused run, which only the current protocol has) -> ``"current"``.
       ``@ag-ui/client`` 1.0 always declares ``protocolVersion: "1.0"``.
    2. The legacy ``{messages, data}`` body, or any message carrying ``parts`` ->
       ``"tanstack-0.18"``. ``@tanstack/ai-client@0.10`` sends every message as a
       UIMessage with ``parts`` (and so does chatconduit's own client); the current
       clients send spec-only messages and never ``parts``.
    3. Anything else (a spec-only body: ``@tanstack/ai-client@0.33``, whose messages are
       ``{id, role, content, metadata}``, other AG-UI clients, curl) -> ``"current"``,
       the dialect the AG-UI spec describes.

    ``X-Run-Id`` is deliberately not a signal: chatconduit's own client sends it together
    with the 0.10 body, and the 0.33 client is recognised by its body anyway. Without a
    request (``params is None``) the answer is ``"tanstack-0.18"``, which is what the
    stream helpers always wrote.
    """
    if dialect != "auto":
        return dialect
    if params is None:
        return "tanstack-0.18"
    if params.protocol_version is not None or params.resume or params.parent_run_id is not None:
        return "current"
    if params.legacy or params.ui_messages:
        return "tanstack-0.18"
    return "current"


class DialectConverter(Protocol):
    """Rewrites one stream of normalised event dicts into a dialect (one per stream)."""

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to send for ``event`` (none, itself, or several)."""
        ...

    def finish(self) -> list[dict[str, Any]]:
        """What is still owed once the agent ended normally."""
        ...

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to send for the RUN_ERROR the server writes when the agent failed."""
        ...


def make_converter(
    dialect: WireDialect, *, run_id: str | None = None, thread_id: str | None = None
) -> DialectConverter:
    """A fresh converter for one stream; ``run_id``/``thread_id`` are the request's."""
    if dialect == "current":
        return CurrentDialect(run_id=run_id, thread_id=thread_id)
    return Tanstack018Dialect()


# --- shared readers -------------------------------------------------------------------------


def _tanstack_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metadata = event.get("metadata")
    if isinstance(metadata, Mapping):
        tanstack = metadata.get("tanstack")
        if isinstance(tanstack, Mapping):
            return tanstack
    return None


def _interrupt_kind(interrupt: Mapping[str, Any]) -> str | None:
    """``"client_tool"`` or ``"approval"`` (TanStack's ``metadata.kind``, else the reason)."""
    metadata = interrupt.get("metadata")
    kind = metadata.get("kind") if isinstance(metadata, Mapping) else None
    if kind in ("client_tool", "approval"):
        return str(kind)
    reason = interrupt.get("reason")
    if reason in (CLIENT_TOOL_REASON, "client_tool_input"):
        return "client_tool"
    if reason in (APPROVAL_REASON, "approval_required"):
        return "approval"
    return None


# --- tanstack-0.18: pass through, downgrade what the 0.10 client would miss -------------------


class Tanstack018Dialect:
    """Old-style events pass through as the very same dicts (so byte for byte).

    Two current-style shapes are downgraded, because the 0.10 client would otherwise
    lose them: ``metadata.tanstack`` extras are copied back to the top level (as the
    0.33 client does on arrival), and a RUN_FINISHED pausing on interrupts becomes the
    CUSTOM ``tool-input-available`` / ``approval-requested`` events plus a
    ``finishReason: "tool_calls"`` finish (so does a success leaving
    ``pendingToolCallIds`` to the client, pydantic-ai's frontend tools). Interrupts of
    any other kind (a question without a tool call) have no 0.10 form and are dropped.
    """

    def __init__(self) -> None:
        # Tool calls seen in this stream: an interrupt without TanStack metadata
        # (pydantic-ai's) names only the call, and the CUSTOM events need its name and input.
        self._calls: dict[str, tuple[str | None, str]] = {}

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "TOOL_CALL_START":
            name = event.get("toolCallName") or event.get("toolName")
            call_id = event.get("toolCallId")
            if isinstance(call_id, str):
                self._calls[call_id] = (name if isinstance(name, str) else None, "")
        elif kind == "TOOL_CALL_ARGS":
            call_id, delta = event.get("toolCallId"), event.get("delta")
            if isinstance(call_id, str) and isinstance(delta, str) and call_id in self._calls:
                name, args = self._calls[call_id]
                self._calls[call_id] = (name, args + delta)
        if "metadata" in event:
            event = self._lift(event)
        if kind == "RUN_FINISHED":
            outcome = event.get("outcome")
            if isinstance(outcome, Mapping) and outcome.get("type") == "interrupt":
                return self._downgrade_interrupts(event, outcome)
            pending = outcome.get("pendingToolCallIds") if isinstance(outcome, Mapping) else None
            if isinstance(pending, list) and pending:
                # pydantic-ai's frontend tools: a success that leaves calls to the client.
                calls = [{"toolCallId": c, "reason": CLIENT_TOOL_REASON} for c in pending]
                return self._downgrade_interrupts(event, {"interrupts": calls})
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [event]

    @staticmethod
    def _lift(event: dict[str, Any]) -> dict[str, Any]:
        """``restoreInboundChunk``: ``metadata.tanstack`` extras back at the top level."""
        tanstack = _tanstack_of(event)
        if not tanstack:
            return event
        lifted = dict(event)
        for key, value in tanstack.items():
            if key not in lifted and key not in ("usage", "interruptErrors"):
                lifted[key] = value
        usage = lifted.get("usage")
        if isinstance(usage, list) and usage and isinstance(usage[0], Mapping):
            first = usage[0]  # the 0.10 shape holds one model's counts
            lifted["usage"] = {
                "promptTokens": first.get("inputTokens", 0),
                "completionTokens": first.get("outputTokens", 0),
                "totalTokens": first.get("totalTokens", 0),
            }
        return lifted

    def _downgrade_interrupts(
        self, event: dict[str, Any], outcome: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        tail: dict[str, Any] = {k: event[k] for k in ("model", "timestamp") if k in event}
        interrupts = outcome.get("interrupts")
        for interrupt in interrupts if isinstance(interrupts, list) else []:
            if not isinstance(interrupt, Mapping):
                continue
            custom = self._custom_for(interrupt)
            if custom is not None:
                out.append({"type": "CUSTOM", **custom, **tail})
        finished = {k: v for k, v in event.items() if k != "outcome"}
        finished.setdefault("finishReason", "tool_calls")
        out.append(finished)
        return out

    def _custom_for(self, interrupt: Mapping[str, Any]) -> dict[str, Any] | None:
        kind = _interrupt_kind(interrupt)
        call_id = interrupt.get("toolCallId")
        if kind is None or not isinstance(call_id, str):
            return None
        metadata = interrupt.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        seen_name, seen_args = self._calls.get(call_id, (None, ""))
        name = metadata.get("toolName", seen_name)
        if "input" in metadata:
            tool_input = metadata["input"]
        else:
            try:
                tool_input = _json.loads(seen_args) if seen_args else {}
            except ValueError:
                tool_input = {}
        value: dict[str, Any] = {"toolCallId": call_id, "toolName": name, "input": tool_input}
        if kind == "client_tool":
            return {"name": "tool-input-available", "value": value}
        value["approval"] = {"id": interrupt.get("id"), "needsApproval": True}
        return {"name": "approval-requested", "value": value}


# --- current: AG-UI keys on top, TanStack extras in metadata, a stream the verifier accepts ---

_SHARED = frozenset({"type", "timestamp", "rawEvent", "metadata"})
_ATTRIBUTED = _SHARED | {"subagentRunId"}


def _keys(*fields: str, base: frozenset[str] = _ATTRIBUTED) -> frozenset[str]:
    return base | frozenset(fields)


# The top-level keys of each event in @ag-ui/core 1.0 (what @ag-ui/client keeps without a
# warning); TanStack 0.58's list (``spec-event-keys.js``) plus the 1.0 additions.
SPEC_KEYS: dict[str, frozenset[str]] = {
    "TEXT_MESSAGE_START": _keys("messageId", "role", "name"),
    "TEXT_MESSAGE_CONTENT": _keys("messageId", "delta"),
    "TEXT_MESSAGE_END": _keys("messageId"),
    "TEXT_MESSAGE_CHUNK": _keys("messageId", "role", "delta", "name"),
    "TOOL_CALL_START": _keys("toolCallId", "toolCallName", "parentMessageId"),
    "TOOL_CALL_ARGS": _keys("toolCallId", "delta"),
    "TOOL_CALL_END": _keys("toolCallId"),
    "TOOL_CALL_CHUNK": _keys("toolCallId", "toolCallName", "parentMessageId", "delta"),
    "TOOL_CALL_RESULT": _keys("messageId", "toolCallId", "content", "role"),
    "STATE_SNAPSHOT": _keys("snapshot"),
    "STATE_DELTA": _keys("delta"),
    "MESSAGES_SNAPSHOT": _keys("messages", base=_SHARED),
    "ACTIVITY_SNAPSHOT": _keys("messageId", "activityType", "content", "replace"),
    "ACTIVITY_DELTA": _keys("messageId", "activityType", "patch"),
    "RAW": _keys("event", "source"),
    "CUSTOM": _keys("name", "value"),
    "RUN_STARTED": _keys(
        "threadId", "runId", "parentRunId", "input", "protocolVersion", base=_SHARED
    ),
    "RUN_FINISHED": _keys("threadId", "runId", "result", "outcome", "usage", base=_SHARED),
    "RUN_ERROR": _keys("message", "code", "usage", base=_SHARED),
    "STEP_STARTED": _keys("stepName"),
    "STEP_FINISHED": _keys("stepName"),
    "REASONING_START": _keys("messageId"),
    "REASONING_MESSAGE_START": _keys("messageId", "role"),
    "REASONING_MESSAGE_CONTENT": _keys("messageId", "delta"),
    "REASONING_MESSAGE_END": _keys("messageId"),
    "REASONING_MESSAGE_CHUNK": _keys("messageId", "delta"),
    "REASONING_END": _keys("messageId"),
    "REASONING_ENCRYPTED_VALUE": _keys("subtype", "entityId", "encryptedValue"),
    "SUBAGENT_STARTED": _keys(
        "name", "description", "parentSubagentRunId", "parentToolCallId", "parentMessageId"
    ),
    "SUBAGENT_FINISHED": _keys("result", "outcome"),
    "SUBAGENT_ERROR": _keys("message", "code"),
}

_DELTA_EVENTS = frozenset({"TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS"})


def _usage_list(usage: Mapping[str, Any], model: Any) -> list[dict[str, Any]]:
    """TanStack's ``{promptTokens, completionTokens, totalTokens}`` as AG-UI's list."""
    entry: dict[str, Any] = {}
    if isinstance(model, str):
        entry["model"] = model
    for ours, theirs in (
        ("promptTokens", "inputTokens"),
        ("completionTokens", "outputTokens"),
        ("totalTokens", "totalTokens"),
    ):
        if ours in usage:
            entry[theirs] = usage[ours]
    return [entry]


def to_spec(event: Mapping[str, Any]) -> dict[str, Any]:
    """One event with only AG-UI keys on top and the rest in ``metadata.tanstack``.

    TanStack 0.58's ``normalizeStreamChunk``: ``toolName`` becomes ``toolCallName`` when
    that is missing; a nested RUN_ERROR ``error`` fills ``message``/``code``; ``model``
    and the accumulated ``content``/``args`` are dropped from deltas (they would repeat
    the whole text on every event); ``result`` (carried by TOOL_CALL_RESULT instead) and
    ``error`` are dropped; usage objects become lists.
    """
    kind = event.get("type")
    spec = SPEC_KEYS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        spec = _SHARED
    out = {key: value for key, value in event.items() if key in spec}
    tanstack: dict[str, Any] = {}
    skip = {"result", "error"}
    if kind == "TOOL_CALL_START":
        skip.add("toolName")
        name = event.get("toolName")
        if "toolCallName" not in out and isinstance(name, str):
            out["toolCallName"] = name
    elif kind in _DELTA_EVENTS:
        skip.update(("model", "content", "args"))
    elif kind == "RUN_ERROR":
        nested = event.get("error")
        if isinstance(nested, Mapping):
            if "message" not in out and isinstance(nested.get("message"), str):
                out["message"] = nested["message"]
            if "code" not in out and nested.get("code") is not None:
                out["code"] = str(nested["code"])
        if not isinstance(out.get("message"), str):
            out["message"] = "Unknown error occurred"  # required by the AG-UI schema
    for key, value in event.items():
        if key not in spec and key not in skip:
            tanstack[key] = value
    usage = out.get("usage")
    if kind in ("RUN_FINISHED", "RUN_ERROR") and isinstance(usage, Mapping):
        out["usage"] = _usage_list(usage, event.get("model"))
        leftover = {
            k: v
            for k, v in usage.items()
            if k not in ("promptTokens", "completionTokens", "totalTokens")
        }
        if leftover:
            tanstack["usage"] = leftover
    if tanstack:
        metadata = out.get("metadata")
        merged = dict(metadata) if isinstance(metadata, Mapping) else {}
        previous = merged.get("tanstack")
        merged["tanstack"] = {**(previous if isinstance(previous, Mapping) else {}), **tanstack}
        out["metadata"] = merged
    return out


class CurrentDialect:
    """Writes any event stream in the current dialect, repairing what would break a client.

    State kept per stream, and why:

    * the run: the first event must be RUN_STARTED (one is made from the request's ids
      when the agent starts with something else), a second RUN_STARTED inside a run is
      dropped, and nothing follows a RUN_ERROR;
    * RUN_FINISHED is held back until the next event shows whether it ended the request
      (an agent loop writes one per model iteration; @ag-ui/client refuses anything after
      RUN_FINISHED, so an intermediate one is dropped);
    * open text messages, tool calls, reasoning messages and steps: a content event
      without its start gets one, an end without a start is dropped, and whatever is still
      open is closed before RUN_FINISHED (the verifier refuses to finish otherwise);
    * tool results: a second TOOL_CALL_END (TanStack 0.18's result carrier) is dropped and
      its ``result`` sent as TOOL_CALL_RESULT, unless the agent sends that itself next;
    * thinking steps (``STEP_STARTED stepType: "thinking"`` + ``STEP_FINISHED`` deltas)
      become a REASONING_* message; when the agent also streams REASONING_* itself (as
      0.18's reasoning fixture does), the duplicate steps are dropped;
    * CUSTOM ``tool-input-available`` / ``approval-requested`` become interrupts on the
      RUN_FINISHED that ends the run (the 0.33 client would run a tool twice if it got
      both).
    """

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

    # --- the converter interface ----------------------------------------------------------

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._phase == "errored":
            return []  # @ag-ui/client: nothing may follow RUN_ERROR
        kind = event.get("type")
        out: list[dict[str, Any]] = []
        self._flush_result(out, event)
        if self._phase == "held":
            assert self._held is not None
            if kind == "RUN_STARTED":  # a new run after a finished one: the finish was final
                out.append(self._held)
                self._phase = "idle"
            else:  # the held finish was an agent-loop step (or is replaced by an error)
                self._phase = "running"
            self._held = None
        if kind == "RUN_ERROR":
            out.extend(self.error(event))
            return out
        if self._phase == "idle" and kind != "RUN_STARTED":
            out.append(self._run_started({}))
        if kind not in ("STEP_FINISHED", "STEP_STARTED") and not str(kind).startswith("THINKING_"):
            self._close_synthetic(out)
        handler = self._HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, event, out)
        elif isinstance(kind, str) and kind in SPEC_KEYS:
            out.append(to_spec(event))
        else:  # not an AG-UI 1.0 event: @ag-ui/client would drop it with a warning
            out.append({"type": "RAW", "event": event, "source": "chatconduit"})
        return out

    def finish(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._flush_result(out, None)
        if self._phase == "held":
            assert self._held is not None
            out.append(self._held)
            self._held = None
        elif self._phase == "running":
            # The agent stopped without RUN_FINISHED: end the run it started properly.
            self._close_everything(out)
            out.append(self._finished({"type": "RUN_FINISHED"}))
        self._phase = "idle"
        return out

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._phase == "errored":
            return []
        out: list[dict[str, Any]] = []
        self._flush_result(out, None)
        self._held = None  # replaced by the error
        # AG-UI's RUN_ERROR has no run ids; TanStack keeps them in metadata.tanstack, where
        # the 0.33 client looks to retire exactly the run that failed.
        named = dict(event)
        for key, value in (("threadId", self.thread_id), ("runId", self.run_id)):
            if value is not None:
                named.setdefault(key, value)
        out.append(to_spec(named))
        self._phase = "errored"
        return out

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

    # --- handlers, one per event type ---------------------------------------------------

    def _on_run_started(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self._phase == "running":
            return  # already running (perhaps on a RUN_STARTED we made)
        out.append(self._run_started(event))

    def _on_run_finished(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self._close_everything(out)
        self._held = self._finished(event)
        self._phase = "held"

    def _on_text_start(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if not isinstance(message_id, str) or message_id in self._text:
            return
        self._text[message_id] = None
        out.append(to_spec(event))

    def _on_text_content(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if not isinstance(message_id, str):
            return
        if message_id not in self._text:
            self._text[message_id] = None
            out.append(
                {
                    "type": "TEXT_MESSAGE_START",
                    "messageId": message_id,
                    "role": "assistant",
                    "timestamp": now_ms(),
                }
            )
        out.append(to_spec(event))

    def _on_text_end(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if isinstance(message_id, str) and message_id in self._text:
            del self._text[message_id]
            out.append(to_spec(event))

    def _on_tool_start(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        call_id = event.get("toolCallId")
        if not isinstance(call_id, str) or call_id in self._tools or call_id in self._ended_tools:
            return
        started = to_spec(event)
        if not isinstance(started.get("toolCallName"), str):
            return  # AG-UI requires the name; a call without one cannot be shown
        self._tools[call_id] = None
        out.append(started)

    def _on_tool_args(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if event.get("toolCallId") in self._tools:
            out.append(to_spec(event))

    def _on_tool_end(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        call_id = event.get("toolCallId")
        if not isinstance(call_id, str):
            return
        if call_id in self._tools:
            del self._tools[call_id]
            self._ended_tools.add(call_id)
            out.append(to_spec(event))
        result = event.get("result")
        if result is not None and call_id not in self._results:
            parent = event.get("parentMessageId")
            pending: dict[str, Any] = {
                "type": "TOOL_CALL_RESULT",
                "messageId": parent if isinstance(parent, str) and parent else call_id,
                "toolCallId": call_id,
                "content": result if isinstance(result, str) else _json.dumps(result),
                "role": "tool",
            }
            if "timestamp" in event:
                pending["timestamp"] = event["timestamp"]
            if event.get("state") == "output-error":
                pending["metadata"] = {"tanstack": {"state": "output-error"}}
            self._pending_result = pending

    def _on_tool_result(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        call_id = event.get("toolCallId")
        if not isinstance(call_id, str) or call_id in self._results:
            return
        self._results.add(call_id)
        result = to_spec(event)
        content = result.get("content")
        if not isinstance(content, str | list):
            result["content"] = _json.dumps(content)
        if not isinstance(result.get("messageId"), str):
            result["messageId"] = call_id
        out.append(result)

    def _on_step_started(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        name = event.get("stepName")
        if not isinstance(name, str):
            return
        if event.get("stepType") == "thinking":
            if self._reasoning_messages:  # the agent streams REASONING_* itself
                self._close_synthetic(out)
                self._thinking[name] = None
                return
            step_id = event.get("stepId")
            self._open_synthetic(name, step_id if isinstance(step_id, str) else name, out)
            return
        self._close_synthetic(out)
        if name in self._steps:
            return
        self._steps[name] = None
        out.append(to_spec(event))

    def _on_step_finished(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        name = event.get("stepName")
        if not isinstance(name, str):
            return
        if name in self._thinking:
            base = self._thinking[name]
            if base is None:
                return  # a duplicate of REASONING_* the agent sent
            if self._synthetic_step == name and self._synthetic is not None:
                message_id = self._synthetic
            else:  # something came between: the thinking goes on in a new message
                message_id = self._open_synthetic(name, base, out)
            self._thinking_delta(event, message_id, out)
            return
        self._close_synthetic(out)
        if name in self._steps:
            del self._steps[name]
            out.append(to_spec(event))

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

    def _on_thinking(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """THINKING_* (a draft of AG-UI's reasoning events, unknown to 1.0): read as thinking."""
        kind = event.get("type")
        if kind == "THINKING_START":
            step = self._next_id("thinking")
            self._open_synthetic(step, step, out)
        elif kind == "THINKING_TEXT_MESSAGE_CONTENT":
            message_id = self._synthetic
            if message_id is None:
                step = self._next_id("thinking")
                message_id = self._open_synthetic(step, step, out)
            self._thinking_delta(event, message_id, out)
        elif kind == "THINKING_END":
            self._close_synthetic(out)
        # THINKING_TEXT_MESSAGE_START / _END: the message opens with its first delta and
        # closes with THINKING_END or whatever comes next.

    def _on_reasoning_start(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if isinstance(message_id, str) and message_id not in self._reasoning_spans:
            self._reasoning_spans[message_id] = None
            out.append(to_spec(event))

    def _on_reasoning_message_start(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if isinstance(message_id, str) and message_id not in self._reasoning_messages:
            self._reasoning_messages[message_id] = None
            started = to_spec(event)
            started["role"] = "reasoning"
            out.append(started)

    def _on_reasoning_content(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if not isinstance(message_id, str):
            return
        if message_id not in self._reasoning_messages:
            if message_id not in self._reasoning_spans:
                self._on_reasoning_start({"type": "REASONING_START", "messageId": message_id}, out)
            self._on_reasoning_message_start(
                {"type": "REASONING_MESSAGE_START", "messageId": message_id}, out
            )
        out.append(to_spec(event))

    def _on_reasoning_message_end(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if isinstance(message_id, str) and message_id in self._reasoning_messages:
            del self._reasoning_messages[message_id]
            out.append(to_spec(event))

    def _on_reasoning_end(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        message_id = event.get("messageId")
        if not isinstance(message_id, str) or message_id not in self._reasoning_spans:
            return
        if message_id in self._reasoning_messages:
            self._on_reasoning_message_end(
                {"type": "REASONING_MESSAGE_END", "messageId": message_id}, out
            )
        del self._reasoning_spans[message_id]
        out.append(to_spec(event))

    def _on_custom(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        name = event.get("name")
        value = event.get("value")
        if name in ("tool-input-available", "approval-requested") and isinstance(value, Mapping):
            call_id = value.get("toolCallId")
            tool_name = value.get("toolName")
            if isinstance(call_id, str) and isinstance(tool_name, str):
                run_id = self.run_id or ""
                tool_input = value.get("input")
                if name == "tool-input-available":
                    interrupt = client_tool_interrupt(run_id, call_id, tool_name, tool_input)
                else:
                    approval = value.get("approval")
                    approval_id = approval.get("id") if isinstance(approval, Mapping) else None
                    interrupt = approval_interrupt(
                        run_id,
                        call_id,
                        tool_name,
                        tool_input,
                        interrupt_id=approval_id if isinstance(approval_id, str) else None,
                    )
                self._interrupts.append(interrupt)
                return
        out.append(to_spec(event))

    _HANDLERS: ClassVar[
        dict[str, Callable[[CurrentDialect, dict[str, Any], list[dict[str, Any]]], None]]
    ] = {
        "RUN_STARTED": _on_run_started,
        "RUN_FINISHED": _on_run_finished,
        "TEXT_MESSAGE_START": _on_text_start,
        "TEXT_MESSAGE_CONTENT": _on_text_content,
        "TEXT_MESSAGE_END": _on_text_end,
        "TOOL_CALL_START": _on_tool_start,
        "TOOL_CALL_ARGS": _on_tool_args,
        "TOOL_CALL_END": _on_tool_end,
        "TOOL_CALL_RESULT": _on_tool_result,
        "STEP_STARTED": _on_step_started,
        "STEP_FINISHED": _on_step_finished,
        "THINKING_START": _on_thinking,
        "THINKING_TEXT_MESSAGE_START": _on_thinking,
        "THINKING_TEXT_MESSAGE_CONTENT": _on_thinking,
        "THINKING_TEXT_MESSAGE_END": _on_thinking,
        "THINKING_END": _on_thinking,
        "REASONING_START": _on_reasoning_start,
        "REASONING_MESSAGE_START": _on_reasoning_message_start,
        "REASONING_MESSAGE_CONTENT": _on_reasoning_content,
        "REASONING_MESSAGE_END": _on_reasoning_message_end,
        "REASONING_END": _on_reasoning_end,
        "CUSTOM": _on_custom,
    }
