"""Round trips between our events and the official Python AG-UI models (``ag_ui.core``).

What this pins down:

* every type both libraries define survives ours -> dict -> ag_ui -> JSON -> ours, and
  ag_ui -> JSON -> ours -> ag_ui; our re-encoding of ag_ui's JSON is byte-identical to it;
* the TanStack extensions (``model``, ``content``, ``args``, ``toolName``, ``finishReason``,
  ``stepId``, ...) are unknown to ag_ui: they ride there as *extras* and come back intact;
* where the two disagree (TanStack's ``usage`` object vs AG-UI's list of ``TokenUsage``; the
  0.10 server's RUN_ERROR without ``message``), ag_ui rejects TanStack's shape and we accept
  both.

The deprecated THINKING_* events exist in ``@ag-ui/core`` 0.0.52 (and here) but not in this
``ag_ui.core``, so they have no counterpart to round-trip with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ag_core = pytest.importorskip("ag_ui.core")
ag_encoder = pytest.importorskip("ag_ui.encoder")
from pydantic import TypeAdapter, ValidationError  # noqa: E402

from chatconduit import EventType  # noqa: E402
from chatconduit.events import (  # noqa: E402
    RunErrorEvent,
    RunFinishedEvent,
    event_class_for,
    event_to_dict,
    event_to_json,
    parse_event,
    parse_event_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10"
RUN_INPUT = json.loads((FIXTURES / "curl-request-body.json").read_bytes())

AG_EVENT = TypeAdapter(ag_core.Event)
AG_TYPES = {member.value for member in ag_core.EventType}


def ag_class(event_type: str) -> Any:
    return getattr(ag_core, event_class_for(event_type).__name__)


# One event of each AG-UI type with every field AG-UI defines for it (as AG-UI spells them).
AGUI_SAMPLES: dict[str, dict[str, Any]] = {
    "RUN_STARTED": {"threadId": "t", "runId": "r", "parentRunId": "p", "input": RUN_INPUT},
    "RUN_FINISHED": {
        "threadId": "t",
        "runId": "r",
        "result": {"answer": 42},
        "outcome": {"type": "success"},
        "usage": [{"provider": "openai", "inputTokens": 3, "outputTokens": 4}],
    },
    "RUN_ERROR": {"message": "boom", "code": "E1"},
    "TEXT_MESSAGE_START": {"messageId": "m", "role": "assistant", "name": "bot"},
    "TEXT_MESSAGE_CONTENT": {"messageId": "m", "delta": "Grüße 👋"},
    "TEXT_MESSAGE_END": {"messageId": "m"},
    "TEXT_MESSAGE_CHUNK": {"messageId": "m", "role": "assistant", "delta": "x", "name": "bot"},
    "TOOL_CALL_START": {"toolCallId": "c", "toolCallName": "get_weather", "parentMessageId": "m"},
    "TOOL_CALL_ARGS": {"toolCallId": "c", "delta": '{"city":'},
    "TOOL_CALL_END": {"toolCallId": "c"},
    "TOOL_CALL_RESULT": {"messageId": "r1", "toolCallId": "c", "content": "21°C", "role": "tool"},
    "TOOL_CALL_CHUNK": {
        "toolCallId": "c",
        "toolCallName": "get_weather",
        "parentMessageId": "m",
        "delta": "{}",
    },
    "STEP_STARTED": {"stepName": "plan"},
    "STEP_FINISHED": {"stepName": "plan"},
    "MESSAGES_SNAPSHOT": {
        "messages": [
            {"id": "u1", "role": "user", "content": "Hello"},
            {
                "id": "a1",
                "role": "assistant",
                "content": "Checking",
                "toolCalls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"id": "t1", "role": "tool", "content": "21", "toolCallId": "c"},
        ]
    },
    "STATE_SNAPSHOT": {"snapshot": {"count": 1, "items": ["a"]}},
    "STATE_DELTA": {"delta": [{"op": "add", "path": "/count", "value": 2}]},
    "CUSTOM": {"name": "tool-input-available", "value": {"toolCallId": "c", "input": {}}},
    "RAW": {"event": {"vendor": "x", "n": 1}, "source": "openai"},
    "REASONING_START": {"messageId": "r"},
    "REASONING_MESSAGE_START": {"messageId": "r", "role": "reasoning"},
    "REASONING_MESSAGE_CONTENT": {"messageId": "r", "delta": "hmm"},
    "REASONING_MESSAGE_END": {"messageId": "r"},
    "REASONING_MESSAGE_CHUNK": {"messageId": "r", "delta": "hmm"},
    "REASONING_END": {"messageId": "r"},
    "REASONING_ENCRYPTED_VALUE": {"subtype": "message", "entityId": "r", "encryptedValue": "b64=="},
    "ACTIVITY_SNAPSHOT": {
        "messageId": "a",
        "activityType": "search",
        "content": {"query": "q"},
        "replace": False,
    },
    "ACTIVITY_DELTA": {
        "messageId": "a",
        "activityType": "search",
        "patch": [{"op": "replace", "path": "/query", "value": "q2"}],
    },
    "SUBAGENT_STARTED": {
        "subagentRunId": "s",
        "name": "researcher",
        "description": "looks things up",
        "parentToolCallId": "c",
        "parentMessageId": "m",
    },
    "SUBAGENT_FINISHED": {"subagentRunId": "s", "result": [1, 2], "outcome": {"type": "success"}},
    "SUBAGENT_ERROR": {"subagentRunId": "s", "message": "failed", "code": "E2"},
}

# The TanStack 0.10 additions per type (reference §4.1), as the reference writes them. ``model`` is
# added to every type.
TANSTACK_EXTRAS: dict[str, dict[str, Any]] = {
    "RUN_FINISHED": {"finishReason": "stop"},
    "RUN_ERROR": {"error": {"message": "boom", "code": "E1"}},
    "TEXT_MESSAGE_CONTENT": {"content": "all so far"},
    "TOOL_CALL_START": {"toolName": "get_weather", "index": 0},
    "TOOL_CALL_ARGS": {"args": '{"city":'},
    "TOOL_CALL_END": {
        "toolCallName": "get_weather",
        "toolName": "get_weather",
        "input": {"city": "Zürich"},
        "result": '{"t":21}',
    },
    "STEP_STARTED": {"stepId": "s1", "stepType": "thinking"},
    "STEP_FINISHED": {"stepId": "s1", "delta": "d", "content": "cd", "signature": "sig"},
    "STATE_SNAPSHOT": {"state": {"count": 1}},
}


def test_samples_cover_every_type_both_define() -> None:
    ours = {member.value for member in EventType}
    assert set(AGUI_SAMPLES) == AG_TYPES
    assert ours >= AG_TYPES
    assert ours - AG_TYPES == {
        "THINKING_START",
        "THINKING_END",
        "THINKING_TEXT_MESSAGE_START",
        "THINKING_TEXT_MESSAGE_CONTENT",
        "THINKING_TEXT_MESSAGE_END",
    }


def wire(event_type: str, fields: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": event_type, "timestamp": 1700000000000, **fields, **more}


@pytest.mark.parametrize("event_type", sorted(AGUI_SAMPLES))
def test_agui_event_to_ours_and_back(event_type: str) -> None:
    """ag_ui -> its SSE encoder -> ours -> ag_ui. Our JSON equals ag_ui's to the byte."""
    original = ag_class(event_type).model_validate(wire(event_type, AGUI_SAMPLES[event_type]))
    frame = ag_encoder.EventEncoder().encode(original)
    assert frame.startswith("data: ") and frame.endswith("\n\n")
    agui_json = frame[len("data: ") : -2]

    ours = parse_event_json(agui_json)
    assert type(ours) is event_class_for(event_type)
    assert ours.type == event_type
    assert event_to_json(ours) == agui_json

    back = AG_EVENT.validate_python(event_to_dict(ours))
    assert type(back) is type(original)
    assert back == original


@pytest.mark.parametrize("event_type", sorted(AGUI_SAMPLES))
def test_our_event_through_agui_and_back(event_type: str) -> None:
    """ours (with the TanStack extensions) -> dict -> ag_ui -> JSON -> ours."""
    tanstack = {"model": "gpt-x", **TANSTACK_EXTRAS.get(event_type, {})}
    fields = dict(AGUI_SAMPLES[event_type])
    if event_type == "RUN_FINISHED":
        del fields["usage"]  # AG-UI's list form; TanStack's object form is tested below
    ours = parse_event(wire(event_type, fields, **tanstack))

    agui = ag_class(event_type).model_validate(event_to_dict(ours))
    # What ag_ui does not know stays with it as extras rather than being dropped ...
    assert set(tanstack) <= set(agui.model_extra or {})
    for key, value in tanstack.items():
        assert agui.model_extra[key] == value
    # ... and comes back into our typed fields.
    back = parse_event_json(agui.model_dump_json(by_alias=True))
    assert back == ours
    assert event_to_dict(back) == event_to_dict(ours)


def test_tanstack_metadata_is_agui_base_metadata() -> None:
    """TOOL_CALL_START's TanStack ``metadata`` lands on ag_ui's BaseEvent.metadata, not extras."""
    ours = parse_event({"type": "TOOL_CALL_START", "toolCallId": "c", "metadata": {"k": [1]}})
    agui = ag_core.ToolCallStartEvent.model_validate({**event_to_dict(ours), "toolCallName": "n"})
    assert agui.metadata == {"k": [1]}
    assert "metadata" not in (agui.model_extra or {})


def test_agui_only_fields_ride_as_our_extras() -> None:
    agui = ag_core.TextMessageContentEvent(
        message_id="m", delta="x", metadata={"trace": "t"}, subagent_run_id="s"
    )
    ours = parse_event_json(agui.model_dump_json(by_alias=True))
    # ``metadata`` is a field of every event since TanStack 0.58 carries its extras there.
    assert ours.metadata == {"trace": "t"}
    assert ours.model_extra == {"subagentRunId": "s"}
    assert ag_core.TextMessageContentEvent.model_validate(event_to_dict(ours)) == agui


def _fixture_events() -> list[dict[str, Any]]:
    body = (FIXTURES / "responses" / "tools.ndjson").read_bytes()
    events = [json.loads(line) for line in body.split(b"\n") if line]
    for name in ("reasoning.ndjson", "error.ndjson", "thinking.ndjson"):
        body = (FIXTURES / "responses" / name).read_bytes()
        events += [json.loads(line) for line in body.split(b"\n") if line]
    return events


def test_which_reference_events_agui_rejects() -> None:
    """ag_ui validates every fixture event except TanStack's two divergent shapes."""
    rejected = set()
    for raw in _fixture_events():
        parse_event(raw)  # we accept all of them
        try:
            AG_EVENT.validate_python(raw)
        except ValidationError:
            rejected.add(raw["type"])
    assert rejected == {"RUN_FINISHED", "RUN_ERROR"}


def test_usage_shapes_diverge() -> None:
    tanstack = {
        "type": "RUN_FINISHED",
        "threadId": "t",
        "runId": "r",
        "usage": {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3},
    }
    with pytest.raises(ValidationError, match="usage"):
        ag_core.RunFinishedEvent.model_validate(tanstack)
    ours = parse_event(tanstack)
    assert isinstance(ours, RunFinishedEvent)
    assert event_to_dict(ours) == tanstack


def test_server_run_error_without_message() -> None:
    line = (FIXTURES / "responses" / "error.ndjson").read_bytes().split(b"\n")[-2]
    with pytest.raises(ValidationError, match="message"):
        ag_core.RunErrorEvent.model_validate_json(line)
    ours = parse_event_json(line)
    assert isinstance(ours, RunErrorEvent)
    assert ours.message is None
    assert ours.error_message.startswith("Scripted failure")
