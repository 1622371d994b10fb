"""StreamProcessor: reference §4 rules, checklist items 56-103, and our deliberate differences.

Events are written as camelCase dicts, exactly as they arrive on the wire; the processor
accepts them as well as typed events. A test that covers a rule where chatconduit
deliberately differs from the reference says so and names the reference behaviour.
"""

from __future__ import annotations

import logging
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chatconduit._processor._message_state as message_state_module
import chatconduit._processor._partial_json as partial_json_module
import chatconduit._processor._text_messages as text_messages_module
from chatconduit import (
    ApprovalRequest,
    BatchStrategy,
    CompositeStrategy,
    ImagePart,
    ImmediateStrategy,
    JSONPatchError,
    MalformedEventError,
    MessagesView,
    PunctuationStrategy,
    RunError,
    StreamProcessor,
    TextPart,
    ToolCallRequest,
    UIMessage,
    WordBoundaryStrategy,
    message_to_dict,
)
from chatconduit._processor import ui_messages_from_snapshot
from chatconduit.events import StepFinishedEvent, TextMessageContentEvent, ToolCallArgsEvent

Event = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def run_started(run_id: str = "run-1") -> Event:
    return {"type": "RUN_STARTED", "runId": run_id, "threadId": "thread-1"}


def run_finished(run_id: str = "run-1", reason: str | None = "stop", **extra: Any) -> Event:
    event: Event = {"type": "RUN_FINISHED", "runId": run_id, "threadId": "thread-1"}
    if reason is not None:
        event["finishReason"] = reason
    return {**event, **extra}


def text_start(message_id: str = "m1", role: str = "assistant") -> Event:
    return {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": role}


def text(
    message_id: str | None = "m1", delta: str | None = None, content: str | None = None
) -> Event:
    event: Event = {"type": "TEXT_MESSAGE_CONTENT"}
    if message_id is not None:
        event["messageId"] = message_id
    if delta is not None:
        event["delta"] = delta
    if content is not None:
        event["content"] = content
    return event


def text_end(message_id: str = "m1") -> Event:
    return {"type": "TEXT_MESSAGE_END", "messageId": message_id}


def tool_start(call_id: str = "c1", name: str = "get_weather", **extra: Any) -> Event:
    return {"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": name, **extra}


def tool_args(call_id: str = "c1", delta: str = "") -> Event:
    return {"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": delta}


def tool_end(call_id: str = "c1", **extra: Any) -> Event:
    return {"type": "TOOL_CALL_END", "toolCallId": call_id, **extra}


def custom(name: str, value: Any = None) -> Event:
    event: Event = {"type": "CUSTOM", "name": name}
    if value is not None:
        event["value"] = value
    return event


class Recorder:
    """Collects every callback; ``processor()`` builds a processor wired to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.views: list[MessagesView] = []

    def _cb(self, name: str) -> Callable[..., None]:
        def callback(*args: Any) -> None:
            if name == "messages_change":
                self.views.append(args[0])
                self.calls.append((name,))
            else:
                self.calls.append((name, *args))

        return callback

    def processor(self, **kwargs: Any) -> StreamProcessor:
        names = [
            "messages_change",
            "stream_start",
            "stream_end",
            "error",
            "tool_call",
            "approval_request",
            "custom_event",
            "text_update",
            "thinking_update",
            "tool_call_state_change",
            "state_change",
        ]
        callbacks: dict[str, Any] = {f"on_{n}": self._cb(n) for n in names}
        return StreamProcessor(**callbacks, **kwargs)

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


def feed(processor: StreamProcessor, *events: Event) -> None:
    for event in events:
        processor.process(event)


def dicts(processor: StreamProcessor) -> list[dict[str, Any]]:
    """Messages as JSON dicts, without the volatile createdAt."""
    out = []
    for m in processor.messages:
        d = message_to_dict(m)
        d.pop("createdAt", None)
        out.append(d)
    return out


def parts(processor: StreamProcessor, index: int = -1) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = dicts(processor)[index]["parts"]
    return result


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


# --------------------------------------------------------------------------- 56-59


def test_56_full_text_flow_yields_one_assistant_message(rec: Recorder) -> None:
    p = rec.processor()
    p.prepare_assistant_message()
    feed(
        p,
        run_started(),
        text_start(),
        text(delta="Hel"),
        text(delta="lo"),
        text_end(),
        run_finished(reason="stop"),
    )
    assert dicts(p) == [
        {"id": "m1", "role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}
    ]
    assert p.is_done
    assert p.finish_reason == "stop"
    assert rec.of("text_update") == [("m1", "Hel"), ("m1", "Hello")]
    assert [m.id for (m,) in rec.of("stream_end")] == ["m1"]


def test_57_content_without_start_lazily_creates_the_assistant_message(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, text("srv-1", delta="Hi"))
    assert dicts(p) == [
        {"id": "srv-1", "role": "assistant", "parts": [{"type": "text", "content": "Hi"}]}
    ]
    assert [m.id for (m,) in rec.of("stream_start")] == ["srv-1"]
    # without any id at all, a fresh msg- id is generated
    q = StreamProcessor()
    feed(q, text(None, delta="x"))
    assert q.messages[0].id.startswith("msg-")


def test_58_no_content_bearing_event_creates_no_message(rec: Recorder) -> None:
    p = rec.processor()
    p.add_user_message("Hello")
    p.prepare_assistant_message()
    feed(p, run_started(), run_finished())
    assert [m.role for m in p.messages] == ["user"]
    assert rec.of("stream_start") == [] and rec.of("stream_end") == []
    assert p.is_done


def test_59_lifecycle_and_state_events_never_create_messages() -> None:
    p = StreamProcessor()
    feed(
        p,
        run_started(),
        text_end("nobody"),
        {"type": "STEP_STARTED", "stepName": "s", "stepId": "s"},
        {"type": "STATE_SNAPSHOT", "snapshot": {"a": 1}},
        {"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/a", "value": 2}]},
    )
    assert list(p.messages) == []
    assert p.state == {"a": 2}


# --------------------------------------------------------------------------- 60-72 tools


def test_60_tool_call_states_progress(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, text_start(), tool_start(), tool_args(delta='{"a":'), tool_args(delta="1}"), tool_end())
    states = [(s, a) for (_, _, s, a) in rec.of("tool_call_state_change")]
    assert states == [
        ("awaiting-input", ""),
        ("input-streaming", '{"a":'),
        ("input-streaming", '{"a":1}'),
        ("input-complete", '{"a":1}'),
    ]
    assert parts(p)[0]["state"] == "input-complete"
    assert p.tool_calls["c1"].input_state == "input-complete"


def test_61_empty_args_delta_stays_awaiting_input() -> None:
    p = StreamProcessor()
    feed(p, tool_start(), tool_args(delta=""))
    assert parts(p)[0]["state"] == "awaiting-input"
    feed(p, tool_args(delta="{"))
    assert parts(p)[0]["state"] == "input-streaming"


def test_62_args_for_unknown_id_are_dropped_with_a_warning(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    p = rec.processor()
    with caplog.at_level(logging.WARNING, logger="chatconduit.processor"):
        feed(p, tool_args("ghost", delta="{}"))
    assert list(p.messages) == []
    assert rec.calls == []
    assert "unknown tool call 'ghost'" in caplog.text


def test_63_duplicate_tool_call_start_is_a_no_op() -> None:
    p = StreamProcessor()
    feed(p, tool_start(), tool_args(delta="{}"), tool_start())
    assert [pt["type"] for pt in parts(p)] == ["tool-call"]
    assert parts(p)[0]["arguments"] == "{}"


def test_64_start_with_only_the_deprecated_tool_name_names_the_part() -> None:
    p = StreamProcessor()
    feed(p, {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolName": "legacy"})
    assert parts(p)[0]["name"] == "legacy"


def test_65_index_defaults_to_arrival_order_and_explicit_index_is_kept() -> None:
    p = StreamProcessor()
    feed(p, tool_start("a"), tool_start("b"), tool_start("c", index=7))
    assert [p.tool_calls[i].index for i in "abc"] == [0, 1, 7]


def test_66_end_input_becomes_parsed_arguments_and_backfills_empty_arguments() -> None:
    p = StreamProcessor()
    feed(p, tool_start(), tool_end(input={"city": "Zürich", "n": [1, 2]}))
    assert parts(p)[0]["arguments"] == '{"city":"Zürich","n":[1,2]}'  # JSON.stringify
    assert p.tool_call_arguments("c1") == {"city": "Zürich", "n": [1, 2]}
    # with streamed arguments, the text stays, but `input` is the parsed value
    q = StreamProcessor()
    feed(q, tool_start(), tool_args(delta='{"city": "Zü'), tool_end(input={"city": "Zürich"}))
    assert parts(q)[0]["arguments"] == '{"city": "Zü'
    assert q.tool_call_arguments("c1") == {"city": "Zürich"}


def test_67_missing_tool_call_end_is_completed_by_run_finished(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started(), tool_start(), tool_args(delta='{"a":1'), run_finished())
    assert parts(p)[0]["state"] == "input-complete"
    assert rec.of("tool_call_state_change")[-1][2] == "input-complete"


@pytest.mark.parametrize(
    ("result", "output"),
    [('{"temperature":21}', {"temperature": 21}), ("not json", "not json"), ("[1]", [1])],
)
def test_68_end_with_result_sets_output_and_adds_a_complete_tool_result(
    result: str, output: Any
) -> None:
    p = StreamProcessor()
    feed(p, tool_start(), tool_args(delta="{}"), tool_end(), tool_end(result=result))
    call, res = parts(p)
    assert call["output"] == output
    assert call["state"] == "input-complete"
    assert res == {
        "type": "tool-result",
        "toolCallId": "c1",
        "content": result,
        "state": "complete",
    }


def test_69_tool_call_result_behaves_like_end_with_result() -> None:
    p = StreamProcessor()
    feed(
        p,
        tool_start(),
        tool_end(),
        {
            "type": "TOOL_CALL_RESULT",
            "toolCallId": "c1",
            "messageId": "r",
            "content": '{"ok":true}',
        },
    )
    call, res = parts(p)
    assert call["output"] == {"ok": True}
    assert res["content"] == '{"ok":true}' and res["state"] == "complete"
    # a repeated result replaces the tool-result part rather than adding a second one
    feed(p, {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "content": "2"})
    assert [pt["type"] for pt in parts(p)] == ["tool-call", "tool-result"]
    assert parts(p)[1]["content"] == "2"


def test_70_second_end_with_result_on_a_completed_call_still_adds_the_result() -> None:
    p = StreamProcessor()
    feed(p, tool_start(), tool_end(input={}))
    assert len(parts(p)) == 1
    feed(p, tool_end(result='"done"'))
    assert parts(p)[0]["output"] == "done"
    assert parts(p)[1]["type"] == "tool-result"


def test_71_parent_message_id_routes_the_call_to_that_message() -> None:
    p = StreamProcessor()
    feed(p, text_start("m1"), text("m1", delta="a"), text_start("m2"), text("m2", delta="b"))
    feed(p, tool_start(parentMessageId="m1"))
    assert [pt["type"] for pt in parts(p, 0)] == ["text", "tool-call"]
    assert [pt["type"] for pt in parts(p, 1)] == ["text"]
    assert p.tool_calls["c1"].message_id == "m1"


def test_72_parallel_tool_calls_keep_start_order() -> None:
    p = StreamProcessor()
    feed(
        p,
        tool_start("a"),
        tool_start("b"),
        tool_args("b", '{"x":2}'),
        tool_args("a", '{"x":1}'),
        tool_end("b"),
        tool_end("a"),
    )
    assert [(pt["id"], pt["arguments"]) for pt in parts(p)] == [("a", '{"x":1}'), ("b", '{"x":2}')]


# --------------------------------------------------------------------------- 73-76 segments


def test_73_text_tool_result_text_ordering_with_start_between_segments() -> None:
    p = StreamProcessor()
    feed(
        p,
        text_start(),
        text(delta="Before"),
        tool_start(),
        tool_args(delta="{}"),
        tool_end(result='{"t":1}'),
        text_start(),  # the same message id again starts a new segment
        text(delta="After"),
    )
    assert [(pt["type"], pt.get("content")) for pt in parts(p)] == [
        ("text", "Before"),
        ("tool-call", None),
        ("tool-result", '{"t":1}'),
        ("text", "After"),
    ]


def test_74_text_before_and_after_tools_are_two_parts() -> None:
    p = StreamProcessor()
    feed(
        p,
        text_start(),
        text(delta="One"),
        tool_start(),
        tool_end(),
        text_start(),
        text(delta="Two"),
    )
    texts = [pt["content"] for pt in parts(p) if pt["type"] == "text"]
    assert texts == ["One", "Two"]


def test_75_delta_only_text_after_tools_starts_a_new_segment_without_repeating() -> None:
    """Deliberate difference. Reference (quirk, EXP): without a new TEXT_MESSAGE_START
    the new text part repeats the earlier text: "Before", tool-call, "BeforeAfter"."""
    p = StreamProcessor()
    feed(p, text_start(), text(delta="Before"), tool_start(), tool_end(), text(delta="After"))
    assert [(pt["type"], pt.get("content")) for pt in parts(p)] == [
        ("text", "Before"),
        ("tool-call", None),
        ("text", "After"),
    ]


def test_75b_accumulated_content_across_tools_is_not_repeated_either() -> None:
    """Same difference when the server sends only the message's accumulated `content`."""
    p = StreamProcessor()
    feed(
        p,
        text_start(),
        text(content="Before"),
        tool_start(),
        tool_end(),
        text(content="BeforeAf"),
        text(content="BeforeAfter"),
        tool_start("c2"),
        tool_end("c2"),
        text(content="BeforeAfterEnd"),
    )
    texts = [pt.get("content") for pt in parts(p)]
    assert texts == ["Before", None, "After", None, "End"]


def test_75c_thinking_between_text_splits_the_text_instead_of_repeating_it() -> None:
    """Reference: the text after the thinking part is pushed as "AB" (repeat)."""
    p = StreamProcessor()
    feed(
        p,
        text_start(),
        text(delta="A"),
        {"type": "STEP_FINISHED", "stepId": "s1", "delta": "hmm"},
        text(delta="B"),
    )
    assert [(pt["type"], pt["content"]) for pt in parts(p)] == [
        ("text", "A"),
        ("thinking", "hmm"),
        ("text", "B"),
    ]


def test_76_content_only_chunks_are_prefix_merged() -> None:
    p = StreamProcessor()
    feed(p, text_start(), *(text(content=c) for c in ["He", "Hello", "Hel", "XYZ"]))
    assert parts(p) == [{"type": "text", "content": "HelloXYZ"}]


def test_76b_unrelated_content_after_tools_starts_a_new_segment() -> None:
    p = StreamProcessor()
    feed(p, text_start(), text(content="Before"), tool_start(), tool_end(), text(content="New"))
    assert [pt.get("content") for pt in parts(p)] == ["Before", None, "New"]


# --------------------------------------------------------------------------- 77-82 thinking


def step_finished(step_id: str | None = "s1", **fields: Any) -> Event:
    event: Event = {"type": "STEP_FINISHED", "stepName": step_id or "x", **fields}
    if step_id is not None:
        event["stepId"] = step_id
    return event


def test_77_step_finished_deltas_accumulate_into_one_thinking_part(rec: Recorder) -> None:
    p = rec.processor()
    feed(
        p,
        {"type": "STEP_STARTED", "stepName": "s1", "stepId": "s1"},
        step_finished(delta="Let me", content="Let me"),
        step_finished(delta=" think", content="Let me think"),
        step_finished(content="Let me think"),  # content-only, already contained
    )
    assert parts(p) == [{"type": "thinking", "content": "Let me think", "stepId": "s1"}]
    message_id = p.messages[0].id
    assert rec.of("thinking_update")[-1] == (message_id, "s1", "Let me think")


def test_78_different_step_ids_produce_separate_parts_with_signatures() -> None:
    p = StreamProcessor()
    feed(
        p,
        {"type": "STEP_STARTED", "stepId": "s1"},
        step_finished("s1", delta="one", signature="sig-1"),
        {"type": "STEP_STARTED", "stepId": "s2"},
        step_finished("s2", delta="two", signature="sig-2"),
    )
    assert parts(p) == [
        {"type": "thinking", "content": "one", "stepId": "s1", "signature": "sig-1"},
        {"type": "thinking", "content": "two", "stepId": "s2", "signature": "sig-2"},
    ]


def test_79_pending_step_is_applied_to_the_next_thinking_event_and_cleared_later() -> None:
    p = StreamProcessor()
    feed(p, {"type": "STEP_STARTED", "stepId": "early"}, step_finished(None, delta="x"))
    assert parts(p)[0]["stepId"] == "early"
    # a pending step is dropped when a STEP_STARTED arrives with a message active
    q = StreamProcessor()
    feed(
        q,
        {"type": "STEP_STARTED", "stepId": "pending"},
        text_start(),
        {"type": "STEP_STARTED", "stepId": "later"},
        step_finished(None, delta="y"),
    )
    assert [pt.get("stepId") for pt in parts(q)] == ["later"]
    # STEP_STARTED with only a stepName gets a generated id (the reference never uses names)
    r = StreamProcessor()
    feed(r, {"type": "STEP_STARTED", "stepName": "name"}, step_finished(None, delta="z"))
    assert parts(r)[0]["stepId"].startswith("msg-")


def test_80_reasoning_content_creates_a_thinking_part_keyed_by_message_id_or_step() -> None:
    p = StreamProcessor()
    reasoning = {"type": "REASONING_MESSAGE_CONTENT", "messageId": "r1"}
    feed(p, {**reasoning, "delta": "a"}, {**reasoning, "delta": "b"})
    assert parts(p) == [{"type": "thinking", "content": "ab", "stepId": "r1"}]
    # a later reasoning block without STEP_STARTED keeps appending to the current step
    feed(p, {"type": "REASONING_MESSAGE_CONTENT", "messageId": "r2", "delta": "c"})
    assert parts(p) == [{"type": "thinking", "content": "abc", "stepId": "r1"}]
    q = StreamProcessor()
    feed(q, {"type": "STEP_STARTED", "stepId": "st"}, {**reasoning, "delta": "x"})
    assert parts(q)[0]["stepId"] == "st"


def test_81_after_reasoning_step_finished_only_contributes_its_signature() -> None:
    p = StreamProcessor()
    feed(
        p,
        {"type": "STEP_STARTED", "stepId": "s1"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": "r1", "delta": "Reason"},
        step_finished("s1", delta="Reason", content="Reason"),
        step_finished("s1", signature="sig"),
    )
    assert parts(p) == [
        {"type": "thinking", "content": "Reason", "stepId": "s1", "signature": "sig"}
    ]


def test_82_reasoning_start_and_end_events_are_no_ops(rec: Recorder) -> None:
    p = rec.processor()
    for kind in (
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_END",
        "REASONING_END",
    ):
        p.process({"type": kind, "messageId": "r1"})
    assert list(p.messages) == [] and rec.calls == []


# --------------------------------------------------------------------------- 83-86 custom


def test_83_tool_input_available_fires_on_tool_call_only(rec: Recorder) -> None:
    p = rec.processor()
    value = {"toolCallId": "c1", "toolName": "t", "input": {"a": 1}}
    feed(p, custom("tool-input-available", value))
    assert rec.of("tool_call") == [(ToolCallRequest("c1", "t", {"a": 1}),)]
    assert rec.of("custom_event") == []


def test_84_approval_requested_updates_the_part_and_fires_on_approval_request(
    rec: Recorder,
) -> None:
    p = rec.processor()
    feed(p, tool_start(), tool_args(delta="{}"), tool_end())
    value = {
        "toolCallId": "c1",
        "toolName": "get_weather",
        "input": {},
        "approval": {"id": "ap-1", "needsApproval": True},
    }
    feed(p, custom("approval-requested", value))
    part = parts(p)[0]
    assert part["state"] == "approval-requested"
    assert part["approval"] == {"id": "ap-1", "needsApproval": True}
    assert rec.of("approval_request") == [(ApprovalRequest("c1", "get_weather", {}, "ap-1"),)]
    # forced completion (RUN_FINISHED) must not clobber the approval state
    feed(p, run_finished())
    assert parts(p)[0]["state"] == "approval-requested"


def test_84b_approval_request_without_an_approval_id_is_malformed() -> None:
    p = StreamProcessor()
    with pytest.raises(MalformedEventError, match=r"approval\.id"):
        p.process(custom("approval-requested", {"toolCallId": "c1"}))


def test_85_system_custom_events_without_value_go_to_on_custom_event(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, custom("tool-input-available"), custom("approval-requested"))
    assert rec.of("custom_event") == [
        ("tool-input-available", None, None),
        ("approval-requested", None, None),
    ]
    assert rec.of("tool_call") == [] and rec.of("approval_request") == []


def test_86_other_custom_events_carry_the_tool_call_id_from_their_value(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, custom("progress", {"toolCallId": "c9", "pct": 50}), custom("plain", "text"))
    assert rec.of("custom_event") == [
        ("progress", {"toolCallId": "c9", "pct": 50}, "c9"),
        ("plain", "text", None),
    ]


# --------------------------------------------------------------------------- 87-93 runs


def test_87_run_error_keeps_the_error_and_creates_no_message(rec: Recorder) -> None:
    """Deliberate difference. Reference: RUN_ERROR with no active message appends an
    empty assistant message (``parts: []``) before firing onError."""
    p = rec.processor()
    p.add_user_message("Hello")
    p.prepare_assistant_message()
    feed(p, run_started(), {"type": "RUN_ERROR", "runId": "run-1", "message": "boom", "code": "E1"})
    assert [m.role for m in p.messages] == ["user"]
    assert p.has_error
    assert isinstance(p.error, RunError)
    assert (str(p.error), p.error.code, p.error.run_id) == ("boom", "E1", "run-1")
    assert p.runs["run-1"].status == "error" and p.runs["run-1"].error is p.error
    assert rec.of("error") == [(p.error,)]


def test_87b_run_error_keeps_partial_content_of_the_active_message() -> None:
    p = StreamProcessor()
    feed(p, text_start(), text(delta="Partial"), {"type": "RUN_ERROR", "error": {"message": "x"}})
    assert parts(p) == [{"type": "text", "content": "Partial"}]
    assert str(p.error) == "x"


def test_88_run_error_without_any_message_reads_an_error_occurred() -> None:
    p = StreamProcessor()
    p.process({"type": "RUN_ERROR"})
    assert str(p.error) == "An error occurred"
    nested = StreamProcessor()
    nested.process({"type": "RUN_ERROR", "error": {"message": "nested", "code": "c"}})
    assert (str(nested.error), nested.error and nested.error.code) == ("nested", "c")


def test_89_finishing_one_of_several_concurrent_runs_does_not_finalize(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started("a"), run_started("b"), text_start(), text(delta="x"), run_finished("a"))
    assert not p.is_done and rec.of("stream_end") == []
    feed(p, run_finished("b"))
    assert p.is_done and len(rec.of("stream_end")) == 1


def test_90_run_finished_without_run_started_finalizes(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, text_start(), text(delta="x"), run_finished("never-started"))
    assert p.is_done and len(rec.of("stream_end")) == 1


def test_91_run_error_with_run_id_removes_only_that_run(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started("a"), run_started("b"), text_start(), text(delta="x"))
    feed(p, {"type": "RUN_ERROR", "runId": "a", "message": "a failed"})
    assert p.runs["b"].status == "running"
    feed(p, run_finished("b"))
    assert len(rec.of("stream_end")) == 1  # b was the last active run
    # without a runId every run is cleared
    q = StreamProcessor()
    feed(q, run_started("a"), run_started("b"), {"type": "RUN_ERROR", "message": "all"})
    assert [r.status for r in q.runs.values()] == ["error", "error"]


def test_92_on_stream_end_fires_once_from_finalize_not_from_text_end(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started(), text_start(), text(delta="x"), text_end())
    assert rec.of("stream_end") == []
    feed(p, run_finished())
    p.finalize_stream()
    p.finalize_stream()
    assert len(rec.of("stream_end")) == 1


def test_93_finalize_removes_whitespace_only_replies_but_not_after_an_error(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started(), text_start(), text(delta=" \n\t\u00a0"), run_finished())
    assert list(p.messages) == []
    assert rec.of("stream_end") == []
    q = StreamProcessor()
    feed(q, text_start(), text(delta="  "), {"type": "RUN_ERROR", "message": "e"})
    q.finalize_stream()
    assert len(q.messages) == 1
    # an assistant message with no parts at all is not "whitespace-only"
    r = StreamProcessor()
    feed(r, text_start(), run_finished())
    assert len(r.messages) == 1


# ------------------------------------------------------------------------- 94-96 snapshots, resume


def test_94_messages_snapshot_replaces_messages_and_resets_stream_state(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started(), text_start("old"), text("old", delta="x"), tool_start())
    snapshot = [
        {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]},
        {"id": "a1", "role": "assistant", "parts": [{"type": "text", "content": "yo"}]},
    ]
    feed(p, {"type": "MESSAGES_SNAPSHOT", "messages": snapshot})
    assert dicts(p) == snapshot
    assert p.tool_calls == {} and p.runs == {}
    # content for a snapshot message resumes it instead of duplicating it
    feed(p, text("a1", delta="!"))
    assert parts(p) == [{"type": "text", "content": "yo!"}]


def test_95_content_for_an_existing_message_appends_without_on_stream_start(rec: Recorder) -> None:
    initial = UIMessage(id="a1", role="assistant", parts=[TextPart(content="Hello")])
    p = rec.processor(initial_messages=[initial])
    p.prepare_assistant_message()
    feed(p, text("a1", delta=" world"))
    assert len(p.messages) == 1
    assert parts(p) == [{"type": "text", "content": "Hello world"}]
    assert rec.of("stream_start") == []


def test_96_text_start_for_an_existing_message_without_state_restarts_its_text() -> None:
    """Kept as the reference does it (EXP): a TEXT_MESSAGE_START for a message we hold but
    have no stream state for (e.g. a server replaying the message from its start) makes
    the following delta replace its last text part rather than append to it."""
    initial = UIMessage(id="a1", role="assistant", parts=[TextPart(content="Old text")])
    p = StreamProcessor(initial_messages=[initial])
    feed(p, text_start("a1"), text("a1", delta="New"))
    assert parts(p) == [{"type": "text", "content": "New"}]


# --------------------------------------------------------------------------- 97-101 tool results


def test_97_add_tool_result_sets_output_and_a_complete_result_part() -> None:
    p = StreamProcessor()
    feed(p, tool_start("s"), tool_start("o"))
    assert p.add_tool_result("s", "plain text")
    assert p.add_tool_result("o", {"temp": 21})
    call_s, call_o, res_s, res_o = parts(p)
    assert call_s["output"] == "plain text" and call_s["state"] == "input-complete"
    assert call_o["output"] == {"temp": 21}
    assert res_s == {
        "type": "tool-result",
        "toolCallId": "s",
        "content": "plain text",
        "state": "complete",
    }
    assert res_o["content"] == '{"temp":21}'
    # None is JSON null
    q = StreamProcessor()
    feed(q, tool_start())
    q.add_tool_result("c1", None)
    assert parts(q)[0]["output"] is None and parts(q)[1]["content"] == "null"


def test_98_add_tool_result_with_error() -> None:
    p = StreamProcessor()
    feed(p, tool_start())
    p.add_tool_result("c1", None, error="it broke")
    call, res = parts(p)
    assert call["output"] == {"error": "it broke"}
    assert res == {
        "type": "tool-result",
        "toolCallId": "c1",
        "content": "null",
        "state": "error",
        "error": "it broke",
    }


def test_99_add_tool_result_for_an_unknown_id_warns_and_changes_nothing(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    p = rec.processor()
    p.add_user_message("hi")
    before = dicts(p)
    calls_before = len(rec.calls)
    with caplog.at_level(logging.WARNING, logger="chatconduit.processor"):
        assert p.add_tool_result("nope", 1) is False
    assert "Could not find message with tool call nope" in caplog.text
    assert dicts(p) == before and len(rec.calls) == calls_before


def test_99b_add_tool_result_with_unserialisable_output_changes_nothing() -> None:
    p = StreamProcessor()
    feed(p, tool_start())
    with pytest.raises(TypeError):
        p.add_tool_result("c1", object())
    assert parts(p) == [
        {
            "type": "tool-call",
            "id": "c1",
            "name": "get_weather",
            "arguments": "",
            "state": "awaiting-input",
        }
    ]


def test_100_add_tool_approval_response() -> None:
    p = StreamProcessor()
    feed(
        p,
        tool_start(),
        tool_end(),
        custom("approval-requested", {"toolCallId": "c1", "approval": {"id": "ap"}}),
    )
    assert p.add_tool_approval_response("ap", True)
    assert parts(p)[0]["state"] == "approval-responded"
    assert parts(p)[0]["approval"] == {"id": "ap", "needsApproval": True, "approved": True}
    assert not p.add_tool_approval_response("other", False)


def test_101_are_all_tools_complete_truth_table() -> None:
    p = StreamProcessor()
    assert p.are_all_tools_complete()  # no assistant message
    p.add_user_message("hi")
    assert p.are_all_tools_complete()
    feed(p, text_start(), text(delta="no tools"))
    assert p.are_all_tools_complete()
    feed(p, tool_start("a"), tool_start("b"), tool_start("c"))
    assert not p.are_all_tools_complete()  # all pending
    p.add_tool_result("a", {"ok": 1})  # output + result part
    feed(p, tool_end("b", result='"r"'))  # server result
    assert not p.are_all_tools_complete()
    feed(p, custom("approval-requested", {"toolCallId": "c", "approval": {"id": "ap"}}))
    assert not p.are_all_tools_complete()  # approval pending
    p.add_tool_approval_response("ap", False)
    assert p.are_all_tools_complete()  # approval-responded counts, even when denied
    # output alone (no result part) counts only without an approval
    q = StreamProcessor()
    feed(q, tool_start("x"))
    q.messages[0].parts[0].set_output({"v": 1})  # type: ignore[union-attr]
    assert q.are_all_tools_complete()


# --------------------------------------------------------------------------- 102-103


def test_102_partial_arguments_are_parsed_best_effort() -> None:
    p = StreamProcessor()
    feed(p, tool_start())
    assert p.tool_call_arguments("c1") is None  # nothing yet
    feed(p, tool_args(delta='{"city": "Zü'))
    assert p.tool_call_arguments("c1") == {"city": "Zü"}
    feed(p, tool_args(delta='rich", "unit'))
    assert p.tool_call_arguments("c1") == {"city": "Zürich"}
    with pytest.raises(KeyError):
        p.tool_call_arguments("unknown")
    # a call from an earlier stream is still readable from its part
    p.prepare_assistant_message()
    assert p.tool_call_arguments("c1") == {"city": "Zürich"}


def test_103_chunk_strategy_reset_is_called_on_prepare_assistant_message() -> None:
    class Counting(ImmediateStrategy):
        resets = 0

        def reset(self) -> None:
            self.resets += 1

    strategy = Counting()
    p = StreamProcessor(chunk_strategy=strategy)
    p.prepare_assistant_message()
    p.prepare_assistant_message()
    assert strategy.resets == 2


# ------------------------------------------------------------------------- one finish per response


def test_intermediate_tool_calls_finish_does_not_finalize(rec: Recorder) -> None:
    """Deliberate difference. Reference: every RUN_FINISHED that empties the active runs
    finalizes, so a server agent loop (RUN_FINISHED tool_calls … RUN_FINISHED stop in one
    response) fires onStreamEnd/onFinish once per iteration [EXP]."""
    p = rec.processor()
    p.prepare_assistant_message()
    feed(
        p,
        run_started(),
        text_start("m1"),
        text("m1", delta="Checking"),
        tool_start(),
        tool_args(delta='{"city":"Bern"}'),
        run_finished(
            reason="tool_calls", usage={"promptTokens": 1, "completionTokens": 2, "totalTokens": 3}
        ),
    )
    assert rec.of("stream_end") == []
    assert not p.is_done
    assert parts(p)[1]["state"] == "input-complete"  # the call's input is final
    assert p.finish_reason == "tool_calls"
    feed(
        p,
        tool_end(result='{"t":3}'),
        run_started(),
        text_start("m2"),
        text("m2", delta="It is 3 °C."),
        run_finished(reason="stop"),
    )
    assert [m.id for (m,) in rec.of("stream_end")] == ["m2"]
    assert p.is_done and p.finish_reason == "stop"
    p.finalize_stream()  # what ChatClient does at the end of the response: nothing more
    assert len(rec.of("stream_end")) == 1


def test_response_ending_with_tool_calls_is_finalized_by_finalize_stream(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, run_started(), tool_start(), tool_args(delta="{}"), run_finished(reason="tool_calls"))
    assert rec.of("stream_end") == []
    p.finalize_stream()
    assert len(rec.of("stream_end")) == 1
    assert p.finish_reason == "tool_calls"  # ChatClient's continuation check reads this


def test_usage_and_finish_reason_are_kept_on_processor_and_run() -> None:
    """Deliberate difference: the reference ignores ``usage``."""
    p = StreamProcessor()
    usage = {"promptTokens": 12, "completionTokens": 34, "totalTokens": 46}
    feed(p, run_started("r"), run_finished("r", reason="length", usage=usage))
    assert p.usage is not None and not isinstance(p.usage, list)
    assert (p.usage.prompt_tokens, p.usage.completion_tokens, p.usage.total_tokens) == (12, 34, 46)
    run = p.runs["r"]
    assert (run.status, run.finish_reason, run.usage, run.thread_id) == (
        "finished",
        "length",
        p.usage,
        "thread-1",
    )
    p.prepare_assistant_message()
    assert p.usage is None and p.finish_reason is None and p.runs == {}


# --------------------------------------------------------------------------- shared state


def test_state_snapshot_and_delta(rec: Recorder) -> None:
    """Deliberate difference: the reference ignores STATE_SNAPSHOT / STATE_DELTA."""
    p = rec.processor()
    snapshot = {"todos": [{"title": "a", "done": False}], "n": 1}
    feed(p, {"type": "STATE_SNAPSHOT", "snapshot": snapshot})
    patch = [
        {"op": "replace", "path": "/todos/0/done", "value": True},
        {"op": "add", "path": "/todos/-", "value": {"title": "b", "done": False}},
        {"op": "remove", "path": "/n"},
        {"op": "add", "path": "/a~1b", "value": 1},
    ]
    feed(p, {"type": "STATE_DELTA", "delta": patch})
    assert p.state == {
        "todos": [{"title": "a", "done": True}, {"title": "b", "done": False}],
        "a/b": 1,
    }
    assert snapshot == {"todos": [{"title": "a", "done": False}], "n": 1}  # event untouched
    assert len(rec.of("state_change")) == 2
    # the deprecated `state` alias of a snapshot
    feed(p, {"type": "STATE_SNAPSHOT", "state": {"legacy": True}})
    assert p.state == {"legacy": True}


def test_failed_state_delta_raises_and_leaves_state_unchanged(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, {"type": "STATE_SNAPSHOT", "snapshot": {"a": 1, "b": [1]}})
    bad = [
        {"op": "replace", "path": "/a", "value": 2},
        {"op": "remove", "path": "/b/5"},
    ]
    with pytest.raises(JSONPatchError, match=r"operation 1 \(remove '/b/5'\).*out of range"):
        p.process({"type": "STATE_DELTA", "delta": bad})
    assert p.state == {"a": 1, "b": [1]}
    assert len(rec.of("state_change")) == 1
    with pytest.raises(JSONPatchError, match="must be a list"):
        p.process({"type": "STATE_DELTA"})


# --------------------------------------------------------------------------- chunk events


def test_text_message_chunks_expand_to_start_content_end(rec: Recorder) -> None:
    """Deliberate difference: the reference ignores *_CHUNK events."""
    p = rec.processor()
    feed(
        p,
        {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m1", "delta": "Hel"},
        {"type": "TEXT_MESSAGE_CHUNK", "delta": "lo"},  # no id: continues the open message
        {"type": "RAW", "event": {}},  # does not end it
        {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m1", "delta": "!"},
        {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m2", "delta": "Second"},  # a new message
    )
    assert [(m["id"], m["parts"]) for m in dicts(p)] == [
        ("m1", [{"type": "text", "content": "Hello!"}]),
        ("m2", [{"type": "text", "content": "Second"}]),
    ]
    assert [m.id for (m,) in rec.of("stream_start")] == ["m1", "m2"]


def test_tool_call_chunks_expand_and_the_next_event_ends_the_call(rec: Recorder) -> None:
    p = rec.processor()
    feed(
        p,
        text_start(),
        {"type": "TOOL_CALL_CHUNK", "toolCallId": "c1", "toolCallName": "f", "delta": '{"a"'},
        {"type": "TOOL_CALL_CHUNK", "delta": ":1}"},
    )
    states = [p.tool_calls["c1"].input_state]
    feed(p, {"type": "CUSTOM", "name": "other"})  # a different event ends the call
    states.append(p.tool_calls["c1"].input_state)
    assert states == ["input-streaming", "input-complete"]
    assert parts(p)[0]["arguments"] == '{"a":1}'
    feed(
        p,
        {"type": "TOOL_CALL_CHUNK", "toolCallId": "c2", "toolCallName": "g", "delta": "{}"},
        {"type": "TOOL_CALL_CHUNK", "toolCallId": "c3", "toolCallName": "h", "delta": "{}"},
    )
    assert p.tool_calls["c2"].input_state == "input-complete"  # ended by the new id
    p.finalize_stream()  # the end of the stream ends the last one
    assert p.tool_calls["c3"].input_state == "input-complete"


def test_reasoning_chunks_expand_to_reasoning_content() -> None:
    p = StreamProcessor()
    feed(
        p,
        {"type": "REASONING_MESSAGE_CHUNK", "messageId": "r1", "delta": "think"},
        {"type": "REASONING_MESSAGE_CHUNK", "delta": "ing"},
    )
    assert parts(p) == [{"type": "thinking", "content": "thinking", "stepId": "r1"}]


@pytest.mark.parametrize(
    ("event", "missing"),
    [
        ({"type": "TEXT_MESSAGE_CHUNK", "delta": "x"}, "messageId"),
        ({"type": "TOOL_CALL_CHUNK", "toolCallName": "f"}, "toolCallId"),
        ({"type": "TOOL_CALL_CHUNK", "toolCallId": "c"}, "toolCallName"),
        ({"type": "REASONING_MESSAGE_CHUNK", "delta": "x"}, "messageId"),
        ({"type": "TEXT_MESSAGE_START"}, "messageId"),
        ({"type": "TOOL_CALL_START", "toolCallId": "c"}, "toolCallName"),
        ({"type": "TOOL_CALL_ARGS", "delta": "x"}, "toolCallId"),
    ],
)
def test_events_missing_a_needed_id_are_malformed(event: Event, missing: str) -> None:
    p = StreamProcessor()
    with pytest.raises(MalformedEventError, match=f"{event['type']} event has no {missing}"):
        p.process(event)


def test_invalid_dict_events_are_malformed() -> None:
    p = StreamProcessor()
    with pytest.raises(MalformedEventError):
        p.process({"type": "TEXT_MESSAGE_CONTENT", "delta": 5})
    with pytest.raises(MalformedEventError):
        p.process({"no": "type"})


def test_unknown_and_meaningless_events_are_ignored(rec: Recorder) -> None:
    p = rec.processor()
    feed(
        p,
        {"type": "SOMETHING_NEW", "x": 1},
        {"type": "ACTIVITY_SNAPSHOT", "messageId": "a"},
        {"type": "THINKING_START"},
        {"type": "REASONING_ENCRYPTED_VALUE", "subtype": "message", "entityId": "e"},
    )
    assert list(p.messages) == [] and rec.calls == []


# --------------------------------------------------------------------------- AG-UI snapshots


def test_ag_ui_shaped_snapshot_is_converted_to_parts() -> None:
    """Deliberate difference: the reference stores AG-UI entries as-is (no ``parts``)."""
    snapshot = [
        {"id": "s", "role": "developer", "content": "Be brief."},
        {
            "id": "u",
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "binary", "mimeType": "image/png", "url": "https://x/y.png"},
            ],
        },
        {
            "id": "a",
            "role": "assistant",
            "content": "Let me look.",
            "toolCalls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "look", "arguments": '{"q":1}'},
                }
            ],
        },
        {"id": "t", "role": "tool", "toolCallId": "c1", "content": '{"seen":"cat"}'},
        {"id": "r", "role": "reasoning", "content": "hm"},
    ]
    p = StreamProcessor()
    p.process({"type": "MESSAGES_SNAPSHOT", "messages": snapshot})
    got = dicts(p)
    assert [(m["id"], m["role"]) for m in got] == [
        ("s", "system"),
        ("u", "user"),
        ("a", "assistant"),
        ("r", "assistant"),
    ]
    assert got[0]["parts"] == [{"type": "text", "content": "Be brief."}]
    assert got[1]["parts"][0] == {"type": "text", "content": "What is this?"}
    assert isinstance(p.messages[1].parts[1], ImagePart)
    assert got[2]["parts"] == [
        {"type": "text", "content": "Let me look."},
        {
            "type": "tool-call",
            "id": "c1",
            "name": "look",
            "arguments": '{"q":1}',
            "state": "input-complete",
            "output": {"seen": "cat"},
        },
        {
            "type": "tool-result",
            "toolCallId": "c1",
            "content": '{"seen":"cat"}',
            "state": "complete",
        },
    ]
    assert got[3]["parts"] == [{"type": "thinking", "content": "hm"}]


def test_snapshot_errors_name_the_entry() -> None:
    with pytest.raises(MalformedEventError, match=r"messages\[1\]: unknown role 'robot'"):
        ui_messages_from_snapshot(
            [{"id": "a", "role": "user", "content": "x"}, {"id": "b", "role": "robot"}]
        )
    with pytest.raises(MalformedEventError, match=r"messages\[0\]: has no string 'id'"):
        ui_messages_from_snapshot([{"role": "user", "content": "x"}])
    with pytest.raises(MalformedEventError, match=r"messages\[0\]: expected an object"):
        ui_messages_from_snapshot(["nope"])


# --------------------------------------------------------------------------- strategies


def test_strategies_throttle_notifications_but_the_data_is_always_current(rec: Recorder) -> None:
    """Deliberate difference: in the reference the part itself lags until emission."""
    p = rec.processor(chunk_strategy=PunctuationStrategy())
    feed(p, text_start(), text(delta="Hello"), text(delta=" world"))
    assert parts(p) == [{"type": "text", "content": "Hello world"}]
    assert rec.of("text_update") == []
    feed(p, text(delta=", you"))
    assert rec.of("text_update") == [("m1", "Hello world, you")]
    feed(p, text(delta=" there"), text_end())  # END flushes what is pending
    assert rec.of("text_update")[-1] == ("m1", "Hello world, you there")


def test_pending_text_is_flushed_on_finalize_and_segment_change(rec: Recorder) -> None:
    p = rec.processor(chunk_strategy=BatchStrategy(100))
    feed(p, text_start(), text(delta="a"), tool_start(), text(delta="b"))
    assert rec.of("text_update") == [("m1", "a")]  # flushed when the segment ended
    p.finalize_stream()
    assert rec.of("text_update") == [("m1", "a"), ("m1", "b")]


def test_builtin_strategies() -> None:
    assert ImmediateStrategy().should_emit("", "")
    punct = PunctuationStrategy()
    assert [punct.should_emit(c, "") for c in ["a", "b.", "\n", ";x"]] == [False, True, True, True]
    batch = BatchStrategy(3)
    assert [batch.should_emit("x", "") for _ in range(6)] == [False, False, True] * 2
    batch.should_emit("x", "")
    batch.reset()
    assert [batch.should_emit("x", "") for _ in range(3)] == [False, False, True]
    word = WordBoundaryStrategy()
    assert [word.should_emit(c, "") for c in ["ab", "ab ", "a\n", ""]] == [False, True, True, False]
    composite = CompositeStrategy([PunctuationStrategy(), BatchStrategy(2)])
    # every strategy sees every chunk: the batch keeps counting through the "."
    assert [composite.should_emit(c, "") for c in [".", "a", "b"]] == [True, True, False]
    with pytest.raises(ValueError, match="batch_size"):
        BatchStrategy(0)


# --------------------------------------------------------------------------- conversation ops


def test_add_user_message_with_parts_and_custom_id(rec: Recorder) -> None:
    p = rec.processor()
    m = p.add_user_message(
        [
            {"type": "text", "content": "see"},
            {"type": "image", "source": {"type": "url", "value": "u"}},
        ],
        id="custom",
    )
    assert m.id == "custom" and m.created_at is not None
    assert isinstance(m.parts[1], ImagePart)
    assert p.messages[-1] is m
    assert len(rec.of("messages_change")) == 1
    with pytest.raises(ValueError, match=r"content\[0\]"):
        p.add_user_message([{"type": "text"}])


def test_remove_clear_and_set_messages(rec: Recorder) -> None:
    p = rec.processor()
    for word in "abcd":
        p.add_user_message(word)
    p.remove_messages_after(1)
    assert [m.parts[0].content for m in p.messages] == ["a", "b"]  # type: ignore[union-attr]
    p.remove_messages_after(-1)
    assert list(p.messages) == []
    p.set_messages([{"id": "x", "role": "user", "parts": [{"type": "text", "content": "hi"}]}])
    assert p.messages[0].id == "x"
    with pytest.raises(ValueError, match=r"messages\[0\]"):
        p.set_messages([{"id": "y", "role": "robot", "parts": []}])
    feed(p, text_start("a1"), tool_start())
    p.clear_messages()
    assert list(p.messages) == [] and p.tool_calls == {}


def test_thinking_before_text_start_adopts_the_server_message_id(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, step_finished("s1", delta="hm"))
    generated = p.messages[0].id
    assert generated.startswith("msg-")
    feed(p, text_start("srv"), text("srv", delta="Answer"))
    assert [m.id for m in p.messages] == ["srv"]
    assert [pt["type"] for pt in parts(p)] == ["thinking", "text"]


def test_callbacks_get_one_live_view_never_a_copy(rec: Recorder) -> None:
    p = rec.processor()
    feed(p, text_start(), *(text(delta=str(i)) for i in range(20)))
    assert len(rec.views) > 20
    assert all(v is p.messages for v in rec.views)
    assert isinstance(p.messages, MessagesView)
    assert not hasattr(p.messages, "append")
    assert p.messages[0].parts[0].content == "012345678910111213141516171819"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- linear cost


def _peak_while_streaming(events: list[Any], setup: list[Event]) -> int:
    p = StreamProcessor(on_messages_change=lambda view: None)
    feed(p, *setup)
    tracemalloc.start()
    try:
        for event in events:
            p.process(event)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


needs_cpython = pytest.mark.skipif(
    sys.implementation.name != "cpython",
    reason="in-place str append (refcount 1) is a CPython optimisation",
)


@needs_cpython
@pytest.mark.parametrize("n", [50_000, 100_000])
@pytest.mark.parametrize("kind", ["text", "args", "thinking"])
def test_appending_deltas_never_copies_the_accumulated_text(kind: str, n: int) -> None:
    """Memory, not time: appending a delta in place keeps the traced peak at about the
    final text size. Re-concatenating (``part.content += delta`` on a string that is also
    referenced elsewhere, or a join per delta) allocates the new string while the old one
    is alive, so the peak reaches twice the final size."""
    chunk = "abcdefghij"
    setup: list[Event] = [text_start()]
    if kind == "text":
        events: list[Any] = [
            TextMessageContentEvent(message_id="m1", delta=chunk) for _ in range(n)
        ]
    elif kind == "args":
        setup.append(tool_start())
        events = [ToolCallArgsEvent(tool_call_id="c1", delta=chunk) for _ in range(n)]
    else:
        events = [StepFinishedEvent(step_id="s", delta=chunk) for _ in range(n)]
    final_size = n * len(chunk)  # ASCII: one byte per character
    peak = _peak_while_streaming(events, setup)
    assert peak < 1.25 * final_size, (peak, final_size)


def test_the_memory_check_catches_a_copying_append(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above must be able to fail: with a naive append it does."""

    def copying_append(part: Any, name: str, text: str) -> None:
        setattr(part, name, getattr(part, name) + text)

    monkeypatch.setattr(text_messages_module, "append_in_place", copying_append)
    n = 50_000
    events = [TextMessageContentEvent(message_id="m1", delta="abcdefghij") for _ in range(n)]
    peak = _peak_while_streaming(events, [text_start()])
    assert peak > 1.8 * n * 10


def test_arguments_are_parsed_lazily_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = partial_json_module.parse_partial_json

    def counting(text: str) -> Any:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(message_state_module, "parse_partial_json", counting)
    p = StreamProcessor()
    feed(p, tool_start(), *(tool_args(delta='{"k":"') for _ in range(1)))
    feed(p, *(tool_args(delta="x") for _ in range(1000)))
    assert calls == []  # no parse per delta
    value = p.tool_call_arguments("c1")
    assert value == {"k": "x" * 1000}
    p.tool_call_arguments("c1")
    assert len(calls) == 1  # cached until more arguments arrive
    feed(p, tool_args(delta='"}'))
    p.tool_call_arguments("c1")
    assert len(calls) == 2


# --------------------------------------------------------------------------- robustness

_IDS = st.sampled_from(["m1", "m2"])
_CALLS = st.sampled_from(["c1", "c2"])
_TEXT = st.sampled_from(["", "a", " ", "ab", '{"x":', "1}"])
_EVENTS = st.one_of(
    st.builds(run_started, st.sampled_from(["r1", "r2"])),
    st.builds(
        run_finished, st.sampled_from(["r1", "r2"]), st.sampled_from(["stop", "tool_calls", None])
    ),
    st.builds(lambda r: {"type": "RUN_ERROR", "runId": r}, st.sampled_from(["r1", None])),
    st.builds(text_start, _IDS),
    st.builds(
        text, st.one_of(st.none(), _IDS), st.one_of(st.none(), _TEXT), st.one_of(st.none(), _TEXT)
    ),
    st.builds(text_end, _IDS),
    st.builds(
        lambda c, m: tool_start(c, parentMessageId=m) if m else tool_start(c),
        _CALLS,
        st.one_of(st.none(), _IDS),
    ),
    st.builds(tool_args, _CALLS, _TEXT),
    st.builds(
        lambda c, r: tool_end(c, result=r) if r else tool_end(c),
        _CALLS,
        st.one_of(st.none(), _TEXT),
    ),
    st.builds(lambda s, d: step_finished(s, delta=d), st.one_of(st.none(), st.just("s1")), _TEXT),
    st.builds(lambda s: {"type": "STEP_STARTED", "stepId": s}, st.sampled_from(["s1", "s2"])),
    st.builds(
        lambda m, d: {"type": "REASONING_MESSAGE_CONTENT", "messageId": m, "delta": d}, _IDS, _TEXT
    ),
    st.builds(lambda m, d: {"type": "TEXT_MESSAGE_CHUNK", "messageId": m, "delta": d}, _IDS, _TEXT),
    st.builds(
        lambda c, d: {"type": "TOOL_CALL_CHUNK", "toolCallId": c, "toolCallName": "f", "delta": d},
        _CALLS,
        _TEXT,
    ),
    st.builds(
        lambda c: custom("approval-requested", {"toolCallId": c, "approval": {"id": "ap"}}), _CALLS
    ),
    st.just({"type": "RAW", "event": {}}),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(
        st.one_of(_EVENTS, st.sampled_from(["prepare", "finalize", "result", "approve"])),
        max_size=30,
    )
)
def test_random_event_sequences_keep_the_messages_consistent(steps: list[Any]) -> None:
    """Any order of (well-formed) events: no crash, and the bookkeeping stays consistent."""
    p = StreamProcessor()
    p.add_user_message("hi")
    for step in steps:
        if step == "prepare":
            p.prepare_assistant_message()
        elif step == "finalize":
            p.finalize_stream()
        elif step == "result":
            p.add_tool_result("c1", {"ok": True})
        elif step == "approve":
            p.add_tool_approval_response("ap", True)
        else:
            p.process(step)
        ids = [m.id for m in p.messages]
        assert len(ids) == len(set(ids))  # ids stay unique (renames never collide)
        for call in p.tool_calls.values():
            holder = next(m for m in p.messages if m.id == call.message_id)
            assert any(part is call.part for part in holder.parts)
            call.parsed_arguments  # noqa: B018 - must not raise
    message_dicts = [message_to_dict(m) for m in p.messages]
    assert message_dicts[0]["role"] == "user"
