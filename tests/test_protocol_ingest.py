"""Reading what the current servers send: TanStack 0.58's ``metadata.tanstack``, AG-UI usage
lists and flat RUN_ERRORs, the real end of a run, and histories echoed back in snapshots.

The recorded bytes are ``tests/fixtures/current/`` (real ``@tanstack/ai@0.58.0`` and
pydantic-ai 2.78 on loopback). What a stream should come to - its text, thinking, tool
calls, finish reason and usage - is read off the raw JSON here, independently of the code
under test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatconduit import (
    FetchOptions,
    ResumePolicy,
    RunContext,
    StreamProcessor,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit._events import (
    finish_reason_of,
    is_intermediate_finish,
    outcome_type_of,
    parse_event_json_batch,
)
from chatconduit._messages import (
    MessageValidationError,
    TextPart,
    UnknownPart,
    message_from_dict,
    message_to_dict,
    part_from_dict,
)
from chatconduit._processor import ui_messages_from_snapshot
from chatconduit._run_input import ui_messages_to_wire
from chatconduit.events import (
    EventDecoder,
    RunErrorEvent,
    RunFinishedEvent,
    StepFinishedEvent,
    TextMessageContentEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    Usage,
    event_to_dict,
    event_to_json,
    is_terminal,
    parse_event,
    parse_event_json,
)
from faulty_app import FaultyApp, Plan, Resumable, Switchboard, sse_frame

CURRENT = Path(__file__).parent / "fixtures" / "current"
TANSTACK = CURRENT / "tanstack-0.58" / "responses"
PYDANTIC = CURRENT / "pydantic-ai-2.78" / "responses"
STREAMS = sorted(
    [*TANSTACK.glob("*.sse"), *TANSTACK.glob("*.ndjson"), *PYDANTIC.glob("*.sse")],
    key=lambda p: (p.parent.parent.name, p.name),
)


def label(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def payloads(path: Path) -> list[bytes]:
    """The exact JSON bytes of every event of a recorded body (envelopes unwrapped)."""
    body = path.read_bytes()
    out: list[bytes] = []
    if path.suffix == ".sse":
        for frame in body.split(b"\n\n"):
            out += [line[len(b"data: ") :] for line in frame.split(b"\n") if line[:6] == b"data: "]
        return out
    for line in body.split(b"\n"):
        if line.startswith(b'{"id":'):  # a durable {id, chunk} envelope, chunk last
            line = line[line.index(b'"chunk":') + len(b'"chunk":') : -1]
        if line:
            out.append(line)
    return out


def raw_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(p) for p in payloads(path)]


def decode(path: Path) -> list[Any]:
    decoder = EventDecoder("sse" if path.suffix == ".sse" else "ndjson")
    return [event for event, _ in [*decoder.feed(path.read_bytes()), *decoder.finish()]]


# --- 1. metadata.tanstack, usage lists, flat RUN_ERROR -------------------------------------


@pytest.mark.parametrize("path", STREAMS, ids=label)
def test_every_current_fixture_event_re_encodes_to_the_byte(path: Path) -> None:
    """As the 0.10 fixtures do: restoring metadata.tanstack adds nothing to the wire."""
    raw = payloads(path)
    assert raw
    for data in raw:
        event = parse_event_json(data)
        assert event_to_json(event).encode("utf-8") == data
        assert list(event_to_dict(event)) == list(json.loads(data))
        assert parse_event(json.loads(data)) == event  # the dict path restores the same
    batch = parse_event_json_batch(raw) if all(b"NaN" not in d for d in raw) else []
    for event, data in zip(batch, raw, strict=False):
        assert event == parse_event_json(data)
        assert event_to_json(event).encode("utf-8") == data


@pytest.mark.parametrize("path", sorted(TANSTACK.glob("*.ndjson")), ids=label)
def test_every_tanstack_extra_is_back_on_its_field(path: Path) -> None:
    """What 0.58 moved into metadata.tanstack reads as the event's own attribute, as the 0.33
    client restores it, and is not marked set (so it is not written twice)."""
    restored = 0
    for data, event in zip(payloads(path), decode(path), strict=True):
        tanstack = json.loads(data).get("metadata", {}).get("tanstack", {})
        assert event.tanstack_metadata == tanstack
        for key, value in tanstack.items():
            name = type(event)._cc_alias_to_name.get(key)
            if name is None or name == "usage":
                continue
            assert getattr(event, name) == value, (event.type, key)
            assert name not in event.model_fields_set
            restored += 1
    assert restored


def test_restored_fields_follow_the_0_33_rules() -> None:
    meta = {"tanstack": {"finishReason": "tool_calls", "model": "m", "runId": "x"}}
    event = parse_event({"type": "RUN_FINISHED", "runId": "r", "metadata": meta})
    assert isinstance(event, RunFinishedEvent)
    assert (event.finish_reason, event.model, event.run_id) == ("tool_calls", "m", "r")
    assert event.model_fields_set == {"type", "run_id", "metadata"}
    # A top-level key wins, even null.
    explicit = parse_event({"type": "RUN_FINISHED", "finishReason": None, "metadata": meta})
    assert isinstance(explicit, RunFinishedEvent) and explicit.finish_reason is None
    assert finish_reason_of(explicit) is None
    # A value of the wrong type stays in metadata only; the event is still fine.
    odd = {"tanstack": {"finishReason": 3, "index": "0", "toolCallName": ["x"]}}
    for kind in ("RUN_FINISHED", "TOOL_CALL_START"):
        parsed = parse_event_json(json.dumps({"type": kind, "metadata": odd}).encode())
        assert parsed.model is None
        assert getattr(parsed, "finish_reason", None) is None
        assert getattr(parsed, "index", None) is None
        assert getattr(parsed, "tool_call_name", None) is None
    # metadata without a tanstack object is plain AG-UI metadata.
    plain = parse_event({"type": "TEXT_MESSAGE_END", "metadata": {"trace": 1}})
    assert plain.metadata == {"trace": 1} and plain.tanstack_metadata == {}


def test_tool_call_and_step_extras() -> None:
    end = parse_event_json(
        b'{"type":"TOOL_CALL_END","toolCallId":"c","metadata":{"tanstack":'
        b'{"toolCallName":"get_weather","input":{"city":"Paris"}}}}'
    )
    assert isinstance(end, ToolCallEndEvent)
    assert (end.tool_call_name, end.input) == ("get_weather", {"city": "Paris"})
    start = parse_event_json(
        b'{"type":"TOOL_CALL_START","toolCallId":"c","toolCallName":"get_weather",'
        b'"metadata":{"tanstack":{"index":0,"toolName":"get_weather"}}}'
    )
    assert isinstance(start, ToolCallStartEvent)
    assert (start.index, start.tool_name, start.resolved_tool_name) == (
        0,
        "get_weather",
        "get_weather",
    )
    step = parse_event(
        {
            "type": "STEP_FINISHED",
            "stepName": "s",
            "metadata": {"tanstack": {"stepId": "s1", "delta": "hm", "content": "hm"}},
        }
    )
    assert isinstance(step, StepFinishedEvent)
    assert (step.step_id, step.delta, step.content) == ("s1", "hm", "hm")
    assert event_to_dict(step) == {
        "type": "STEP_FINISHED",
        "stepName": "s",
        "metadata": {"tanstack": {"stepId": "s1", "delta": "hm", "content": "hm"}},
    }


def test_thinking_from_step_events_carried_in_metadata() -> None:
    """A 0.58 server relaying a provider that reports thinking as STEP_* events."""
    p = StreamProcessor()
    for event in (
        {"type": "RUN_STARTED", "runId": "r"},
        {"type": "STEP_STARTED", "stepName": "t", "metadata": {"tanstack": {"stepId": "s1"}}},
        {
            "type": "STEP_FINISHED",
            "stepName": "t",
            "metadata": {"tanstack": {"stepId": "s1", "delta": "Hm"}},
        },
        {
            "type": "REASONING_ENCRYPTED_VALUE",
            "subtype": "message",
            "entityId": "s1",
            "encryptedValue": "sig",
        },
        {"type": "RUN_FINISHED", "runId": "r", "metadata": {"tanstack": {"finishReason": "stop"}}},
    ):
        p.process(event)
    [message] = p.messages
    assert message.parts == [ThinkingPart(content="Hm", step_id="s1", signature="sig")]


def test_encrypted_values_create_nothing() -> None:
    """pydantic-ai marks a denied approval with a REASONING_ENCRYPTED_VALUE about a message
    without thinking: no thinking part appears for it."""
    path = PYDANTIC / "approval.resume-deny.sse"
    p = StreamProcessor()
    for event in decode(path):
        p.process(event)
    assert not any(isinstance(part, ThinkingPart) for m in p.messages for part in m.parts)


def test_usage_in_both_spellings() -> None:
    tanstack = parse_event(
        {
            "type": "RUN_FINISHED",
            "usage": {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3},
        }
    )
    agui = parse_event(
        {
            "type": "RUN_FINISHED",
            "usage": [
                {"model": "a", "inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
                {
                    "model": "a",
                    "inputTokens": 10,
                    "outputTokens": 20,
                    "totalTokens": 30,
                    "cached": 5,
                },
            ],
        }
    )
    assert isinstance(tanstack, RunFinishedEvent) and isinstance(tanstack.usage, Usage)
    assert isinstance(agui, RunFinishedEvent) and isinstance(agui.usage, list)
    assert [u.resolved_input_tokens for u in agui.usage] == [1, 10]
    assert agui.usage[1].model_extra == {"cached": 5}
    assert (tanstack.usage.resolved_input_tokens, tanstack.usage.resolved_output_tokens) == (1, 2)
    total = Usage.combined(agui.usage)
    assert total is not None
    assert (total.model, total.input_tokens, total.output_tokens, total.total_tokens) == (
        "a",
        11,
        22,
        33,
    )
    assert Usage.combined(tanstack.usage) is tanstack.usage
    assert Usage.combined([]) is None and Usage.combined(None) is None
    assert Usage(input_tokens=4, output_tokens=5).resolved_total_tokens == 9
    mixed = Usage.combined([Usage(model="a", input_tokens=1), Usage(model="b", prompt_tokens=2)])
    assert mixed is not None and (mixed.model, mixed.input_tokens, mixed.output_tokens) == (
        None,
        3,
        None,
    )
    # Built in Python, each spelling keeps its own key order; a list encodes as JSON.
    built = RunFinishedEvent(
        usage=[Usage(total_tokens=3, output_tokens=2, input_tokens=1, model="m")]
    )
    assert event_to_json(built) == (
        '{"type":"RUN_FINISHED","usage":[{"model":"m","inputTokens":1,"outputTokens":2,"totalTokens":3}]}'
    )
    assert event_to_json(RunFinishedEvent(usage=Usage(total_tokens=3, prompt_tokens=1))) == (
        '{"type":"RUN_FINISHED","usage":{"promptTokens":1,"totalTokens":3}}'
    )


def test_run_error_in_both_shapes() -> None:
    flat = parse_event_json(payloads(TANSTACK / "error.sse")[-1])
    nested = parse_event({"type": "RUN_ERROR", "error": {"message": "old", "code": "E"}})
    assert isinstance(flat, RunErrorEvent) and isinstance(nested, RunErrorEvent)
    assert (flat.error_message, flat.error_code) == ("Model failure: boom", "model_error")
    assert (nested.error_message, nested.error_code) == ("old", "E")
    restored = parse_event(
        {
            "type": "RUN_ERROR",
            "message": "m",
            "metadata": {"tanstack": {"runId": "r", "threadId": "t"}},
        }
    )
    assert isinstance(restored, RunErrorEvent) and (restored.run_id, restored.thread_id) == (
        "r",
        "t",
    )


def test_every_event_has_typed_metadata() -> None:
    event = TextMessageContentEvent(
        message_id="m", delta="x", metadata={"tanstack": {"model": "m"}}
    )
    assert event.tanstack_metadata == {"model": "m"}
    assert event_to_json(event) == (
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"x","metadata":{"tanstack":{"model":"m"}}}'
    )
    assert parse_event({"type": "RAW", "metadata": None}).tanstack_metadata == {}


# --- every recorded stream, processed ------------------------------------------------------

# The history a stream continues (the run it answers), for streams that need one.
SEEDS = {
    "approval.resume-approve.sse": "approval.sse",
    "approval.resume-deny.sse": "approval.sse",
    "approval.resume-cancel.sse": "approval.sse",
    "approval.resume-approve.protocol-1.0.sse": "approval.protocol-1.0.sse",
    "approval.resume-deny.protocol-1.0.sse": "approval.protocol-1.0.sse",
    "approval.resume-cancel.protocol-1.0.sse": "approval.protocol-1.0.sse",
    "frontend_tool.turn2.sse": "frontend_tool.sse",
    "frontend_tool.turn2-error.sse": "frontend_tool.sse",
}


def expected_of(path: Path) -> dict[str, Any]:
    """What the stream says, read off the raw JSON."""
    events = raw_events(path)
    deltas = {"TEXT_MESSAGE_CONTENT": "", "REASONING_MESSAGE_CONTENT": ""}
    calls: dict[str, list[str]] = {}
    for e in events:
        if e["type"] in deltas:
            deltas[e["type"]] += e["delta"]
        elif e["type"] == "TOOL_CALL_START":
            calls[e["toolCallId"]] = [e["toolCallName"], ""]
        elif e["type"] == "TOOL_CALL_ARGS":
            calls[e["toolCallId"]][1] += e["delta"]
    finished = [e for e in events if e["type"] == "RUN_FINISHED"]
    errors = [e for e in events if e["type"] == "RUN_ERROR"]
    reason = None
    if finished:
        last = finished[-1]
        reason = last.get(
            "finishReason", last.get("metadata", {}).get("tanstack", {}).get("finishReason")
        )
        if reason is None:  # pydantic-ai: only an outcome
            outcome = last["outcome"]
            left_to_client = path.name.startswith("frontend_tool.") and "turn2" not in path.name
            reason = "tool_calls" if outcome["type"] == "interrupt" or left_to_client else "stop"
    return {
        "text": deltas["TEXT_MESSAGE_CONTENT"],
        "thinking": deltas["REASONING_MESSAGE_CONTENT"],
        "calls": [tuple(c) for c in calls.values()],
        "reason": reason,
        "usage": finished[-1].get("usage") if finished else None,
        "error": (errors[0]["message"], errors[0]["code"]) if errors else None,
        "intermediate": len(finished) - 1,
    }


@pytest.mark.parametrize("path", STREAMS, ids=label)
def test_every_current_stream_processes_into_the_expected_messages(path: Path) -> None:
    ended: list[UIMessage] = []
    p = StreamProcessor(on_stream_end=ended.append)
    seed = SEEDS.get(path.name)
    if seed is not None:
        for event in decode(path.parent / seed):
            p.process(event)
        p.finalize_stream()
        ended.clear()
    before = len(p.messages)
    p.add_user_message("hi")
    p.prepare_assistant_message()
    events = decode(path)
    for i, event in enumerate(events):
        p.process(event)
        if i < len(events) - 1 and event.type == "RUN_FINISHED":
            assert not p.is_done, "an intermediate RUN_FINISHED finalized the turn"
    p.finalize_stream()
    expected = expected_of(path)

    new = [m for m in list(p.messages)[before:] if m.role == "assistant"]
    parts = [part for m in new for part in m.parts]
    assert "".join(x.content for x in parts if isinstance(x, TextPart)) == expected["text"]
    assert "".join(x.content for x in parts if isinstance(x, ThinkingPart)) == expected["thinking"]
    assert [(x.name, x.arguments) for x in parts if isinstance(x, ToolCallPart)] == expected[
        "calls"
    ]
    if expected["error"] is not None:
        assert p.error is not None and (str(p.error), p.error.code) == expected["error"]
        assert p.finish_reason is None
        return
    assert p.finish_reason == expected["reason"] and p.finish_reason is not None
    assert p.is_done
    # One turn, one end, however many model iterations (a MESSAGES_SNAPSHOT restarts the
    # stream's bookkeeping: the turn then ends without a message of its own to report).
    snapshot = any(e.type == "MESSAGES_SNAPSHOT" for e in events)
    assert len(ended) == (0 if snapshot else 1)
    if expected["usage"] is None:
        assert p.usage is None
    else:
        assert isinstance(p.usage, list)
        assert [u.model_dump(by_alias=True, exclude_unset=True) for u in p.usage] == expected[
            "usage"
        ]
    if path.name.startswith("server_tool"):  # the server ran the tool: its output is there
        [call] = [x for x in parts if isinstance(x, ToolCallPart)]
        assert call.output == {"city": "Paris", "temperature": 21, "condition": "sunny ☀️"}


# --- 3. the real end of a run --------------------------------------------------------------

STEP = {
    "type": "RUN_FINISHED",
    "runId": "r",
    "metadata": {"tanstack": {"finishReason": "tool_calls"}},
}
INTERRUPT = {**STEP, "outcome": {"type": "interrupt", "interrupts": []}}


@pytest.mark.parametrize(
    ("event", "intermediate", "terminal"),
    [
        (STEP, True, False),  # 0.58 agent-loop step: more of the run follows
        (INTERRUPT, False, True),  # paused for the client: a real end
        ({**STEP, "metadata": {"tanstack": {"finishReason": "stop"}}}, False, True),
        ({"type": "RUN_FINISHED", "finishReason": "tool_calls"}, True, True),  # 0.10 shape
        ({"type": "RUN_FINISHED", "outcome": {"type": "success"}}, False, True),
        ({"type": "RUN_FINISHED"}, False, True),
        ({"type": "RUN_ERROR", "message": "x"}, False, True),
        ({"type": "TEXT_MESSAGE_END", "metadata": STEP["metadata"]}, False, False),
    ],
)
def test_intermediate_and_terminal(
    event: dict[str, Any], intermediate: bool, terminal: bool
) -> None:
    for form in (event, parse_event(event), parse_event_json(json.dumps(event).encode())):
        assert is_intermediate_finish(form) is intermediate
        assert is_terminal(form) is terminal


def test_outcome_and_reason_readers() -> None:
    built = RunFinishedEvent(metadata={"tanstack": {"finishReason": "tool_calls"}})
    assert finish_reason_of(built) == "tool_calls" and is_intermediate_finish(built)
    assert outcome_type_of(parse_event(INTERRUPT)) == "interrupt"
    assert outcome_type_of(INTERRUPT) == "interrupt"
    assert outcome_type_of(STEP) is None


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ({"type": "success"}, "stop"),
        ({"type": "success", "pendingToolCallIds": ["c1"]}, "tool_calls"),
        ({"type": "interrupt", "interrupts": []}, "tool_calls"),
        ({"type": "cancelled"}, None),
    ],
)
def test_a_reason_from_an_agui_outcome(outcome: dict[str, Any], reason: str | None) -> None:
    """pydantic-ai sends no finishReason, only an outcome; the wire's reason always wins."""
    p = StreamProcessor()
    p.process({"type": "RUN_FINISHED", "runId": "r", "outcome": outcome})
    assert p.finish_reason == reason and p.runs["r"].finish_reason == reason
    assert p.is_done  # an outcome is the end of the run
    p.process({"type": "RUN_FINISHED", "runId": "s", "outcome": outcome, "finishReason": "length"})
    assert p.finish_reason == "length"


def test_an_interrupt_ends_the_turn_even_with_tool_calls() -> None:
    p = StreamProcessor()
    for event in decode(TANSTACK / "client_tool.sse"):
        p.process(event)
    assert p.is_done and p.finish_reason == "tool_calls"


def test_a_step_does_not_end_the_turn() -> None:
    ended: list[UIMessage] = []
    p = StreamProcessor(on_stream_end=ended.append)
    events = decode(TANSTACK / "server_tool.sse")
    cut = next(i for i, e in enumerate(events) if e.type == "RUN_FINISHED") + 1
    for event in events[:cut]:
        p.process(event)
    assert not p.is_done and ended == [] and p.finish_reason == "tool_calls"
    [call] = p.tool_calls.values()
    assert call.input_state == "input-complete"  # the call's input is final, though
    for event in events[cut:]:
        p.process(event)
    assert p.is_done and p.finish_reason == "stop" and len(ended) == 1


@pytest.fixture(scope="module")
def server() -> Iterator[Switchboard]:
    with Switchboard.running() as board:
        yield board


CTX = RunContext(thread_id="thread-fixture", run_id="run-server_tool-sse-durable")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]
FAST_RESUME = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.02)


async def collect(adapter: Any) -> list[Any]:
    got = []
    try:
        async with asyncio.timeout(20):
            async for event in adapter.connect(USER, None, None, CTX):
                got.append(event)
    finally:
        await adapter.aclose()
    return got


@pytest.mark.parametrize("ndjson", [False, True], ids=["sse", "ndjson"])
async def test_a_cut_right_after_a_step_is_resumed(server: Switchboard, ndjson: bool) -> None:
    """The 0.58 server-tool run, its connection dropped just after the intermediate
    RUN_FINISHED: the client resumes and gets the rest of the run."""
    events = raw_events(TANSTACK / "server_tool.durable.sse")
    after_step = next(i for i, e in enumerate(events) if e["type"] == "RUN_FINISHED") + 1
    plan = Resumable(events, drops=[after_step], ndjson=ndjson)
    server.plug(FaultyApp(plan))
    factory = fetch_http_stream if ndjson else fetch_server_sent_events
    got = await collect(factory(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert plan.last_event_ids == [None, str(after_step)]
    p = StreamProcessor()
    for event in got:
        p.process(event)
    assert p.is_done and p.finish_reason == "stop"
    assert p.messages[-1].parts == [
        TextPart(
            content=expected_of(TANSTACK / "server_tool.sse")["text"][
                len("Let me use get_weather.") :
            ]
        )
    ]


async def test_a_response_that_ends_at_a_top_level_tool_calls_is_over(server: Switchboard) -> None:
    """TanStack 0.10 (and this library's server) end a response that leaves client tools to
    run with a top-level ``finishReason: "tool_calls"``: with ids, no reconnect follows."""
    events = [
        {"type": "RUN_STARTED", "runId": "r", "threadId": "t"},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "get_time"},
        {"type": "TOOL_CALL_END", "toolCallId": "c"},
        {"type": "RUN_FINISHED", "runId": "r", "threadId": "t", "finishReason": "tool_calls"},
    ]
    app = server.plug(FaultyApp(Resumable(events)))
    got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert len(app.requests) == 1


async def test_a_clean_end_after_a_step_is_resumed(server: Switchboard) -> None:
    events = raw_events(TANSTACK / "server_tool.sse")
    after_step = next(i for i, e in enumerate(events) if e["type"] == "RUN_FINISHED") + 1
    tagged = [sse_frame(e, event_id=str(i + 1)) for i, e in enumerate(events)]

    def plan(request: Any) -> Plan:
        last = request.header("last-event-id")
        start = 0 if last is None else int(last)
        stop = after_step if last is None else len(events)
        return Plan(body=tagged[start:stop])

    app = server.plug(FaultyApp(plan))
    got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert [r.header("last-event-id") for r in app.requests] == [None, str(after_step)]


# --- 5. histories echoed back in MESSAGES_SNAPSHOT -----------------------------------------


def history() -> list[UIMessage]:
    return [
        message_from_dict(
            {"id": "u1", "role": "user", "parts": [{"type": "text", "content": "Weather?"}]}
        ),
        message_from_dict(
            {
                "id": "a1",
                "role": "assistant",
                "parts": [
                    {"type": "thinking", "content": "Let me check.", "signature": "sig-1"},
                    {"type": "text", "content": "Checking."},
                    {
                        "type": "tool-call",
                        "id": "c1",
                        "name": "get_weather",
                        "arguments": '{"city":"Paris"}',
                        "state": "input-complete",
                        "output": {"t": 21},
                    },
                    {
                        "type": "tool-result",
                        "toolCallId": "c1",
                        "content": '{"t":21}',
                        "state": "complete",
                    },
                    {"type": "ui-resource", "uri": "ui://weather", "mimeType": "text/html"},
                ],
            }
        ),
        message_from_dict(
            {"id": "a2", "role": "assistant", "parts": [{"type": "text", "content": "21 °C."}]}
        ),
    ]


def test_our_own_history_echoed_back_is_not_duplicated() -> None:
    original = history()
    wire = ui_messages_to_wire(original)
    assert [m["role"] for m in wire] == ["user", "reasoning", "assistant", "tool", "assistant"]
    p = StreamProcessor()
    p.process({"type": "MESSAGES_SNAPSHOT", "messages": wire})
    got = [message_to_dict(m) for m in p.messages]
    want = [message_to_dict(m) for m in original]
    # The echoed anchors keep their own parts (and the AG-UI mirror keys, as extras).
    assert [{k: v for k, v in m.items() if k in ("id", "role", "parts")} for m in got] == want


def test_a_0_33_style_history_is_folded_back() -> None:
    """Spec-only anchors: thinking comes as ``reasoning`` messages before the assistant
    message (signature in ``encryptedValue``), results as ``tool`` messages after it."""
    wire = [
        {
            "id": "u1",
            "role": "user",
            "content": "Weather?",
            "metadata": {"tanstack": {"createdAt": "2026-12-05T07:16:02.589Z"}},
        },
        {
            "role": "reasoning",
            "id": "a1-reasoning-x",
            "content": "Let me check.",
            "encryptedValue": "sig-1",
        },
        {"role": "reasoning", "id": "a1-reasoning-y", "content": "Paris it is."},
        {
            "id": "a1",
            "role": "assistant",
            "content": "Checking.",
            "toolCalls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {
            "role": "tool",
            "id": "tool-c1",
            "toolCallId": "c1",
            "content": '{"t":21}',
            "metadata": {"tanstack": {"toolResult": {}}},
        },
        {"role": "reasoning", "id": "orphan", "content": "Hm."},
    ]
    messages = ui_messages_from_snapshot(wire)
    assert [(m.id, m.role) for m in messages] == [
        ("u1", "user"),
        ("a1", "assistant"),
        ("orphan", "assistant"),
    ]
    assert messages[0].created_at is not None
    parts = messages[1].parts
    assert parts[:2] == [
        ThinkingPart(content="Let me check.", signature="sig-1"),
        ThinkingPart(content="Paris it is."),
    ]
    assert isinstance(parts[2], TextPart) and isinstance(parts[3], ToolCallPart)
    assert parts[3].output == {"t": 21}
    assert parts[4] == ToolResultPart(tool_call_id="c1", content='{"t":21}')
    assert len(parts) == 5
    assert messages[2].parts == [ThinkingPart(content="Hm.")]  # nothing after it to join


def test_reasoning_before_a_user_message_stays_on_its_own() -> None:
    wire = [
        {"role": "reasoning", "id": "r1", "content": "Hm."},
        {"id": "u1", "role": "user", "content": "Hi"},
        {"id": "a1", "role": "assistant", "content": "Hello"},
    ]
    assert [(m.id, len(m.parts)) for m in ui_messages_from_snapshot(wire)] == [
        ("r1", 1),
        ("u1", 1),
        ("a1", 1),
    ]


def test_the_history_the_0_33_client_really_sent_reads_back_as_it_showed_it() -> None:
    flow = json.loads((CURRENT / "tanstack-0.58" / "flows" / "client_tool.sse.json").read_text())
    sent = flow["exchanges"][1]["body"]["messages"]  # user, assistant anchor, tool fan-out
    messages = ui_messages_from_snapshot(sent)
    shown = flow["finalMessages"][:2]
    assert [m.id for m in messages] == [m["id"] for m in shown]
    assert [[p["type"] for p in m["parts"]] for m in shown] == [
        [p.type for p in m.parts] for m in messages
    ]
    call = messages[1].parts[1]
    assert isinstance(call, ToolCallPart) and call.output == shown[1]["parts"][1]["output"]


def test_unknown_parts_are_kept_and_round_trip() -> None:
    raw = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "text", "content": "Here:"},
            {"type": "structured-output", "status": "complete", "raw": "{}", "data": {"a": [1]}},
            {
                "type": "tool-call",
                "id": "c",
                "name": "n",
                "arguments": "{}",
                "state": "input-complete",
            },
        ],
    }
    message = message_from_dict(raw)
    assert [type(p) for p in message.parts] == [TextPart, UnknownPart, ToolCallPart]
    assert message.parts[1].model_extra == {"status": "complete", "raw": "{}", "data": {"a": [1]}}
    assert message_to_dict(message) == raw
    # ... also inside a snapshot, and on their way out again.
    [snapshot] = ui_messages_from_snapshot([raw])
    assert message_to_dict(snapshot) == raw
    [anchor] = ui_messages_to_wire([message])
    assert anchor["parts"] == raw["parts"]


def test_a_single_part_of_an_unknown_type_is_refused_unless_asked() -> None:
    """A part a caller writes now (send_message, add_user_message): a typo, most likely."""
    with pytest.raises(MessageValidationError, match=r"content\[0\]\.type: unknown part type"):
        part_from_dict({"type": "txt", "content": "x"}, where="content[0]")
    kept = part_from_dict({"type": "ui-resource", "uri": "u"}, keep_unknown=True)
    assert isinstance(kept, UnknownPart) and kept.to_dict() == {"type": "ui-resource", "uri": "u"}
