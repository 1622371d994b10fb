"""The ``"current"`` dialect: any event stream written as AG-UI 1.0 / TanStack 0.58 expects.

``@tanstack/ai-client@0.33`` and ``@ag-ui/client@1.0`` read only AG-UI keys at the top
level, TanStack extras under ``metadata.tanstack``, thinking as ``REASONING_*``, results
as ``TOOL_CALL_RESULT``, usage as a list, a flat ``RUN_ERROR``, paused runs as
``RUN_FINISHED.outcome.interrupts``, and a stream the ``@ag-ui/client`` verifier accepts
(balanced starts and ends, one ``TOOL_CALL_END`` per call, nothing after ``RUN_ERROR``,
no ``RUN_STARTED`` inside a run). :class:`CurrentDialect` is the state machine that
writes any stream so: each event goes to the handler for its type, which rewrites it
with ``to_spec`` (``_spec_keys``), repairs what the verifier would refuse and upgrades
old-style events (thinking steps, a result on a second TOOL_CALL_END, CUSTOM tool
events). The state it keeps and the moves on that state are in ``_current_state``; the
choice of dialect is in ``_dialect``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .. import _json
from .._events._plain import PlainDeltas
from .._ids import now_ms
from .._run_input._interrupts import approval_interrupt, client_tool_interrupt
from ._current_state import NOTHING, CurrentDialectState
from ._spec_keys import SPEC_KEYS, to_spec

__all__ = ["CurrentDialect"]


class CurrentDialect(CurrentDialectState):
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

    # The steady-delta shortcuts (at the top of convert, and the frames step's through
    # as_is); off only where tests and benchmarks compare them with the full path.
    _steady: ClassVar[bool] = True

    # --- the converter interface ----------------------------------------------------------

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        # The events sent most, in a run going smoothly: a content delta of a message or
        # call that is open (``as_is``: empty unless the run is steady). All the full path
        # would do for one is [to_spec(event)], so that is done at once, here rather than
        # in a method of its own: this runs once per token. (The frames step writes a
        # plain delta with nothing but its keys itself; other callers still bring them.)
        passing = self.as_is.get(event.get("type", ""))
        if passing is not None:
            keys, ids = passing
            # Normalised events: the id is a str or None, and None is never open.
            if ids is not None and event.get(keys[1]) in ids:
                if len(event) == 3 and "delta" in event:
                    # Just type, id and delta: all spec keys, so to_spec would only copy
                    # it. Passed on as is, like fast_event_dict's.
                    return [event]
                return [to_spec(event)]
        out = self._convert_fully(event)
        self.as_is = self._passing()
        return out

    def _passing(self) -> PlainDeltas:
        """``as_is`` for the state now: the open deltas while nothing else is owed (no
        result pending, no synthetic reasoning open) in a running run."""
        if (
            self._phase == "running"
            and self._pending_result is None
            and self._synthetic is None
            and self._steady
        ):
            return self._open_by_delta
        return NOTHING

    def _convert_fully(self, event: dict[str, Any]) -> list[dict[str, Any]]:
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
        self.as_is = NOTHING  # the run ends here
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
        self.as_is = NOTHING  # nothing follows a RUN_ERROR
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
