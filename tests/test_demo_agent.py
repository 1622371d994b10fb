"""The demo agent (pure logic): its calculator, and the events of each behaviour."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from chatconduit import RunAgentInput
from chatconduit._run_input import parse_run_agent_input
from chatconduit.demo import CalculatorError, DemoAgent, evaluate
from chatconduit.demo._agent import split_words
from chatconduit.events import parse_event
from chatconduit.server._tanstack_018_dialect import Tanstack018Dialect

# --- calculator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2+3*4", 14),
        ("(2+3)*4", 20),
        ("2^10", 1024),
        ("2**3**2", 512),
        ("-3 + +5", 2),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("6/3", 2),
        ("1/4", 0.25),
        ("0.1 + 0.2", 0.30000000000000004),
        ("3 × 4 ÷ 2", 6),
        (" 42 ", 42),
    ],
)
def test_calculator_values(expression: str, value: float) -> None:
    result = evaluate(expression)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('id')", "only numbers"),
        ("x + 1", "only numbers"),
        ("(1).real", "only numbers"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("[1, 2]", "only numbers"),
        ("lambda: 1", "only numbers"),
        ("1 if 1 else 2", "only numbers"),
        ("2 ** 100000", "exponents are limited"),
        ("10**1000 * 10**1000", "too large"),
        ("1e308 * 10", "not a finite number"),
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("2 +", "not valid arithmetic"),
        ("", "empty"),
        ("1+" * 200 + "1", "longer than"),
        ("-" * 60 + "1", "nested too deeply"),
    ],
)
def test_calculator_refuses_everything_but_arithmetic(expression: str, problem: str) -> None:
    with pytest.raises(CalculatorError, match=problem):
        evaluate(expression)


# --- the agent ------------------------------------------------------------------------------


def params_for(
    *texts: str,
    tools: list[dict[str, Any]] | None = None,
    extra: list[dict[str, Any]] | None = None,
    forwarded: dict[str, Any] | None = None,
) -> RunAgentInput:
    """A client-shaped body: user messages (then ``extra`` messages) as UIMessages."""
    messages: list[dict[str, Any]] = [
        {"id": f"u{i}", "role": "user", "parts": [{"type": "text", "content": t}], "content": t}
        for i, t in enumerate(texts)
    ]
    messages += extra or []
    return parse_run_agent_input(
        {
            "threadId": "thread-demo",
            "runId": "run-demo",
            "state": {},
            "messages": messages,
            "tools": tools or [],
            "context": [],
            "forwardedProps": forwarded or {},
        }
    )


async def run(agent: DemoAgent, params: RunAgentInput) -> list[dict[str, Any]]:
    events = [event async for event in agent(params, None)]
    for event in events:
        parse_event(event)  # every event is a valid AG-UI / TanStack event
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    assert events[0]["runId"] == events[-1]["runId"] == "run-demo"
    return events


def texts(events: list[dict[str, Any]]) -> list[str]:
    """The text of each assistant message, from the deltas."""
    out: dict[str, str] = {}
    for event in events:
        if event["type"] == "TEXT_MESSAGE_CONTENT":
            out[event["messageId"]] = out.get(event["messageId"], "") + event["delta"]
            assert event["content"] == out[event["messageId"]]  # accumulated, like TanStack
    return list(out.values())


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


AGENT = DemoAgent(delay=0)


async def test_arithmetic_calls_the_calculator_tool() -> None:
    events = await run(AGENT, params_for("what is 2+3*4?"))
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert [(s["toolCallName"], s["toolName"]) for s in starts] == [("calculator", "calculator")]
    call_id = starts[0]["toolCallId"]
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"expression": "2+3*4"}
    assert len([e for e in events if e["type"] == "TOOL_CALL_ARGS"]) > 1  # streamed
    ends = [e for e in events if e["type"] == "TOOL_CALL_END"]
    assert ends[0]["input"] == {"expression": "2+3*4"}
    assert json.loads(ends[1]["result"]) == {"expression": "2+3*4", "result": 14}
    (result,) = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert result["toolCallId"] == call_id and result["content"] == ends[1]["result"]
    assert texts(events)[-1] == "`2+3*4` = **14**"
    assert events[-1]["finishReason"] == "stop"


async def test_a_calculator_failure_is_reported_in_the_answer() -> None:
    events = await run(AGENT, params_for("calculate 1/0"))
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert json.loads(result["content"]) == {"expression": "1/0", "error": "division by zero"}
    assert "division by zero" in texts(events)[-1]


async def test_the_time_tool_uses_the_clock_and_the_zone() -> None:
    agent = DemoAgent(delay=0, clock=lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    events = await run(agent, params_for("What time is it in Asia/Tokyo?"))
    end = next(e for e in events if e["type"] == "TOOL_CALL_END" and "result" in e)
    assert json.loads(end["result"]) == {
        "timezone": "Asia/Tokyo",
        "iso": "2026-11-24T21:00:00+09:00",
    }
    assert texts(events) == ["It is **21:00** on Tuesday, 24 November 2026 (Asia/Tokyo)."]

    events = await run(agent, params_for("what's the time"))
    assert "(UTC)" in texts(events)[0] and "**12:00**" in texts(events)[0]


async def test_thinking_is_streamed_as_steps_like_tanstack() -> None:
    events = await run(AGENT, params_for("Think about the river Rhine"))
    assert types(events)[1] == "STEP_STARTED" and events[1]["stepType"] == "thinking"
    steps = [e for e in events if e["type"] == "STEP_FINISHED"]
    assert len(steps) > 5 and all(s["stepId"] == events[1]["stepId"] for s in steps)
    thought = "".join(s["delta"] for s in steps)
    assert steps[-1]["content"] == thought and "“the river Rhine”" in thought
    first_text = types(events).index("TEXT_MESSAGE_START")
    assert first_text > types(events).index("STEP_FINISHED")
    assert texts(events)[0].startswith("### Thoughts on the river Rhine")


async def test_anything_else_explains_the_demo_and_echoes_the_question() -> None:
    params = params_for("hi", "second *question*\nwith two lines", forwarded={"persona": "sk-x"})
    (answer,) = texts(await run(AGENT, params))
    assert "> second *question*\n> with two lines" in answer
    assert "turn 2" in answer
    assert "`persona`" in answer and "sk-x" not in answer  # keys only, never values
    assert "what is 2+3*4" in answer


async def test_text_streams_in_word_sized_deltas() -> None:
    events = await run(AGENT, params_for("hello"))
    deltas = [e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert len(deltas) > 20
    assert all(re.fullmatch(r"\S+\s*|\s+", d) for d in deltas)
    assert split_words("a  b\nc") == ["a  ", "b\n", "c"]


GET_TIME = {
    "name": "get_time",
    "description": "Get the current time",
    "parameters": {
        "type": "object",
        "properties": {"tz": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["tz", "n"],
    },
}
ADD = {"name": "add", "description": "Add", "parameters": {"type": "object"}}


def as_0_18(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as the server writes them for a TanStack 0.10 client."""
    dialect = Tanstack018Dialect()
    return [out for event in events for out in dialect.convert(event)]


# Changed on purpose: the agent now pauses with an interrupt (RUN_FINISHED.outcome, the
# current protocol); the server turns it into the same CUSTOM event for 0.10 clients.
async def test_a_named_client_tool_is_handed_to_the_client() -> None:
    events = await run(AGENT, params_for("please use get_time now", tools=[ADD, GET_TIME]))
    call = next(e for e in events if e["type"] == "TOOL_CALL_START")
    (interrupt,) = events[-1]["outcome"]["interrupts"]
    assert interrupt["id"] == f"client_tool_{call['toolCallId']}"
    assert interrupt["reason"] == "tanstack:client_tool_execution"
    assert interrupt["metadata"]["input"] == {"tz": "", "n": 0}  # placeholders by JSON type
    assert events[-1]["finishReason"] == "tool_calls"
    assert "TOOL_CALL_RESULT" not in types(events)  # the client runs it, not us

    (custom,) = [e for e in as_0_18(events) if e["type"] == "CUSTOM"]
    assert custom["name"] == "tool-input-available"
    assert custom["value"] == {
        "toolCallId": call["toolCallId"],
        "toolName": "get_time",
        "input": {"tz": "", "n": 0},
    }
    assert list(custom) == ["type", "name", "value", "model", "timestamp"]
    assert "outcome" not in as_0_18(events)[-1]


async def test_client_tool_arguments_written_in_the_message_are_used() -> None:
    events = await run(AGENT, params_for('call add with {"a": 2, "b": 40}', tools=[ADD]))
    (interrupt,) = events[-1]["outcome"]["interrupts"]
    assert interrupt["metadata"]["input"] == {"a": 2, "b": 40}


async def test_delete_file_waits_for_an_approval() -> None:
    events = await run(AGENT, params_for("delete_file notes/today.txt"))
    call = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert call["toolName"] == "delete_file"
    end = next(e for e in events if e["type"] == "TOOL_CALL_END")
    assert end["input"] == {"path": "notes/today.txt"}
    (interrupt,) = events[-1]["outcome"]["interrupts"]
    assert interrupt["id"] == f"approval_{call['toolCallId']}"
    assert interrupt["reason"] == "tool_call" and interrupt["metadata"]["kind"] == "approval"
    assert "TOOL_CALL_RESULT" not in types(events)
    (custom,) = [e for e in as_0_18(events) if e["type"] == "CUSTOM"]
    assert custom["name"] == "approval-requested"
    assert custom["value"]["approval"] == {"id": interrupt["id"], "needsApproval": True}


async def test_a_client_declaring_delete_file_still_gets_the_server_tool() -> None:
    declared = {"name": "delete_file", "description": "typed approvals", "parameters": {}}
    events = await run(AGENT, params_for('delete_file {"path": "a.txt"}', tools=[declared]))
    assert events[-1]["outcome"]["interrupts"][0]["reason"] == "tool_call"


def answer_to_approval(resume: list[dict[str, Any]], tool_message: str | None) -> RunAgentInput:
    call = {
        "id": "call-1",
        "type": "function",
        "function": {"name": "delete_file", "arguments": '{"path":"a.txt"}'},
    }
    messages: list[dict[str, Any]] = [
        {"id": "u1", "role": "user", "content": "delete_file a.txt"},
        {"id": "a1", "role": "assistant", "content": "Needs approval.", "toolCalls": [call]},
    ]
    if tool_message is not None:
        messages.append(
            {"id": "t1", "role": "tool", "toolCallId": "call-1", "content": tool_message}
        )
    return parse_run_agent_input(
        {
            "threadId": "thread-demo",
            "runId": "run-demo",
            "parentRunId": "run-before",
            "resume": resume,
            "messages": messages,
            "tools": [],
            "context": [],
        }
    )


APPROVED = '{"approved":true,"pendingExecution":true,"message":"User approved this action"}'
DENIED = '{"approved":false,"message":"User denied this action"}'


@pytest.mark.parametrize(
    ("resume", "tool_message", "result", "said"),
    [
        # TanStack 0.33: a resume entry and a tool message
        (
            [
                {
                    "interruptId": "approval_call-1",
                    "status": "resolved",
                    "payload": {"approved": True},
                }
            ],
            APPROVED,
            '{"deleted":"a.txt","simulated":true}',
            "Done",
        ),
        (
            [
                {
                    "interruptId": "approval_call-1",
                    "status": "resolved",
                    "payload": {"approved": False},
                }
            ],
            DENIED,
            None,
            "declined",
        ),
        (
            [{"interruptId": "approval_call-1", "status": "cancelled"}],
            None,
            '{"error":"Tool execution cancelled"}',
            "Cancelled",
        ),
        # AG-UI clients: the resume entry only
        (
            [
                {
                    "interruptId": "approval_call-1",
                    "status": "resolved",
                    "payload": {"approved": True},
                }
            ],
            None,
            '{"deleted":"a.txt","simulated":true}',
            "Done",
        ),
        # TanStack 0.10: the decision recorded on the call, as a tool message
        ([], APPROVED, '{"deleted":"a.txt","simulated":true}', "Done"),
        ([], DENIED, None, "declined"),
    ],
)
async def test_an_answered_approval_is_carried_out_or_not(
    resume: list[dict[str, Any]], tool_message: str | None, result: str | None, said: str
) -> None:
    events = await run(AGENT, answer_to_approval(resume, tool_message))
    results = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert [e["content"] for e in results] == ([result] if result else [])
    assert all(e["toolCallId"] == "call-1" for e in results)
    (answer,) = texts(events)
    assert said in answer and "`a.txt`" in answer
    assert events[-1]["finishReason"] == "stop" and "outcome" not in events[-1]


async def test_a_carried_out_approval_is_not_carried_out_again() -> None:
    params = answer_to_approval([], '{"deleted":"a.txt","simulated":true}')
    events = await run(AGENT, params)
    assert "TOOL_CALL_RESULT" not in types(events)  # answered as an ordinary tool result


async def test_a_tool_name_inside_another_word_does_not_trigger_it() -> None:
    events = await run(AGENT, params_for("what is my address?", tools=[ADD]))
    assert "CUSTOM" not in types(events)


async def test_the_follow_up_with_the_tool_result_is_answered() -> None:
    assistant = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {
                "type": "tool-call",
                "id": "call-1",
                "name": "get_time",
                "arguments": '{"tz":"UTC"}',
                "state": "input-complete",
                "output": {"time": "12:00"},
            },
            {
                "type": "tool-result",
                "toolCallId": "call-1",
                "content": '{"time":"12:00"}',
                "state": "complete",
            },
        ],
    }
    params = params_for("use get_time", tools=[GET_TIME], extra=[assistant])
    assert params.model_messages[-1].role == "tool"
    events = await run(AGENT, params)
    (answer,) = texts(events)
    assert "`get_time`" in answer and '"time": "12:00"' in answer
    assert events[-1]["finishReason"] == "stop" and "CUSTOM" not in types(events)


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay"):
        DemoAgent(delay=-1)
